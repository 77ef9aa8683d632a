// PreparedStatement: one statement with typed parameters ($1, ?), executed many times.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

struct _duckdb_prepared_statement;

namespace dew::engine {

class QueryResult;

//! Owns a duckdb_prepared_statement. Not thread-safe. Parameters are numbered from 1.
class PreparedStatement {
 public:
  ~PreparedStatement();
  PreparedStatement(const PreparedStatement&) = delete;
  PreparedStatement& operator=(const PreparedStatement&) = delete;

  uint64_t parameter_count() const;
  Status BindInt64(uint64_t index, int64_t value);
  Status BindDouble(uint64_t index, double value);
  Status BindBool(uint64_t index, bool value);
  Status BindString(uint64_t index, const std::string& value);
  Status BindBlob(uint64_t index, const std::string& bytes);
  Status BindNull(uint64_t index);
  //! Clears every bound value.
  Status ClearBindings();

  //! Runs the statement with the bound values; the result is streamed.
  Result<std::unique_ptr<QueryResult>> Execute();

 private:
  friend class Connection;
  explicit PreparedStatement(_duckdb_prepared_statement* stmt) : stmt_(stmt) {}
  Status Check(int state, const char* what, uint64_t index);
  _duckdb_prepared_statement* stmt_;
};

}  // namespace dew::engine
