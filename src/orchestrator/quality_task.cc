// quality tasks: a gate in a pipeline. `table` runs every data test the project's properties
// YAML declares for that model or source table (by model name, "layer.name" relation, or
// "source.table"); `sql` is an assertion whose returned rows are failures (severity `error`
// unless `severity: warn`). A failed error-severity test fails the task with the failed tests
// and a sample of their offending rows; warn-severity failures are only logged. Both run through
// quality::RunTest, as `dew test` runs them.
#include <atomic>

#include "lake/lakehouse.h"
#include "orchestrator/project_models.h"
#include "orchestrator/task_runner.h"
#include "quality/data_tests.h"
#include "quality/declared_tests.h"
#include "quality/test_result_log.h"

namespace dew::orchestrator {

namespace {

class QualityTask final : public TaskRunner {
 public:
  QualityTask(const TaskEnv& env, TaskInvocation inv) : env_(env), inv_(std::move(inv)) {}

  Result<TaskOutcome> Run() override {
    const std::string name = "task " + inv_.task.name;
    if (!env_.open_lakehouse) return Status::Internal(name + ": no lakehouse to test");
    auto opened = env_.open_lakehouse(inv_.run_id);
    if (!opened.ok()) return opened.status().WithContext(name + ": opening the lakehouse");
    {
      std::lock_guard<std::mutex> lock(mu_);
      lake_ = std::move(opened).value();
      if (cancelled_) return Status::Interrupted(name + " was cancelled");
    }
    Result<TaskOutcome> result = Check(name);
    std::lock_guard<std::mutex> lock(mu_);
    lake_.reset();
    return result;
  }

  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (lake_) lake_->connection().Interrupt();
  }

 private:
  Result<std::vector<quality::CompiledTest>> TableTests(const std::string& name,
                                                        const std::string& table) {
    auto models =
        LoadProjectModels(*env_.fs, env_.project_dir, inv_.task.Field("vars"), lake_.get());
    if (!models.ok()) return models.status().WithContext(name);
    const transform::RenderEnvironment render = (*models)->RenderEnv();
    const int64_t now = env_.clock->NowMillis();
    std::vector<quality::CompiledTest> tests;
    bool known = false;
    auto add = [&tests](std::vector<quality::CompiledTest> more) {
      for (auto& t : more) tests.push_back(std::move(t));
    };
    for (const transform::CompiledModel& m : (*models)->compiled.models()) {
      if (m.name != table && m.relation != table) continue;
      known = true;
      DEW_ASSIGN_OR_RETURN(auto declared, quality::CompileModelTests(render, m, now));
      add(std::move(declared));
    }
    for (const transform::SourceTable& s : (*models)->project.sources()) {
      if (s.relation != table && s.source + "." + s.name != table) continue;
      known = true;
      DEW_ASSIGN_OR_RETURN(auto declared, quality::CompileSourceTableTests(render, s, now));
      add(std::move(declared));
    }
    if (!known) {
      return Status::InvalidArgument(name + ": table: no model or source '" + table +
                                     "' in the project's models/ (a model name, its "
                                     "layer.name relation, or source.table)");
    }
    if (tests.empty()) {
      return Status::InvalidArgument(name + ": table: '" + table +
                                     "' declares no data tests in its properties YAML");
    }
    return tests;
  }

  Result<TaskOutcome> Check(const std::string& name) {
    std::vector<quality::CompiledTest> tests;
    if (const std::string table = inv_.task.Field("table"); !table.empty()) {
      DEW_ASSIGN_OR_RETURN(tests, TableTests(name, table));
    }
    if (const std::string sql = inv_.task.Field("sql"); !sql.empty()) {
      quality::CompiledTest t;
      t.id = inv_.task.name;
      t.target = "assertion";
      t.relation = "(sql)";
      t.spec.name = "assertion";
      t.spec.severity = inv_.task.Field("severity").empty() ? "error" : inv_.task.Field("severity");
      t.failing_sql = sql;
      tests.push_back(std::move(t));
    }
    TaskOutcome outcome;
    std::string failed;
    int failures = 0;
    int passed = 0;
    // Results join the pipeline's run in the control plane, with a quality score per table.
    std::unique_ptr<quality::TestResultLog> results;
    if (env_.store != nullptr)
      results = std::make_unique<quality::TestResultLog>(inv_.run_id, env_.store);
    for (const quality::CompiledTest& t : tests) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (cancelled_) return Status::Interrupted(name + " was cancelled");
      }
      const quality::TestOutcome o =
          quality::RunTest(t, lake_.get(), results ? results->History() : quality::VolumeHistory());
      if (results) results->Add(t, o, env_.clock->NowMillis());
      const std::string line = o.id + " on " + o.target + ": " + o.status +
                               (o.message.empty() || o.status == "pass" ? "" : ": " + o.message);
      if (o.status == "pass") {
        ++passed;
        Log(LogLevel::kInfo, line);
      } else if (o.status == "warn") {
        Log(LogLevel::kWarn, line);
      } else {
        ++failures;
        Log(LogLevel::kError, line);
        failed += (failed.empty() ? "" : "; ") + line;
      }
    }
    if (results) {
      Status saved = results->Save(quality::UpstreamMap(), env_.clock->NowMillis());
      if (!saved.ok()) return saved.WithContext(name + ": recording test results");
    }
    if (failures > 0) {
      return Status::InvalidArgument(name + ": " + std::to_string(failures) + " of " +
                                     std::to_string(tests.size()) +
                                     " quality checks failed: " + failed);
    }
    Log(LogLevel::kInfo,
        std::to_string(passed) + " of " + std::to_string(tests.size()) + " quality checks passed");
    return outcome;
  }

  void Log(LogLevel level, const std::string& msg) {
    if (inv_.log != nullptr) inv_.log->Log(level, msg);
  }

  const TaskEnv& env_;
  const TaskInvocation inv_;
  std::mutex mu_;
  bool cancelled_ = false;                 // guarded by mu_
  std::unique_ptr<lake::Lakehouse> lake_;  // guarded by mu_ (the pointer; used by Run's thread)
};

}  // namespace

std::unique_ptr<TaskRunner> MakeQualityTask(const TaskEnv& env, TaskInvocation inv) {
  return std::make_unique<QualityTask>(env, std::move(inv));
}

}  // namespace dew::orchestrator
