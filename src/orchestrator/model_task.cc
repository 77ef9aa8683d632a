// model tasks: the project's models chosen by `select` (dbt selector syntax) minus `exclude`,
// built in-process by transform::ModelBuilder exactly as `dew build` builds them, each model's
// declared tests run right after it (a failing error-severity test fails the model and skips
// everything downstream: the quality gate of a pipeline), every commit carrying the run's id.
// `vars` (a JSON object, ${params.x} allowed) overrides dew.yml's vars. Cancel stops starting
// models and interrupts the running ones.
#include "lake/lakehouse.h"
#include "orchestrator/project_models.h"
#include "orchestrator/task_runner.h"
#include "quality/declared_tests.h"
#include "quality/model_upstream.h"
#include "quality/test_result_log.h"
#include "transform/model_builder.h"
#include "transform/python_model.h"

namespace dew::orchestrator {

namespace {

class ModelTask final : public TaskRunner {
 public:
  ModelTask(const TaskEnv& env, TaskInvocation inv) : env_(env), inv_(std::move(inv)) {}

  Result<TaskOutcome> Run() override {
    const std::string name = "task " + inv_.task.name;
    if (!env_.open_lakehouse) return Status::Internal(name + ": no lakehouse to build models in");
    std::unique_ptr<ProjectModels> models;
    {
      auto lake = env_.open_lakehouse(inv_.run_id);
      if (!lake.ok()) return lake.status().WithContext(name + ": opening the lakehouse");
      auto loaded =
          LoadProjectModels(*env_.fs, env_.project_dir, inv_.task.Field("vars"), lake->get());
      if (!loaded.ok()) return loaded.status().WithContext(name);
      models = std::move(loaded).value();
    }
    auto names = models->compiled.Select(inv_.task.Field("select"), inv_.task.Field("exclude"));
    if (!names.ok()) return names.status().WithContext(name + ": select");
    if (inv_.log != nullptr) {
      inv_.log->Log(LogLevel::kInfo, "building " + std::to_string(names->size()) + " models");
    }
    const TaskEnv& env = env_;
    const std::string run_id = inv_.run_id;
    transform::ModelBuilder builder(
        &models->compiled, [&env, run_id] { return env.open_lakehouse(run_id); }, env_.clock,
        std::make_shared<transform::PythonModelRunner>(env_.processes, env_.fs, env_.project_dir,
                                                       models->project.python()));
    transform::BuildOptions o;
    o.models = *names;
    o.canceller = &canceller_;
    AttemptLog* log = inv_.log;
    const transform::RenderEnvironment render = models->RenderEnv();
    const int64_t now = env_.clock->NowMillis();
    // Results join the pipeline's run in the control plane, with its quality scores.
    std::unique_ptr<quality::TestResultLog> results;
    if (env_.store != nullptr)
      results = std::make_unique<quality::TestResultLog>(run_id, env_.store);
    Clock* clock = env_.clock.get();
    o.after_model = [&render, &results, clock, now, log](const transform::CompiledModel& model,
                                                         lake::Lakehouse* lake) -> Status {
      DEW_ASSIGN_OR_RETURN(auto tests, quality::CompileModelTests(render, model, now));
      std::string failed;
      // As dew build runs them: the plain tests' failing rows counted in one query.
      const int64_t at = clock->NowMillis();
      const std::vector<quality::TestOutcome> outcomes = quality::RunTestsTogether(
          tests, lake, results ? results->History() : quality::VolumeHistory());
      for (size_t i = 0; i < tests.size(); ++i) {
        const quality::TestOutcome& r = outcomes[i];
        if (results) results->Add(tests[i], r, at);
        const bool failure = r.status == "fail" || r.status == "error";
        if (log != nullptr) {
          log->Log(failure              ? LogLevel::kError
                   : r.status == "warn" ? LogLevel::kWarn
                                        : LogLevel::kInfo,
                   "test " + r.id + " " + r.status + (r.message.empty() ? "" : ": " + r.message));
        }
        if (failure) failed += (failed.empty() ? "" : "; ") + r.id + ": " + r.message;
      }
      if (failed.empty()) return Status::OK();
      return Status::InvalidArgument("tests failed: " + failed);
    };
    o.on_done = [log](const transform::ModelOutcome& m) {
      if (log == nullptr) return;
      if (m.status == "success") {
        log->Log(LogLevel::kInfo,
                 m.relation + " (" + m.materialized + ") built" +
                     (m.version >= 0 ? ", version " + std::to_string(m.version) : ""),
                 m.rows >= 0 ? std::optional<int64_t>(m.rows) : std::nullopt);
      } else {
        log->Log(m.status == "skipped" ? LogLevel::kWarn : LogLevel::kError,
                 m.relation + " " + m.status + ": " + m.error);
      }
    };
    auto outcomes = builder.Build(o);
    if (!outcomes.ok()) return outcomes.status().WithContext(name);
    if (results) {
      Status saved =
          results->Save(quality::ModelUpstream(models->compiled), env_.clock->NowMillis());
      if (!saved.ok()) return saved.WithContext(name + ": recording test results");
    }
    TaskOutcome outcome;
    std::string failed;
    int failures = 0;
    for (const transform::ModelOutcome& m : *outcomes) {
      if (m.status == "success") {
        if (m.rows > 0) outcome.rows_written += m.rows;
        continue;
      }
      ++failures;
      // Skips follow from the failures named before them; keep the message short.
      if (m.status == "error") failed += (failed.empty() ? "" : "; ") + m.relation + ": " + m.error;
    }
    if (canceller_.cancelled()) return Status::Interrupted(name + " was cancelled");
    if (failures > 0) {
      return Status::IOError(name + ": " + std::to_string(failures) + " of " +
                             std::to_string(outcomes->size()) + " models did not build: " + failed);
    }
    return outcome;
  }

  void Cancel() override { canceller_.Cancel(); }

 private:
  const TaskEnv& env_;
  const TaskInvocation inv_;
  transform::BuildCanceller canceller_;
};

}  // namespace

std::unique_ptr<TaskRunner> MakeModelTask(const TaskEnv& env, TaskInvocation inv) {
  return std::make_unique<ModelTask>(env, std::move(inv));
}

}  // namespace dew::orchestrator
