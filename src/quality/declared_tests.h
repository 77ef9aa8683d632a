// The data tests a project declares in its properties YAML, compiled: those on one model, and
// those on every source table. `dew build`, `dew test` and the model and quality task kinds all
// take their tests from here, so a pipeline tests exactly what the CLI tests. RunTestsTogether
// runs a model's tests with one query where RunTest would run one per test.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "quality/data_tests.h"
#include "transform/model_compiler.h"

namespace dew::quality {

//! Resolves a test argument's relation (`ref('m')`, `source('s','t')`) as models render them.
//! `env` is borrowed and must outlive the resolver.
RelationResolver ResolverFor(const transform::RenderEnvironment& env);

//! Renders the project's own generic tests (`{% test %}` blocks in macros/) with `env`, which
//! is borrowed and must outlive the renderer.
GenericTestRenderer GenericTestsOf(const transform::RenderEnvironment& env);

//! The tests declared on `model`. InvalidArgument from CompileTest for a malformed test.
Result<std::vector<CompiledTest>> CompileModelTests(const transform::RenderEnvironment& env,
                                                    const transform::CompiledModel& model,
                                                    int64_t now_millis);

//! The tests declared on one source table (target "source:<source>.<table>").
Result<std::vector<CompiledTest>> CompileSourceTableTests(const transform::RenderEnvironment& env,
                                                          const transform::SourceTable& source,
                                                          int64_t now_millis);

//! The tests declared on every source table of the project (targets "source:<source>.<table>").
Result<std::vector<CompiledTest>> CompileSourceTests(const transform::RenderEnvironment& env,
                                                     int64_t now_millis);

//! Runs `tests` on `lake` with the outcomes RunTest gives, one per test in order, but counts
//! the failing rows of every plain test (a count only: no row_count, warn threshold or
//! quarantine) in one query, so a model's tests bind its table once rather than once each. A
//! plain test that counts failures, every plain test when that query fails, and every other
//! test then run alone through RunTest, so a failure's message, sample rows and error are
//! RunTest's own. A passing plain test's seconds are its share of the shared query's.
std::vector<TestOutcome> RunTestsTogether(const std::vector<CompiledTest>& tests,
                                          lake::Lakehouse* lake,
                                          const VolumeHistory& history = nullptr);

}  // namespace dew::quality
