// The odoo source in external-API mode against the stand-in Odoo server (XML-RPC over real
// HTTP), landing into a real lake: full and incremental sync, paging with equal cursors,
// resume after a failure mid-sync, many2one mapping, discover types and check problems.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <string>

#include "connectors/bronze_landing.h"
#include "connectors/odoo_source.h"
#include "connectors/source_factory.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "core/http_client.h"
#include "engine/connection.h"
#include "lake/lakehouse.h"
#include "support/odoo_rpc_server.h"

namespace dew {
namespace {

using connectors::CheckProblem;
using connectors::OdooApiConfig;
using connectors::OdooApiSource;
using connectors::StreamRequest;
using json = nlohmann::json;
using testing::OdooRpcServer;

// Odoo-shaped journal items: a stored subset of account.move.line's fields.
void AddMoveLineModel(OdooRpcServer& server) {
  server.AddModel("res.partner", {{"name", "char"}, {"write_date", "datetime"}});
  server.AddModel("account.move.line", {{"name", "char"},
                                        {"parent_state", "selection"},
                                        {"date", "date"},
                                        {"debit", "monetary"},
                                        {"credit", "monetary"},
                                        {"quantity", "float"},
                                        {"reconciled", "boolean"},
                                        {"partner_id", "many2one", "res.partner"},
                                        {"tax_ids", "many2many", "account.tax"},
                                        {"attachment", "binary"},
                                        {"display_name", "char", "", /*store=*/false},
                                        {"write_date", "datetime"}});
}

json MoveLine(int64_t id, const std::string& write_date, const std::string& state = "posted") {
  return {{"id", id},
          {"name", "line " + std::to_string(id)},
          {"parent_state", state},
          {"date", "2024-03-" + std::string(id % 28 < 9 ? "0" : "") + std::to_string(id % 28 + 1)},
          {"debit", id % 2 ? id * 1.25 : 0.0},
          {"credit", id % 2 ? 0.0 : id * 1.25},
          {"quantity", 1.5},
          {"reconciled", id % 3 == 0},
          {"partner_id",
           id % 5 == 0 ? json(false) : json::array({id % 5, "Partner " + std::to_string(id % 5)})},
          {"tax_ids", id % 4 == 0 ? json::array({1, 2}) : json::array()},
          {"attachment", false},
          {"write_date", write_date}};
}

// "2024-01-01 00:MM:SS" for n seconds after midnight (n < 3600).
std::string Ts(int n) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "2024-01-01 %02d:%02d:%02d", n / 3600, (n / 60) % 60, n % 60);
  return buf;
}

class OdooApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    server_.AddUser("sync", "pw");
    AddMoveLineModel(server_);
    char tmpl[] = "/tmp/dew_odoo_api_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs_ = FileSystem::Posix();
    clock_ = std::make_shared<ManualClock>(1767225600000);  // 2026-01-01 00:00:00 UTC
    Reopen("run-1");
  }
  void TearDown() override {
    lake_.reset();
    if (!dir_.empty()) (void)fs_->RemoveAll(dir_);
  }

  void Reopen(const std::string& run_id) {
    lake::LakehouseOptions o;
    o.lake_root = dir_ + "/lake";
    o.cwd = dir_;
    o.user = "tester";
    o.run_id = run_id;
    lake_.reset();
    auto lake = lake::Lakehouse::Open(o, fs_, clock_);
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    lake_ = std::move(*lake);
  }

  std::unique_ptr<OdooApiSource> Source(const std::string& password = "pw",
                                        int64_t batch_size = 100,
                                        std::vector<std::string> streams = {"account_move_line"}) {
    OdooApiConfig config;
    config.source = "odoo";
    config.rpc = {server_.url(), "odoo", "sync", password};
    config.spool_dir = dir_ + "/spool";
    config.batch_size = batch_size;
    return std::make_unique<OdooApiSource>(NewCurlHttpClient(), config, std::move(streams));
  }

  std::string Sql(const std::string& sql) {
    auto v = lake_->connection().QueryScalar(sql);
    if (!v.ok()) return "ERROR: " + v.status().ToString();
    return v->has_value() ? **v : "NULL";
  }

  StreamRequest Request(const std::string& mode) {
    StreamRequest r;
    r.name = "account_move_line";
    r.sync_mode = mode;
    r.cursor_field = "write_date";
    r.primary_key = {"id"};
    return r;
  }

  OdooRpcServer server_;
  std::string dir_;
  std::shared_ptr<FileSystem> fs_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<lake::Lakehouse> lake_;
};

