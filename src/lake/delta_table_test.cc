#include "lake/delta_table.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/file_system.h"
#include "engine/connection.h"
#include "engine/database.h"
#include "engine/query_result.h"
#include "lake/conformance.h"
#include "lake/lake_test_util.h"
#include "lake/table_scan.h"

namespace dew::lake {
namespace {

constexpr int64_t kDay = 24LL * 3600 * 1000;

std::string MakeTempDir() {
  char tmpl[] = "/tmp/dew_delta_table_XXXXXX";
  const char* made = mkdtemp(tmpl);
  EXPECT_NE(made, nullptr);
  return made ? made : "";
}

// Lets a test run another writer's commit just before ours is attempted, to lose a race on
// purpose.
class RacingFileSystem : public FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  std::function<void()> before_commit;  // run once, on the next commit attempt

  bool fail_commits = false;           // commit files cannot be created (a full disk)
  std::string fail_writes_containing;  // WriteFile of such paths fails

  std::vector<std::string> events;  // "sync <path>" and "create <path>", in order

  Status Sync(const std::string& path) override {
    events.push_back("sync " + path);
    return FileSystemWrapper::Sync(path);
  }
  Status CreateExclusive(const std::string& path, const std::string& contents) override {
    events.push_back("create " + path);
    if (before_commit && path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
      auto hook = std::move(before_commit);
      before_commit = nullptr;
      hook();
    }
    if (fail_commits) return Status::IOError("injected: cannot create " + path);
    return FileSystemWrapper::CreateExclusive(path, contents);
  }
  Status WriteFile(const std::string& path, const std::string& contents) override {
    if (!fail_writes_containing.empty() && path.find(fail_writes_containing) != std::string::npos) {
      return Status::IOError("injected: cannot write " + path);
    }
    return FileSystemWrapper::WriteFile(path, contents);
  }
};

class DeltaTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    root_ = dir_ + "/table";
    auto db = engine::Database::Open(engine::DatabaseOptions{});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto con = db_->Connect();
    ASSERT_TRUE(con.ok());
    con_ = std::move(*con);
    auto con2 = db_->Connect();
    ASSERT_TRUE(con2.ok());
    con2_ = std::move(*con2);
    fs_ = std::make_shared<RacingFileSystem>(FileSystem::Posix());
    // Wall-clock start so that file modification times and the manual clock agree.
    clock_ = std::make_shared<ManualClock>(Clock::System()->NowMillis());
    env_ = TableEnv{fs_, clock_, con_.get(), &ids_};
    options_.run_id = "run-1";
    options_.user = "alice";
  }
  void TearDown() override {
    // Whatever a test did, the log it leaves must be one other Delta engines accept.
    if (validate_ && FileSystem::Posix()->Exists(root_ + "/_delta_log")) {
      Status valid = ValidateDeltaLog(*FileSystem::Posix(), root_, con_.get());
      EXPECT_TRUE(valid.ok()) << valid.ToString();
    }
    con_.reset();
    con2_.reset();
    if (!dir_.empty()) (void)FileSystem::Posix()->RemoveAll(dir_);
  }

  static Schema IdNameSchema() {
    return Schema({Field{"id", "long", true, "{}"}, Field{"name", "string", true, "{}"}});
  }

  std::unique_ptr<DeltaTable> CreateTable(const Schema& schema,
                                          const std::vector<std::string>& partitions = {}) {
    auto table = DeltaTable::Create(env_, root_, "t", schema, partitions, options_);
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    return table.ok() ? std::move(*table) : nullptr;
  }

  // Rows of a version as "a,b|c,d", ordered by the first column then the rest.
  std::string RowsAt(DeltaTable& table, std::optional<int64_t> version,
                     const std::string& columns = "*") {
    auto snapshot = table.log().LoadSnapshot(version);
    EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    if (!snapshot.ok()) return "<error>";
    return RowsOf(*snapshot, columns);
  }
  std::string RowsOf(const Snapshot& snapshot, const std::string& columns = "*") {
    return testing::SnapshotRows(con_.get(), snapshot, columns);
  }

  std::set<std::string> LivePaths(DeltaTable& table) {
    auto snapshot = table.Latest();
    EXPECT_TRUE(snapshot.ok());
    std::set<std::string> out;
    if (snapshot.ok()) {
      for (const auto& f : snapshot->files) out.insert(f.path);
    }
    return out;
  }

  CommitInfo InfoAt(DeltaTable& table, int64_t version) {
    auto actions = table.log().ReadCommit(version);
    EXPECT_TRUE(actions.ok()) << actions.status().ToString();
    if (!actions.ok() || !actions->commit_info.has_value()) return CommitInfo{};
    return *actions->commit_info;
  }

  std::string dir_;
  std::string root_;
  std::unique_ptr<engine::Database> db_;
  std::unique_ptr<engine::Connection> con_;
  std::unique_ptr<engine::Connection> con2_;
  std::shared_ptr<RacingFileSystem> fs_;
  std::shared_ptr<ManualClock> clock_;
  IdGenerator ids_{42};
  TableEnv env_;
  WriteOptions options_;
  bool validate_ = true;
};

TEST_F(DeltaTableTest, CreateWritesVersionZero) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  auto snapshot = table->Latest();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_EQ(snapshot->version, 0);
  EXPECT_EQ(snapshot->protocol.min_reader_version, 1);
  EXPECT_EQ(snapshot->protocol.min_writer_version, 2);
  EXPECT_EQ(snapshot->metadata.id.size(), 36u);
  EXPECT_EQ(snapshot->metadata.created_time.value_or(0), clock_->NowMillis());
  EXPECT_EQ(snapshot->schema.Names(), (std::vector<std::string>{"id", "name"}));
  EXPECT_TRUE(snapshot->files.empty());
  CommitInfo info = InfoAt(*table, 0);
  EXPECT_EQ(info.operation, "CREATE TABLE");
  EXPECT_EQ(info.engine_info, "dew/0.1.0");
  EXPECT_EQ(info.run_id, "run-1");
  EXPECT_EQ(info.user_name, "alice");
  EXPECT_EQ(RowsAt(*table, 0), "");

  auto again = DeltaTable::Create(env_, root_, "t", IdNameSchema(), {}, options_);
  EXPECT_TRUE(again.status().IsAlreadyExists()) << again.status().ToString();
  auto opened = DeltaTable::Open(env_, root_);
  EXPECT_TRUE(opened.ok());
  auto missing = DeltaTable::Open(env_, dir_ + "/nothing");
  EXPECT_TRUE(missing.status().IsNotFound());
  auto bad = DeltaTable::Create(env_, dir_ + "/bad", "t", IdNameSchema(), {"nope"}, options_);
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("nope"), std::string::npos);
}

TEST_F(DeltaTableTest, CreateAsWritesRowsInVersionZero) {
  CommitResult result;
  auto table = DeltaTable::CreateAs(env_, root_, "t",
                                    "SELECT range AS id, 'p' || (range % 2) AS part FROM range(4)",
                                    {"part"}, options_, &result);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(result.version, 0);
  EXPECT_EQ(result.rows_added, 4);
  EXPECT_EQ(result.files_added, 2);
  EXPECT_EQ(RowsAt(**table, 0), "0,p0|1,p1|2,p0|3,p1");
  EXPECT_EQ(InfoAt(**table, 0).operation, "CREATE TABLE AS SELECT");
  EXPECT_FALSE(
      FileSystem::Posix()->Exists(root_ + "/_delta_log/00000000000000000000.checkpoint.parquet"));
  auto again =
      DeltaTable::CreateAs(env_, root_, "t", "SELECT 1 AS id, 'x' AS part", {"part"}, options_);
  EXPECT_TRUE(again.status().IsAlreadyExists()) << again.status().ToString();
  EXPECT_EQ(RowsAt(**table, std::nullopt), "0,p0|1,p1|2,p0|3,p1");
}

