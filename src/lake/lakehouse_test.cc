#include "lake/lakehouse.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <functional>

#include "engine/connection.h"

namespace dew::lake {
namespace {

TEST(LakehouseTimeTest, ParsesTimestampsAsUtcUnlessAnOffsetIsGiven) {
  EXPECT_EQ(*ParseTimestampMillis("1970-01-01"), 0);
  EXPECT_EQ(*ParseTimestampMillis("2026-01-31 23:59:59"), 1769903999000);
  EXPECT_EQ(*ParseTimestampMillis("2026-01-31T23:59:59.5Z"), 1769903999500);
  EXPECT_EQ(*ParseTimestampMillis("2026-02-01 01:59:59+02:00"), 1769903999000);
  EXPECT_EQ(*ParseTimestampMillis("2026-01-31 18:59-05"), 1769903940000);
  for (const char* bad :
       {"", "yesterday", "2026-13-01", "2026-01-31 25:00:00", "2026-01-31x", "2026/01/31"}) {
    auto r = ParseTimestampMillis(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(std::string("'") + bad + "'"), std::string::npos);
  }
}

TEST(LakehouseTimeTest, FormatsMillisInUtc) {
  EXPECT_EQ(FormatTimestampMillis(0), "1970-01-01 00:00:00");
  EXPECT_EQ(FormatTimestampMillis(1769903999500), "2026-01-31 23:59:59.500");
  EXPECT_EQ(FormatTimestampMillis(-1000), "1969-12-31 23:59:59");
  EXPECT_EQ(*ParseTimestampMillis(FormatTimestampMillis(1764405701123)), 1764405701123);
}

TEST(LakehouseTimeTest, EditDistance) {
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("silver.items", "silver.itemz"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

class LakehouseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_lakehouse_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs_ = FileSystem::Posix();
    Open();
  }
  void TearDown() override {
    lake_.reset();
    (void)fs_->RemoveAll(dir_);
  }
  void Open(std::function<bool(const TableName&)> views_at_open = nullptr) {
    LakehouseOptions o;
    o.lake_root = dir_ + "/lake";
    o.cwd = dir_;
    o.user = "tester";
    o.run_id = "run-1";
    o.views_at_open = std::move(views_at_open);
    lake_.reset();
    auto lake = Lakehouse::Open(o, fs_, Clock::System());
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    lake_ = std::move(*lake);
  }
  std::string Scalar(const std::string& sql) {
    auto v = lake_->connection().QueryScalar(sql);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() && v->has_value() ? **v : "NULL";
  }

  std::string dir_;
  std::shared_ptr<FileSystem> fs_;
  std::unique_ptr<Lakehouse> lake_;
};

TEST_F(LakehouseTest, TablesAppearAsViewsUnderTheirLayer) {
  TableName t{Layer::kSilver, "items"};
  auto r =
      lake_->CreateTableAs(t, "SELECT range AS id FROM range(4)", {}, lake_->NewWriteOptions());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version, 0);
  EXPECT_EQ(r->rows_added, 4);
  EXPECT_EQ(Scalar("SELECT sum(id) FROM silver.items"), "6");
  // A new lakehouse (another process) registers the same views at open.
  Open();
  EXPECT_EQ(Scalar("SELECT count(*) FROM silver.items"), "4");
  auto tables = lake_->ListTables();
  ASSERT_TRUE(tables.ok());
  ASSERT_EQ(tables->size(), 1u);
  EXPECT_EQ((*tables)[0].ToString(), "silver.items");
  auto history = lake_->OpenTable(t).value()->log().History();
  ASSERT_TRUE(history.ok());
  EXPECT_EQ((*history)[0].info.user_name, "tester");
  EXPECT_EQ((*history)[0].info.run_id, "run-1");
}

// A command that reads known tables (a sync) opens with their views only: the other tables'
// logs are not read at open, their views are made when asked for, SQL views not at all.
TEST_F(LakehouseTest, OpensWithTheViewsItIsAskedFor) {
  const TableName items{Layer::kSilver, "items"}, others{Layer::kSilver, "others"};
  for (const TableName& t : {items, others}) {
    auto r =
        lake_->CreateTableAs(t, "SELECT range AS id FROM range(4)", {}, lake_->NewWriteOptions());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  ASSERT_TRUE(lake_->CreateSqlView(TableName{Layer::kGold, "gold_a_b"}, "SELECT 1 AS one").ok());
  Open([&](const TableName& t) { return t.ToString() == items.ToString(); });
  EXPECT_EQ(Scalar("SELECT count(*) FROM silver.items"), "4");
  EXPECT_FALSE(lake_->connection().QueryScalar("SELECT count(*) FROM silver.others").ok());
  EXPECT_FALSE(lake_->connection().QueryScalar("SELECT one FROM gold.gold_a_b").ok());
  ASSERT_TRUE(lake_->RefreshView(others).ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM silver.others"), "4");
  Open();  // every view again
  EXPECT_EQ(Scalar("SELECT count(*) FROM silver.others"), "4");
  EXPECT_EQ(Scalar("SELECT one FROM gold.gold_a_b"), "1");
}

// A lakehouse opened without a table's view: RefreshExistingView (after a write) makes none,
// EnsureView makes it once, and RefreshExistingView then keeps it current.
TEST_F(LakehouseTest, EnsureViewMakesAViewRefreshExistingViewOnlyRefreshes) {
  const TableName t{Layer::kBronze, "raw_a_b"};
  ASSERT_TRUE(lake_->CreateTableAs(t, "SELECT 1 AS id", {}, lake_->NewWriteOptions()).ok());
  EXPECT_TRUE(lake_->HasView(t).value());
  Open([](const TableName&) { return false; });
  EXPECT_FALSE(lake_->HasView(t).value());
  auto table = lake_->OpenTable(t);
  ASSERT_TRUE(table.ok());
  ASSERT_TRUE((*table)->Append("SELECT 2 AS id", lake_->NewWriteOptions()).ok());
  ASSERT_TRUE(lake_->RefreshExistingView(t).ok());
  EXPECT_FALSE(lake_->HasView(t).value());
  EXPECT_FALSE(lake_->connection().QueryScalar("SELECT count(*) FROM bronze.raw_a_b").ok());
  ASSERT_TRUE(lake_->EnsureView(t).ok());
  EXPECT_TRUE(lake_->HasView(t).value());
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_a_b"), "2");
  ASSERT_TRUE((*table)->Append("SELECT 3 AS id", lake_->NewWriteOptions()).ok());
  ASSERT_TRUE(lake_->EnsureView(t).ok());  // has one: not re-made
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_a_b"), "2");
  ASSERT_TRUE(lake_->RefreshExistingView(t).ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_a_b"), "3");
}

TEST_F(LakehouseTest, RefreshesTheViewAfterAWrite) {
  TableName t{Layer::kBronze, "raw_a_b"};
  ASSERT_TRUE(lake_->CreateTableAs(t, "SELECT 1 AS id", {}, lake_->NewWriteOptions()).ok());
  auto table = lake_->OpenTable(t);
  ASSERT_TRUE(table.ok());
  ASSERT_TRUE((*table)->Append("SELECT 2 AS id", lake_->NewWriteOptions()).ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_a_b"), "1");  // not refreshed yet
  ASSERT_TRUE(lake_->RefreshView(t).ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_a_b"), "2");
  ASSERT_TRUE(lake_->DropTable(t).ok());
  EXPECT_FALSE(lake_->Exists(t));
  EXPECT_FALSE(lake_->connection().QueryScalar("SELECT count(*) FROM bronze.raw_a_b").ok());
}

// A writer that points the view elsewhere (a build worker, at rows it keeps) leaves it alone,
// and one that knows its rows' schema passes it instead of having the query planned for it:
// the table's schema is then the one given (here wider than the query's INTEGER, to tell).
TEST_F(LakehouseTest, CreateTableAsCanLeaveTheViewAndTakeAKnownSchema) {
  TableName t{Layer::kSilver, "kept"};
  ASSERT_TRUE(lake_->connection().Execute("CREATE TABLE main.rows AS SELECT 7 AS id").ok());
  WriteOptions w = lake_->NewWriteOptions();
  w.rows_schema = Schema({Field{"id", "long", true, "{}"}});
  auto r = lake_->CreateTableAs(t, "SELECT * FROM main.rows", {}, w, ViewAfterWrite::kLeave);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows_added, 1);
  EXPECT_FALSE(lake_->connection().QueryScalar("SELECT count(*) FROM silver.kept").ok());
  auto snapshot = lake_->LoadSnapshot(t, TimeTravel{});
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_EQ(snapshot->schema.ToDeltaJson(), w.rows_schema->ToDeltaJson());
  ASSERT_TRUE(lake_->RefreshView(t).ok());
  EXPECT_EQ(Scalar("SELECT sum(id) FROM silver.kept"), "7");
}

// A shared lakehouse (a build's second worker) sees the first one's tables and views and its
// DuckDB's in-memory tables, and its own writes are seen back; the DuckDB outlives whichever
// lakehouse closes first.
TEST_F(LakehouseTest, ASharedLakehouseSeesTheSameDuckDb) {
  TableName t{Layer::kSilver, "orders"};
  ASSERT_TRUE(
      lake_->CreateTableAs(t, "SELECT range AS id FROM range(3)", {}, lake_->NewWriteOptions())
          .ok());
  auto shared = lake_->Share();
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  auto other = [&](const std::string& sql) {
    auto v = (*shared)->connection().QueryScalar(sql);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() && v->has_value() ? **v : "NULL";
  };
  EXPECT_EQ(other("SELECT sum(id) FROM silver.orders"), "3");
  EXPECT_EQ((*shared)->run_id(), lake_->run_id());
  ASSERT_TRUE(lake_->connection().Execute("CREATE TABLE main.kept AS SELECT 5 AS id").ok());
  EXPECT_EQ(other("SELECT id FROM main.kept"), "5");
  TableName u{Layer::kSilver, "refunds"};
  ASSERT_TRUE((*shared)->CreateTableAs(u, "SELECT 9 AS id", {}, (*shared)->NewWriteOptions()).ok());
  EXPECT_EQ(Scalar("SELECT id FROM silver.refunds"), "9");
  lake_.reset();
  EXPECT_EQ(other("SELECT count(*) FROM silver.orders"), "3");
}

TEST_F(LakehouseTest, ResolvesNamesAndSuggestsNearMatches) {
  auto w = lake_->NewWriteOptions();
  ASSERT_TRUE(lake_->CreateTableAs({Layer::kSilver, "orders"}, "SELECT 1 AS id", {}, w).ok());
  ASSERT_TRUE(lake_->CreateTableAs({Layer::kPlatinum, "orders"}, "SELECT 1 AS id", {}, w).ok());
  ASSERT_TRUE(lake_->CreateTableAs({Layer::kSilver, "customers"}, "SELECT 1 AS id", {}, w).ok());
  EXPECT_EQ(lake_->Resolve("customers")->ToString(), "silver.customers");
  EXPECT_EQ(lake_->Resolve("platinum.orders")->ToString(), "platinum.orders");
  auto ambiguous = lake_->Resolve("orders");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_NE(ambiguous.status().message().find("silver.orders platinum.orders"), std::string::npos);
  auto near = lake_->Resolve("silver.ordres");
  ASSERT_TRUE(near.status().IsNotFound());
  EXPECT_NE(near.status().message().find("did you mean silver.orders, platinum.orders?"),
            std::string::npos)
      << near.status().message();
  auto far = lake_->Resolve("gold.zzzzzzzzzz");
  ASSERT_TRUE(far.status().IsNotFound());
  EXPECT_NE(
      far.status().message().find("lake tables: silver.customers silver.orders platinum.orders"),
      std::string::npos)
      << far.status().message();
  // Naming conventions are enforced on create.
  EXPECT_FALSE(lake_->CreateTableAs({Layer::kGold, "totals"}, "SELECT 1 AS id", {}, w).ok());
  EXPECT_TRUE(lake_->CreateTableAs({Layer::kSilver, "orders"}, "SELECT 1 AS id", {}, w)
                  .status()
                  .IsAlreadyExists());
}

TEST_F(LakehouseTest, TimeTravelErrorsNameTheTableAndVersions) {
  TableName t{Layer::kSilver, "items"};
  ASSERT_TRUE(lake_->CreateTableAs(t, "SELECT 1 AS id", {}, lake_->NewWriteOptions()).ok());
  TimeTravel at;
  at.version = 5;
  auto snap = lake_->LoadSnapshot(t, at);
  ASSERT_TRUE(snap.status().IsNotFound());
  EXPECT_EQ(snap.status().message(),
            "table silver.items has no version 5: available versions are 0");
  TimeTravel early;
  early.timestamp = "2001-01-01";
  auto before = lake_->LoadSnapshot(t, early);
  ASSERT_TRUE(before.status().IsNotFound());
  EXPECT_NE(before.status().message().find("silver.items has no version at or before "
                                           "'2001-01-01'"),
            std::string::npos);
  auto scan = lake_->ScanTable("items", TimeTravel{});
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(Scalar("SELECT count(*) FROM (" + *scan + ")"), "1");
}

TEST_F(LakehouseTest, ScansGoldenTablesByPath) {
  TimeTravel v0;
  v0.version = 0;
  auto scan =
      lake_->ScanPath(std::string(DEW_SHARED_DIR) + "/data/delta/delta-rs/simple_table", v0);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(Scalar("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM (" + *scan + ")"),
            "0,1,2,3,4");
  auto uri = lake_->ScanPath(
      "file://" + std::string(DEW_SHARED_DIR) + "/data/delta/delta-rs/simple_table/", TimeTravel{});
  ASSERT_TRUE(uri.ok()) << uri.status().ToString();
  EXPECT_EQ(Scalar("SELECT count(*) FROM (" + *uri + ")"), "3");
  auto missing = lake_->ScanPath("no/table", TimeTravel{});
  ASSERT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find(dir_ + "/no/table"), std::string::npos);
}

// A table made of another table's files: the files are checked against its schema by their
// footers, and a table whose files do not hold its columns (in order, of its types) is refused.
TEST_F(LakehouseTest, CreateTableFromFilesChecksTheFilesColumns) {
  TableName from{Layer::kBronze, "raw_s_t"};
  ASSERT_TRUE(lake_
                  ->CreateTableAs(from,
                                  "SELECT range::INTEGER AS id, 'v' || range AS v FROM range(3)",
                                  {}, lake_->NewWriteOptions())
                  .ok());
  auto snap = lake_->OpenTable(from).value()->Latest();
  ASSERT_TRUE(snap.ok());
  std::vector<DeltaTable::ExistingFile> files;
  for (const auto& f : snap->files) files.push_back({JoinPath(snap->table_root, f.path), f.stats});
  ASSERT_EQ(files.size(), 1u);
  const Schema& schema = snap->schema;
  TableName wrong_type{Layer::kSilver, "s_wrong"};
  Schema other({Field{"id", "long"}, Field{"v", "string"}});
  auto refused = lake_->CreateTableFromFiles(wrong_type, other, files, lake_->NewWriteOptions());
  ASSERT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("'id'"), std::string::npos);
  Schema swapped({schema.fields()[1], schema.fields()[0]});
  EXPECT_TRUE(lake_
                  ->CreateTableFromFiles(TableName{Layer::kSilver, "s_swapped"}, swapped, files,
                                         lake_->NewWriteOptions())
                  .status()
                  .IsInvalidArgument());
  EXPECT_FALSE(lake_->Exists(wrong_type));

  TableName to{Layer::kSilver, "s_t"};
  auto made = lake_->CreateTableFromFiles(to, schema, files, lake_->NewWriteOptions());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->version, 0);
  EXPECT_EQ(made->rows_added, 3);
  EXPECT_EQ(Scalar("SELECT string_agg(id || v, ',' ORDER BY id) FROM silver.s_t"), "0v0,1v1,2v2");
  ASSERT_TRUE(lake_->DropTable(from).ok());
  Open();
  EXPECT_EQ(Scalar("SELECT count(*) FROM silver.s_t"), "3");
}

}  // namespace
}  // namespace dew::lake
