// DataChunk: one batch of rows (up to 2048) of a result, read column by column.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/logical_type.h"

struct _duckdb_data_chunk;
struct _duckdb_vector;

namespace dew::engine {

//! A column of a chunk: a borrowed view, valid while its DataChunk lives.
class VectorView {
 public:
  VectorView(_duckdb_vector* vec, const LogicalType* type) : vec_(vec), type_(type) {}

  const LogicalType& type() const { return *type_; }
  bool IsNull(uint64_t row) const;
  //! Integer types, BOOLEAN, DATE (days), TIMESTAMP* (native unit) and DECIMAL (unscaled).
  int64_t GetInt64(uint64_t row) const;
  //! Numeric types, DECIMAL scaled.
  double GetDouble(uint64_t row) const;
  //! VARCHAR and BLOB bytes.
  std::string GetString(uint64_t row) const;
  //! VARCHAR and BLOB bytes without a copy; valid while the chunk lives.
  std::string_view GetStringView(uint64_t row) const;
  //! The vector's values as DuckDB lays them out (e.g. int64_t[] for BIGINT, int32_t days for
  //! DATE, int64_t micros for TIMESTAMP), for bulk copies; valid while the chunk lives.
  const void* RawData() const;
  //! True when no row of the first `rows` is NULL (cheap: no mask means all valid).
  bool AllValid(uint64_t rows) const;
  //! Any type as text, in DuckDB's own spelling (dates ISO, lists [a, b], structs {'k': v}).
  std::string Format(uint64_t row) const;

  //! LIST and MAP: where the row's elements lie among the rows of ListChild (or of MapKeys and
  //! MapValues): rows [offset, offset + length).
  struct ListRange {
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  ListRange GetListRange(uint64_t row) const;
  //! LIST: its elements, one row each.
  VectorView ListChild() const;
  //! MAP: its keys and its values, one row per entry.
  VectorView MapKeys() const;
  VectorView MapValues() const;

 private:
  _duckdb_vector* vec_;
  const LogicalType* type_;
};

//! Owns a duckdb_data_chunk.
class DataChunk {
 public:
  DataChunk(_duckdb_data_chunk* chunk, const std::vector<LogicalType>* types);
  ~DataChunk();
  DataChunk(const DataChunk&) = delete;
  DataChunk& operator=(const DataChunk&) = delete;

  uint64_t size() const;
  uint64_t column_count() const { return types_->size(); }
  VectorView column(uint64_t index) const;

 private:
  _duckdb_data_chunk* chunk_;
  const std::vector<LogicalType>* types_;  // owned by the QueryResult, which outlives us
};

}  // namespace dew::engine
