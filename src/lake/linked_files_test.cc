// A table made from another table's files (DeltaTable::CreateFromFiles, OverwriteWithFiles: how
// a full refresh turns bronze's new files into silver's version) shares those files through hard
// links. The lake's rule that makes this safe: a data file is never written after its commit, and
// each table only ever removes its own names for its files. These tests hold every operation that
// removes or rewrites files (OVERWRITE, OPTIMIZE, RESTORE, VACUUM) to that rule, in both tables.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/file_system.h"
#include "core/id_generator.h"
#include "lake/actions.h"
#include "lake/delta_table.h"
#include "lake/lake_test_util.h"
#include "lake/table_optimizer.h"

namespace dew::lake {
namespace {

class LinkedFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.run_id = "run-1";
    options_.user = "tester";
  }
  std::string RowsOf(const Snapshot& snapshot) {
    return testing::SnapshotRows(engine_.con.get(), snapshot);
  }
  std::string LatestRows(DeltaTable& table) {
    auto snapshot = table.Latest();
    EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    return snapshot.ok() ? RowsOf(*snapshot) : "<error>";
  }
  // The source table ("bronze"): three appends, so three files.
  std::unique_ptr<DeltaTable> MakeSource() {
    auto made = DeltaTable::CreateAs(env_, dir_ + "/bronze", "bronze",
                                     "SELECT 1::BIGINT AS id, 'a' AS name", {}, options_);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (!made.ok()) return nullptr;
    for (const char* sql :
         {"SELECT 2::BIGINT AS id, 'b' AS name", "SELECT 3::BIGINT AS id, 'c' AS name"}) {
      auto appended = (*made)->Append(sql, options_);
      EXPECT_TRUE(appended.ok()) << appended.status().ToString();
    }
    return std::move(*made);
  }
  static std::vector<DeltaTable::ExistingFile> FilesOf(const Snapshot& snapshot) {
    std::vector<DeltaTable::ExistingFile> out;
    for (const auto& f : snapshot.files) {
      out.push_back({snapshot.table_root + "/" + DecodePath(f.path), f.stats});
    }
    return out;
  }
  static int Links(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_nlink) : -1;
  }

  testing::TempDir temp_;
  const std::string dir_ = temp_.path();
  testing::TestEngine engine_;
  // Wall-clock start, so that file times and commit times agree (vacuum compares both).
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(Clock::System()->NowMillis());
  IdGenerator ids_{42};
  TableEnv env_{FileSystem::Posix(), clock_, engine_.con.get(), &ids_};
  WriteOptions options_;
};

TEST_F(LinkedFilesTest, EachTableRemovesOnlyItsOwnNamesForSharedFiles) {
  auto source = MakeSource();
  ASSERT_NE(source, nullptr);
  auto source_v2 = source->Latest();
  ASSERT_TRUE(source_v2.ok());
  ASSERT_EQ(source_v2->files.size(), 3u);
  const std::string rows = "1,a|2,b|3,c";
  ASSERT_EQ(RowsOf(*source_v2), rows);

  auto linked = DeltaTable::CreateFromFiles(env_, dir_ + "/silver", "silver", source_v2->schema,
                                            FilesOf(*source_v2), options_);
  ASSERT_TRUE(linked.ok()) << linked.status().ToString();
  DeltaTable& silver = **linked;
  auto silver_v0 = silver.Latest();
  ASSERT_TRUE(silver_v0.ok());
  ASSERT_EQ(RowsOf(*silver_v0), rows);
  // Hard links where the file system has them (else FileSystem::Link copies): one inode, two names.
  const std::string shared = FilesOf(*silver_v0)[0].path;
  const int links = Links(shared);
  ASSERT_TRUE(links == 2 || links == 1) << shared;

  // The source replaces its rows and vacuums its old files away: the silver table keeps all.
  ASSERT_TRUE(
      source->Overwrite("SELECT 9::BIGINT AS id, 'z' AS name", std::nullopt, options_).ok());
  clock_->Advance(3600 * 1000);  // the removed files' tombstones age past the retention (0)
  auto vacuumed = source->Vacuum(0, /*force=*/true, /*dry_run=*/false);
  ASSERT_TRUE(vacuumed.ok()) << vacuumed.status().ToString();
  EXPECT_EQ(vacuumed->deleted.size(), 3u);
  EXPECT_EQ(LatestRows(*source), "9,z");
  EXPECT_EQ(LatestRows(silver), rows);
  if (links == 2) {
    EXPECT_EQ(Links(shared), 1) << "the source's name is gone, silver's stays";
  }

  // Silver compacts its linked files, restores the version before, and vacuums: every version
  // that is still live reads the same rows.
  OptimizeOptions compact;
  compact.target_file_size = 1 << 30;
  auto optimized = silver.Optimize(compact, options_);
  ASSERT_TRUE(optimized.ok()) << optimized.status().ToString();
  auto silver_v1 = silver.Latest();
  ASSERT_TRUE(silver_v1.ok());
  EXPECT_EQ(silver_v1->files.size(), 1u);
  EXPECT_EQ(RowsOf(*silver_v1), rows);
  auto restored = silver.Restore(0, options_);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(LatestRows(silver), rows);
  clock_->Advance(3600 * 1000);
  auto silver_vacuumed = silver.Vacuum(0, /*force=*/true, /*dry_run=*/false);
  ASSERT_TRUE(silver_vacuumed.ok()) << silver_vacuumed.status().ToString();
  EXPECT_EQ(silver_vacuumed->deleted.size(), 1u) << "only OPTIMIZE's file is no longer live";
  EXPECT_EQ(LatestRows(silver), rows);
  EXPECT_EQ(LatestRows(*source), "9,z");
}

