// ProjectModels: a project's models/ read and compiled for one task (model and quality kinds),
// with dew.yml's vars overridden by the task's `vars` (a JSON object, e.g. '{"period":
// "${params.period}"}'). The same transform calls `dew build` makes, so a pipeline builds exactly
// what `dew build` would.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/file_system.h"
#include "core/status.h"
#include "transform/model_compiler.h"
#include "transform/model_project.h"

namespace dew::lake {
class Lakehouse;
}

namespace dew::orchestrator {

//! Not movable: `compiled` points into `project`.
struct ProjectModels {
  transform::ModelProject project;
  transform::CompiledProject compiled;
  nlohmann::json vars;  //!< dew.yml's vars with the task's overrides

  ProjectModels() = default;
  ProjectModels(const ProjectModels&) = delete;
  ProjectModels& operator=(const ProjectModels&) = delete;

  //! ref()/source() in other SQL (test arguments, assertions), as models render them.
  transform::RenderEnvironment RenderEnv() const { return {&project, &compiled, vars}; }
};

//! Loads and compiles the models of the project at `root`; `vars_json` (may be empty) overrides
//! dew.yml's vars; `lake` decides is_incremental(). InvalidArgument "vars: …" for vars that are
//! not a JSON object; the project's and compiler's errors (file:line:column) otherwise.
Result<std::unique_ptr<ProjectModels>> LoadProjectModels(FileSystem& fs, const std::string& root,
                                                         const std::string& vars_json,
                                                         lake::Lakehouse* lake,
                                                         bool full_refresh = false);

}  // namespace dew::orchestrator
