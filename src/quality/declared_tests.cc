#include "quality/declared_tests.h"

namespace dew::quality {

RelationResolver ResolverFor(const transform::RenderEnvironment& env) {
  return [&env](const std::string& expression) -> Result<std::string> {
    return transform::RenderSql("{{ " + expression + " }}", "test argument", env);
  };
}

Result<std::vector<CompiledTest>> CompileModelTests(const transform::RenderEnvironment& env,
                                                    const transform::CompiledModel& model,
                                                    int64_t now_millis) {
  const RelationResolver resolve = ResolverFor(env);
  std::vector<CompiledTest> out;
  for (const auto& spec : model.def->tests) {
    DEW_ASSIGN_OR_RETURN(CompiledTest t,
                         CompileTest(spec, model.name, model.relation, resolve, now_millis));
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<CompiledTest>> CompileSourceTests(const transform::RenderEnvironment& env,
                                                     int64_t now_millis) {
  const RelationResolver resolve = ResolverFor(env);
  std::vector<CompiledTest> out;
  for (const auto& source : env.project->sources()) {
    for (const auto& spec : source.tests) {
      DEW_ASSIGN_OR_RETURN(CompiledTest t,
                           CompileTest(spec, "source:" + source.source + "." + source.name,
                                       source.relation, resolve, now_millis));
      out.push_back(std::move(t));
    }
  }
  return out;
}

}  // namespace dew::quality
