#include "lake/checkpoint.h"

#include <gtest/gtest.h>

#include "engine/connection.h"
#include "lake/delta_log.h"
#include "lake/lake_test_util.h"

namespace dew::lake {
namespace {

using engine::SqlString;

constexpr const char* kSchemaV0 =
    R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},)"
    R"({"name":"p","type":"string","nullable":true,"metadata":{}}]})";
constexpr const char* kSchemaV1 =
    R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},)"
    R"({"name":"p","type":"string","nullable":true,"metadata":{}},)"
    R"({"name":"note","type":"string","nullable":true,"metadata":{}}]})";

class CheckpointTest : public ::testing::Test {
 protected:
  CheckpointTest() : fs_(FileSystem::Posix()), log_(fs_, dir_.path(), engine_.con.get()) {}

  Metadata MakeMetadata(const char* schema) {
    Metadata md;
    md.id = "tbl";
    md.schema_string = schema;
    md.partition_columns = {"p"};
    md.configuration["delta.appendOnly"] = "false";
    md.created_time = 1;
    return md;
  }

  // Version v (0..n-1) adds file f<v> (partition p = "x'y" for odd v, null for even); version 5
  // removes f1; version 7 adds a column; every version records txn app = v.
  void WriteVersions(int n) {
    for (int v = 0; v < n; ++v) {
      CommitActions a;
      CommitInfo info;
      info.timestamp = 1000 * (v + 1);
      info.operation = "WRITE";
      a.commit_info = info;
      if (v == 0) {
        a.protocol = Protocol{};
        a.metadata = MakeMetadata(kSchemaV0);
      }
      if (v == 7) a.metadata = MakeMetadata(kSchemaV1);
      AddFile add;
      add.path = "p=x%27y/f" + std::to_string(v) + ".parquet";
      add.partition_values["p"] = v % 2 ? std::optional<std::string>("x'y") : std::nullopt;
      add.size = 10 + v;
      add.modification_time = 5;
      add.stats = R"({"numRecords":)" + std::to_string(v + 1) + "}";
      a.adds.push_back(add);
      if (v == 5) {
        RemoveFile rm;
        rm.path = "p=x%27y/f1.parquet";
        rm.deletion_timestamp = 6000;
        a.removes.push_back(rm);
      }
      a.txns.push_back(Txn{"app", v, std::nullopt});
      ASSERT_TRUE(log_.WriteCommit(v, a).ok());
    }
  }

  void ExpectSameState(const Snapshot& a, const Snapshot& b) {
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.metadata.schema_string, b.metadata.schema_string);
    EXPECT_EQ(a.metadata.partition_columns, b.metadata.partition_columns);
    EXPECT_EQ(a.metadata.configuration, b.metadata.configuration);
    ASSERT_EQ(a.files.size(), b.files.size());
    for (size_t i = 0; i < a.files.size(); ++i) {
      EXPECT_EQ(a.files[i].path, b.files[i].path);
      EXPECT_EQ(a.files[i].partition_values, b.files[i].partition_values);
      EXPECT_EQ(a.files[i].size, b.files[i].size);
      EXPECT_EQ(a.files[i].NumRecords(), b.files[i].NumRecords());
      // Same columns for each file, whatever the schema history's shape.
      EXPECT_EQ(a.schema_history[a.file_schema_index[i]].Names(),
                b.schema_history[b.file_schema_index[i]].Names())
          << a.files[i].path;
    }
    ASSERT_EQ(a.tombstones.size(), b.tombstones.size());
    for (size_t i = 0; i < a.tombstones.size(); ++i) {
      EXPECT_EQ(a.tombstones[i].path, b.tombstones[i].path);
      EXPECT_EQ(a.tombstones[i].deletion_timestamp, b.tombstones[i].deletion_timestamp);
    }
    EXPECT_EQ(a.app_versions, b.app_versions);
  }

  testing::TempDir dir_;
  testing::TestEngine engine_;
  std::shared_ptr<FileSystem> fs_;
  DeltaLog log_;
};

