// Reads the Delta tables other implementations wrote (../shared/data/delta, see its README) and
// checks the rows at each version against what the README and the DAT expectations say.
#include <gtest/gtest.h>

#include "engine/connection.h"
#include "lake/delta_log.h"
#include "lake/lake_test_util.h"
#include "lake/table_scan.h"

namespace dew::lake {
namespace {

using engine::SqlString;

std::string GoldenDir(const std::string& table) {
  return std::string(DEW_SHARED_DIR) + "/data/delta/" + table;
}

class GoldenTablesTest : public ::testing::Test {
 protected:
  Result<Snapshot> Load(const std::string& root, std::optional<int64_t> version = std::nullopt) {
    DeltaLog log(FileSystem::Posix(), root, engine_.con.get());
    return log.LoadSnapshot(version);
  }

  // The scan of `root` at `version`, as a parenthesised subquery.
  std::string Scan(const std::string& root, std::optional<int64_t> version = std::nullopt,
                   bool with_file_name = false) {
    auto snap = Load(root, version);
    EXPECT_TRUE(snap.ok()) << root << ": " << snap.status().ToString();
    if (!snap.ok()) return "(SELECT 1 WHERE false)";
    auto sql = ScanSql(*snap, with_file_name);
    EXPECT_TRUE(sql.ok()) << sql.status().ToString();
    return sql.ok() ? "(" + *sql + ")" : "(SELECT 1 WHERE false)";
  }

  std::string Scalar(const std::string& sql) {
    auto value = engine_.con->QueryScalar(sql);
    EXPECT_TRUE(value.ok()) << value.status().ToString() << "\n" << sql;
    return value.ok() && value->has_value() ? **value : "<null>";
  }

  // The sorted values of one integer column, e.g. "[5, 7, 9]".
  std::string Values(const std::string& root, const std::string& column,
                     std::optional<int64_t> version = std::nullopt) {
    return Scalar("SELECT list(" + column + " ORDER BY " + column + ")::VARCHAR FROM " +
                  Scan(root, version));
  }

  // The table at `version` holds exactly the rows of the DAT expectation (a multiset).
  void ExpectDatContents(const std::string& dat_case, const std::string& expected_dir,
                         std::optional<int64_t> version) {
    const std::string root = GoldenDir("dat/" + dat_case + "/delta");
    const std::string expected = "(SELECT * FROM read_parquet(" +
                                 SqlString(GoldenDir("dat/" + dat_case + "/expected/" +
                                                     expected_dir + "/table_content.parquet")) +
                                 "))";
    auto names = engine_.con->QueryText("SELECT * FROM " + expected + " LIMIT 0");
    ASSERT_TRUE(names.ok()) << names.status().ToString();
    std::string columns;
    for (const auto& n : names->names)
      columns += (columns.empty() ? "" : ", ") + engine::SqlIdent(n);
    const std::string actual = "(SELECT " + columns + " FROM " + Scan(root, version) + ")";
    SCOPED_TRACE(dat_case + " " + expected_dir);
    EXPECT_EQ(Scalar("SELECT count(*) FROM " + actual), Scalar("SELECT count(*) FROM " + expected));
    EXPECT_EQ(Scalar("SELECT count(*) FROM (SELECT * FROM " + actual +
                     " EXCEPT ALL SELECT * FROM " + expected + ")"),
              "0");
    EXPECT_EQ(Scalar("SELECT count(*) FROM (SELECT * FROM " + expected +
                     " EXCEPT ALL SELECT * FROM " + actual + ")"),
              "0");
  }

