// Appender: bulk-loads rows into a DuckDB table, far faster than INSERT per row.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/logical_type.h"

struct _duckdb_appender;

namespace dew::engine {

//! One column of rows held in flat memory, for Appender::AppendColumns. Borrowed: the memory
//! must outlive the call.
struct ColumnSpan {
  //! kBoolean (1 byte each), kTinyInt … kBigInt, kUTinyInt … kUBigInt, kFloat, kDouble,
  //! kDate (int32 days since 1970-01-01), kTimestamp / kTimestampTz (int64 microseconds since
  //! 1970-01-01 UTC) or kVarchar.
  TypeId type = TypeId::kInvalid;
  //! Fixed-width types: one value per row. kVarchar: the UTF-8 bytes of every row back to back.
  const void* values = nullptr;
  //! kVarchar only: row_count + 1 offsets into `values`; row i is [offsets[i], offsets[i+1]).
  const int64_t* offsets = nullptr;
  //! One byte per row, 0 for NULL; nullptr when no row is NULL.
  const uint8_t* valid = nullptr;
};

//! Owns a duckdb_appender. Not thread-safe. Values are appended column by column, then
//! EndRow(); Close() flushes. Rows not flushed when the appender is destroyed are lost.
class Appender {
 public:
  ~Appender();
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;

  Status AppendInt64(int64_t value);
  Status AppendDouble(double value);
  Status AppendBool(bool value);
  Status AppendString(const std::string& value);
  Status AppendNull();
  //! Appends `row_count` rows given column by column, a vector (2048 rows) at a time: bulk
  //! copies instead of a call per value. The table's columns must have the spans' types, in
  //! order. InvalidArgument naming the table for a column count or type mismatch or an
  //! unsupported type.
  Status AppendColumns(const std::vector<ColumnSpan>& columns, uint64_t row_count);
  Status EndRow();
  Status Flush();
  Status Close();

 private:
  friend class Connection;
  Appender(_duckdb_appender* app, std::string table) : app_(app), table_(std::move(table)) {}
  Status Check(int state, const char* what);
  _duckdb_appender* app_;
  std::string table_;
};

}  // namespace dew::engine
