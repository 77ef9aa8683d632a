// The odoo source in database mode: the finance preset over PostgresSource against a real
// PostgreSQL 15 holding an Odoo-shaped schema (the six preset tables with Odoo's columns).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <string>

#include "connectors/odoo_source.h"
#include "connectors/source_factory.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "engine/connection.h"
#include "lake/lakehouse.h"
#include "support/postgres_server.h"

namespace dew {
namespace {

using connectors::ConnectionSpec;
using connectors::StreamRequest;
using connectors::StreamSpec;
using dew::testing::PostgresServer;
using json = nlohmann::json;

// Odoo 17's shapes for the preset tables (a subset of their columns), with realistic data:
// 200 moves (every fifth a draft), 3 lines per move, partners, journals, accounts.
constexpr const char* kOdooSchema = R"sql(
CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar, email varchar, active boolean,
  is_company boolean, write_date timestamp, create_date timestamp);
CREATE TABLE account_journal (id serial PRIMARY KEY, name jsonb, code varchar, type varchar,
  write_date timestamp);
CREATE TABLE account_account (id serial PRIMARY KEY, code varchar, name jsonb,
  account_type varchar, reconcile boolean, write_date timestamp);
CREATE TABLE account_move (id serial PRIMARY KEY, name varchar, state varchar NOT NULL,
  move_type varchar, date date, journal_id integer REFERENCES account_journal,
  partner_id integer REFERENCES res_partner, amount_total numeric, currency_id integer,
  write_date timestamp, create_date timestamp);
CREATE TABLE account_move_line (id serial PRIMARY KEY,
  move_id integer NOT NULL REFERENCES account_move ON DELETE CASCADE, parent_state varchar,
  account_id integer REFERENCES account_account, partner_id integer REFERENCES res_partner,
  journal_id integer, name varchar, debit numeric, credit numeric, balance numeric,
  amount_currency numeric, date date, reconciled boolean, write_date timestamp,
  create_date timestamp);
CREATE TABLE account_bank_statement_line (id serial PRIMARY KEY, move_id integer,
  payment_ref varchar, amount numeric, is_reconciled boolean, write_date timestamp);
INSERT INTO res_partner (name, email, active, is_company, write_date, create_date)
  SELECT 'Partner ' || g, 'p' || g || '@example.com', g % 7 <> 0, g % 3 = 0,
         '2024-01-01'::timestamp + g * interval '1 minute', '2024-01-01'
  FROM generate_series(1, 50) g;
INSERT INTO account_journal (name, code, type, write_date) VALUES
  ('{"en_US": "Customer Invoices"}', 'INV', 'sale', '2024-01-01'),
  ('{"en_US": "Vendor Bills"}', 'BILL', 'purchase', '2024-01-01'),
  ('{"en_US": "Bank"}', 'BNK1', 'bank', '2024-01-01');
INSERT INTO account_account (code, name, account_type, reconcile, write_date) VALUES
  ('121000', '{"en_US": "Account Receivable"}', 'asset_receivable', true, '2024-01-01'),
  ('400000', '{"en_US": "Product Sales"}', 'income', false, '2024-01-01'),
  ('251000', '{"en_US": "Tax Received"}', 'liability_current', false, '2024-01-01');
INSERT INTO account_move (name, state, move_type, date, journal_id, partner_id, amount_total,
                          currency_id, write_date, create_date)
  SELECT 'INV/2024/' || lpad(g::text, 5, '0'), CASE WHEN g % 5 = 0 THEN 'draft' ELSE 'posted' END,
         'out_invoice', '2024-01-01'::date + g, 1, 1 + g % 50, 115.00 * g, 1,
         '2024-02-01'::timestamp + g * interval '1 second', '2024-02-01'
  FROM generate_series(1, 200) g;
INSERT INTO account_move_line (move_id, parent_state, account_id, partner_id, journal_id, name,
  debit, credit, balance, amount_currency, date, reconciled, write_date, create_date)
  SELECT m.id, m.state, a.id, m.partner_id, 1, m.name || ' ' || a.code,
         CASE WHEN a.code = '121000' THEN m.amount_total ELSE 0 END,
         CASE WHEN a.code = '400000' THEN m.amount_total / 1.15
              WHEN a.code = '251000' THEN m.amount_total - m.amount_total / 1.15 ELSE 0 END,
         0, 0, m.date, false, m.write_date, m.create_date
  FROM account_move m CROSS JOIN account_account a;
UPDATE account_move_line SET balance = debit - credit;
INSERT INTO account_bank_statement_line (move_id, payment_ref, amount, is_reconciled, write_date)
  SELECT g, 'PAY ' || g, 115.00 * g, g % 2 = 0, '2024-03-01'::timestamp + g * interval '1 hour'
  FROM generate_series(1, 20) g;
)sql";

class OdooDatabaseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!PostgresServer::Available()) return;
    server_ = new PostgresServer();
    status_ = new Status(server_->StartWithSourceDatabase("odoo", "dew_reader", kOdooSchema));
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete status_;
    status_ = nullptr;
  }

  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    ASSERT_TRUE(status_->ok()) << status_->ToString();
    char tmpl[] = "/tmp/dew_odoo_db_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs_ = FileSystem::Posix();
    clock_ = std::make_shared<ManualClock>(1767225600000);
    lake::LakehouseOptions o;
    o.lake_root = dir_ + "/lake";
    o.cwd = dir_;
    o.user = "tester";
    o.run_id = "run-1";
    auto lake = lake::Lakehouse::Open(o, fs_, clock_);
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    lake_ = std::move(*lake);
  }
  void TearDown() override {
    lake_.reset();
    if (!dir_.empty()) (void)fs_->RemoveAll(dir_);
  }

  ConnectionSpec Spec(const std::string& streams_yaml) {
    const std::string yaml = "name: odoo\nsource_type: odoo\nauth:\n  host: 127.0.0.1\n  port: " +
                             std::to_string(server_->port()) +
                             "\n  database: odoo\n  user: dew_reader\n"
                             "  password: ${env:DEW_TEST_ODOO_PG}\n" +
                             streams_yaml;
    auto spec = ConnectionSpec::Parse(yaml, "odoo.yml");
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    return spec.ok() ? *spec : ConnectionSpec();
  }
  std::unique_ptr<connectors::Source> Make(const ConnectionSpec& spec) {
    connectors::SourceEnv env;
    env.env["DEW_TEST_ODOO_PG"] = server_->reader_password();
    env.spool_dir = dir_;
    auto made = connectors::MakeSource(spec, env);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? std::move(*made) : nullptr;
  }
  static StreamRequest RequestFor(const StreamSpec& s) {
    StreamRequest r;
    r.name = s.name;
    r.sync_mode = s.sync_mode;
    r.cursor_field = s.cursor_field;
    r.primary_key = s.primary_key;
    r.columns = s.columns;
    r.filter = s.filter;
    r.chunk_rows = 100;
    return r;
  }
  std::string Sql(const std::string& sql) {
    auto v = lake_->connection().QueryScalar(sql);
    if (!v.ok()) return "ERROR: " + v.status().ToString();
    return v->has_value() ? **v : "NULL";
  }
  std::string Pg(const std::string& sql) {
    auto r = server_->RunSql(sql, "odoo");
    if (!r.ok()) return "ERROR: " + r.status().ToString();
    std::string s = *r;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  static PostgresServer* server_;
  static Status* status_;
  std::string dir_;
  std::shared_ptr<FileSystem> fs_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<lake::Lakehouse> lake_;
};

PostgresServer* OdooDatabaseTest::server_ = nullptr;
Status* OdooDatabaseTest::status_ = nullptr;

TEST_F(OdooDatabaseTest, PresetStreamsCheckAndDiscover) {
  ConnectionSpec spec = Spec("");  // no streams: the finance preset
  ASSERT_EQ(spec.streams.size(), 6u);
  const StreamSpec* lines = spec.FindStream("account_move_line");
  ASSERT_NE(lines, nullptr);
  EXPECT_EQ(lines->sync_mode, "incremental");
  EXPECT_EQ(lines->cursor_field, "write_date");
  EXPECT_EQ(lines->filter, "parent_state = 'posted'");
  auto source = Make(spec);
  ASSERT_NE(source, nullptr);
  connectors::CheckProblem problem = connectors::CheckProblem::kOther;
  Status checked = source->Check({}, &problem);
  EXPECT_TRUE(checked.ok()) << checked.ToString();
  auto streams = source->Discover();
  ASSERT_TRUE(streams.ok()) << streams.status().ToString();
  ASSERT_EQ(streams->size(), 6u);
  for (const auto& s : *streams) EXPECT_EQ(s.primary_key, std::vector<std::string>{"id"}) << s.name;

  // A table the reader may not see is a missing-table problem naming it.
  ConnectionSpec other = Spec("streams:\n  - name: sale_order\n");
  auto missing = Make(other)->Check({}, &problem);
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(problem, connectors::CheckProblem::kMissingTable);
  EXPECT_NE(missing.message().find("sale_order"), std::string::npos) << missing.message();
}

