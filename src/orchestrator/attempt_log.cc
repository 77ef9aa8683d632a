#include "orchestrator/attempt_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

namespace dew::orchestrator {

namespace {

std::string ErrnoText(int err) {
  return std::strerror(err);
}

Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return Status::OK();
  return Status::IOError("cannot create log folder " + path + ": " + ErrnoText(errno));
}

}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string FormatTimestamp(int64_t millis) {
  const time_t secs = static_cast<time_t>(millis / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis % 1000));
  return buf;
}

std::string AttemptLog::PathFor(const std::string& logs_dir, const std::string& run_id,
                                const std::string& task, int attempt) {
  return logs_dir + "/" + run_id + "/" + task + "." + std::to_string(attempt) + ".jsonl";
}

Result<std::unique_ptr<AttemptLog>> AttemptLog::Open(const std::string& logs_dir,
                                                     const std::string& run_id,
                                                     const std::string& task, int attempt,
                                                     std::shared_ptr<Clock> clock) {
  // The parent of logs_dir (.dew) exists in a project; create logs/ and logs/<run>/.
  DEW_RETURN_IF_ERROR(MakeDir(logs_dir));
  DEW_RETURN_IF_ERROR(MakeDir(logs_dir + "/" + run_id));
  std::string path = PathFor(logs_dir, run_id, task, attempt);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot open log " + path + ": " + ErrnoText(errno));
  return std::unique_ptr<AttemptLog>(
      new AttemptLog(std::move(path), fd, run_id, task, attempt, std::move(clock)));
}

AttemptLog::AttemptLog(std::string path, int fd, std::string run_id, std::string task, int attempt,
                       std::shared_ptr<Clock> clock)
    : path_(std::move(path)),
      fd_(fd),
      run_id_(std::move(run_id)),
      task_(std::move(task)),
      attempt_(attempt),
      clock_(std::move(clock)) {}

AttemptLog::~AttemptLog() {
  close(fd_);
}

void AttemptLog::Log(LogLevel level, const std::string& msg, std::optional<int64_t> rows,
                     std::optional<double> percent) {
  nlohmann::json j;
  j["ts"] = FormatTimestamp(clock_->NowMillis());
  j["level"] = LogLevelName(level);
  j["run"] = run_id_;
  j["task"] = task_;
  j["attempt"] = attempt_;
  // Child output need not be UTF-8; replace invalid bytes rather than failing the dump.
  j["msg"] = msg;
  if (rows) j["rows"] = *rows;
  if (percent) j["percent"] = *percent;
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ++write_errors_;
      return;
    }
    done += static_cast<size_t>(n);
  }
}

int AttemptLog::write_errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return write_errors_;
}

Result<LogLine> ParseLogLine(const std::string& text) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_object()) return Status::InvalidArgument("log line is not an object: " + text);
    LogLine l;
    l.ts = j.value("ts", "");
    l.level = j.value("level", "");
    l.run = j.value("run", "");
    l.task = j.value("task", "");
    l.attempt = j.value("attempt", 0);
    l.msg = j.value("msg", "");
    if (j.contains("rows") && j["rows"].is_number()) l.rows = j["rows"].get<int64_t>();
    if (j.contains("percent") && j["percent"].is_number()) l.percent = j["percent"].get<double>();
    return l;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("bad log line: ") + e.what());
  }
}

RunLogReader::RunLogReader(std::string logs_dir, std::string run_id)
    : dir_(std::move(logs_dir) + "/" + std::move(run_id)) {}

Result<std::vector<LogLine>> RunLogReader::ReadNew() {
  std::vector<std::string> files;
  if (DIR* d = opendir(dir_.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 6 && name.compare(name.size() - 6, 6, ".jsonl") == 0) {
        files.push_back(name);
      }
    }
    closedir(d);
  } else if (errno == ENOENT) {
    return std::vector<LogLine>{};
  } else {
    return Status::IOError("cannot list logs in " + dir_ + ": " + ErrnoText(errno));
  }
  std::sort(files.begin(), files.end());
  std::vector<std::pair<std::string, LogLine>> out;
  for (const std::string& name : files) {
    auto it = std::find_if(offsets_.begin(), offsets_.end(),
                           [&](const auto& p) { return p.first == name; });
    if (it == offsets_.end()) {
      offsets_.emplace_back(name, 0);
      it = offsets_.end() - 1;
    }
    const std::string path = dir_ + "/" + name;
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IOError("cannot open log " + path + ": " + ErrnoText(errno));
    std::string data;
    char buf[65536];
    off_t pos = it->second;
    for (;;) {
      const ssize_t n = pread(fd, buf, sizeof(buf), pos);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        close(fd);
        return Status::IOError("cannot read log " + path + ": " + ErrnoText(err));
      }
      if (n == 0) break;
      data.append(buf, static_cast<size_t>(n));
      pos += n;
    }
    close(fd);
    // Only whole lines: a writer may be in the middle of one.
    const size_t end = data.rfind('\n');
    if (end == std::string::npos) continue;
    it->second += static_cast<int64_t>(end + 1);
    size_t start = 0;
    while (start <= end) {
      const size_t nl = data.find('\n', start);
      std::string text = data.substr(start, nl - start);
      start = nl + 1;
      if (text.empty()) continue;
      auto line = ParseLogLine(text);
      if (line.ok()) {
        out.emplace_back(name, std::move(line).value());
      } else {
        LogLine raw;
        raw.msg = text;
        raw.level = "info";
        out.emplace_back(name, std::move(raw));
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second.ts != b.second.ts ? a.second.ts < b.second.ts : a.first < b.first;
  });
  std::vector<LogLine> lines;
  lines.reserve(out.size());
  for (auto& p : out) lines.push_back(std::move(p.second));
  return lines;
}

}  // namespace dew::orchestrator
