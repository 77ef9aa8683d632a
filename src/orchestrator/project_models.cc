#include "orchestrator/project_models.h"

#include "lake/lakehouse.h"

namespace dew::orchestrator {

Result<std::unique_ptr<ProjectModels>> LoadProjectModels(FileSystem& fs, const std::string& root,
                                                         const std::string& vars_json,
                                                         lake::Lakehouse* lake, bool full_refresh) {
  auto out = std::make_unique<ProjectModels>();
  DEW_ASSIGN_OR_RETURN(out->project, transform::ModelProject::Load(fs, root));
  transform::CompileOptions o;
  if (!vars_json.empty()) {
    o.vars = nlohmann::json::parse(vars_json, nullptr, false);
    if (o.vars.is_discarded() || !o.vars.is_object()) {
      return Status::InvalidArgument(
          "vars: expected a JSON object like {\"period\": \"2026-10\"}, "
          "got '" +
          vars_json + "'");
    }
  }
  out->vars = out->project.vars().is_object() ? out->project.vars() : nlohmann::json::object();
  for (auto& [k, v] : o.vars.items()) out->vars[k] = v;
  o.full_refresh = full_refresh;
  o.relation_exists = [lake](const std::string& relation) {
    auto t = lake::ParseTableName(relation);
    return t.ok() && lake->Exists(*t);
  };
  DEW_ASSIGN_OR_RETURN(out->compiled, transform::CompileProject(out->project, o));
  return out;
}

}  // namespace dew::orchestrator