TEST_F(DeltaTableTest, DataFilesAndTheirFoldersAreDurableBeforeTheirCommit) {
  auto table = DeltaTable::CreateAs(env_, root_, "t",
                                    "SELECT range AS id, 'p' || (range % 2) AS part FROM range(4)",
                                    {"part"}, options_);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  fs_->events.clear();
  ASSERT_TRUE((*table)->Append("SELECT 7 AS id, 'p2' AS part", options_).ok());
  auto snapshot = (*table)->Latest();
  ASSERT_TRUE(snapshot.ok());
  const std::string commit = "create " + root_ + "/_delta_log/00000000000000000001.json";
  auto at = [&](const std::string& event) {
    return std::find(fs_->events.begin(), fs_->events.end(), event) - fs_->events.begin();
  };
  const auto commit_at = at(commit);
  ASSERT_LT(commit_at, static_cast<long>(fs_->events.size())) << commit;
  int new_files = 0;
  for (const auto& file : snapshot->files) {
    if (file.path.find("part=p2/") != 0) continue;
    ++new_files;
    EXPECT_LT(at("sync " + root_ + "/" + DecodePath(file.path)), commit_at) << file.path;
  }
  EXPECT_EQ(new_files, 1);
  // The new partition folder's entry lives in the table root: both folders are synced.
  EXPECT_LT(at("sync " + root_ + "/part=p2"), commit_at);
  EXPECT_LT(at("sync " + root_), commit_at);
}

// A write with defer_commit leaves the table as it was until its commit runs, on another
// connection (as a build's committer thread does): then the files, the table's folder and, for
// version 0, the folder holding the table are synced before the commit file appears.
TEST_F(DeltaTableTest, DeferredCommitsRunLaterThroughAnotherConnection) {
  DeferredCommit deferred;
  WriteOptions later = options_;
  later.defer_commit = &deferred;
  CommitResult staged;
  auto table = DeltaTable::CreateAs(env_, root_, "t", "SELECT range AS id FROM range(3)", {}, later,
                                    &staged);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ASSERT_TRUE(deferred);
  EXPECT_EQ(staged.version, -1);
  EXPECT_EQ(staged.rows_added, 3);
  EXPECT_EQ(staged.files_added, 1);
  EXPECT_FALSE((*table)->log().Exists());
  EXPECT_TRUE(DeltaTable::Open(env_, root_).status().IsNotFound());

  fs_->events.clear();
  auto committed = deferred(con2_.get());
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->version, 0);
  EXPECT_EQ(committed->rows_added, 3);
  EXPECT_EQ(committed->files_added, 1);
  EXPECT_EQ(RowsAt(**table, 0), "0|1|2");
  EXPECT_EQ(InfoAt(**table, 0).operation, "CREATE TABLE AS SELECT");
  auto at = [&](const std::string& event) {
    return std::find(fs_->events.begin(), fs_->events.end(), event) - fs_->events.begin();
  };
  const auto commit_at = at("create " + root_ + "/_delta_log/00000000000000000000.json");
  ASSERT_LT(commit_at, static_cast<long>(fs_->events.size()));
  auto snapshot = (*table)->Latest();
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->files.size(), 1u);
  EXPECT_LT(at("sync " + root_ + "/" + DecodePath(snapshot->files[0].path)), commit_at);
  EXPECT_LT(at("sync " + root_), commit_at);
  EXPECT_LT(at("sync " + dir_), commit_at);  // the table folder's entry is new too

  // A whole-table overwrite defers; the table keeps its rows until the commit runs.
  auto replaced = (*table)->Overwrite("SELECT 9 AS id", std::nullopt, later);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->version, -1);
  EXPECT_EQ(replaced->rows_added, 1);
  EXPECT_EQ(replaced->rows_removed, 3);
  EXPECT_EQ(RowsAt(**table, std::nullopt), "0|1|2");
  committed = deferred(con2_.get());
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->version, 1);
  EXPECT_EQ(committed->rows_removed, 3);
  EXPECT_EQ(RowsAt(**table, std::nullopt), "9");

  // Other writes commit at once and leave nothing deferred.
  deferred = nullptr;
  auto appended = (*table)->Append("SELECT 10 AS id", later);
  ASSERT_TRUE(appended.ok());
  EXPECT_EQ(appended->version, 2);
  EXPECT_FALSE(deferred);
  auto where = (*table)->Overwrite("SELECT 11 AS id", std::string("id = 11"), later);
  ASSERT_TRUE(where.ok()) << where.status().ToString();
  EXPECT_EQ(where->version, 3);
  EXPECT_FALSE(deferred);

  // A deferred commit that becomes due for a checkpoint writes it through its connection.
  for (int64_t v = 4; v < 10; ++v) ASSERT_TRUE((*table)->Append("SELECT 1 AS id", options_).ok());
  ASSERT_TRUE((*table)->Overwrite("SELECT 12 AS id", std::nullopt, later).ok());
  committed = deferred(con2_.get());
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(committed->version, 10);
  EXPECT_TRUE(
      FileSystem::Posix()->Exists(root_ + "/_delta_log/00000000000000000010.checkpoint.parquet"));
  EXPECT_EQ(RowsAt(**table, std::nullopt), "12");
}

// Two creations staged before either commits: the second to commit finds the table made and
// fails as CreateAs does, removing its files.
TEST_F(DeltaTableTest, ADeferredCreationThatLosesTheRaceRemovesItsFiles) {
  DeferredCommit first, second;
  WriteOptions a = options_, b = options_;
  a.defer_commit = &first;
  b.defer_commit = &second;
  ASSERT_TRUE(DeltaTable::CreateAs(env_, root_, "t", "SELECT 1 AS id", {}, a).ok());
  ASSERT_TRUE(DeltaTable::CreateAs(env_, root_, "t", "SELECT 2 AS id", {}, b).ok());
  ASSERT_TRUE(first(con2_.get()).ok());
  auto lost = second(con2_.get());
  EXPECT_TRUE(lost.status().IsAlreadyExists()) << lost.status().ToString();
  auto table = DeltaTable::Open(env_, root_);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(RowsAt(**table, std::nullopt), "1");
  auto files = FileSystem::Posix()->ListDir(root_);
  ASSERT_TRUE(files.ok());
  int parquet = 0;
  for (const auto& f : *files) parquet += f.name.find(".parquet") != std::string::npos;
  EXPECT_EQ(parquet, 1);
}

