#include "engine/prepared_statement.h"

#include "engine/engine_internal.h"
#include "engine/query_result.h"

namespace dew::engine {

PreparedStatement::~PreparedStatement() {
  duckdb_prepared_statement stmt = stmt_;
  duckdb_destroy_prepare(&stmt);
}

uint64_t PreparedStatement::parameter_count() const { return duckdb_nparams(stmt_); }

Status PreparedStatement::Check(int state, const char* what, uint64_t index) {
  if (state == DuckDBSuccess) return Status::OK();
  return Status::InvalidArgument(std::string("cannot bind ") + what + " to parameter " +
                                 std::to_string(index) + " (statement has " +
                                 std::to_string(parameter_count()) + " parameters)");
}

Status PreparedStatement::BindInt64(uint64_t index, int64_t value) {
  return Check(duckdb_bind_int64(stmt_, index, value), "BIGINT", index);
}
Status PreparedStatement::BindDouble(uint64_t index, double value) {
  return Check(duckdb_bind_double(stmt_, index, value), "DOUBLE", index);
}
Status PreparedStatement::BindBool(uint64_t index, bool value) {
  return Check(duckdb_bind_boolean(stmt_, index, value), "BOOLEAN", index);
}
Status PreparedStatement::BindString(uint64_t index, const std::string& value) {
  return Check(duckdb_bind_varchar_length(stmt_, index, value.data(), value.size()), "VARCHAR",
               index);
}
Status PreparedStatement::BindBlob(uint64_t index, const std::string& bytes) {
  return Check(duckdb_bind_blob(stmt_, index, bytes.data(), bytes.size()), "BLOB", index);
}
Status PreparedStatement::BindNull(uint64_t index) {
  return Check(duckdb_bind_null(stmt_, index), "NULL", index);
}
Status PreparedStatement::ClearBindings() {
  if (duckdb_clear_bindings(stmt_) != DuckDBSuccess) {
    return Status::Internal("cannot clear bindings");
  }
  return Status::OK();
}

Result<std::unique_ptr<QueryResult>> PreparedStatement::Execute() {
  duckdb_pending_result pending = nullptr;
  if (duckdb_pending_prepared_streaming(stmt_, &pending) != DuckDBSuccess) {
    Status s = internal::ErrorStatus(pending ? duckdb_pending_error(pending) : nullptr,
                                     "cannot execute prepared statement");
    duckdb_destroy_pending(&pending);
    return s;
  }
  auto* result = new duckdb_result();
  duckdb_state state = duckdb_execute_pending(pending, result);
  duckdb_destroy_pending(&pending);
  if (state != DuckDBSuccess) {
    Status s = internal::ErrorStatus(duckdb_result_error(result), "query failed");
    duckdb_destroy_result(result);
    delete result;
    return s;
  }
  return std::unique_ptr<QueryResult>(new QueryResult(result));
}

}  // namespace dew::engine
