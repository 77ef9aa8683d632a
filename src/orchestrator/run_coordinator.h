// RunCoordinator: turns pipelines into runs and advances them, entirely through the ControlStore,
// so that any worker process can advance any run.
//
// Advance() is a function of the store's state (the run, its attempts, the pipeline), not of
// what this process remembers: it enqueues the tasks that became ready, retries failed attempts
// by their policy (exponential backoff with full jitter, the next attempt claimable only after its
// delay), skips the tasks downstream of a task that failed for good, enqueues failure handlers,
// and finishes the run when nothing is left. Concurrent Advance calls on one run are safe: each
// enqueue is (run, task, attempt)-unique in the store, and losing that race (AlreadyExists) is
// the expected outcome, not an error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "control/control_store.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "core/id_generator.h"
#include "core/status.h"
#include "orchestrator/pipeline_spec.h"
#include "orchestrator/task_graph.h"

namespace dew::orchestrator {

//! The pipeline named `name` as it is now (NotFound when there is none).
using PipelineResolver = std::function<Result<PipelineSpec>(const std::string& name)>;

//! Loads `<project_dir>/pipelines/<name>.yml` (or `.yaml`), re-parsing only when the file's size
//! or modification time changed. Thread-safe. `fs` must outlive the resolver.
PipelineResolver ProjectPipelineResolver(const std::string& project_dir,
                                         std::shared_ptr<FileSystem> fs);

//! A stable hash of everything in a spec that affects how it runs (16 hex digits).
std::string SpecHash(const PipelineSpec& spec);

struct StartRunRequest {
  std::map<std::string, std::string> params;  //!< overrides of the pipeline's defaults
  control::TriggerKind trigger = control::TriggerKind::kUser;
  std::string triggered_by;
  std::string logical_date;
  std::string run_id;  //!< empty: a new UUID
};

//! Thread-safe; the store and resolver must be too (ControlStore implementations are).
class RunCoordinator {
 public:
  //! `store` is borrowed and must outlive the coordinator.
  RunCoordinator(control::ControlStore* store, PipelineResolver resolver,
                 std::shared_ptr<Clock> clock);

  //! Creates a run of `spec` with its params resolved (defaults, then `req.params`), registers
  //! the pipeline with its SpecHash, and, when the pipeline has fewer than `spec.concurrency`
  //! runs running, starts it and enqueues its root tasks; otherwise the run stays queued until a
  //! run of the pipeline finishes. Returns the run id. InvalidArgument for an override of an
  //! undeclared param or a task kind that cannot run yet (CheckRunnable); the store's errors.
  Result<std::string> StartRun(const PipelineSpec& spec, const StartRunRequest& req);

  //! Advances the run after any change (an attempt finished, a cancel, a stale attempt failed):
  //! see the file comment. Idempotent. NotFound for an unknown run.
  Status Advance(const std::string& run_id);

  //! Advances the run after `attempt` succeeded, reading only what that success can change:
  //! enqueues each direct dependent of its task whose dependencies have all succeeded (their
  //! attempts only, not the run's). Falls back to Advance when the task has no dependent (the
  //! run may be over), when a dependency of a dependent failed, was cancelled or skipped, and
  //! when the run was cancelled meanwhile. Safe against concurrent callers like Advance: of two
  //! dependencies that succeed at once, at least one caller sees both (each reads after its own
  //! write committed), and enqueuing twice is refused by the store.
  Status AdvanceAfterSuccess(const control::AttemptRecord& attempt);

  //! Marks the run cancelled (queued or running; InvalidArgument when already finished), then
  //! cancels its queued attempts and skips the tasks that never started. Attempts running on
  //! workers are stopped by those workers, which poll the run's status with their heartbeat.
  Status CancelRun(const std::string& run_id, const std::string& by);

  //! Housekeeping a worker does every few seconds: starts queued runs whose pipeline has a free
  //! slot, and advances running runs (repairs a run whose last advance was lost with a worker).
  Status Sweep();

  //! The run's task graph with its params substituted (cached per run). NotFound when the
  //! pipeline no longer exists; the resolver's errors.
  Result<std::shared_ptr<const TaskGraph>> GraphFor(const control::RunRecord& run);

  control::ControlStore& store() { return *store_; }

  //! Called once per run that this coordinator finishes as succeeded (it won the status change),
  //! on the thread that finished it, after the store records it: the run's data_ready events.
  //! Set before the coordinator is shared between threads.
  void SetOnRunSucceeded(std::function<void(const control::RunRecord&)> listener) {
    on_run_succeeded_ = std::move(listener);
  }

 private:
  //! Starts the oldest queued runs of `pipeline` while it has free slots.
  Status PromoteQueued(const std::string& pipeline);
  Status AdvanceCancelled(const control::RunRecord& run, const TaskGraph& graph);
  Result<PipelineSpec> Resolve(const std::string& pipeline);
  int64_t RetryDelay(const RetryPolicy& policy, int failed_attempt);

  control::ControlStore* const store_;
  const PipelineResolver resolver_;
  const std::shared_ptr<Clock> clock_;
  std::function<void(const control::RunRecord&)> on_run_succeeded_;
  IdGenerator ids_;
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
  struct Plan {
    std::shared_ptr<const TaskGraph> graph;
    int priority = 0;  //!< the pipeline's
    //! Direct normal-flow dependents of each task.
    std::shared_ptr<const std::map<std::string, std::vector<std::string>>> dependents;
  };
  Result<Plan> PlanFor(const control::RunRecord& run);
  Plan MakePlan(TaskGraph graph, int priority);
  //! Adds attempt `number` of `task` (queued, due at `not_before_ms`); false when another
  //! caller added it first.
  Result<bool> Enqueue(const std::string& run_id, int pipeline_priority, const TaskSpec& task,
                       int number, int64_t not_before_ms);
  std::map<std::string, Plan> plans_;  // guarded by mu_; by run id
};

}  // namespace dew::orchestrator
