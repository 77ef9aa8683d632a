// The data tests a project declares in its properties YAML, compiled: those on one model, and
// those on every source table. `dew build`, `dew test` and the model and quality task kinds all
// take their tests from here, so a pipeline tests exactly what the CLI tests.
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

//! The tests declared on `model`. InvalidArgument from CompileTest for a malformed test.
Result<std::vector<CompiledTest>> CompileModelTests(const transform::RenderEnvironment& env,
                                                    const transform::CompiledModel& model,
                                                    int64_t now_millis);

//! The tests declared on every source table of the project (targets "source:<source>.<table>").
Result<std::vector<CompiledTest>> CompileSourceTests(const transform::RenderEnvironment& env,
                                                     int64_t now_millis);

}  // namespace dew::quality
