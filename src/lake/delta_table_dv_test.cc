// DeltaTable with deletion vectors: merge and delete mark rows instead of rewriting files, and
// every reader, time travel, checkpoint, vacuum and restore sees the same rows.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>

#include "core/clock.h"
#include "core/id_generator.h"
#include "lake/conformance.h"
#include "lake/delta_table.h"
#include "lake/lake_test_util.h"
#include "lake/table_scan.h"

namespace dew::lake {
namespace {

constexpr int64_t kDay = 24LL * 3600 * 1000;

// Runs a hook just before the next commit file is created, to lose a race on purpose.
class HookFileSystem : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  std::function<void()> before_commit;

  Status CreateExclusive(const std::string& path, const std::string& contents) override {
    if (before_commit && path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
      auto hook = std::move(before_commit);
      before_commit = nullptr;
      hook();
    }
    return FileSystemWrapper::CreateExclusive(path, contents);
  }
};

class DeltaTableDvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() + "/table";
    clock_ = std::make_shared<ManualClock>(Clock::System()->NowMillis());
    env_ = TableEnv{fs_, clock_, engine_.con.get(), &ids_};
    options_.run_id = "run-1";
    auto table = DeltaTable::Create(
        env_, root_, "t",
        Schema({Field{"id", "long", true, "{}"}, Field{"name", "string", true, "{}"}}), {},
        options_);
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    table_ = std::move(*table);
    // 1000 rows in one file.
    ASSERT_TRUE(table_->Append("SELECT range AS id, 'v0' AS name FROM range(1000)", options_).ok());
  }
  void TearDown() override {
    if (table_ != nullptr) {
      Status valid = ValidateDeltaLog(*FileSystem::Posix(), root_, engine_.con.get());
      EXPECT_TRUE(valid.ok()) << valid.ToString();
    }
  }

  void Enable() {
    auto enabled = table_->EnableDeletionVectors(options_);
    ASSERT_TRUE(enabled.ok()) << enabled.status().ToString();
  }

  // "count|sum(id)|names" of a version (latest when nullopt).
  std::string Summary(std::optional<int64_t> version = std::nullopt) {
    auto snapshot = table_->log().LoadSnapshot(version);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    if (!snapshot.ok()) return "<error>";
    auto scan = ScanSql(*snapshot);
    EXPECT_TRUE(scan.ok()) << scan.status().ToString();
    if (!scan.ok()) return "<error>";
    auto rows = engine_.con->QueryText(
        "SELECT count(*) || '|' || sum(id) || '|' || string_agg(DISTINCT name, ',' ORDER BY "
        "name) FROM (" +
        *scan + ")");
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? rows->rows[0][0].value_or("NULL") : "<error>";
  }

  Snapshot Latest() {
    auto s = table_->Latest();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : Snapshot{};
  }

  int DvFiles() {
    auto files = FileSystem::Posix()->ListDir(root_);
    int n = 0;
    if (files.ok()) {
      for (const auto& f : *files) n += f.name.rfind("deletion_vector_", 0) == 0;
    }
    return n;
  }

  testing::TempDir dir_;
  testing::TestEngine engine_;
  std::string root_;
  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<HookFileSystem> fs_ = std::make_shared<HookFileSystem>(FileSystem::Posix());
  IdGenerator ids_{7};
  TableEnv env_;
  WriteOptions options_;
  std::unique_ptr<DeltaTable> table_;
};

TEST_F(DeltaTableDvTest, EnablingUpgradesTheProtocolOnce) {
  Enable();
  Snapshot s = Latest();
  EXPECT_EQ(s.protocol.min_reader_version, 3);
  EXPECT_EQ(s.protocol.min_writer_version, 7);
  EXPECT_TRUE(s.protocol.HasReaderFeature(kDeletionVectorsFeature));
  EXPECT_EQ(s.metadata.configuration.at(kEnableDeletionVectorsProperty), "true");
  auto again = table_->EnableDeletionVectors(options_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->attempts, 0);
  EXPECT_EQ(again->version, s.version);
  EXPECT_EQ(Summary(), "1000|499500|v0");
}

TEST_F(DeltaTableDvTest, MergeMarksReplacedRowsAndWritesOnlyTheSource) {
  Enable();
  const std::string original = Latest().files.at(0).path;
  const int64_t before = Latest().version;
  // Every 100th key changes, and two new keys arrive.
  auto merged = table_->Merge(
      "SELECT id, 'v1' AS name FROM range(0, 1000, 100) t(id) UNION ALL SELECT 1000, 'v1' "
      "UNION ALL SELECT 1001, 'v1'",
      {"id"}, options_);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->rows_removed, 10);
  Snapshot s = Latest();
  ASSERT_EQ(s.files.size(), 2u);
  const AddFile* old = s.files[0].path == original ? &s.files[0] : &s.files[1];
  ASSERT_EQ(old->path, original);
  ASSERT_TRUE(old->deletion_vector.has_value());
  EXPECT_EQ(old->deletion_vector->cardinality, 10);
  EXPECT_EQ(old->NumRecords(), 1000);
  EXPECT_EQ(s.NumRecords(), 1002);
  EXPECT_EQ(DvFiles(), 1);
  EXPECT_EQ(Summary(), "1002|501501|v0,v1");
  // The version before the merge still shows the old rows.
  EXPECT_EQ(Summary(before), "1000|499500|v0");

  // A second merge over the same file unions its DV with the old one.
  auto again =
      table_->Merge("SELECT 1 AS id, 'v2' AS name UNION ALL SELECT 100, 'v2'", {"id"}, options_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  s = Latest();
  for (const auto& f : s.files) {
    if (f.path == original) {
      EXPECT_EQ(f.deletion_vector->cardinality, 11);
    }
  }
  EXPECT_EQ(Summary(), "1002|501501|v0,v1,v2");
  auto rows = engine_.con->QueryText("SELECT name FROM (" + *ScanSql(s) + ") WHERE id = 100");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->rows[0][0], "v2");
}