TEST_F(DeltaTableTest, AppendsAreVisibleAtEachVersion) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  auto v1 = table->Append("SELECT 1 AS id, 'a' AS name UNION ALL SELECT 2, 'b'", options_);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v1->rows_added, 2);
  EXPECT_EQ(v1->files_added, 1);
  EXPECT_EQ(v1->attempts, 1);
  // Columns by name, in any order; a missing nullable column is NULL.
  auto v2 = table->Append("SELECT 'c' AS name, 3::INTEGER AS id", options_);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  auto v3 = table->Append("SELECT 4 AS id", options_);
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  EXPECT_EQ(v3->version, 3);

  EXPECT_EQ(RowsAt(*table, 1), "1,a|2,b");
  EXPECT_EQ(RowsAt(*table, 2), "1,a|2,b|3,c");
  EXPECT_EQ(RowsAt(*table, 3), "1,a|2,b|3,c|4,NULL");

  CommitInfo info = InfoAt(*table, 2);
  EXPECT_EQ(info.operation, "WRITE");
  EXPECT_EQ(info.operation_parameters["mode"], "Append");
  EXPECT_EQ(info.operation_metrics["numOutputRows"], "1");
  EXPECT_EQ(info.operation_metrics["numFiles"], "1");
  EXPECT_EQ(info.read_version.value_or(-1), 1);
  EXPECT_TRUE(info.is_blind_append.value_or(false));
  // The clock stood still: each commit is still 1 ms after the previous one.
  EXPECT_EQ(info.timestamp.value_or(0), clock_->NowMillis() + 2);

  auto snapshot = table->Latest();
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->NumRecords(), 4);
  for (const auto& f : snapshot->files) {
    EXPECT_EQ(f.path.rfind("part-", 0), 0u) << f.path;
    auto info = FileSystem::Posix()->Stat(root_ + "/" + f.path);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(static_cast<int64_t>(info->size), f.size);
  }
  // Statistics of the first file: two rows, ids 1..2.
  auto first = table->log().ReadCommit(1);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->adds.size(), 1u);
  EXPECT_NE(first->adds[0].stats.find("\"numRecords\":2"), std::string::npos)
      << first->adds[0].stats;
  EXPECT_NE(first->adds[0].stats.find("\"minValues\":{\"id\":1,\"name\":\"a\"}"), std::string::npos)
      << first->adds[0].stats;
  EXPECT_NE(first->adds[0].stats.find("\"maxValues\":{\"id\":2,\"name\":\"b\"}"), std::string::npos)
      << first->adds[0].stats;
}

// The statistics of each file come from the COPY that wrote it: numRecords; min and max only for
// types whose JSON values compare safely (integers, decimals of up to 15 digits, dates, strings
// of up to 64 characters) and not for a column that is all NULL; nullCount for every primitive
// column, also under a name that needs quoting; nothing for nested columns.
TEST_F(DeltaTableTest, FileStatisticsCoverEachKindOfColumn) {
  auto table = DeltaTable::CreateAs(
      env_, root_, "t",
      "SELECT range AS id, 'n' || range AS \"Odd \"\"name\"\"\", "
      "CASE WHEN range = 1 THEN NULL ELSE DATE '2026-01-01' + range::INTEGER END AS day, "
      "(range * 1.25)::DECIMAL(10,2) AS amount, (range * 1.25)::DECIMAL(20,2) AS wide, "
      "repeat('x', 100) || range AS long_text, range::DOUBLE / 4 AS ratio, "
      "{'k': range} AS rec, NULL::INTEGER AS nothing FROM range(3)",
      {}, options_);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto commit = (*table)->log().ReadCommit(0);
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  ASSERT_EQ(commit->adds.size(), 1u);
  const nlohmann::json stats = nlohmann::json::parse(commit->adds[0].stats);
  const nlohmann::json want = {
      {"numRecords", 3},
      {"minValues", {{"id", 0}, {"Odd \"name\"", "n0"}, {"day", "2026-01-01"}, {"amount", 0.0}}},
      {"maxValues", {{"id", 2}, {"Odd \"name\"", "n2"}, {"day", "2026-01-03"}, {"amount", 2.5}}},
      {"nullCount",
       {{"id", 0},
        {"Odd \"name\"", 0},
        {"day", 1},
        {"amount", 0},
        {"wide", 0},
        {"long_text", 0},
        {"ratio", 0},
        {"nothing", 3}}}};
  EXPECT_EQ(stats, want) << stats.dump();
  auto info = FileSystem::Posix()->Stat(root_ + "/" + commit->adds[0].path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(static_cast<int64_t>(info->size), commit->adds[0].size);
}

TEST_F(DeltaTableTest, RoundTripsCommonTypesAndTypedPartitions) {
  const std::string source =
      "SELECT range AS id, (range % 2 = 0) AS flag, DATE '2026-01-30' + range::INTEGER AS day, "
      "TIMESTAMP '2026-01-31 23:59:59.25' + INTERVAL (range) HOUR AS ts, "
      "(range * 1.25)::DECIMAL(18,2) AS amount, range::DOUBLE / 3 AS ratio, "
      "[range, NULL] AS list, {'k': range, 'v': 'x' || range} AS rec, "
      "CASE WHEN range = 1 THEN NULL ELSE 'n' || range END AS name FROM range(3)";
  auto probe = con_->Query(source + " LIMIT 0");
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  auto schema = Schema::FromDuckDb((*probe)->names(), (*probe)->types());
  probe->reset();
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  auto table = CreateTable(*schema, {"day", "flag"});
  ASSERT_NE(table, nullptr);
  auto r = table->Append(source, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files_added, 3);
  auto expected = con_->QueryText("SELECT * FROM (" + source + ") ORDER BY ALL");
  ASSERT_TRUE(expected.ok());
  std::string want;
  for (const auto& row : expected->rows) {
    if (!want.empty()) want += "|";
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) want += ",";
      want += row[i].value_or("NULL");
    }
  }
  EXPECT_EQ(RowsAt(*table, std::nullopt), want);
  auto snapshot = table->Latest();
  ASSERT_TRUE(snapshot.ok());
  std::set<std::string> days;
  for (const auto& f : snapshot->files) days.insert(f.partition_values.at("day").value_or("NULL"));
  EXPECT_EQ(days, (std::set<std::string>{"2026-01-30", "2026-01-31", "2026-02-01"}));
  EXPECT_EQ(snapshot->files[0].partition_values.count("flag"), 1u);
  // Filters on a typed partition column and a rewrite of nested values both work.
  ASSERT_TRUE(table->DeleteWhere("day = DATE '2026-01-31' OR amount > 2", options_).ok());
  EXPECT_EQ(RowsAt(*table, std::nullopt, "id"), "0");
  auto merged =
      table->Merge("SELECT 0 AS id, DATE '2026-01-30' AS day, true AS flag, [7]::BIGINT[] AS list",
                   {"id"}, options_);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(RowsAt(*table, std::nullopt, "id, list, rec, name"), "0,[7],NULL,NULL");
}

TEST_F(DeltaTableTest, EmptyAppendCommitsWithoutFiles) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  auto r = table->Append("SELECT 1 AS id, 'a' AS name WHERE false", options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->files_added, 0);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "");
  auto files = FileSystem::Posix()->ListRecursive(root_);
  ASSERT_TRUE(files.ok());
  for (const auto& f : *files) EXPECT_EQ(f.name.rfind("_delta_log/", 0), 0u) << f.name;
}

TEST_F(DeltaTableTest, FailedWriteLeavesNoFiles) {
  Schema schema({Field{"id", "long", true, "{}"}, Field{"p", "long", true, "{}"}});
  auto table = CreateTable(schema, {"p"});
  ASSERT_NE(table, nullptr);
  // Fails after DuckDB has written the files of several partitions.
  auto r = table->Append(
      "SELECT range AS id, CASE WHEN range = 900000 THEN error('boom') ELSE range % 4 END AS p "
      "FROM range(1000000)",
      options_);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("boom"), std::string::npos) << r.status().ToString();
  auto files = FileSystem::Posix()->ListRecursive(root_);
  ASSERT_TRUE(files.ok());
  for (const auto& f : *files) EXPECT_EQ(f.name.rfind("_delta_log/", 0), 0u) << f.name;
  EXPECT_EQ(table->Latest()->version, 0);
}

