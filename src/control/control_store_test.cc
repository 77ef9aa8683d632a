// The ControlStore contract, run on every implementation: SQLite (a file in a temp dir) and
// PostgreSQL (a real server started once per test process, one database per test).
#include "control/control_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/migrations.h"
#include "control/open_control_store.h"
#include "control/postgres_control_store.h"
#include "control/sqlite_control_store.h"
#include "core/clock.h"
#include "support/postgres_server.h"

namespace dew::control {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;

enum class Backend { kSqlite, kPostgres };

std::string MakeTempDir() {
  char tmpl[] = "/tmp/dew_control_store_test_XXXXXX";
  const char* dir = mkdtemp(tmpl);
  EXPECT_NE(dir, nullptr);
  return dir == nullptr ? std::string("/tmp") : std::string(dir);
}

// One PostgreSQL server for the whole test process, started on first use and stopped at exit.
testing::PostgresServer* SharedServer(Status* start_status) {
  static testing::PostgresServer server;
  static Status status = server.Start();
  *start_status = status;
  return &server;
}

class ControlStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>(kT0);
    if (GetParam() == Backend::kSqlite) {
      location_ = MakeTempDir() + "/control.db";
    } else {
      if (!testing::PostgresServer::Available()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
      Status started;
      server_ = SharedServer(&started);
      ASSERT_TRUE(started.ok()) << started.ToString();
      static std::atomic<int> counter{0};
      database_ = "dew_store_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
      auto created = server_->RunSql("CREATE DATABASE " + database_);
      ASSERT_TRUE(created.ok()) << created.status().ToString();
      location_ = server_->ConnectionString(database_);
    }
    auto store = OpenStore();
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  //! Another store object on the same database (its own connection), as a second process has.
  Result<std::unique_ptr<ControlStore>> OpenStore() {
    if (GetParam() == Backend::kSqlite) {
      DEW_ASSIGN_OR_RETURN(auto store, SqliteControlStore::Open(location_, clock_));
      return std::unique_ptr<ControlStore>(std::move(store));
    }
    DEW_ASSIGN_OR_RETURN(auto store, PostgresControlStore::Open(location_, clock_));
    return std::unique_ptr<ControlStore>(std::move(store));
  }

  void CreateRun(const std::string& id, const std::string& pipeline) {
    NewRun run;
    run.id = id;
    run.pipeline = pipeline;
    Status s = store_->CreateRun(run);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::shared_ptr<ManualClock> clock_;
  std::string location_;  // SQLite path or libpq connection string
  std::string database_;  // PostgreSQL only
  testing::PostgresServer* server_ = nullptr;
  std::unique_ptr<ControlStore> store_;
};

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "sqlite" : "postgres";
}

INSTANTIATE_TEST_SUITE_P(Stores, ControlStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

// --- audit log ---

TEST_P(ControlStoreTest, AuditLogIsAHashChainThatShowsAnyChange) {
  auto first =
      store_->AppendAudit("ana", "run.start", "run-1", R"({"params":{"period":"2026-10"}})");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->id, 1);
  EXPECT_EQ(first->prev_hash, "");
  EXPECT_EQ(first->at_ms, kT0);
  EXPECT_EQ(first->hash.size(), 64u);
  clock_->Advance(5);
  ASSERT_TRUE(store_->AppendAudit("schedule", "run.start", "run-2", "{}").ok());
  clock_->Advance(5);
  auto third = store_->AppendAudit("ben", "run.rollback", "run-1", R"({"tables":["gold.x"]})");
  ASSERT_TRUE(third.ok());
  auto all = store_->ListAudit(0, 100);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].prev_hash, (*all)[0].hash);
  EXPECT_EQ((*all)[2].hash, third->hash);
  EXPECT_EQ((*all)[2].at_ms, kT0 + 10);
  EXPECT_EQ((*all)[2].details_json, R"({"tables":["gold.x"]})");
  EXPECT_TRUE(VerifyAuditChain(*all).ok());
  auto page = store_->ListAudit(1, 1);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, 2);
  EXPECT_TRUE(VerifyAuditChain(*page, (*all)[0].hash).ok());

  // An entry changed, removed or reordered after the fact breaks the chain at that entry.
  auto changed = *all;
  changed[1].actor = "mallory";
  Status s = VerifyAuditChain(changed);
  ASSERT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("audit entry 2"), std::string::npos) << s.message();
  auto removed = *all;
  removed.erase(removed.begin() + 1);
  s = VerifyAuditChain(removed);
  ASSERT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("audit entry 3"), std::string::npos) << s.message();

  EXPECT_TRUE(store_->AppendAudit("", "run.start", "x", "{}").status().IsInvalidArgument());
  EXPECT_TRUE(store_->AppendAudit("ana", "", "x", "{}").status().IsInvalidArgument());
  EXPECT_TRUE(store_->AppendAudit("ana", "run.start", "x", "[1]").status().IsInvalidArgument());
  EXPECT_EQ(store_->ListAudit(0, 100)->size(), 3u);
}

