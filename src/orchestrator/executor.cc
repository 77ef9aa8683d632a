#include "orchestrator/executor.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

#include "core/process_outcome.h"

namespace dew::orchestrator {

using control::AttemptRecord;
using control::AttemptStatus;
using control::RunRecord;
using control::RunStatus;

namespace {

void Report(const std::string& worker, const Status& s) {
  std::fprintf(stderr, "dew worker %s: %s\n", worker.c_str(), s.ToString().c_str());
}

}  // namespace

Executor::Executor(control::ControlStore* store, RunCoordinator* coordinator, TaskEnv env,
                   ExecutorOptions options)
    : store_(store),
      coordinator_(coordinator),
      env_(std::move(env)),
      options_(std::move(options)) {}

Executor::~Executor() {
  Stop(false);
}

Status Executor::Start() {
  if (options_.worker_id.empty()) {
    return Status::InvalidArgument("starting an executor: the worker id is empty");
  }
  if (options_.concurrency < 1) {
    return Status::InvalidArgument("starting worker " + options_.worker_id + ": concurrency " +
                                   std::to_string(options_.concurrency) + " is below 1");
  }
  if (options_.stale_after_ms < 12) {
    return Status::InvalidArgument("starting worker " + options_.worker_id + ": stale_after_ms " +
                                   std::to_string(options_.stale_after_ms) + " is below 12");
  }
  if (started_) return Status::OK();
  stopping_.store(false);
  cancel_running_.store(false);
  {
    std::lock_guard<std::mutex> lock(mu_);
    helpers_done_ = false;
  }
  // Orphans of a worker that died (kill -9, power loss) are failed now and retried by policy.
  Sweep();
  started_ = true;
  for (int i = 0; i < options_.concurrency; ++i) threads_.emplace_back([this] { PoolLoop(); });
  heartbeat_ = std::thread([this] { HeartbeatLoop(); });
  watchdog_ = std::thread([this] { WatchdogLoop(); });
  sweeper_ = std::thread([this] { SweepLoop(); });
  return Status::OK();
}

void Executor::Stop(bool cancel_running) {
  if (!started_) return;
  if (cancel_running) cancel_running_.store(true);
  stopping_.store(true);
  Wake();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  // The helpers ran until now: the pool threads' last attempts needed heartbeats and a watchdog.
  {
    std::lock_guard<std::mutex> lock(mu_);
    helpers_done_ = true;
  }
  helpers_wake_.notify_all();
  for (std::thread* t : {&heartbeat_, &watchdog_, &sweeper_}) {
    if (t->joinable()) t->join();
  }
  started_ = false;
}

void Executor::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wake_seq_;
  }
  wake_.notify_all();
}

ExecutorStats Executor::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

int64_t Executor::HeartbeatInterval() const {
  return std::max<int64_t>(1, std::min(options_.heartbeat_ms, options_.stale_after_ms / 6));
}

bool Executor::SleepUntil(int64_t deadline_ms) {
  const int64_t wait = std::max<int64_t>(0, deadline_ms - env_.clock->NowMillis());
  std::unique_lock<std::mutex> lock(mu_);
  helpers_wake_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return helpers_done_; });
  return !helpers_done_;
}

void Executor::PoolLoop() {
  int64_t free_since = env_.clock->NowMillis();
  while (!stopping_.load()) {
    int64_t seen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = wake_seq_;
    }
    // Taken before the claim: the store records a heartbeat time at or after it.
    const int64_t claim_sent = env_.clock->NowMillis();
    auto claimed = store_->ClaimNextAttempt(options_.worker_id);
    if (claimed.ok() && claimed->has_value()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.claimed;
      }
      if (options_.on_dispatch) {
        options_.on_dispatch({**claimed, free_since, env_.clock->NowMillis()});
      }
      Execute(**claimed, claim_sent);
      free_since = env_.clock->NowMillis();
      continue;
    }
    if (!claimed.ok()) Report(options_.worker_id, claimed.status());
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(options_.idle_poll_ms),
                   [&] { return wake_seq_ != seen || stopping_.load(); });
  }
}

