// TaskRunner: runs one attempt of one task kind. The executor makes a runner per attempt,
// calls Run() on a pool thread and, from its monitor thread, Cancel() when the run is cancelled,
// the task times out or the worker lost its claim.
//
// Kinds: sql (in-process on the project's lakehouse, one DuckDB connection per running task,
// stopped with Connection::Interrupt), shell and python (child processes through ProcessRunner),
// sync (the dew binary's `sync` verb as a child process: StreamSync with its state store, killed
// as a process group on cancel), http (HttpClient), email (SmtpClient, settings from dew.yml's
// smtp:), model (transform::ModelBuilder in-process on the project's models/), quality (the data
// tests declared for a table, or an assertion query; quality::RunTest).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/file_system.h"
#include "core/http_client.h"
#include "core/process_runner.h"
#include "core/smtp_client.h"
#include "core/status.h"
#include "orchestrator/attempt_log.h"
#include "orchestrator/pipeline_spec.h"

namespace dew::lake {
class Lakehouse;
}
namespace dew::control {
class ControlStore;
}

namespace dew::orchestrator {

class TaskRunner;
struct TaskInvocation;

//! The services tasks use, fixed for an executor's life. Shared by every runner (read-only).
struct TaskEnv {
  std::string project_dir;  //!< absolute; working directory of child processes
  std::shared_ptr<FileSystem> fs;
  std::shared_ptr<Clock> clock;
  std::shared_ptr<ProcessRunner> processes;  //!< rooted at project_dir
  std::shared_ptr<HttpClient> http;
  std::shared_ptr<SmtpClient> smtp;  //!< email tasks
  //! The worker's own environment: values of declared variables passed through (`env: [NAME]`).
  std::map<std::string, std::string> worker_env;
  //! The dew binary, run by sync tasks (`dew --project DIR sync CONNECTION`).
  std::string dew_binary;
  //! Limits of every child process (CPU seconds, memory, open files).
  ProcessLimits limits;
  //! Opens the project's lakehouse for one sql task, recording `run_id` in its commits.
  std::function<Result<std::unique_ptr<lake::Lakehouse>>(const std::string& run_id)> open_lakehouse;
  //! The worker's control plane (borrowed, thread-safe): model and quality tasks record their
  //! data test results and quality scores under the run, as `dew build` and `dew test` do. Null:
  //! nothing is recorded.
  control::ControlStore* store = nullptr;
  //! When set, makes every task's runner instead of the built-in kinds (the benchmark measures
  //! the executor alone with no-op task bodies).
  std::function<Result<std::unique_ptr<TaskRunner>>(const TaskInvocation& inv)> make_runner;
};

//! One attempt to run. The task's ${params.x} are already substituted.
struct TaskInvocation {
  std::string pipeline;
  std::string run_id;
  int attempt = 1;
  TaskSpec task;
  AttemptLog* log = nullptr;  //!< borrowed; outlives the runner
};

struct TaskOutcome {
  int64_t rows_read = 0;
  int64_t rows_written = 0;
};

struct TaskProgress {
  int64_t rows = 0;
  double percent = -1;  //!< -1 when unknown
};

class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  //! Runs the attempt to its end, once, on the calling thread. A non-OK status is the task's
  //! failure; its message becomes the attempt's error. After Cancel() it returns promptly with
  //! whatever error the interrupted work produced.
  virtual Result<TaskOutcome> Run() = 0;
  //! Asks Run to stop as soon as it can. Thread-safe; may be called any number of times, also
  //! before Run starts (Run then stops at once) or after it returned (no-op).
  virtual void Cancel() = 0;
  //! Progress of a running task when the kind knows it. Thread-safe.
  virtual std::optional<TaskProgress> progress() { return std::nullopt; }
};

//! InvalidArgument naming the file, the task and its kind when a task uses a kind this dew
//! cannot run yet (none today; kept so a kind can be declared before it runs).
Status CheckRunnable(const PipelineSpec& spec);

//! The runner for `inv.task.kind`. NotSupported for kinds CheckRunnable refuses.
Result<std::unique_ptr<TaskRunner>> MakeTaskRunner(const TaskEnv& env, TaskInvocation inv);

// One factory per kind, each in its own file.
std::unique_ptr<TaskRunner> MakeSqlTask(const TaskEnv& env, TaskInvocation inv);
//! shell (`/bin/sh -c command`) and python (`python3 script args…`).
std::unique_ptr<TaskRunner> MakeProcessTask(const TaskEnv& env, TaskInvocation inv);
std::unique_ptr<TaskRunner> MakeSyncTask(const TaskEnv& env, TaskInvocation inv);
std::unique_ptr<TaskRunner> MakeHttpTask(const TaskEnv& env, TaskInvocation inv);
std::unique_ptr<TaskRunner> MakeEmailTask(const TaskEnv& env, TaskInvocation inv);
std::unique_ptr<TaskRunner> MakeModelTask(const TaskEnv& env, TaskInvocation inv);
std::unique_ptr<TaskRunner> MakeQualityTask(const TaskEnv& env, TaskInvocation inv);

//! Where the supervisor of a child-process attempt records how its body ended
//! (`<project>/.dew/attempts/<run>/<task>.<attempt>`, see core/process_outcome.h), so that
//! whoever fails the attempt of a dead worker records that end instead of retrying a body that
//! ran to completion. Empty when `project_dir` is.
std::string AttemptOutcomePath(const std::string& project_dir, const std::string& run_id,
                               const std::string& task, int attempt);

//! Runs a child process for a task: the scrubbed environment (declared variables only, plus
//! DEW_RUN_ID, DEW_TASK and DEW_ATTEMPT), the project as working directory, the env's limits,
//! output lines into the attempt log, killed with the worker (die_with_parent) unless it had
//! already ended, in which case its supervisor records that end at AttemptOutcomePath (when the
//! env has a project_dir). Used by the process and sync kinds.
class ChildTask {
 public:
  ChildTask(const TaskEnv& env, const TaskInvocation& inv) : env_(env), inv_(inv) {}
  //! Starts argv and waits. OK only on exit 0; otherwise an error naming the task and
  //! ProcessResult::Describe() with the last stderr line.
  Status Run(std::vector<std::string> argv);
  void Cancel();
  //! Also hands each stdout line to `observe` (called on Run's reader thread), e.g. to take
  //! row counts from a child dew's output. Set before Run.
  void ObserveStdout(std::function<void(std::string_view line)> observe) {
    observe_stdout_ = std::move(observe);
  }

 private:
  const TaskEnv& env_;
  const TaskInvocation& inv_;
  std::function<void(std::string_view)> observe_stdout_;
  std::mutex mu_;
  bool cancelled_ = false;               // guarded by mu_
  std::unique_ptr<ChildProcess> child_;  // guarded by mu_ (the pointer, not the calls)
};

}  // namespace dew::orchestrator
