#include "orchestrator/pipeline_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "core/file_system.h"
#include "core/near_match.h"
#include "orchestrator/task_graph.h"

namespace dew::orchestrator {

namespace {

struct KindInfo {
  TaskKind kind;
  const char* name;
  std::vector<std::string> keys;      //!< kind-specific keys allowed
  std::vector<std::string> required;  //!< of which required
};

const std::vector<KindInfo>& Kinds() {
  static const std::vector<KindInfo> kinds = {
      {TaskKind::kSync, "sync", {"connection", "stream"}, {"connection"}},
      {TaskKind::kSql, "sql", {"sql", "file", "target"}, {}},
      {TaskKind::kModel, "model", {"select", "exclude", "vars"}, {"select"}},
      {TaskKind::kPython, "python", {"script", "args"}, {"script"}},
      {TaskKind::kShell, "shell", {"command"}, {"command"}},
      {TaskKind::kQuality, "quality", {"table", "sql", "severity", "vars"}, {}},
      // `url` or `superset`, checked in ParseTask
      {TaskKind::kHttp, "http", {"url", "method", "body", "superset"}, {}},
      {TaskKind::kEmail, "email", {"to", "subject", "body"}, {"to", "subject"}},
  };
  return kinds;
}

const std::vector<std::string> kTopKeys = {"name",        "description", "schedule",
                                           "timezone",    "params",      "catch_up",
                                           "concurrency", "priority",    "tasks"};
const std::vector<std::string> kTaskKeys = {"name",       "kind",    "description",
                                            "depends_on", "retries", "timeout",
                                            "on_failure", "env",     "priority"};
const std::vector<std::string> kRetryKeys = {"count", "backoff", "max_delay"};

//! " (did you mean 'x'?)" for the closest candidate within a third of the word, else "".
std::string Suggest(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string best = ClosestMatch(word, candidates).value_or("");
  return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

std::string Join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

bool IsName(const std::string& s, bool allow_dash) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && !(allow_dash && c == '-')) {
      return false;
    }
  }
  return true;
}

class Parser {
 public:
  Parser(const std::string& file, const TimeZoneLoader& load_zone)
      : file_(file), load_zone_(load_zone) {}

  Result<PipelineSpec> Run(const std::string& text);

 private:
  Status Error(const YAML::Mark& mark, const std::string& field, const std::string& problem) {
    return Status::InvalidArgument(file_ + ":" + std::to_string(mark.line + 1) + ":" +
                                   std::to_string(mark.column + 1) + ": " + field + ": " + problem);
  }

  static std::string TypeName(const YAML::Node& n) {
    if (n.IsMap()) return "a mapping";
    if (n.IsSequence()) return "a list";
    if (n.IsNull()) return "nothing";
    return "a scalar";
  }

  Status WrongType(const YAML::Node& n, const std::string& field, const std::string& expected) {
    return Error(n.Mark(), field, "wrong type: expected " + expected + ", got " + TypeName(n));
  }