  testing::TestEngine engine_;
};

TEST_F(GoldenTablesTest, SimpleTableEveryVersion) {
  const std::string root = GoldenDir("delta-rs/simple_table");
  auto latest = Load(root);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  // _delta_log/.tmp/…05.json is an uncommitted file.
  EXPECT_EQ(latest->version, 4);
  EXPECT_EQ(Values(root, "id"), "[5, 7, 9]");
  EXPECT_EQ(Values(root, "id", 0), "[0, 1, 2, 3, 4]");
  EXPECT_EQ(Values(root, "id", 1),
            "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]");
  EXPECT_EQ(Values(root, "id", 2), "[5, 6, 7, 8, 9]");
  EXPECT_EQ(Values(root, "id", 3), "[5, 7, 9, 106, 108]");
  EXPECT_EQ(Values(root, "id", 4), "[5, 7, 9]");
  EXPECT_TRUE(Load(root, 5).status().IsNotFound());
}

TEST_F(GoldenTablesTest, SimpleTableTimeTravelByCommitTimestamp) {
  const std::string root = GoldenDir("delta-rs/simple_table");
  DeltaLog log(FileSystem::Posix(), root, engine_.con.get());
  // Commit timestamps: v0 1587968586154, v1 …596254, v2 …604143, v3 …614187, v4 …626537.
  auto at_v2 = log.LoadSnapshotAt(1587968604143);
  ASSERT_TRUE(at_v2.ok()) << at_v2.status().ToString();
  EXPECT_EQ(at_v2->version, 2);
  EXPECT_EQ(at_v2->timestamp_millis, 1587968604143);
  auto between = log.LoadSnapshotAt(1587968614186);
  ASSERT_TRUE(between.ok());
  EXPECT_EQ(between->version, 2);
  EXPECT_EQ(log.LoadSnapshotAt(1587968600000)->version, 1);
  EXPECT_EQ(log.LoadSnapshotAt(1800000000000)->version, 4);
  EXPECT_TRUE(log.LoadSnapshotAt(1587968586153).status().IsNotFound());
}

TEST_F(GoldenTablesTest, Delta080TombstoneAfterDelete) {
  const std::string root = GoldenDir("delta-rs/delta-0.8.0");
  EXPECT_EQ(Values(root, "value", 0), "[0, 1, 2, 3, 4]");
  EXPECT_EQ(Values(root, "value", 1), "[0, 1, 2, 4]");
  auto v1 = Load(root, 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->tombstones.size(), 1u);
  EXPECT_EQ(v1->protocol.min_reader_version, 1);
  EXPECT_EQ(v1->protocol.min_writer_version, 2);
}

TEST_F(GoldenTablesTest, Delta080PartitionedPrunesPartitions) {
  const std::string root = GoldenDir("delta-rs/delta-0.8.0-partitioned");
  auto snap = Load(root);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->files.size(), 6u);
  EXPECT_EQ(Scalar("SELECT list(value ORDER BY value)::VARCHAR FROM " + Scan(root)),
            "[1, 2, 3, 4, 5, 6, 7]");
  auto sql = ScanSql(*snap);
  ASSERT_TRUE(sql.ok());
  // One branch per partition, each with its partition values as constants: a filter on them
  // folds to false in the other branches, whose files are then never read.
  size_t branches = 0;
  for (size_t at = sql->find("read_parquet("); at != std::string::npos;
       at = sql->find("read_parquet(", at + 1)) {
    ++branches;
  }
  EXPECT_EQ(branches, 6u);
  EXPECT_EQ(Scalar("SELECT count(DISTINCT _dew_file) FROM " + Scan(root, std::nullopt, true) +
                   " WHERE year = '2020' AND month = '2'"),
            "2");
  EXPECT_EQ(Scalar("SELECT list(value ORDER BY value)::VARCHAR FROM " + Scan(root) +
                   " WHERE year = '2020' AND month = '2'"),
            Scalar("SELECT list(value ORDER BY value)::VARCHAR FROM " + Scan(root) +
                   " WHERE year = '2020' AND month = '2' AND day IN ('3', '5')"));
}

TEST_F(GoldenTablesTest, SimpleTableWithCheckpoint) {
  const std::string root = GoldenDir("delta-rs/simple_table_with_checkpoint");
  auto snap = Load(root);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->version, 10);
  EXPECT_EQ(Scalar("SELECT count(*) FROM " + Scan(root)), "11");
  // The data files of v0 and v1 both hold version = 0.
  EXPECT_EQ(Values(root, "version"), "[0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]");
  EXPECT_EQ(Scalar("SELECT count(*) FROM " + Scan(root, 4)), "5");

  // With the JSON commits the checkpoint covers removed, the checkpoint alone rebuilds v10.
  testing::TempDir copy;
  testing::CopyTree(root, copy.path());
  for (int v = 0; v <= 10; ++v) {
    ASSERT_TRUE(
        FileSystem::Posix()->RemoveFile(copy.path() + "/_delta_log/" + CommitFileName(v)).ok());
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM " + Scan(copy.path())), "11");
  auto old = Load(copy.path(), 4);
  ASSERT_FALSE(old.ok());
  EXPECT_TRUE(old.status().IsNotFound());
  EXPECT_NE(old.status().message().find("10 to 10"), std::string::npos) << old.status().message();
}

TEST_F(GoldenTablesTest, DatBasicAppend) {
  ExpectDatContents("basic_append", "v0", 0);
  ExpectDatContents("basic_append", "v1", 1);
  ExpectDatContents("basic_append", "latest", std::nullopt);
}

TEST_F(GoldenTablesTest, DatMultiPartitioned) {
  ExpectDatContents("multi_partitioned", "v0", 0);
  ExpectDatContents("multi_partitioned", "v1", 1);
  ExpectDatContents("multi_partitioned", "v2", 2);
  ExpectDatContents("multi_partitioned", "latest", std::nullopt);
}

}  // namespace
}  // namespace dew::lake