// The preset's streams are incremental by write_date, which Odoo does not index: `dew connection
// test` passes PostgresSource's advice on, naming the index to create, until it exists.
TEST_F(OdooDatabaseTest, AdvisesAnIndexOnWriteDate) {
  ConnectionSpec spec = Spec(
      "streams:\n  - name: account_move_line\n"
      "  - name: account_bank_statement_line\n");
  auto source = Make(spec);
  ASSERT_NE(source, nullptr);
  std::vector<StreamRequest> requests;
  for (const StreamSpec& s : spec.streams) {
    StreamRequest r = RequestFor(s);
    r.cursor_field.clear();  // the preset fills in write_date and id
    r.primary_key.clear();
    requests.push_back(r);
  }
  auto advice = source->Advise(requests);
  ASSERT_TRUE(advice.ok()) << advice.status().ToString();
  ASSERT_EQ(advice->size(), 2u);
  EXPECT_NE((*advice)[0].find(
                "CREATE INDEX ON \"public\".\"account_move_line\" (\"write_date\", \"id\")"),
            std::string::npos)
      << (*advice)[0];

  const std::string created = Pg("CREATE INDEX ON account_bank_statement_line (write_date, id)");
  ASSERT_EQ(created.find("ERROR"), std::string::npos) << created;
  advice = source->Advise(requests);
  ASSERT_TRUE(advice.ok()) << advice.status().ToString();
  ASSERT_EQ(advice->size(), 1u);
  EXPECT_NE((*advice)[0].find("account_move_line"), std::string::npos) << (*advice)[0];
}

TEST_F(OdooDatabaseTest, IncrementalPostedJournalItems) {
  ConnectionSpec spec = Spec("streams:\n  - name: account_move_line\n");
  auto source = Make(spec);
  ASSERT_NE(source, nullptr);
  StreamRequest request = RequestFor(spec.streams[0]);
  auto first = source->Read(request, json(), lake_.get());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string t = "bronze.raw_odoo_account_move_line";
  const std::string posted =
      Pg("SELECT count(*) FROM account_move_line WHERE parent_state = "
         "'posted'");
  EXPECT_EQ(posted, "480");
  EXPECT_EQ(std::to_string(first->rows), posted);
  EXPECT_EQ(Sql("SELECT count(*) FROM " + t + " WHERE NOT _deleted"), posted);
  EXPECT_EQ(Sql("SELECT count(*) FROM " + t + " WHERE parent_state <> 'posted'"), "0");
  // Amounts are exact: the sums match PostgreSQL's.
  EXPECT_EQ(Sql("SELECT sum(CAST(debit AS DECIMAL(18,2))) FROM " + t),
            Pg("SELECT sum(debit)::numeric(18,2) FROM account_move_line WHERE parent_state = "
               "'posted'"));

  // Post five drafts (their lines' write_date moves), add a posted move: only those come.
  Pg("UPDATE account_move SET state = 'posted', write_date = '2024-06-01' WHERE id IN "
     "(5, 10, 15, 20, 25);"
     "UPDATE account_move_line SET parent_state = 'posted', write_date = '2024-06-01' WHERE "
     "move_id IN (5, 10, 15, 20, 25);"
     "INSERT INTO account_move_line (move_id, parent_state, account_id, partner_id, name, debit, "
     "credit, balance, date, write_date) VALUES (1, 'posted', 1, 2, 'extra', 10, 0, 10, "
     "'2024-06-02', '2024-06-02');");
  auto second = source->Read(request, first->state, lake_.get());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->rows, 16);
  EXPECT_EQ(Sql("SELECT count(DISTINCT id) FROM " + t + " WHERE NOT _deleted"), "496");

  // The stream's own filter replaces the preset's.
  ConnectionSpec all = Spec(
      "streams:\n  - name: account_move_line\n    filter: \"true\"\n"
      "    sync_mode: full_refresh\n");
  EXPECT_EQ(all.streams[0].sync_mode, "full_refresh");
  auto everything = Make(all)->Read(RequestFor(all.streams[0]), json(), lake_.get());
  ASSERT_TRUE(everything.ok()) << everything.status().ToString();
  EXPECT_EQ(std::to_string(everything->rows), Pg("SELECT count(*) FROM account_move_line"));
}

TEST_F(OdooDatabaseTest, PostedMovesAndUnfilteredPartners) {
  ConnectionSpec spec = Spec("streams:\n  - name: account_move\n  - name: res_partner\n");
  auto source = Make(spec);
  ASSERT_NE(source, nullptr);
  auto moves = source->Read(RequestFor(spec.streams[0]), json(), lake_.get());
  ASSERT_TRUE(moves.ok()) << moves.status().ToString();
  // 160 posted at first; another test of this suite posts five more.
  EXPECT_EQ(std::to_string(moves->rows),
            Pg("SELECT count(*) FROM account_move WHERE state = 'posted'"));
  EXPECT_GE(moves->rows, 160);
  auto partners = source->Read(RequestFor(spec.streams[1]), json(), lake_.get());
  ASSERT_TRUE(partners.ok()) << partners.status().ToString();
  EXPECT_EQ(partners->rows, 50);
  EXPECT_EQ(Sql("SELECT count(*) FROM bronze.raw_odoo_res_partner WHERE NOT active"), "7");
}

}  // namespace
}  // namespace dew
