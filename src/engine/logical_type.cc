#include "engine/logical_type.h"

namespace dew::engine {

std::string LogicalType::ToSql() const {
  switch (id) {
    case TypeId::kBoolean: return "BOOLEAN";
    case TypeId::kTinyInt: return "TINYINT";
    case TypeId::kSmallInt: return "SMALLINT";
    case TypeId::kInteger: return "INTEGER";
    case TypeId::kBigInt: return "BIGINT";
    case TypeId::kUTinyInt: return "UTINYINT";
    case TypeId::kUSmallInt: return "USMALLINT";
    case TypeId::kUInteger: return "UINTEGER";
    case TypeId::kUBigInt: return "UBIGINT";
    case TypeId::kFloat: return "FLOAT";
    case TypeId::kDouble: return "DOUBLE";
    case TypeId::kTimestamp: return "TIMESTAMP";
    case TypeId::kDate: return "DATE";
    case TypeId::kTime: return "TIME";
    case TypeId::kInterval: return "INTERVAL";
    case TypeId::kHugeInt: return "HUGEINT";
    case TypeId::kUHugeInt: return "UHUGEINT";
    case TypeId::kVarchar: return "VARCHAR";
    case TypeId::kBlob: return "BLOB";
    case TypeId::kDecimal:
      return "DECIMAL(" + std::to_string(width) + "," + std::to_string(scale) + ")";
    case TypeId::kTimestampS: return "TIMESTAMP_S";
    case TypeId::kTimestampMs: return "TIMESTAMP_MS";
    case TypeId::kTimestampNs: return "TIMESTAMP_NS";
    case TypeId::kTimestampTz: return "TIMESTAMP WITH TIME ZONE";
    case TypeId::kTimeTz: return "TIME WITH TIME ZONE";
    case TypeId::kUuid: return "UUID";
    case TypeId::kBit: return "BIT";
    case TypeId::kBignum: return "BIGNUM";
    case TypeId::kSqlNull: return "NULL";
    case TypeId::kEnum: {
      std::string out = "ENUM(";
      for (size_t i = 0; i < enum_values.size(); i++) {
        if (i) out += ", ";
        out += "'" + enum_values[i] + "'";
      }
      return out + ")";
    }
    case TypeId::kList:
      return (children.empty() ? std::string("ANY") : children[0].ToSql()) + "[]";
    case TypeId::kArray:
      return (children.empty() ? std::string("ANY") : children[0].ToSql()) + "[" +
             std::to_string(array_size) + "]";
    case TypeId::kMap:
      return "MAP(" + children.at(0).ToSql() + ", " + children.at(1).ToSql() + ")";
    case TypeId::kStruct:
    case TypeId::kUnion: {
      std::string out = id == TypeId::kStruct ? "STRUCT(" : "UNION(";
      for (size_t i = 0; i < children.size(); i++) {
        if (i) out += ", ";
        out += "\"" + child_names[i] + "\" " + children[i].ToSql();
      }
      return out + ")";
    }
    default:
      return "TYPE#" + std::to_string(static_cast<int>(id));
  }
}

}  // namespace dew::engine
