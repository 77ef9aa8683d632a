// Data tests: each declared test (transform::TestSpec) compiled to SQL over the tested
// relation, then run. dbt's generic tests — not_null, unique, accepted_values, relationships —
// and dew's own: range, regex, expression, row_count, freshness. A test passes when it finds no
// failing row; otherwise it fails (severity error) or warns (severity warn). A row-level test
// with `action: quarantine` moves its failing rows to `<relation>__quarantine` with the reason
// instead of failing. A row_count test also records the table's row count and, given the
// counts of earlier runs, fails on a volume anomaly (see volume_anomaly.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "quality/volume_anomaly.h"
#include "transform/model_project.h"

namespace dew::lake {
class Lakehouse;
}

namespace dew::quality {

struct CompiledTest {
  std::string id;        //!< e.g. "not_null_stg_orders_id", unique within a project
  std::string target;    //!< the model, or "source:odoo.sale_order"
  std::string relation;  //!< the lake relation tested
  transform::TestSpec spec;
  //! SELECT returning the failing rows (or, for unique/row_count/freshness, the failing groups).
  std::string failing_sql;
  //! A second, milder check that makes the outcome "warn" when failing_sql passes: freshness
  //! with both warn_after and error_after (dbt's two thresholds). Empty otherwise.
  std::string warn_sql;
  //! For row-level tests: a boolean SQL expression true for a failing row; empty otherwise.
  std::string row_predicate;
  //! For row_count: SELECT count(*) of the tested rows, and the volume rule; empty otherwise.
  std::string count_sql;
  VolumeRule volume;
};

//! Resolves a relation written in a test argument, e.g. relationships' `to: ref('customers')`
//! or `source('erp','x')`, to a lake relation.
using RelationResolver = std::function<Result<std::string>(const std::string& expression)>;

//! Renders a generic test the project defines itself (dbt's `{% test name(model, column_name)
//! %}` block) for `spec`, with `model` the SQL of the tested rows: the SELECT of its failing
//! rows. NotFound when the project has no test of that name.
using GenericTestRenderer =
    std::function<Result<std::string>(const transform::TestSpec& spec, const std::string& model)>;

//! Compiles one test: a built-in one, or else one `generic` renders. InvalidArgument naming the
//! test's position when an argument is missing or wrong (accepted_values without values,
//! relationships without to/field, quarantine on a test that is not row-level).
Result<CompiledTest> CompileTest(const transform::TestSpec& spec, const std::string& target,
                                 const std::string& relation, const RelationResolver& resolve,
                                 int64_t now_millis, const GenericTestRenderer& generic = nullptr);

struct TestOutcome {
  std::string id;
  std::string target;
  std::string status;  //!< "pass", "fail", "warn", "error" (the test itself could not run)
  std::string severity;
  int64_t failures = 0;     //!< failing rows (or groups)
  int64_t quarantined = 0;  //!< rows moved to the quarantine table
  std::string message;      //!< for fail/warn/error: what failed, with a sample; notes for a pass
  double seconds = 0;
  std::optional<int64_t> observed;  //!< row_count: the table's row count (the volume history)
};

//! The row counts earlier runs recorded for the test `test_id`, newest first, at most `limit`.
using VolumeHistory =
    std::function<Result<std::vector<int64_t>>(const std::string& test_id, int limit)>;

//! Runs one compiled test on `lake` (views must be current). Quarantine: copies the failing
//! rows with `_dew_test`, `_dew_reason` and `_dew_run_id` into `<relation>__quarantine` (created
//! on first use) and deletes them from the relation, in that order, so a crash between the two
//! leaves the rows in both places rather than lost. A row_count test fails (or warns) when the
//! count is outside min/max, or, with `history` and its volume rule enabled, when it is a volume
//! anomaly against the earlier counts; without history it passes with a note. A history that
//! cannot be read makes the test's status "error".
TestOutcome RunTest(const CompiledTest& test, lake::Lakehouse* lake,
                    const VolumeHistory& history = nullptr);

}  // namespace dew::quality
