// Executor: a pool of threads that claim task attempts from the ControlStore and run them.
//
// Each pool thread loops: ClaimNextAttempt (priority, then age; retries only after their
// backoff), run the task kind, FinishAttempt with rows read/written, RunCoordinator::Advance.
// One monitor thread, every `tick_ms`, heartbeats the running attempts, polls their runs' status
// (a cancelled run stops its attempts within a tick plus the kill time), enforces task timeouts,
// logs progress, and every `sweep_interval_ms` fails attempts whose worker stopped heartbeating
// (FailStaleAttempts, then Advance retries them by policy) and sweeps runs (RunCoordinator::Sweep).
// Global concurrency is the pool size; per-pipeline run concurrency is the coordinator's.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/control_store.h"
#include "orchestrator/run_coordinator.h"
#include "orchestrator/task_runner.h"

namespace dew::orchestrator {

struct ExecutorOptions {
  std::string worker_id;             //!< recorded on claimed attempts; must be unique among workers
  int concurrency = 4;               //!< pool threads: attempts running at once in this executor
  std::string logs_dir;              //!< <project>/.dew/logs
  int64_t idle_poll_ms = 50;         //!< how often an idle thread looks for work in the store
  int64_t tick_ms = 100;             //!< monitor period: cancel polling, timeouts
  int64_t heartbeat_ms = 1000;       //!< how often a running attempt's heartbeat is written
  int64_t stale_after_ms = 30000;    //!< a running attempt without heartbeat this long is failed
  int64_t sweep_interval_ms = 2000;  //!< FailStaleAttempts and RunCoordinator::Sweep
  int64_t progress_interval_ms = 5000;  //!< how often progress lines are logged
};

//! Counters for tests, `dew worker` and the benchmark.
struct ExecutorStats {
  int64_t claimed = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;
  int64_t cancelled = 0;
  int64_t stale_failed = 0;  //!< attempts of dead workers this executor failed
};

class Executor {
 public:
  //! `store` and `coordinator` are borrowed and must outlive the executor.
  Executor(control::ControlStore* store, RunCoordinator* coordinator, TaskEnv env,
           ExecutorOptions options);
  //! Stop(false).
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  //! Fails stale attempts (orphans of a killed worker; they are then retried by policy) and
  //! starts the threads. InvalidArgument for an empty worker id or concurrency < 1.
  Status Start();
  //! Stops claiming and waits for the threads. Running attempts are let finish unless
  //! `cancel_running`, which stops them and records them as failed ("worker stopped") so that
  //! they are retried by policy. Idempotent.
  void Stop(bool cancel_running = false);

  //! Wakes idle threads at once (work was enqueued in this process).
  void Wake();

  ExecutorStats stats() const;
  const ExecutorOptions& options() const { return options_; }

 private:
  enum class StopReason { kNone, kRunCancelled, kTimeout, kLostClaim, kWorkerStopping };
  struct Running {
    control::AttemptRecord attempt;
    TaskRunner* runner = nullptr;
    AttemptLog* log = nullptr;
    int64_t deadline_ms = 0;  //!< 0: none
    int64_t last_heartbeat_ms = 0;
    int64_t last_progress_ms = 0;
    StopReason reason = StopReason::kNone;
  };

  void PoolLoop();
  void MonitorLoop();
  void Execute(const control::AttemptRecord& attempt);
  void Tick(int64_t now);
  void Sweep();
  void Finish(const control::AttemptRecord& attempt, control::AttemptStatus status,
              const TaskOutcome& outcome, const std::string& error, AttemptLog* log);

  control::ControlStore* const store_;
  RunCoordinator* const coordinator_;
  const TaskEnv env_;
  const ExecutorOptions options_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> cancel_running_{false};
  std::atomic<bool> pool_done_{false};  //!< the pool threads have been joined
  std::vector<std::thread> threads_;
  std::thread monitor_;
  bool started_ = false;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  int64_t wake_seq_ = 0;                // guarded by mu_
  std::map<int64_t, Running> running_;  // guarded by mu_; by attempt id
  ExecutorStats stats_;                 // guarded by mu_
};

}  // namespace dew::orchestrator
