#include "lake/delta_log.h"

#include <gtest/gtest.h>

#include <thread>

#include "lake/lake_test_util.h"

namespace dew::lake {
namespace {

using testing::TempDir;

constexpr const char* kSchemaV0 =
    R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]})";
constexpr const char* kSchemaV1 =
    R"({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},)"
    R"({"name":"note","type":"string","nullable":true,"metadata":{}}]})";

AddFile MakeAdd(const std::string& path, int64_t rows) {
  AddFile add;
  add.path = path;
  add.size = 100;
  add.modification_time = 1;
  add.stats = "{\"numRecords\":" + std::to_string(rows) + "}";
  return add;
}

CommitActions Commit(int64_t timestamp, const std::string& op) {
  CommitActions actions;
  CommitInfo info;
  info.timestamp = timestamp;
  info.operation = op;
  actions.commit_info = info;
  return actions;
}

CommitActions CreateCommit() {
  CommitActions actions = Commit(1000, "CREATE TABLE");
  actions.protocol = Protocol{};
  Metadata md;
  md.id = "table-id";
  md.schema_string = kSchemaV0;
  md.created_time = 1000;
  actions.metadata = md;
  return actions;
}

class DeltaLogTest : public ::testing::Test {
 protected:
  DeltaLogTest() : fs_(FileSystem::Posix()), log_(fs_, dir_.path(), nullptr) {}

  void WriteRaw(const std::string& name, const std::string& text) {
    ASSERT_TRUE(fs_->CreateDirs(log_.log_dir()).ok());
    ASSERT_TRUE(fs_->WriteFile(JoinPath(log_.log_dir(), name), text).ok());
  }

  // v0 create, v1 adds a and b, v2 removes a and adds c.
  void WriteThreeVersions() {
    ASSERT_TRUE(log_.WriteCommit(0, CreateCommit()).ok());
    CommitActions v1 = Commit(2000, "WRITE");
    v1.adds = {MakeAdd("a.parquet", 2), MakeAdd("b.parquet", 3)};
    v1.txns.push_back(Txn{"app", 5, std::nullopt});
    ASSERT_TRUE(log_.WriteCommit(1, v1).ok());
    CommitActions v2 = Commit(3000, "DELETE");
    RemoveFile rm;
    rm.path = "a.parquet";
    rm.deletion_timestamp = 3000;
    v2.removes = {rm};
    v2.adds = {MakeAdd("c.parquet", 1)};
    ASSERT_TRUE(log_.WriteCommit(2, v2).ok());
  }

  TempDir dir_;
  std::shared_ptr<FileSystem> fs_;
  DeltaLog log_;
};

TEST_F(DeltaLogTest, EmptyFolderHasNoTable) {
  EXPECT_FALSE(log_.Exists());
  auto latest = log_.LatestVersion();
  ASSERT_FALSE(latest.ok());
  EXPECT_TRUE(latest.status().IsNotFound());
  EXPECT_TRUE(log_.LoadSnapshot().status().IsNotFound());
}

TEST_F(DeltaLogTest, ReplaysCommitsIntoSnapshots) {
  WriteThreeVersions();
  EXPECT_TRUE(log_.Exists());
  EXPECT_EQ(*log_.LatestVersion(), 2);

  auto latest = log_.LoadSnapshot();
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->timestamp_millis, 3000);
  ASSERT_EQ(latest->files.size(), 2u);
  EXPECT_EQ(latest->files[0].path, "b.parquet");
  EXPECT_EQ(latest->files[1].path, "c.parquet");
  EXPECT_EQ(latest->NumRecords(), 4);
  EXPECT_EQ(latest->SizeBytes(), 200);
  ASSERT_EQ(latest->tombstones.size(), 1u);
  EXPECT_EQ(latest->tombstones[0].path, "a.parquet");
  EXPECT_EQ(latest->app_versions.at("app"), 5);
  EXPECT_EQ(latest->metadata.id, "table-id");
  EXPECT_EQ(latest->schema.Names(), std::vector<std::string>{"id"});

  auto v1 = log_.LoadSnapshot(1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->files.size(), 2u);
  EXPECT_EQ(v1->NumRecords(), 5);
  EXPECT_TRUE(v1->tombstones.empty());

  auto missing = log_.LoadSnapshot(7);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find("0 to 2"), std::string::npos)
      << missing.status().message();
}

