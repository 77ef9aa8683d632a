// sync tasks: `dew --project DIR sync CONNECTION [--stream S]` as a child process, so a sync runs
// connectors::StreamSync exactly as the sync verb does (state store, bronze and silver), in its
// own process group that cancel and timeouts kill, with the task's scrubbed environment (the
// connection's ${env:NAME} secrets must be declared in the task's `env`).
#include <cstdlib>
#include <string>
#include <vector>

#include "orchestrator/task_runner.h"

namespace dew::orchestrator {

namespace {

class SyncTask final : public TaskRunner {
 public:
  SyncTask(const TaskEnv& env, TaskInvocation inv)
      : env_(env), inv_(std::move(inv)), child_(env, inv_) {}

  Result<TaskOutcome> Run() override {
    if (env_.dew_binary.empty()) {
      return Status::Internal("task " + inv_.task.name +
                              ": the executor knows no dew binary to run syncs with");
    }
    std::vector<std::string> argv = {env_.dew_binary, "--project", env_.project_dir,
                                     "--run-id",      inv_.run_id, "--format",
                                     "csv",           "sync",      inv_.task.Field("connection")};
    if (const std::string stream = inv_.task.Field("stream"); !stream.empty()) {
      argv.push_back("--stream");
      argv.push_back(stream);
    }
    // `dew sync --format csv` prints one row per stream: rows read from the source and rows
    // landed in bronze are the task's rows read and written.
    TaskOutcome outcome;
    std::vector<std::string> header;
    child_.ObserveStdout([&outcome, &header](std::string_view line) {
      std::vector<std::string> cells;
      size_t start = 0;
      for (size_t comma; (comma = line.find(',', start)) != std::string_view::npos;
           start = comma + 1) {
        cells.emplace_back(line.substr(start, comma - start));
      }
      cells.emplace_back(line.substr(start));
      if (header.empty()) {
        header = std::move(cells);
        return;
      }
      for (size_t i = 0; i < header.size() && i < cells.size(); ++i) {
        const int64_t n = std::atoll(cells[i].c_str());
        if (header[i] == "rows") outcome.rows_read += n;
        if (header[i] == "bronze_rows") outcome.rows_written += n;
      }
    });
    DEW_RETURN_IF_ERROR(child_.Run(std::move(argv)));
    return outcome;
  }

  void Cancel() override { child_.Cancel(); }

 private:
  const TaskEnv& env_;
  const TaskInvocation inv_;
  ChildTask child_;
};

}  // namespace

std::unique_ptr<TaskRunner> MakeSyncTask(const TaskEnv& env, TaskInvocation inv) {
  return std::make_unique<SyncTask>(env, std::move(inv));
}

}  // namespace dew::orchestrator
