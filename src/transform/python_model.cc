#include "transform/python_model.h"

#include <cctype>

#include "core/id_generator.h"
#include "engine/connection.h"
#include "lake/lakehouse.h"
#include "transform/column_exchange.h"

namespace dew::transform {
namespace {

bool IsIdent(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

//! Where a string literal starting at `i` (at its quote) ends: the index after its closing
//! quote, or the end of the source. Handles ''' and """ and backslash escapes.
size_t SkipString(std::string_view s, size_t i) {
  const char q = s[i];
  const bool triple = i + 2 < s.size() && s[i + 1] == q && s[i + 2] == q;
  size_t j = i + (triple ? 3 : 1);
  while (j < s.size()) {
    if (s[j] == '\\') {
      j += 2;
      continue;
    }
    if (!triple && s[j] == '\n') return j;  // unterminated: Python reports it, not us
    if (s[j] == q && (!triple || (j + 2 < s.size() && s[j + 1] == q && s[j + 2] == q)))
      return j + (triple ? 3 : 1);
    ++j;
  }
  return s.size();
}

}  // namespace

std::vector<PythonCall> ScanPythonCalls(std::string_view s) {
  static const char* const kFunctions[] = {"ref", "source", "config", "read_this"};
  std::vector<PythonCall> out;
  int line = 1;
  size_t line_start = 0;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\n') {
      ++line;
      line_start = ++i;
      continue;
    }
    if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    if (c == '\'' || c == '"') {
      const size_t end = SkipString(s, i);
      for (size_t k = i; k < end; ++k) {
        if (s[k] == '\n') {
          ++line;
          line_start = k + 1;
        }
      }
      i = end;
      continue;
    }
    if (s.compare(i, 4, "dew.") != 0 || (i > 0 && (IsIdent(s[i - 1]) || s[i - 1] == '.'))) {
      ++i;
      continue;
    }
    size_t name_end = i + 4;
    while (name_end < s.size() && IsIdent(s[name_end])) ++name_end;
    const std::string name(s.substr(i + 4, name_end - i - 4));
    size_t open = name_end;
    while (open < s.size() && (s[open] == ' ' || s[open] == '\t')) ++open;
    bool known = false;
    for (const char* f : kFunctions) known = known || name == f;
    if (!known || open >= s.size() || s[open] != '(') {
      i = name_end;
      continue;
    }
    PythonCall call;
    call.function = name;
    call.line = line;
    call.column = static_cast<int>(i - line_start) + 1;
    // The arguments up to the matching ')', with comments blanked out.
    int depth = 1;
    size_t j = open + 1;
    while (j < s.size() && depth > 0) {
      const char d = s[j];
      if (d == '\'' || d == '"') {
        const size_t end = SkipString(s, j);
        call.args.append(s.substr(j, end - j));
        j = end;
        continue;
      }
      if (d == '#') {
        while (j < s.size() && s[j] != '\n') ++j;
        continue;
      }
      if (d == '(' || d == '[' || d == '{') ++depth;
      if (d == ')' || d == ']' || d == '}') --depth;
      if (depth > 0) call.args.push_back(d);
      ++j;
    }
    out.push_back(std::move(call));
    // Keep counting lines inside the call's arguments.
    for (size_t k = i; k < j; ++k) {
      if (s[k] == '\n') {
        ++line;
        line_start = k + 1;
      }
    }
    i = j;
  }
  return out;
}

PythonModelRunner::PythonModelRunner(std::shared_ptr<ProcessRunner> processes,
                                     std::shared_ptr<FileSystem> fs, std::string project_root,
                                     PythonSettings settings)
    : processes_(std::move(processes)),
      fs_(std::move(fs)),
      project_root_(std::move(project_root)),
      settings_(std::move(settings)) {}