TEST_F(OdooApiTest, FullThenIncrementalSync) {
  // 1050 lines, every tenth a draft (filtered out by the preset: parent_state = 'posted').
  for (int i = 1; i <= 1050; ++i)
    server_.Put("account.move.line", MoveLine(i, Ts(i), i % 10 == 0 ? "draft" : "posted"));
  auto source = Source();
  auto full = source->Read(Request("full_refresh"), json(), lake_.get());
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->table, "bronze.raw_odoo_account_move_line");
  EXPECT_EQ(full->rows, 945);
  EXPECT_EQ(full->commits, 10);  // pages of 100, the last one short
  EXPECT_GT(full->bytes_read, 0);
  EXPECT_EQ(full->state["cursor"], Ts(1049));
  EXPECT_EQ(full->state["last_id"], 1049);
  EXPECT_EQ(full->state["phase"], "incremental");
  const std::string t = "bronze.raw_odoo_account_move_line";
  EXPECT_EQ(Sql("SELECT count(*) || '/' || count(DISTINCT id) FROM " + t), "945/945");
  EXPECT_EQ(Sql("SELECT count(*) FROM " + t + " WHERE parent_state <> 'posted'"), "0");
  // The request the stand-in saw: the preset's filter, ordered by (write_date, id), paged.
  const std::vector<json> calls = server_.search_reads();
  json first;
  for (const json& c : calls) {
    if (c["model"] == "account.move.line") {
      first = c;
      break;
    }
  }
  EXPECT_EQ(first["domain"], json::parse(R"([["parent_state", "=", "posted"]])"));
  EXPECT_EQ(first["order"], "write_date asc, id asc");
  EXPECT_EQ(first["limit"], 100);
  EXPECT_EQ(std::count(first["fields"].begin(), first["fields"].end(), "attachment"), 0);
  EXPECT_EQ(std::count(first["fields"].begin(), first["fields"].end(), "display_name"), 0);

  // Typed columns: many2one as id plus display name, x2many as JSON, False as NULL.
  EXPECT_EQ(Sql("SELECT typeof(partner_id) || ',' || typeof(partner_id_name) || ',' || "
                "typeof(tax_ids) || ',' || typeof(debit) || ',' || typeof(date) || ',' || "
                "typeof(write_date) || ',' || typeof(reconciled) || ',' || typeof(quantity) FROM " +
                t + " LIMIT 1"),
            "BIGINT,VARCHAR,VARCHAR,DECIMAL(38,6),DATE,TIMESTAMP,BOOLEAN,DOUBLE");  // JSON is text
                                                                                    // in the lake
  EXPECT_EQ(Sql("SELECT partner_id || ':' || partner_id_name FROM " + t + " WHERE id = 7"),
            "2:Partner 2");
  EXPECT_EQ(Sql("SELECT count(*) FROM " + t +
                " WHERE partner_id IS NULL AND "
                "partner_id_name IS NULL"),
            "105");  // ids divisible by 5 (210) but not by 10 (the drafts)
  EXPECT_EQ(Sql("SELECT tax_ids FROM " + t + " WHERE id = 4"), "[1,2]");
  EXPECT_EQ(Sql("SELECT debit FROM " + t + " WHERE id = 7"), "8.750000");
  EXPECT_EQ(Sql("SELECT _cursor FROM " + t + " WHERE id = 7"), Ts(7));
  EXPECT_EQ(Sql("SELECT DISTINCT _source || '/' || _stream FROM " + t), "odoo/account_move_line");

  // Updates (newer write_date), inserts, a draft that is not landed: only those rows come.
  for (int i : {3, 500, 700}) server_.Put("account.move.line", MoveLine(i, Ts(2000 + i)));
  server_.Put("account.move.line", MoveLine(2001, Ts(3000)));
  server_.Put("account.move.line", MoveLine(2002, Ts(3000)));
  server_.Put("account.move.line", MoveLine(2003, Ts(3001), "draft"));
  Reopen("run-2");
  auto inc = source->Read(Request("incremental"), full->state, lake_.get());
  ASSERT_TRUE(inc.ok()) << inc.status().ToString();
  EXPECT_EQ(inc->rows, 5);
  EXPECT_EQ(inc->commits, 1);
  EXPECT_EQ(inc->state["cursor"], Ts(3000));
  EXPECT_EQ(inc->state["last_id"], 2002);
  EXPECT_EQ(
      Sql("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM " + t + " WHERE _run_id = 'run-2'"),
      "3,500,700,2001,2002");
  EXPECT_EQ(server_.search_reads().back()["domain"],
            json::parse(R"([["parent_state", "=", "posted"], "|",
                            ["write_date", ">", "2024-01-01 00:17:29"], "&",
                            ["write_date", "=", "2024-01-01 00:17:29"], ["id", ">", 1049]])"));

  // Nothing new: no commit, same state.
  auto idle = source->Read(Request("incremental"), inc->state, lake_.get());
  ASSERT_TRUE(idle.ok()) << idle.status().ToString();
  EXPECT_EQ(idle->rows, 0);
  EXPECT_EQ(idle->commits, 0);
  EXPECT_EQ(idle->state, inc->state);
  connectors::BronzeLanding landing(lake_.get(), "odoo", "account_move_line");
  auto committed = landing.LastCommittedState();
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(*committed, inc->state);
}

