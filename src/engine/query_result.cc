#include "engine/query_result.h"

#include "engine/engine_internal.h"

namespace dew::engine {

QueryResult::QueryResult(void* result) : result_(result) {
  auto* r = static_cast<duckdb_result*>(result_);
  idx_t n = duckdb_column_count(r);
  for (idx_t i = 0; i < n; i++) {
    const char* name = duckdb_column_name(r, i);
    names_.emplace_back(name ? name : "");
    duckdb_logical_type t = duckdb_column_logical_type(r, i);
    types_.push_back(internal::ReadLogicalType(t));
    duckdb_destroy_logical_type(&t);
  }
}

QueryResult::~QueryResult() {
  auto* r = static_cast<duckdb_result*>(result_);
  duckdb_destroy_result(r);
  delete r;
}

uint64_t QueryResult::rows_changed() const {
  return duckdb_rows_changed(static_cast<duckdb_result*>(result_));
}

Result<std::unique_ptr<DataChunk>> QueryResult::Fetch() {
  auto* r = static_cast<duckdb_result*>(result_);
  duckdb_data_chunk chunk = duckdb_fetch_chunk(*r);
  if (chunk == nullptr) {
    // A streamed result reports errors raised mid-execution (interrupts, casts) here.
    const char* err = duckdb_result_error(r);
    if (err != nullptr && err[0] != '\0') return internal::ErrorStatus(err, "");
    return std::unique_ptr<DataChunk>();
  }
  return std::make_unique<DataChunk>(chunk, &types_);
}

}  // namespace dew::engine
