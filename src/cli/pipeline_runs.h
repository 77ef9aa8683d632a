// Shared by dew schedule, backfill, serve and events: the project's pipelines and webhooks, the
// invoking user, and how the CLI starts pipeline runs (PipelineRunner).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/command_context.h"
#include "cli/worker_setup.h"
#include "control/control_store.h"
#include "orchestrator/executor.h"
#include "orchestrator/pipeline_spec.h"
#include "orchestrator/run_coordinator.h"
#include "orchestrator/scheduler.h"

namespace dew::cli {

//! pipelines/*.yml of `project`; each broken file is reported on stderr as a warning.
Result<orchestrator::LoadedPipelines> LoadProjectPipelines(CommandContext& ctx,
                                                           const lake::Project& project);

//! The pipeline named `name` (pipelines/NAME.yml, or the file whose name: is NAME). NotFound
//! listing the known pipelines (with a near-match suggestion) when there is none; the parse
//! error of the file when it is broken.
Result<orchestrator::PipelineSpec> LoadProjectPipeline(CommandContext& ctx,
                                                       const lake::Project& project,
                                                       const std::string& name);

//! Starts pipeline runs for the CLI: the project's control store, a RunCoordinator and, with
//! workers, an Executor running them in this process (otherwise runs wait in the store for
//! `dew worker` / `dew serve`). Not thread-safe to create or destroy; the launcher and store are
//! thread-safe.
class PipelineRunner {
 public:
  //! Opens the project's store; `workers` > 0 starts an executor with that many threads.
  static Result<std::unique_ptr<PipelineRunner>> Create(CommandContext& ctx, int workers);
  //! Stops the executor (running attempts are stopped and recorded failed, to be retried).
  ~PipelineRunner();

  control::ControlStore& store();

  //! Launches a run through the coordinator (see orchestrator::RunLauncher): the pipeline is
  //! read from pipelines/ now, the run gets exactly the id, trigger, logical date and params of
  //! `run`; AlreadyExists when the id exists.
  orchestrator::RunLauncher Launcher();

  //! Whether launched runs execute in this process (false: they wait for workers).
  bool executes_in_process() const { return executor_ != nullptr; }

 private:
  PipelineRunner() = default;

  std::unique_ptr<WorkerSetup> setup_;
  orchestrator::PipelineResolver resolver_;
  std::unique_ptr<orchestrator::Executor> executor_;
};

}  // namespace dew::cli