TEST_F(DeltaTableTest, SchemaEvolutionNeedsMergeSchemaAndRefusesTypeChanges) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT 1 AS id, 'a' AS name", options_).ok());

  auto refused = table->Append("SELECT 2 AS id, 'b' AS name, 9.5 AS score", options_);
  EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("score"), std::string::npos);

  auto mismatch = table->Append("SELECT 'x' AS id, 'b' AS name", options_);
  EXPECT_TRUE(mismatch.status().IsInvalidArgument()) << mismatch.status().ToString();
  EXPECT_NE(mismatch.status().message().find("'id'"), std::string::npos);
  EXPECT_NE(mismatch.status().message().find("BIGINT"), std::string::npos);
  EXPECT_NE(mismatch.status().message().find("VARCHAR"), std::string::npos);

  WriteOptions evolve = options_;
  evolve.merge_schema = true;
  auto added = table->Append("SELECT 2 AS id, 'b' AS name, 9.5::DOUBLE AS score", evolve);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  auto actions = table->log().ReadCommit(added->version);
  ASSERT_TRUE(actions.ok());
  EXPECT_TRUE(actions->metadata.has_value());
  EXPECT_EQ(RowsAt(*table, std::nullopt), "1,a,NULL|2,b,9.5");
  EXPECT_EQ(RowsAt(*table, 1), "1,a");
  // Later appends without the new column fill it with NULL.
  ASSERT_TRUE(table->Append("SELECT 3 AS id", options_).ok());
  EXPECT_EQ(RowsAt(*table, std::nullopt), "1,a,NULL|2,b,9.5|3,NULL,NULL");
}

TEST_F(DeltaTableTest, OverwriteWholeTableAndReplaceWhere) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT range AS id, 'old' AS name FROM range(1, 4)", options_).ok());
  ASSERT_TRUE(
      table->Append("SELECT range AS id, 'old2' AS name FROM range(10, 12)", options_).ok());

  auto whole = table->Overwrite("SELECT 7 AS id, 'new' AS name", std::nullopt, options_);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(whole->files_removed, 2);
  EXPECT_EQ(whole->rows_removed, 5);
  EXPECT_EQ(RowsAt(*table, whole->version), "7,new");
  EXPECT_EQ(RowsAt(*table, 2), "1,old|2,old|3,old|10,old2|11,old2");
  CommitInfo info = InfoAt(*table, whole->version);
  EXPECT_EQ(info.operation_parameters["mode"], "Overwrite");
  EXPECT_FALSE(info.is_blind_append.value_or(true));

  ASSERT_TRUE(table->Append("SELECT range AS id, 'x' AS name FROM range(1, 6)", options_).ok());
  // Rows 2..3 replaced: the file is rewritten keeping 1, 4, 5.
  auto replaced = table->Overwrite("SELECT 2 AS id, 'r' AS name UNION ALL SELECT 3, 'r'",
                                   std::string("id BETWEEN 2 AND 3"), options_);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->rows_removed, 2);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "1,x|2,r|3,r|4,x|5,x|7,new");
  info = InfoAt(*table, replaced->version);
  EXPECT_EQ(info.operation_parameters["predicate"], "[\"id BETWEEN 2 AND 3\"]");

  auto violation = table->Overwrite(
      "SELECT 2 AS id, 'ok' AS name UNION ALL SELECT 8, 'bad' "
      "UNION ALL SELECT 9, 'bad'",
      std::string("id BETWEEN 2 AND 3"), options_);
  EXPECT_TRUE(violation.status().IsInvalidArgument()) << violation.status().ToString();
  EXPECT_NE(violation.status().message().find("2 rows"), std::string::npos)
      << violation.status().message();
  auto latest = table->Latest();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version, replaced->version);
}

TEST_F(DeltaTableTest, ReplaceWhereOnPartitionsDropsWholeFiles) {
  Schema schema({Field{"day", "string", true, "{}"}, Field{"id", "long", true, "{}"}});
  auto table = CreateTable(schema, {"day"});
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table
                  ->Append("SELECT CASE WHEN range < 3 THEN 'mon' ELSE 'tue' END AS day, "
                           "range AS id FROM range(6)",
                           options_)
                  .ok());
  auto before = LivePaths(*table);
  ASSERT_EQ(before.size(), 2u);
  auto replaced =
      table->Overwrite("SELECT 'tue' AS day, 100 AS id", std::string("day = 'tue'"), options_);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->files_removed, 1);
  EXPECT_EQ(replaced->rows_removed, 3);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "mon,0|mon,1|mon,2|tue,100");
  auto after = LivePaths(*table);
  int kept = 0;
  for (const auto& p : after) kept += before.count(p);
  EXPECT_EQ(kept, 1);  // the 'mon' file is untouched
}

TEST_F(DeltaTableTest, MergeUpsertsByKey) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT range AS id, 'v1' AS name FROM range(1, 4)", options_).ok());
  ASSERT_TRUE(table->Append("SELECT range AS id, 'v1' AS name FROM range(10, 12)", options_).ok());
  auto untouched = LivePaths(*table);

  auto merged =
      table->Merge("SELECT 2 AS id, 'v2' AS name UNION ALL SELECT 5, 'new'", {"id"}, options_);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->version, 3);
  EXPECT_EQ(merged->rows_added, 2);
  EXPECT_EQ(merged->rows_removed, 1);
  EXPECT_EQ(merged->files_removed, 1);
  EXPECT_EQ(RowsAt(*table, 3), "1,v1|2,v2|3,v1|5,new|10,v1|11,v1");
  EXPECT_EQ(RowsAt(*table, 2), "1,v1|2,v1|3,v1|10,v1|11,v1");
  // Only the file holding id 2 was rewritten.
  int still_live = 0;
  for (const auto& p : LivePaths(*table)) still_live += untouched.count(p);
  EXPECT_EQ(still_live, 1);
  CommitInfo info = InfoAt(*table, 3);
  EXPECT_EQ(info.operation, "MERGE");
  EXPECT_EQ(info.operation_metrics["numTargetRowsInserted"], "1");
  EXPECT_EQ(info.operation_metrics["numTargetRowsUpdated"], "1");
  EXPECT_EQ(info.operation_metrics["numTargetRowsCopied"], "2");
  EXPECT_EQ(info.operation_parameters["keys"], "[\"id\"]");

  auto duplicate =
      table->Merge("SELECT 7 AS id, 'a' AS name UNION ALL SELECT 7, 'b'", {"id"}, options_);
  EXPECT_TRUE(duplicate.status().IsInvalidArgument()) << duplicate.status().ToString();
  EXPECT_NE(duplicate.status().message().find("id=7"), std::string::npos)
      << duplicate.status().message();
  auto bad_key = table->Merge("SELECT 7 AS id, 'a' AS name", {"nope"}, options_);
  EXPECT_TRUE(bad_key.status().IsInvalidArgument());

  // A merge into an empty table inserts everything.
  auto table2 = DeltaTable::Create(env_, dir_ + "/t2", "t2", IdNameSchema(), {}, options_);
  ASSERT_TRUE(table2.ok());
  auto into_empty = (*table2)->Merge("SELECT 1 AS id, 'a' AS name", {"id"}, options_);
  ASSERT_TRUE(into_empty.ok()) << into_empty.status().ToString();
  EXPECT_EQ(RowsAt(**table2, std::nullopt), "1,a");
}

