// LogicalType: an owned description of a DuckDB column type, with the children of nested types.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace dew::engine {

//! Mirrors DuckDB's duckdb_type ids that dew distinguishes; others keep their numeric id.
enum class TypeId : int {
  kInvalid = 0,
  kBoolean = 1,
  kTinyInt = 2,
  kSmallInt = 3,
  kInteger = 4,
  kBigInt = 5,
  kUTinyInt = 6,
  kUSmallInt = 7,
  kUInteger = 8,
  kUBigInt = 9,
  kFloat = 10,
  kDouble = 11,
  kTimestamp = 12,
  kDate = 13,
  kTime = 14,
  kInterval = 15,
  kHugeInt = 16,
  kVarchar = 17,
  kBlob = 18,
  kDecimal = 19,
  kTimestampS = 20,
  kTimestampMs = 21,
  kTimestampNs = 22,
  kEnum = 23,
  kList = 24,
  kStruct = 25,
  kMap = 26,
  kUuid = 27,
  kUnion = 28,
  kBit = 29,
  kTimeTz = 30,
  kTimestampTz = 31,
  kUHugeInt = 32,
  kArray = 33,
  kAny = 34,
  kBignum = 35,
  kSqlNull = 36,
};

//! A value type: copyable. Children are set for LIST/ARRAY (one), MAP (key, value) and STRUCT.
struct LogicalType {
  TypeId id = TypeId::kInvalid;
  //! DECIMAL width and scale; physical storage type of DECIMAL and ENUM values.
  int width = 0;
  int scale = 0;
  TypeId physical = TypeId::kInvalid;
  //! ARRAY size.
  uint64_t array_size = 0;
  std::vector<LogicalType> children;
  std::vector<std::string> child_names;  //!< STRUCT field names
  std::vector<std::string> enum_values;  //!< ENUM dictionary

  //! The SQL spelling, e.g. "DECIMAL(18,2)", "VARCHAR[]", "STRUCT(a INTEGER)".
  std::string ToSql() const;
};

}  // namespace dew::engine