TEST_P(ControlStoreTest, ConcurrentAppendersKeepOneAuditChain) {
  constexpr int kStores = 3;
  constexpr int kEach = 25;
  std::vector<std::unique_ptr<ControlStore>> stores;
  for (int i = 0; i < kStores; ++i) {
    auto s = OpenStore();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    stores.push_back(std::move(s).value());
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kStores; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < kEach; ++j) {
        auto e = stores[i]->AppendAudit("worker-" + std::to_string(i), "run.start",
                                        "run-" + std::to_string(j), "{}");
        if (!e.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = store_->ListAudit(0, 1000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), static_cast<size_t>(kStores * kEach));
  for (size_t i = 0; i < all->size(); ++i) EXPECT_EQ((*all)[i].id, static_cast<int64_t>(i + 1));
  EXPECT_TRUE(VerifyAuditChain(*all).ok()) << VerifyAuditChain(*all).ToString();
}

// --- test results and quality scores ---

TestResultRecord TestResult(const std::string& run, const std::string& test,
                            const std::string& status, int64_t at,
                            std::optional<int64_t> observed = std::nullopt) {
  TestResultRecord r;
  r.run_id = run;
  r.test_id = test;
  r.target = "stg_orders";
  r.relation = "silver.stg_orders";
  r.test_type = observed ? "row_count" : "not_null";
  r.severity = "error";
  r.status = status;
  r.failures = status == "pass" ? 0 : 2;
  r.message = status == "pass" ? "" : "2 failing rows in silver.stg_orders\n    id=NULL";
  r.at_ms = at;
  r.duration_ms = 7;
  r.observed = observed;
  return r;
}

TEST_P(ControlStoreTest, TestResultsAreStoredPerRunAndListedNewestFirst) {
  CreateRun("r1", "build");
  CreateRun("r2", "build");
  ASSERT_TRUE(store_
                  ->AddTestResults({TestResult("r1", "not_null_id", "pass", kT0),
                                    TestResult("r1", "row_count_stg_orders", "pass", kT0, 100)})
                  .ok());
  ASSERT_TRUE(store_
                  ->AddTestResults({TestResult("r2", "not_null_id", "fail", kT0 + 10),
                                    TestResult("r2", "row_count_stg_orders", "fail", kT0 + 10, 50)})
                  .ok());
  auto all = store_->ListTestResults({});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].run_id, "r2");
  EXPECT_EQ((*all)[0].test_id, "row_count_stg_orders");
  EXPECT_EQ((*all)[0].observed, std::optional<int64_t>(50));
  EXPECT_GT((*all)[0].id, (*all)[1].id);
  const TestResultRecord& failed = (*all)[1];
  EXPECT_EQ(failed.status, "fail");
  EXPECT_EQ(failed.target, "stg_orders");
  EXPECT_EQ(failed.relation, "silver.stg_orders");
  EXPECT_EQ(failed.test_type, "not_null");
  EXPECT_EQ(failed.severity, "error");
  EXPECT_EQ(failed.failures, 2);
  EXPECT_EQ(failed.message, "2 failing rows in silver.stg_orders\n    id=NULL");
  EXPECT_EQ(failed.at_ms, kT0 + 10);
  EXPECT_EQ(failed.duration_ms, 7);
  EXPECT_FALSE(failed.observed.has_value());

  TestResultFilter by_test;
  by_test.test_id = "row_count_stg_orders";
  by_test.limit = 5;
  auto history = store_->ListTestResults(by_test);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].observed, std::optional<int64_t>(50));
  EXPECT_EQ((*history)[1].observed, std::optional<int64_t>(100));

  TestResultFilter problems;
  problems.run_id = "r2";
  problems.problems_only = true;
  problems.limit = 1;
  auto failing = store_->ListTestResults(problems);
  ASSERT_TRUE(failing.ok());
  ASSERT_EQ(failing->size(), 1u);
  EXPECT_EQ((*failing)[0].run_id, "r2");
  TestResultFilter r1_problems;
  r1_problems.run_id = "r1";
  r1_problems.problems_only = true;
  EXPECT_TRUE(store_->ListTestResults(r1_problems)->empty());
  TestResultFilter other_target;
  other_target.target = "gold_sales";
  EXPECT_TRUE(store_->ListTestResults(other_target)->empty());
}

TEST_P(ControlStoreTest, TestResultsOfAnUnknownRunAreRefusedWhole) {
  CreateRun("r1", "build");
  Status s = store_->AddTestResults({TestResult("r1", "not_null_id", "pass", kT0),
                                     TestResult("nope", "not_null_id", "pass", kT0)});
  ASSERT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_NE(s.message().find("nope"), std::string::npos) << s.ToString();
  EXPECT_TRUE(store_->ListTestResults({})->empty());  // all or none
}

QualityScoreRecord ScoreOf(const std::string& run, const std::string& target, int64_t passed,
                           int64_t total, int64_t at) {
  QualityScoreRecord q;
  q.run_id = run;
  q.target = target;
  q.passed_weight = passed;
  q.total_weight = total;
  q.checks = 3;
  q.failed = passed == total ? 0 : 1;
  q.upstream_json = R"(["stg_orders"])";
  q.at_ms = at;
  return q;
}

TEST_P(ControlStoreTest, QualityScoresKeepAHistoryPerTarget) {
  CreateRun("r1", "build");
  CreateRun("r2", "build");
  ASSERT_TRUE(store_
                  ->AddQualityScores({ScoreOf("r1", "gold_sales", 7, 7, kT0),
                                      ScoreOf("r1", "stg_orders", 4, 7, kT0)})
                  .ok());
  ASSERT_TRUE(store_->AddQualityScores({ScoreOf("r2", "gold_sales", 6, 7, kT0 + 5)}).ok());

  QualityScoreFilter gold;
  gold.target = "gold_sales";
  auto trend = store_->ListQualityScores(gold);
  ASSERT_TRUE(trend.ok()) << trend.status().ToString();
  ASSERT_EQ(trend->size(), 2u);
  EXPECT_EQ((*trend)[0].run_id, "r2");
  EXPECT_DOUBLE_EQ((*trend)[0].score(), 6.0 / 7.0);
  EXPECT_EQ((*trend)[0].upstream_json, R"(["stg_orders"])");
  EXPECT_EQ((*trend)[0].checks, 3);
  EXPECT_EQ((*trend)[0].failed, 1);
  EXPECT_EQ((*trend)[0].at_ms, kT0 + 5);
  EXPECT_DOUBLE_EQ((*trend)[1].score(), 1.0);

  QualityScoreFilter of_run;
  of_run.run_id = "r1";
  EXPECT_EQ(store_->ListQualityScores(of_run)->size(), 2u);

  auto latest = store_->LatestQualityScores();
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].target, "gold_sales");
  EXPECT_EQ((*latest)[0].run_id, "r2");
  EXPECT_EQ((*latest)[1].target, "stg_orders");
  EXPECT_EQ((*latest)[1].run_id, "r1");

  // A second score of the same run and target (a later task tested it again) replaces it.
  ASSERT_TRUE(store_->AddQualityScores({ScoreOf("r2", "gold_sales", 1, 1, kT0 + 6)}).ok());
  of_run.run_id = "r2";
  auto replaced = store_->ListQualityScores(of_run);
  ASSERT_TRUE(replaced.ok());
  ASSERT_EQ(replaced->size(), 1u);
  EXPECT_DOUBLE_EQ((*replaced)[0].score(), 1.0);
  EXPECT_EQ((*replaced)[0].at_ms, kT0 + 6);
  Status unknown = store_->AddQualityScores({ScoreOf("nope", "gold_sales", 1, 1, kT0)});
  EXPECT_TRUE(unknown.IsNotFound()) << unknown.ToString();
}

TEST_P(ControlStoreTest, PipelinesUpsertGetList) {
  ASSERT_TRUE(store_->UpsertPipeline("b_pipe", "hash1").ok());
  clock_->Advance(10);
  ASSERT_TRUE(store_->UpsertPipeline("a_pipe", "hash2").ok());
  ASSERT_TRUE(store_->UpsertPipeline("b_pipe", "hash3").ok());
  ASSERT_TRUE(store_->UpsertPipeline("B_pipe", "hash4").ok());
  auto b = store_->GetPipeline("b_pipe");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->spec_hash, "hash3");
  EXPECT_EQ(b->updated_at_ms, kT0 + 10);
  auto list = store_->ListPipelines();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "B_pipe");  // byte order on both stores
  EXPECT_EQ((*list)[1].name, "a_pipe");
  EXPECT_EQ((*list)[2].name, "b_pipe");
  auto missing = store_->GetPipeline("nope");
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  EXPECT_TRUE(store_->UpsertPipeline("", "h").IsInvalidArgument());
}

