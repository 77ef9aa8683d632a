// OPTIMIZE (DeltaTable::Optimize and its plan) and table properties: small files are packed,
// deletion vectors applied, rows never change, and concurrent writers are told apart as Delta
// does (a removed input file conflicts, an append does not).
#include "lake/table_optimizer.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>

#include "core/clock.h"
#include "core/id_generator.h"
#include "lake/auto_compaction.h"
#include "lake/conformance.h"
#include "lake/delta_table.h"
#include "lake/lake_test_util.h"
#include "lake/table_properties.h"
#include "lake/table_scan.h"

namespace dew::lake {
namespace {

constexpr int64_t kDay = 24LL * 3600 * 1000;

// Runs a hook just before the next commit file is created, to lose a race on purpose, and
// counts the deletion vector files read through it.
class HookFileSystem : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  std::function<void()> before_commit;
  int dv_reads = 0;

  Status CreateExclusive(const std::string& path, const std::string& contents) override {
    if (before_commit && path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
      auto hook = std::move(before_commit);
      before_commit = nullptr;
      hook();
    }
    return FileSystemWrapper::CreateExclusive(path, contents);
  }
  Result<std::string> ReadFile(const std::string& path) override {
    if (path.find("deletion_vector_") != std::string::npos) ++dv_reads;
    return FileSystemWrapper::ReadFile(path);
  }
};

class TableOptimizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() + "/table";
    clock_ = std::make_shared<ManualClock>(Clock::System()->NowMillis());
    env_ = TableEnv{fs_, clock_, engine_.con.get(), &ids_};
    options_.run_id = "run-1";
  }
  void TearDown() override {
    if (table_ != nullptr) {
      Status valid = ValidateDeltaLog(*FileSystem::Posix(), root_, engine_.con.get());
      EXPECT_TRUE(valid.ok()) << valid.ToString();
    }
  }

  void Create(const std::vector<std::string>& partitions = {}) {
    auto table = DeltaTable::Create(
        env_, root_, "t",
        Schema({Field{"id", "long", true, "{}"}, Field{"name", "string", true, "{}"},
                Field{"p", "string", true, "{}"}}),
        partitions, options_);
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    table_ = std::move(*table);
  }

  // Appends ids [from, to) in partition `p`, one file.
  void Append(int from, int to, const std::string& p = "a") {
    auto r =
        table_->Append("SELECT range AS id, 'n' || range AS name, '" + p + "' AS p FROM range(" +
                           std::to_string(from) + ", " + std::to_string(to) + ")",
                       options_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // Row count and an order-independent checksum of every column at a version.
  std::string Checksum(std::optional<int64_t> version = std::nullopt) {
    auto snapshot = table_->log().LoadSnapshot(version);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    if (!snapshot.ok()) return "<error>";
    auto scan = ScanSql(*fs_, *snapshot);
    EXPECT_TRUE(scan.ok()) << scan.status().ToString();
    if (!scan.ok()) return "<error>";
    auto rows = engine_.con->QueryText(
        "SELECT count(*) || '|' || sum(id) || '|' || bit_xor(hash(id, name, p)) FROM (" + *scan +
        ")");
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? rows->rows[0][0].value_or("NULL") : "<error>";
  }

  Snapshot Latest() {
    auto s = table_->Latest();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : Snapshot{};
  }

  // The same table opened by another writer (its own connection, the plain file system), to
  // commit from inside a hook of ours.
  std::unique_ptr<DeltaTable> OpenOther() {
    TableEnv other_env{FileSystem::Posix(), clock_, other_engine_.con.get(), &ids_};
    auto other = DeltaTable::Open(other_env, root_);
    EXPECT_TRUE(other.ok()) << other.status().ToString();
    return other.ok() ? std::move(*other) : nullptr;
  }

  OptimizeResult Optimize(const OptimizeOptions& o = {}) {
    auto r = table_->Optimize(o, options_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : OptimizeResult{};
  }

  testing::TempDir dir_;
  testing::TestEngine engine_;
  testing::TestEngine other_engine_;
  std::string root_;
  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<HookFileSystem> fs_ = std::make_shared<HookFileSystem>(FileSystem::Posix());
  IdGenerator ids_{11};
  TableEnv env_;
  WriteOptions options_;
  std::unique_ptr<DeltaTable> table_;
};

TEST_F(TableOptimizerTest, PacksSmallFilesIntoOneWithoutChangingRows) {
  Create();
  for (int i = 0; i < 8; ++i) Append(i * 100, i * 100 + 100);
  ASSERT_EQ(Latest().files.size(), 8u);
  const std::string before = Checksum();
  const int64_t version = Latest().version;

  OptimizeResult r = Optimize();
  ASSERT_TRUE(r.committed);
  EXPECT_EQ(r.version, version + 1);
  EXPECT_EQ(r.metrics.at("numAddedFiles"), "1");
  EXPECT_EQ(r.metrics.at("numRemovedFiles"), "8");
  EXPECT_EQ(r.metrics.at("numOutputRows"), "800");
  EXPECT_EQ(r.metrics.at("numDeletionVectorsRemoved"), "0");
  EXPECT_EQ(Latest().files.size(), 1u);
  EXPECT_EQ(Checksum(), before);
  EXPECT_EQ(Latest().NumRecords(), 800);

  auto commit = table_->log().ReadCommit(r.version);
  ASSERT_TRUE(commit.ok());
  EXPECT_EQ(commit->commit_info->operation, "OPTIMIZE");
  EXPECT_EQ(commit->commit_info->operation_parameters.at("predicate"), "[]");
  EXPECT_EQ(commit->commit_info->operation_parameters.at("auto"), "false");
  EXPECT_EQ(commit->commit_info->is_blind_append, false);
  for (const auto& add : commit->adds) EXPECT_FALSE(add.data_change);
  for (const auto& remove : commit->removes) EXPECT_FALSE(remove.data_change);
  EXPECT_EQ(commit->removes.size(), 8u);

  // A compacted table has nothing left to do: no commit.
  OptimizeResult again = Optimize();
  EXPECT_FALSE(again.committed);
  EXPECT_EQ(again.version, r.version);
  EXPECT_TRUE(again.metrics.empty());
  EXPECT_EQ(Latest().version, r.version);
}

TEST_F(TableOptimizerTest, AppliesDeletionVectorsAndDropsTheDeletedRows) {
  Create();
  ASSERT_TRUE(table_->EnableDeletionVectors(options_).ok());
  Append(0, 1000);
  Append(1000, 1100);
  ASSERT_TRUE(table_->DeleteWhere("id % 10 = 3", options_).ok());
  ASSERT_TRUE(table_->Merge("SELECT 5 AS id, 'changed' AS name, 'a' AS p", {"id"}, options_).ok());
  int dvs = 0;
  for (const auto& f : Latest().files) dvs += f.deletion_vector.has_value();
  ASSERT_EQ(dvs, 2);
  const std::string before = Checksum();
  const int64_t before_version = Latest().version;

  OptimizeResult r = Optimize();
  ASSERT_TRUE(r.committed);
  EXPECT_EQ(r.metrics.at("numDeletionVectorsRemoved"), "2");
  EXPECT_EQ(r.metrics.at("numDeletionVectorRowsRemoved"), "111");  // 100 + 10 + 1 (id 5)
  EXPECT_EQ(r.metrics.at("numRemovedFiles"), "3");
  EXPECT_EQ(r.metrics.at("numAddedFiles"), "1");
  EXPECT_EQ(r.metrics.at("numOutputRows"), "990");
  Snapshot after = Latest();
  ASSERT_EQ(after.files.size(), 1u);
  EXPECT_FALSE(after.files[0].deletion_vector.has_value());
  EXPECT_EQ(after.files[0].NumRecords(), 990);  // stored rows: the deleted ones are gone
  EXPECT_EQ(Checksum(), before);
  // Time travel before the optimize reads the old files and their DVs.
  EXPECT_EQ(Checksum(before_version), before);
  // And a merge after it marks rows in the compacted file.
  ASSERT_TRUE(table_->Merge("SELECT 7 AS id, 'x' AS name, 'a' AS p", {"id"}, options_).ok());
  EXPECT_EQ(Latest().NumRecords(), 990);
}

TEST_F(TableOptimizerTest, LargeFilesWithFewDeletedRowsStay) {
  Create();
  ASSERT_TRUE(table_->EnableDeletionVectors(options_).ok());
  Append(0, 1000);
  ASSERT_TRUE(table_->DeleteWhere("id < 20", options_).ok());  // 2%, under Delta's 5%
  OptimizeOptions o;
  o.target_file_size = 1024;  // every file is large
  EXPECT_FALSE(Optimize(o).committed);
  ASSERT_TRUE(table_->DeleteWhere("id < 60", options_).ok());  // 6%
  const std::string before = Checksum();
  OptimizeResult r = Optimize(o);
  ASSERT_TRUE(r.committed);
  EXPECT_EQ(r.metrics.at("numDeletionVectorsRemoved"), "1");
  EXPECT_FALSE(Latest().files.at(0).deletion_vector.has_value());
  EXPECT_EQ(Checksum(), before);
}

TEST_F(TableOptimizerTest, WhereSelectsPartitionsAndRefusesOtherColumns) {
  Create({"p"});
  for (int i = 0; i < 3; ++i) Append(i * 10, i * 10 + 10, "a");
  for (int i = 3; i < 6; ++i) Append(i * 10, i * 10 + 10, "b");
  const std::string before = Checksum();
  OptimizeOptions o;
  o.where = "p = 'a'";
  OptimizeResult r = Optimize(o);
  ASSERT_TRUE(r.committed);
  EXPECT_EQ(r.metrics.at("numRemovedFiles"), "3");
  EXPECT_EQ(r.metrics.at("numPartitionsOptimized"), "1");
  int in_a = 0, in_b = 0;
  for (const auto& f : Latest().files) {
    (f.partition_values.at("p") == "a" ? in_a : in_b)++;
    EXPECT_EQ(f.path.rfind("p=" + *f.partition_values.at("p") + "/", 0), 0u) << f.path;
  }
  EXPECT_EQ(in_a, 1);
  EXPECT_EQ(in_b, 3);
  EXPECT_EQ(Checksum(), before);
  auto commit = table_->log().ReadCommit(r.version);
  ASSERT_TRUE(commit.ok());
  EXPECT_EQ(commit->commit_info->operation_parameters.at("predicate"), "[\"p = 'a'\"]");

  o.where = "id > 3";
  auto refused = table_->Optimize(o, options_);
  ASSERT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("partition columns"), std::string::npos)
      << refused.status().ToString();
  o.where = "nonsense_column = 1";
  EXPECT_TRUE(table_->Optimize(o, options_).status().IsInvalidArgument());
  EXPECT_EQ(Checksum(), before);
}

TEST_F(TableOptimizerTest, ConcurrentDvMergeOnAnInputFileConflicts) {
  Create();
  ASSERT_TRUE(table_->EnableDeletionVectors(options_).ok());
  for (int i = 0; i < 4; ++i) Append(i * 100, i * 100 + 100);
  std::unique_ptr<DeltaTable> other = OpenOther();
  ASSERT_NE(other, nullptr);
  fs_->before_commit = [&] {
    auto m = other->Merge("SELECT 150 AS id, 'new' AS name, 'a' AS p", {"id"}, options_);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
  };
  const size_t files_on_disk = FileSystem::Posix()->ListRecursive(root_)->size();
  auto lost = table_->Optimize({}, options_);
  ASSERT_TRUE(lost.status().IsConflict()) << lost.status().ToString();
  EXPECT_NE(lost.status().message().find("removed file"), std::string::npos)
      << lost.status().ToString();
  // The loser's packed file is gone; the merge's commit stands (one new data and DV file).
  EXPECT_EQ(FileSystem::Posix()->ListRecursive(root_)->size(), files_on_disk + 3);
  auto name = engine_.con->QueryScalar("SELECT name FROM (" + *ScanSql(*fs_, Latest()) +
                                       ") WHERE id = 150");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->value_or(""), "new");
  EXPECT_EQ(Latest().NumRecords(), 400);
  // Retried, it succeeds and keeps the merge's row.
  const std::string before = Checksum();
  EXPECT_TRUE(Optimize().committed);
  EXPECT_EQ(Checksum(), before);
}