// MergeOptions: the replaced rows are reported before the commit, which records what the
// report added; a report's error commits nothing; a stable source is read in place.
TEST_F(DeltaTableTest, MergeReportsTheRowsItReplacesBeforeCommitting) {
  for (bool dv : {false, true}) {
    SCOPED_TRACE(dv ? "deletion vectors" : "rewritten files");
    auto created =
        DeltaTable::Create(env_, dir_ + (dv ? "/dv" : "/plain"), "t", IdNameSchema(), {}, options_);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    DeltaTable& table = **created;
    if (dv) {
      ASSERT_TRUE(table.EnableDeletionVectors(options_).ok());
    }
    ASSERT_TRUE(table.Append("SELECT range AS id, 'v1' AS name FROM range(1, 4)", options_).ok());
    ASSERT_TRUE(con_->Execute("CREATE OR REPLACE TABLE merge_src AS SELECT 2 AS id, 'v2' AS name "
                              "UNION ALL SELECT 5, 'new'")
                    .ok());
    MergeOptions merge;
    merge.source_unique_and_stable = true;
    merge.matched_columns = {"name"};
    std::string seen;
    merge.on_matched = [&](const std::string& sql, WriteOptions* o) -> Status {
      auto rows = con_->QueryText("SELECT CAST(id AS VARCHAR) || ',' || name FROM (" + sql +
                                  ") ORDER BY ALL");
      if (!rows.ok()) return rows.status();
      for (const auto& r : rows->rows) seen += r[0].value_or("NULL") + ";";
      o->parameters["replaced"] = seen;
      return Status::OK();
    };
    auto merged = table.Merge("SELECT * FROM merge_src", {"id"}, options_, merge);
    ASSERT_TRUE(merged.ok()) << merged.status().ToString();
    EXPECT_EQ(seen, "2,v1;");
    EXPECT_EQ(merged->rows_added, 2);
    EXPECT_EQ(merged->rows_removed, 1);
    EXPECT_EQ(InfoAt(table, merged->version).operation_parameters["replaced"], "2,v1;");
    EXPECT_EQ(RowsAt(table, std::nullopt), "1,v1|2,v2|3,v1|5,new");

    // Keys outside every file's range: nothing replaced, still reported.
    seen = "none:";
    auto outside = table.Merge("SELECT 40 AS id, 'x' AS name", {"id"}, options_, merge);
    ASSERT_TRUE(outside.ok()) << outside.status().ToString();
    EXPECT_EQ(seen, "none:");

    // A failing report fails the merge before its commit.
    merge.on_matched = [](const std::string&, WriteOptions*) {
      return Status::Conflict("report failed");
    };
    auto failed = table.Merge("SELECT 1 AS id, 'no' AS name", {"id"}, options_, merge);
    EXPECT_TRUE(failed.status().IsConflict()) << failed.status().ToString();
    auto latest = table.Latest();
    ASSERT_TRUE(latest.ok());
    EXPECT_EQ(latest->version, outside->version);
    EXPECT_EQ(RowsAt(table, std::nullopt), "1,v1|2,v2|3,v1|5,new|40,x");

    merge.on_matched = nullptr;
    merge.matched_columns = {"nope"};
    EXPECT_TRUE(table.Merge("SELECT 1 AS id, 'no' AS name", {"id"}, options_, merge)
                    .status()
                    .IsInvalidArgument());
  }
}

// With deletion vectors, a key replaced before matches both its old, deleted row and its live
// one: the merge replaces (and reports) the live rows only, also in a file where another key
// still has a live match.
TEST_F(DeltaTableTest, MergeReplacesOnlyLiveRowsOfFilesWithDeletionVectors) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->EnableDeletionVectors(options_).ok());
  ASSERT_TRUE(table->Append("SELECT range AS id, 'v1' AS name FROM range(1, 5)", options_).ok());
  ASSERT_TRUE(table->Merge("SELECT 1 AS id, 'v2' AS name", {"id"}, options_).ok());
  MergeOptions merge;
  merge.matched_columns = {"name"};
  std::string seen;
  merge.on_matched = [&](const std::string& sql, WriteOptions*) -> Status {
    auto rows = con_->QueryText("SELECT CAST(id AS VARCHAR) || ',' || name FROM (" + sql +
                                ") ORDER BY ALL");
    if (!rows.ok()) return rows.status();
    for (const auto& r : rows->rows) seen += r[0].value_or("NULL") + ";";
    return Status::OK();
  };
  // The first file holds id 1 deleted and id 2 live; the merge's own file id 1 live.
  auto merged = table->Merge("SELECT * FROM (VALUES (1, 'v3'), (2, 'v3')) t(id, name)", {"id"},
                             options_, merge);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(seen, "1,v2;2,v1;");
  EXPECT_EQ(merged->rows_removed, 2);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "1,v3|2,v3|3,v1|4,v1");
  // Again: now every match in the first file is a deleted row.
  seen.clear();
  merged = table->Merge("SELECT 2 AS id, 'v4' AS name", {"id"}, options_, merge);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(seen, "2,v3;");
  EXPECT_EQ(merged->rows_removed, 1);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "1,v3|2,v4|3,v1|4,v1");
}

TEST_F(DeltaTableTest, MergeSkipsFilesOutsideTheKeyRangeOnly) {
  Schema schema({Field{"code", "string", true, "{}"}, Field{"v", "long", true, "{}"}});
  auto table = CreateTable(schema);
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT * FROM (VALUES ('a', 1), ('m', 1)) t(code, v)", options_).ok());
  ASSERT_TRUE(table->Append("SELECT * FROM (VALUES ('n', 1), ('z', 1)) t(code, v)", options_).ok());
  auto nulls = table->Append("SELECT NULL::VARCHAR AS code, 1 AS v", options_);
  ASSERT_TRUE(nulls.ok()) << nulls.status().ToString();
  // 'c' lies inside the first file's range without being in it; 'z' is the second's maximum.
  auto r = table->Merge("SELECT * FROM (VALUES ('c', 2), ('z', 2), (NULL, 2)) t(code, v)", {"code"},
                        options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows_removed, 1);
  EXPECT_EQ(r->files_removed, 1);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "a,1|c,2|m,1|n,1|z,2|NULL,1|NULL,2");
  auto only_null = table->Merge("SELECT NULL::VARCHAR AS code, 3 AS v", {"code"}, options_);
  ASSERT_TRUE(only_null.ok()) << only_null.status().ToString();
  EXPECT_EQ(only_null->files_removed, 0);
  EXPECT_EQ(RowsAt(*table, std::nullopt, "count(*)"), "8");
}

TEST_F(DeltaTableTest, DeleteRewritesOnlyMatchingFiles) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT range AS id, 'a' AS name FROM range(1, 4)", options_).ok());
  ASSERT_TRUE(table->Append("SELECT range AS id, 'b' AS name FROM range(10, 13)", options_).ok());
  ASSERT_TRUE(table->Append("SELECT range AS id, 'c' AS name FROM range(20, 22)", options_).ok());
  auto before = LivePaths(*table);

  auto nothing = table->DeleteWhere("id > 1000", options_);
  ASSERT_TRUE(nothing.ok()) << nothing.status().ToString();
  EXPECT_EQ(nothing->version, 3);
  EXPECT_EQ(nothing->rows_removed, 0);
  EXPECT_EQ(table->Latest()->version, 3);

  auto deleted = table->DeleteWhere("id = 11 OR name = 'c'", options_);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->version, 4);
  EXPECT_EQ(deleted->rows_removed, 3);
  EXPECT_EQ(deleted->files_removed, 2);  // 'b' rewritten, 'c' dropped whole
  EXPECT_EQ(deleted->files_added, 1);
  EXPECT_EQ(RowsAt(*table, 4), "1,a|2,a|3,a|10,b|12,b");
  EXPECT_EQ(RowsAt(*table, 3), "1,a|2,a|3,a|10,b|11,b|12,b|20,c|21,c");
  int still_live = 0;
  for (const auto& p : LivePaths(*table)) still_live += before.count(p);
  EXPECT_EQ(still_live, 1);
  CommitInfo info = InfoAt(*table, 4);
  EXPECT_EQ(info.operation, "DELETE");
  EXPECT_EQ(info.operation_metrics["numDeletedRows"], "3");
  EXPECT_EQ(info.operation_parameters["predicate"], "[\"id = 11 OR name = 'c'\"]");

  auto bad = table->DeleteWhere("no_such_column = 1", options_);
  EXPECT_TRUE(bad.status().IsInvalidArgument()) << bad.status().ToString();
}

