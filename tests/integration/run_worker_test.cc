// dew run / runs / run show|cancel|logs and dew worker as a user runs them: real dew processes
// on one project's control store, workers killed with SIGKILL. Every test runs on SQLite (the
// default .dew/control.db) and on PostgreSQL 15 (a database on a server shared by the process).
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "control/open_control_store.h"
#include "control/sqlite_control_store.h"
#include "core/clock.h"
#include "store_project_fixture.h"
#include "support/dew_process.h"
#include "support/test_control_database.h"

extern char** environ;

namespace dew {
namespace {

using control::RunStatus;
using testing::DewRun;
using testing::ReadAll;
using testing::ShellQuote;

//! A `dew worker` in the background, stdout/stderr in files.
class WorkerProcess {
 public:
  WorkerProcess(const std::string& project, const std::string& log, const std::string& id,
                int concurrency) {
    const std::string cmd = "cd " + ShellQuote(project) + " && exec " + ShellQuote(DEW_BINARY) +
                            " worker --id " + id + " --concurrency " + std::to_string(concurrency) +
                            " --stale-after-ms 3000 >" + ShellQuote(log) + " 2>&1";
    const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    if (posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
      pid_ = -1;
    }
  }
  ~WorkerProcess() { Stop(SIGKILL); }
  pid_t pid() const { return pid_; }
  //! Sends `sig` and reaps the worker; returns its wait status.
  int Stop(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
};

class RunWorkerTest : public testing::StoreProjectTest {
 protected:
  RunWorkerTest() : StoreProjectTest("dew_run_test") {}
  void SetUp() override {
    StoreProjectTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    mkdir((project_ + "/m").c_str(), 0755);
  }