TEST_F(DeltaTableDvTest, DeleteMarksRowsAndDropsAFileWithNothingLeft) {
  Enable();
  auto deleted = table_->DeleteWhere("id < 10", options_);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->rows_removed, 10);
  EXPECT_EQ(Summary(), "990|499455|v0");
  ASSERT_EQ(Latest().files.size(), 1u);
  EXPECT_EQ(Latest().files[0].deletion_vector->cardinality, 10);
  // Deleting the rest removes the file instead of giving it a DV covering every row.
  auto rest = table_->DeleteWhere("id >= 5", options_);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(rest->rows_removed, 990);
  EXPECT_TRUE(Latest().files.empty());
  EXPECT_EQ(Summary(), "NULL");  // no rows: the concatenation of NULLs
}

TEST_F(DeltaTableDvTest, AColumnAddedAfterTheFileReadsAsNullThroughItsDv) {
  Enable();
  WriteOptions evolve = options_;
  evolve.merge_schema = true;
  auto merged = table_->Merge("SELECT 5 AS id, 'v1' AS name, 42 AS extra", {"id"}, evolve);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  auto rows =
      engine_.con->QueryText("SELECT count(*), count(extra) FROM (" + *ScanSql(Latest()) + ")");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->rows[0][0], "1000");
  EXPECT_EQ(rows->rows[0][1], "1");
}

TEST_F(DeltaTableDvTest, CheckpointsKeepDeletionVectors) {
  Enable();
  // Enough commits for a checkpoint at version 10.
  for (int i = 0; i < 9; ++i) {
    auto r = table_->DeleteWhere("id = " + std::to_string(i * 7), options_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  ASSERT_TRUE(FileSystem::Posix()->Exists(root_ + "/_delta_log/" + CheckpointFileName(10)));
  auto reopened = DeltaTable::Open(env_, root_);
  ASSERT_TRUE(reopened.ok());
  auto s = (*reopened)->Latest();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->files.size(), 1u);
  ASSERT_TRUE(s->files[0].deletion_vector.has_value());
  EXPECT_EQ(s->files[0].deletion_vector->cardinality, 9);
  EXPECT_EQ(s->NumRecords(), 991);
  EXPECT_TRUE(s->protocol.HasWriterFeature(kDeletionVectorsFeature));
}

TEST_F(DeltaTableDvTest, RacingDeletesInOneFileConflict) {
  Enable();
  testing::TestEngine other_engine;
  TableEnv other_env{FileSystem::Posix(), clock_, other_engine.con.get(), &ids_};
  auto other = DeltaTable::Open(other_env, root_);
  ASSERT_TRUE(other.ok());
  // The other writer commits a DV on the same file just before our commit is attempted.
  fs_->before_commit = [&] {
    auto r = (*other)->DeleteWhere("id = 1", options_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  };
  auto lost = table_->DeleteWhere("id = 2", options_);
  EXPECT_TRUE(lost.status().IsConflict()) << lost.status().ToString();
  EXPECT_EQ(DvFiles(), 1);  // the loser's DV file is gone
  EXPECT_EQ(Summary(), "999|499499|v0");
  auto retried = table_->DeleteWhere("id = 2", options_);
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(Latest().files[0].deletion_vector->cardinality, 2);
  EXPECT_EQ(Summary(), "998|499497|v0");
}

TEST_F(DeltaTableDvTest, VacuumKeepsLiveDvFilesAndRestoreBringsOldDvsBack) {
  Enable();
  ASSERT_TRUE(table_->DeleteWhere("id < 3", options_).ok());
  const int64_t first_dv = Latest().version;
  ASSERT_TRUE(table_->DeleteWhere("id = 500", options_).ok());
  EXPECT_EQ(DvFiles(), 2);
  // Within the retention nothing goes.
  auto kept = table_->Vacuum(168, false, false);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_TRUE(kept->deleted.empty());

  // Restore to the first DV's version: its DV (3 rows) is live again.
  auto restored = table_->Restore(first_dv, options_);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(Summary(), "997|499497|v0");
  EXPECT_EQ(Latest().files[0].deletion_vector->cardinality, 3);

  // Past the retention, the second DV's file (no longer referenced) goes; the live one stays.
  clock_->Advance(8 * kDay);
  auto vacuumed = table_->Vacuum(168, false, false);
  ASSERT_TRUE(vacuumed.ok()) << vacuumed.status().ToString();
  ASSERT_EQ(vacuumed->deleted.size(), 1u);
  EXPECT_EQ(vacuumed->deleted[0].rfind("deletion_vector_", 0), 0u) << vacuumed->deleted[0];
  EXPECT_EQ(DvFiles(), 1);
  EXPECT_EQ(Summary(), "997|499497|v0");
}

}  // namespace
}  // namespace dew::lake