TEST_F(LinkedFilesTest, OverwriteWithFilesOfOtherColumnsWritesNothing) {
  auto source = MakeSource();
  ASSERT_NE(source, nullptr);
  auto snapshot = source->Latest();
  ASSERT_TRUE(snapshot.ok());
  auto target = DeltaTable::CreateAs(env_, dir_ + "/target", "target",
                                     "SELECT 1::BIGINT AS id, 2::INTEGER AS qty", {}, options_);
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  auto before = (*target)->Latest();
  ASSERT_TRUE(before.ok());

  auto wrong = (*target)->OverwriteWithFiles(
      FilesOf(*snapshot), "SELECT 5::BIGINT AS id, 6::INTEGER AS qty WHERE false", options_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(wrong.status().IsInvalidArgument()) << wrong.status().ToString();
  EXPECT_NE(wrong.status().message().find("target"), std::string::npos)
      << wrong.status().ToString();
  auto after = (*target)->Latest();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->version, before->version);
  EXPECT_EQ(RowsOf(*after), "1,2");
  auto listed = FileSystem::Posix()->ListRecursive(dir_ + "/target");
  ASSERT_TRUE(listed.ok());
  int parquet = 0;
  for (const auto& f : *listed) {
    parquet += f.name.size() > 8 && f.name.substr(f.name.size() - 8) == ".parquet";
  }
  EXPECT_EQ(parquet, 1) << "no file linked or written by the failed overwrite";
}

// An upsert whose new rows are exactly another table's files (MergeOptions::source_files: how
// silver takes an incremental read's bronze files) links them; files that are not exactly the
// source's rows, or not of the table's columns, are written as usual.
TEST_F(LinkedFilesTest, AMergeLinksSourceFilesOnlyWhenTheyHoldExactlyItsRows) {
  auto target = DeltaTable::CreateAs(env_, dir_ + "/target", "target",
                                     "SELECT range::BIGINT AS id, 'old' AS name FROM range(1, 6)",
                                     {}, options_);
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  DeltaTable& table = **target;
  ASSERT_TRUE(table.EnableDeletionVectors(options_).ok());
  auto batch = DeltaTable::CreateAs(env_, dir_ + "/batch", "batch",
                                    "SELECT * FROM (VALUES (2::BIGINT, 'new'), (7, 'new')) "
                                    "t(id, name)",
                                    {}, options_);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  auto batch_snapshot = (*batch)->Latest();
  ASSERT_TRUE(batch_snapshot.ok());
  const auto files = FilesOf(*batch_snapshot);
  ASSERT_EQ(files.size(), 1u);
  const std::string batch_sql = "SELECT * FROM read_parquet('" + files[0].path + "')";
  // The names the newest commit added.
  auto added_links = [&]() {
    std::vector<int> out;
    auto snapshot = table.Latest();
    EXPECT_TRUE(snapshot.ok());
    auto commit = table.log().ReadCommit(snapshot->version);
    EXPECT_TRUE(commit.ok());
    for (const auto& add : commit->adds) {
      if (!add.deletion_vector) out.push_back(Links(dir_ + "/target/" + DecodePath(add.path)));
    }
    return out;
  };

  MergeOptions merge;
  merge.source_unique_and_stable = true;
  merge.source_files = files;
  // Fewer rows than the files hold: written.
  auto part = table.Merge(batch_sql + " WHERE id = 7", {"id"}, options_, merge);
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  EXPECT_EQ(added_links(), std::vector<int>{1});
  // Exactly the files' rows: linked, the replaced row marked in a DV.
  auto linked = table.Merge(batch_sql, {"id"}, options_, merge);
  ASSERT_TRUE(linked.ok()) << linked.status().ToString();
  EXPECT_EQ(linked->rows_added, 2);
  EXPECT_EQ(linked->rows_removed, 2);
  EXPECT_EQ(added_links(), std::vector<int>{2}) << "one inode: the batch's name and the target's";
  EXPECT_EQ(LatestRows(table), "1,old|2,new|3,old|4,old|5,old|7,new");
  EXPECT_EQ(LatestRows(**batch), "2,new|7,new");

  // Files of other columns (INTEGER ids) hold the same values: written, not linked.
  auto narrow = DeltaTable::CreateAs(env_, dir_ + "/narrow", "narrow",
                                     "SELECT 3::INTEGER AS id, 'narrow' AS name", {}, options_);
  ASSERT_TRUE(narrow.ok()) << narrow.status().ToString();
  auto narrow_snapshot = (*narrow)->Latest();
  ASSERT_TRUE(narrow_snapshot.ok());
  merge.source_files = FilesOf(*narrow_snapshot);
  auto written = table.Merge("SELECT 3::BIGINT AS id, 'narrow' AS name", {"id"}, options_, merge);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(added_links(), std::vector<int>{1});
  EXPECT_EQ(LatestRows(table), "1,old|2,new|3,narrow|4,old|5,old|7,new");
}

}  // namespace
}  // namespace dew::lake
