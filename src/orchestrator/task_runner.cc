#include "orchestrator/task_runner.h"

namespace dew::orchestrator {

Status CheckRunnable(const PipelineSpec& spec) {
  // Every kind PipelineSpec accepts runs now; a kind declared before its runner exists would be
  // refused here, naming the file, line and task.
  (void)spec;
  return Status::OK();
}

Result<std::unique_ptr<TaskRunner>> MakeTaskRunner(const TaskEnv& env, TaskInvocation inv) {
  if (env.make_runner) return env.make_runner(inv);
  switch (inv.task.kind) {
    case TaskKind::kSql:
      return MakeSqlTask(env, std::move(inv));
    case TaskKind::kShell:
    case TaskKind::kPython:
      return MakeProcessTask(env, std::move(inv));
    case TaskKind::kSync:
      return MakeSyncTask(env, std::move(inv));
    case TaskKind::kHttp:
      return MakeHttpTask(env, std::move(inv));
    case TaskKind::kEmail:
      return MakeEmailTask(env, std::move(inv));
    case TaskKind::kModel:
      return MakeModelTask(env, std::move(inv));
    case TaskKind::kQuality:
      return MakeQualityTask(env, std::move(inv));
  }
  return Status::NotSupported("task " + inv.task.name + " of pipeline " + inv.pipeline +
                              ": tasks of kind " + TaskKindName(inv.task.kind) + " cannot run yet");
}

std::string AttemptOutcomePath(const std::string& project_dir, const std::string& run_id,
                               const std::string& task, int attempt) {
  if (project_dir.empty()) return "";
  return project_dir + "/.dew/attempts/" + run_id + "/" + task + "." + std::to_string(attempt);
}

Status ChildTask::Run(std::vector<std::string> argv) {
  std::map<std::string, std::string> declared;
  for (const EnvVar& v : inv_.task.env) {
    if (v.value) {
      declared[v.name] = *v.value;
    } else if (auto it = env_.worker_env.find(v.name); it != env_.worker_env.end()) {
      declared[v.name] = it->second;
    }
  }
  declared["DEW_RUN_ID"] = inv_.run_id;
  declared["DEW_TASK"] = inv_.task.name;
  declared["DEW_ATTEMPT"] = std::to_string(inv_.attempt);
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.env = ChildEnvironment(declared, env_.project_dir);
  spec.limits = env_.limits;
  spec.die_with_parent = true;
  spec.outcome_path =
      AttemptOutcomePath(env_.project_dir, inv_.run_id, inv_.task.name, inv_.attempt);
  if (!spec.outcome_path.empty()) {
    DEW_RETURN_IF_ERROR(
        env_.fs->CreateDirs(spec.outcome_path.substr(0, spec.outcome_path.rfind('/'))));
  }
  AttemptLog* log = inv_.log;
  std::string last_err;
  std::mutex err_mu;
  spec.on_line = [this, log, &last_err, &err_mu](OutputStream stream, std::string_view line) {
    if (stream == OutputStream::kStdout && observe_stdout_) observe_stdout_(line);
    if (stream == OutputStream::kStderr) {
      std::lock_guard<std::mutex> lock(err_mu);
      last_err.assign(line);
    }
    if (log != nullptr) {
      log->Log(stream == OutputStream::kStdout ? LogLevel::kInfo : LogLevel::kWarn,
               std::string(line));
    }
  };
  const std::string program = spec.argv.empty() ? std::string() : spec.argv[0];
  std::unique_ptr<ChildProcess> started;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return Status::Interrupted("task " + inv_.task.name + " was cancelled");
    auto child = env_.processes->Start(spec);
    if (!child.ok()) {
      return child.status().WithContext("task " + inv_.task.name);
    }
    child_ = std::move(child).value();
  }
  // Wait outside mu_ so Cancel can reach the child while it runs.
  Result<ProcessResult> result = child_->Wait();
  {
    std::lock_guard<std::mutex> lock(mu_);
    started = std::move(child_);
  }
  DEW_RETURN_IF_ERROR(result.status());
  if (result->Succeeded()) return Status::OK();
  std::string msg = "task " + inv_.task.name + ": " + program + " ended with " + result->Describe();
  {
    std::lock_guard<std::mutex> lock(err_mu);
    if (!last_err.empty()) msg += ": " + last_err;
  }
  if (result->cancelled) return Status::Interrupted(msg);
  return Status::IOError(msg);
}

void ChildTask::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (child_) child_->Cancel();
}

}  // namespace dew::orchestrator