namespace {

//! The message of a failed run: error.json's when the runner wrote one, else the child's fate.
std::string FailureMessage(FileSystem& fs, const std::string& dir, const CompiledModel& model,
                           const ProcessResult& result) {
  const std::string& path = model.def->path;
  auto error = fs.ReadFile(dir + "/error.json");
  if (error.ok()) {
    nlohmann::json e = nlohmann::json::parse(*error, nullptr, false);
    if (e.is_object()) {
      const std::string kind = e.value("kind", "");
      std::string where = path;
      if (e.contains("line") && e["line"].is_number_integer())
        where += ":" + std::to_string(e["line"].get<int>());
      const std::string message = e.value("message", "");
      std::string text = kind == "exception"
                             ? where + ": model " + model.name + " raised " + message
                         : kind == "syntax" ? where + ": model " + model.name + ": " + message
                                            : where + ": model " + model.name + ": " + message;
      const std::string tb = e.value("traceback", "");
      if (!tb.empty()) {
        // The last lines of the traceback: the model's frames and the exception.
        std::vector<std::string> lines;
        size_t start = 0;
        while (start < tb.size()) {
          size_t nl = tb.find('\n', start);
          if (nl == std::string::npos) nl = tb.size();
          if (nl > start) lines.push_back(tb.substr(start, nl - start));
          start = nl + 1;
        }
        const size_t from = lines.size() > 12 ? lines.size() - 12 : 0;
        for (size_t k = from; k < lines.size(); ++k) text += "\n    " + lines[k];
      }
      return text;
    }
  }
  std::string stderr_tail = result.stderr_text;
  if (stderr_tail.size() > 2000) stderr_tail = "…" + stderr_tail.substr(stderr_tail.size() - 2000);
  while (!stderr_tail.empty() && stderr_tail.back() == '\n') stderr_tail.pop_back();
  return path + ": python model " + model.name + " failed: " + result.Describe() +
         (stderr_tail.empty() ? "" : "\n" + stderr_tail);
}

}  // namespace

Result<int64_t> PythonModelRunner::Run(const CompiledModel& model, const nlohmann::json& vars,
                                       lake::Lakehouse* lake, const std::string& output_table) {
  IdGenerator ids;
  const std::string tmp_root = project_root_ + "/.dew/tmp";
  const std::string dir = tmp_root + "/python-" + model.name + "-" + ids.NewUuid();
  DEW_RETURN_IF_ERROR(fs_->CreateDirs(dir));
  struct Cleanup {
    FileSystem* fs;
    std::string dir;
    ~Cleanup() { (void)fs->RemoveAll(dir); }
  } cleanup{fs_.get(), dir};

  // Inputs, one exchange pair each.
  nlohmann::json inputs = nlohmann::json::object();
  int n = 0;
  for (const auto& [key, relation] : model.python_inputs) {
    const std::string name = "input" + std::to_string(n++);
    auto written =
        WriteColumns(lake->connection(), "SELECT * FROM " + relation, *fs_, dir + "/" + name);
    if (!written.ok())
      return written.status().WithContext(model.def->path + ": reading " + relation + " for " +
                                          key);
    inputs[key] = name;
  }
  nlohmann::json config = {{"materialized", model.config.materialized},
                           {"layer", model.config.layer},
                           {"unique_key", model.config.unique_key},
                           {"tags", model.config.tags}};
  nlohmann::json request = {{"model", model.name},
                            {"path", model.def->path},
                            {"dir", dir},
                            {"this", model.relation},
                            {"is_incremental", model.is_incremental},
                            {"inputs", inputs},
                            {"vars", vars.is_object() ? vars : nlohmann::json::object()},
                            {"config", config}};
  DEW_RETURN_IF_ERROR(fs_->WriteFile(dir + "/dew_runner.py", PythonRunnerScript()));
  DEW_RETURN_IF_ERROR(fs_->WriteFile(dir + "/request.json", request.dump()));

  ProcessSpec spec;
  spec.argv = {settings_.interpreter, "-B", dir + "/dew_runner.py", dir + "/request.json"};
  // Numeric libraries would start a thread per core for every model otherwise.
  spec.env = ChildEnvironment({{"OPENBLAS_NUM_THREADS", "1"},
                               {"OMP_NUM_THREADS", "1"},
                               {"MKL_NUM_THREADS", "1"},
                               {"PYTHONDONTWRITEBYTECODE", "1"}},
                              dir);
  spec.limits = settings_.limits;
  spec.timeout_ms = settings_.timeout_ms;
  spec.die_with_parent = true;
  auto child = processes_->Start(spec);
  if (!child.ok())
    return child.status().WithContext(model.def->path + ": starting python model " + model.name);
  DEW_ASSIGN_OR_RETURN(ProcessResult result, (*child)->Wait());
  if (!result.Succeeded()) return Status::InvalidArgument(FailureMessage(*fs_, dir, model, result));
  auto loaded = LoadColumns(*fs_, dir + "/output", lake->connection(), output_table);
  if (!loaded.ok())
    return loaded.status().WithContext(model.def->path + ": loading the result of " + model.name);
  return loaded;
}

}  // namespace dew::transform