  //! Checks that `map` is a mapping whose keys are all in `allowed`, without duplicates.
  Status CheckKeys(const YAML::Node& map, const std::string& field,
                   const std::vector<std::string>& allowed, const std::string& where) {
    if (!map.IsMap()) return WrongType(map, field, "a mapping");
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      std::string k = key.IsScalar() ? key.Scalar() : "?";
      std::string path = field.empty() ? k : field + "." + k;
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        std::string hint = Suggest(k, allowed);
        if (hint.empty()) hint = " (expected one of: " + Join(allowed, ", ") + ")";
        return Error(key.Mark(), path, "unknown key '" + k + "'" + where + hint);
      }
      if (!seen.insert(k).second) return Error(key.Mark(), path, "duplicate key '" + k + "'");
    }
    return Status::OK();
  }

  Result<std::string> Scalar(const YAML::Node& n, const std::string& field) {
    if (!n.IsScalar()) return WrongType(n, field, "a scalar");
    return n.Scalar();
  }

  Result<int64_t> Int(const YAML::Node& n, const std::string& field, int64_t lo, int64_t hi) {
    DEW_ASSIGN_OR_RETURN(std::string s, Scalar(n, field));
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
      return Error(n.Mark(), field, "wrong type: expected an integer, got '" + s + "'");
    }
    if (v < lo || v > hi) {
      return Error(
          n.Mark(), field,
          std::to_string(v) + " out of range " + std::to_string(lo) + "-" + std::to_string(hi));
    }
    return v;
  }

  Result<int64_t> Duration(const YAML::Node& n, const std::string& field) {
    DEW_ASSIGN_OR_RETURN(std::string s, Scalar(n, field));
    Status bad = Error(
        n.Mark(), field,
        "bad duration '" + s + "' (expected numbers with units ms, s, m, h or d, e.g. 30s, 1h30m)");
    if (s.empty()) return bad;
    int64_t total = 0;
    size_t i = 0;
    while (i < s.size()) {
      size_t start = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i == start || i - start > 9) return bad;
      int64_t number = std::stoll(s.substr(start, i - start));
      int64_t unit = 0;
      if (s.compare(i, 2, "ms") == 0) {
        unit = 1;
        i += 2;
      } else if (i < s.size()) {
        switch (s[i]) {
          case 's':
            unit = 1000;
            break;
          case 'm':
            unit = 60 * 1000;
            break;
          case 'h':
            unit = 3600 * 1000;
            break;
          case 'd':
            unit = 86400 * 1000;
            break;
          default:
            return bad;
        }
        ++i;
      } else {
        return bad;
      }
      total += number * unit;
      if (total > int64_t{365} * 86400 * 1000) {
        return Error(n.Mark(), field, "duration '" + s + "' is longer than a year");
      }
    }
    return total;
  }

  //! Checks every ${params.x} in `text` against the declared params.
  Status CheckRefs(const YAML::Node& n, const std::string& field, const std::string& text) {
    Result<std::vector<std::string>> refs = ParamReferences(text);
    if (!refs.ok()) return Error(n.Mark(), field, refs.status().message());
    for (const std::string& ref : *refs) {
      if (spec_.params.count(ref)) continue;
      std::vector<std::string> declared;
      for (const auto& [k, v] : spec_.params) declared.push_back(k);
      std::string hint = Suggest(ref, declared);
      if (hint.empty()) {
        hint = declared.empty() ? " (the pipeline declares no params)"
                                : " (declared: " + Join(declared, ", ") + ")";
      }
      return Error(n.Mark(), field, "${params." + ref + "} refers to an undeclared param" + hint);
    }
    return Status::OK();
  }

  Status ParseParams(const YAML::Node& n);
  Status ParseTask(const YAML::Node& n, size_t index);
  //! An http task's `superset:` block as JSON text (see orchestrator/superset_refresh.h).
  Result<std::string> ParseSuperset(const YAML::Node& n, const std::string& field);
  Status ParseRetries(const YAML::Node& n, const std::string& field, RetryPolicy* out);
  Status ParseEnv(const YAML::Node& n, const std::string& field, TaskSpec* task);
  Status CheckLinks();

  std::string file_;
  const TimeZoneLoader& load_zone_;
  PipelineSpec spec_;
  // Per task (by index): where its depends_on and on_failure were written.
  std::vector<YAML::Node> task_nodes_;
};

Status Parser::ParseParams(const YAML::Node& n) {
  if (n.IsNull()) return Status::OK();
  if (!n.IsMap()) return WrongType(n, "params", "a mapping of name: default");
  for (auto it = n.begin(); it != n.end(); ++it) {
    // Copies: yaml-cpp iterators hand out proxies that die with the expression.
    const YAML::Node key_node = it->first;
    const YAML::Node value_node = it->second;
    DEW_ASSIGN_OR_RETURN(std::string name, Scalar(key_node, "params"));
    std::string field = "params." + name;
    if (!IsName(name, false)) {
      return Error(key_node.Mark(), field,
                   "param names are letters, digits and _, not starting with a digit");
    }
    if (spec_.params.count(name)) return Error(key_node.Mark(), field, "duplicate param");
    if (!value_node.IsScalar()) return WrongType(value_node, field, "a scalar default value");
    spec_.params[name] = value_node.Scalar();
  }
  return Status::OK();
}