TEST_F(DeltaTableTest, PartitionedTableWithAwkwardValues) {
  Schema schema({Field{"id", "long", true, "{}"}, Field{"s", "string", true, "{}"}});
  auto table = CreateTable(schema, {"s"});
  ASSERT_NE(table, nullptr);
  auto r = table->Append(
      "SELECT * FROM (VALUES (1, 'a/b'), (2, '100%'), (3, 'with space'), (4, NULL), (5, 'a/b'), "
      "(6, 'x=y, z')) t(id, s)",
      options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files_added, 5);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "1,a/b|2,100%|3,with space|4,NULL|5,a/b|6,x=y, z");
  auto snapshot = table->Latest();
  ASSERT_TRUE(snapshot.ok());
  std::set<std::optional<std::string>> values;
  for (const auto& f : snapshot->files) {
    ASSERT_EQ(f.partition_values.count("s"), 1u);
    values.insert(f.partition_values.at("s"));
    // add.path is a URI: decoding it gives the file DuckDB wrote.
    EXPECT_TRUE(FileSystem::Posix()->Exists(root_ + "/" + DecodePath(f.path))) << f.path;
    EXPECT_EQ(f.path.find(' '), std::string::npos) << f.path;
  }
  EXPECT_EQ(values, (std::set<std::optional<std::string>>{std::nullopt, "a/b", "100%", "with space",
                                                          "x=y, z"}));
  // Partition-only delete drops files without reading them.
  auto deleted = table->DeleteWhere("s = '100%' OR s IS NULL", options_);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->files_removed, 2);
  EXPECT_EQ(deleted->files_added, 0);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "1,a/b|3,with space|5,a/b|6,x=y, z");
  auto merged = table->Merge("SELECT 1 AS id, 'with space' AS s", {"id"}, options_);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(RowsAt(*table, std::nullopt), "1,with space|3,with space|5,a/b|6,x=y, z");
}

TEST_F(DeltaTableTest, RestoreMakesAnOlderVersionCurrent) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT 1 AS id, 'a' AS name", options_).ok());  // v1
  ASSERT_TRUE(table->Append("SELECT 2 AS id, 'b' AS name", options_).ok());  // v2
  ASSERT_TRUE(table->DeleteWhere("id = 1", options_).ok());                  // v3
  WriteOptions evolve = options_;
  evolve.merge_schema = true;
  ASSERT_TRUE(table->Append("SELECT 3 AS id, 'c' AS name, true AS flag", evolve).ok());  // v4
  EXPECT_EQ(RowsAt(*table, 4), "2,b,NULL|3,c,true");

  auto restored = table->Restore(2, options_);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->version, 5);
  EXPECT_EQ(RowsAt(*table, 5), "1,a|2,b");
  EXPECT_EQ(RowsAt(*table, 4), "2,b,NULL|3,c,true");  // history kept
  auto snapshot = table->Latest();
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->schema.Names(), (std::vector<std::string>{"id", "name"}));
  CommitInfo info = InfoAt(*table, 5);
  EXPECT_EQ(info.operation, "RESTORE");
  EXPECT_EQ(info.operation_parameters["version"], "2");
  EXPECT_EQ(info.operation_metrics["numRestoredFiles"], "1");

  auto out_of_range = table->Restore(99, options_);
  EXPECT_TRUE(out_of_range.status().IsInvalidArgument());

  // Once vacuum removed the files of version 4, restoring it names the missing file.
  clock_->Advance(8 * kDay);
  auto vacuumed = table->Vacuum(168, false, false);
  ASSERT_TRUE(vacuumed.ok()) << vacuumed.status().ToString();
  EXPECT_EQ(vacuumed->deleted.size(), 1u);  // v4's file; v3's tombstone was restored live
  auto gone = table->Restore(4, options_);
  EXPECT_TRUE(gone.status().IsNotFound()) << gone.status().ToString();
  EXPECT_NE(gone.status().message().find(vacuumed->deleted[0]), std::string::npos)
      << gone.status().message();
}

TEST_F(DeltaTableTest, VacuumKeepsRetainedAndLiveFiles) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT 1 AS id, 'a' AS name", options_).ok());
  ASSERT_TRUE(table->Append("SELECT 2 AS id, 'b' AS name", options_).ok());
  auto short_retention = table->Vacuum(1, false, false);
  EXPECT_TRUE(short_retention.status().IsInvalidArgument());
  EXPECT_NE(short_retention.status().message().find("168"), std::string::npos);
  EXPECT_TRUE(table->Vacuum(-1, true, false).status().IsInvalidArgument());
  EXPECT_TRUE(table->Vacuum(std::nan(""), true, false).status().IsInvalidArgument());
  auto forever = table->Vacuum(1e300, false, true);
  ASSERT_TRUE(forever.ok());
  EXPECT_TRUE(forever->deleted.empty());

  clock_->Advance(kDay);
  ASSERT_TRUE(table->DeleteWhere("id = 1", options_).ok());  // tombstone at day 1
  // An orphan a killed writer left: never committed.
  ASSERT_TRUE(FileSystem::Posix()->WriteFile(root_ + "/part-orphan.parquet", "junk").ok());
  ASSERT_TRUE(FileSystem::Posix()->CreateDirs(root_ + "/p=1").ok());
  ASSERT_TRUE(FileSystem::Posix()->WriteFile(root_ + "/p=1/part-orphan2.parquet", "junk").ok());
  // The hidden temporary file of an atomic write (a deletion vector's) that a kill interrupted.
  const std::string temp = ".deletion_vector_x.bin.0123456789abcdef.tmp";
  ASSERT_TRUE(FileSystem::Posix()->WriteFile(root_ + "/" + temp, "junk").ok());

  auto young = table->Vacuum(168, false, false);
  ASSERT_TRUE(young.ok()) << young.status().ToString();
  EXPECT_TRUE(young->deleted.empty());

  clock_->Advance(7 * kDay);  // orphans are 8 days old, the tombstone 7 days
  auto dry = table->Vacuum(168, false, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->deleted,
            (std::vector<std::string>{temp, "p=1/part-orphan2.parquet", "part-orphan.parquet"}));
  EXPECT_TRUE(FileSystem::Posix()->Exists(root_ + "/part-orphan.parquet"));

  auto old = table->Vacuum(168, false, false);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->deleted.size(), 3u);
  EXPECT_EQ(old->bytes, 12);
  EXPECT_FALSE(FileSystem::Posix()->Exists(root_ + "/" + temp));
  EXPECT_FALSE(FileSystem::Posix()->Exists(root_ + "/part-orphan.parquet"));
  EXPECT_FALSE(FileSystem::Posix()->Exists(root_ + "/p=1"));

  clock_->Advance(kDay + 1);
  auto expired = table->Vacuum(168, false, false);
  ASSERT_TRUE(expired.ok());
  ASSERT_EQ(expired->deleted.size(), 1u);  // the file removed by the delete
  EXPECT_EQ(RowsAt(*table, std::nullopt), "2,b");
  // Every remaining file outside the log is live.
  auto files = FileSystem::Posix()->ListRecursive(root_);
  ASSERT_TRUE(files.ok());
  auto live = LivePaths(*table);
  for (const auto& f : *files) {
    if (f.name.rfind("_delta_log/", 0) == 0) continue;
    EXPECT_EQ(live.count(EncodePath(f.name)), 1u) << f.name;
  }
  // Names starting with '_' or '.' are not data files (as in Delta's vacuum).
  ASSERT_TRUE(FileSystem::Posix()->WriteFile(root_ + "/_SUCCESS", "").ok());
  auto forced = table->Vacuum(0, /*force=*/true, false);
  ASSERT_TRUE(forced.ok());
  EXPECT_TRUE(forced->deleted.empty());
  EXPECT_TRUE(FileSystem::Posix()->Exists(root_ + "/_SUCCESS"));
}

