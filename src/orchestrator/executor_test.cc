// The executor with real child processes, a real control store (SQLite and PostgreSQL) and a
// real lakehouse.
#include "orchestrator/executor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/file_system.h"
#include "lake/lakehouse.h"
#include "support/test_control_database.h"

namespace dew::orchestrator {
namespace {

using control::AttemptRecord;
using control::RunStatus;

std::string ReadFileText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

//! Every test runs on SQLite and on PostgreSQL.
class ExecutorTest : public ::testing::TestWithParam<testing::StoreBackend> {
 protected:
  void SetUp() override {
    if (!testing::StoreBackendAvailable(GetParam()))
      GTEST_SKIP() << "PostgreSQL 15 is not installed";
    char tmpl[] = "/tmp/dew_executor_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(mkdir((dir_ + "/.dew").c_str(), 0755), 0);
    clock_ = Clock::System();
    auto db = testing::TestControlDatabase::Create(GetParam(), dir_ + "/.dew");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto store = db_.Open(clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    coord_ = std::make_unique<RunCoordinator>(
        store_.get(),
        [this](const std::string& name) -> Result<PipelineSpec> {
          std::lock_guard<std::mutex> lock(mu_);
          auto it = specs_.find(name);
          if (it == specs_.end()) return Status::NotFound("no pipeline " + name);
          return it->second;
        },
        clock_);
    env_.project_dir = dir_;
    env_.fs = FileSystem::Posix();
    env_.clock = clock_;
    env_.processes = std::make_shared<PosixProcessRunner>(dir_, 200);
    env_.worker_env = {{"FROM_WORKER", "passed"}, {"SECRET", "hidden"}};
    const std::string lake = dir_ + "/lake";
    const std::string dir = dir_;
    auto fs = env_.fs;
    env_.open_lakehouse = [lake, dir, fs](const std::string& run_id) {
      lake::LakehouseOptions o;
      o.lake_root = lake;
      o.cwd = dir;
      o.user = "test";
      o.run_id = run_id;
      return lake::Lakehouse::Open(std::move(o), fs, Clock::System());
    };
  }

  void TearDown() override {
    executor_.reset();
    if (!dir_.empty()) (void)std::system(("rm -rf " + dir_).c_str());
  }

  void StartExecutor(int concurrency = 3, int64_t stale_after_ms = 30000) {
    ExecutorOptions o;
    o.worker_id = "test-worker";
    o.concurrency = concurrency;
    o.stale_after_ms = stale_after_ms;
    o.logs_dir = dir_ + "/.dew/logs";
    executor_ = std::make_unique<Executor>(store_.get(), coord_.get(), env_, o);
    ASSERT_TRUE(executor_->Start().ok());
  }

  std::string StartRun(const std::string& yaml) {
    auto spec = PipelineSpec::Parse(yaml, "pipelines/p.yml", [](const std::string& n) {
      return Result<TimeZone>(Status::NotFound(n));
    });
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    if (!spec.ok()) return "";
    {
      std::lock_guard<std::mutex> lock(mu_);
      specs_[spec->name] = *spec;
    }
    auto id = coord_->StartRun(*spec, {});
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (executor_) executor_->Wake();
    return id.ok() ? *id : "";
  }

  //! Polls until `pred` holds or ~30 s passed (a hang fails the test instead of blocking it).
  template <typename Pred>
  bool WaitFor(Pred pred) {
    for (int i = 0; i < 3000; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }

  control::RunRecord WaitForRun(const std::string& run) {
    EXPECT_TRUE(WaitFor([&] { return IsFinished(store_->GetRun(run)->status); })) << run;
    return *store_->GetRun(run);
  }

  std::map<std::string, AttemptRecord> Latest(const std::string& run) {
    std::map<std::string, AttemptRecord> out;
    auto all = store_->ListAttempts(run);
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    if (!all.ok()) return out;
    for (const AttemptRecord& a : *all) {
      if (out.count(a.task) == 0 || out[a.task].attempt < a.attempt) out[a.task] = a;
    }
    return out;
  }

  std::string dir_;
  testing::TestControlDatabase db_;
  std::shared_ptr<Clock> clock_;
  std::unique_ptr<control::ControlStore> store_;
  std::mutex mu_;
  std::map<std::string, PipelineSpec> specs_;
  std::unique_ptr<RunCoordinator> coord_;
  TaskEnv env_;
  std::unique_ptr<Executor> executor_;
};

INSTANTIATE_TEST_SUITE_P(Stores, ExecutorTest, testing::BothStores(), testing::StoreBackendName);

TEST_P(ExecutorTest, FanOutFanInShellTasksRunInOrder) {
  StartExecutor();
  const std::string run = StartRun(R"(name: dag
tasks:
  - {name: a, kind: shell, command: "echo a >> order.txt"}
  - {name: b, kind: shell, command: "sleep 0.2; echo b >> order.txt", depends_on: [a]}
  - {name: c, kind: shell, command: "echo c >> order.txt", depends_on: [a]}
  - {name: d, kind: shell, command: "echo d >> order.txt; echo to-stderr >&2", depends_on: [b, c]}
)");
  const control::RunRecord r = WaitForRun(run);
  EXPECT_EQ(r.status, RunStatus::kSucceeded) << r.error;
  const std::string order = ReadFileText(dir_ + "/order.txt");
  EXPECT_EQ(order.substr(0, 2), "a\n");
  EXPECT_EQ(order.substr(order.size() - 2), "d\n");
  EXPECT_EQ(order.size(), 8u);
  // The log of d has its stdout and stderr lines and the final status.
  const std::string log = ReadFileText(AttemptLog::PathFor(dir_ + "/.dew/logs", run, "d", 1));
  EXPECT_NE(log.find(R"("msg":"to-stderr")"), std::string::npos) << log;
  EXPECT_NE(log.find(R"("level":"warn")"), std::string::npos) << log;
  EXPECT_NE(log.find("attempt succeeded"), std::string::npos) << log;
  RunLogReader reader(dir_ + "/.dew/logs", run);
  auto lines = reader.ReadNew();
  ASSERT_TRUE(lines.ok());
  EXPECT_GE(lines->size(), 8u);
  EXPECT_TRUE(reader.ReadNew()->empty());
}

TEST_P(ExecutorTest, ScrubbedEnvironmentHasOnlyDeclaredVariables) {
  StartExecutor();
  const std::string run = StartRun(R"(name: envs
tasks:
  - name: e
    kind: shell
    command: "env | sort > env.txt"
    env: {FROM_WORKER: null, GIVEN: "x y"}
)");
  EXPECT_EQ(WaitForRun(run).status, RunStatus::kSucceeded);
  const std::string env = ReadFileText(dir_ + "/env.txt");
  EXPECT_NE(env.find("FROM_WORKER=passed\n"), std::string::npos) << env;
  EXPECT_NE(env.find("GIVEN=x y\n"), std::string::npos) << env;
  EXPECT_NE(env.find("DEW_RUN_ID=" + run), std::string::npos) << env;
  EXPECT_EQ(env.find("SECRET"), std::string::npos) << env;
}

TEST_P(ExecutorTest, TimeoutKillsASleepingShellTask) {
  StartExecutor();
  const std::string run = StartRun(R"(name: slow
tasks:
  - {name: s, kind: shell, command: "echo $$ > pid.txt; sleep 30", timeout: 500ms}
  - {name: after, kind: shell, command: "true", depends_on: [s]}
)");
  const control::RunRecord r = WaitForRun(run);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  auto latest = Latest(run);
  EXPECT_EQ(latest["s"].status, RunStatus::kFailed);
  EXPECT_NE(latest["s"].error.find("timed out after 500 ms"), std::string::npos)
      << latest["s"].error;
  EXPECT_EQ(latest["after"].status, RunStatus::kSkipped);
  const pid_t pid = std::atoi(ReadFileText(dir_ + "/pid.txt").c_str());
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(WaitFor([&] { return kill(-pid, 0) != 0 && errno == ESRCH; }));
}

TEST_P(ExecutorTest, CancelStopsARunningShellTaskAndSkipsDownstream) {
  StartExecutor();
  const std::string run = StartRun(R"(name: cancel_me
tasks:
  - {name: s, kind: shell, command: "echo $$ > pid.txt; sleep 30 & wait"}
  - {name: after, kind: shell, command: "true", depends_on: [s]}
)");
  ASSERT_TRUE(WaitFor([&] { return !ReadFileText(dir_ + "/pid.txt").empty(); }));
  const pid_t pid = std::atoi(ReadFileText(dir_ + "/pid.txt").c_str());
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(coord_->CancelRun(run, "tester").ok());
  ASSERT_TRUE(WaitFor([&] { return Latest(run)["s"].status == RunStatus::kCancelled; }));
  auto latest = Latest(run);
  EXPECT_EQ(latest["s"].error, "run cancelled");
  EXPECT_EQ(latest["after"].status, RunStatus::kSkipped);
  EXPECT_EQ(store_->GetRun(run)->status, RunStatus::kCancelled);
  // The whole process group (the shell and its background sleep) is gone.
  EXPECT_TRUE(WaitFor([&] { return kill(-pid, 0) != 0 && errno == ESRCH; }));
}

TEST_P(ExecutorTest, CancelInterruptsARunningSqlTask) {
  StartExecutor();
  const std::string run = StartRun(R"(name: long_sql
tasks:
  - name: q
    kind: sql
    sql: SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3
  - {name: after, kind: shell, command: "true", depends_on: [q]}
)");
  ASSERT_TRUE(WaitFor([&] { return Latest(run)["q"].status == RunStatus::kRunning; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // inside DuckDB by now
  ASSERT_TRUE(coord_->CancelRun(run, "").ok());
  ASSERT_TRUE(WaitFor([&] { return IsFinished(Latest(run)["q"].status); }));
  auto latest = Latest(run);
  EXPECT_EQ(latest["q"].status, RunStatus::kCancelled) << latest["q"].error;
  EXPECT_EQ(latest["after"].status, RunStatus::kSkipped);
}

TEST_P(ExecutorTest, SqlTaskWritesItsTargetAndCountsRows) {
  StartExecutor();
  const std::string run = StartRun(R"(name: build
params: {n: "5"}
tasks:
  - name: t
    kind: sql
    target: silver.numbers
    sql: SELECT range AS n FROM range(${params.n})
  - name: check
    kind: sql
    depends_on: [t]
    sql: SELECT * FROM silver.numbers
)");
  const control::RunRecord r = WaitForRun(run);
  ASSERT_EQ(r.status, RunStatus::kSucceeded) << r.error;
  auto latest = Latest(run);
  EXPECT_EQ(latest["t"].rows_written, 5);
  EXPECT_EQ(latest["check"].rows_read, 5);
}

TEST_P(ExecutorTest, SqlTaskTracksItsQueryProgress) {
  // The executor's progress lines read the task's connection; DuckDB tracks nothing unless asked.
  StartExecutor();
  const std::string run = StartRun(R"(name: tracked
tasks:
  - name: t
    kind: sql
    target: silver.settings
    sql: SELECT current_setting('enable_progress_bar') AS tracked,
                current_setting('enable_progress_bar_print') AS printed
)");
  const control::RunRecord r = WaitForRun(run);
  ASSERT_EQ(r.status, RunStatus::kSucceeded) << r.error;
  auto lake = env_.open_lakehouse("check");
  ASSERT_TRUE(lake.ok()) << lake.status().ToString();
  auto rows = (*lake)->connection().QueryText(
      "SELECT tracked::VARCHAR, printed::VARCHAR FROM silver.settings");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->rows.size(), 1u);
  EXPECT_EQ(rows->rows[0][0].value_or(""), "true");
  EXPECT_EQ(rows->rows[0][1].value_or(""), "false");
}

TEST_P(ExecutorTest, OnFailureRunsAfterRetries) {
  StartExecutor();
  const std::string run = StartRun(R"(name: failing
tasks:
  - name: f
    kind: shell
    command: "echo try >> tries.txt; echo boom >&2; exit 3"
    retries: {count: 1, backoff: 10ms}
    on_failure: h
  - {name: h, kind: shell, command: "echo handled > handled.txt"}
  - {name: never, kind: shell, command: "echo ran > never.txt", depends_on: [f]}
)");
  const control::RunRecord r = WaitForRun(run);
  EXPECT_EQ(r.status, RunStatus::kFailed);
  EXPECT_NE(r.error.find("task f failed"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("exit 3"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("boom"), std::string::npos) << r.error;
  EXPECT_EQ(ReadFileText(dir_ + "/tries.txt"), "try\ntry\n");
  EXPECT_EQ(ReadFileText(dir_ + "/handled.txt"), "handled\n");
  EXPECT_EQ(ReadFileText(dir_ + "/never.txt"), "");
  EXPECT_EQ(Latest(run)["never"].status, RunStatus::kSkipped);
}

//! A store that cannot take a heartbeat (here: another connection holds SQLite's write lock, or
//! an exclusive lock on PostgreSQL's task_attempts) must not leave the body running into the
//! window where another worker may fail and retry the attempt. The body sleeps as long as that
//! window (stale_after_ms); it must never finish.
TEST_P(ExecutorTest, BodyIsStoppedWhenItsClaimCannotBeRenewedAndRetriedAfterwards) {
  StartExecutor(1, /*stale_after_ms=*/2000);  // claim held 1000 ms, heartbeats every 333 ms
  const std::string run = StartRun(R"(name: stall
tasks:
  - name: s
    kind: shell
    command: "echo s $DEW_ATTEMPT >> marks; echo $$ > pid.$DEW_ATTEMPT; sleep 2; echo e $DEW_ATTEMPT >> marks"
    retries: {count: 1, backoff: 10ms}
)");
  ASSERT_TRUE(WaitFor([&] { return !ReadFileText(dir_ + "/pid.1").empty(); }));
  auto lock = db_.LockWrites("task_attempts");
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  const pid_t pid = std::atoi(ReadFileText(dir_ + "/pid.1").c_str());
  ASSERT_GT(pid, 0);
  const bool died = WaitFor([&] { return kill(-pid, 0) != 0 && errno == ESRCH; });
  lock->reset();
  ASSERT_TRUE(died);
  const control::RunRecord r = WaitForRun(run);
  EXPECT_EQ(r.status, RunStatus::kSucceeded) << r.error;
  // Attempt 1 was stopped before its end and recorded failed by its own worker; the retry ran.
  EXPECT_EQ(ReadFileText(dir_ + "/marks"), "s 1\ns 2\ne 2\n");
  auto attempts = store_->ListAttempts(run);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].status, RunStatus::kFailed);
  // Recorded by its own worker on both stores: the executor's sweep leaves its own registered
  // attempts to the pool thread that records them.
  EXPECT_NE((*attempts)[0].error.find("could not renew its claim within 1000 ms"),
            std::string::npos)
      << (*attempts)[0].error;
  EXPECT_EQ((*attempts)[1].status, RunStatus::kSucceeded);
  EXPECT_EQ(executor_->stats().lost_claims, 1);
}

//! Another worker failed the attempt (it judged this one dead): the next heartbeat is refused,
//! the body is stopped, and its end is not recorded over the other worker's verdict.
TEST_P(ExecutorTest, AttemptFailedByAnotherWorkerIsStoppedAndLeftToIt) {
  StartExecutor(1);
  const std::string run = StartRun(R"(name: taken
tasks:
  - name: s
    kind: shell
    command: "echo s $DEW_ATTEMPT >> marks; echo $$ > pid.$DEW_ATTEMPT; if [ $DEW_ATTEMPT = 1 ]; then sleep 30; fi; echo e $DEW_ATTEMPT >> marks"
    retries: {count: 1, backoff: 3s}
)");
  ASSERT_TRUE(WaitFor([&] { return !ReadFileText(dir_ + "/pid.1").empty(); }));
  auto other = db_.Open(clock_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  // Any heartbeat older than now counts as stale (one written this millisecond does not).
  std::string verdict;
  ASSERT_TRUE(WaitFor([&] {
    auto failed = (*other)->FailStaleAttempts(0);
    if (!failed.ok() || failed->size() != 1) return false;
    verdict = (*failed)[0].error;
    return true;
  }));
  const pid_t pid = std::atoi(ReadFileText(dir_ + "/pid.1").c_str());
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(WaitFor([&] { return kill(-pid, 0) != 0 && errno == ESRCH; }));
  EXPECT_TRUE(WaitFor([&] { return executor_->stats().lost_claims == 1; }));
  // The sweep retries it (after the backoff) as it would for a dead worker.
  const control::RunRecord r = WaitForRun(run);
  EXPECT_EQ(r.status, RunStatus::kSucceeded) << r.error;
  EXPECT_EQ(ReadFileText(dir_ + "/marks"), "s 1\ns 2\ne 2\n");
  auto attempts = store_->ListAttempts(run);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].error, verdict);
  const std::string log = ReadFileText(AttemptLog::PathFor(dir_ + "/.dew/logs", run, "s", 1));
  EXPECT_NE(log.find("lost its claim"), std::string::npos) << log;
}

}  // namespace
}  // namespace dew::orchestrator