Status Parser::ParseRetries(const YAML::Node& n, const std::string& field, RetryPolicy* out) {
  if (n.IsScalar()) {
    DEW_ASSIGN_OR_RETURN(int64_t count, Int(n, field, 0, 100));
    out->count = static_cast<int>(count);
    return Status::OK();
  }
  if (!n.IsMap()) return WrongType(n, field, "a mapping {count, backoff, max_delay} or a count");
  DEW_RETURN_IF_ERROR(CheckKeys(n, field, kRetryKeys, ""));
  if (n["count"]) {
    DEW_ASSIGN_OR_RETURN(int64_t count, Int(n["count"], field + ".count", 0, 100));
    out->count = static_cast<int>(count);
  }
  if (n["backoff"]) {
    DEW_ASSIGN_OR_RETURN(out->backoff_ms, Duration(n["backoff"], field + ".backoff"));
  }
  if (n["max_delay"]) {
    DEW_ASSIGN_OR_RETURN(out->max_delay_ms, Duration(n["max_delay"], field + ".max_delay"));
    if (out->max_delay_ms < out->backoff_ms) {
      return Error(n["max_delay"].Mark(), field + ".max_delay",
                   "max_delay is shorter than backoff");
    }
  } else if (out->max_delay_ms < out->backoff_ms) {
    out->max_delay_ms = out->backoff_ms;
  }
  return Status::OK();
}

Status Parser::ParseEnv(const YAML::Node& n, const std::string& field, TaskSpec* task) {
  auto add = [&](const YAML::Node& key, std::optional<std::string> value) -> Status {
    DEW_ASSIGN_OR_RETURN(std::string name, Scalar(key, field));
    if (!IsName(name, false)) {
      return Error(key.Mark(), field + "." + name,
                   "variable names are letters, digits and _, not starting with a digit");
    }
    for (const EnvVar& v : task->env) {
      if (v.name == name) return Error(key.Mark(), field + "." + name, "duplicate variable");
    }
    task->env.push_back({name, std::move(value)});
    return Status::OK();
  };
  if (n.IsSequence()) {
    for (const YAML::Node& item : n) DEW_RETURN_IF_ERROR(add(item, std::nullopt));
    return Status::OK();
  }
  if (!n.IsMap()) return WrongType(n, field, "a list of names or a mapping of name: value");
  for (auto it = n.begin(); it != n.end(); ++it) {
    // Copies: yaml-cpp iterators hand out proxies that die with the expression.
    const YAML::Node key_node = it->first;
    const YAML::Node value_node = it->second;
    if (value_node.IsNull()) {
      DEW_RETURN_IF_ERROR(add(key_node, std::nullopt));
      continue;
    }
    std::string sub = field + "." + (key_node.IsScalar() ? key_node.Scalar() : "?");
    DEW_ASSIGN_OR_RETURN(std::string value, Scalar(value_node, sub));
    DEW_RETURN_IF_ERROR(CheckRefs(value_node, sub, value));
    DEW_RETURN_IF_ERROR(add(key_node, value));
  }
  return Status::OK();
}