TEST_F(OdooApiTest, PagesNeverLoseRowsSharingACursorValue) {
  // 250 lines written in the same second, 30 more later; pages of 100 split the equal values.
  for (int i = 1; i <= 250; ++i) server_.Put("account.move.line", MoveLine(i, Ts(10)));
  for (int i = 251; i <= 280; ++i) server_.Put("account.move.line", MoveLine(i, Ts(i % 7)));
  auto r = Source()->Read(Request("full_refresh"), json(), lake_.get());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows, 280);
  EXPECT_EQ(Sql("SELECT count(*) || '/' || count(DISTINCT id) || '/' || max(id) FROM "
                "bronze.raw_odoo_account_move_line"),
            "280/280/280");
}

TEST_F(OdooApiTest, ResumesAfterAFailureMidSyncWithoutDuplicates) {
  for (int i = 1; i <= 730; ++i) server_.Put("account.move.line", MoveLine(i, Ts(i / 3)));
  // Fields lookup is one search_read; then three pages succeed and the fourth gets a 502.
  server_.FailSearchReadAfter(4, 502);
  auto source = Source();
  auto failed = source->Read(Request("full_refresh"), json(), lake_.get());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("HTTP 502"), std::string::npos)
      << failed.status().message();
  const std::string t = "bronze.raw_odoo_account_move_line";
  EXPECT_EQ(Sql("SELECT count(*) FROM " + t), "300");

  // A new process resumes from the state committed with the last page.
  server_.ClearFailure();
  Reopen("run-2");
  connectors::BronzeLanding landing(lake_.get(), "odoo", "account_move_line");
  auto state = landing.LastCommittedState();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ((*state)["phase"], "full_refresh");  // unfinished
  EXPECT_EQ((*state)["last_id"], 300);
  auto resumed = source->Read(Request("incremental"), *state, lake_.get());
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->rows, 430);
  EXPECT_EQ(resumed->state["phase"], "incremental");
  EXPECT_EQ(Sql("SELECT count(*) || '/' || count(DISTINCT id) FROM " + t), "730/730");
}