TEST_F(DeltaTableTest, CheckpointsEveryTenCommits) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  for (int i = 1; i <= 21; ++i) {
    auto r = table->Append("SELECT " + std::to_string(i) + " AS id, 'n' AS name", options_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->version, i);
  }
  ASSERT_TRUE(table->DeleteWhere("id % 3 = 0", options_).ok());  // v22
  auto fs = FileSystem::Posix();
  const std::string log = root_ + "/_delta_log/";
  EXPECT_TRUE(fs->Exists(log + "00000000000000000010.checkpoint.parquet"));
  EXPECT_TRUE(fs->Exists(log + "00000000000000000020.checkpoint.parquet"));
  EXPECT_TRUE(fs->Exists(log + "_last_checkpoint"));
  auto with = table->Latest();
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  auto with15 = table->log().LoadSnapshot(15);
  ASSERT_TRUE(with15.ok());

  // The same table without its checkpoints replays every JSON commit.
  for (const char* name : {"00000000000000000010.checkpoint.parquet",
                           "00000000000000000020.checkpoint.parquet", "_last_checkpoint"}) {
    ASSERT_TRUE(fs->RemoveFile(log + name).ok());
  }
  auto reopened = DeltaTable::Open(env_, root_);
  ASSERT_TRUE(reopened.ok());
  auto without = (*reopened)->Latest();
  ASSERT_TRUE(without.ok()) << without.status().ToString();
  EXPECT_EQ(with->version, without->version);
  ASSERT_EQ(with->files.size(), without->files.size());
  for (size_t i = 0; i < with->files.size(); ++i) {
    EXPECT_EQ(with->files[i].path, without->files[i].path);
    EXPECT_EQ(with->files[i].size, without->files[i].size);
    EXPECT_EQ(with->files[i].NumRecords(), without->files[i].NumRecords());
    EXPECT_EQ(with->files[i].partition_values, without->files[i].partition_values);
  }
  EXPECT_EQ(with->metadata.id, without->metadata.id);
  EXPECT_EQ(with->schema.ToDeltaJson(), without->schema.ToDeltaJson());
  EXPECT_EQ(RowsOf(*with), RowsOf(*without));
  EXPECT_EQ(RowsOf(*with, "count(*)"), "14");
  auto without15 = (*reopened)->log().LoadSnapshot(15);
  ASSERT_TRUE(without15.ok());
  EXPECT_EQ(RowsOf(*with15), RowsOf(*without15));
}

TEST_F(DeltaTableTest, TimeTravelByTimestamp) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  const int64_t t0 = clock_->NowMillis();
  clock_->Advance(1000);
  ASSERT_TRUE(table->Append("SELECT 1 AS id, 'a' AS name", options_).ok());
  clock_->Advance(1000);
  ASSERT_TRUE(table->Append("SELECT 2 AS id, 'b' AS name", options_).ok());
  auto at = table->log().LoadSnapshotAt(t0 + 1500);
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_EQ(at->version, 1);
  EXPECT_EQ(RowsOf(*at), "1,a");
}

TEST_F(DeltaTableTest, RefusesToWriteTablesOfANewerProtocol) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  CommitActions upgrade;
  validate_ = false;  // writer version 4 is outside what the validator accepts
  upgrade.protocol = Protocol{1, 4};
  upgrade.commit_info = CommitInfo{};
  upgrade.commit_info->operation = "UPGRADE PROTOCOL";
  ASSERT_TRUE(table->log().WriteCommit(1, upgrade).ok());
  auto append = table->Append("SELECT 1 AS id, 'a' AS name", options_);
  EXPECT_EQ(append.status().code(), Status::Code::kNotSupported) << append.status().ToString();
  EXPECT_NE(append.status().message().find("writer version 4"), std::string::npos);
  EXPECT_EQ(table->DeleteWhere("id = 1", options_).status().code(), Status::Code::kNotSupported);
  EXPECT_EQ(table->Latest()->version, 1);
}

TEST_F(DeltaTableTest, CommitTimestampsGrowWithVersionsWhateverTheClock) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  const int64_t t0 = clock_->NowMillis();
  clock_->Advance(60000);
  ASSERT_TRUE(table->Append("SELECT 1 AS id, 'a' AS name", options_).ok());
  clock_->Set(t0 - 3600000);  // another writer's clock, an hour behind
  ASSERT_TRUE(table->Append("SELECT 2 AS id, 'b' AS name", options_).ok());
  EXPECT_EQ(InfoAt(*table, 1).timestamp.value_or(0), t0 + 60000);
  EXPECT_EQ(InfoAt(*table, 2).timestamp.value_or(0), t0 + 60001);
  auto at = table->log().LoadSnapshotAt(t0 + 60000);
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_EQ(at->version, 1);
}

TEST_F(DeltaTableTest, BlindAppendRebasesAfterLosingTheRace) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  TableEnv other_env{FileSystem::Posix(), clock_, con2_.get(), &ids_};
  auto other = DeltaTable::Open(other_env, root_);
  ASSERT_TRUE(other.ok());
  fs_->before_commit = [&] {
    auto r = (*other)->Append("SELECT 100 AS id, 'other' AS name", options_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  };
  auto r = table->Append("SELECT 1 AS id, 'mine' AS name", options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version, 2);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "1,mine|100,other");
  EXPECT_EQ(InfoAt(*table, 2).read_version.value_or(-1), 0);
}

TEST_F(DeltaTableTest, RacingDeletesOfTheSameFileConflict) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT range AS id, 'a' AS name FROM range(10)", options_).ok());
  TableEnv other_env{FileSystem::Posix(), clock_, con2_.get(), &ids_};
  auto other = DeltaTable::Open(other_env, root_);
  ASSERT_TRUE(other.ok());
  fs_->before_commit = [&] {
    auto r = (*other)->DeleteWhere("id = 1", options_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  };
  auto lost = table->DeleteWhere("id = 2", options_);
  EXPECT_TRUE(lost.status().IsConflict()) << lost.status().ToString();
  EXPECT_NE(lost.status().message().find("version 1"), std::string::npos)
      << lost.status().message();
  EXPECT_NE(lost.status().message().find("version 2"), std::string::npos)
      << lost.status().message();
  EXPECT_EQ(RowsAt(*table, std::nullopt, "count(*)"), "9");
  // The loser's files are gone, so nothing but the winner's files is in the folder.
  auto files = FileSystem::Posix()->ListRecursive(root_);
  ASSERT_TRUE(files.ok());
  auto live = LivePaths(*table);
  int data_files = 0;
  for (const auto& f : *files) data_files += f.name.rfind("_delta_log/", 0) != 0;
  EXPECT_EQ(data_files, 2);  // the original file (tombstoned) and the winner's rewrite
  EXPECT_EQ(live.size(), 1u);

  // A retry after the conflict succeeds.
  auto retried = table->DeleteWhere("id = 2", options_);
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(RowsAt(*table, std::nullopt, "count(*)"), "8");
}