  //! The project's control store as dew opens it (dew.yml `control:`).
  std::unique_ptr<control::ControlStore> Store() {
    std::map<std::string, std::string> env;
    if (const char* c = std::getenv("DEW_TEST_CONTROL")) env["DEW_TEST_CONTROL"] = c;
    auto s = control::OpenControlStore(control_, project_, Clock::System(), env);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  void ShareFiveHundredTasks();

  template <typename Pred>
  bool WaitFor(Pred pred, int seconds = 60) {
    for (int i = 0; i < seconds * 50; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
  }
};

std::string FirstLine(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

INSTANTIATE_TEST_SUITE_P(Stores, RunWorkerTest, testing::BothStores(), testing::StoreBackendName);

TEST_P(RunWorkerTest, RunWaitShowRunsAndLogs) {
  WritePipeline("hello", R"(name: hello
params: {who: world}
tasks:
  - {name: greet, kind: shell, command: "echo hello ${params.who}"}
  - name: count
    kind: sql
    depends_on: [greet]
    target: silver.counted
    sql: SELECT range AS n FROM range(7)
)");
  DewRun r = Dew({"run", "hello", "--param", "who=dew", "--wait", "--format", "csv"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("greet,1,succeeded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("count,1,succeeded"), std::string::npos) << r.out;
  DewRun runs = Dew({"runs", "--format", "csv"});
  ASSERT_EQ(runs.code, 0) << runs.err;
  const std::string line = runs.out.substr(runs.out.find('\n') + 1);
  const std::string id = line.substr(0, line.find(','));
  EXPECT_NE(line.find(",hello,succeeded,user,"), std::string::npos) << runs.out;
  DewRun show = Dew({"run", "show", id, "--format", "csv"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_NE(show.out.find(R"({""who"":""dew""})"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("count,1,succeeded"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find(",0,7,"), std::string::npos) << show.out;  // rows written
  DewRun logs = Dew({"run", "logs", id});
  ASSERT_EQ(logs.code, 0) << logs.err;
  EXPECT_NE(logs.out.find("greet.1 hello dew"), std::string::npos) << logs.out;
  DewRun json = Dew({"run", "logs", id, "--format", "json"});
  EXPECT_NE(json.out.find(R"("msg":"hello dew")"), std::string::npos) << json.out;
  EXPECT_EQ(Dew({"sql", "--format", "csv", "SELECT count(*) FROM silver.counted"}).out,
            "count_star()\n7\n");

  // A failing run exits non-zero and says which task failed.
  WritePipeline("broken", R"(name: broken
tasks:
  - {name: bad, kind: shell, command: "echo nope >&2; exit 4"}
)");
  DewRun failed = Dew({"run", "broken", "--wait"});
  EXPECT_NE(failed.code, 0);
  EXPECT_NE(failed.err.find("task bad failed"), std::string::npos) << failed.err;
  EXPECT_NE(failed.err.find("nope"), std::string::npos) << failed.err;
  DewRun listed = Dew({"runs", "--status", "failed", "--format", "csv"});
  EXPECT_NE(listed.out.find(",broken,failed,"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find(",hello,"), std::string::npos) << listed.out;

  // Undeclared params are refused before anything runs.
  DewRun param = Dew({"run", "hello", "--param", "whom=x"});
  EXPECT_NE(param.code, 0);
  EXPECT_NE(param.err.find("whom"), std::string::npos) << param.err;
}

TEST_P(RunWorkerTest, WorkerExecutesQueuedRunsAndCancelStopsThem) {
  WritePipeline("slow", R"(name: slow
tasks:
  - {name: first, kind: shell, command: "echo $$ > m/pid; sleep 60"}
  - {name: second, kind: shell, command: "true", depends_on: [first]}
)");
  DewRun started = Dew({"run", "slow"});
  ASSERT_EQ(started.code, 0) << started.err;
  const std::string id = FirstLine(started.out);
  ASSERT_EQ(id.size(), 36u) << started.out;
  WorkerProcess worker(project_, dir_ + "/worker.log", "w1", 2);
  ASSERT_TRUE(WaitFor([&] { return !ReadAll(project_ + "/m/pid").empty(); }))
      << ReadAll(dir_ + "/worker.log");
  const pid_t pid = std::atoi(ReadAll(project_ + "/m/pid").c_str());
  DewRun cancel = Dew({"run", "cancel", id});
  ASSERT_EQ(cancel.code, 0) << cancel.err;
  auto store = Store();
  ASSERT_TRUE(WaitFor([&] {
    auto attempts = store->ListAttempts(id);
    if (!attempts.ok()) return false;
    for (const auto& a : *attempts) {
      if (a.task == "first") return a.status == RunStatus::kCancelled;
    }
    return false;
  }));
  EXPECT_TRUE(WaitFor([&] { return kill(-pid, 0) != 0 && errno == ESRCH; }));
  DewRun show = Dew({"run", "show", id, "--format", "csv"});
  EXPECT_NE(show.out.find("status,cancelled"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("second,1,skipped"), std::string::npos) << show.out;
  DewRun logs = Dew({"run", "logs", id, "-f"});  // the run is over: returns at once
  EXPECT_EQ(logs.code, 0) << logs.err;
  EXPECT_NE(logs.out.find("cancelling: run cancelled"), std::string::npos) << logs.out;
  const int status = worker.Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadAll(dir_ + "/worker.log");
  EXPECT_NE(ReadAll(dir_ + "/worker.log").find("stopped"), std::string::npos);
}

//! What the store says about each attempt of a task, for failure messages.
std::string DescribeAttempts(const std::vector<control::AttemptRecord>& attempts,
                             const std::string& task) {
  std::string out;
  for (const auto& a : attempts) {
    if (a.task != task) continue;
    out += "\n  attempt " + std::to_string(a.attempt) + " " + control::RunStatusName(a.status) +
           " on '" + a.worker + "' started " + std::to_string(a.started_at_ms.value_or(0)) +
           " heartbeat " + std::to_string(a.heartbeat_at_ms.value_or(0)) + " finished " +
           std::to_string(a.finished_at_ms.value_or(0)) + (a.error.empty() ? "" : ": " + a.error);
  }
  return out;
}

//! Per task marker file: "s <attempt> <ms>" at start, "e <attempt> <ms>" at the end. Checks that
//! no two attempts overlapped (an end always follows the start of the same attempt directly,
//! nothing starts while another attempt of the task is still alive) and that exactly one attempt
//! ran to its end: a body that ended on a worker killed before it recorded the result is
//! recorded from its supervisor's outcome file, never run again.
void ExpectRanOnceWithoutOverlap(const std::string& path,
                                 const std::vector<control::AttemptRecord>& attempts = {},
                                 const std::string& task = "", const std::string& killed = "") {
  std::istringstream in(ReadAll(path));
  struct Event {
    std::string kind;
    int attempt = 0;
    int64_t ms = 0;
  };
  std::vector<Event> events;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    Event e;
    if (fields >> e.kind >> e.attempt) {
      fields >> e.ms;
      events.push_back(e);
    }
  }
  std::string detail = DescribeAttempts(attempts, task);
  if (!killed.empty()) detail += "\n  " + killed;
  int ends = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].kind != "e") continue;
    ++ends;
    EXPECT_GT(i, 0u) << path << detail;
    if (i == 0) return;
    EXPECT_EQ(events[i - 1].kind, "s") << path << detail;
    EXPECT_EQ(events[i - 1].attempt, events[i].attempt)
        << path << ": attempts overlapped" << detail;
    EXPECT_EQ(i + 1, events.size()) << path << ": ran again after it finished" << detail;
  }
  EXPECT_EQ(ends, 1) << path << detail;
}

TEST_P(RunWorkerTest, KilledWorkersTaskIsRetriedAndNeverRunsTwiceAtOnce) {
  WritePipeline("victim", R"(name: victim
tasks:
  - name: long
    kind: shell
    command: "echo s $DEW_ATTEMPT >> m/long; echo $$ > m/pid.$DEW_ATTEMPT; sleep 2; echo e $DEW_ATTEMPT >> m/long"
    retries: {count: 2, backoff: 100ms}
  - {name: after, kind: shell, command: "echo done > m/after", depends_on: [long]}
)");
  DewRun started = Dew({"run", "victim"});
  ASSERT_EQ(started.code, 0) << started.err;
  const std::string id = FirstLine(started.out);
  {
    WorkerProcess doomed(project_, dir_ + "/doomed.log", "doomed", 2);
    ASSERT_TRUE(WaitFor([&] { return !ReadAll(project_ + "/m/pid.1").empty(); }));
    doomed.Stop(SIGKILL);
  }
  // The orphaned shell died with its worker (no second copy can overlap with the retry).
  const pid_t orphan = std::atoi(ReadAll(project_ + "/m/pid.1").c_str());
  ASSERT_GT(orphan, 0);
  EXPECT_TRUE(WaitFor([&] { return kill(orphan, 0) != 0 && errno == ESRCH; }, 5));
  WorkerProcess rescuer(project_, dir_ + "/rescuer.log", "rescuer", 2);
  auto store = Store();
  ASSERT_TRUE(WaitFor([&] { return IsFinished(store->GetRun(id)->status); }))
      << ReadAll(dir_ + "/rescuer.log");
  EXPECT_EQ(store->GetRun(id)->status, RunStatus::kSucceeded) << store->GetRun(id)->error;
  auto attempts = store->ListAttempts(id);
  ASSERT_TRUE(attempts.ok());
  std::map<int, control::AttemptRecord> long_attempts;
  for (const auto& a : *attempts) {
    if (a.task == "long") long_attempts[a.attempt] = a;
  }
  ASSERT_EQ(long_attempts.size(), 2u);
  EXPECT_EQ(long_attempts[1].status, RunStatus::kFailed);
  EXPECT_EQ(long_attempts[1].worker, "doomed");
  EXPECT_NE(long_attempts[1].error.find("stopped heartbeating"), std::string::npos);
  EXPECT_EQ(long_attempts[2].status, RunStatus::kSucceeded);
  EXPECT_EQ(long_attempts[2].worker, "rescuer");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ExpectRanOnceWithoutOverlap(project_ + "/m/long");
  EXPECT_EQ(ReadAll(project_ + "/m/after"), "done\n");
}

TEST_P(RunWorkerTest, ThreeWorkersShareFiveHundredTasksWithOneKilled) {
  ShareFiveHundredTasks();
}

void RunWorkerTest::ShareFiveHundredTasks() {
  std::string yaml = "name: wide\nconcurrency: 10\ntasks:\n";
  for (int t = 0; t < 50; ++t) {
    yaml += "  - name: t" + std::to_string(t) +
            "\n    kind: shell\n    command: \"echo s $DEW_ATTEMPT $(date +%s%3N) >> "
            "m/$DEW_RUN_ID.$DEW_TASK; sleep 0.1; echo e $DEW_ATTEMPT $(date +%s%3N) >> "
            "m/$DEW_RUN_ID.$DEW_TASK\"\n"
            "    retries: {count: 3, backoff: 100ms}\n";
  }
  WritePipeline("wide", yaml);
  std::vector<std::string> runs;
  for (int r = 0; r < 10; ++r) {
    DewRun started = Dew({"run", "wide"});
    ASSERT_EQ(started.code, 0) << started.err;
    runs.push_back(FirstLine(started.out));
  }
  auto store = Store();
  auto finished_attempts = [&] {
    int n = 0;
    for (const std::string& id : runs) {
      auto attempts = store->ListAttempts(id);
      if (!attempts.ok()) continue;
      for (const auto& a : *attempts) n += a.status == RunStatus::kSucceeded;
    }
    return n;
  };
  auto w1 = std::make_unique<WorkerProcess>(project_, dir_ + "/w1.log", "w1", 4);
  auto w2 = std::make_unique<WorkerProcess>(project_, dir_ + "/w2.log", "w2", 4);
  auto w3 = std::make_unique<WorkerProcess>(project_, dir_ + "/w3.log", "w3", 4);
  ASSERT_TRUE(WaitFor([&] { return finished_attempts() >= 150; }, 120))
      << ReadAll(dir_ + "/w1.log");
  w2->Stop(SIGKILL);
  const int64_t kill_ms = Clock::System()->NowMillis();  // w2 is reaped: every body of it ended
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const std::string& id : runs) {
          if (!IsFinished(store->GetRun(id)->status)) return false;
        }
        return true;
      },
      240))
      << ReadAll(dir_ + "/w1.log") << ReadAll(dir_ + "/w3.log");
  int retried = 0;
  int recovered = 0;
  std::set<std::string> w2_tasks;
  for (const std::string& id : runs) {
    EXPECT_EQ(store->GetRun(id)->status, RunStatus::kSucceeded) << store->GetRun(id)->error;
    std::map<std::string, int> succeeded;
    auto attempts = store->ListAttempts(id);
    ASSERT_TRUE(attempts.ok());
    for (const auto& a : *attempts) {
      if (a.status == RunStatus::kSucceeded) ++succeeded[a.task];
      if (a.attempt > 1) ++retried;
      if (a.worker == "w2") w2_tasks.insert(id + a.task);
      if (a.error.find("result recovered from the attempt's outcome file") != std::string::npos) {
        EXPECT_EQ(a.worker, "w2") << id << " " << a.task << ": " << a.error;
        EXPECT_EQ(a.status, RunStatus::kSucceeded) << id << " " << a.task << ": " << a.error;
        ++recovered;
      }
    }
    ASSERT_EQ(succeeded.size(), 50u);
    for (const auto& [task, n] : succeeded) EXPECT_EQ(n, 1) << id << " " << task;
    for (int t = 0; t < 50; ++t) {
      const std::string task = "t" + std::to_string(t);
      ExpectRanOnceWithoutOverlap(project_ + "/m/" + id + "." + task, *attempts, task,
                                  "w2 killed at " + std::to_string(kill_ms));
    }
  }
  EXPECT_FALSE(w2_tasks.empty());  // the killed worker did take part
  // At most one body per pool thread of w2 can have ended unrecorded when it died.
  EXPECT_LE(recovered, 4);
  std::fprintf(stderr,
               "three workers: %d retried attempts after killing w2; %d results of w2 recovered "
               "from outcome files\n",
               retried, recovered);
  EXPECT_EQ(WEXITSTATUS(w1->Stop(SIGTERM)), 0);
  EXPECT_EQ(WEXITSTATUS(w3->Stop(SIGTERM)), 0);
}

}  // namespace
}  // namespace dew