TEST_P(ControlStoreTest, CreateAndGetRun) {
  NewRun run;
  run.id = "r1";
  run.pipeline = "nightly";
  run.trigger = TriggerKind::kBackfill;
  run.triggered_by = "alice";
  run.params_json = R"({"start_date":"2026-01-01","quote":"it's"})";
  run.logical_date = "2026-01-01";
  ASSERT_TRUE(store_->CreateRun(run).ok());
  auto got = store_->GetRun("r1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->pipeline, "nightly");
  EXPECT_EQ(got->status, RunStatus::kQueued);
  EXPECT_EQ(got->trigger, TriggerKind::kBackfill);
  EXPECT_EQ(got->triggered_by, "alice");
  EXPECT_EQ(got->params_json, run.params_json);
  EXPECT_EQ(got->logical_date, "2026-01-01");
  EXPECT_EQ(got->created_at_ms, kT0);
  EXPECT_FALSE(got->started_at_ms.has_value());
  EXPECT_FALSE(got->finished_at_ms.has_value());

  Status dup = store_->CreateRun(run);
  EXPECT_TRUE(dup.IsAlreadyExists()) << dup.ToString();
  EXPECT_NE(dup.message().find("r1"), std::string::npos);
  EXPECT_TRUE(store_->GetRun("r2").status().IsNotFound());
  NewRun empty;
  empty.pipeline = "p";
  EXPECT_TRUE(store_->CreateRun(empty).IsInvalidArgument());
}

TEST_P(ControlStoreTest, RunTransitionsSetTimes) {
  CreateRun("r1", "p");
  clock_->Advance(5);
  ASSERT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kRunning).ok());
  clock_->Advance(7);
  ASSERT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kFailed, "task x failed").ok());
  auto got = store_->GetRun("r1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, RunStatus::kFailed);
  EXPECT_EQ(got->started_at_ms, kT0 + 5);
  EXPECT_EQ(got->finished_at_ms, kT0 + 12);
  EXPECT_EQ(got->error, "task x failed");
}

TEST_P(ControlStoreTest, FinishedRunCannotGoBackToRunning) {
  CreateRun("r1", "p");
  ASSERT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kRunning).ok());
  ASSERT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kSucceeded).ok());
  Status s = store_->UpdateRunStatus("r1", RunStatus::kRunning);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("r1"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("succeeded"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("running"), std::string::npos) << s.message();
  auto got = store_->GetRun("r1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, RunStatus::kSucceeded);
}

TEST_P(ControlStoreTest, RefusedTransitions) {
  CreateRun("r1", "p");
  EXPECT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kSucceeded).IsInvalidArgument());
  EXPECT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kQueued).IsInvalidArgument());
  EXPECT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kSkipped).IsInvalidArgument());
  ASSERT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kCancelled).ok());
  EXPECT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kFailed).IsInvalidArgument());
  EXPECT_TRUE(store_->UpdateRunStatus("nope", RunStatus::kRunning).IsNotFound());
  EXPECT_TRUE(IsAllowedTransition(RunStatus::kQueued, RunStatus::kRunning));
  EXPECT_FALSE(IsAllowedTransition(RunStatus::kRunning, RunStatus::kQueued));
  EXPECT_FALSE(IsAllowedTransition(RunStatus::kFailed, RunStatus::kRunning));
}

TEST_P(ControlStoreTest, ListRunsFiltersNewestFirst) {
  CreateRun("a1", "a");
  clock_->Advance(1);
  CreateRun("b1", "b");
  clock_->Advance(1);
  CreateRun("a2", "a");
  clock_->Advance(1);
  CreateRun("a3", "a");
  ASSERT_TRUE(store_->UpdateRunStatus("a2", RunStatus::kRunning).ok());

  auto all = store_->ListRuns({});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].id, "a3");
  EXPECT_EQ((*all)[3].id, "a1");

  RunFilter by_pipeline;
  by_pipeline.pipeline = "a";
  by_pipeline.limit = 2;
  auto a = store_->ListRuns(by_pipeline);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].id, "a3");
  EXPECT_EQ((*a)[1].id, "a2");

  RunFilter by_status;
  by_status.status = RunStatus::kQueued;
  auto queued = store_->ListRuns(by_status);
  ASSERT_TRUE(queued.ok());
  ASSERT_EQ(queued->size(), 3u);
  for (const RunRecord& r : *queued) EXPECT_NE(r.id, "a2");

  RunFilter both;
  both.pipeline = "a";
  both.status = RunStatus::kRunning;
  auto running = store_->ListRuns(both);
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].id, "a2");
}

