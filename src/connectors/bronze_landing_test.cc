#include "connectors/bronze_landing.h"

#include <gtest/gtest.h>

#include "core/file_system.h"
#include "lake/lakehouse.h"
#include "support/sync_lake.h"

namespace dew::connectors {
namespace {

using nlohmann::json;

class BronzeLandingTest : public ::testing::Test {
 protected:
  dew::testing::SyncLake env_;
  std::string Scalar(const std::string& sql) { return env_.Scalar(sql); }
  int64_t Version() {
    auto t = env_.lake()->OpenTable(lake::TableName{lake::Layer::kBronze, "raw_shop_orders"});
    if (!t.ok()) return -1;
    auto v = (*t)->log().LatestVersion();
    return v.ok() ? *v : -1;
  }
};

TEST_F(BronzeLandingTest, StateRoundTripsWithTheData) {
  BronzeLanding landing(env_.lake(), "shop", "orders");
  EXPECT_EQ(landing.table(), "bronze.raw_shop_orders");
  auto none = landing.LastCommittedState();
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->is_null());

  LandingBatch b;
  b.select_sql = "SELECT range AS id, 'v' || range AS label FROM range(3)";
  b.cursor_sql = "id";
  b.state = {{"cursor", "2"}, {"pk", {2}}};
  auto r = landing.Land(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit.version, 0);
  EXPECT_EQ(r->commit.rows_added, 3);
  EXPECT_EQ(r->batch, 1);

  b.select_sql = "SELECT range AS id, 'w' AS label FROM range(3, 5)";
  b.state = {{"cursor", "4"}, {"pk", {4}}};
  r = landing.Land(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->batch, 2);

  // A new lakehouse (a new process) sees the state of the last commit.
  env_.Reopen("run-2");
  BronzeLanding again(env_.lake(), "shop", "orders");
  auto state = again.LastCommitted();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->state, b.state);
  EXPECT_EQ(state->version, 1);
  EXPECT_EQ(state->batch, 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_shop_orders"), "5");
  EXPECT_EQ(Scalar("SELECT string_agg(DISTINCT _batch::VARCHAR, ',' ORDER BY _batch::VARCHAR) "
                   "FROM bronze.raw_shop_orders"),
            "1,2");
  EXPECT_EQ(Scalar("SELECT max(_cursor) FROM bronze.raw_shop_orders"), "4");
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_shop_orders WHERE _source = 'shop' AND "
                   "_stream = 'orders' AND _run_id = 'run-1' AND NOT _deleted AND "
                   "_ingest_date = DATE '2026-01-01' AND _emitted_at IS NOT NULL"),
            "5");
  // The Delta txn action records the batch sequence.
  auto t = env_.lake()->OpenTable(lake::TableName{lake::Layer::kBronze, "raw_shop_orders"});
  ASSERT_TRUE(t.ok());
  auto snap = (*t)->Latest();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->app_versions["dew:shop.orders"], 2);
}

TEST_F(BronzeLandingTest, EmptyBatchCommitsANewStateAndSkipsAnUnchangedOne) {
  BronzeLanding landing(env_.lake(), "shop", "orders");
  LandingBatch b;
  b.select_sql = "SELECT 1 AS id";
  b.state = {{"cursor", "1"}};
  ASSERT_TRUE(landing.Land(b).ok());
  b.select_sql = "SELECT 1 AS id WHERE false";
  b.state = {{"cursor", "1"}, {"checked_at", "later"}};
  auto r = landing.Land(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit.version, 1);
  EXPECT_EQ(r->commit.rows_added, 0);
  EXPECT_EQ(landing.LastCommittedState().value(), b.state);
  // Same state, no rows: nothing to commit.
  r = landing.Land(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit.version, -1);
  EXPECT_EQ(Version(), 1);
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_shop_orders"), "1");
}