TEST_F(TableOptimizerTest, ConcurrentAppendDoesNotConflict) {
  Create();
  for (int i = 0; i < 4; ++i) Append(i * 100, i * 100 + 100);
  std::unique_ptr<DeltaTable> other = OpenOther();
  ASSERT_NE(other, nullptr);
  fs_->before_commit = [&] {
    auto a = other->Append("SELECT 9999 AS id, 'late' AS name, 'a' AS p", options_);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
  };
  const int64_t read_version = Latest().version;
  OptimizeResult r = Optimize();
  ASSERT_TRUE(r.committed);
  EXPECT_EQ(r.version, read_version + 2);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(Latest().NumRecords(), 401);
  EXPECT_EQ(Latest().files.size(), 2u);  // the packed file and the late one
}

TEST_F(TableOptimizerTest, VacuumAfterOptimizeRemovesTheOldFilesAndDvs) {
  Create();
  ASSERT_TRUE(table_->EnableDeletionVectors(options_).ok());
  for (int i = 0; i < 3; ++i) Append(i * 100, i * 100 + 100);
  ASSERT_TRUE(table_->DeleteWhere("id = 1 OR id = 101", options_).ok());
  const int64_t before_optimize = Latest().version;
  const std::string rows = Checksum();
  ASSERT_TRUE(Optimize().committed);
  // Within the retention the old files stay and time travel reads them.
  auto kept = table_->Vacuum(168, false, false);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_TRUE(kept->deleted.empty());
  EXPECT_EQ(Checksum(before_optimize), rows);
  clock_->Advance(8 * kDay);
  auto vacuumed = table_->Vacuum(168, false, false);
  ASSERT_TRUE(vacuumed.ok()) << vacuumed.status().ToString();
  int dv_files = 0;
  for (const auto& f : vacuumed->deleted) dv_files += f.rfind("deletion_vector_", 0) == 0;
  EXPECT_EQ(vacuumed->deleted.size(), 4u);  // three data files and the one DV file
  EXPECT_EQ(dv_files, 1);
  EXPECT_EQ(Checksum(), rows);
  auto old = table_->log().LoadSnapshot(before_optimize);
  ASSERT_TRUE(old.ok());
  auto scan = ScanSql(*fs_, *old);
  EXPECT_FALSE(scan.ok() && engine_.con->QueryText("SELECT count(*) FROM (" + *scan + ")").ok());
}

