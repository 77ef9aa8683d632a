#include "lake/table_scan.h"

#include <gtest/gtest.h>

#include "engine/connection.h"
#include "lake/lake_test_util.h"

namespace dew::lake {
namespace {

using engine::SqlString;

class TableScanTest : public ::testing::Test {
 protected:
  // Writes the rows of `select` as a Parquet file at `relative` in the table; returns its add.
  AddFile WriteFile(const std::string& relative, const std::string& select,
                    PartitionValues partition_values = {}) {
    const std::string abs = JoinPath(dir_.path(), relative);
    EXPECT_TRUE(FileSystem::Posix()->CreateDirs(abs.substr(0, abs.rfind('/'))).ok());
    Status st =
        engine_.con->Execute("COPY (" + select + ") TO " + SqlString(abs) + " (FORMAT parquet)");
    EXPECT_TRUE(st.ok()) << st.ToString();
    AddFile add;
    add.path = EncodePath(relative);
    add.partition_values = std::move(partition_values);
    return add;
  }

  Snapshot MakeSnapshot(const std::string& schema_json, std::vector<std::string> partitions) {
    Snapshot snap;
    snap.table_root = dir_.path();
    snap.version = 0;
    auto schema = Schema::FromDeltaJson(schema_json);
    EXPECT_TRUE(schema.ok()) << schema.status().ToString();
    snap.schema = *schema;
    snap.schema_history = {*schema};
    snap.metadata.partition_columns = std::move(partitions);
    return snap;
  }

  void AddTo(Snapshot* snap, AddFile add, int schema_index = 0) {
    snap->files.push_back(std::move(add));
    snap->file_schema_index.push_back(schema_index);
  }

  engine::TextTable Run(const std::string& sql) {
    auto table = engine_.con->QueryText(sql);
    EXPECT_TRUE(table.ok()) << table.status().ToString() << "\n" << sql;
    return table.ok() ? *table : engine::TextTable{};
  }

  testing::TempDir dir_;
  testing::TestEngine engine_;
};

constexpr const char* kPartitioned =
    R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},)"
    R"({"name":"region","type":"string","nullable":true,"metadata":{}},)"
    R"({"name":"day","type":"date","nullable":true,"metadata":{}}]})";

TEST_F(TableScanTest, EmptySnapshotIsTypedAndEmpty) {
  Snapshot snap = MakeSnapshot(kPartitioned, {"region"});
  auto sql = ScanSql(snap, /*with_file_name=*/true);
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  auto table = Run("SELECT * FROM (" + *sql + ")");
  EXPECT_TRUE(table.rows.empty());
  ASSERT_EQ(table.names, (std::vector<std::string>{"id", "region", "day", "_dew_file"}));
  EXPECT_EQ(table.types[0].ToSql(), "BIGINT");
  EXPECT_EQ(table.types[2].ToSql(), "DATE");
}

TEST_F(TableScanTest, PartitionColumnsAreTypedConstants) {
  Snapshot snap = MakeSnapshot(kPartitioned, {"region", "day"});
  AddTo(&snap, WriteFile("region=eu/day=2024-01-02/a.parquet", "SELECT 1::INTEGER AS id",
                         {{"region", "eu"}, {"day", "2024-01-02"}}));
  AddTo(&snap,
        WriteFile("region=a%2Fb c/day=__HIVE_DEFAULT_PARTITION__/b.parquet",
                  "SELECT * FROM range(2, 4) t(id)", {{"region", "a/b c"}, {"day", std::nullopt}}));
  AddTo(&snap, WriteFile("region=__HIVE_DEFAULT_PARTITION__/day=2024-01-03/c.parquet",
                         "SELECT 9::BIGINT AS id",
                         {{"region", "__HIVE_DEFAULT_PARTITION__"}, {"day", "2024-01-03"}}));
  auto sql = ScanSql(snap);
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  auto table = Run("SELECT id, region, day FROM (" + *sql + ") ORDER BY id");
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.types[0].ToSql(), "BIGINT");
  EXPECT_EQ(table.types[2].ToSql(), "DATE");
  EXPECT_EQ(*table.rows[0][1], "eu");
  EXPECT_EQ(*table.rows[0][2], "2024-01-02");
  EXPECT_EQ(*table.rows[1][1], "a/b c");
  EXPECT_FALSE(table.rows[1][2].has_value());
  EXPECT_FALSE(table.rows[3][1].has_value());
  EXPECT_EQ(*table.rows[3][0], "9");

  auto filtered = Run("SELECT count(*) FROM (" + *sql + ") WHERE region = 'a/b c'");
  EXPECT_EQ(*filtered.rows[0][0], "2");
}

TEST_F(TableScanTest, ColumnsAFilePredatesAreNull) {
  constexpr const char* kV1 =
      R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},)"
      R"({"name":"note","type":"string","nullable":true,"metadata":{}}]})";
  Snapshot snap = MakeSnapshot(kV1, {});
  snap.schema_history.insert(snap.schema_history.begin(),
                             Schema(std::vector<Field>{snap.schema.fields()[0]}));
  AddTo(&snap, WriteFile("old.parquet", "SELECT 1::BIGINT AS id"), 0);
  AddTo(&snap, WriteFile("new.parquet", "SELECT 2::BIGINT AS id, 'hi' AS note"), 1);
  auto sql = ScanSql(snap);
  ASSERT_TRUE(sql.ok());
  auto table = Run("SELECT id, note FROM (" + *sql + ") ORDER BY id");
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_FALSE(table.rows[0][1].has_value());
  EXPECT_EQ(*table.rows[1][1], "hi");
}

