#include "engine/appender.h"

#include <cstring>

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

namespace {

//! Bytes per value of a fixed-width ColumnSpan type; 0 for kVarchar and unsupported types.
size_t FixedWidth(TypeId t) {
  switch (t) {
    case TypeId::kBoolean:
    case TypeId::kTinyInt:
    case TypeId::kUTinyInt: return 1;
    case TypeId::kSmallInt:
    case TypeId::kUSmallInt: return 2;
    case TypeId::kInteger:
    case TypeId::kUInteger:
    case TypeId::kFloat:
    case TypeId::kDate: return 4;
    case TypeId::kBigInt:
    case TypeId::kUBigInt:
    case TypeId::kDouble:
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz: return 8;
    default: return 0;
  }
}

//! Owns the logical types and the chunk AppendColumns fills.
struct ChunkBuffer {
  std::vector<duckdb_logical_type> types;
  duckdb_data_chunk chunk = nullptr;
  ~ChunkBuffer() {
    if (chunk != nullptr) duckdb_destroy_data_chunk(&chunk);
    for (auto& t : types) duckdb_destroy_logical_type(&t);
  }
};

}  // namespace

Status Appender::AppendColumns(const std::vector<ColumnSpan>& columns, uint64_t row_count) {
  ChunkBuffer buffer;
  for (size_t c = 0; c < columns.size(); ++c) {
    const TypeId t = columns[c].type;
    if (FixedWidth(t) == 0 && t != TypeId::kVarchar)
      return Status::InvalidArgument("appender on " + table_ + ": column " + std::to_string(c) +
                                     " has a type bulk appends do not take (id " +
                                     std::to_string(static_cast<int>(t)) + ")");
    buffer.types.push_back(duckdb_create_logical_type(static_cast<duckdb_type>(t)));
  }
  buffer.chunk = duckdb_create_data_chunk(buffer.types.data(), buffer.types.size());
  const uint64_t capacity = duckdb_vector_size();
  for (uint64_t start = 0; start < row_count; start += capacity) {
    const uint64_t n = std::min(capacity, row_count - start);
    duckdb_data_chunk_reset(buffer.chunk);
    for (size_t c = 0; c < columns.size(); ++c) {
      const ColumnSpan& col = columns[c];
      duckdb_vector vec = duckdb_data_chunk_get_vector(buffer.chunk, c);
      if (col.type == TypeId::kVarchar) {
        const char* bytes = static_cast<const char*>(col.values);
        for (uint64_t r = 0; r < n; ++r) {
          const int64_t from = col.offsets[start + r], to = col.offsets[start + r + 1];
          duckdb_vector_assign_string_element_len(vec, r, bytes + from,
                                                  static_cast<idx_t>(to - from));
        }
      } else {
        const size_t width = FixedWidth(col.type);
        std::memcpy(duckdb_vector_get_data(vec),
                    static_cast<const char*>(col.values) + start * width, n * width);
      }
      if (col.valid != nullptr) {
        duckdb_vector_ensure_validity_writable(vec);
        uint64_t* validity = duckdb_vector_get_validity(vec);
        for (uint64_t r = 0; r < n; ++r) {
          if (col.valid[start + r] == 0) duckdb_validity_set_row_invalid(validity, r);
        }
      }
    }
    duckdb_data_chunk_set_size(buffer.chunk, n);
    DEW_RETURN_IF_ERROR(Check(duckdb_append_data_chunk(app_, buffer.chunk), "append chunk"));
  }
  return Status::OK();
}

}  // namespace dew::engine