TEST_F(TableOptimizerTest, RestoreRacingAnOptimizeConflicts) {
  Create();
  for (int i = 0; i < 3; ++i) Append(i * 100, i * 100 + 100);
  std::unique_ptr<DeltaTable> other = OpenOther();
  ASSERT_NE(other, nullptr);
  fs_->before_commit = [&] {
    auto o = other->Optimize({}, options_);
    EXPECT_TRUE(o.ok() && o->committed) << o.status().ToString();
  };
  // Restoring to version 2 (two files) removes the third; had the optimize's dataChange=false
  // removes been ignored, the packed file and the restored ones would both be live.
  auto restored = table_->Restore(2, options_);
  EXPECT_TRUE(restored.status().IsConflict()) << restored.status().ToString();
  EXPECT_EQ(Latest().NumRecords(), 300);
}

TEST_F(TableOptimizerTest, ScanReadsDeletionVectorsThroughTheFileSystemGiven) {
  Create();
  ASSERT_TRUE(table_->EnableDeletionVectors(options_).ok());
  Append(0, 100);
  ASSERT_TRUE(table_->DeleteWhere("id < 10", options_).ok());
  fs_->dv_reads = 0;
  auto scan = ScanSql(*fs_, Latest());
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  EXPECT_EQ(fs_->dv_reads, 1);
  auto count = engine_.con->QueryScalar("SELECT count(*) FROM (" + *scan + ")");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->value_or(""), "90");
}