TEST_P(ControlStoreTest, AttemptLifecycle) {
  CreateRun("r1", "p");
  auto first = store_->EnqueueAttempt("r1", "extract", 1);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  clock_->Advance(1);
  auto second = store_->EnqueueAttempt("r1", "load", 1);
  ASSERT_TRUE(second.ok());
  auto dup = store_->EnqueueAttempt("r1", "extract", 1);
  EXPECT_TRUE(dup.status().IsAlreadyExists()) << dup.status().ToString();
  auto no_run = store_->EnqueueAttempt("ghost", "extract", 1);
  EXPECT_TRUE(no_run.status().IsNotFound()) << no_run.status().ToString();
  EXPECT_NE(no_run.status().message().find("ghost"), std::string::npos);

  clock_->Advance(10);
  auto claimed = store_->ClaimNextAttempt("w1");
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  ASSERT_TRUE(claimed->has_value());
  EXPECT_EQ((*claimed)->id, *first);  // oldest first
  EXPECT_EQ((*claimed)->status, AttemptStatus::kRunning);
  EXPECT_EQ((*claimed)->worker, "w1");
  EXPECT_EQ((*claimed)->started_at_ms, kT0 + 11);

  clock_->Advance(3);
  ASSERT_TRUE(store_->Heartbeat(*first, "w1").ok());
  Status other = store_->Heartbeat(*first, "w2");
  EXPECT_TRUE(other.IsInvalidArgument()) << other.ToString();
  EXPECT_TRUE(store_->Heartbeat(*second, "w1").IsInvalidArgument());  // still queued
  EXPECT_TRUE(store_->Heartbeat(9999, "w1").IsNotFound());
  auto got = store_->GetAttempt(*first);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->heartbeat_at_ms, kT0 + 14);

  EXPECT_TRUE(store_->FinishAttempt(*first, AttemptStatus::kRunning, 0, 0).IsInvalidArgument());
  ASSERT_TRUE(store_->FinishAttempt(*first, AttemptStatus::kSucceeded, 120, 100).ok());
  Status again = store_->FinishAttempt(*first, AttemptStatus::kFailed, 0, 0, "late");
  EXPECT_TRUE(again.IsInvalidArgument()) << again.ToString();
  EXPECT_NE(again.message().find("extract"), std::string::npos);
  EXPECT_TRUE(store_->FinishAttempt(9999, AttemptStatus::kFailed, 0, 0).IsNotFound());
  got = store_->GetAttempt(*first);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, AttemptStatus::kSucceeded);
  EXPECT_EQ(got->rows_read, 120);
  EXPECT_EQ(got->rows_written, 100);
  EXPECT_EQ(got->finished_at_ms, kT0 + 14);

  auto next = store_->ClaimNextAttempt("w2");
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->id, *second);
  auto none = store_->ClaimNextAttempt("w2");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_TRUE(store_->ClaimNextAttempt("").status().IsInvalidArgument());

  auto direct = store_->StartAttempt("r1", "extract", 2, "local");
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  auto list = store_->ListAttempts("r1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].task, "extract");
  EXPECT_EQ((*list)[0].attempt, 1);
  EXPECT_EQ((*list)[1].attempt, 2);
  EXPECT_EQ((*list)[1].status, AttemptStatus::kRunning);
  EXPECT_EQ((*list)[1].worker, "local");
  EXPECT_EQ((*list)[1].started_at_ms, kT0 + 14);
  EXPECT_EQ((*list)[2].task, "load");
}

