#include "lake/conformance.h"

#include <gtest/gtest.h>

#include "engine/connection.h"
#include "lake/delta_log.h"
#include "lake/lake_test_util.h"

namespace dew::lake {
namespace {

constexpr const char* kProtocol = R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})";
constexpr const char* kMetadata =
    R"({"metaData":{"id":"t1","format":{"provider":"parquet","options":{}},)"
    R"("schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},{\"name\":\"p\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}",)"
    R"("partitionColumns":["p"],"configuration":{},"createdTime":1}})";
constexpr const char* kInfo = R"({"commitInfo":{"timestamp":5,"operation":"WRITE"}})";

std::string Add(const std::string& path, const std::string& extra = "") {
  return R"({"add":{"path":")" + path +
         R"(","partitionValues":{"p":"a"},"size":10,"modificationTime":1,"dataChange":true,)"
         R"("stats":"{\"numRecords\":1}")" +
         extra + "}}";
}

std::string Remove(const std::string& path) {
  return R"({"remove":{"path":")" + path + R"(","deletionTimestamp":2,"dataChange":true}})";
}

class ConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = FileSystem::Posix();
    ASSERT_TRUE(fs_->CreateDirs(JoinPath(dir_.path(), "_delta_log")).ok());
    for (const char* f : {"p=a/f1.parquet", "p=a/f2.parquet", "p=a/f 3.parquet"}) {
      ASSERT_TRUE(fs_->CreateDirs(JoinPath(dir_.path(), "p=a")).ok());
      ASSERT_TRUE(fs_->WriteFile(JoinPath(dir_.path(), f), "PAR1").ok());
    }
  }

  void WriteCommit(int64_t version, const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    ASSERT_TRUE(
        fs_->WriteFile(JoinPath(dir_.path(), "_delta_log/" + CommitFileName(version)), text).ok());
  }

  void WriteGoodLog() {
    WriteCommit(0, {kInfo, kProtocol, kMetadata, Add("p=a/f1.parquet")});
    WriteCommit(1,
                {kInfo, Remove("p=a/f1.parquet"), Add("p=a/f2.parquet"), Add("p=a/f%203.parquet")});
  }

  // Validation fails with a message holding every one of `parts`.
  void ExpectProblem(const std::vector<std::string>& parts) {
    Status st = ValidateDeltaLog(*fs_, dir_.path(), engine_.con.get());
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Status::Code::kCorruption);
    for (const auto& p : parts) EXPECT_NE(st.message().find(p), std::string::npos) << st.message();
  }

  testing::TempDir dir_;
  testing::TestEngine engine_;
  std::shared_ptr<FileSystem> fs_;
};

TEST_F(ConformanceTest, GoodLogPasses) {
  WriteGoodLog();
  Status st = ValidateDeltaLog(*fs_, dir_.path(), engine_.con.get());
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_F(ConformanceTest, LogWrittenByDeltaLogWithCheckpointPasses) {
  WriteGoodLog();
  DeltaLog log(fs_, dir_.path(), engine_.con.get());
  auto snap = log.LoadSnapshot();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_TRUE(log.WriteCheckpoint(*snap).ok());
  CommitActions next;
  CommitInfo info;
  info.timestamp = 9;
  info.operation = "DELETE";
  next.commit_info = info;
  RemoveFile rm;
  rm.path = "p=a/f2.parquet";
  rm.deletion_timestamp = 9;
  next.removes.push_back(rm);
  ASSERT_TRUE(log.WriteCommit(2, next).ok());
  Status st = ValidateDeltaLog(*fs_, dir_.path(), engine_.con.get());
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_F(ConformanceTest, CleanedUpLogStartsAtACheckpoint) {
  WriteGoodLog();
  DeltaLog log(fs_, dir_.path(), engine_.con.get());
  auto snap = log.LoadSnapshot();
  ASSERT_TRUE(snap.ok());
  ASSERT_TRUE(log.WriteCheckpoint(*snap).ok());
  WriteCommit(2, {kInfo, Remove("p=a/f2.parquet")});
  for (int v : {0, 1}) {
    ASSERT_TRUE(fs_->RemoveFile(JoinPath(dir_.path(), "_delta_log/" + CommitFileName(v))).ok());
  }
  Status st = ValidateDeltaLog(*fs_, dir_.path(), engine_.con.get());
  EXPECT_TRUE(st.ok()) << st.ToString();

  ASSERT_TRUE(fs_->RemoveFile(JoinPath(dir_.path(), "_delta_log/" + CheckpointFileName(1))).ok());
  ExpectProblem({"commits start at version 2 with no checkpoint at version 1"});
}

TEST_F(ConformanceTest, Gap) {
  WriteGoodLog();
  WriteCommit(3, {kInfo});
  ExpectProblem({"version 2 is missing"});
}

TEST_F(ConformanceTest, LineWithTwoActions) {
  WriteCommit(0, {kInfo, R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2},"txn":{}})",
                  kMetadata});
  ExpectProblem({CommitFileName(0) + " line 2", "exactly one key"});
}

TEST_F(ConformanceTest, MalformedLine) {
  WriteCommit(0, {kInfo, kProtocol, kMetadata, "{\"add\": "});
  ExpectProblem({CommitFileName(0) + " line 4", "not a JSON object"});
}

TEST_F(ConformanceTest, VersionZeroWithoutProtocol) {
  WriteCommit(0, {kInfo, kMetadata});
  ExpectProblem({CommitFileName(0), "no protocol action"});
}