TEST_F(DeltaLogTest, TracksSchemaOfEachFile) {
  WriteThreeVersions();
  CommitActions v3 = Commit(4000, "WRITE");
  Metadata md = *CreateCommit().metadata;
  md.schema_string = kSchemaV1;
  v3.metadata = md;
  v3.adds = {MakeAdd("d.parquet", 1)};
  ASSERT_TRUE(log_.WriteCommit(3, v3).ok());
  auto snap = log_.LoadSnapshot();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->schema_history.size(), 2u);
  EXPECT_EQ(snap->schema.Names(), (std::vector<std::string>{"id", "note"}));
  ASSERT_EQ(snap->files.size(), 3u);
  EXPECT_EQ(snap->file_schema_index, (std::vector<int>{0, 0, 1}));
}

TEST_F(DeltaLogTest, LosingACommitRaceIsAlreadyExists) {
  ASSERT_TRUE(log_.WriteCommit(0, CreateCommit()).ok());
  CommitActions mine = Commit(2000, "WRITE");
  mine.adds = {MakeAdd("mine.parquet", 1)};
  CommitActions theirs = Commit(2000, "WRITE");
  theirs.adds = {MakeAdd("theirs.parquet", 1)};
  ASSERT_TRUE(log_.WriteCommit(1, theirs).ok());
  Status lost = log_.WriteCommit(1, mine);
  ASSERT_FALSE(lost.ok());
  EXPECT_TRUE(lost.IsAlreadyExists()) << lost.ToString();
  EXPECT_NE(lost.message().find("version 1"), std::string::npos);
  auto snap = log_.LoadSnapshot();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->files.size(), 1u);
  EXPECT_EQ(snap->files[0].path, "theirs.parquet");
}

TEST_F(DeltaLogTest, ConcurrentWritersOfOneVersionHaveOneWinner) {
  ASSERT_TRUE(log_.WriteCommit(0, CreateCommit()).ok());
  constexpr int kWriters = 8;
  std::vector<Status> results(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      DeltaLog mine(fs_, dir_.path(), nullptr);
      CommitActions a = Commit(2000, "WRITE");
      a.adds = {MakeAdd("w" + std::to_string(i) + ".parquet", 1)};
      results[i] = mine.WriteCommit(1, a);
    });
  }
  for (auto& t : threads) t.join();
  int winners = 0;
  for (const auto& st : results) {
    if (st.ok()) {
      ++winners;
    } else {
      EXPECT_TRUE(st.IsAlreadyExists()) << st.ToString();
    }
  }
  EXPECT_EQ(winners, 1);
  auto snap = log_.LoadSnapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->files.size(), 1u);
}

TEST_F(DeltaLogTest, RefusesCommitAfterMissingVersion) {
  ASSERT_TRUE(log_.WriteCommit(0, CreateCommit()).ok());
  Status skipped = log_.WriteCommit(2, Commit(1, "WRITE"));
  EXPECT_TRUE(skipped.IsInvalidArgument()) << skipped.ToString();
}

TEST_F(DeltaLogTest, RejectsGap) {
  WriteThreeVersions();
  ASSERT_TRUE(fs_->RemoveFile(JoinPath(log_.log_dir(), CommitFileName(1))).ok());
  auto snap = log_.LoadSnapshot();
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), Status::Code::kCorruption);
  EXPECT_NE(snap.status().message().find("version 1"), std::string::npos)
      << snap.status().message();
  // Versions before the gap still load.
  EXPECT_TRUE(log_.LoadSnapshot(0).ok());
}

TEST_F(DeltaLogTest, IgnoresTemporaryAndForeignFiles) {
  WriteThreeVersions();
  const std::string junk = "not json at all";
  ASSERT_TRUE(fs_->CreateDirs(JoinPath(log_.log_dir(), ".tmp")).ok());
  ASSERT_TRUE(
      fs_->WriteFile(JoinPath(log_.log_dir(), ".tmp/00000000000000000003.json"), junk).ok());
  WriteRaw(".00000000000000000003.json.crc", junk);
  WriteRaw("00000000000000000003.json.tmp", junk);
  WriteRaw("0000000000000000003.json", junk);    // 19 digits
  WriteRaw("000000000000000000003.json", junk);  // 21 digits
  WriteRaw("0000000000000000000x.json", junk);
  EXPECT_EQ(*log_.LatestVersion(), 2);
  auto snap = log_.LoadSnapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->version, 2);
  auto versions = log_.ListCommitVersions();
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ(*versions, (std::vector<int64_t>{0, 1, 2}));
}

