#include "control/sqlite_control_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"

namespace dew::control {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;

std::string MakeTempDir() {
  char tmpl[] = "/tmp/dew_control_test_XXXXXX";
  const char* dir = mkdtemp(tmpl);
  EXPECT_NE(dir, nullptr);
  return dir == nullptr ? std::string("/tmp") : std::string(dir);
}

class ControlStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>(kT0);
    auto store = SqliteControlStore::Open(":memory:", clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  void CreateRun(const std::string& id, const std::string& pipeline) {
    NewRun run;
    run.id = id;
    run.pipeline = pipeline;
    Status s = store_->CreateRun(run);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<SqliteControlStore> store_;
};

TEST_F(ControlStoreTest, PipelinesUpsertGetList) {
  ASSERT_TRUE(store_->UpsertPipeline("b_pipe", "hash1").ok());
  clock_->Advance(10);
  ASSERT_TRUE(store_->UpsertPipeline("a_pipe", "hash2").ok());
  ASSERT_TRUE(store_->UpsertPipeline("b_pipe", "hash3").ok());
  auto b = store_->GetPipeline("b_pipe");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->spec_hash, "hash3");
  EXPECT_EQ(b->updated_at_ms, kT0 + 10);
  auto list = store_->ListPipelines();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a_pipe");
  EXPECT_EQ((*list)[1].name, "b_pipe");
  auto missing = store_->GetPipeline("nope");
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  EXPECT_TRUE(store_->UpsertPipeline("", "h").IsInvalidArgument());
}

TEST_F(ControlStoreTest, CreateAndGetRun) {
  NewRun run;
  run.id = "r1";
  run.pipeline = "nightly";
  run.trigger = TriggerKind::kBackfill;
  run.triggered_by = "alice";
  run.params_json = R"({"start_date":"2026-01-01"})";
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

TEST_F(ControlStoreTest, RunTransitionsSetTimes) {
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

TEST_F(ControlStoreTest, FinishedRunCannotGoBackToRunning) {
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

TEST_F(ControlStoreTest, RefusedTransitions) {
  CreateRun("r1", "p");
  EXPECT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kSucceeded).IsInvalidArgument());
  EXPECT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kQueued).IsInvalidArgument());
  ASSERT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kCancelled).ok());
  EXPECT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kFailed).IsInvalidArgument());
  EXPECT_TRUE(store_->UpdateRunStatus("nope", RunStatus::kRunning).IsNotFound());
  EXPECT_TRUE(IsAllowedTransition(RunStatus::kQueued, RunStatus::kRunning));
  EXPECT_FALSE(IsAllowedTransition(RunStatus::kRunning, RunStatus::kQueued));
  EXPECT_FALSE(IsAllowedTransition(RunStatus::kFailed, RunStatus::kRunning));
}

TEST_F(ControlStoreTest, ListRunsFiltersNewestFirst) {
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

TEST_F(ControlStoreTest, AttemptLifecycle) {
  CreateRun("r1", "p");
  auto first = store_->EnqueueAttempt("r1", "extract", 1);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  clock_->Advance(1);
  auto second = store_->EnqueueAttempt("r1", "load", 1);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(store_->EnqueueAttempt("r1", "extract", 1).status().IsAlreadyExists());
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
  EXPECT_EQ((*list)[2].task, "load");
}

TEST_F(ControlStoreTest, FailStaleAttemptsFailsOnlySilentRunningOnes) {
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
  EXPECT_NE((*failed)[0].error.find("dead"), std::string::npos) << (*failed)[0].error;
  EXPECT_EQ(store_->GetAttempt(*alive)->status, AttemptStatus::kRunning);
  EXPECT_EQ(store_->GetAttempt(*queued)->status, AttemptStatus::kQueued);
  // The dead worker's late heartbeat is refused: the attempt is no longer its to run.
  EXPECT_TRUE(store_->Heartbeat(*stale, "dead").IsInvalidArgument());
  auto again = store_->FailStaleAttempts(60'000);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST_F(ControlStoreTest, Schedules) {
  ScheduleRecord nightly{"nightly", "0 2 * * *", "Asia/Manila", kT0 + 1000, CatchUpPolicy::kSkip};
  ScheduleRecord hourly{"hourly", "0 * * * *", "UTC", kT0 + 500, CatchUpPolicy::kCatchUp};
  ASSERT_TRUE(store_->UpsertSchedule(nightly).ok());
  ASSERT_TRUE(store_->UpsertSchedule(hourly).ok());
  auto list = store_->ListSchedules();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].pipeline, "hourly");
  EXPECT_EQ((*list)[0].catch_up, CatchUpPolicy::kCatchUp);
  EXPECT_EQ((*list)[1].timezone, "Asia/Manila");

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
}