TEST_F(ConformanceTest, WrongProtocolVersion) {
  WriteCommit(0, {kInfo, R"({"protocol":{"minReaderVersion":2,"minWriterVersion":5}})", kMetadata});
  ExpectProblem({"line 2", "protocol.minReaderVersion must be 1"});
}

TEST_F(ConformanceTest, ReaderThreeNeedsTheDeletionVectorsFeature) {
  WriteCommit(0, {kInfo, R"({"protocol":{"minReaderVersion":3,"minWriterVersion":7}})", kMetadata});
  ExpectProblem({"line 2", "readerFeatures and writerFeatures"});
}

TEST_F(ConformanceTest, DeletionVectorNeedsTheFeatureAndItsFields) {
  WriteCommit(0, {kInfo, kProtocol, kMetadata,
                  R"({"add":{"path":"p=a/f1.parquet","partitionValues":{"p":"a"},"size":1,)"
                  R"("modificationTime":1,"dataChange":true,"stats":"{\"numRecords\":1}",)"
                  R"("deletionVector":{"storageType":"x","pathOrInlineDv":"a"}}})"});
  ExpectProblem({"line 4", "lacks the deletionVectors feature", "needs storageType"});
}

TEST_F(ConformanceTest, AddWithZeroSizeAndNoNumRecords) {
  WriteCommit(0, {kInfo, kProtocol, kMetadata,
                  R"({"add":{"path":"p=a/f1.parquet","partitionValues":{"p":"a"},"size":0,)"
                  R"("modificationTime":1,"dataChange":true,"stats":"{\"minValues\":{}}"}})"});
  ExpectProblem(
      {"line 4: add.size must be a number > 0", "line 4: add.stats has no integer numRecords"});
}

TEST_F(ConformanceTest, PartitionValuesMustNameThePartitionColumns) {
  WriteCommit(0, {kInfo, kProtocol, kMetadata,
                  R"({"add":{"path":"p=a/f1.parquet","partitionValues":{"q":"a"},"size":3,)"
                  R"("modificationTime":1,"dataChange":true}})"});
  ExpectProblem({"line 4", "add.partitionValues has keys [q] but the partition columns are [p]"});
}

TEST_F(ConformanceTest, PathAddedTwiceWhileLive) {
  WriteCommit(0, {kInfo, kProtocol, kMetadata, Add("p=a/f1.parquet")});
  WriteCommit(1, {kInfo, Add("p=a/f1.parquet")});
  ExpectProblem({CommitFileName(1) + " line 2", "already live (added in version 0"});
}

TEST_F(ConformanceTest, LiveFileMissing) {
  WriteCommit(0, {kInfo, kProtocol, kMetadata, Add("p=a/gone.parquet")});
  ExpectProblem({"live file 'p=a/gone.parquet' does not exist"});
}

TEST_F(ConformanceTest, AbsolutePath) {
  WriteCommit(0, {kInfo, kProtocol, kMetadata, Add("/etc/passwd")});
  ExpectProblem({"line 4: add.path '/etc/passwd' is not relative"});
}

TEST_F(ConformanceTest, MetadataFields) {
  WriteCommit(
      0,
      {kInfo, kProtocol,
       R"({"metaData":{"id":"t1","format":{"provider":"csv"},"schemaString":"{\"type\":\"struct\",\"fields\":[]}",)"
       R"("partitionColumns":["p"],"configuration":{}}})"});
  ExpectProblem({"line 3: metaData.format.provider must be \"parquet\"",
                 "metaData.partitionColumns names 'p', which is not a column",
                 "metaData.createdTime is missing"});
}

TEST_F(ConformanceTest, RemoveAndCommitInfoFields) {
  WriteCommit(0, {kInfo, kProtocol, kMetadata, Add("p=a/f1.parquet")});
  WriteCommit(1, {R"({"commitInfo":{"timestamp":5}})",
                  R"({"remove":{"path":"p=a/f1.parquet","dataChange":true}})"});
  ExpectProblem({CommitFileName(1) + " line 1: commitInfo.operation is missing",
                 CommitFileName(1) + " line 2: remove.deletionTimestamp is missing"});
}

TEST_F(ConformanceTest, UnknownAction) {
  WriteCommit(0, {kInfo, kProtocol, kMetadata, R"({"domainMetadata":{"domain":"x"}})"});
  ExpectProblem({"line 4: unknown action 'domainMetadata'"});
}

TEST_F(ConformanceTest, CheckpointMustMatchCommits) {
  WriteGoodLog();
  DeltaLog log(fs_, dir_.path(), engine_.con.get());
  auto snap = log.LoadSnapshot(0);  // the wrong state for a checkpoint of version 1
  ASSERT_TRUE(snap.ok());
  snap->version = 1;
  ASSERT_TRUE(log.WriteCheckpoint(*snap).ok());
  ExpectProblem(
      {CheckpointFileName(1), "holds 1 live files but the commits up to its version leave 2"});
}

TEST_F(ConformanceTest, GoldenTablesConform) {
  const std::string base = std::string(DEW_SHARED_DIR) + "/data/delta/";
  for (const std::string table :
       {"delta-rs/simple_table", "delta-rs/delta-0.8.0", "delta-rs/delta-0.8.0-partitioned",
        "delta-rs/simple_table_with_checkpoint", "dat/basic_append/delta",
        "dat/multi_partitioned/delta"}) {
    Status st = ValidateDeltaLog(*fs_, base + table, engine_.con.get());
    EXPECT_TRUE(st.ok()) << table << ": " << st.ToString();
  }
}

}  // namespace
}  // namespace dew::lake