void Executor::Finish(const AttemptRecord& attempt, AttemptStatus status,
                      const TaskOutcome& outcome, const std::string& error, AttemptLog* log) {
  // Still registered, so heartbeats go on while a slow store records the result.
  Status s =
      store_->FinishAttempt(attempt.id, status, outcome.rows_read, outcome.rows_written, error);
  if (log != nullptr) {
    std::string msg = std::string("attempt ") + RunStatusName(status);
    if (!error.empty()) msg += ": " + error;
    if (!s.ok()) msg += " (not recorded: " + s.message() + ")";
    log->Log(status == AttemptStatus::kSucceeded ? LogLevel::kInfo : LogLevel::kError, msg,
             outcome.rows_written > 0 ? outcome.rows_written : outcome.rows_read);
  }
  if (!s.ok()) Report(options_.worker_id, s);
  if (s.ok()) {
    // Recorded here: nobody needs the supervisor's copy of the body's end.
    const std::string outcome =
        AttemptOutcomePath(env_.project_dir, attempt.run_id, attempt.task, attempt.attempt);
    if (!outcome.empty()) RemoveProcessOutcome(outcome);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_.erase(attempt.id);
    if (status == AttemptStatus::kSucceeded) ++stats_.succeeded;
    if (status == AttemptStatus::kFailed) ++stats_.failed;
    if (status == AttemptStatus::kCancelled) ++stats_.cancelled;
  }
  // A recorded success changes only its dependents' readiness; anything else may need the
  // whole run looked at (retries, skips, the run's end).
  Status adv = status == AttemptStatus::kSucceeded && s.ok()
                   ? coordinator_->AdvanceAfterSuccess(attempt)
                   : coordinator_->Advance(attempt.run_id);
  if (!adv.ok()) Report(options_.worker_id, adv.WithContext("advancing run " + attempt.run_id));
  Wake();
}

void Executor::Abandon(const AttemptRecord& attempt, AttemptLog* log, const std::string& why) {
  if (log != nullptr) log->Log(LogLevel::kWarn, why);
  Report(options_.worker_id,
         Status::Interrupted("task " + attempt.task + " of run " + attempt.run_id + ": " + why));
  std::lock_guard<std::mutex> lock(mu_);
  running_.erase(attempt.id);
  ++stats_.lost_claims;
}