Status Parser::ParseTask(const YAML::Node& n, size_t index) {
  std::string field = "tasks[" + std::to_string(index) + "]";
  if (!n.IsMap()) return WrongType(n, field, "a mapping");
  TaskSpec task;
  task.line = n.Mark().line + 1;
  task.column = n.Mark().column + 1;
  if (!n["name"]) return Error(n.Mark(), field + ".name", "missing required field 'name'");
  DEW_ASSIGN_OR_RETURN(task.name, Scalar(n["name"], field + ".name"));
  if (!IsName(task.name, true)) {
    return Error(n["name"].Mark(), field + ".name",
                 "task names are letters, digits, _ and -, not starting with a digit");
  }
  field = "tasks." + task.name;
  if (spec_.FindTask(task.name)) {
    const TaskSpec* first = spec_.FindTask(task.name);
    return Error(n["name"].Mark(), field + ".name",
                 "duplicate task name '" + task.name + "' (first defined at line " +
                     std::to_string(first->line) + ")");
  }
  if (!n["kind"]) return Error(n.Mark(), field + ".kind", "missing required field 'kind'");
  DEW_ASSIGN_OR_RETURN(std::string kind, Scalar(n["kind"], field + ".kind"));
  const KindInfo* info = nullptr;
  std::vector<std::string> kind_names;
  for (const KindInfo& k : Kinds()) {
    kind_names.push_back(k.name);
    if (kind == k.name) info = &k;
  }
  if (!info) {
    return Error(n["kind"].Mark(), field + ".kind",
                 "unknown task kind '" + kind + "'" + Suggest(kind, kind_names) +
                     "; valid kinds: " + Join(kind_names, ", "));
  }
  task.kind = info->kind;
  std::vector<std::string> allowed = kTaskKeys;
  allowed.insert(allowed.end(), info->keys.begin(), info->keys.end());
  DEW_RETURN_IF_ERROR(
      CheckKeys(n, field, allowed, " for a task of kind " + std::string(info->name)));
  for (const std::string& key : info->required) {
    if (!n[key]) {
      return Error(n.Mark(), field + "." + key,
                   "missing required field '" + key + "' for a task of kind " + info->name);
    }
  }
  if (task.kind == TaskKind::kSql && !n["sql"] == !n["file"]) {
    return Error(n.Mark(), field + ".sql",
                 "a sql task needs exactly one of 'sql' (inline) or 'file'");
  }
  if (task.kind == TaskKind::kQuality && !n["table"] && !n["sql"]) {
    return Error(n.Mark(), field + ".table",
                 "a quality task needs 'table' (its declared tests), 'sql' (an assertion), or both");
  }
  if (task.kind == TaskKind::kHttp && !n["url"] == !n["superset"]) {
    return Error(n.Mark(), field + (n["url"] ? ".superset" : ".url"),
                 n["url"] ? "an http task has either 'url' or 'superset', not both"
                          : "an http task needs 'url' (one request) or 'superset' (a dataset "
                            "refresh)");
  }
  for (const std::string& key : info->keys) {
    if (!n[key]) continue;
    if (key == "superset") {
      DEW_ASSIGN_OR_RETURN(task.fields[key], ParseSuperset(n[key], field + "." + key));
      continue;
    }
    DEW_ASSIGN_OR_RETURN(std::string value, Scalar(n[key], field + "." + key));
    DEW_RETURN_IF_ERROR(CheckRefs(n[key], field + "." + key, value));
    task.fields[key] = value;
  }
  if (const std::string severity = task.Field("severity");
      !severity.empty() && severity != "error" && severity != "warn") {
    return Error(n["severity"].Mark(), field + ".severity",
                 "unknown severity '" + severity + "'; valid: error, warn");
  }
  if (task.kind == TaskKind::kHttp) {
    std::string method = task.Field("method");
    if (method.empty()) {
      task.fields["method"] = "GET";
    } else {
      static const std::vector<std::string> kMethods = {"GET",   "POST",   "PUT",
                                                        "PATCH", "DELETE", "HEAD"};
      if (std::find(kMethods.begin(), kMethods.end(), method) == kMethods.end()) {
        return Error(n["method"].Mark(), field + ".method",
                     "unknown HTTP method '" + method + "'; valid: " + Join(kMethods, ", "));
      }
    }
  }
  if (const YAML::Node& d = n["depends_on"]; d) {
    if (d.IsScalar()) {
      task.depends_on.push_back(d.Scalar());
    } else if (d.IsSequence()) {
      for (const YAML::Node& item : d) {
        DEW_ASSIGN_OR_RETURN(std::string dep, Scalar(item, field + ".depends_on"));
        if (std::find(task.depends_on.begin(), task.depends_on.end(), dep) !=
            task.depends_on.end()) {
          return Error(item.Mark(), field + ".depends_on", "'" + dep + "' is listed twice");
        }
        task.depends_on.push_back(dep);
      }
    } else if (!d.IsNull()) {
      return WrongType(d, field + ".depends_on", "a list of task names");
    }
  }
  if (n["retries"]) {
    DEW_RETURN_IF_ERROR(ParseRetries(n["retries"], field + ".retries", &task.retries));
  }
  if (n["timeout"]) {
    DEW_ASSIGN_OR_RETURN(task.timeout_ms, Duration(n["timeout"], field + ".timeout"));
    if (task.timeout_ms == 0) {
      return Error(n["timeout"].Mark(), field + ".timeout", "timeout must be positive");
    }
  }
  if (n["on_failure"]) {
    DEW_ASSIGN_OR_RETURN(task.on_failure, Scalar(n["on_failure"], field + ".on_failure"));
  }
  if (n["env"]) DEW_RETURN_IF_ERROR(ParseEnv(n["env"], field + ".env", &task));
  if (n["priority"]) {
    DEW_ASSIGN_OR_RETURN(int64_t p, Int(n["priority"], field + ".priority", -1000, 1000));
    task.priority = static_cast<int>(p);
  }
  spec_.tasks.push_back(std::move(task));
  task_nodes_.push_back(n);
  return Status::OK();
}

