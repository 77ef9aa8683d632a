#include "quality/declared_tests.h"

#include <chrono>

#include "engine/connection.h"
#include "lake/lakehouse.h"

namespace dew::quality {

RelationResolver ResolverFor(const transform::RenderEnvironment& env) {
  return [&env](const std::string& expression) -> Result<std::string> {
    return transform::RenderSql("{{ " + expression + " }}", "test argument", env);
  };
}

GenericTestRenderer GenericTestsOf(const transform::RenderEnvironment& env) {
  return [&env](const transform::TestSpec& spec, const std::string& model) {
    return transform::RenderGenericTest(spec.name, model, spec.column, spec.args, env);
  };
}

Result<std::vector<CompiledTest>> CompileModelTests(const transform::RenderEnvironment& env,
                                                    const transform::CompiledModel& model,
                                                    int64_t now_millis) {
  const RelationResolver resolve = ResolverFor(env);
  std::vector<CompiledTest> out;
  for (const auto& spec : model.def->tests) {
    DEW_ASSIGN_OR_RETURN(CompiledTest t, CompileTest(spec, model.name, model.relation, resolve,
                                                     now_millis, GenericTestsOf(env)));
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<CompiledTest>> CompileSourceTableTests(const transform::RenderEnvironment& env,
                                                          const transform::SourceTable& source,
                                                          int64_t now_millis) {
  const RelationResolver resolve = ResolverFor(env);
  std::vector<CompiledTest> out;
  for (const auto& spec : source.tests) {
    DEW_ASSIGN_OR_RETURN(CompiledTest t,
                         CompileTest(spec, "source:" + source.source + "." + source.name,
                                     source.relation, resolve, now_millis, GenericTestsOf(env)));
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::vector<CompiledTest>> CompileSourceTests(const transform::RenderEnvironment& env,
                                                     int64_t now_millis) {
  std::vector<CompiledTest> out;
  for (const auto& source : env.project->sources()) {
    DEW_ASSIGN_OR_RETURN(std::vector<CompiledTest> tests,
                         CompileSourceTableTests(env, source, now_millis));
    for (auto& t : tests) out.push_back(std::move(t));
  }
  return out;
}

std::vector<TestOutcome> RunTestsTogether(const std::vector<CompiledTest>& tests,
                                          lake::Lakehouse* lake, const VolumeHistory& history) {
  std::vector<TestOutcome> out(tests.size());
  std::vector<bool> done(tests.size(), false);
  std::vector<size_t> plain;
  for (size_t i = 0; i < tests.size(); ++i) {
    const CompiledTest& t = tests[i];
    if (t.count_sql.empty() && t.warn_sql.empty() && t.spec.action != "quarantine")
      plain.push_back(i);
  }
  if (plain.size() > 1) {
    // One row, a column per test: count(*) of its failing rows, as RunTest counts them.
    std::string sql = "SELECT ";
    for (size_t k = 0; k < plain.size(); ++k) {
      sql += (k ? ", " : "") + std::string("(SELECT count(*) FROM (") +
             tests[plain[k]].failing_sql + ") AS _dew_f)";
    }
    const auto started = std::chrono::steady_clock::now();
    auto counts = lake->connection().QueryText(sql);
    const double share =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() /
        static_cast<double>(plain.size());
    if (counts.ok() && counts->rows.size() == 1 && counts->rows[0].size() == plain.size()) {
      for (size_t k = 0; k < plain.size(); ++k) {
        const std::optional<std::string>& n = counts->rows[0][k];
        if (n.has_value() && *n != "0") continue;  // RunTest reports it, with its sample
        const CompiledTest& t = tests[plain[k]];
        TestOutcome& o = out[plain[k]];
        o.id = t.id;
        o.target = t.target;
        o.severity = t.spec.severity;
        o.status = "pass";
        o.seconds = share;
        done[plain[k]] = true;
      }
    }
  }
  for (size_t i = 0; i < tests.size(); ++i) {
    if (!done[i]) out[i] = RunTest(tests[i], lake, history);
  }
  return out;
}

}  // namespace dew::quality