TEST_F(DeltaLogTest, MalformedCommitNamesFileAndLine) {
  WriteThreeVersions();
  WriteRaw(CommitFileName(3), "{\"commitInfo\":{\"timestamp\":5}}\n{\"add\": oops}\n");
  auto snap = log_.LoadSnapshot();
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), Status::Code::kCorruption);
  EXPECT_NE(snap.status().message().find("00000000000000000003.json line 2"), std::string::npos)
      << snap.status().message();
}

TEST_F(DeltaLogTest, MissingMetadataIsCorruption) {
  WriteRaw(CommitFileName(0), "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n");
  auto snap = log_.LoadSnapshot();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.status().message().find("metaData"), std::string::npos);
}

TEST_F(DeltaLogTest, RefusesNewerReaderVersion) {
  CommitActions create = CreateCommit();
  create.protocol->min_reader_version = 3;
  ASSERT_TRUE(log_.WriteCommit(0, create).ok());
  auto snap = log_.LoadSnapshot();
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), Status::Code::kNotSupported);
}

TEST_F(DeltaLogTest, HistoryIsNewestFirst) {
  WriteThreeVersions();
  auto history = log_.History();
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].version, 2);
  EXPECT_EQ((*history)[0].info.operation, "DELETE");
  EXPECT_EQ((*history)[0].timestamp_millis, 3000);
  EXPECT_EQ((*history)[2].info.operation, "CREATE TABLE");
  auto limited = log_.History(1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].version, 2);
}

TEST_F(DeltaLogTest, TimeTravelByCommitTimestamp) {
  WriteThreeVersions();
  EXPECT_EQ(log_.LoadSnapshotAt(2000)->version, 1);
  EXPECT_EQ(log_.LoadSnapshotAt(2999)->version, 1);
  EXPECT_EQ(log_.LoadSnapshotAt(3000)->version, 2);
  EXPECT_EQ(log_.LoadSnapshotAt(999999)->version, 2);
  EXPECT_EQ(log_.LoadSnapshotAt(1000)->version, 0);
  auto before = log_.LoadSnapshotAt(999);
  ASSERT_FALSE(before.ok());
  EXPECT_TRUE(before.status().IsNotFound());
}

TEST_F(DeltaLogTest, TimeTravelFindsEveryVersionAmongMany) {
  ASSERT_TRUE(log_.WriteCommit(0, CreateCommit()).ok());
  for (int v = 1; v < 37; ++v) {
    CommitActions a = Commit(1000 * (v + 1), "WRITE");
    a.adds = {MakeAdd("f" + std::to_string(v) + ".parquet", 1)};
    ASSERT_TRUE(log_.WriteCommit(v, a).ok());
  }
  for (int v = 0; v < 37; ++v) {
    auto at = log_.LoadSnapshotAt(1000 * (v + 1) + 500);
    ASSERT_TRUE(at.ok()) << at.status().ToString();
    EXPECT_EQ(at->version, v);
    EXPECT_EQ(at->timestamp_millis, 1000 * (v + 1));
    EXPECT_EQ(log_.LoadSnapshotAt(1000 * (v + 1))->version, v);
  }
}

TEST_F(DeltaLogTest, TimeTravelFallsBackToFileTimes) {
  // A foreign writer may leave out commitInfo; the commit file's modification time stands in.
  WriteRaw(CommitFileName(0),
           std::string(R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})") + "\n" +
               SerializeCommit(CreateCommit())
                   .substr(SerializeCommit(CreateCommit()).find("{\"metaData")));
  auto info = fs_->Stat(JoinPath(log_.log_dir(), CommitFileName(0)));
  ASSERT_TRUE(info.ok());
  auto at = log_.LoadSnapshotAt(info->mtime_millis);
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_EQ(at->version, 0);
  EXPECT_EQ(at->timestamp_millis, info->mtime_millis);
  EXPECT_TRUE(log_.LoadSnapshotAt(info->mtime_millis - 1).status().IsNotFound());
}

TEST_F(DeltaLogTest, ReadCommitOfMissingVersionIsNotFound) {
  WriteThreeVersions();
  auto commit = log_.ReadCommit(1);
  ASSERT_TRUE(commit.ok());
  EXPECT_EQ(commit->adds.size(), 2u);
  auto missing = log_.ReadCommit(9);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound());
}

