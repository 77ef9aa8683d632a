// Executor: a pool of threads that claim task attempts from the ControlStore and run them.
//
// Each pool thread loops: ClaimNextAttempt (priority, then age; retries only after their
// backoff), run the task kind, FinishAttempt with rows read/written, RunCoordinator::Advance.
// Global concurrency is the pool size; per-pipeline run concurrency is the coordinator's.
//
// Claims are leases. Another worker fails an attempt whose heartbeat is older than
// `stale_after_ms` (FailStaleAttempts) and retries it, so a worker must never let a body run, or
// start one, when it cannot be sure it still holds the claim; otherwise a slow but live worker
// and the retry would both run the task. Hence three threads beside the pool, so that no slow
// store call delays what must happen on time:
//  - the heartbeat thread renews each claim every heartbeat interval (at most stale_after_ms/6)
//    and polls the runs' status (a cancelled run stops its attempts within a tick plus the kill
//    time). A claim is held until stale_after_ms/2 after the last heartbeat that succeeded was
//    sent: half the window other workers wait, so the body is dead before anyone may retry it.
//    A heartbeat refused because the attempt is no longer this worker's stops the body too;
//  - the watchdog, which makes no store calls: it stops bodies whose claim ran out, whose task
//    timed out, whose run was cancelled or whose worker is stopping, and logs progress;
//  - the sweeper, every `sweep_interval_ms`: settles the attempts of workers that stopped
//    heartbeating (then Advance retries failed ones by policy), except its own registered ones,
//    which its pool threads record, and RunCoordinator::Sweep.
// Settling an attempt whose body is a child process (shell, python, sync) looks first at its
// supervisor's outcome file (AttemptOutcomePath, core/process_outcome.h), under the file's lock:
// lock held, the body still runs or its end is being written, so it is left for the next sweep;
// an outcome, the body ran to its end and that end is recorded ("result recovered"), so a body
// that finished just before its worker died is never run again; no outcome, "abandoned" is
// written (no supervisor will start the body after this) and the attempt is failed as stale if
// it still is (FailStaleAttempt). In-process kinds have no outcome file and are failed as stale.
// An attempt stays under heartbeat from its claim until its result is recorded, and its body
// starts only while the claim is held. A body stopped for a lost claim is recorded as failed
// (when the store still has it running on this worker) or not at all (another worker failed it).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control/control_store.h"
#include "core/process_outcome.h"
#include "orchestrator/run_coordinator.h"
#include "orchestrator/task_runner.h"

namespace dew::orchestrator {

//! One claim, for measuring the scheduler's own latency (benchmark 5): the attempt as claimed
//! (its created_at and not_before say when it became ready), when the pool thread that claimed it
//! became free (started, or finished recording its previous attempt), and when the claim came
//! back to that thread. claimed_ms - max(ready, slot_free_ms) is the dispatch latency: how long a
//! ready task waited although a thread was free for it; claimed_ms - ready is the queue wait.
struct DispatchSample {
  control::AttemptRecord attempt;
  int64_t slot_free_ms = 0;
  int64_t claimed_ms = 0;
};

struct ExecutorOptions {
  std::string worker_id;      //!< recorded on claimed attempts; must be unique among workers
  int concurrency = 4;        //!< pool threads: attempts running at once in this executor
  std::string logs_dir;       //!< <project>/.dew/logs
  int64_t idle_poll_ms = 50;  //!< how often an idle thread looks for work in the store
  int64_t tick_ms = 100;      //!< watchdog and cancel-polling period
  //! How often a running attempt's heartbeat is written; at most stale_after_ms / 6 is used, so
  //! a claim (held stale_after_ms / 2) survives two heartbeats lost in a row.
  int64_t heartbeat_ms = 1000;
  int64_t stale_after_ms = 30000;       //!< a running attempt without heartbeat this long is failed
  int64_t sweep_interval_ms = 2000;     //!< FailStaleAttempts and RunCoordinator::Sweep
  int64_t progress_interval_ms = 5000;  //!< how often progress lines are logged
  //! Called on the claiming pool thread after each claim, before the attempt runs; must be cheap
  //! and thread-safe. Empty: nothing is measured.
  std::function<void(const DispatchSample&)> on_dispatch;
};

//! Counters for tests, `dew worker` and the benchmark.
struct ExecutorStats {
  int64_t claimed = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;
  int64_t cancelled = 0;
  int64_t stale_failed = 0;  //!< attempts of dead workers this executor failed
  int64_t recovered = 0;     //!< attempts of dead workers recorded from their outcome file
  int64_t lost_claims = 0;   //!< own attempts stopped (or never started) for a lost claim
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
  enum class StopReason {
    kNone,
    kRunCancelled,
    kTimeout,
    kLostClaim,     //!< a heartbeat found the attempt failed or taken by another worker
    kClaimExpired,  //!< no heartbeat succeeded in time: another worker may soon retry it
    kWorkerStopping
  };
  //! One claimed attempt, from its claim until its result is recorded.
  struct Running {
    control::AttemptRecord attempt;
    TaskRunner* runner = nullptr;  //!< set while the body runs
    AttemptLog* log = nullptr;     //!< null until the log is open
    int64_t deadline_ms = 0;       //!< task timeout; 0: none
    int64_t claim_until_ms = 0;    //!< the body must be stopped by then unless renewed
    int64_t next_heartbeat_ms = 0;
    int64_t last_progress_ms = 0;
    bool body_done = false;  //!< the body returned (or never starts); the result is being recorded
    StopReason reason = StopReason::kNone;
    std::string heartbeat_error;  //!< the last failed heartbeat's, for the record
  };