TEST_F(TableOptimizerTest, TablePropertiesAreCheckedAndUsed) {
  Create();
  auto unknown =
      table_->SetProperties({{"delta.enableDeletionVector", "true"}}, {}, false, options_);
  ASSERT_TRUE(unknown.status().IsInvalidArgument());
  EXPECT_NE(unknown.status().message().find("'delta.enableDeletionVector'"), std::string::npos)
      << unknown.status().ToString();
  auto invalid = table_->SetProperties({{kAutoCompactProperty, "maybe"}}, {}, false, options_);
  ASSERT_TRUE(invalid.status().IsInvalidArgument());
  EXPECT_NE(invalid.status().message().find(kAutoCompactProperty), std::string::npos);
  EXPECT_TRUE(table_->SetProperties({{kTargetFileSizeProperty, "12 parsecs"}}, {}, false, options_)
                  .status()
                  .IsInvalidArgument());
  EXPECT_TRUE(
      table_->SetProperties({{kDeletedFileRetentionProperty, "7 days"}}, {}, false, options_)
          .status()
          .IsInvalidArgument());

  const int64_t version = Latest().version;
  auto set = table_->SetProperties({{kEnableDeletionVectorsProperty, "TRUE"},
                                    {kTargetFileSizeProperty, "1kb"},
                                    {kDeletedFileRetentionProperty, "interval 2 days"},
                                    {"owner", "finance"}},
                                   {}, false, options_);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->version, version + 1);
  Snapshot s = Latest();
  EXPECT_TRUE(s.protocol.HasWriterFeature(kDeletionVectorsFeature));
  EXPECT_EQ(s.metadata.configuration.at(kEnableDeletionVectorsProperty), "true");
  EXPECT_EQ(s.metadata.configuration.at("owner"), "finance");
  EXPECT_EQ(TargetFileSize(s.metadata), 1024);
  auto commit = table_->log().ReadCommit(set->version);
  ASSERT_TRUE(commit.ok());
  EXPECT_EQ(commit->commit_info->operation, "SET TBLPROPERTIES");
  // Setting the same again changes nothing: no commit.
  auto same = table_->SetProperties({{kTargetFileSizeProperty, "1kb"}}, {}, false, options_);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->attempts, 0);

  auto missing = table_->SetProperties({}, {kAutoCompactProperty}, false, options_);
  EXPECT_TRUE(missing.status().IsInvalidArgument()) << missing.status().ToString();
  auto unset = table_->SetProperties({}, {"owner", kAutoCompactProperty}, true, options_);
  ASSERT_TRUE(unset.ok()) << unset.status().ToString();
  EXPECT_EQ(Latest().metadata.configuration.count("owner"), 0u);
  commit = table_->log().ReadCommit(unset->version);
  ASSERT_TRUE(commit.ok());
  EXPECT_EQ(commit->commit_info->operation, "UNSET TBLPROPERTIES");

  // The table's target size drives the plan: 1 KB makes every file large.
  Append(0, 1000);
  Append(1000, 2000);
  EXPECT_FALSE(Optimize().committed);
}

