// CompileProject: renders every model's Jinja with dbt's functions — `ref`, `source`,
// `config`, `var`, `is_incremental`, `this` — and orders the models by their references, so the
// builder can run them (and `dew compile` can print them) in dependency order.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "transform/model_project.h"

namespace dew::transform {

struct CompiledModel {
  std::string name;
  const ModelDef* def = nullptr;         //!< borrowed from the ModelProject
  ModelConfig config;                    //!< after the model's own config() call
  std::string relation;                  //!< the lake table it builds, "<layer>.<name>"
  std::string sql;                       //!< the rendered SELECT
  std::vector<std::string> model_refs;   //!< models it reads (ref), in first-use order
  std::vector<std::string> seed_refs;    //!< seeds it reads (ref)
  std::vector<std::string> source_refs;  //!< "source.table" it reads (source)
  bool is_incremental = false;           //!< what is_incremental() answered
  //! Python models: the relations the child gets, keyed "ref:m", "source:s.t" and "this"
  //! (the model's own table, when it is incremental and calls dew.read_this()).
  std::map<std::string, std::string> python_inputs;
};

struct CompileOptions {
  //! Overrides of dew.yml's `vars:` (e.g. from --vars).
  nlohmann::json vars = nlohmann::json::object();
  //! Whether a lake table exists ("silver.x"); decides is_incremental(). Null: never.
  std::function<bool(const std::string& relation)> relation_exists;
  //! is_incremental() is false for every model (dbt's --full-refresh).
  bool full_refresh = false;
};

class CompiledProject {
 public:
  //! Enabled models in dependency order (a model after every model it refs).
  const std::vector<CompiledModel>& models() const { return models_; }
  const CompiledModel* Find(const std::string& name) const;
  //! dew.yml's vars: with the invocation's overrides (what var() read).
  const nlohmann::json& vars() const { return vars_; }
  //! Models that `name` refs / that ref `name`.
  std::vector<std::string> Parents(const std::string& name) const;
  std::vector<std::string> Children(const std::string& name) const;

  //! dbt's node selection: space-separated union of selectors, each a comma-separated
  //! intersection of atoms: `name` (with * wildcards), `tag:x`, `path:models/staging`,
  //! `config.materialized:table`, `source:odoo` (models reading that source), each with
  //! optional graph operators `+x` (ancestors), `x+` (descendants), `2+x` / `x+1` (depth),
  //! `@x` (descendants and their ancestors). `exclude` removes by the same syntax. Empty
  //! `select` means every model. Returns names in dependency order; InvalidArgument naming the
  //! selector when it matches nothing or cannot be parsed.
  Result<std::vector<std::string>> Select(const std::string& select,
                                          const std::string& exclude) const;

 private:
  friend Result<CompiledProject> CompileProject(const ModelProject&, const CompileOptions&);
  Result<std::set<std::string>> Match(const std::string& selector) const;
  std::vector<CompiledModel> models_;
  std::map<std::string, size_t> index_;
  nlohmann::json vars_ = nlohmann::json::object();
};

//! Renders and orders every enabled model. Errors name the model file, line and column
//! (unknown ref with a suggestion, unknown source, undefined var, Jinja syntax) or, for a
//! cycle, its whole path ("cycle: a -> b -> a").
Result<CompiledProject> CompileProject(const ModelProject& project, const CompileOptions& options);

//! The `(source, table)` → relation and model/seed → relation rules, for callers that render
//! other SQL (singular tests) in the same context as models.
struct RenderEnvironment {
  const ModelProject* project = nullptr;
  const CompiledProject* compiled = nullptr;  //!< may be null while compiling
  nlohmann::json vars;
};
//! Renders Jinja SQL that is not a model (a singular test), with ref/source/var.
Result<std::string> RenderSql(const std::string& sql, const std::string& name,
                              const RenderEnvironment& env);

//! Renders the project's generic test `name` (dbt's `{% test name(model, column_name, …) %}`
//! block, the macro `test_<name>`) with `model` (the SQL of the tested rows), `column` as
//! `column_name` unless empty, and each of `args` as a keyword argument: the SELECT of the
//! failing rows. NotFound when there is no such test; InvalidArgument for a wrong argument.
Result<std::string> RenderGenericTest(const std::string& name, const std::string& model,
                                      const std::string& column, const nlohmann::json& args,
                                      const RenderEnvironment& env);

}  // namespace dew::transform
