#include "orchestrator/run_coordinator.h"

#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "orchestrator/retry_policy.h"
#include "orchestrator/task_runner.h"

namespace dew::orchestrator {

using control::AttemptRecord;
using control::AttemptStatus;
using control::NewAttempt;
using control::RunRecord;
using control::RunStatus;

namespace {

// Pipeline priority dominates task priority (both -1000..1000) in the claim order.
int AttemptPriority(int pipeline_priority, int task_priority) {
  return pipeline_priority * 2001 + task_priority;
}

void Fnv(uint64_t* h, const std::string& s) {
  for (unsigned char c : s) {
    *h ^= c;
    *h *= 1099511628211ull;
  }
  *h ^= 0xff;  // field separator, so ("ab","c") and ("a","bc") differ
  *h *= 1099511628211ull;
}

Result<std::map<std::string, std::string>> ParseParams(const RunRecord& run) {
  try {
    const nlohmann::json j =
        nlohmann::json::parse(run.params_json.empty() ? "{}" : run.params_json);
    std::map<std::string, std::string> out;
    for (auto it = j.begin(); it != j.end(); ++it) {
      out[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption("run " + run.id + ": params are not a JSON object: " + e.what());
  }
}

}  // namespace

std::string SpecHash(const PipelineSpec& spec) {
  uint64_t h = 14695981039346656037ull;
  Fnv(&h, spec.name);
  Fnv(&h, spec.timezone);
  Fnv(&h, std::to_string(spec.concurrency) + "/" + std::to_string(spec.priority) + "/" +
              CatchUpName(spec.catch_up));
  for (const auto& [k, v] : spec.params) {
    Fnv(&h, k);
    Fnv(&h, v);
  }
  for (const TaskSpec& t : spec.tasks) {
    Fnv(&h, t.name);
    Fnv(&h, TaskKindName(t.kind));
    for (const std::string& d : t.depends_on) Fnv(&h, "dep:" + d);
    for (const auto& [k, v] : t.fields) {
      Fnv(&h, k);
      Fnv(&h, v);
    }
    Fnv(&h, std::to_string(t.retries.count) + "/" + std::to_string(t.retries.backoff_ms) + "/" +
                std::to_string(t.retries.max_delay_ms) + "/" + std::to_string(t.timeout_ms) + "/" +
                std::to_string(t.priority) + "/" + t.on_failure);
    for (const EnvVar& e : t.env) Fnv(&h, "env:" + e.name + "=" + e.value.value_or("\x01"));
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

PipelineResolver ProjectPipelineResolver(const std::string& project_dir,
                                         std::shared_ptr<FileSystem> fs) {
  struct Cached {
    int64_t size = -1;
    int64_t mtime_ns = -1;
    PipelineSpec spec;
  };
  struct State {
    std::mutex mu;
    std::map<std::string, Cached> cache;  // by path
  };
  auto state = std::make_shared<State>();
  return [project_dir, fs, state](const std::string& name) -> Result<PipelineSpec> {
    for (const char* ext : {".yml", ".yaml"}) {
      const std::string path = project_dir + "/pipelines/" + name + ext;
      struct stat st {};
      if (stat(path.c_str(), &st) != 0) continue;
      const int64_t mtime =
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      {
        std::lock_guard<std::mutex> lock(state->mu);
        auto it = state->cache.find(path);
        if (it != state->cache.end() && it->second.size == st.st_size &&
            it->second.mtime_ns == mtime) {
          return it->second.spec;
        }
      }
      DEW_ASSIGN_OR_RETURN(PipelineSpec spec,
                           PipelineSpec::ParseFile(path, *fs, SystemTimeZoneLoader(*fs)));
      if (spec.name != name) {
        return Status::InvalidArgument(path + ": name: the pipeline is named '" + spec.name +
                                       "' but its file is " + name + ext);
      }
      std::lock_guard<std::mutex> lock(state->mu);
      state->cache[path] = Cached{static_cast<int64_t>(st.st_size), mtime, spec};
      return spec;
    }
    return Status::NotFound("no pipeline " + name + " (looked for " + project_dir + "/pipelines/" +
                            name + ".yml)");
  };
}

RunCoordinator::RunCoordinator(control::ControlStore* store, PipelineResolver resolver,
                               std::shared_ptr<Clock> clock)
    : store_(store),
      resolver_(std::move(resolver)),
      clock_(std::move(clock)),
      rng_(std::random_device{}()) {}

Result<PipelineSpec> RunCoordinator::Resolve(const std::string& pipeline) {
  if (!resolver_) return Status::NotFound("no pipeline " + pipeline + " (no resolver)");
  return resolver_(pipeline);
}

int64_t RunCoordinator::RetryDelay(const RetryPolicy& policy, int failed_attempt) {
  std::lock_guard<std::mutex> lock(mu_);
  return JitteredDelayMs(policy, failed_attempt, rng_);
}

Result<std::string> RunCoordinator::StartRun(const PipelineSpec& spec, const StartRunRequest& req) {
  DEW_RETURN_IF_ERROR(CheckRunnable(spec));
  DEW_ASSIGN_OR_RETURN(TaskGraph base, TaskGraph::Build(spec));
  DEW_ASSIGN_OR_RETURN(TaskGraph graph, base.WithParams(req.params));
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : graph.params()) params[k] = v;
  control::NewRun run;
  run.id = req.run_id.empty() ? ids_.NewUuid() : req.run_id;
  run.pipeline = spec.name;
  run.trigger = req.trigger;
  run.triggered_by = req.triggered_by;
  run.params_json = params.dump();
  run.logical_date = req.logical_date;
  DEW_RETURN_IF_ERROR(store_->UpsertPipeline(spec.name, SpecHash(spec)));
  DEW_RETURN_IF_ERROR(store_->CreateRun(run));
  {
    std::lock_guard<std::mutex> lock(mu_);
    plans_[run.id] = MakePlan(std::move(graph), spec.priority);
  }
  DEW_ASSIGN_OR_RETURN(bool started, store_->TryStartRun(run.id, std::max(spec.concurrency, 1)));
  if (started) DEW_RETURN_IF_ERROR(Advance(run.id));
  return run.id;
}

Result<std::shared_ptr<const TaskGraph>> RunCoordinator::GraphFor(const RunRecord& run) {
  DEW_ASSIGN_OR_RETURN(Plan plan, PlanFor(run));
  return plan.graph;
}

Result<RunCoordinator::Plan> RunCoordinator::PlanFor(const RunRecord& run) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = plans_.find(run.id);
    if (it != plans_.end()) return it->second;
  }
  DEW_ASSIGN_OR_RETURN(PipelineSpec spec, Resolve(run.pipeline));
  DEW_ASSIGN_OR_RETURN(TaskGraph base, TaskGraph::Build(spec));
  DEW_ASSIGN_OR_RETURN(auto params, ParseParams(run));
  // Params the pipeline no longer declares are dropped rather than failing the run.
  std::map<std::string, std::string> known;
  for (const auto& [k, v] : params) {
    if (spec.params.count(k) > 0) known[k] = v;
  }
  DEW_ASSIGN_OR_RETURN(TaskGraph graph, base.WithParams(known));
  Plan plan = MakePlan(std::move(graph), spec.priority);
  std::lock_guard<std::mutex> lock(mu_);
  if (plans_.size() > 10000) plans_.clear();
  plans_[run.id] = plan;
  return plan;
}

RunCoordinator::Plan RunCoordinator::MakePlan(TaskGraph graph, int priority) {
  auto dependents = std::make_shared<std::map<std::string, std::vector<std::string>>>();
  for (const TaskSpec& t : graph.tasks()) {
    if (t.failure_handler) continue;
    for (const std::string& d : t.depends_on) (*dependents)[d].push_back(t.name);
  }
  return Plan{std::make_shared<const TaskGraph>(std::move(graph)), priority, std::move(dependents)};
}

Result<bool> RunCoordinator::Enqueue(const std::string& run_id, int pipeline_priority,
                                     const TaskSpec& task, int number, int64_t not_before_ms) {
  NewAttempt a;
  a.run_id = run_id;
  a.task = task.name;
  a.attempt = number;
  a.priority = AttemptPriority(pipeline_priority, task.priority);
  a.not_before_ms = not_before_ms;
  auto id = store_->AddAttempt(a);
  if (id.ok()) return true;
  // Another worker advanced the run first.
  if (id.status().IsAlreadyExists()) return false;
  return id.status();
}

Status RunCoordinator::AdvanceAfterSuccess(const AttemptRecord& attempt) {
  const std::string& run_id = attempt.run_id;
  std::optional<Plan> plan;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = plans_.find(run_id);
    if (it != plans_.end()) plan = it->second;
  }
  if (!plan) return Advance(run_id);
  const TaskGraph& g = *plan->graph;
  const TaskSpec* done = g.Find(attempt.task);
  auto deps_it = plan->dependents->find(attempt.task);
  if (done == nullptr || done->failure_handler || deps_it == plan->dependents->end()) {
    return Advance(run_id);
  }
  const std::vector<std::string>& dependents = deps_it->second;
  std::vector<std::string> needed;
  for (const std::string& d : dependents) {
    const TaskSpec* spec = g.Find(d);
    if (spec == nullptr) return Advance(run_id);
    needed.insert(needed.end(), spec->depends_on.begin(), spec->depends_on.end());
  }
  DEW_ASSIGN_OR_RETURN(std::vector<AttemptRecord> attempts,
                       store_->ListTaskAttempts(run_id, needed));
  std::map<std::string, RunStatus> latest;  // ordered by attempt: the last one wins
  for (const AttemptRecord& a : attempts) latest[a.task] = a.status;
  bool enqueued = false;
  for (const std::string& d : dependents) {
    const TaskSpec* spec = g.Find(d);
    bool ready = true;
    for (const std::string& dep : spec->depends_on) {
      auto it = latest.find(dep);
      if (it == latest.end() || it->second == RunStatus::kQueued ||
          it->second == RunStatus::kRunning) {
        ready = false;  // whoever finishes it enqueues d
      } else if (it->second != RunStatus::kSucceeded) {
        return Advance(run_id);  // retries, skips and handlers are Advance's
      }
    }
    if (!ready) continue;
    DEW_ASSIGN_OR_RETURN(bool added, Enqueue(run_id, plan->priority, *spec, 1, 0));
    enqueued |= added;
  }
  if (!enqueued) return Status::OK();
  // A cancel that landed while we enqueued would leave those attempts queued for good.
  DEW_ASSIGN_OR_RETURN(RunRecord again, store_->GetRun(run_id));
  if (again.status != RunStatus::kRunning) return Advance(run_id);
  return Status::OK();
}

Status RunCoordinator::Advance(const std::string& run_id) {
  DEW_ASSIGN_OR_RETURN(RunRecord run, store_->GetRun(run_id));
  if (run.status == RunStatus::kQueued) return Status::OK();  // waits for a slot
  if (run.status == RunStatus::kSucceeded || run.status == RunStatus::kFailed) {
    std::lock_guard<std::mutex> lock(mu_);
    plans_.erase(run_id);
    return Status::OK();
  }
  auto plan_or = PlanFor(run);
  if (!plan_or.ok()) {
    if (plan_or.status().IsNotFound()) {
      // The pipeline file is gone: nothing can say what to run next.
      Status s = store_->UpdateRunStatus(run_id, RunStatus::kFailed, plan_or.status().message());
      if (!s.ok() && !s.IsInvalidArgument()) return s;
      return Status::OK();
    }
    return plan_or.status();
  }
  const TaskGraph& g = *plan_or->graph;
  if (run.status == RunStatus::kCancelled) return AdvanceCancelled(run, g);
  // Pipeline priority for the attempts' claim order.
  const int pipeline_priority = plan_or->priority;

  DEW_ASSIGN_OR_RETURN(std::vector<AttemptRecord> attempts, store_->ListAttempts(run_id));
  std::map<std::string, const AttemptRecord*> latest;
  for (const AttemptRecord& a : attempts) {
    const AttemptRecord*& slot = latest[a.task];
    if (slot == nullptr || a.attempt > slot->attempt) slot = &a;
  }
  bool in_flight = false;
  bool enqueued = false;
  std::set<std::string> done;
  std::set<std::string> started;
  std::vector<const AttemptRecord*> failed_for_good;
  const int64_t now = clock_->NowMillis();
  auto enqueue = [&](const TaskSpec& task, int attempt, int64_t not_before) -> Status {
    in_flight = true;
    DEW_ASSIGN_OR_RETURN(bool added, Enqueue(run_id, pipeline_priority, task, attempt, not_before));
    enqueued |= added;
    return Status::OK();
  };

  for (const auto& [task, a] : latest) {
    const TaskSpec* spec = g.Find(task);
    if (spec == nullptr) continue;  // the task left the pipeline; its attempts are history
    const bool normal = !spec->failure_handler;
    switch (a->status) {
      case RunStatus::kSucceeded:
      case RunStatus::kSkipped:
        if (normal) done.insert(task);
        break;
      case RunStatus::kQueued:
      case RunStatus::kRunning:
        if (normal) started.insert(task);
        in_flight = true;
        break;
      case RunStatus::kFailed:
      case RunStatus::kCancelled:
        if (a->status == RunStatus::kFailed && ShouldRetry(spec->retries, a->attempt)) {
          const int64_t delay = RetryDelay(spec->retries, a->attempt);
          DEW_RETURN_IF_ERROR(enqueue(*spec, a->attempt + 1, now + delay));
          if (normal) started.insert(task);
        } else {
          if (normal) done.insert(task);
          failed_for_good.push_back(a);
        }
        break;
    }
  }

  for (const AttemptRecord* f : failed_for_good) {
    const TaskSpec* spec = g.Find(f->task);
    if (!spec->failure_handler) {
      DEW_ASSIGN_OR_RETURN(std::vector<std::string> downstream, g.Downstream(f->task));
      for (const std::string& d : downstream) {
        done.insert(d);
        if (latest.count(d) > 0) continue;
        NewAttempt skip;
        skip.run_id = run_id;
        skip.task = d;
        skip.status = AttemptStatus::kSkipped;
        skip.error = "skipped: upstream task " + f->task + " failed";
        auto id = store_->AddAttempt(skip);
        if (!id.ok() && !id.status().IsAlreadyExists()) return id.status();
      }
    }
    DEW_ASSIGN_OR_RETURN(std::string handler, g.FailureHandler(f->task));
    if (!handler.empty() && latest.count(handler) == 0) {
      DEW_RETURN_IF_ERROR(enqueue(*g.Find(handler), 1, 0));
    }
  }

  DEW_ASSIGN_OR_RETURN(std::vector<std::string> ready, g.Ready(done, started));
  for (const std::string& t : ready) DEW_RETURN_IF_ERROR(enqueue(*g.Find(t), 1, 0));

  if (in_flight) {
    // A cancel that landed while we enqueued would leave those attempts queued for good.
    if (enqueued) {
      DEW_ASSIGN_OR_RETURN(RunRecord again, store_->GetRun(run_id));
      if (again.status == RunStatus::kCancelled) return AdvanceCancelled(again, g);
    }
    return Status::OK();
  }

  // Nothing queued, running or ready: the run is over.
  RunStatus final_status = RunStatus::kSucceeded;
  std::string error;
  for (const AttemptRecord* f : failed_for_good) {
    if (final_status == RunStatus::kSucceeded) {
      error = "task " + f->task + " failed" + (f->error.empty() ? "" : ": " + f->error);
    }
    final_status = RunStatus::kFailed;
  }
  Status s = store_->UpdateRunStatus(run_id, final_status, error);
  // InvalidArgument: another worker finished (or someone cancelled) the run first.
  if (!s.ok() && !s.IsInvalidArgument()) return s;
  if (s.ok() && final_status == RunStatus::kSucceeded && on_run_succeeded_) on_run_succeeded_(run);
  {
    std::lock_guard<std::mutex> lock(mu_);
    plans_.erase(run_id);
  }
  return PromoteQueued(run.pipeline);
}

Status RunCoordinator::AdvanceCancelled(const RunRecord& run, const TaskGraph& g) {
  DEW_RETURN_IF_ERROR(store_->CancelQueuedAttempts(run.id, "run cancelled").status());
  DEW_ASSIGN_OR_RETURN(std::vector<AttemptRecord> attempts, store_->ListAttempts(run.id));
  std::set<std::string> attempted;
  for (const AttemptRecord& a : attempts) attempted.insert(a.task);
  for (const std::string& t : g.TopologicalOrder()) {
    if (attempted.count(t) > 0) continue;
    NewAttempt skip;
    skip.run_id = run.id;
    skip.task = t;
    skip.status = AttemptStatus::kSkipped;
    skip.error = "skipped: run cancelled";
    auto id = store_->AddAttempt(skip);
    if (!id.ok() && !id.status().IsAlreadyExists()) return id.status();
  }
  bool running = false;
  for (const AttemptRecord& a : attempts) running |= a.status == RunStatus::kRunning;
  if (!running) {
    std::lock_guard<std::mutex> lock(mu_);
    plans_.erase(run.id);
  }
  return PromoteQueued(run.pipeline);
}

Status RunCoordinator::CancelRun(const std::string& run_id, const std::string& by) {
  DEW_RETURN_IF_ERROR(store_->UpdateRunStatus(run_id, RunStatus::kCancelled,
                                              "cancelled" + (by.empty() ? "" : " by " + by)));
  return Advance(run_id);
}

Status RunCoordinator::PromoteQueued(const std::string& pipeline) {
  auto spec = Resolve(pipeline);
  if (!spec.ok()) return spec.status().IsNotFound() ? Status::OK() : spec.status();
  control::RunFilter filter;
  filter.pipeline = pipeline;
  filter.status = RunStatus::kQueued;
  filter.limit = 100;
  DEW_ASSIGN_OR_RETURN(std::vector<RunRecord> queued, store_->ListRuns(filter));
  std::reverse(queued.begin(), queued.end());  // oldest first
  for (const RunRecord& r : queued) {
    DEW_ASSIGN_OR_RETURN(bool started, store_->TryStartRun(r.id, std::max(spec->concurrency, 1)));
    if (!started) break;
    DEW_RETURN_IF_ERROR(Advance(r.id));
  }
  return Status::OK();
}

Status RunCoordinator::Sweep() {
  Status first;
  control::RunFilter filter;
  filter.limit = 1000;
  filter.status = RunStatus::kQueued;
  DEW_ASSIGN_OR_RETURN(std::vector<RunRecord> queued, store_->ListRuns(filter));
  std::set<std::string> pipelines;
  for (const RunRecord& r : queued) pipelines.insert(r.pipeline);
  for (const std::string& p : pipelines) {
    Status s = PromoteQueued(p);
    if (!s.ok() && first.ok()) first = s;
  }
  filter.status = RunStatus::kRunning;
  DEW_ASSIGN_OR_RETURN(std::vector<RunRecord> running, store_->ListRuns(filter));
  for (const RunRecord& r : running) {
    Status s = Advance(r.id);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

}  // namespace dew::orchestrator