TEST_F(TableScanTest, FileNameColumnHoldsAddPath) {
  Snapshot snap = MakeSnapshot(kPartitioned, {"region"});
  AddTo(&snap, WriteFile("region=x/one file.parquet",
                         "SELECT 1::BIGINT AS id, DATE '2024-01-01' AS day", {{"region", "x"}}));
  AddTo(&snap, WriteFile("region=x/two.parquet", "SELECT 2::BIGINT AS id, DATE '2024-01-01' AS day",
                         {{"region", "x"}}));
  AddTo(&snap, WriteFile("region=y/three.parquet",
                         "SELECT 3::BIGINT AS id, DATE '2024-01-01' AS day", {{"region", "y"}}));
  auto sql = ScanSql(snap, /*with_file_name=*/true);
  ASSERT_TRUE(sql.ok());
  auto table = Run("SELECT id, _dew_file FROM (" + *sql + ") ORDER BY id");
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_EQ(*table.rows[0][1], "region=x/one%20file.parquet");
  EXPECT_EQ(*table.rows[1][1], "region=x/two.parquet");
  EXPECT_EQ(*table.rows[2][1], "region=y/three.parquet");
}

TEST_F(TableScanTest, TimestampPartitionValuesAreUtc) {
  constexpr const char* kSchema =
      R"({"type":"struct","fields":[{"name":"n","type":"long","nullable":true,"metadata":{}},)"
      R"({"name":"ts","type":"timestamp","nullable":true,"metadata":{}}]})";
  Snapshot snap = MakeSnapshot(kSchema, {"ts"});
  AddTo(&snap,
        WriteFile("ts=a/f.parquet", "SELECT 1::BIGINT AS n", {{"ts", "2024-01-01 10:00:00"}}));
  AddTo(&snap, WriteFile("ts=b/f.parquet", "SELECT 2::BIGINT AS n",
                         {{"ts", "2024-01-01 10:00:00+02:00"}}));
  ASSERT_TRUE(engine_.con->Execute("SET TimeZone = 'America/New_York'").ok());
  auto sql = ScanSql(snap);
  ASSERT_TRUE(sql.ok());
  auto table = Run("SELECT n, epoch(ts)::BIGINT FROM (" + *sql + ") ORDER BY n");
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(*table.rows[0][1], "1704103200");  // 2024-01-01 10:00:00 UTC
  EXPECT_EQ(*table.rows[1][1], "1704096000");  // 08:00 UTC
}

TEST_F(TableScanTest, QuotesNamesValuesAndPaths) {
  constexpr const char* kSchema =
      R"({"type":"struct","fields":[{"name":"my \"odd\" col","type":"long","nullable":true,"metadata":{}},)"
      R"({"name":"p","type":"string","nullable":true,"metadata":{}}]})";
  Snapshot snap = MakeSnapshot(kSchema, {"p"});
  AddTo(&snap, WriteFile("p=it's/o'clock.parquet", "SELECT 5::BIGINT AS \"my \"\"odd\"\" col\"",
                         {{"p", "it's"}}));
  AddTo(&snap, WriteFile("p=it's/two.parquet", "SELECT 6::BIGINT AS \"my \"\"odd\"\" col\"",
                         {{"p", "it's"}}));
  auto sql = ScanSql(snap, /*with_file_name=*/true);
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  auto table = Run("SELECT * FROM (" + *sql + ") ORDER BY 1");
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.names[0], "my \"odd\" col");
  EXPECT_EQ(*table.rows[0][0], "5");
  EXPECT_EQ(*table.rows[0][1], "it's");
  EXPECT_EQ(*table.rows[0][2], "p=it%27s/o%27clock.parquet");
}

TEST_F(TableScanTest, CastsToTheTableType) {
  // A TIMESTAMP column round-trips through Delta's "timestamp" via the field's hint.
  constexpr const char* kSchema =
      R"({"type":"struct","fields":[{"name":"ts","type":"timestamp","nullable":true,)"
      R"("metadata":{"dew.duckdb_type":"TIMESTAMP"}},{"name":"n","type":"long","nullable":true,"metadata":{}}]})";
  Snapshot snap = MakeSnapshot(kSchema, {});
  AddTo(&snap,
        WriteFile("f.parquet", "SELECT TIMESTAMP '2024-01-01 10:00:00' AS ts, 7::INTEGER AS n"));
  auto sql = ScanSql(snap);
  ASSERT_TRUE(sql.ok());
  auto table = Run(*sql);
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.types[0].ToSql(), "TIMESTAMP");
  EXPECT_EQ(table.types[1].ToSql(), "BIGINT");
  EXPECT_EQ(*table.rows[0][0], "2024-01-01 10:00:00");
}

}  // namespace
}  // namespace dew::lake