TEST_F(TableOptimizerTest, AutoCompactionRunsWhenDueAndEnabled) {
  Create();
  AutoCompactThresholds due;
  due.min_small_files = 3;
  Append(0, 10);
  Append(10, 20);
  auto not_due = AutoCompact(*table_, /*default_on=*/true, options_, due);
  ASSERT_TRUE(not_due.ok()) << not_due.status().ToString();
  EXPECT_FALSE(not_due->has_value());
  Append(20, 30);
  // Off unless the table says so when the writer's default is off.
  auto off = AutoCompact(*table_, /*default_on=*/false, options_, due);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->has_value());
  const std::string before = Checksum();
  auto on = AutoCompact(*table_, /*default_on=*/true, options_, due);
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  ASSERT_TRUE(on->has_value());
  EXPECT_TRUE((*on)->committed);
  EXPECT_EQ(Latest().files.size(), 1u);
  EXPECT_EQ(Checksum(), before);
  auto commit = table_->log().ReadCommit((*on)->version);
  ASSERT_TRUE(commit.ok());
  EXPECT_EQ(commit->commit_info->operation_parameters.at("auto"), "true");
  // The table's property wins over the writer's default.
  ASSERT_TRUE(table_->SetProperties({{kAutoCompactProperty, "false"}}, {}, false, options_).ok());
  for (int i = 0; i < 3; ++i) Append(100 + i * 10, 110 + i * 10);
  auto disabled = AutoCompact(*table_, /*default_on=*/true, options_, due);
  ASSERT_TRUE(disabled.ok());
  EXPECT_FALSE(disabled->has_value());
}

