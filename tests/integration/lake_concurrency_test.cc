// Writers racing on one table, each on its own connection to one database: appends all land
// exactly once at contiguous versions; racing merges and deletes on the same files give one
// winner and a Conflict (or a clean success when no collision), never a broken log.
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <atomic>
#include <barrier>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/file_system.h"
#include "core/id_generator.h"
#include "engine/connection.h"
#include "engine/database.h"
#include "lake/conformance.h"
#include "lake/delta_table.h"
#include "lake/table_scan.h"

extern char** environ;

namespace dew::lake {
namespace {

class LakeConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_lake_race_XXXXXX";
    const char* made = mkdtemp(tmpl);
    ASSERT_NE(made, nullptr);
    dir_ = made;
    root_ = dir_ + "/table";
    auto db = engine::Database::Open(engine::DatabaseOptions{});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    for (int i = 0; i < 5; ++i) {
      auto con = db_->Connect();
      ASSERT_TRUE(con.ok());
      cons_.push_back(std::move(*con));
    }
    Schema schema({Field{"id", "long", true, "{}"}, Field{"name", "string", true, "{}"}});
    auto table = DeltaTable::Create(Env(0), root_, "race", schema, {}, WriteOptions{});
    ASSERT_TRUE(table.ok()) << table.status().ToString();
  }
  void TearDown() override {
    cons_.clear();
    if (!dir_.empty()) (void)FileSystem::Posix()->RemoveAll(dir_);
  }

  TableEnv Env(int i) { return TableEnv{fs_, clock_, cons_[i].get(), &ids_}; }

  // Every version from 0 to the latest exists and the rows' ids are unique; returns the rows.
  int64_t CheckLog(const std::string& what) {
    auto table = DeltaTable::Open(Env(0), root_);
    EXPECT_TRUE(table.ok());
    if (!table.ok()) return -1;
    auto versions = (*table)->log().ListCommitVersions();
    EXPECT_TRUE(versions.ok());
    for (size_t i = 0; versions.ok() && i < versions->size(); ++i) {
      EXPECT_EQ((*versions)[i], static_cast<int64_t>(i)) << what << ": gap in the log";
    }
    auto snapshot = (*table)->Latest();
    EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    if (!snapshot.ok()) return -1;
    auto scan = ScanSql(*snapshot);
    EXPECT_TRUE(scan.ok());
    auto agg = cons_[0]->QueryText("SELECT count(*), count(DISTINCT id) FROM (" + *scan + ")");
    EXPECT_TRUE(agg.ok()) << agg.status().ToString();
    if (!agg.ok()) return -1;
    EXPECT_EQ(agg->rows[0][0], agg->rows[0][1]) << what << ": duplicate ids";
    Status valid = ValidateDeltaLog(*fs_, root_, cons_[0].get());
    EXPECT_TRUE(valid.ok()) << what << ": " << valid.ToString();
    return std::stoll(agg->rows[0][0].value_or("-1"));
  }

  std::string dir_;
  std::string root_;
  std::shared_ptr<FileSystem> fs_ = FileSystem::Posix();
  std::shared_ptr<Clock> clock_ = Clock::System();
  IdGenerator ids_;
  std::unique_ptr<engine::Database> db_;
  std::vector<std::unique_ptr<engine::Connection>> cons_;
};

TEST_F(LakeConcurrencyTest, ConcurrentAppendsLandExactlyOnce) {
  constexpr int kThreads = 4;
  constexpr int kAppends = 12;
  std::vector<std::vector<int64_t>> versions(kThreads);
  std::vector<std::string> errors(kThreads);
  std::atomic<int> retried{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto table = DeltaTable::Open(Env(t + 1), root_);
      if (!table.ok()) {
        errors[t] = table.status().ToString();
        return;
      }
      WriteOptions options;
      options.run_id = "thread-" + std::to_string(t);
      options.max_commit_attempts = kThreads * kAppends + 1;
      for (int i = 0; i < kAppends; ++i) {
        const int64_t first = (t * 100 + i) * 10;
        auto r =
            (*table)->Append("SELECT range AS id, 'x' AS name FROM range(" + std::to_string(first) +
                                 ", " + std::to_string(first + 10) + ")",
                             options);
        if (!r.ok()) {
          errors[t] = r.status().ToString();
          return;
        }
        if (r->attempts > 1) retried++;
        versions[t].push_back(r->version);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    for (int64_t v : versions[t]) EXPECT_TRUE(all.insert(v).second) << "version " << v << " twice";
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kAppends));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kThreads * kAppends);
  EXPECT_EQ(CheckLog("appends"), kThreads * kAppends * 10);
  std::printf("appends that lost a race and rebased: %d\n", retried.load());
}

