#include "connectors/odoo_source.h"

#include <gtest/gtest.h>

#include "connectors/source_factory.h"

namespace dew::connectors {
namespace {

using json = nlohmann::json;

json Domain(const std::string& filter) {
  auto d = OdooDomainFromFilter(filter);
  EXPECT_TRUE(d.ok()) << filter << ": " << d.status().ToString();
  return d.ok() ? *d : json("failed");
}

std::string Error(const std::string& filter) {
  auto d = OdooDomainFromFilter(filter);
  EXPECT_FALSE(d.ok()) << filter;
  return d.ok() ? "" : d.status().message();
}

TEST(OdooSourceTest, DomainLiteralsInOdooSyntax) {
  EXPECT_EQ(Domain(""), json::array());
  EXPECT_EQ(Domain("[('state', '=', 'posted')]"), json::parse(R"([["state", "=", "posted"]])"));
  EXPECT_EQ(Domain("['|', ('a', '>', 1.5), ('b', 'in', [1, 2]), ('c', '!=', False), "
                   "('d', '=', None), ('e', '=', True), (\"f\", 'ilike', 'it\\'s')]"),
            json::parse(R"(["|", ["a", ">", 1.5], ["b", "in", [1, 2]], ["c", "!=", false],
                            ["d", "=", false], ["e", "=", true], ["f", "ilike", "it's"]])"));
  EXPECT_EQ(Domain(R"([["id", ">", 3]])"), json::parse(R"([["id", ">", 3]])"));  // JSON too
  EXPECT_NE(Error("[('a', '=', 1)").find("expected ',' or ']'"), std::string::npos);
  EXPECT_NE(Error("[('a', '=', bogus)]").find("expected a value"), std::string::npos);
  EXPECT_NE(Error("[('a', '=', 'open)]").find("unterminated string"), std::string::npos);
}

TEST(OdooSourceTest, SimpleSqlFiltersBecomeDomains) {
  EXPECT_EQ(Domain("parent_state = 'posted'"), json::parse(R"([["parent_state", "=", "posted"]])"));
  EXPECT_EQ(Domain("state <> 'cancel' AND amount >= 10.5 and journal_id IN (1, 2) AND "
                   "\"name\" NOT IN ('a''b') AND partner_id IS NOT NULL AND ref IS NULL AND "
                   "active = TRUE"),
            json::parse(R"([["state", "!=", "cancel"], ["amount", ">=", 10.5],
                            ["journal_id", "in", [1, 2]], ["name", "not in", ["a'b"]],
                            ["partner_id", "!=", false], ["ref", "=", false],
                            ["active", "=", true]])"));
  EXPECT_NE(Error("a = 1 OR b = 2").find("OR is not translated"), std::string::npos);
  EXPECT_NE(Error("a LIKE 'x'").find("expected a comparison operator after a"), std::string::npos);
  EXPECT_NE(Error("a = now()").find("expected a literal"), std::string::npos);
  EXPECT_NE(Error("a = 1 b = 2").find("expected AND"), std::string::npos);
}

TEST(OdooSourceTest, LakeTypes) {
  EXPECT_EQ(OdooLakeType("char"), "VARCHAR");
  EXPECT_EQ(OdooLakeType("html"), "VARCHAR");
  EXPECT_EQ(OdooLakeType("selection"), "VARCHAR");
  EXPECT_EQ(OdooLakeType("integer"), "BIGINT");
  EXPECT_EQ(OdooLakeType("float"), "DOUBLE");
  EXPECT_EQ(OdooLakeType("monetary"), "DECIMAL(38,6)");
  EXPECT_EQ(OdooLakeType("boolean"), "BOOLEAN");
  EXPECT_EQ(OdooLakeType("date"), "DATE");
  EXPECT_EQ(OdooLakeType("datetime"), "TIMESTAMP");
  EXPECT_EQ(OdooLakeType("many2one"), "BIGINT");
  EXPECT_EQ(OdooLakeType("one2many"), "JSON");
  EXPECT_EQ(OdooLakeType("many2many"), "JSON");
  EXPECT_EQ(OdooLakeType("binary"), "");
}

TEST(OdooSourceTest, PresetAndModelNames) {
  ASSERT_EQ(OdooPresetModels().size(), 6u);
  EXPECT_EQ(OdooModelFor("account_move_line"), "account.move.line");
  EXPECT_EQ(OdooModelFor("account_bank_statement_line"), "account.bank.statement.line");
  EXPECT_EQ(OdooModelFor("sale.order"), "sale.order");
  EXPECT_EQ(OdooModelFor("sale_order"), "sale.order");
  std::vector<StreamSpec> streams = OdooPresetStreams();
  ASSERT_EQ(streams.size(), 6u);
  EXPECT_EQ(streams[0].name, "account_move_line");
  EXPECT_EQ(streams[0].sync_mode, "incremental");
  EXPECT_EQ(streams[0].cursor_field, "write_date");
  EXPECT_EQ(streams[0].primary_key, std::vector<std::string>{"id"});
  EXPECT_EQ(streams[0].filter, "parent_state = 'posted'");
  EXPECT_EQ(streams[1].filter, "state = 'posted'");
  EXPECT_EQ(streams[3].name, "res_partner");
  EXPECT_EQ(streams[3].filter, "");

  StreamSpec own;
  own.name = "account_move";
  own.sync_mode = "full_refresh";
  own.cursor_field = "create_date";
  own.filter = "state IN ('posted', 'cancel')";
  ApplyOdooPreset(&own, /*sync_mode_written=*/true, /*filter_written=*/true);
  EXPECT_EQ(own.sync_mode, "full_refresh");
  EXPECT_EQ(own.cursor_field, "create_date");
  EXPECT_EQ(own.filter, "state IN ('posted', 'cancel')");
  EXPECT_EQ(own.primary_key, std::vector<std::string>{"id"});
}

TEST(OdooSourceTest, ConnectionFilesGetThePresetDefaults) {
  const std::string head =
      "name: erp\nsource_type: odoo\nauth:\n  database: odoo\n  user: u\n"
      "  password: ${env:ODOO_PW}\n";
  auto preset = ConnectionSpec::Parse(head, "erp.yml");
  ASSERT_TRUE(preset.ok()) << preset.status().ToString();
  ASSERT_EQ(preset->streams.size(), 6u);
  EXPECT_EQ(preset->JobName(preset->streams[0]), "sync_erp_account_move_line_incremental");

  auto own = ConnectionSpec::Parse(head +
                                       "streams:\n  - name: account_move\n"
                                       "  - name: account_move_line\n    sync_mode: full_refresh\n"
                                       "    filter: \"parent_state IN ('posted', 'cancel')\"\n"
                                       "  - name: sale_order\n    cursor_field: create_date\n"
                                       "    primary_key: [id, company_id]\n",
                                   "erp.yml");
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  ASSERT_EQ(own->streams.size(), 3u);
  EXPECT_EQ(own->streams[0].sync_mode, "incremental");
  EXPECT_EQ(own->streams[0].cursor_field, "write_date");
  EXPECT_EQ(own->streams[0].filter, "state = 'posted'");
  EXPECT_EQ(own->streams[1].sync_mode, "full_refresh");
  EXPECT_EQ(own->streams[1].filter, "parent_state IN ('posted', 'cancel')");
  EXPECT_EQ(own->streams[2].cursor_field, "create_date");
  EXPECT_EQ(own->streams[2].primary_key, (std::vector<std::string>{"id", "company_id"}));
  EXPECT_EQ(own->streams[2].filter, "");

  // Other source types still need their streams.
  auto postgres = ConnectionSpec::Parse(
      "name: pg\nsource_type: postgres\nauth:\n  database: d\n  user: u\n", "pg.yml");
  ASSERT_FALSE(postgres.ok());
  EXPECT_NE(postgres.status().message().find("streams: missing required field"), std::string::npos)
      << postgres.status().message();
}

TEST(OdooSourceTest, FactoryValidatesTheOdooBlock) {
  auto spec = ConnectionSpec::Parse(
      "name: erp\nsource_type: odoo\nauth:\n  url: http://127.0.0.1:1\n  database: odoo\n"
      "  user: u\n  password: ${env:ODOO_PW}\nodoo:\n  batch_sise: 10\n"
      "streams:\n  - name: res_partner\n",
      "erp.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  SourceEnv env;
  env.env["ODOO_PW"] = "x";
  auto made = MakeSource(*spec, env);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().message().rfind("erp.yml:9:", 0), 0u) << made.status().message();
  EXPECT_NE(made.status().message().find(
                "odoo.batch_sise: unknown key 'batch_sise' (did you mean 'batch_size'?)"),
            std::string::npos)
      << made.status().message();

  spec->options.value = {{"batch_size", 50}};
  made = MakeSource(*spec, env);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_NE(dynamic_cast<OdooApiSource*>(made->get()), nullptr);

  env.env.clear();
  made = MakeSource(*spec, env);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("ODOO_PW is not set"), std::string::npos);

  spec->auth.url.clear();
  env.env["ODOO_PW"] = "x";
  made = MakeSource(*spec, env);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_NE(dynamic_cast<OdooDatabaseSource*>(made->get()), nullptr);
}

}  // namespace
}  // namespace dew::connectors
