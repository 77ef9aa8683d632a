// QueryResult: the rows of one statement, read chunk by chunk.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/data_chunk.h"
#include "engine/logical_type.h"

namespace dew::engine {

//! Owns a duckdb_result. Not thread-safe.
class QueryResult {
 public:
  ~QueryResult();
  QueryResult(const QueryResult&) = delete;
  QueryResult& operator=(const QueryResult&) = delete;

  uint64_t column_count() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<LogicalType>& types() const { return types_; }
  //! For INSERT/UPDATE/DELETE: rows changed.
  uint64_t rows_changed() const;

  //! The next chunk, or nullptr at the end. An error while streaming (e.g. an interrupt) comes
  //! back as a Status.
  Result<std::unique_ptr<DataChunk>> Fetch();

 private:
  friend class Connection;
  friend class PreparedStatement;
  //! Takes ownership of a heap-allocated duckdb_result.
  explicit QueryResult(void* result);
  void* result_;  // duckdb_result*
  std::vector<std::string> names_;
  std::vector<LogicalType> types_;
};

}  // namespace dew::engine