void Executor::Execute(const AttemptRecord& attempt, int64_t claim_sent_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Running r;
    r.attempt = attempt;
    r.claim_until_ms = claim_sent_ms + ClaimHold();
    r.next_heartbeat_ms = claim_sent_ms + HeartbeatInterval();
    running_[attempt.id] = r;
  }
  const std::string what = "task " + attempt.task + " of run " + attempt.run_id;
  auto run = store_->GetRun(attempt.run_id);
  if (!run.ok()) {
    Finish(attempt, AttemptStatus::kFailed, {}, run.status().message(), nullptr);
    return;
  }
  if (IsFinished(run->status)) {
    Finish(attempt, AttemptStatus::kCancelled, {}, "run cancelled", nullptr);
    return;
  }
  auto graph = coordinator_->GraphFor(*run);
  if (!graph.ok()) {
    Finish(attempt, AttemptStatus::kFailed, {}, graph.status().message(), nullptr);
    return;
  }
  const TaskSpec* task = (*graph)->Find(attempt.task);
  if (task == nullptr) {
    Finish(attempt, AttemptStatus::kFailed, {},
           "pipeline " + run->pipeline + " has no task " + attempt.task + " any more", nullptr);
    return;
  }
  auto log_or = AttemptLog::Open(options_.logs_dir, attempt.run_id, attempt.task, attempt.attempt,
                                 env_.clock);
  if (!log_or.ok()) {
    Finish(attempt, AttemptStatus::kFailed, {}, log_or.status().message(), nullptr);
    return;
  }
  std::unique_ptr<AttemptLog> log = std::move(log_or).value();
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_[attempt.id].log = log.get();
  }
  log->Log(LogLevel::kInfo, "attempt " + std::to_string(attempt.attempt) + " of " + what + " (" +
                                TaskKindName(task->kind) + ") started on worker " +
                                options_.worker_id);
  TaskInvocation inv;
  inv.pipeline = run->pipeline;
  inv.run_id = attempt.run_id;
  inv.attempt = attempt.attempt;
  inv.task = *task;
  inv.log = log.get();
  auto runner_or = MakeTaskRunner(env_, std::move(inv));
  if (!runner_or.ok()) {
    Finish(attempt, AttemptStatus::kFailed, {}, runner_or.status().message(), log.get());
    return;
  }
  std::unique_ptr<TaskRunner> runner = std::move(runner_or).value();
  Result<TaskOutcome> result = Status::Interrupted("not started");
  const StopReason reason = RunBody(attempt, *task, runner.get(), &result);
  runner.reset();
  const TaskOutcome outcome = result.ok() ? *result : TaskOutcome{};
  std::string heartbeat_error;
  {
    std::lock_guard<std::mutex> lock(mu_);
    heartbeat_error = running_[attempt.id].heartbeat_error;
  }
  switch (reason) {
    case StopReason::kRunCancelled:
      Finish(attempt, AttemptStatus::kCancelled, outcome, "run cancelled", log.get());
      return;
    case StopReason::kTimeout:
      Finish(attempt, AttemptStatus::kFailed, outcome,
             "timed out after " + std::to_string(task->timeout_ms) + " ms", log.get());
      return;
    case StopReason::kLostClaim:
      // Another worker failed the attempt (it saw no heartbeat in time) and owns the retry.
      Abandon(attempt, log.get(),
              "attempt stopped: worker " + options_.worker_id + " lost its claim (" +
                  heartbeat_error + ")" +
                  (result.ok() ? "; the body had already finished and will run again" : ""));
      return;
    case StopReason::kClaimExpired:
      if (result.ok()) break;  // it finished first: recorded below if the store still agrees
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.lost_claims;
      }
      // The body is dead, so a retry cannot overlap it; the store refuses this when another
      // worker failed the attempt first.
      Finish(attempt, AttemptStatus::kFailed, outcome,
             "worker " + options_.worker_id + " could not renew its claim within " +
                 std::to_string(ClaimHold()) + " ms" +
                 (heartbeat_error.empty() ? "" : " (" + heartbeat_error + ")") +
                 "; stopped so that a retry cannot overlap it",
             log.get());
      return;
    case StopReason::kWorkerStopping:
      Finish(attempt, AttemptStatus::kFailed, outcome, "worker " + options_.worker_id + " stopped",
             log.get());
      return;
    case StopReason::kNone:
      break;
  }
  if (result.ok()) {
    Finish(attempt, AttemptStatus::kSucceeded, outcome, "", log.get());
  } else {
    Finish(attempt, AttemptStatus::kFailed, outcome, result.status().message(), log.get());
  }
}

Executor::StopReason Executor::RunBody(const AttemptRecord& attempt, const TaskSpec& task,
                                       TaskRunner* runner, Result<TaskOutcome>* result) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Running& r = running_[attempt.id];
    const int64_t now = env_.clock->NowMillis();
    // Never start a body without a claim that holds: the setup above may have been slow.
    if (r.reason == StopReason::kNone && now >= r.claim_until_ms) {
      r.reason = StopReason::kClaimExpired;
    }
    if (cancel_running_.load() && r.reason == StopReason::kNone) {
      r.reason = StopReason::kWorkerStopping;
    }
    if (r.reason != StopReason::kNone) {
      r.body_done = true;
      return r.reason;
    }
    r.runner = runner;
    r.deadline_ms = task.timeout_ms > 0 ? now + task.timeout_ms : 0;
    r.last_progress_ms = now;
  }
  // A stop decided from here on reaches Cancel(), which makes Run return early even when it
  // comes before Run started.
  *result = runner->Run();
  std::lock_guard<std::mutex> lock(mu_);
  Running& r = running_[attempt.id];
  r.runner = nullptr;
  r.body_done = true;
  return r.reason;
}

void Executor::HeartbeatLoop() {
  while (SleepUntil(env_.clock->NowMillis() + options_.tick_ms)) {
    Heartbeats(env_.clock->NowMillis());
  }
}

