#include "lake/schema.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "engine/connection.h"

namespace dew::lake {
namespace {

using engine::LogicalType;
using engine::TypeId;
using nlohmann::json;

// Field metadata key carrying the DuckDB type when Delta's type alone would read back as a
// different one (TIMESTAMP is stored as Delta "timestamp", which otherwise means TIMESTAMPTZ).
constexpr const char* kDuckDbTypeKey = "dew.duckdb_type";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A Delta type as JSON (a string for primitives, an object for nested types) with the DuckDB
// type a dew reader should give it back.
struct Converted {
  json delta;
  std::string duckdb_sql;  // what the column is meant to be in DuckDB after the round trip
};

Result<std::string> DuckDbTypeOfJson(const json& type);

std::string HintOf(const json& metadata) {
  if (!metadata.is_object()) return "";
  auto it = metadata.find(kDuckDbTypeKey);
  if (it == metadata.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

Result<std::string> DuckDbTypeOfPrimitive(const std::string& name) {
  static const std::pair<const char*, const char*> kPrimitives[] = {
      {"byte", "TINYINT"},
      {"short", "SMALLINT"},
      {"integer", "INTEGER"},
      {"long", "BIGINT"},
      {"float", "FLOAT"},
      {"double", "DOUBLE"},
      {"string", "VARCHAR"},
      {"binary", "BLOB"},
      {"boolean", "BOOLEAN"},
      {"date", "DATE"},
      {"timestamp", "TIMESTAMP WITH TIME ZONE"},
      {"timestamp_ntz", "TIMESTAMP"},
  };
  for (const auto& [delta, duck] : kPrimitives) {
    if (name == delta) return std::string(duck);
  }
  if (name == "decimal") return std::string("DECIMAL(10,0)");
  int precision = 0;
  int scale = 0;
  char close = 0;
  if (std::sscanf(name.c_str(), "decimal(%d,%d%c", &precision, &scale, &close) == 3 &&
      close == ')') {
    if (precision < 1 || precision > 38 || scale < 0 || scale > precision) {
      return Status::NotSupported("Delta type '" + name +
                                  "' has a precision or scale out of range");
    }
    return "DECIMAL(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
  }
  return Status::NotSupported("unknown Delta type '" + name + "'");
}

Result<std::string> DuckDbTypeOfField(const json& field) {
  const std::string hint = HintOf(field.value("metadata", json::object()));
  if (!hint.empty()) return hint;
  return DuckDbTypeOfJson(field.at("type"));
}

Result<std::string> DuckDbTypeOfJson(const json& type) {
  if (type.is_string()) return DuckDbTypeOfPrimitive(type.get<std::string>());
  if (!type.is_object()) return Status::Corruption("Delta type is neither a name nor an object");
  const std::string kind = type.value("type", "");
  try {
    if (kind == "array") {
      DEW_ASSIGN_OR_RETURN(std::string element, DuckDbTypeOfJson(type.at("elementType")));
      return element + "[]";
    }
    if (kind == "map") {
      DEW_ASSIGN_OR_RETURN(std::string key, DuckDbTypeOfJson(type.at("keyType")));
      DEW_ASSIGN_OR_RETURN(std::string value, DuckDbTypeOfJson(type.at("valueType")));
      return "MAP(" + key + ", " + value + ")";
    }
    if (kind == "struct") {
      std::string out = "STRUCT(";
      bool first = true;
      for (const auto& f : type.at("fields")) {
        DEW_ASSIGN_OR_RETURN(std::string child, DuckDbTypeOfField(f));
        if (!first) out += ", ";
        first = false;
        out += engine::SqlIdent(f.at("name").get<std::string>()) + " " + child;
      }
      return out + ")";
    }
  } catch (const std::exception& e) {
    return Status::Corruption("malformed nested Delta type " + type.dump() + ": " + e.what());
  }
  return Status::NotSupported("unknown Delta type " + type.dump());
}

std::string CastAdvice(TypeId id) {
  switch (id) {
    case TypeId::kHugeInt:
    case TypeId::kUHugeInt:
    case TypeId::kBignum:
      return "DECIMAL(38,0)";
    default:
      return "VARCHAR";
  }
}

Result<Converted> Convert(const LogicalType& t, const std::string& column) {
  auto primitive = [](const char* delta, std::string sql) {
    return Converted{json(delta), std::move(sql)};
  };
  switch (t.id) {
    case TypeId::kBoolean:
      return primitive("boolean", "BOOLEAN");
    case TypeId::kTinyInt:
      return primitive("byte", "TINYINT");
    case TypeId::kSmallInt:
      return primitive("short", "SMALLINT");
    case TypeId::kInteger:
      return primitive("integer", "INTEGER");
    case TypeId::kBigInt:
      return primitive("long", "BIGINT");
    // Unsigned types widen to the next signed type that holds every value.
    case TypeId::kUTinyInt:
      return primitive("short", "SMALLINT");
    case TypeId::kUSmallInt:
      return primitive("integer", "INTEGER");
    case TypeId::kUInteger:
      return primitive("long", "BIGINT");
    case TypeId::kUBigInt:
      return primitive("decimal(20,0)", "DECIMAL(20,0)");
    case TypeId::kFloat:
      return primitive("float", "FLOAT");
    case TypeId::kDouble:
      return primitive("double", "DOUBLE");
    case TypeId::kDecimal: {
      const std::string args = std::to_string(t.width) + "," + std::to_string(t.scale);
      return Converted{json("decimal(" + args + ")"), "DECIMAL(" + args + ")"};
    }
    case TypeId::kVarchar:
    case TypeId::kEnum:
      return primitive("string", "VARCHAR");
    case TypeId::kBlob:
      return primitive("binary", "BLOB");
    case TypeId::kDate:
      return primitive("date", "DATE");
    case TypeId::kTimestampTz:
      return primitive("timestamp", "TIMESTAMP WITH TIME ZONE");
    case TypeId::kTimestamp:
    case TypeId::kTimestampS:
    case TypeId::kTimestampMs:
    case TypeId::kTimestampNs:
      return primitive("timestamp", "TIMESTAMP");
    case TypeId::kUuid:
      return primitive("string", "UUID");
    case TypeId::kList:
    case TypeId::kArray: {
      if (t.children.size() != 1) return Status::Internal("list type without element type");
      DEW_ASSIGN_OR_RETURN(Converted element, Convert(t.children[0], column + ".element"));
      json delta = {{"type", "array"}, {"elementType", element.delta}, {"containsNull", true}};
      return Converted{std::move(delta), element.duckdb_sql + "[]"};
    }
    case TypeId::kMap: {
      if (t.children.size() != 2) return Status::Internal("map type without key and value");
      DEW_ASSIGN_OR_RETURN(Converted key, Convert(t.children[0], column + ".key"));
      DEW_ASSIGN_OR_RETURN(Converted value, Convert(t.children[1], column + ".value"));
      json delta = {{"type", "map"},
                    {"keyType", key.delta},
                    {"valueType", value.delta},
                    {"valueContainsNull", true}};
      return Converted{std::move(delta), "MAP(" + key.duckdb_sql + ", " + value.duckdb_sql + ")"};
    }
    case TypeId::kStruct: {
      json fields = json::array();
      std::string sql = "STRUCT(";
      for (size_t i = 0; i < t.children.size(); ++i) {
        const std::string& name = t.child_names[i];
        DEW_ASSIGN_OR_RETURN(Converted child, Convert(t.children[i], column + "." + name));
        DEW_ASSIGN_OR_RETURN(std::string natural, DuckDbTypeOfJson(child.delta));
        json metadata = json::object();
        if (natural != child.duckdb_sql) metadata[kDuckDbTypeKey] = child.duckdb_sql;
        fields.push_back(
            {{"name", name}, {"type", child.delta}, {"nullable", true}, {"metadata", metadata}});
        if (i > 0) sql += ", ";
        sql += engine::SqlIdent(name) + " " + child.duckdb_sql;
      }
      return Converted{json{{"type", "struct"}, {"fields", fields}}, sql + ")"};
    }
    default:
      return Status::NotSupported("column '" + column + "' has type " + t.ToSql() +
                                  ", which a Delta table (reader 1 / writer 2) cannot hold; "
                                  "CAST it, e.g. CAST(" +
                                  engine::SqlIdent(column) + " AS " + CastAdvice(t.id) + ")");
  }
}

std::string FieldTypeText(const json& type) {
  return type.is_string() ? type.get<std::string>() : type.dump();
}

json FieldTypeJson(const std::string& type) {
  if (!type.empty() && type.front() == '{') {
    json parsed = json::parse(type, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) return parsed;
  }
  return json(type);
}

const std::string& IntegerRankNames(int i) {
  static const std::string kNames[] = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT"};
  return kNames[i];
}

int IntegerRank(const std::string& sql) {
  for (int i = 0; i < 4; ++i) {
    if (sql == IntegerRankNames(i)) return i;
  }
  return -1;
}

// DECIMAL(p,s) -> {p, s}; integers as the decimals that hold them; nullopt otherwise.
std::optional<std::pair<int, int>> DecimalShape(const std::string& sql) {
  static const int kIntegerDigits[] = {3, 5, 10, 19};
  const int rank = IntegerRank(sql);
  if (rank >= 0) return std::make_pair(kIntegerDigits[rank], 0);
  int precision = 0;
  int scale = 0;
  char close = 0;
  if (std::sscanf(sql.c_str(), "DECIMAL(%d,%d%c", &precision, &scale, &close) == 3 &&
      close == ')') {
    return std::make_pair(precision, scale);
  }
  return std::nullopt;
}

// Whether values of DuckDB type `from` can be written into a column of type `to` without loss
// (an INSERT of 75.25, a DECIMAL(4,2), into a DECIMAL(18,2) column; an INTEGER into BIGINT).
bool Widens(const std::string& from, const std::string& to) {
  if (from == to || from == "\"NULL\"") return true;
  const int from_rank = IntegerRank(from);
  const int to_rank = IntegerRank(to);
  if (from_rank >= 0 && to_rank >= 0) return from_rank <= to_rank;
  if (to == "DOUBLE") return from == "FLOAT" || (from_rank >= 0 && from_rank <= 2);
  const auto from_decimal = DecimalShape(from);
  const auto to_decimal = DecimalShape(to);
  if (from_decimal && to_decimal && to_rank < 0) {
    const int from_integer_digits = from_decimal->first - from_decimal->second;
    const int to_integer_digits = to_decimal->first - to_decimal->second;
    return to_decimal->second >= from_decimal->second && to_integer_digits >= from_integer_digits;
  }
  return false;
}

}  // namespace

Result<std::string> DuckDbTypeOf(const std::string& delta_type) {
  return DuckDbTypeOfJson(FieldTypeJson(delta_type));
}

Result<std::string> DuckDbTypeOf(const Field& field) {
  json metadata = json::parse(field.metadata_json, nullptr, /*allow_exceptions=*/false);
  const std::string hint = HintOf(metadata);
  if (!hint.empty()) return hint;
  auto result = DuckDbTypeOf(field.type);
  if (!result.ok()) return result.status().WithContext("column '" + field.name + "'");
  return result;
}

Result<Schema> Schema::FromDeltaJson(const std::string& schema_string) {
  json root = json::parse(schema_string, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::Corruption("schemaString is not valid JSON");
  if (!root.is_object() || root.value("type", "") != "struct" || !root.contains("fields") ||
      !root["fields"].is_array()) {
    return Status::Corruption("schemaString is not a struct schema: " +
                              schema_string.substr(0, 200));
  }
  std::vector<Field> fields;
  for (const auto& f : root["fields"]) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("type")) {
      return Status::Corruption("schemaString has a field without name or type: " + f.dump());
    }
    Field field;
    field.name = f["name"].get<std::string>();
    field.type = FieldTypeText(f["type"]);
    field.nullable = f.value("nullable", true);
    field.metadata_json = f.contains("metadata") ? f["metadata"].dump() : "{}";
    fields.push_back(std::move(field));
  }
  return Schema(std::move(fields));
}

std::string Schema::ToDeltaJson() const {
  json fields = json::array();
  for (const auto& f : fields_) {
    json metadata = json::parse(f.metadata_json, nullptr, /*allow_exceptions=*/false);
    if (!metadata.is_object()) metadata = json::object();
    fields.push_back({{"name", f.name},
                      {"type", FieldTypeJson(f.type)},
                      {"nullable", f.nullable},
                      {"metadata", metadata}});
  }
  return json{{"type", "struct"}, {"fields", fields}}.dump();
}

Result<Schema> Schema::FromDuckDb(const std::vector<std::string>& names,
                                  const std::vector<engine::LogicalType>& types) {
  if (names.size() != types.size()) return Status::Internal("names and types differ in length");
  std::vector<Field> fields;
  for (size_t i = 0; i < names.size(); ++i) {
    Field field;
    field.name = names[i];
    json metadata = json::object();
    if (types[i].id == TypeId::kSqlNull) {
      // An untyped NULL column (SELECT NULL AS x) takes the table's type on write.
      field.type = "string";
      metadata[kDuckDbTypeKey] = "\"NULL\"";
    } else {
      DEW_ASSIGN_OR_RETURN(Converted converted, Convert(types[i], names[i]));
      DEW_ASSIGN_OR_RETURN(std::string natural, DuckDbTypeOfJson(converted.delta));
      if (natural != converted.duckdb_sql) metadata[kDuckDbTypeKey] = converted.duckdb_sql;
      field.type = FieldTypeText(converted.delta);
    }
    field.metadata_json = metadata.dump();
    fields.push_back(std::move(field));
  }
  return Schema(std::move(fields));
}

const Field* Schema::Find(const std::string& name) const {
  const std::string wanted = Lower(name);
  for (const auto& f : fields_) {
    if (Lower(f.name) == wanted) return &f;
  }
  return nullptr;
}

std::vector<std::string> Schema::Names() const {
  std::vector<std::string> out;
  out.reserve(fields_.size());
  for (const auto& f : fields_) out.push_back(f.name);
  return out;
}

Result<Schema> Schema::Merge(const Schema& incoming, bool merge_schema) const {
  std::vector<Field> merged = fields_;
  for (const auto& field : fields_) {
    const Field* in = incoming.Find(field.name);
    if (in == nullptr) {
      if (!field.nullable) {
        return Status::InvalidArgument(
            "column '" + field.name +
            "' is NOT NULL in the table but missing from the rows written");
      }
      continue;
    }
    DEW_ASSIGN_OR_RETURN(std::string table_type, DuckDbTypeOf(field));
    DEW_ASSIGN_OR_RETURN(std::string incoming_type, DuckDbTypeOf(*in));
    if (!Widens(incoming_type, table_type)) {
      return Status::InvalidArgument("column '" + field.name + "' has type " + table_type +
                                     " in the table but " + incoming_type +
                                     " in the rows written; CAST it to " + table_type);
    }
  }
  for (const auto& field : incoming.fields()) {
    if (Find(field.name) != nullptr) continue;
    if (!merge_schema) {
      return Status::InvalidArgument("column '" + field.name +
                                     "' is not in the table; allow schema evolution (merge_schema) "
                                     "to add it");
    }
    if (!field.nullable) {
      return Status::InvalidArgument("new column '" + field.name +
                                     "' must be nullable: rows already in the table have no value");
    }
    Field added = field;
    json metadata = json::parse(added.metadata_json, nullptr, /*allow_exceptions=*/false);
    if (HintOf(metadata) == "\"NULL\"") {
      return Status::InvalidArgument("new column '" + field.name +
                                     "' has no type (an untyped NULL); CAST it to the type wanted");
    }
    merged.push_back(std::move(added));
  }
  return Schema(std::move(merged));
}

}  // namespace dew::lake