TEST_P(ControlStoreTest, ListTaskAttemptsReadsOnlyTheNamedTasks) {
  CreateRun("r1", "p");
  CreateRun("r2", "p");
  ASSERT_TRUE(store_->EnqueueAttempt("r1", "b", 1).ok());
  ASSERT_TRUE(store_->EnqueueAttempt("r1", "a", 2).ok());
  ASSERT_TRUE(store_->EnqueueAttempt("r1", "a", 1).ok());
  ASSERT_TRUE(store_->EnqueueAttempt("r1", "c", 1).ok());
  ASSERT_TRUE(store_->EnqueueAttempt("r1", "we\"ird,{x}", 1).ok());
  ASSERT_TRUE(store_->EnqueueAttempt("r2", "a", 1).ok());
  auto got = store_->ListTaskAttempts("r1", {"b", "a", "ghost", "a", "we\"ird,{x}"});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 4u);
  EXPECT_EQ((*got)[0].task, "a");
  EXPECT_EQ((*got)[0].attempt, 1);
  EXPECT_EQ((*got)[1].task, "a");
  EXPECT_EQ((*got)[1].attempt, 2);
  EXPECT_EQ((*got)[2].task, "b");
  EXPECT_EQ((*got)[3].task, "we\"ird,{x}");
  for (const auto& a : *got) EXPECT_EQ(a.run_id, "r1");
  auto none = store_->ListTaskAttempts("r1", {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(ControlStoreTest, FailStaleAttemptsFailsOnlySilentRunningOnes) {
  CreateRun("r1", "p");
  auto stale = store_->StartAttempt("r1", "a", 1, "dead");
  auto alive = store_->StartAttempt("r1", "b", 1, "alive");
  auto queued = store_->EnqueueAttempt("r1", "c", 1);
  ASSERT_TRUE(stale.ok() && alive.ok() && queued.ok());
  clock_->Advance(50'000);
  ASSERT_TRUE(store_->Heartbeat(*alive, "alive").ok());
  clock_->Advance(20'000);
  auto failed = store_->FailStaleAttempts(60'000);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].id, *stale);
  EXPECT_EQ((*failed)[0].status, AttemptStatus::kFailed);
  EXPECT_EQ((*failed)[0].finished_at_ms, kT0 + 70'000);
  EXPECT_NE((*failed)[0].error.find("dead"), std::string::npos) << (*failed)[0].error;
  EXPECT_NE((*failed)[0].error.find("70000 ms ago"), std::string::npos) << (*failed)[0].error;
  EXPECT_EQ(store_->GetAttempt(*alive)->status, AttemptStatus::kRunning);
  EXPECT_EQ(store_->GetAttempt(*queued)->status, AttemptStatus::kQueued);
  // The dead worker's late heartbeat is refused: the attempt is no longer its to run.
  EXPECT_TRUE(store_->Heartbeat(*stale, "dead").IsInvalidArgument());
  auto again = store_->FailStaleAttempts(60'000);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST_P(ControlStoreTest, ListStaleAttemptsThenFailStaleAttemptOneByOne) {
  CreateRun("r1", "p");
  auto first = store_->StartAttempt("r1", "a", 1, "dead");
  auto second = store_->StartAttempt("r1", "b", 1, "slow");
  auto alive = store_->StartAttempt("r1", "c", 1, "alive");
  ASSERT_TRUE(first.ok() && second.ok() && alive.ok());
  clock_->Advance(50'000);
  ASSERT_TRUE(store_->Heartbeat(*alive, "alive").ok());
  clock_->Advance(20'000);
  auto stale = store_->ListStaleAttempts(60'000);
  ASSERT_TRUE(stale.ok()) << stale.status().ToString();
  ASSERT_EQ(stale->size(), 2u);
  EXPECT_EQ((*stale)[0].id, *first);
  EXPECT_EQ((*stale)[1].id, *second);
  EXPECT_EQ((*stale)[0].status, AttemptStatus::kRunning);  // listing changes nothing
  EXPECT_EQ(store_->GetAttempt(*first)->status, AttemptStatus::kRunning);

  auto failed = store_->FailStaleAttempt(*first, 60'000);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  ASSERT_TRUE(failed->has_value());
  EXPECT_EQ((*failed)->status, AttemptStatus::kFailed);
  EXPECT_EQ((*failed)->finished_at_ms, kT0 + 70'000);
  EXPECT_NE((*failed)->error.find("worker 'dead' stopped heartbeating"), std::string::npos)
      << (*failed)->error;
  EXPECT_NE((*failed)->error.find("70000 ms ago, limit 60000 ms"), std::string::npos)
      << (*failed)->error;
  EXPECT_EQ(store_->GetAttempt(*second)->status, AttemptStatus::kRunning);  // only that one
  // Already failed, heartbeating again, or never stale: left alone.
  auto again = store_->FailStaleAttempt(*first, 60'000);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  ASSERT_TRUE(store_->Heartbeat(*second, "slow").ok());
  auto revived = store_->FailStaleAttempt(*second, 60'000);
  ASSERT_TRUE(revived.ok());
  EXPECT_FALSE(revived->has_value());
  EXPECT_EQ(store_->GetAttempt(*second)->status, AttemptStatus::kRunning);
  auto fresh = store_->FailStaleAttempt(*alive, 60'000);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->has_value());
  auto listed = store_->ListStaleAttempts(60'000);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

TEST_P(ControlStoreTest, ClaimHonoursPriorityNotBeforeAndFinishedRuns) {
  CreateRun("r1", "p");
  CreateRun("r2", "p");
  NewAttempt late;
  late.run_id = "r1";
  late.task = "late";
  late.not_before_ms = kT0 + 1000;
  late.priority = 9;
  ASSERT_TRUE(store_->AddAttempt(late).ok());
  NewAttempt low;
  low.run_id = "r1";
  low.task = "low";
  ASSERT_TRUE(store_->AddAttempt(low).ok());
  NewAttempt high = low;
  high.task = "high";
  high.priority = 5;
  ASSERT_TRUE(store_->AddAttempt(high).ok());
  EXPECT_TRUE(store_->AddAttempt(high).status().IsAlreadyExists());
  NewAttempt other = low;
  other.run_id = "r2";
  other.task = "other";
  ASSERT_TRUE(store_->AddAttempt(other).ok());
  ASSERT_TRUE(store_->UpdateRunStatus("r2", RunStatus::kCancelled).ok());

  auto first = store_->ClaimNextAttempt("w");
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status().ToString();
  EXPECT_EQ((*first)->task, "high");
  EXPECT_EQ((*first)->priority, 5);
  auto second = store_->ClaimNextAttempt("w");
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->task, "low");
  // "late" is not due yet and r2's attempt belongs to a cancelled run.
  auto none = store_->ClaimNextAttempt("w");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  clock_->Advance(1000);
  auto third = store_->ClaimNextAttempt("w");
  ASSERT_TRUE(third.ok() && third->has_value());
  EXPECT_EQ((*third)->task, "late");
  EXPECT_EQ((*third)->not_before_ms, kT0 + 1000);

  auto cancelled = store_->CancelQueuedAttempts("r2", "run cancelled");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  EXPECT_EQ(*cancelled, 1);
  auto attempts = store_->ListAttempts("r2");
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].status, RunStatus::kCancelled);
  EXPECT_EQ((*attempts)[0].error, "run cancelled");
  EXPECT_EQ(store_->CancelQueuedAttempts("r2", "again").value(), 0);
}

TEST_P(ControlStoreTest, SkippedAttemptsAreFinalAtOnce) {
  CreateRun("r1", "p");
  NewAttempt skip;
  skip.run_id = "r1";
  skip.task = "down";
  skip.status = AttemptStatus::kSkipped;
  skip.error = "upstream up failed";
  auto id = store_->AddAttempt(skip);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto got = store_->GetAttempt(*id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, RunStatus::kSkipped);
  EXPECT_EQ(got->error, "upstream up failed");
  EXPECT_EQ(got->finished_at_ms, kT0);
  EXPECT_TRUE(store_->FinishAttempt(*id, RunStatus::kFailed, 0, 0).IsInvalidArgument());
  auto none = store_->ClaimNextAttempt("w");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  NewAttempt running = skip;
  running.task = "x";
  running.status = AttemptStatus::kRunning;
  EXPECT_TRUE(store_->AddAttempt(running).status().IsInvalidArgument());
  EXPECT_EQ(ParseRunStatus("skipped").value(), RunStatus::kSkipped);
}

TEST_P(ControlStoreTest, TryStartRunHonoursTheLimit) {
  CreateRun("a", "p");
  CreateRun("b", "p");
  CreateRun("c", "q");
  clock_->Advance(4);
  auto a = store_->TryStartRun("a", 1);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(*a);
  EXPECT_FALSE(store_->TryStartRun("a", 1).value());  // no longer queued
  EXPECT_FALSE(store_->TryStartRun("b", 1).value());  // p is at its limit
  EXPECT_TRUE(store_->TryStartRun("c", 1).value());   // q is not
  EXPECT_EQ(store_->GetRun("b")->status, RunStatus::kQueued);
  EXPECT_EQ(store_->GetRun("a")->started_at_ms, kT0 + 4);
  ASSERT_TRUE(store_->UpdateRunStatus("a", RunStatus::kSucceeded).ok());
  EXPECT_TRUE(store_->TryStartRun("b", 1).value());
  EXPECT_EQ(store_->GetRun("b")->status, RunStatus::kRunning);
  EXPECT_TRUE(store_->GetRun("b")->started_at_ms.has_value());
  EXPECT_TRUE(store_->TryStartRun("nope", 1).status().IsNotFound());
}

TEST_P(ControlStoreTest, Schedules) {
  ScheduleRecord nightly{"nightly", "0 2 * * *", "Asia/Manila", kT0 + 1000, CatchUpPolicy::kSkip};
  ScheduleRecord hourly{"hourly", "0 * * * *", "UTC", kT0 + 500, CatchUpPolicy::kCatchUp};
  ASSERT_TRUE(store_->UpsertSchedule(nightly).ok());
  ASSERT_TRUE(store_->UpsertSchedule(hourly).ok());
  auto list = store_->ListSchedules();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].pipeline, "hourly");
  EXPECT_EQ((*list)[0].catch_up, CatchUpPolicy::kCatchUp);
  EXPECT_EQ((*list)[1].timezone, "Asia/Manila");
  EXPECT_EQ((*list)[1].cron, "0 2 * * *");

  auto due = store_->DueSchedules(kT0 + 500);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].pipeline, "hourly");
  due = store_->DueSchedules(kT0 + 2000);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].pipeline, "hourly");  // earliest first

  hourly.next_fire_at_ms = kT0 + 5000;
  ASSERT_TRUE(store_->UpsertSchedule(hourly).ok());
  due = store_->DueSchedules(kT0 + 2000);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].pipeline, "nightly");
  EXPECT_TRUE(store_->UpsertSchedule(ScheduleRecord{}).IsInvalidArgument());
}

TEST_P(ControlStoreTest, AdvanceScheduleIsACompareAndSet) {
  ScheduleRecord s{"nightly", "0 2 * * *", "UTC", kT0 + 1000, CatchUpPolicy::kSkip};
  ASSERT_TRUE(store_->UpsertSchedule(s).ok());
  auto moved = store_->AdvanceSchedule("nightly", kT0 + 1000, kT0 + 2000);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_TRUE(*moved);
  // A second scheduler that read the old time loses.
  auto stale = store_->AdvanceSchedule("nightly", kT0 + 1000, kT0 + 2000);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
  EXPECT_EQ(store_->ListSchedules().value()[0].next_fire_at_ms, kT0 + 2000);
  auto missing = store_->AdvanceSchedule("ghost", 0, 1);
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("ghost"), std::string::npos);
}

TEST_P(ControlStoreTest, AdvanceScheduleRaceFiresEachTimeOnce) {
  // Three schedulers, each with its own store, advance one schedule through 100 fire times;
  // every time is won by exactly one of them.
  constexpr int kFires = 100;
  constexpr int kSchedulers = 3;
  ASSERT_TRUE(store_->UpsertSchedule({"p", "* * * * *", "UTC", 0, CatchUpPolicy::kSkip}).ok());
  std::vector<std::vector<int64_t>> won(kSchedulers);
  std::vector<std::string> errors(kSchedulers);
  std::vector<std::thread> threads;
  for (int t = 0; t < kSchedulers; t++) {
    threads.emplace_back([&, t] {
      auto store = OpenStore();
      if (!store.ok()) {
        errors[t] = store.status().ToString();
        return;
      }
      for (;;) {
        auto schedules = (*store)->ListSchedules();
        if (!schedules.ok() || schedules->size() != 1) {
          errors[t] = schedules.ok() ? "schedule missing" : schedules.status().ToString();
          return;
        }
        const int64_t next = (*schedules)[0].next_fire_at_ms;
        if (next >= kFires) return;
        auto moved = (*store)->AdvanceSchedule("p", next, next + 1);
        if (!moved.ok()) {
          errors[t] = moved.status().ToString();
          return;
        }
        if (*moved) won[t].push_back(next);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::multiset<int64_t> fired;
  for (int t = 0; t < kSchedulers; t++) {
    EXPECT_EQ(errors[t], "") << "scheduler " << t;
    fired.insert(won[t].begin(), won[t].end());
  }
  ASSERT_EQ(fired.size(), static_cast<size_t>(kFires));
  for (int64_t i = 0; i < kFires; i++) EXPECT_EQ(fired.count(i), 1u) << "fire time " << i;
}

TEST_P(ControlStoreTest, LeaseExpiresWithTheClock) {
  auto a = store_->AcquireLease("scheduler", "a", 10'000);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(*a);
  auto other = OpenStore();
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_FALSE((*other)->AcquireLease("scheduler", "b", 10'000).value());
  EXPECT_TRUE((*other)->AcquireLease("other_lease", "b", 10'000).value());
  clock_->Advance(9'999);
  EXPECT_FALSE((*other)->AcquireLease("scheduler", "b", 10'000).value());
  EXPECT_TRUE(store_->AcquireLease("scheduler", "a", 10'000).value());  // renewed to T+19999
  clock_->Advance(9'999);
  EXPECT_FALSE((*other)->AcquireLease("scheduler", "b", 10'000).value());
  clock_->Advance(1);  // the renewal expires at exactly now
  EXPECT_TRUE((*other)->AcquireLease("scheduler", "b", 10'000).value());
  EXPECT_FALSE(store_->AcquireLease("scheduler", "a", 10'000).value());
  // Releasing someone else's lease changes nothing; the holder's release frees it at once.
  ASSERT_TRUE(store_->ReleaseLease("scheduler", "a").ok());
  EXPECT_FALSE(store_->AcquireLease("scheduler", "a", 10'000).value());
  ASSERT_TRUE((*other)->ReleaseLease("scheduler", "b").ok());
  EXPECT_TRUE(store_->AcquireLease("scheduler", "a", 10'000).value());
  EXPECT_TRUE(store_->AcquireLease("", "a", 1).status().IsInvalidArgument());
  EXPECT_TRUE(store_->AcquireLease("x", "", 1).status().IsInvalidArgument());
  EXPECT_TRUE(store_->AcquireLease("x", "a", 0).status().IsInvalidArgument());
}

TEST_P(ControlStoreTest, LeaseRaceHasOneWinner) {
  constexpr int kContenders = 4;
  std::vector<int> wins(kContenders, 0);
  std::vector<std::string> errors(kContenders);
  std::vector<std::thread> threads;
  for (int t = 0; t < kContenders; t++) {
    threads.emplace_back([&, t] {
      auto store = OpenStore();
      if (!store.ok()) {
        errors[t] = store.status().ToString();
        return;
      }
      for (int round = 0; round < 20; round++) {
        auto got = (*store)->AcquireLease("leader:" + std::to_string(round),
                                          "holder" + std::to_string(t), 60'000);
        if (!got.ok()) {
          errors[t] = got.status().ToString();
          return;
        }
        wins[t] += *got ? 1 : 0;
      }
    });
  }
  for (auto& th : threads) th.join();
  int total = 0;
  for (int t = 0; t < kContenders; t++) {
    EXPECT_EQ(errors[t], "") << "contender " << t;
    total += wins[t];
  }
  EXPECT_EQ(total, 20);  // each round's lease went to exactly one contender
}

TEST_P(ControlStoreTest, ConnectorState) {
  EXPECT_TRUE(store_->GetConnectorState("odoo", "invoices").status().IsNotFound());
  ASSERT_TRUE(store_->PutConnectorState({"odoo", "invoices", R"({"cursor":1})", 0, "r1"}).ok());
  clock_->Advance(9);
  ASSERT_TRUE(store_->PutConnectorState({"odoo", "invoices", R"({"cursor":2})", 0, "r2"}).ok());
  ASSERT_TRUE(store_->PutConnectorState({"odoo", "partners", R"({"cursor":7})", 0, ""}).ok());
  auto got = store_->GetConnectorState("odoo", "invoices");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->state_json, R"({"cursor":2})");
  EXPECT_EQ(got->run_id, "r2");
  EXPECT_EQ(got->updated_at_ms, kT0 + 9);
  EXPECT_EQ(store_->GetConnectorState("odoo", "partners")->state_json, R"({"cursor":7})");
  EXPECT_TRUE(store_->PutConnectorState({"", "s", "{}", 0, ""}).IsInvalidArgument());
}

TEST_P(ControlStoreTest, Events) {
  auto e1 = store_->AppendEvent("data_ready", R"({"dataset":"gold.x"})");
  clock_->Advance(1);
  auto e2 = store_->AppendEvent("run_finished", R"({"run":"r1"})");
  auto e3 = store_->AppendEvent("data_ready", R"({"dataset":"gold.y"})");
  ASSERT_TRUE(e1.ok() && e2.ok() && e3.ok()) << e1.status().ToString();
  EXPECT_LT(*e1, *e2);
  EXPECT_LT(*e2, *e3);
  auto all = store_->ListEvents(0, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[1].kind, "run_finished");
  EXPECT_EQ((*all)[1].payload_json, R"({"run":"r1"})");
  EXPECT_EQ((*all)[1].created_at_ms, kT0 + 1);
  auto after = store_->ListEvents(*e1, 1);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].id, *e2);
  EXPECT_TRUE(store_->AppendEvent("", "{}").status().IsInvalidArgument());
}

TEST_P(ControlStoreTest, WebhookDeliveries) {
  auto event = store_->AppendEvent("data_ready", R"({"dataset":"gold.x"})");
  ASSERT_TRUE(event.ok()) << event.status().ToString();
  EXPECT_EQ(store_->GetEvent(*event)->kind, "data_ready");
  EXPECT_TRUE(store_->GetEvent(*event + 100).status().IsNotFound());
  auto d1 = store_->AddDelivery(*event, "ops", "http://127.0.0.1:1/hook");
  ASSERT_TRUE(d1.ok()) << d1.status().ToString();
  clock_->Advance(1);
  auto d2 = store_->AddDelivery(*event, "bi", "http://127.0.0.1:2/hook");
  ASSERT_TRUE(d2.ok());
  EXPECT_TRUE(store_->AddDelivery(*event + 100, "x", "u").status().IsNotFound());

  auto claimed = store_->ClaimDueDeliveries(30'000, 10);
  ASSERT_TRUE(claimed.ok()) << claimed.status().ToString();
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].id, *d1);  // oldest due first
  EXPECT_EQ((*claimed)[1].webhook, "bi");
  // Leased: a second dispatcher gets nothing until the lease runs out.
  auto other = OpenStore();
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE((*other)->ClaimDueDeliveries(30'000, 10)->empty());

  ASSERT_TRUE(store_->FinishDeliveryAttempt(*d1, DeliveryStatus::kDelivered, 0, "").ok());
  ASSERT_TRUE(store_->FinishDeliveryAttempt(*d2, DeliveryStatus::kDead, kT0 + 99, "HTTP 500").ok());
  EXPECT_TRUE(store_->FinishDeliveryAttempt(9999, DeliveryStatus::kDead, 0, "").IsNotFound());
  auto delivered = store_->GetDelivery(*d1);
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(delivered->status, DeliveryStatus::kDelivered);
  EXPECT_EQ(delivered->attempts, 1);
  EXPECT_EQ(delivered->delivered_at_ms, kT0 + 1);
  DeliveryFilter dead;
  dead.status = DeliveryStatus::kDead;
  auto dead_list = store_->ListDeliveries(dead);
  ASSERT_TRUE(dead_list.ok());
  ASSERT_EQ(dead_list->size(), 1u);
  EXPECT_EQ((*dead_list)[0].last_error, "HTTP 500");
  EXPECT_EQ(store_->ListDeliveries({})->size(), 2u);

  ASSERT_TRUE(store_->ReplayDelivery(*d2).ok());
  EXPECT_TRUE(store_->ReplayDelivery(9999).IsNotFound());
  auto again = (*other)->ClaimDueDeliveries(30'000, 10);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].id, *d2);
  EXPECT_EQ((*again)[0].attempts, 0);
}

TEST_P(ControlStoreTest, ReopenKeepsData) {
  CreateRun("r1", "p");
  auto id = store_->EnqueueAttempt("r1", "t", 1);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store_->AppendEvent("k", "{}").ok());
  store_.reset();
  auto store = OpenStore();  // migrations already applied: nothing to do
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto run = (*store)->GetRun("r1");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->pipeline, "p");
  EXPECT_EQ((*store)->GetAttempt(*id)->task, "t");
  EXPECT_EQ((*store)->ListEvents(0, 10)->size(), 1u);
}

TEST_P(ControlStoreTest, ConcurrentOpensMigrateOnce) {
  // Four processes opening one database at once (the fixture already migrated it on SQLite's
  // file; on PostgreSQL a fresh database is used) all succeed and leave one schema.
  std::string location = location_;
  if (GetParam() == Backend::kPostgres) {
    auto created = server_->RunSql("CREATE DATABASE " + database_ + "_fresh");
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    location = server_->ConnectionString(database_ + "_fresh");
  } else {
    location = MakeTempDir() + "/fresh.db";
  }
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      Status s;
      if (GetParam() == Backend::kSqlite) {
        s = SqliteControlStore::Open(location, clock_).status();
      } else {
        s = PostgresControlStore::Open(location, clock_).status();
      }
      errors[t] = s.ok() ? "" : s.ToString();
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; t++) EXPECT_EQ(errors[t], "") << "opener " << t;
  if (GetParam() == Backend::kPostgres) {
    auto count = server_->RunSql("SELECT count(*), max(version) FROM schema_migrations",
                                 database_ + "_fresh");
    ASSERT_TRUE(count.ok()) << count.status().ToString();
    const int latest = LatestVersion(ControlStoreMigrations());
    EXPECT_EQ(*count, std::to_string(latest) + "|" + std::to_string(latest) + "\n");
  }
}

// The claim race the issue asks for: three workers, each with its own store (connection),
// claiming from 500 queued attempts; every attempt is claimed exactly once.
TEST_P(ControlStoreTest, ThreeWorkersClaimEachOf500AttemptsOnce) {
  constexpr int kAttempts = 500;
  constexpr int kWorkers = 3;
  CreateRun("r1", "p");
  for (int i = 0; i < kAttempts; ++i) {
    auto id = store_->EnqueueAttempt("r1", "task" + std::to_string(i), 1);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
  }
  std::vector<std::vector<int64_t>> claimed(kWorkers);
  std::vector<std::string> errors(kWorkers);
  std::vector<std::thread> threads;
  for (int t = 0; t < kWorkers; ++t) {
    threads.emplace_back([&, t] {
      auto store = OpenStore();
      if (!store.ok()) {
        errors[t] = store.status().ToString();
        return;
      }
      const std::string worker = "w" + std::to_string(t);
      for (;;) {
        auto next = (*store)->ClaimNextAttempt(worker);
        if (!next.ok()) {
          errors[t] = next.status().ToString();
          return;
        }
        if (!next->has_value()) return;
        claimed[t].push_back((*next)->id);
        Status s = (*store)->FinishAttempt((*next)->id, AttemptStatus::kSucceeded, 1, 1);
        if (!s.ok()) {
          errors[t] = s.ToString();
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int64_t> unique;
  size_t total = 0;
  for (int t = 0; t < kWorkers; ++t) {
    EXPECT_EQ(errors[t], "") << "worker " << t;
    total += claimed[t].size();
    unique.insert(claimed[t].begin(), claimed[t].end());
  }
  EXPECT_EQ(total, static_cast<size_t>(kAttempts));
  EXPECT_EQ(unique.size(), static_cast<size_t>(kAttempts));
  auto attempts = store_->ListAttempts("r1");
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), static_cast<size_t>(kAttempts));
  std::map<int64_t, int> claimer;
  for (int t = 0; t < kWorkers; ++t) {
    for (int64_t id : claimed[t]) claimer[id] = t;
  }
  for (const AttemptRecord& a : *attempts) {
    EXPECT_EQ(a.status, AttemptStatus::kSucceeded) << a.task;
    EXPECT_EQ(a.worker, "w" + std::to_string(claimer[a.id])) << a.task;
  }
}

TEST_P(ControlStoreTest, TryStartRunRaceKeepsTheLimit) {
  constexpr int kRuns = 30;
  constexpr int kThreads = 3;
  for (int i = 0; i < kRuns; i++) CreateRun("r" + std::to_string(i), "p");
  std::atomic<int> started{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      auto store = OpenStore();
      if (!store.ok()) {
        errors[t] = store.status().ToString();
        return;
      }
      for (int i = 0; i < kRuns; i++) {
        auto ok = (*store)->TryStartRun("r" + std::to_string(i), 2);
        if (!ok.ok()) {
          errors[t] = ok.status().ToString();
          return;
        }
        started += *ok ? 1 : 0;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; t++) EXPECT_EQ(errors[t], "") << "thread " << t;
  EXPECT_EQ(started.load(), 2);
  RunFilter running;
  running.status = RunStatus::kRunning;
  EXPECT_EQ(store_->ListRuns(running)->size(), 2u);
}

// --- PostgreSQL only ---

class PostgresControlStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::PostgresServer::Available()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    Status started;
    server_ = SharedServer(&started);
    ASSERT_TRUE(started.ok()) << started.ToString();
    static std::atomic<int> counter{0};
    database_ = "dew_pgonly_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    auto created = server_->RunSql("CREATE DATABASE " + database_);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }
  std::string Url(const std::string& password) const {
    return "postgresql://" + server_->user() + ":" + password + "@" + server_->host() + ":" +
           std::to_string(server_->port()) + "/" + database_;
  }

  testing::PostgresServer* server_ = nullptr;
  std::string database_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kT0);
};

TEST_F(PostgresControlStoreTest, ReconnectsOnceAfterTheConnectionDrops) {
  auto store = PostgresControlStore::Open(server_->ConnectionString(database_), clock_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->UpsertPipeline("p", "h1").ok());
  // Kill the store's backend, as a server restart or an idle-connection reaper would.
  auto killed = server_->RunSql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE application_name = 'dew-control' AND datname = '" +
      database_ + "'");
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  ASSERT_EQ(*killed, "1\n");
  auto got = (*store)->GetPipeline("p");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->spec_hash, "h1");
  // Statements prepared on the old connection are prepared again on the new one.
  ASSERT_TRUE((*store)->UpsertPipeline("p", "h2").ok());
  EXPECT_EQ((*store)->GetPipeline("p")->spec_hash, "h2");
}

TEST_F(PostgresControlStoreTest, OpenControlStoreResolvesEnvInTheUrl) {
  // The password is only in the environment, as dew.yml would reference it.
  const std::map<std::string, std::string> env = {{"DEW_PG_PASSWORD", server_->password()}};
  auto store = OpenControlStore(Url("${env:DEW_PG_PASSWORD}"), "/nonexistent", clock_, env);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->UpsertPipeline("p", "h").ok());
  auto whole = OpenControlStore("${env:DEW_CONTROL}", "/nonexistent", clock_,
                                {{"DEW_CONTROL", Url(server_->password())}});
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ((*whole)->GetPipeline("p")->spec_hash, "h");
  auto unset = OpenControlStore(Url("${env:NOPE}"), "/nonexistent", clock_, {});
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.status().message().find("NOPE"), std::string::npos) << unset.status().ToString();
}

TEST_F(PostgresControlStoreTest, RefusedPasswordNamesTheServerButNotThePassword) {
  const std::string wrong = "wrong-secret-Xyz";
  auto store = OpenControlStore(Url("${env:PW}"), "/nonexistent", clock_, {{"PW", wrong}});
  ASSERT_FALSE(store.ok());
  const std::string msg = store.status().ToString();
  EXPECT_TRUE(store.status().IsInvalidArgument()) << msg;
  EXPECT_NE(msg.find("127.0.0.1"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(server_->port())), std::string::npos) << msg;
  EXPECT_NE(msg.find(database_), std::string::npos) << msg;
  EXPECT_NE(msg.find(server_->user()), std::string::npos) << msg;
  EXPECT_EQ(msg.find(wrong), std::string::npos) << msg;
}

TEST_F(PostgresControlStoreTest, UnreachableServerAndMissingDatabaseAreNamed) {
  // Nothing listens on port 1 of the loopback.
  const std::string url = "postgresql://someone:pw@127.0.0.1:1/dbx?connect_timeout=5";
  auto refused = OpenControlStore(url, "/nonexistent", clock_, {});
  ASSERT_FALSE(refused.ok());
  const std::string msg = refused.status().ToString();
  EXPECT_EQ(refused.status().code(), Status::Code::kIOError) << msg;
  EXPECT_NE(msg.find("host 127.0.0.1, port 1, database dbx, user someone"), std::string::npos)
      << msg;
  EXPECT_EQ(msg.find(":pw@"), std::string::npos) << msg;

  auto missing = PostgresControlStore::Open(server_->ConnectionString("no_such_db"), clock_);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("no_such_db"), std::string::npos);
  EXPECT_EQ(missing.status().message().find(server_->password()), std::string::npos);

  auto garbage = OpenControlStore("postgresql://u:secretpw@host:notaport/db", "/x", clock_, {});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().message().find("secretpw"), std::string::npos)
      << garbage.status().ToString();
}

TEST_F(PostgresControlStoreTest, DatabaseFromANewerDewIsRefused) {
  {
    auto store = PostgresControlStore::Open(server_->ConnectionString(database_), clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
  }
  ASSERT_TRUE(server_->RunSql("INSERT INTO schema_migrations VALUES (999, 1)", database_).ok());
  auto store = PostgresControlStore::Open(server_->ConnectionString(database_), clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kNotSupported) << store.status().ToString();
  EXPECT_NE(store.status().message().find("999"), std::string::npos);
  EXPECT_NE(store.status().message().find(database_), std::string::npos);
}

}  // namespace
}  // namespace dew::control