void Executor::WatchdogLoop() {
  while (SleepUntil(env_.clock->NowMillis() + options_.tick_ms)) {
    Watch(env_.clock->NowMillis());
  }
}

void Executor::SweepLoop() {
  while (SleepUntil(env_.clock->NowMillis() + options_.sweep_interval_ms)) {
    if (!stopping_.load()) Sweep();
  }
}

const char* Executor::StopMessage(StopReason reason) {
  switch (reason) {
    case StopReason::kRunCancelled:
      return "cancelling: run cancelled";
    case StopReason::kTimeout:
      return "cancelling: timeout";
    case StopReason::kLostClaim:
      return "cancelling: claim lost";
    case StopReason::kClaimExpired:
      return "cancelling: claim expired (no heartbeat succeeded in time)";
    case StopReason::kWorkerStopping:
    case StopReason::kNone:
      break;
  }
  return "cancelling: worker stopping";
}

void Executor::Heartbeats(int64_t now) {
  std::vector<int64_t> due;
  std::set<std::string> runs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, r] : running_) {
      if (now >= r.next_heartbeat_ms) due.push_back(id);
      if (!r.body_done) runs.insert(r.attempt.run_id);
    }
  }
  for (int64_t id : due) {
    const int64_t sent = env_.clock->NowMillis();
    Status s = store_->Heartbeat(id, options_.worker_id);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(id);
    if (it == running_.end()) continue;
    Running& r = it->second;
    if (s.ok()) {
      r.claim_until_ms = std::max(r.claim_until_ms, sent + ClaimHold());
      r.next_heartbeat_ms = sent + HeartbeatInterval();
      r.heartbeat_error.clear();
      continue;
    }
    // Try again next tick; the watchdog stops the body if none succeeds in time.
    r.heartbeat_error = s.message();
    r.next_heartbeat_ms = env_.clock->NowMillis() + options_.tick_ms;
    if (!s.IsInvalidArgument()) {
      Report(options_.worker_id, s);
    } else if (!r.body_done && r.reason == StopReason::kNone) {
      r.reason = StopReason::kLostClaim;
      if (r.log != nullptr) r.log->Log(LogLevel::kWarn, StopMessage(StopReason::kLostClaim));
      if (r.runner != nullptr) r.runner->Cancel();
    }
  }
  std::set<std::string> cancelled;
  for (const std::string& id : runs) {
    auto run = store_->GetRun(id);
    if (run.ok() && run->status == RunStatus::kCancelled) cancelled.insert(id);
  }
  if (cancelled.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, r] : running_) {
    if (r.body_done || r.reason != StopReason::kNone) continue;
    if (cancelled.count(r.attempt.run_id) == 0) continue;
    r.reason = StopReason::kRunCancelled;
    if (r.log != nullptr) r.log->Log(LogLevel::kWarn, StopMessage(StopReason::kRunCancelled));
    if (r.runner != nullptr) r.runner->Cancel();
  }
}

void Executor::Watch(int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, r] : running_) {
    if (r.body_done) continue;
    if (r.reason == StopReason::kNone) {
      if (cancel_running_.load()) {
        r.reason = StopReason::kWorkerStopping;
      } else if (r.runner != nullptr && r.deadline_ms > 0 && now >= r.deadline_ms) {
        r.reason = StopReason::kTimeout;
      } else if (now >= r.claim_until_ms) {
        r.reason = StopReason::kClaimExpired;
      }
      if (r.reason != StopReason::kNone && r.log != nullptr) {
        r.log->Log(LogLevel::kWarn, StopMessage(r.reason));
      }
    }
    if (r.runner == nullptr) continue;  // not started yet: RunBody sees the reason
    // Repeated every tick: an interrupt can fall between two statements and be forgotten.
    if (r.reason != StopReason::kNone) r.runner->Cancel();
    if (now - r.last_progress_ms >= options_.progress_interval_ms) {
      r.last_progress_ms = now;
      if (auto p = r.runner->progress(); p && (p->rows > 0 || p->percent >= 0)) {
        r.log->Log(LogLevel::kInfo, "progress", p->rows,
                   p->percent >= 0 ? std::optional<double>(p->percent) : std::nullopt);
      }
    }
  }
}