TEST_F(ControlStoreTest, ConnectorState) {
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
}

TEST_F(ControlStoreTest, Events) {
  auto e1 = store_->AppendEvent("data_ready", R"({"dataset":"gold.x"})");
  clock_->Advance(1);
  auto e2 = store_->AppendEvent("run_finished", R"({"run":"r1"})");
  auto e3 = store_->AppendEvent("data_ready", R"({"dataset":"gold.y"})");
  ASSERT_TRUE(e1.ok() && e2.ok() && e3.ok());
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

TEST_F(ControlStoreTest, ClaimHonoursPriorityNotBeforeAndFinishedRuns) {
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
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(*cancelled, 1);
  auto attempts = store_->ListAttempts("r2");
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].status, RunStatus::kCancelled);
  EXPECT_EQ((*attempts)[0].error, "run cancelled");
}

TEST_F(ControlStoreTest, SkippedAttemptsAreFinalAtOnce) {
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
  EXPECT_TRUE(got->finished_at_ms.has_value());
  EXPECT_TRUE(store_->FinishAttempt(*id, RunStatus::kFailed, 0, 0).IsInvalidArgument());
  auto none = store_->ClaimNextAttempt("w");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  NewAttempt running = skip;
  running.task = "x";
  running.status = AttemptStatus::kRunning;
  EXPECT_TRUE(store_->AddAttempt(running).status().IsInvalidArgument());
  EXPECT_TRUE(store_->UpdateRunStatus("r1", RunStatus::kSkipped).IsInvalidArgument());
  EXPECT_EQ(ParseRunStatus("skipped").value(), RunStatus::kSkipped);
}

TEST_F(ControlStoreTest, TryStartRunHonoursTheLimit) {
  CreateRun("a", "p");
  CreateRun("b", "p");
  CreateRun("c", "q");
  auto a = store_->TryStartRun("a", 1);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(*a);
  EXPECT_FALSE(store_->TryStartRun("a", 1).value());  // no longer queued
  EXPECT_FALSE(store_->TryStartRun("b", 1).value());  // p is at its limit
  EXPECT_TRUE(store_->TryStartRun("c", 1).value());   // q is not
  EXPECT_EQ(store_->GetRun("b")->status, RunStatus::kQueued);
  ASSERT_TRUE(store_->UpdateRunStatus("a", RunStatus::kSucceeded).ok());
  EXPECT_TRUE(store_->TryStartRun("b", 1).value());
  EXPECT_EQ(store_->GetRun("b")->status, RunStatus::kRunning);
  EXPECT_TRUE(store_->GetRun("b")->started_at_ms.has_value());
  EXPECT_TRUE(store_->TryStartRun("nope", 1).status().IsNotFound());
}

TEST(SqliteControlStoreFileTest, ReopenKeepsData) {
  const std::string path = MakeTempDir() + "/control.db";
  auto clock = std::make_shared<ManualClock>(kT0);
  int64_t attempt_id = 0;
  {
    auto store = SqliteControlStore::Open(path, clock);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    NewRun run;
    run.id = "r1";
    run.pipeline = "p";
    ASSERT_TRUE((*store)->CreateRun(run).ok());
    auto id = (*store)->EnqueueAttempt("r1", "t", 1);
    ASSERT_TRUE(id.ok());
    attempt_id = *id;
    ASSERT_TRUE((*store)->AppendEvent("k", "{}").ok());
  }
  auto store = SqliteControlStore::Open(path, clock);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto run = (*store)->GetRun("r1");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->pipeline, "p");
  EXPECT_EQ((*store)->GetAttempt(attempt_id)->task, "t");
  EXPECT_EQ((*store)->ListEvents(0, 10)->size(), 1u);
}