// Tables other writers made (../shared/data/delta): one without statistics (delta-rs'
// simple_table), partitioned ones with and without null partitions. OPTIMIZE keeps their rows.
TEST(TableOptimizerGoldenTest, ForeignTablesKeepTheirRows) {
  for (const std::string table : {"delta-rs/simple_table", "delta-rs/delta-0.8.0-partitioned",
                                  "dat/multi_partitioned/delta", "dat/basic_append/delta"}) {
    SCOPED_TRACE(table);
    testing::TempDir dir;
    testing::TestEngine engine;
    IdGenerator ids{3};
    testing::CopyTree(std::string(DEW_SHARED_DIR) + "/data/delta/" + table, dir.path());
    TableEnv env{FileSystem::Posix(), Clock::System(), engine.con.get(), &ids};
    auto opened = DeltaTable::Open(env, dir.path());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto before = (*opened)->Latest();
    ASSERT_TRUE(before.ok()) << before.status().ToString();
    auto optimized = (*opened)->Optimize({}, WriteOptions{});
    ASSERT_TRUE(optimized.ok()) << optimized.status().ToString();
    auto after = (*opened)->Latest();
    ASSERT_TRUE(after.ok());
    const std::string old_rows = "(" + *ScanSql(*before) + ")";
    const std::string new_rows = "(" + *ScanSql(*after) + ")";
    for (const auto& [a, b] : {std::pair(old_rows, new_rows), std::pair(new_rows, old_rows)}) {
      auto extra = engine.con->QueryScalar("SELECT count(*) FROM (SELECT * FROM " + a +
                                           " EXCEPT ALL SELECT * FROM " + b + ")");
      ASSERT_TRUE(extra.ok()) << extra.status().ToString();
      EXPECT_EQ(extra->value_or(""), "0");
    }
    auto count = engine.con->QueryScalar("SELECT count(*) FROM " + new_rows);
    ASSERT_TRUE(count.ok());
    EXPECT_NE(count->value_or("0"), "0");
    // Unpartitioned with several small files: packed. (The partitioned ones hold one file per
    // partition: nothing to do.)
    if (before->metadata.partition_columns.empty() && before->files.size() > 1) {
      EXPECT_TRUE(optimized->committed);
    }
    Status valid = ValidateDeltaLog(*FileSystem::Posix(), dir.path(), engine.con.get());
    EXPECT_TRUE(valid.ok()) << valid.ToString();
  }
}

// The plan alone, on made-up files.
AddFile File(const std::string& path, int64_t size, const std::string& p = "a",
             int64_t records = 100, int64_t deleted = 0) {
  AddFile f;
  f.path = path;
  f.size = size;
  f.partition_values["p"] = p;
  f.stats = "{\"numRecords\":" + std::to_string(records) + "}";
  if (deleted > 0) {
    DeletionVectorDescriptor dv;
    dv.storage_type = "u";
    dv.path_or_inline_dv = path;
    dv.cardinality = deleted;
    f.deletion_vector = dv;
  }
  return f;
}