// Counts the commit files read and the folders listed.
class CountingFileSystem : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  Result<std::string> ReadFile(const std::string& path) override {
    if (path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0) ++commit_reads;
    return FileSystemWrapper::ReadFile(path);
  }
  Result<std::vector<FileInfo>> ListDir(const std::string& path) override {
    ++listings;
    return FileSystemWrapper::ListDir(path);
  }
  int commit_reads = 0;
  int listings = 0;
};

std::vector<std::string> Paths(const Snapshot& snap) {
  std::vector<std::string> out;
  for (const auto& f : snap.files) out.push_back(f.path);
  for (const auto& t : snap.tombstones) out.push_back("-" + t.path);
  return out;
}

TEST_F(DeltaLogTest, ExistsDoesNotListTheLog) {
  WriteThreeVersions();
  auto counting = std::make_shared<CountingFileSystem>(fs_);
  DeltaLog log(counting, dir_.path(), nullptr);
  EXPECT_TRUE(log.Exists());
  EXPECT_EQ(counting->listings, 0);
}

TEST_F(DeltaLogTest, ACachedSnapshotReadsOnlyTheCommitsSinceIt) {
  WriteThreeVersions();
  auto counting = std::make_shared<CountingFileSystem>(fs_);
  SnapshotCache cache;
  DeltaLog cached(counting, dir_.path(), nullptr, &cache);
  ASSERT_TRUE(cached.LoadSnapshot().ok());
  EXPECT_EQ(counting->commit_reads, 3);

  counting->commit_reads = 0;
  auto again = cached.LoadSnapshot();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->version, 2);
  EXPECT_EQ(again->timestamp_millis, 3000);
  EXPECT_EQ(Paths(*again), (std::vector<std::string>{"b.parquet", "c.parquet", "-a.parquet"}));
  EXPECT_EQ(counting->commit_reads, 1);  // whether version 3 exists

  // Another writer's commit (log_ has no cache) is seen by the next load, which reads it alone.
  CommitActions v3 = Commit(4000, "WRITE");
  Metadata md = *CreateCommit().metadata;
  md.schema_string = kSchemaV1;
  v3.metadata = md;
  v3.adds = {MakeAdd("d.parquet", 7)};
  v3.txns.push_back(Txn{"app", 6, std::nullopt});
  ASSERT_TRUE(log_.WriteCommit(3, v3).ok());
  counting->commit_reads = 0;
  auto after = cached.LoadSnapshot();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(counting->commit_reads, 2);  // version 3, and whether version 4 exists
  auto plain = log_.LoadSnapshot();
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(after->version, 3);
  EXPECT_EQ(after->timestamp_millis, 4000);
  EXPECT_EQ(Paths(*after), Paths(*plain));
  EXPECT_EQ(after->file_schema_index, plain->file_schema_index);
  EXPECT_EQ(after->schema.Names(), plain->schema.Names());
  EXPECT_EQ(after->schema_history.size(), plain->schema_history.size());
  EXPECT_EQ(after->app_versions, plain->app_versions);
  EXPECT_EQ(after->NumRecords(), 11);

  // A version named explicitly: past ones load as without the cache, a newer one is replayed
  // from it, one that does not exist is NotFound as before.
  EXPECT_EQ(cached.LoadSnapshot(1)->NumRecords(), 5);
  EXPECT_EQ(cached.LoadSnapshot(3)->NumRecords(), 11);
  EXPECT_TRUE(cached.LoadSnapshot(4).status().IsNotFound());
}

TEST_F(DeltaLogTest, ACachedSnapshotOfATableMadeAgainIsNotUsed) {
  WriteThreeVersions();
  SnapshotCache cache;
  DeltaLog cached(fs_, dir_.path(), nullptr, &cache);
  ASSERT_EQ(cached.LoadSnapshot()->files.size(), 2u);
  // Another writer drops the table and makes it again, up to the same version.
  ASSERT_TRUE(fs_->RemoveAll(log_.log_dir()).ok());
  ASSERT_TRUE(log_.WriteCommit(0, CreateCommit()).ok());
  CommitActions v1 = Commit(2500, "WRITE");
  v1.adds = {MakeAdd("x.parquet", 9)};
  ASSERT_TRUE(log_.WriteCommit(1, v1).ok());
  CommitActions v2 = Commit(2600, "WRITE");
  v2.adds = {MakeAdd("y.parquet", 1)};
  ASSERT_TRUE(log_.WriteCommit(2, v2).ok());
  auto snap = cached.LoadSnapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(Paths(*snap), (std::vector<std::string>{"x.parquet", "y.parquet"}));
}

}  // namespace
}  // namespace dew::lake
