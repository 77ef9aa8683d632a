#include "cli/pipeline_runs.h"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/near_match.h"

namespace dew::cli {

Result<orchestrator::LoadedPipelines> LoadProjectPipelines(CommandContext& ctx,
                                                           const lake::Project& project) {
  DEW_ASSIGN_OR_RETURN(orchestrator::LoadedPipelines loaded,
                       orchestrator::LoadPipelines(JoinPath(project.root(), "pipelines"), ctx.fs(),
                                                   orchestrator::SystemTimeZoneLoader(ctx.fs())));
  for (const Status& s : loaded.errors) {
    std::fprintf(stderr, "dew: warning: %s\n", s.message().c_str());
  }
  return loaded;
}

Result<orchestrator::PipelineSpec> LoadProjectPipeline(CommandContext& ctx,
                                                       const lake::Project& project,
                                                       const std::string& name) {
  const std::string dir = JoinPath(project.root(), "pipelines");
  for (const char* ext : {".yml", ".yaml"}) {
    const std::string path = JoinPath(dir, name + ext);
    if (ctx.fs().Exists(path)) {
      return orchestrator::PipelineSpec::ParseFile(path, ctx.fs(),
                                                   orchestrator::SystemTimeZoneLoader(ctx.fs()));
    }
  }
  DEW_ASSIGN_OR_RETURN(
      orchestrator::LoadedPipelines loaded,
      orchestrator::LoadPipelines(dir, ctx.fs(), orchestrator::SystemTimeZoneLoader(ctx.fs())));
  std::vector<std::string> names;
  for (orchestrator::PipelineSpec& spec : loaded.specs) {
    if (spec.name == name) return std::move(spec);
    names.push_back(spec.name);
  }
  std::string hint;
  if (auto best = ClosestMatch(name, names)) hint = " (did you mean '" + *best + "'?)";
  std::string known;
  for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
  return Status::NotFound("no pipeline '" + name + "' in " + dir + hint +
                          (known.empty() ? "; there are none" : "; pipelines: " + known));
}

Result<std::unique_ptr<PipelineRunner>> PipelineRunner::Create(CommandContext& ctx, int workers) {
  std::unique_ptr<PipelineRunner> runner(new PipelineRunner());
  DEW_ASSIGN_OR_RETURN(runner->setup_, OpenWorkerSetup(ctx));
  runner->resolver_ =
      orchestrator::ProjectPipelineResolver(runner->setup_->project_dir, ctx.shared_fs());
  if (workers > 0) {
    runner->executor_ = MakeExecutor(*runner->setup_, DefaultWorkerId(), workers, 0);
    DEW_RETURN_IF_ERROR(runner->executor_->Start());
  }
  return runner;
}

PipelineRunner::~PipelineRunner() {
  if (executor_) executor_->Stop(/*cancel_running=*/true);
  executor_.reset();
}

control::ControlStore& PipelineRunner::store() {
  return *setup_->store;
}

orchestrator::RunLauncher PipelineRunner::Launcher() {
  return [this](const control::NewRun& run) -> Status {
    DEW_ASSIGN_OR_RETURN(orchestrator::PipelineSpec spec, resolver_(run.pipeline));
    orchestrator::StartRunRequest req;
    auto params = nlohmann::json::parse(run.params_json, nullptr, false);
    if (params.is_object()) {
      for (const auto& [k, v] : params.items()) {
        req.params[k] = v.is_string() ? v.get<std::string>() : v.dump();
      }
    }
    req.trigger = run.trigger;
    req.triggered_by = run.triggered_by;
    req.logical_date = run.logical_date;
    req.run_id = run.id;
    DEW_RETURN_IF_ERROR(setup_->coordinator->StartRun(spec, req).status());
    if (executor_) executor_->Wake();
    // The audit trail says who or which schedule started each run, with which params. The run
    // is started either way: a launch refused for its audit entry would be retried and doubled.
    nlohmann::json details = {{"pipeline", run.pipeline},
                              {"trigger", control::TriggerKindName(run.trigger)},
                              {"params", params.is_object() ? params : nlohmann::json::object()},
                              {"logical_date", run.logical_date}};
    const std::string actor = run.triggered_by.empty()
                                  ? std::string(control::TriggerKindName(run.trigger))
                                  : run.triggered_by;
    auto audited = setup_->store->AppendAudit(actor, "run.start", run.id, details.dump());
    if (!audited.ok()) {
      std::fprintf(stderr, "dew: run %s: audit entry not recorded: %s\n", run.id.c_str(),
                   audited.status().ToString().c_str());
    }
    return Status::OK();
  };
}

}  // namespace dew::cli