Result<std::string> Parser::ParseSuperset(const YAML::Node& n, const std::string& field) {
  DEW_RETURN_IF_ERROR(CheckKeys(n, field, {"url", "username", "password", "datasets"}, ""));
  nlohmann::json block = nlohmann::json::object();
  for (const char* key : {"url", "username", "password", "datasets"}) {
    if (!n[key]) {
      return Error(n.Mark(), field + "." + key,
                   std::string("missing required field '") + key + "'");
    }
  }
  for (const char* key : {"url", "username", "password"}) {
    DEW_ASSIGN_OR_RETURN(std::string value, Scalar(n[key], field + "." + key));
    DEW_RETURN_IF_ERROR(CheckRefs(n[key], field + "." + key, value));
    block[key] = value;
  }
  const std::string password = block["password"];
  if (password.size() <= 7 || password.rfind("${env:", 0) != 0 || password.back() != '}') {
    return Error(n["password"].Mark(), field + ".password",
                 "write the password as ${env:NAME} (a literal secret in a file is refused)");
  }
  const YAML::Node& datasets = n["datasets"];
  if (!datasets.IsSequence()) {
    return WrongType(datasets, field + ".datasets", "a list of table names");
  }
  if (datasets.size() == 0) {
    return Error(datasets.Mark(), field + ".datasets", "list at least one dataset (table name)");
  }
  block["datasets"] = nlohmann::json::array();
  for (const YAML::Node& d : datasets) {
    DEW_ASSIGN_OR_RETURN(std::string name, Scalar(d, field + ".datasets"));
    DEW_RETURN_IF_ERROR(CheckRefs(d, field + ".datasets", name));
    block["datasets"].push_back(name);
  }
  return block.dump();
}