TEST_F(LakeConcurrencyTest, RacingMergesAndDeletesOneWinsOrConflicts) {
  {
    auto table = DeltaTable::Open(Env(0), root_);
    ASSERT_TRUE(table.ok());
    ASSERT_TRUE((*table)->Append("SELECT range AS id, 'base' AS name FROM range(100)", {}).ok());
  }
  constexpr int kRounds = 8;
  std::barrier sync(2);
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::string> errors(2);
  auto worker = [&](int t) {
    auto table = DeltaTable::Open(Env(t + 1), root_);
    if (!table.ok()) {
      errors[t] = table.status().ToString();
      return;
    }
    WriteOptions options;
    for (int round = 0; round < kRounds; ++round) {
      sync.arrive_and_wait();
      Result<CommitResult> r = Status::Internal("unset");
      if (round % 2 == 0) {
        // Both upsert the same keys: a second winner would duplicate nothing but lose an update
        // it never saw, so it must conflict unless it read the winner's version.
        r = (*table)->Merge("SELECT range AS id, 'thread" + std::to_string(t) +
                                "' AS name FROM range(" + std::to_string(round * 5) + ", " +
                                std::to_string(round * 5 + 5) + ") UNION ALL SELECT " +
                                std::to_string(1000 + round * 10 + t) + ", 'new'",
                            {"id"}, options);
      } else {
        r = (*table)->DeleteWhere("id = " + std::to_string(50 + round * 2 + t), options);
      }
      if (r.ok()) {
        wins++;
      } else if (r.status().IsConflict()) {
        conflicts++;
        if (r.status().message().find("version") == std::string::npos) {
          errors[t] = "conflict without versions: " + r.status().message();
        }
      } else {
        errors[t] = r.status().ToString();
        return;
      }
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(wins + conflicts, 2 * kRounds);
  EXPECT_GE(wins.load(), kRounds);  // every round has a winner
  const int64_t rows = CheckLog("merges and deletes");
  auto table = DeltaTable::Open(Env(0), root_);
  ASSERT_TRUE(table.ok());
  auto latest = (*table)->Latest();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version, 1 + wins.load());
  // Rows = 100 + one insert per winning merge - one per winning delete.
  int64_t expected = 100;
  for (int64_t v = 2; v <= latest->version; ++v) {
    auto actions = (*table)->log().ReadCommit(v);
    ASSERT_TRUE(actions.ok());
    const auto& info = *actions->commit_info;
    if (info.operation == "MERGE")
      expected += std::stoll(info.operation_metrics.at("numTargetRowsInserted"));
    if (info.operation == "DELETE")
      expected -= std::stoll(info.operation_metrics.at("numDeletedRows"));
  }
  EXPECT_EQ(rows, expected);
  std::printf("racing merges/deletes: %d committed, %d conflicts\n", wins.load(), conflicts.load());
}

// Two dew_lake_writer processes on one table, on disjoint batches: their appends, merges and
// deletes never touch each other's rows, so every operation commits (rebasing when it loses a
// race) and the table ends with exactly the rows both logs say.
TEST_F(LakeConcurrencyTest, TwoWriterProcessesCommitEverything) {
  constexpr int kBatches = 15;
  std::vector<pid_t> pids;
  for (int first : {1000, 2000}) {
    std::vector<std::string> args = {DEW_LAKE_WRITER, root_, std::to_string(first),
                                     std::to_string(kBatches)};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    ASSERT_EQ(posix_spawn(&pid, DEW_LAKE_WRITER, nullptr, nullptr, argv.data(), environ), 0);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << "writer failed: " << wstatus;
  }
  auto table = DeltaTable::Open(Env(0), root_);
  ASSERT_TRUE(table.ok());
  auto latest = (*table)->Latest();
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  // Batch b holds ids [b*1000, b*1000 + 50 + (b*37) % 200), as the writer makes them.
  std::set<int64_t> expected;
  int64_t commits = 0;
  for (int64_t v = 1; v <= latest->version; ++v) {
    auto actions = (*table)->log().ReadCommit(v);
    ASSERT_TRUE(actions.ok());
    ++commits;
    const auto& params = actions->commit_info->operation_parameters;
    for (const char* key : {"dewTestAdded", "dewTestDeleted"}) {
      auto it = params.find(key);
      if (it == params.end()) continue;
      for (const auto& b : nlohmann::json::parse(it->second)) {
        const int64_t batch = b.get<int64_t>();
        for (int64_t i = 0; i < 50 + (batch * 37) % 200; ++i) {
          if (std::string(key) == "dewTestAdded") {
            expected.insert(batch * 1000 + i);
          } else {
            expected.erase(batch * 1000 + i);
          }
        }
      }
    }
  }
  EXPECT_EQ(commits, 2 * kBatches);  // no delete found nothing: each batch is one commit
  EXPECT_EQ(CheckLog("two processes"), static_cast<int64_t>(expected.size()));
}

}  // namespace
}  // namespace dew::lake