TEST_F(DeltaTableTest, DeletesOfDifferentPartitionsBothCommit) {
  Schema schema({Field{"day", "string", true, "{}"}, Field{"id", "long", true, "{}"}});
  auto table = CreateTable(schema, {"day"});
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table
                  ->Append("SELECT CASE WHEN range < 5 THEN 'mon' ELSE 'tue' END AS day, "
                           "range AS id FROM range(10)",
                           options_)
                  .ok());
  TableEnv other_env{FileSystem::Posix(), clock_, con2_.get(), &ids_};
  auto other = DeltaTable::Open(other_env, root_);
  ASSERT_TRUE(other.ok());
  fs_->before_commit = [&] {
    auto r = (*other)->DeleteWhere("id = 1", options_);  // rewrites the 'mon' file
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  };
  // Reads and rewrites only the 'tue' file: the winner touched nothing it read.
  auto r = table->DeleteWhere("id = 7", options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->version, 3);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(RowsAt(*table, std::nullopt, "id"), "0|2|3|4|5|6|8|9");
}

TEST_F(DeltaTableTest, FailedCommitLeavesTheTableAndVacuumTakesTheFiles) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  fs_->fail_commits = true;
  auto r = table->Append("SELECT 1 AS id, 'a' AS name", options_);
  EXPECT_EQ(r.status().code(), Status::Code::kIOError) << r.status().ToString();
  EXPECT_NE(r.status().message().find("version 1"), std::string::npos) << r.status().message();
  fs_->fail_commits = false;
  EXPECT_EQ(table->Latest()->version, 0);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "");
  // Whether such a commit landed is unknown to the writer, so its file stays for vacuum.
  clock_->Advance(8 * kDay);
  auto vacuumed = table->Vacuum(168, false, false);
  ASSERT_TRUE(vacuumed.ok());
  EXPECT_EQ(vacuumed->deleted.size(), 1u);
}

TEST_F(DeltaTableTest, CheckpointFailureDoesNotFailTheCommit) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  fs_->fail_writes_containing = "checkpoint";
  for (int i = 1; i <= 10; ++i) {
    auto r = table->Append("SELECT " + std::to_string(i) + " AS id, 'x' AS name", options_);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->version, i);
  }
  EXPECT_FALSE(
      FileSystem::Posix()->Exists(root_ + "/_delta_log/00000000000000000010.checkpoint.parquet"));
  EXPECT_EQ(RowsAt(*table, std::nullopt, "count(*)"), "10");
}

TEST_F(DeltaTableTest, GivesUpAfterMaxCommitAttempts) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  TableEnv other_env{FileSystem::Posix(), clock_, con2_.get(), &ids_};
  auto other = DeltaTable::Open(other_env, root_);
  ASSERT_TRUE(other.ok());
  fs_->before_commit = [&] {
    ASSERT_TRUE((*other)->Append("SELECT 100 AS id, 'other' AS name", options_).ok());
  };
  WriteOptions once = options_;
  once.max_commit_attempts = 1;
  auto r = table->Append("SELECT 1 AS id, 'mine' AS name", once);
  EXPECT_TRUE(r.status().IsConflict()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("1 commit attempts"), std::string::npos);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "100,other");
  // The loser removed its own file: only the winner's is left.
  auto files = FileSystem::Posix()->ListRecursive(root_);
  ASSERT_TRUE(files.ok());
  int data_files = 0;
  for (const auto& f : *files) data_files += f.name.rfind("_delta_log/", 0) != 0;
  EXPECT_EQ(data_files, 1);
}

TEST_F(DeltaTableTest, MergeConflictsWithConcurrentAppendAndSchemaChange) {
  auto table = CreateTable(IdNameSchema());
  ASSERT_NE(table, nullptr);
  ASSERT_TRUE(table->Append("SELECT 1 AS id, 'a' AS name", options_).ok());
  TableEnv other_env{FileSystem::Posix(), clock_, con2_.get(), &ids_};
  auto other = DeltaTable::Open(other_env, root_);
  ASSERT_TRUE(other.ok());
  fs_->before_commit = [&] {
    ASSERT_TRUE((*other)->Append("SELECT 2 AS id, 'b' AS name", options_).ok());
  };
  auto merge = table->Merge("SELECT 2 AS id, 'm' AS name", {"id"}, options_);
  EXPECT_TRUE(merge.status().IsConflict()) << merge.status().ToString();
  EXPECT_EQ(RowsAt(*table, std::nullopt), "1,a|2,b");
  // An append of other keys does not collide: the merge rebases.
  fs_->before_commit = [&] {
    ASSERT_TRUE((*other)->Append("SELECT 5 AS id, 'e' AS name", options_).ok());
  };
  auto rebased = table->Merge("SELECT 1 AS id, 'm' AS name", {"id"}, options_);
  ASSERT_TRUE(rebased.ok()) << rebased.status().ToString();
  EXPECT_EQ(rebased->attempts, 2);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "1,m|2,b|5,e");

  WriteOptions evolve = options_;
  evolve.merge_schema = true;
  fs_->before_commit = [&] {
    ASSERT_TRUE((*other)->Append("SELECT 3 AS id, 1.5 AS x", evolve).ok());
  };
  auto append = table->Append("SELECT 4 AS id", options_);
  EXPECT_TRUE(append.status().IsConflict()) << append.status().ToString();
  EXPECT_NE(append.status().message().find("metadata"), std::string::npos);
}

}  // namespace
}  // namespace dew::lake

namespace dew::lake {
namespace {

TEST_F(DeltaTableTest, ConstantPartitionWritesStraightIntoItsFolder) {
  Schema schema({Field{"day", "string", true, "{}"}, Field{"id", "long", true, "{}"}});
  auto table = CreateTable(schema, {"day"});
  ASSERT_NE(table, nullptr);
  WriteOptions options = options_;
  options.constant_partitions["day"] = "a/b c%";
  auto appended = table->Append("SELECT 'a/b c%' AS day, range AS id FROM range(4)", options);
  ASSERT_TRUE(appended.ok()) << appended.status().ToString();
  // The same rows through DuckDB's partitioned writer, for comparison.
  ASSERT_TRUE(table->Append("SELECT 'x' AS day, range + 10 AS id FROM range(2)", options_).ok());
  auto snapshot = table->Latest();
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->files.size(), 2u);
  int constant_files = 0;
  for (const auto& f : snapshot->files) {
    if (f.partition_values.at("day") == std::optional<std::string>("a/b c%")) {
      constant_files++;
      EXPECT_EQ(DecodePath(f.path).rfind("day=a%2Fb%20c%25/part-", 0), 0u) << f.path;
      EXPECT_EQ(f.NumRecords(), 4);
    }
  }
  EXPECT_EQ(constant_files, 1);
  EXPECT_EQ(RowsAt(*table, std::nullopt), "a/b c%,0|a/b c%,1|a/b c%,2|a/b c%,3|x,10|x,11");
}

}  // namespace
}  // namespace dew::lake