  void PoolLoop();
  void HeartbeatLoop();
  void WatchdogLoop();
  void SweepLoop();
  //! Waits until `deadline_ms` (the env clock's) or Stop ends the helper threads; false then.
  bool SleepUntil(int64_t deadline_ms);
  void Execute(const control::AttemptRecord& attempt, int64_t claim_sent_ms);
  //! Runs the body of a registered attempt; returns why it was stopped (kNone: it ran to its end).
  StopReason RunBody(const control::AttemptRecord& attempt, const TaskSpec& task,
                     TaskRunner* runner, Result<TaskOutcome>* result);
  void Heartbeats(int64_t now);
  void Watch(int64_t now);
  void Sweep();
  //! Settles one attempt whose worker stopped heartbeating (see the header comment); true when
  //! this call recorded it (failed as stale, or its end recovered) and its run must advance.
  bool SettleStale(const control::AttemptRecord& a);
  //! Records the end a dead worker's supervisor wrote at `path`; true when recorded here.
  bool RecordRecovered(const control::AttemptRecord& a, const ProcessOutcome& outcome,
                       const std::string& path);
  //! Records the attempt's result (the store refuses it when the attempt is no longer running),
  //! logs it, unregisters the attempt and advances its run.
  void Finish(const control::AttemptRecord& attempt, control::AttemptStatus status,
              const TaskOutcome& outcome, const std::string& error, AttemptLog* log);
  //! Unregisters an attempt that is not recorded (another worker owns what happens next).
  void Abandon(const control::AttemptRecord& attempt, AttemptLog* log, const std::string& why);
  int64_t HeartbeatInterval() const;
  static const char* StopMessage(StopReason reason);
  int64_t ClaimHold() const { return options_.stale_after_ms / 2; }

  control::ControlStore* const store_;
  RunCoordinator* const coordinator_;
  const TaskEnv env_;
  const ExecutorOptions options_;

  std::atomic<bool> stopping_{false};
  std::atomic<bool> cancel_running_{false};
  std::vector<std::thread> threads_;
  std::thread heartbeat_;
  std::thread watchdog_;
  std::thread sweeper_;
  bool started_ = false;

  mutable std::mutex mu_;
  std::condition_variable wake_;          //!< idle pool threads
  std::condition_variable helpers_wake_;  //!< the helper threads, at Stop
  int64_t wake_seq_ = 0;                  // guarded by mu_
  bool helpers_done_ = false;             // guarded by mu_: the pool threads have been joined
  std::map<int64_t, Running> running_;    // guarded by mu_; by attempt id
  ExecutorStats stats_;                   // guarded by mu_
};

}  // namespace dew::orchestrator
