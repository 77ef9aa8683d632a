// AttemptLog: the structured log of one task attempt, JSON lines in
// <project>/.dew/logs/<run>/<task>.<attempt>.jsonl:
//   {"ts":"2026-11-29T11:20:00.123Z","level":"info","run":"…","task":"…","attempt":1,
//    "msg":"…","rows":123}
// `rows` is present only on lines that report a count (progress, the final line). Each line is
// one write(2) on an O_APPEND file, so `dew run logs -f` in another process sees whole lines.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace dew::orchestrator {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
const char* LogLevelName(LogLevel level);

//! One parsed log line.
struct LogLine {
  std::string ts;
  std::string level;
  std::string run;
  std::string task;
  int attempt = 0;
  std::string msg;
  std::optional<int64_t> rows;
  std::optional<double> percent;
};

//! Thread-safe: several threads (the task, its output readers, the heartbeat) may log at once.
class AttemptLog {
 public:
  //! <logs_dir>/<run>/<task>.<attempt>.jsonl
  static std::string PathFor(const std::string& logs_dir, const std::string& run_id,
                             const std::string& task, int attempt);

  //! Creates the run's folder and opens (appends to) the attempt's file. IOError naming the path.
  static Result<std::unique_ptr<AttemptLog>> Open(const std::string& logs_dir,
                                                  const std::string& run_id,
                                                  const std::string& task, int attempt,
                                                  std::shared_ptr<Clock> clock);
  ~AttemptLog();
  AttemptLog(const AttemptLog&) = delete;
  AttemptLog& operator=(const AttemptLog&) = delete;

  //! Appends one line. Write errors are counted, not returned: a full disk must not fail the
  //! task whose output it is.
  void Log(LogLevel level, const std::string& msg, std::optional<int64_t> rows = std::nullopt,
           std::optional<double> percent = std::nullopt);
  const std::string& path() const { return path_; }
  int write_errors() const;

 private:
  AttemptLog(std::string path, int fd, std::string run_id, std::string task, int attempt,
             std::shared_ptr<Clock> clock);

  const std::string path_;
  const int fd_;
  const std::string run_id_;
  const std::string task_;
  const int attempt_;
  const std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  int write_errors_ = 0;  // guarded by mu_
};

//! "2026-11-29T11:20:00.123Z"
std::string FormatTimestamp(int64_t millis);

//! Parses one JSON line; InvalidArgument when it is not a log line.
Result<LogLine> ParseLogLine(const std::string& text);

//! Reads new complete lines of a run's logs as they grow; remembers how far it read each file.
//! Not thread-safe.
class RunLogReader {
 public:
  RunLogReader(std::string logs_dir, std::string run_id);
  //! The complete lines appended since the last call, in timestamp order across files (ties by
  //! file name). A missing folder yields nothing (the run has not logged yet).
  Result<std::vector<LogLine>> ReadNew();

 private:
  std::string dir_;
  std::vector<std::pair<std::string, int64_t>> offsets_;  // file name -> bytes consumed
};

}  // namespace dew::orchestrator