TEST_F(CheckpointTest, WritesProtocolSchemaAndLastCheckpoint) {
  WriteVersions(11);
  auto snap = log_.LoadSnapshot(10);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_TRUE(log_.WriteCheckpoint(*snap).ok());

  auto last = fs_->ReadFile(JoinPath(log_.log_dir(), "_last_checkpoint"));
  ASSERT_TRUE(last.ok());
  // protocol + metaData + 1 txn + 1 tombstone + 10 live files
  EXPECT_EQ(*last, R"({"size":14,"version":10})");

  const std::string cp = JoinPath(log_.log_dir(), CheckpointFileName(10));
  auto described =
      engine_.con->QueryText("DESCRIBE SELECT * FROM read_parquet(" + SqlString(cp) + ")");
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  std::map<std::string, std::string> types;
  for (const auto& row : described->rows) types[*row[0]] = *row[1];
  ASSERT_EQ(types.size(), 5u);
  EXPECT_NE(types["add"].find("partitionValues MAP(VARCHAR, VARCHAR)"), std::string::npos)
      << types["add"];
  EXPECT_NE(
      types["metaData"].find("format STRUCT(provider VARCHAR, \"options\" MAP(VARCHAR, VARCHAR))"),
      std::string::npos)
      << types["metaData"];
  EXPECT_NE(types["metaData"].find("\"configuration\" MAP(VARCHAR, VARCHAR)"), std::string::npos);
  EXPECT_NE(types["protocol"].find("minReaderVersion INTEGER"), std::string::npos);
  EXPECT_NE(types["txn"].find("appId VARCHAR"), std::string::npos);
  EXPECT_NE(types["remove"].find("deletionTimestamp BIGINT"), std::string::npos);

  auto rows = engine_.con->QueryScalar("SELECT count(*) FROM read_parquet(" + SqlString(cp) +
                                       ") WHERE add IS NOT NULL");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(**rows, "10");
  // No temporary file is left beside the checkpoint.
  auto entries = fs_->ListDir(log_.log_dir());
  ASSERT_TRUE(entries.ok());
  for (const auto& e : *entries) EXPECT_NE(e.name[0], '.') << e.name;
}

TEST_F(CheckpointTest, SnapshotFromCheckpointEqualsReplay) {
  WriteVersions(13);
  auto replayed10 = log_.LoadSnapshot(10);
  auto replayed12 = log_.LoadSnapshot(12);
  ASSERT_TRUE(replayed10.ok() && replayed12.ok());
  ASSERT_TRUE(log_.WriteCheckpoint(*replayed10).ok());

  // Drop the commits the checkpoint covers: only it can rebuild versions 10 to 12 now.
  for (int v = 0; v <= 10; ++v) {
    ASSERT_TRUE(fs_->RemoveFile(JoinPath(log_.log_dir(), CommitFileName(v))).ok());
  }
  DeltaLog fresh(fs_, dir_.path(), engine_.con.get());
  auto from_cp12 = fresh.LoadSnapshot();
  ASSERT_TRUE(from_cp12.ok()) << from_cp12.status().ToString();
  ExpectSameState(*replayed12, *from_cp12);
  EXPECT_EQ(from_cp12->timestamp_millis, 13000);
  auto from_cp10 = fresh.LoadSnapshot(10);
  ASSERT_TRUE(from_cp10.ok()) << from_cp10.status().ToString();
  ExpectSameState(*replayed10, *from_cp10);
  EXPECT_EQ(*fresh.LatestVersion(), 12);

  auto gone = fresh.LoadSnapshot(4);
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.status().IsNotFound());
  EXPECT_NE(gone.status().message().find("10 to 12"), std::string::npos) << gone.status().message();

  // Without `_last_checkpoint` the listing finds the checkpoint.
  ASSERT_TRUE(fs_->RemoveFile(JoinPath(log_.log_dir(), "_last_checkpoint")).ok());
  auto listed = fresh.LoadSnapshot();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ExpectSameState(*replayed12, *listed);
}

TEST_F(CheckpointTest, PastVersionStartsFromOlderCheckpoint) {
  WriteVersions(23);
  auto replayed15 = log_.LoadSnapshot(15);
  ASSERT_TRUE(replayed15.ok());
  for (int64_t v : {10, 20}) {
    auto snap = log_.LoadSnapshot(v);
    ASSERT_TRUE(snap.ok());
    ASSERT_TRUE(log_.WriteCheckpoint(*snap).ok());
  }
  for (int v = 0; v <= 10; ++v) {
    ASSERT_TRUE(fs_->RemoveFile(JoinPath(log_.log_dir(), CommitFileName(v))).ok());
  }
  auto from_cp = log_.LoadSnapshot(15);
  ASSERT_TRUE(from_cp.ok()) << from_cp.status().ToString();
  ExpectSameState(*replayed15, *from_cp);

  ASSERT_TRUE(fs_->RemoveFile(JoinPath(log_.log_dir(), CommitFileName(13))).ok());
  auto gap = log_.LoadSnapshot(15);
  ASSERT_FALSE(gap.ok());
  EXPECT_EQ(gap.status().code(), Status::Code::kCorruption);
  EXPECT_NE(gap.status().message().find("version 13"), std::string::npos) << gap.status().message();
}

TEST_F(CheckpointTest, UnreadableCheckpointFallsBackToCommits) {
  WriteVersions(11);
  auto snap = log_.LoadSnapshot();
  ASSERT_TRUE(snap.ok());
  ASSERT_TRUE(fs_->WriteFile(JoinPath(log_.log_dir(), CheckpointFileName(10)), "garbage").ok());
  ASSERT_TRUE(
      fs_->WriteFile(JoinPath(log_.log_dir(), "_last_checkpoint"), R"({"version":10,"size":3})")
          .ok());
  auto again = log_.LoadSnapshot();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ExpectSameState(*snap, *again);

  // With the commits gone, the broken checkpoint is reported by name.
  ASSERT_TRUE(fs_->RemoveFile(JoinPath(log_.log_dir(), CommitFileName(3))).ok());
  auto broken = log_.LoadSnapshot();
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find(CheckpointFileName(10)), std::string::npos)
      << broken.status().message();
}

