#include "orchestrator/executor.h"

#include <chrono>
#include <cstdio>
#include <set>

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
  if (started_) return Status::OK();
  stopping_.store(false);
  pool_done_.store(false);
  // Orphans of a worker that died (kill -9, power loss) are failed now and retried by policy.
  Sweep();
  started_ = true;
  for (int i = 0; i < options_.concurrency; ++i) threads_.emplace_back([this] { PoolLoop(); });
  monitor_ = std::thread([this] { MonitorLoop(); });
  return Status::OK();
}

void Executor::Stop(bool cancel_running) {
  if (!started_) return;
  if (cancel_running) cancel_running_.store(true);
  stopping_.store(true);
  Wake();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  pool_done_.store(true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wake_seq_;
  }
  wake_.notify_all();
  if (monitor_.joinable()) monitor_.join();
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

void Executor::PoolLoop() {
  while (!stopping_.load()) {
    int64_t seen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = wake_seq_;
    }
    auto claimed = store_->ClaimNextAttempt(options_.worker_id);
    if (claimed.ok() && claimed->has_value()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.claimed;
      }
      Execute(**claimed);
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status == AttemptStatus::kSucceeded) ++stats_.succeeded;
    if (status == AttemptStatus::kFailed) ++stats_.failed;
    if (status == AttemptStatus::kCancelled) ++stats_.cancelled;
  }
  Status adv = coordinator_->Advance(attempt.run_id);
  if (!adv.ok()) Report(options_.worker_id, adv.WithContext("advancing run " + attempt.run_id));
  Wake();
}

void Executor::Execute(const AttemptRecord& attempt) {
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
  const int64_t start = env_.clock->NowMillis();
  {
    std::lock_guard<std::mutex> lock(mu_);
    Running r;
    r.attempt = attempt;
    r.runner = runner.get();
    r.log = log.get();
    r.deadline_ms = task->timeout_ms > 0 ? start + task->timeout_ms : 0;
    r.last_heartbeat_ms = start;
    r.last_progress_ms = start;
    running_[attempt.id] = r;
  }
  Result<TaskOutcome> result = runner->Run();
  StopReason reason;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reason = running_[attempt.id].reason;
    running_.erase(attempt.id);
  }
  runner.reset();
  const TaskOutcome outcome = result.ok() ? *result : TaskOutcome{};
  switch (reason) {
    case StopReason::kRunCancelled:
      Finish(attempt, AttemptStatus::kCancelled, outcome, "run cancelled", log.get());
      return;
    case StopReason::kTimeout:
      Finish(attempt, AttemptStatus::kFailed, outcome,
             "timed out after " + std::to_string(task->timeout_ms) + " ms", log.get());
      return;
    case StopReason::kLostClaim:
      // Another worker declared this one dead and failed the attempt; it owns the retry.
      log->Log(LogLevel::kWarn, "attempt stopped: worker " + options_.worker_id +
                                    " lost its claim (heartbeat too late)");
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

void Executor::MonitorLoop() {
  int64_t last_sweep = env_.clock->NowMillis();
  for (;;) {
    // Keep heartbeating until the pool threads have finished their attempts.
    if (pool_done_.load()) return;
    const int64_t now = env_.clock->NowMillis();
    Tick(now);
    if (!stopping_.load() && now - last_sweep >= options_.sweep_interval_ms) {
      last_sweep = now;
      Sweep();
    }
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms));
  }
}

void Executor::Tick(int64_t now) {
  struct Item {
    int64_t id;
    std::string run_id;
    bool heartbeat;
    bool timed_out;
  };
  std::vector<Item> items;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, r] : running_) {
      const bool hb = now - r.last_heartbeat_ms >= options_.heartbeat_ms;
      if (hb) r.last_heartbeat_ms = now;
      items.push_back({id, r.attempt.run_id, hb, r.deadline_ms > 0 && now >= r.deadline_ms});
    }
  }
  if (items.empty()) return;
  std::map<int64_t, StopReason> stop;
  std::set<std::string> runs;
  for (const Item& it : items) {
    runs.insert(it.run_id);
    if (it.timed_out) stop[it.id] = StopReason::kTimeout;
    if (!it.heartbeat) continue;
    Status s = store_->Heartbeat(it.id, options_.worker_id);
    if (s.IsInvalidArgument()) {
      stop[it.id] = StopReason::kLostClaim;
    } else if (!s.ok()) {
      Report(options_.worker_id, s);
    }
  }
  std::set<std::string> cancelled;
  for (const std::string& r : runs) {
    auto run = store_->GetRun(r);
    if (run.ok() && run->status == RunStatus::kCancelled) cancelled.insert(r);
  }
  for (const Item& it : items) {
    if (cancelled.count(it.run_id) > 0) stop[it.id] = StopReason::kRunCancelled;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, r] : running_) {
    auto s = stop.find(id);
    if (r.reason == StopReason::kNone) {
      if (cancel_running_.load()) r.reason = StopReason::kWorkerStopping;
      if (s != stop.end()) r.reason = s->second;
      if (r.reason != StopReason::kNone) {
        r.log->Log(LogLevel::kWarn,
                   r.reason == StopReason::kRunCancelled ? "cancelling: run cancelled"
                   : r.reason == StopReason::kTimeout    ? "cancelling: timeout"
                   : r.reason == StopReason::kLostClaim  ? "cancelling: claim lost"
                                                         : "cancelling: worker stopping");
      }
    }
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
  auto stale = store_->FailStaleAttempts(options_.stale_after_ms);
  if (!stale.ok()) {
    Report(options_.worker_id, stale.status());
  } else {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.stale_failed += static_cast<int64_t>(stale->size());
    }
    for (const AttemptRecord& a : *stale) {
      Status s = coordinator_->Advance(a.run_id);
      if (!s.ok()) Report(options_.worker_id, s);
    }
  }
  Status s = coordinator_->Sweep();
  if (!s.ok()) Report(options_.worker_id, s);
  Wake();
}

}  // namespace dew::orchestrator