Status Parser::CheckLinks() {
  std::vector<std::string> names;
  for (const TaskSpec& t : spec_.tasks) names.push_back(t.name);
  auto unknown = [&](const YAML::Node& at, const std::string& field, const std::string& name) {
    return Error(
        at.Mark(), field,
        "unknown task '" + name + "'" + Suggest(name, names) + "; tasks: " + Join(names, ", "));
  };
  for (size_t i = 0; i < spec_.tasks.size(); ++i) {
    TaskSpec& t = spec_.tasks[i];
    const YAML::Node& n = task_nodes_[i];
    std::string field = "tasks." + t.name;
    for (size_t j = 0; j < t.depends_on.size(); ++j) {
      const std::string& dep = t.depends_on[j];
      const YAML::Node& d = n["depends_on"];
      const YAML::Node at = d.IsSequence() ? d[j] : d;
      if (dep == t.name)
        return Error(at.Mark(), field + ".depends_on", "a task cannot depend on itself");
      if (!spec_.FindTask(dep)) return unknown(at, field + ".depends_on", dep);
    }
    if (!t.on_failure.empty()) {
      const YAML::Node& at = n["on_failure"];
      if (t.on_failure == t.name) {
        return Error(at.Mark(), field + ".on_failure", "a task cannot be its own on_failure");
      }
      if (!spec_.FindTask(t.on_failure)) return unknown(at, field + ".on_failure", t.on_failure);
    }
  }
  for (TaskSpec& t : spec_.tasks) {
    if (t.on_failure.empty()) continue;
    for (TaskSpec& h : spec_.tasks) {
      if (h.name == t.on_failure) h.failure_handler = true;
    }
  }
  // Handlers run outside the normal flow, so nothing may wait for them or be waited for.
  for (size_t i = 0; i < spec_.tasks.size(); ++i) {
    const TaskSpec& t = spec_.tasks[i];
    const YAML::Node& n = task_nodes_[i];
    std::string field = "tasks." + t.name;
    if (t.failure_handler && !t.depends_on.empty()) {
      return Error(n["depends_on"].Mark(), field + ".depends_on",
                   "'" + t.name + "' is an on_failure handler and cannot have depends_on");
    }
    for (const std::string& dep : t.depends_on) {
      if (spec_.FindTask(dep)->failure_handler) {
        return Error(n["depends_on"].Mark(), field + ".depends_on",
                     "'" + dep + "' is an on_failure handler; no task can depend on it");
      }
    }
  }
  std::vector<std::string> cycle = TaskGraph::FindCycle(spec_.tasks);
  if (!cycle.empty()) {
    // cycle[1] depends on cycle[0]: point at that depends_on.
    size_t at = 0;
    for (size_t i = 0; i < spec_.tasks.size(); ++i) {
      if (spec_.tasks[i].name == cycle[1]) at = i;
    }
    return Error(task_nodes_[at]["depends_on"].Mark(), "tasks." + cycle[1] + ".depends_on",
                 "cycle: " + Join(cycle, " -> "));
  }
  return Status::OK();
}

