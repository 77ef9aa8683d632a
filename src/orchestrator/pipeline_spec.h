// PipelineSpec: one pipeline YAML file (pipelines/<name>.yml), parsed and validated.
//
// Validation happens once, at parse time, so that the scheduler and the executor only ever see
// well-formed pipelines: every error names `file:line:column` (1-based), the field, and what
// was expected. See docs/pipelines.md for the format.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/cron_schedule.h"
#include "core/status.h"
#include "core/time_zone.h"

namespace dew {

class FileSystem;

namespace orchestrator {

enum class TaskKind { kSync, kSql, kModel, kPython, kShell, kQuality, kHttp, kEmail };

//! "sync", "sql", ... as written in pipeline files.
const char* TaskKindName(TaskKind kind);

//! What the scheduler does with fire times missed while no scheduler ran.
enum class CatchUp {
  kSkip,    //!< drop them; fire at the next time after now
  kLatest,  //!< run the most recent missed one only
  kAll,     //!< run every missed one, oldest first
};

const char* CatchUpName(CatchUp policy);

//! Exponential backoff: attempt n (1-based) waits min(backoff * 2^(n-1), max_delay), jittered.
struct RetryPolicy {
  int count = 0;                  //!< retries after the first attempt
  int64_t backoff_ms = 1000;      //!< delay before the first retry
  int64_t max_delay_ms = 300000;  //!< cap on any one delay
};

//! One variable of a task's scrubbed environment.
struct EnvVar {
  std::string name;
  //! The value (may hold ${params.x}); nullopt passes the worker's own value through.
  std::optional<std::string> value;
};

struct TaskSpec {
  std::string name;
  TaskKind kind = TaskKind::kShell;
  std::vector<std::string> depends_on;
  //! Kind-specific settings (connection, stream, sql, file, target, select, script, command,
  //! url, method, body, to, subject, ...), already checked against the kind. Values may hold
  //! ${params.x} references, which TaskGraph::WithParams substitutes.
  std::map<std::string, std::string> fields;
  RetryPolicy retries;
  int64_t timeout_ms = 0;  //!< 0: no timeout
  std::string on_failure;  //!< task run when this one fails for good; empty: none
  std::vector<EnvVar> env;
  int priority = 0;  //!< higher runs first among ready tasks
  //! Named by some task's on_failure: runs only then, never in the normal flow.
  bool failure_handler = false;
  int line = 0;  //!< where the task starts in its file, 1-based
  int column = 0;

  //! fields[key], or "" when absent.
  std::string Field(const std::string& key) const {
    auto it = fields.find(key);
    return it == fields.end() ? std::string() : it->second;
  }
};

//! Loads a time zone by name; lets tests and callers choose the tz database.
using TimeZoneLoader = std::function<Result<TimeZone>(const std::string& name)>;

//! Loads zones from /usr/share/zoneinfo through `fs`, which must outlive the loader.
TimeZoneLoader SystemTimeZoneLoader(FileSystem& fs);

//! A value, safe to share between threads for reading.
struct PipelineSpec {
  std::string file;  //!< as given to Parse, used in messages
  std::string name;
  std::optional<CronSchedule> schedule;  //!< nullopt: runs only when triggered
  std::string timezone = "UTC";
  TimeZone time_zone = TimeZone::Utc();
  std::map<std::string, std::string> params;  //!< name -> default
  CatchUp catch_up = CatchUp::kSkip;
  int concurrency = 1;          //!< runs of this pipeline at the same time
  int priority = 0;             //!< among pipelines competing for workers; higher first
  std::vector<TaskSpec> tasks;  //!< in file order

  //! Parses and validates `yaml_text`; `file_name` is used only in messages. Time zones are
  //! resolved with `load_zone` (only when the file names one other than UTC).
  //! InvalidArgument "file:line:column: field: problem" on any syntax or validation error;
  //! the loader's NotFound for an unknown zone is reported as InvalidArgument too.
  static Result<PipelineSpec> Parse(const std::string& yaml_text, const std::string& file_name,
                                    const TimeZoneLoader& load_zone);

  //! Reads `path` through `fs` and parses it. IOError/NotFound from `fs`, else as Parse.
  static Result<PipelineSpec> ParseFile(const std::string& path, FileSystem& fs,
                                        const TimeZoneLoader& load_zone);

  //! The task named `name`, or nullptr.
  const TaskSpec* FindTask(const std::string& name) const;
};

//! Every `${params.NAME}` in `text`, in order. InvalidArgument for an unterminated or empty
//! reference.
Result<std::vector<std::string>> ParamReferences(const std::string& text);

}  // namespace orchestrator
}  // namespace dew
