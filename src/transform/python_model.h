// Python models: `models/**/*.py` files defining `def model(dew): …` that return a pandas
// DataFrame (dbt's Python models, with `dew` in place of `dbt`). They take part in the DAG like
// SQL models: ScanPythonCalls finds the literal `dew.ref('m')`, `dew.source('s', 't')` and
// `dew.config(...)` calls in the file without running it, and the compiler evaluates their
// arguments as it does `{{ ref(…) }}`. PythonModelRunner runs one in a child process (DESIGN
// decision 5) and loads its result into a DuckDB table the builder then materializes like the
// result of a SQL model (table, incremental, scd2).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/file_system.h"
#include "core/process_runner.h"
#include "core/status.h"
#include "transform/model_compiler.h"

namespace dew::lake {
class Lakehouse;
}

namespace dew::transform {

//! One `dew.<function>(<args>)` call found in a Python model's source.
struct PythonCall {
  std::string function;  //!< "ref", "source", "config" or "read_this"
  std::string args;      //!< the text between the parentheses, as written
  int line = 0;          //!< 1-based position of the `dew` of the call
  int column = 0;
};

//! Finds the calls of dew.ref, dew.source, dew.config and dew.read_this in `source`, skipping
//! comments and string literals, in file order. A call whose parentheses are not closed is
//! returned with the rest of the file as its arguments (the compiler then reports it).
std::vector<PythonCall> ScanPythonCalls(std::string_view source);

//! The runner module dew writes next to a run's exchange files (python_runner_script.cc).
const char* PythonRunnerScript();

//! Runs Python models. Thread-safe: Run may be called from several builder threads at once.
class PythonModelRunner {
 public:
  //! `processes` must be rooted at `project_root` (the children's working directory);
  //! `settings` gives the interpreter and the child's limits.
  PythonModelRunner(std::shared_ptr<ProcessRunner> processes, std::shared_ptr<FileSystem> fs,
                    std::string project_root, PythonSettings settings);

  //! Exports the model's inputs (its refs and sources, and its own table when it is
  //! incremental and calls dew.read_this) from `lake`, runs model(dew) in a child process
  //! under the settings' limits with a scrubbed environment, and loads the returned DataFrame
  //! into `output_table` in the main schema of lake's connection (created or replaced).
  //! Returns the rows loaded. Errors name the model's file: "models/x.py:12: model x raised
  //! ValueError: …" with the traceback, "model() returned list, expected a pandas DataFrame",
  //! a syntax error with its line, or the child's fate (timeout, signal, exit) with its stderr.
  //! The run's temporary folder (under .dew/tmp) is removed in every case.
  Result<int64_t> Run(const CompiledModel& model, const nlohmann::json& vars, lake::Lakehouse* lake,
                      const std::string& output_table);

 private:
  std::shared_ptr<ProcessRunner> processes_;
  std::shared_ptr<FileSystem> fs_;
  const std::string project_root_;
  const PythonSettings settings_;
};

}  // namespace dew::transform