TEST_F(BronzeLandingTest, AStateKnownAfterTheRowsCommitsWithThem) {
  BronzeLanding landing(env_.lake(), "shop", "orders");
  // Parquet files under the table's folder: what a write left, committed or not.
  auto files = [&] {
    auto listed = FileSystem::Posix()->ListRecursive(env_.dir() + "/lake/bronze/raw_shop_orders");
    int n = 0;
    for (const auto& f : listed.ok() ? *listed : std::vector<FileInfo>{}) {
      n += f.name.size() > 8 && f.name.substr(f.name.size() - 8) == ".parquet";
    }
    return n;
  };
  std::vector<int64_t> asked;
  LandingBatch b;
  b.state_after = [&](int64_t rows) -> Result<json> {
    asked.push_back(rows);
    return json{{"cursor", std::to_string(rows)}};
  };
  // No rows: nothing committed, not even the table, and the state is not asked for.
  b.select_sql = "SELECT range AS id FROM range(0)";
  auto r = landing.Land(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit.version, -1);
  EXPECT_EQ(r->batch, 0);
  EXPECT_EQ(Version(), -1);
  EXPECT_TRUE(asked.empty());

  b.select_sql = "SELECT range AS id FROM range(3)";
  r = landing.Land(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit.version, 0);
  EXPECT_EQ(r->commit.rows_added, 3);
  EXPECT_EQ(r->batch, 1);
  EXPECT_EQ(asked, std::vector<int64_t>{3});
  EXPECT_EQ(landing.LastCommittedState().value(), (json{{"cursor", "3"}}));
  EXPECT_EQ(files(), 1);

  // Appending: the state asked once the rows are written goes in their commit.
  b.select_sql = "SELECT range AS id FROM range(10, 15)";
  r = landing.Land(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit.version, 1);
  EXPECT_EQ(r->batch, 2);
  EXPECT_EQ(landing.LastCommittedState().value(), (json{{"cursor", "5"}}));
  b.select_sql = "SELECT range AS id FROM range(0)";
  r = landing.Land(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->commit.version, -1);
  EXPECT_EQ(Version(), 1);

  // A state that cannot be had commits nothing and leaves no file behind.
  b.select_sql = "SELECT range AS id FROM range(20, 22)";
  b.state_after = [](int64_t) -> Result<json> { return Status::IOError("the source failed"); };
  r = landing.Land(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the source failed"), std::string::npos);
  EXPECT_EQ(Version(), 1);
  EXPECT_EQ(files(), 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_shop_orders"), "8");

  // Quarantine reads its rows twice, so it needs the state first.
  b.quarantine = true;
  EXPECT_TRUE(landing.Land(b).status().IsInvalidArgument());
}

TEST_F(BronzeLandingTest, RowGroupRowsSizesTheFilesRowGroups) {
  BronzeLanding landing(env_.lake(), "shop", "orders");
  LandingBatch b;
  b.select_sql = "SELECT range AS id FROM range(40000)";
  b.state = 1;
  b.row_group_rows = 16384;
  ASSERT_TRUE(landing.Land(b).ok());
  b.select_sql = "SELECT range AS id FROM range(40000, 80000)";
  b.state = 2;
  b.row_group_rows = 0;  // DuckDB's default: 122,880 rows
  ASSERT_TRUE(landing.Land(b).ok());
  EXPECT_EQ(Scalar("SELECT string_agg(groups::VARCHAR, ',' ORDER BY first_id) FROM ("
                   "SELECT count(DISTINCT row_group_id) AS groups, min(stats_min) AS first_id "
                   "FROM parquet_metadata('" +
                   env_.dir() +
                   "/lake/bronze/raw_shop_orders/**/*.parquet') WHERE path_in_schema = 'id' "
                   "GROUP BY file_name)"),
            "3,1");
}

TEST_F(BronzeLandingTest, NewColumnEvolvesTheTable) {
  BronzeLanding landing(env_.lake(), "shop", "orders");
  LandingBatch b;
  b.select_sql = "SELECT 1 AS id";
  b.state = 1;
  ASSERT_TRUE(landing.Land(b).ok());
  b.select_sql = "SELECT 2 AS id, 'new' AS note";
  b.state = 2;
  auto r = landing.Land(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_shop_orders WHERE note IS NULL"), "1");
  EXPECT_EQ(Scalar("SELECT note FROM bronze.raw_shop_orders WHERE id = 2"), "new");
}

TEST_F(BronzeLandingTest, FailureCommitsNothing) {
  BronzeLanding landing(env_.lake(), "shop", "orders");
  LandingBatch b;
  b.select_sql = "SELECT 1 AS id";
  b.state = {{"cursor", "a"}};
  ASSERT_TRUE(landing.Land(b).ok());
  LandingBatch bad;
  bad.select_sql =
      "SELECT CASE WHEN range = 5 THEN error('source went away') END AS id "
      "FROM range(10)";
  bad.state = {{"cursor", "b"}};
  auto r = landing.Land(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("source went away"), std::string::npos);
  EXPECT_EQ(Version(), 0);
  EXPECT_EQ(landing.LastCommittedState().value(), b.state);
  // A type the table cannot take is refused, naming the column, and commits nothing.
  bad.select_sql = "SELECT 'text' AS id";
  r = landing.Land(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("id"), std::string::npos);
  EXPECT_EQ(Version(), 0);
}

TEST_F(BronzeLandingTest, DeletesLandAsDeletedRows) {
  BronzeLanding landing(env_.lake(), "shop", "orders");
  LandingBatch b;
  b.select_sql = "SELECT range AS id, 'x' AS label FROM range(3)";
  b.cursor_sql = "label";
  b.state = 1;
  ASSERT_TRUE(landing.Land(b).ok());
  LandingBatch d;
  d.select_sql = "SELECT CAST(1 AS BIGINT) AS id";
  d.cursor_sql = "label";  // not available in a deletion batch: ignored
  d.deletes = true;
  d.state = 2;
  auto r = landing.Land(d);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_shop_orders WHERE _deleted AND id = 1 AND "
                   "label IS NULL AND _cursor IS NULL"),
            "1");
}

TEST_F(BronzeLandingTest, ResetIsDurableAndTheNextBatchContinues) {
  BronzeLanding landing(env_.lake(), "shop", "orders");
  EXPECT_TRUE(landing.ResetState("test").ok());  // no table: nothing to reset
  LandingBatch b;
  b.select_sql = "SELECT 1 AS id";
  b.state = {{"cursor", "9"}};
  ASSERT_TRUE(landing.Land(b).ok());
  ASSERT_TRUE(landing.ResetState("dew state reset").ok());
  env_.Reopen("run-2");
  BronzeLanding again(env_.lake(), "shop", "orders");
  auto last = again.LastCommitted();
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->state.is_null());
  EXPECT_TRUE(last->reset);
  EXPECT_EQ(last->batch, 2);
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_shop_orders"), "1");
  auto r = again.Land(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->batch, 3);
  EXPECT_EQ(again.LastCommittedState().value(), b.state);
}

TEST_F(BronzeLandingTest, QuarantineParksRowsAndMovesTheState) {
  BronzeLanding landing(env_.lake(), "shop", "orders");
  LandingBatch b;
  b.select_sql = "SELECT 1 AS id";
  b.state = 1;
  ASSERT_TRUE(landing.Land(b).ok());
  LandingBatch q;
  q.select_sql = "SELECT 'text' AS id";
  q.state = 2;
  q.quarantine = true;
  auto r = landing.Land(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->table, "bronze.raw_shop_orders__quarantine");
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_shop_orders"), "1");
  EXPECT_EQ(Scalar("SELECT id FROM bronze.raw_shop_orders__quarantine"), "text");
  EXPECT_EQ(landing.LastCommittedState().value(), json(2));
}

TEST_F(BronzeLandingTest, TableNamesAreSanitized) {
  EXPECT_EQ(BronzeLanding::TableFor("Odoo", "sales.Order-Lines"),
            "bronze.raw_odoo_sales_order_lines");
}

}  // namespace
}  // namespace dew::connectors
