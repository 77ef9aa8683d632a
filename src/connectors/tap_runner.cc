#include "connectors/tap_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "core/file_system.h"
#include "core/process_runner.h"
#include "engine/connection.h"

namespace dew::connectors {

using engine::SqlIdent;
using engine::SqlString;

namespace {

// ProcessSpec::on_line delivers longer lines in pieces of this size.
constexpr size_t kRunnerPieceBytes = 64 * 1024;
// A message line longer than this fails the run rather than exhausting memory.
constexpr size_t kMaxLineBytes = size_t{256} << 20;

std::string EscapePointer(const std::string& key) {
  std::string out;
  for (char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

// Replaces every string leaf of `value` (at `pointer` inside `block`) by its resolved text.
Status ResolveStrings(const SpecBlock& block, const std::string& pointer,
                      const std::map<std::string, std::string>& env, nlohmann::json* value) {
  if (value->is_string()) {
    DEW_ASSIGN_OR_RETURN(std::string s, block.ResolvedString(pointer, env));
    *value = s;
  } else if (value->is_object()) {
    for (auto& [k, v] : value->items()) {
      DEW_RETURN_IF_ERROR(ResolveStrings(block, pointer + "/" + EscapePointer(k), env, &v));
    }
  } else if (value->is_array()) {
    for (size_t i = 0; i < value->size(); i++) {
      DEW_RETURN_IF_ERROR(
          ResolveStrings(block, pointer + "/" + std::to_string(i), env, &(*value)[i]));
    }
  }
  return Status::OK();
}

Result<int64_t> PositiveInt(const SpecBlock& block, const std::string& key, int64_t fallback) {
  if (!block.value.contains(key)) return fallback;
  const auto& v = block.value[key];
  if (!v.is_number_integer() || v.get<int64_t>() < 0) {
    return block.Error("/" + key, "expected a whole number >= 0, got " + v.dump());
  }
  return v.get<int64_t>();
}

}  // namespace

Result<nlohmann::json> ResolveTapConfig(const SpecBlock& block,
                                        const std::map<std::string, std::string>& env) {
  if (!block.value.contains("config")) return nlohmann::json::object();
  nlohmann::json config = block.value["config"];
  if (config.is_null()) return nlohmann::json::object();
  if (!config.is_object()) return block.Error("/config", "expected a map of settings");
  DEW_RETURN_IF_ERROR(ResolveStrings(block, "/config", env, &config));
  return config;
}

Result<TapOptions> ParseTapOptions(const ConnectionSpec& spec, const std::string& project_dir,
                                   const std::string& spool_dir,
                                   const std::map<std::string, std::string>& env,
                                   const std::vector<std::string>& known) {
  const SpecBlock& block = spec.options;
  const std::string& type = spec.source_type;
  if (block.empty() || !block.value.is_object()) {
    return Status::InvalidArgument(spec.file + ": " + type + ": missing block `" + type +
                                   ":` with the executable to run");
  }
  static const std::vector<std::string> kCommon = {
      "executable", "args", "config", "env", "timeout_seconds", "batch_records"};
  for (const auto& [key, value] : block.value.items()) {
    if (std::find(kCommon.begin(), kCommon.end(), key) == kCommon.end() &&
        std::find(known.begin(), known.end(), key) == known.end()) {
      std::string all;
      for (const auto& k : kCommon) all += (all.empty() ? "" : ", ") + k;
      for (const auto& k : known) all += ", " + k;
      return block.Error("/" + EscapePointer(key), "unknown key (known: " + all + ")");
    }
  }
  TapOptions o;
  o.connection = spec.name;
  o.working_dir = project_dir;
  o.spool_dir = spool_dir;
  if (!block.value.contains("executable") || !block.value["executable"].is_string() ||
      block.value["executable"].get<std::string>().empty()) {
    return block.Error(block.value.contains("executable") ? "/executable" : "",
                       "expected `executable:` naming the program to run");
  }
  o.executable = block.value["executable"].get<std::string>();
  if (o.executable.find('/') != std::string::npos && o.executable[0] != '/') {
    o.executable = JoinPath(project_dir, o.executable);
  }
  if (block.value.contains("args")) {
    const auto& args = block.value["args"];
    if (!args.is_array()) return block.Error("/args", "expected a list of arguments");
    for (size_t i = 0; i < args.size(); i++) {
      if (args[i].is_object() || args[i].is_array() || args[i].is_null()) {
        return block.Error("/args/" + std::to_string(i), "expected a scalar argument");
      }
      DEW_ASSIGN_OR_RETURN(std::string a, block.ResolvedString("/args/" + std::to_string(i), env));
      o.args.push_back(a);
    }
  }
  if (block.value.contains("env")) {
    const auto& e = block.value["env"];
    if (!e.is_object()) return block.Error("/env", "expected a map of variable: value");
    for (const auto& [k, v] : e.items()) {
      if (v.is_object() || v.is_array()) {
        return block.Error("/env/" + EscapePointer(k), "expected a scalar value");
      }
      DEW_ASSIGN_OR_RETURN(std::string value,
                           block.ResolvedString("/env/" + EscapePointer(k), env));
      o.env[k] = value;
    }
  }
  if (block.value.contains("config") && !block.value["config"].is_object() &&
      !block.value["config"].is_null()) {
    return block.Error("/config", "expected a map of settings");
  }
  DEW_ASSIGN_OR_RETURN(int64_t timeout, PositiveInt(block, "timeout_seconds", 0));
  o.timeout_ms = timeout * 1000;
  DEW_ASSIGN_OR_RETURN(o.batch_records, PositiveInt(block, "batch_records", o.batch_records));
  return o;
}

Result<std::unique_ptr<PrivateDir>> PrivateDir::Create(const std::string& parent) {
  auto fs = FileSystem::Posix();
  DEW_RETURN_IF_ERROR(fs->CreateDirs(parent));
  // A dew killed during a run could not remove its folder, which holds resolved secrets:
  // folders of processes that no longer exist are removed now.
  if (auto entries = fs->ListDir(parent); entries.ok()) {
    for (const FileInfo& e : *entries) {
      if (!e.is_dir || e.name.rfind("tap_", 0) != 0) continue;
      const long pid = std::strtol(e.name.c_str() + 4, nullptr, 10);
      if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        (void)fs->RemoveAll(JoinPath(parent, e.name));
      }
    }
  }
  std::string tmpl = JoinPath(parent, "tap_" + std::to_string(getpid()) + "_XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {  // mkdtemp makes it 0700
    return Status::IOError("cannot create a private folder in " + parent + ": " +
                           std::strerror(errno));
  }
  return std::unique_ptr<PrivateDir>(new PrivateDir(tmpl));
}

PrivateDir::~PrivateDir() {
  (void)FileSystem::Posix()->RemoveAll(path_);
}

Result<std::string> PrivateDir::Write(const std::string& name, const nlohmann::json& value) {
  const std::string path = JoinPath(path_, name);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  const std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      close(fd);
      return Status::IOError("cannot write " + path + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) return Status::IOError("cannot close " + path + ": " + std::strerror(errno));
  return path;
}

std::string LandedType(const std::string& lake_type) {
  return lake_type == "JSON" ? "VARCHAR" : lake_type;
}

void LineTail::Add(std::string_view line) {
  if (line.empty()) return;
  lines_.emplace_back(line.substr(0, 500));
  if (lines_.size() > max_lines_) lines_.pop_front();
}

std::string LineTail::Join() const {
  std::string out;
  for (const auto& l : lines_) out += (out.empty() ? "" : " | ") + l;
  return out;
}

void LogLine(const TapOptions& options, const std::string& line) {
  if (options.log) {
    options.log(line);
  } else {
    std::cerr << "[" << options.connection << "] " << line << "\n";
  }
}

Status RunTap(ProcessRunner& runner, const TapOptions& options,
              const std::vector<std::string>& args, const std::string& home,
              const std::function<Status(std::string_view, int64_t)>& on_line) {
  ProcessSpec spec;
  spec.argv.push_back(options.executable);
  spec.argv.insert(spec.argv.end(), options.args.begin(), options.args.end());
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.working_dir = options.working_dir;
  spec.env = ChildEnvironment(options.env, home);
  spec.timeout_ms = options.timeout_ms;
  spec.limits.max_output_bytes = 64 << 10;  // lines are handled as they come
  const std::string who = options.connection + ": " + options.executable;
  // Airbyte's verb (read, check …) tells which run failed; Singer's first argument is a flag.
  const std::string verb =
      args.empty() || args.front().rfind("-", 0) == 0 ? std::string() : " " + args.front();

  Status failure;
  LineTail tail(10);
  int64_t line_number = 0;
  std::string long_line;
  ChildProcess* child = nullptr;
  spec.on_line = [&](OutputStream stream, std::string_view line) {
    if (stream == OutputStream::kStderr) {
      tail.Add(line);
      LogLine(options, std::string(line));
      return;
    }
    if (!failure.ok()) return;  // drain what is left after cancelling
    // The runner hands over lines longer than 64 KiB in pieces of exactly that size (big
    // records are common); they are joined here before parsing.
    if (line.size() == kRunnerPieceBytes) {
      if (long_line.size() + line.size() > kMaxLineBytes) {
        failure =
            Status::InvalidArgument("line " + std::to_string(line_number + 1) + ": longer than " +
                                    std::to_string(kMaxLineBytes >> 20) + " MiB")
                .WithContext(who + verb);
        if (child != nullptr) child->Cancel();
        return;
      }
      long_line.append(line);
      return;
    }
    if (!long_line.empty()) {
      long_line.append(line);
      line = long_line;
    }
    line_number++;
    std::string_view trimmed = line;
    while (!trimmed.empty() && (trimmed.back() == '\r' || trimmed.back() == ' ')) {
      trimmed.remove_suffix(1);
    }
    Status s = trimmed.empty() ? Status::OK() : on_line(trimmed, line_number);
    long_line.clear();
    if (!s.ok()) {
      failure = s.WithContext(who + verb);
      if (child != nullptr) child->Cancel();
    }
  };
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> process, runner.Start(spec));
  child = process.get();
  DEW_ASSIGN_OR_RETURN(ProcessResult result, process->Wait());
  if (!failure.ok()) return failure;
  if (!result.Succeeded()) {
    std::string msg = who + verb + " failed (" + result.Describe() + ")";
    if (result.timed_out)
      msg += " after timeout_seconds " + std::to_string(options.timeout_ms / 1000);
    const std::string last = tail.Join();
    msg += last.empty() ? ", no stderr output" : "; last stderr lines: " + last;
    return Status::IOError(msg);
  }
  return Status::OK();
}

RecordLander::RecordLander(BronzeLanding* landing, std::string spool_dir, std::string mode,
                           int64_t batch_records, nlohmann::json state, bool quarantine)
    : landing_(landing),
      buffer_(std::move(spool_dir), {}),
      mode_(std::move(mode)),
      batch_records_(batch_records),
      state_(std::move(state)),
      full_refresh_start_(mode_ == "full_refresh"),
      quarantine_(quarantine) {}

void RecordLander::SetSchema(std::vector<JsonColumn> columns,
                             const std::vector<std::string>& selected,
                             const std::string& cursor_field) {
  if (!selected.empty()) {
    std::vector<JsonColumn> kept;
    for (auto& c : columns) {
      if (std::find(selected.begin(), selected.end(), c.name) != selected.end()) {
        kept.push_back(std::move(c));
      }
    }
    columns = std::move(kept);
  }
  cursor_sql_.clear();
  for (const auto& c : columns) {
    if (!cursor_field.empty() && c.name == cursor_field) {
      cursor_sql_ = "CAST(" + SqlIdent(c.name) + " AS VARCHAR)";
    }
  }
  buffer_.SetColumns(std::move(columns));
}

Status RecordLander::AddRecord(const nlohmann::json& record) {
  DEW_RETURN_IF_ERROR(buffer_.Add(record));
  if (batch_records_ > 0 && buffer_.size() >= batch_records_) return Land();
  return Status::OK();
}

Status RecordLander::Commit(nlohmann::json state) {
  state_ = std::move(state);
  return Land();
}

Status RecordLander::Finish() {
  return Land();
}

Status RecordLander::Land() {
  if (buffer_.size() == 0 && buffer_.columns().empty()) {
    // No schema and no record: nothing to type a batch with. The state waits for the next
    // batch (a resume from the older state re-reads nothing, as nothing came since).
    return Status::OK();
  }
  LandingBatch batch;
  DEW_ASSIGN_OR_RETURN(batch.select_sql, buffer_.Select());
  batch.cursor_sql = cursor_sql_;
  batch.state = state_;
  batch.mode = mode_;
  batch.full_refresh_start = full_refresh_start_;
  batch.quarantine = quarantine_;
  DEW_ASSIGN_OR_RETURN(LandingResult landed, landing_->Land(batch));
  if (landed.commit.version >= 0) {
    full_refresh_start_ = false;
    commits_++;
  }
  rows_ += buffer_.size();
  bytes_ += buffer_.bytes();
  return buffer_.Clear();
}

}  // namespace dew::connectors
