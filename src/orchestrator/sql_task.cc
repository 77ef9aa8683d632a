// sql tasks: in-process on the project's lakehouse through lake::SqlExecutor, one lakehouse (one
// DuckDB connection) per running task. With `target`, the query's rows replace the target table
// (CREATE OR REPLACE TABLE target AS …, one Delta commit). Cancel interrupts the connection.
#include <atomic>

#include "engine/data_chunk.h"
#include "lake/lakehouse.h"
#include "lake/sql_executor.h"
#include "orchestrator/task_runner.h"

namespace dew::orchestrator {

namespace {

class SqlTask final : public TaskRunner {
 public:
  SqlTask(const TaskEnv& env, TaskInvocation inv) : env_(env), inv_(std::move(inv)) {}

  Result<TaskOutcome> Run() override {
    const std::string name = "task " + inv_.task.name;
    std::string sql = inv_.task.Field("sql");
    if (const std::string file = inv_.task.Field("file"); !file.empty()) {
      const std::string path = file[0] == '/' ? file : env_.project_dir + "/" + file;
      auto text = env_.fs->ReadFile(path);
      if (!text.ok()) return text.status().WithContext(name + ": reading " + path);
      sql = std::move(text).value();
    }
    if (const std::string target = inv_.task.Field("target"); !target.empty()) {
      while (!sql.empty() && (sql.back() == ';' || isspace(static_cast<unsigned char>(sql.back()))))
        sql.pop_back();
      sql = "CREATE OR REPLACE TABLE " + target + " AS " + sql;
    }
    if (!env_.open_lakehouse) return Status::Internal(name + ": no lakehouse to run SQL on");
    auto opened = env_.open_lakehouse(inv_.run_id);
    if (!opened.ok()) return opened.status().WithContext(name + ": opening the lakehouse");
    {
      std::lock_guard<std::mutex> lock(mu_);
      lake_ = std::move(opened).value();
      if (cancelled_) return Status::Interrupted(name + " was cancelled");
    }
    // The executor logs the running query's progress (progress() below).
    if (Status s = lake_->connection().TrackProgress(); !s.ok()) return s.WithContext(name);
    TaskOutcome outcome;
    Status s = Execute(sql, &outcome);
    {
      std::lock_guard<std::mutex> lock(mu_);
      lake_.reset();
    }
    if (!s.ok()) return s.WithContext(name);
    return outcome;
  }

  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    // Repeated by the executor while the task runs: DuckDB forgets an interrupt that arrives
    // between two statements of a script.
    if (lake_) lake_->connection().Interrupt();
  }

  std::optional<TaskProgress> progress() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!lake_) return std::nullopt;
    const engine::QueryProgress p = lake_->connection().progress();
    return TaskProgress{static_cast<int64_t>(p.rows_processed), p.percentage};
  }

 private:
  Status Execute(const std::string& sql, TaskOutcome* outcome) {
    lake::SqlExecutor executor(lake_.get());
    DEW_ASSIGN_OR_RETURN(lake::StatementOutput out, executor.Run(sql));
    if (out.stream) {
      for (;;) {
        DEW_ASSIGN_OR_RETURN(auto chunk, out.stream->Fetch());
        if (!chunk) break;
        outcome->rows_read += static_cast<int64_t>(chunk->size());
      }
    } else {
      // A lake write's summary: table, operation, version, rows_added, rows_removed.
      for (size_t c = 0; c < out.table.names.size(); ++c) {
        if (out.table.names[c] != "rows_added") continue;
        for (const auto& row : out.table.rows) {
          if (c < row.size() && row[c]) outcome->rows_written += std::stoll(*row[c]);
        }
      }
    }
    for (const std::string& note : out.notes) inv_.log->Log(LogLevel::kInfo, note);
    return Status::OK();
  }

  const TaskEnv& env_;
  const TaskInvocation inv_;
  std::mutex mu_;
  bool cancelled_ = false;                 // guarded by mu_
  std::unique_ptr<lake::Lakehouse> lake_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<TaskRunner> MakeSqlTask(const TaskEnv& env, TaskInvocation inv) {
  return std::make_unique<SqlTask>(env, std::move(inv));
}

}  // namespace dew::orchestrator