TEST(CompactionPlanTest, BinsPackSmallFilesBySizeWithinTheTarget) {
  Snapshot s;
  s.metadata.partition_columns = {"p"};
  s.files = {File("f10", 10),   File("f20", 20),    File("f30", 30),    File("f40", 40),
             File("f100", 100), File("g5", 5, "b"), File("h5", 5, "c"), File("h6", 6, "c", 100, 9)};
  OptimizeOptions o;
  o.target_file_size = 60;
  CompactionPlan plan = PlanCompaction(s, std::nullopt, o);
  EXPECT_EQ(plan.files_considered, 8);
  // a: {10,20,30} packed; 40 alone is left; 100 is not small. b: one file, left. c: two files.
  ASSERT_EQ(plan.bins.size(), 2u);
  EXPECT_EQ(plan.bins[0].paths, (std::set<std::string>{"f10", "f20", "f30"}));
  EXPECT_EQ(plan.bins[0].bytes, 60);
  EXPECT_EQ(plan.bins[1].paths, (std::set<std::string>{"h5", "h6"}));
  EXPECT_EQ(plan.bins[1].partition.at("p"), "c");

  // A lone file is rewritten only for its deletion vector, and only past the ratio.
  s.files = {File("big", 1000, "a", 100, 4), File("dv", 10, "b", 100, 1)};
  plan = PlanCompaction(s, std::nullopt, o);
  ASSERT_EQ(plan.bins.size(), 1u);
  EXPECT_EQ(plan.bins[0].paths, (std::set<std::string>{"dv"}));
  s.files[0] = File("big", 1000, "a", 100, 6);
  EXPECT_EQ(PlanCompaction(s, std::nullopt, o).bins.size(), 2u);
  // Only the considered files.
  EXPECT_EQ(PlanCompaction(s, std::set<std::string>{"dv"}, o).bins.size(), 1u);
}

TEST(CompactionPlanTest, AutoCompactionThresholds) {
  Snapshot s;
  AutoCompactThresholds t;
  t.min_small_files = 3;
  t.max_deleted_fraction = 0.1;
  s.files = {File("a", 10), File("b", 10, "a", 100, 5)};
  EXPECT_FALSE(AutoCompactReason(s, t).has_value());
  s.files.push_back(File("c", 10));
  EXPECT_TRUE(AutoCompactReason(s, t).has_value());
  s.files = {File("a", 1LL << 40, "a", 100, 11), File("b", 1LL << 40, "a", 100, 0)};
  EXPECT_FALSE(AutoCompactReason(s, t).has_value());  // 11 of 200
  s.files[1] = File("b", 1LL << 40, "a", 100, 10);
  ASSERT_TRUE(AutoCompactReason(s, t).has_value());  // 21 of 200
  EXPECT_NE(AutoCompactReason(s, t)->find("21 of 200"), std::string::npos);
}

TEST(TablePropertiesTest, SizesAndNames) {
  EXPECT_EQ(*ParseByteSize("134217728"), 134217728);
  EXPECT_EQ(*ParseByteSize("64mb"), 64LL << 20);
  EXPECT_EQ(*ParseByteSize("1 GB"), 1LL << 30);
  EXPECT_EQ(*ParseByteSize("512k"), 512LL << 10);
  EXPECT_FALSE(ParseByteSize("100").ok());  // under 1 KB
  EXPECT_FALSE(ParseByteSize("-5mb").ok());
  EXPECT_FALSE(ParseByteSize("lots").ok());
  EXPECT_EQ(CanonicalPropertyName("delta.enabledeletionvectors"), kEnableDeletionVectorsProperty);
  EXPECT_EQ(CanonicalPropertyName("Owner"), "Owner");
  EXPECT_EQ(*CheckTableProperty(kDeletedFileRetentionProperty, "interval 36 hours"),
            "interval 36 hours");
}

}  // namespace
}  // namespace dew::lake