void Executor::Sweep() {
  auto stale = store_->ListStaleAttempts(options_.stale_after_ms);
  if (!stale.ok()) {
    Report(options_.worker_id, stale.status());
  } else {
    for (const AttemptRecord& a : *stale) {
      {
        // Its own attempts are this worker's to record (Finish), even with a stale heartbeat:
        // the watchdog has stopped or will stop the body, and its pool thread records the end.
        // Settling them here too only raced that thread for the verdict.
        std::lock_guard<std::mutex> lock(mu_);
        if (running_.count(a.id) != 0) continue;
      }
      if (!SettleStale(a)) continue;
      Status s = coordinator_->Advance(a.run_id);
      if (!s.ok()) Report(options_.worker_id, s);
    }
  }
  Status s = coordinator_->Sweep();
  if (!s.ok()) Report(options_.worker_id, s);
  Wake();
}

}  // namespace dew::orchestrator

namespace dew::orchestrator {

bool Executor::SettleStale(const AttemptRecord& a) {
  const std::string path = AttemptOutcomePath(env_.project_dir, a.run_id, a.task, a.attempt);
  if (!path.empty()) {
    const std::string what = "settling task " + a.task + " of run " + a.run_id + " (attempt " +
                             std::to_string(a.attempt) + " of worker '" + a.worker + "')";
    Status dir = env_.fs->CreateDirs(path.substr(0, path.rfind('/')));
    auto lock = dir.ok() ? ProcessOutcomeLock::TryLock(path)
                         : Result<std::unique_ptr<ProcessOutcomeLock>>(dir);
    // Held: the body's supervisor is alive, so the body still runs (its worker stops it when
    // the claim runs out, or the supervisor kills it when the worker died) or its end is being
    // written. Look again at the next sweep rather than let a retry overlap it.
    if (!lock.ok() && lock.status().IsConflict()) return false;
    if (!lock.ok()) {
      // No supervisor could have taken it either; the claim's margin still keeps bodies apart.
      Report(options_.worker_id, lock.status().WithContext(what));
    } else {
      auto outcome = ReadProcessOutcome(path);
      if (!outcome.ok()) {
        Report(options_.worker_id, outcome.status().WithContext(what));
      } else if (outcome->has_value() && !(*outcome)->abandoned) {
        return RecordRecovered(a, **outcome, path);
      } else if (!outcome->has_value()) {
        // From now on no supervisor starts this attempt's body, even on a worker that is only
        // slow: its claim is given up, and failing it below is final.
        Status s = WriteAbandonedOutcome(path, env_.clock->NowMillis());
        if (!s.ok()) Report(options_.worker_id, s.WithContext(what));
      }
    }
  }
  auto failed = store_->FailStaleAttempt(a.id, options_.stale_after_ms);
  if (!failed.ok()) {
    Report(options_.worker_id, failed.status());
    return false;
  }
  if (!failed->has_value()) return false;  // it heartbeated meanwhile, or was recorded
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.stale_failed;
  return true;
}

bool Executor::RecordRecovered(const AttemptRecord& a, const ProcessOutcome& outcome,
                               const std::string& path) {
  const int64_t last = a.heartbeat_at_ms.value_or(a.started_at_ms.value_or(a.created_at_ms));
  std::string error;
  if (!outcome.Succeeded()) {
    error = "task " + a.task + ": the body ended with " + outcome.Describe() + "; ";
  }
  error += "result recovered from the attempt's outcome file after worker '" + a.worker +
           "' stopped heartbeating (last heartbeat " +
           std::to_string(env_.clock->NowMillis() - last) + " ms ago)";
  const AttemptStatus status =
      outcome.Succeeded() ? AttemptStatus::kSucceeded : AttemptStatus::kFailed;
  // Refused when the attempt's own worker recorded the same end first.
  Status s = store_->FinishAttempt(a.id, status, 0, 0, error);
  if (!s.ok()) return false;
  RemoveProcessOutcome(path);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.recovered;
  return true;
}

}  // namespace dew::orchestrator
