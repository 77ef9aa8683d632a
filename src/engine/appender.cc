#include "engine/appender.h"

#include "engine/engine_internal.h"

namespace dew::engine {

Appender::~Appender() {
  duckdb_appender app = app_;
  duckdb_appender_destroy(&app);
}

Status Appender::Check(int state, const char* what) {
  if (state == DuckDBSuccess) return Status::OK();
  const char* err = duckdb_appender_error(app_);
  return Status::InvalidArgument(std::string("appender ") + what + " on " + table_ + ": " +
                                 (err ? err : "unknown error"));
}

Status Appender::AppendInt64(int64_t value) {
  return Check(duckdb_append_int64(app_, value), "append BIGINT");
}
Status Appender::AppendDouble(double value) {
  return Check(duckdb_append_double(app_, value), "append DOUBLE");
}
Status Appender::AppendBool(bool value) {
  return Check(duckdb_append_bool(app_, value), "append BOOLEAN");
}
Status Appender::AppendString(const std::string& value) {
  return Check(duckdb_append_varchar_length(app_, value.data(), value.size()), "append VARCHAR");
}
Status Appender::AppendNull() { return Check(duckdb_append_null(app_), "append NULL"); }
Status Appender::EndRow() { return Check(duckdb_appender_end_row(app_), "end row"); }
Status Appender::Flush() { return Check(duckdb_appender_flush(app_), "flush"); }
Status Appender::Close() { return Check(duckdb_appender_close(app_), "close"); }

}  // namespace dew::engine
