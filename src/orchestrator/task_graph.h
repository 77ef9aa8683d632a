// TaskGraph: the DAG of one pipeline's tasks, as the executor walks it.
//
// Failure handlers (tasks named by some on_failure) are not part of the normal flow: they never
// appear in the order, the roots or the ready sets; FailureHandler() names them.
// Orders are deterministic: among tasks that may run, higher priority first, then by name.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "orchestrator/pipeline_spec.h"

namespace dew::orchestrator {

//! A value, immutable after Build; safe to share between threads for reading.
class TaskGraph {
 public:
  //! Builds the graph of `spec`'s tasks (copied), with params at their defaults unsubstituted.
  //! InvalidArgument for a dependency on an unknown task or a cycle (naming its path), for
  //! specs that did not come from PipelineSpec::Parse.
  static Result<TaskGraph> Build(const PipelineSpec& spec);

  //! A cycle among `tasks` through depends_on, as task names in run order with the first
  //! repeated at the end (`a -> b -> a` is {"a", "b", "a"}: b depends on a and a on b);
  //! empty when there is none. Unknown dependencies are ignored. Deterministic: the search
  //! starts from tasks in the given order.
  static std::vector<std::string> FindCycle(const std::vector<TaskSpec>& tasks);

  //! All normal-flow tasks in an order where each comes after its dependencies; among tasks
  //! available at the same point, higher priority first, then name.
  const std::vector<std::string>& TopologicalOrder() const { return order_; }

  //! Normal-flow tasks without dependencies, by priority then name.
  std::vector<std::string> Roots() const;

  //! Every task that (transitively) depends on `task`, excluding it, in topological order:
  //! what to skip when `task` fails. InvalidArgument naming an unknown task.
  Result<std::vector<std::string>> Downstream(const std::string& task) const;

  //! Normal-flow tasks that are neither `done` nor `started` and whose dependencies are all
  //! `done`, by priority then name. "done" covers succeeded, failed and skipped tasks alike:
  //! the caller adds a failed task's Downstream() to `done` as skipped. InvalidArgument naming
  //! any unknown task in either set.
  Result<std::vector<std::string>> Ready(const std::set<std::string>& done,
                                         const std::set<std::string>& started = {}) const;

  //! The on_failure handler of `task`, "" when it has none. InvalidArgument for unknown tasks.
  Result<std::string> FailureHandler(const std::string& task) const;

  //! The task named `name`, or nullptr.
  const TaskSpec* Find(const std::string& name) const;

  //! A copy with every `${params.NAME}` in task fields and env values replaced by the value
  //! of NAME: `overrides` first, else the pipeline's default. Values are inserted literally
  //! (no quoting) and not rescanned. InvalidArgument naming an override key that is not a
  //! declared param, or a reference to an undeclared one.
  Result<TaskGraph> WithParams(const std::map<std::string, std::string>& overrides) const;

  //! The params in effect: defaults, or after WithParams the resolved values.
  const std::map<std::string, std::string>& params() const { return params_; }

  const std::vector<TaskSpec>& tasks() const { return tasks_; }

 private:
  TaskGraph() = default;

  //! Sorts task indexes by priority (descending) then name.
  void SortByPriority(std::vector<size_t>* indexes) const;

  std::string pipeline_;
  std::vector<TaskSpec> tasks_;
  std::map<std::string, size_t> index_;
  std::vector<std::vector<size_t>> downstream_;  //!< direct dependents of each task
  std::vector<std::string> order_;
  std::map<std::string, std::string> params_;
};

}  // namespace dew::orchestrator
