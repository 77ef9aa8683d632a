// What `dew run --wait`, `dew worker` and `dew serve` need to execute pipelines of a project:
// the control store, a RunCoordinator over the project's pipelines/ folder, and the TaskEnv of
// the task kinds (lakehouse, process runner rooted at the project, HTTP client, dew binary).
#pragma once

#include <memory>
#include <string>

#include "cli/command_context.h"
#include "orchestrator/executor.h"
#include "orchestrator/run_coordinator.h"
#include "orchestrator/task_runner.h"

namespace dew::cli {

//! Owns the pieces; destroy the Executor (if any) before this.
struct WorkerSetup {
  std::string project_dir;  //!< absolute
  std::unique_ptr<control::ControlStore> store;
  std::unique_ptr<orchestrator::RunCoordinator> coordinator;
  orchestrator::TaskEnv env;
  std::string logs_dir;  //!< <project>/.dew/logs
};

//! Opens the project's control store and builds the coordinator and task environment.
Result<std::unique_ptr<WorkerSetup>> OpenWorkerSetup(CommandContext& ctx);

//! "<host>-<pid>", unique among the workers sharing a store.
std::string DefaultWorkerId();

//! An executor over `setup` (borrowed; must outlive it).
std::unique_ptr<orchestrator::Executor> MakeExecutor(WorkerSetup& setup, const std::string& id,
                                                     int concurrency, int64_t stale_after_ms);

}  // namespace dew::cli