TEST_F(OdooApiTest, DeletionsAndRecordsLeavingTheFilterLandAsDeleted) {
  for (int i = 1; i <= 30; ++i) server_.Put("account.move.line", MoveLine(i, Ts(i)));
  auto source = Source();
  auto full = source->Read(Request("full_refresh"), json(), lake_.get());
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->rows, 30);
  EXPECT_EQ(full->rows_deleted, 0);
  server_.Remove("account.move.line", 3);
  server_.Remove("account.move.line", 4);
  server_.Put("account.move.line", MoveLine(5, Ts(100), "draft"));  // reset to draft
  Reopen("run-2");
  auto inc = source->Read(Request("incremental"), full->state, lake_.get());
  ASSERT_TRUE(inc.ok()) << inc.status().ToString();
  EXPECT_EQ(inc->rows, 0);
  EXPECT_EQ(inc->rows_deleted, 3);
  const std::string t = "bronze.raw_odoo_account_move_line";
  EXPECT_EQ(Sql("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM " + t + " WHERE _deleted"),
            "3,4,5");
  auto again = source->Read(Request("incremental"), inc->state, lake_.get());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows_deleted, 0);
  EXPECT_EQ(again->commits, 0);

  StreamRequest keep = Request("incremental");
  keep.detect_deletes = false;
  server_.Remove("account.move.line", 6);
  auto kept = source->Read(keep, again->state, lake_.get());
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->rows_deleted, 0);
}

TEST_F(OdooApiTest, DiscoverMapsOdooTypes) {
  auto streams = Source("pw", 100, {"account_move_line", "res.partner"})->Discover();
  ASSERT_TRUE(streams.ok()) << streams.status().ToString();
  ASSERT_EQ(streams->size(), 2u);
  const auto& s = (*streams)[0];
  EXPECT_EQ(s.name, "account_move_line");
  EXPECT_EQ(s.namespace_, "account.move.line");
  EXPECT_EQ(s.primary_key, std::vector<std::string>{"id"});
  std::string types;
  for (const auto& c : s.columns) types += c.name + ":" + c.lake_type + " ";
  EXPECT_EQ(types,
            "id:BIGINT name:VARCHAR parent_state:VARCHAR date:DATE debit:DECIMAL(38,6) "
            "credit:DECIMAL(38,6) quantity:DOUBLE reconciled:BOOLEAN partner_id:BIGINT "
            "partner_id_name:VARCHAR tax_ids:JSON write_date:TIMESTAMP ");
  EXPECT_EQ((*streams)[1].name, "res.partner");

  auto missing = Source("pw", 100, {"account_mov_line"})->Discover();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("model account.mov.line does not exist"),
            std::string::npos)
      << missing.status().message();
  EXPECT_NE(missing.status().message().find("did you mean account.move.line?"), std::string::npos)
      << missing.status().message();
}

TEST_F(OdooApiTest, CheckTellsProblemsApart) {
  CheckProblem problem = CheckProblem::kOther;
  EXPECT_TRUE(Source()->Check({}, &problem).ok());
  EXPECT_EQ(problem, CheckProblem::kNone);

  Status s = Source("wrong")->Check({}, &problem);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kAuthRefused);
  EXPECT_NE(s.message().find("refused login 'sync'"), std::string::npos) << s.message();

  s = Source()->Check({"account_payment"}, &problem);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kMissingTable);
  EXPECT_NE(s.message().find("Object account.payment doesn't exist"), std::string::npos)
      << s.message();

  server_.Forbid("sync", "res.partner");
  s = Source()->Check({"res_partner"}, &problem);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kPermissionDenied);

  server_.Stop();
  s = Source()->Check({}, &problem);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kUnreachable);
}

TEST_F(OdooApiTest, ColumnsAndFilterOverrideThePreset) {
  for (int i = 1; i <= 20; ++i)
    server_.Put("account.move.line", MoveLine(i, Ts(i), i % 2 ? "draft" : "posted"));
  StreamRequest r = Request("full_refresh");
  r.columns = {"partner_id", "debit"};
  r.filter = "[('parent_state', 'in', ['draft', 'posted']), ('id', '<=', 10)]";
  auto read = Source()->Read(r, json(), lake_.get());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 10);
  const std::string t = "bronze.raw_odoo_account_move_line";
  EXPECT_EQ(Sql("SELECT count(*) FROM (SELECT id, write_date, partner_id, partner_id_name, debit "
                "FROM " +
                t + ")"),
            "10");
  EXPECT_EQ(Sql("SELECT name FROM " + t).rfind("ERROR", 0), 0u);  // not selected, not landed

  r.columns = {"partnr_id"};
  auto bad = Source()->Read(r, json(), lake_.get());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("column partnr_id is not a stored field of Odoo model "
                                        "account.move.line (did you mean partner_id?)"),
            std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace dew