TEST_F(CheckpointTest, ReadsForeignCheckpoint) {
  const std::string table =
      std::string(DEW_SHARED_DIR) + "/data/delta/delta-rs/simple_table_with_checkpoint";
  auto actions = ReadCheckpoint(engine_.con.get(), table + "/_delta_log/" + CheckpointFileName(10));
  ASSERT_TRUE(actions.ok()) << actions.status().ToString();
  EXPECT_EQ(actions->adds.size(), 11u);
  ASSERT_TRUE(actions->metadata.has_value());
  EXPECT_EQ(actions->metadata->id, "cf3741a3-5f93-434f-99ac-9a4bebcdf06c");
  EXPECT_EQ(actions->protocol->min_reader_version, 1);
}

TEST_F(CheckpointTest, ReadsCheckpointMissingOptionalColumns) {
  WriteVersions(11);
  auto snap = log_.LoadSnapshot(10);
  ASSERT_TRUE(snap.ok());
  ASSERT_TRUE(log_.WriteCheckpoint(*snap).ok());
  // Another writer may leave out columns it has no rows for (here txn and remove).
  const std::string cp = JoinPath(log_.log_dir(), CheckpointFileName(10));
  const std::string slim = JoinPath(dir_.path(), "slim.parquet");
  ASSERT_TRUE(engine_.con
                  ->Execute("COPY (SELECT add, metaData, protocol FROM read_parquet(" +
                            SqlString(cp) + ")) TO " + SqlString(slim) + " (FORMAT parquet)")
                  .ok());
  auto actions = ReadCheckpoint(engine_.con.get(), slim);
  ASSERT_TRUE(actions.ok()) << actions.status().ToString();
  EXPECT_EQ(actions->adds.size(), 10u);
  EXPECT_TRUE(actions->removes.empty());
  EXPECT_TRUE(actions->txns.empty());
  EXPECT_EQ(actions->metadata->partition_columns, std::vector<std::string>{"p"});
  size_t null_partitions = 0;
  for (const auto& add : actions->adds) null_partitions += !add.partition_values.at("p");
  EXPECT_EQ(null_partitions, 6u);  // even versions 0 to 10
}

TEST_F(CheckpointTest, LastCheckpointNeedsAVersion) {
  ASSERT_TRUE(fs_->CreateDirs(log_.log_dir()).ok());
  EXPECT_TRUE(ReadLastCheckpoint(*fs_, log_.log_dir()).status().IsNotFound());
  ASSERT_TRUE(fs_->WriteFile(JoinPath(log_.log_dir(), "_last_checkpoint"), "{}").ok());
  auto bad = ReadLastCheckpoint(*fs_, log_.log_dir());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace dew::lake

namespace dew::lake {
namespace {

class CheckpointRetentionTest : public CheckpointTest {};

TEST_F(CheckpointRetentionTest, DropsTombstonesOlderThanTheDeletedFileRetention) {
  WriteVersions(11);
  auto snap = log_.LoadSnapshot(10);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_EQ(snap->tombstones.size(), 1u);  // f1, removed at 6000 ms; version 10 is at 11000 ms

  Snapshot keep = *snap;
  keep.metadata.configuration["delta.deletedFileRetentionDuration"] = "interval 6 seconds";
  Snapshot drop = *snap;
  drop.metadata.configuration["delta.deletedFileRetentionDuration"] = "interval 4 seconds";
  const std::string keep_path = JoinPath(dir_.path(), "keep.checkpoint.parquet");
  const std::string drop_path = JoinPath(dir_.path(), "drop.checkpoint.parquet");
  auto kept = WriteCheckpoint(engine_.con.get(), *fs_, keep, keep_path);
  auto dropped = WriteCheckpoint(engine_.con.get(), *fs_, drop, drop_path);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_EQ(*kept, 14);
  EXPECT_EQ(*dropped, 13);
  auto removes = [&](const std::string& path) {
    auto n = engine_.con->QueryScalar("SELECT count(*) FROM read_parquet(" + SqlString(path) +
                                      ") WHERE remove IS NOT NULL");
    return n.ok() && n->has_value() ? **n : std::string("error");
  };
  EXPECT_EQ(removes(keep_path), "1");
  EXPECT_EQ(removes(drop_path), "0");
  // The live files are the same either way.
  auto read_back = ReadCheckpoint(engine_.con.get(), drop_path);
  ASSERT_TRUE(read_back.ok()) << read_back.status().ToString();
  EXPECT_EQ(read_back->adds.size(), snap->files.size());
  EXPECT_TRUE(read_back->removes.empty());
}

}  // namespace
}  // namespace dew::lake