TEST(SqliteControlStoreFileTest, ConcurrentClaimsNeverDuplicate) {
  const std::string path = MakeTempDir() + "/control.db";
  auto clock = std::make_shared<ManualClock>(kT0);
  constexpr int kAttempts = 200;
  constexpr int kThreads = 4;
  {
    auto store = SqliteControlStore::Open(path, clock);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    NewRun run;
    run.id = "r1";
    run.pipeline = "p";
    ASSERT_TRUE((*store)->CreateRun(run).ok());
    for (int i = 0; i < kAttempts; ++i) {
      ASSERT_TRUE((*store)->EnqueueAttempt("r1", "task" + std::to_string(i), 1).ok());
    }
  }
  std::vector<std::vector<int64_t>> claimed(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread has its own store: its own SQLite connection, like separate processes.
      auto store = SqliteControlStore::Open(path, clock);
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
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    total += claimed[t].size();
    unique.insert(claimed[t].begin(), claimed[t].end());
  }
  EXPECT_EQ(total, static_cast<size_t>(kAttempts));
  EXPECT_EQ(unique.size(), static_cast<size_t>(kAttempts));
  auto store = SqliteControlStore::Open(path, clock);
  ASSERT_TRUE(store.ok());
  auto attempts = (*store)->ListAttempts("r1");
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), static_cast<size_t>(kAttempts));
  std::map<int64_t, int> claimer;
  for (int t = 0; t < kThreads; ++t) {
    for (int64_t id : claimed[t]) claimer[id] = t;
  }
  for (const AttemptRecord& a : *attempts) {
    EXPECT_EQ(a.status, AttemptStatus::kSucceeded) << a.task;
    EXPECT_EQ(a.worker, "w" + std::to_string(claimer[a.id])) << a.task;
  }
}

TEST(SqliteControlStoreFileTest, CorruptFileNamesPath) {
  const std::string path = MakeTempDir() + "/control.db";
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(8192, 'x');
  }
  auto store = SqliteControlStore::Open(path, std::make_shared<ManualClock>(kT0));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().ToString();
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().ToString();
}

TEST(SqliteControlStoreFileTest, UnopenablePathNamesPath) {
  const std::string dir = MakeTempDir();
  { std::ofstream(dir + "/plain_file") << "x"; }
  const std::string path = dir + "/plain_file/control.db";
  auto store = SqliteControlStore::Open(path, std::make_shared<ManualClock>(kT0));
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().ToString();
}

TEST(SqliteControlStoreFileTest, ReadOnlyOpen) {
  const std::string path = MakeTempDir() + "/control.db";
  auto clock = std::make_shared<ManualClock>(kT0);
  SqliteControlStoreOptions read_only;
  read_only.read_only = true;
  // An empty file is an empty database: read-only, it cannot be migrated.
  { std::ofstream(path, std::ios::binary); }
  auto unmigrated = SqliteControlStore::Open(path, clock, read_only);
  ASSERT_FALSE(unmigrated.ok());
  EXPECT_NE(unmigrated.status().message().find(path), std::string::npos)
      << unmigrated.status().ToString();
  {
    auto store = SqliteControlStore::Open(path, clock);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->UpsertPipeline("p", "h").ok());
  }
  auto store = SqliteControlStore::Open(path, clock, read_only);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->GetPipeline("p")->spec_hash, "h");
  Status write = (*store)->UpsertPipeline("q", "h");
  ASSERT_FALSE(write.ok());
  EXPECT_NE(write.message().find(path), std::string::npos) << write.ToString();
}

}  // namespace
}  // namespace dew::control
