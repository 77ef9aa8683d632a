// Appender: bulk-loads rows into a DuckDB table, far faster than INSERT per row.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

struct _duckdb_appender;

namespace dew::engine {

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