Result<PipelineSpec> Parser::Run(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Error(e.mark, "yaml", "syntax error: " + e.msg);
  }
  try {
    spec_.file = file_;
    if (!root.IsMap()) {
      return Error(root.Mark(), "pipeline",
                   "wrong type: expected a mapping (name:, tasks:, ...), got " + TypeName(root));
    }
    DEW_RETURN_IF_ERROR(CheckKeys(root, "", kTopKeys, ""));
    if (!root["name"]) return Error(root.Mark(), "name", "missing required field 'name'");
    DEW_ASSIGN_OR_RETURN(spec_.name, Scalar(root["name"], "name"));
    if (!IsName(spec_.name, true)) {
      return Error(root["name"].Mark(), "name",
                   "pipeline names are letters, digits, _ and -, not starting with a digit");
    }
    if (root["params"]) DEW_RETURN_IF_ERROR(ParseParams(root["params"]));
    if (root["schedule"]) {
      DEW_ASSIGN_OR_RETURN(std::string expr, Scalar(root["schedule"], "schedule"));
      Result<CronSchedule> cron = CronSchedule::Parse(expr);
      if (!cron.ok()) return Error(root["schedule"].Mark(), "schedule", cron.status().message());
      spec_.schedule = *cron;
    }
    if (root["timezone"]) {
      DEW_ASSIGN_OR_RETURN(spec_.timezone, Scalar(root["timezone"], "timezone"));
      if (spec_.timezone != "UTC") {
        Result<TimeZone> tz = load_zone_(spec_.timezone);
        if (!tz.ok()) {
          return Error(
              root["timezone"].Mark(), "timezone",
              "unknown time zone '" + spec_.timezone + "' (" + tz.status().message() + ")");
        }
        spec_.time_zone = *tz;
      }
    }
    if (root["catch_up"]) {
      DEW_ASSIGN_OR_RETURN(std::string policy, Scalar(root["catch_up"], "catch_up"));
      // true/false are the boolean spellings of all/skip.
      if (policy == "skip" || policy == "false") {
        spec_.catch_up = CatchUp::kSkip;
      } else if (policy == "latest") {
        spec_.catch_up = CatchUp::kLatest;
      } else if (policy == "all" || policy == "true") {
        spec_.catch_up = CatchUp::kAll;
      } else {
        return Error(root["catch_up"].Mark(), "catch_up",
                     "unknown policy '" + policy +
                         "'; valid: skip, latest, all (true = all, false = skip)");
      }
    }
    if (root["concurrency"]) {
      DEW_ASSIGN_OR_RETURN(int64_t c, Int(root["concurrency"], "concurrency", 1, 1000));
      spec_.concurrency = static_cast<int>(c);
    }
    if (root["priority"]) {
      DEW_ASSIGN_OR_RETURN(int64_t p, Int(root["priority"], "priority", -1000, 1000));
      spec_.priority = static_cast<int>(p);
    }
    if (!root["tasks"]) return Error(root.Mark(), "tasks", "missing required field 'tasks'");
    const YAML::Node& tasks = root["tasks"];
    if (!tasks.IsSequence()) return WrongType(tasks, "tasks", "a list of tasks");
    if (tasks.size() == 0)
      return Error(tasks.Mark(), "tasks", "a pipeline needs at least one task");
    for (size_t i = 0; i < tasks.size(); ++i) DEW_RETURN_IF_ERROR(ParseTask(tasks[i], i));
    DEW_RETURN_IF_ERROR(CheckLinks());
  } catch (const YAML::Exception& e) {
    return Error(e.mark, "yaml", e.msg);
  }
  return std::move(spec_);
}

}  // namespace

const char* TaskKindName(TaskKind kind) {
  for (const KindInfo& k : Kinds()) {
    if (k.kind == kind) return k.name;
  }
  return "?";
}

const char* CatchUpName(CatchUp policy) {
  switch (policy) {
    case CatchUp::kSkip:
      return "skip";
    case CatchUp::kLatest:
      return "latest";
    case CatchUp::kAll:
      return "all";
  }
  return "?";
}

TimeZoneLoader SystemTimeZoneLoader(FileSystem& fs) {
  return [&fs](const std::string& name) { return TimeZone::Load(name, fs); };
}

Result<PipelineSpec> PipelineSpec::Parse(const std::string& yaml_text, const std::string& file_name,
                                         const TimeZoneLoader& load_zone) {
  Parser parser(file_name, load_zone);
  return parser.Run(yaml_text);
}

Result<PipelineSpec> PipelineSpec::ParseFile(const std::string& path, FileSystem& fs,
                                             const TimeZoneLoader& load_zone) {
  DEW_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(path));
  return Parse(text, path, load_zone);
}

const TaskSpec* PipelineSpec::FindTask(const std::string& name) const {
  for (const TaskSpec& t : tasks) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Result<std::vector<std::string>> ParamReferences(const std::string& text) {
  static const std::string kOpen = "${params.";
  std::vector<std::string> refs;
  size_t pos = 0;
  while ((pos = text.find(kOpen, pos)) != std::string::npos) {
    size_t close = text.find('}', pos);
    if (close == std::string::npos) {
      return Status::InvalidArgument("unterminated reference '" + text.substr(pos, 30) + "'");
    }
    std::string name = text.substr(pos + kOpen.size(), close - pos - kOpen.size());
    if (!IsName(name, false)) {
      return Status::InvalidArgument("bad param reference '" + text.substr(pos, close - pos + 1) +
                                     "'");
    }
    refs.push_back(name);
    pos = close + 1;
  }
  return refs;
}

}  // namespace dew::orchestrator
