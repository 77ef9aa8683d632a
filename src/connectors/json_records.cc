#include "connectors/json_records.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>

#include "engine/connection.h"

namespace dew::connectors {

using engine::SqlIdent;
using engine::SqlString;

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The JSON kinds a value can have, as bits, for combining union members and inferred types.
enum Kind : unsigned {
  kNull = 1,
  kInteger = 2,
  kNumber = 4,
  kBoolean = 8,
  kString = 16,
  kObject = 32,
  kArray = 64,
};

// Lake type of a set of kinds; `string_type` is what a string alone maps to.
std::string TypeForKinds(unsigned kinds, const std::string& string_type) {
  kinds &= ~static_cast<unsigned>(kNull);
  if (kinds == 0) return "VARCHAR";
  if (kinds & (kObject | kArray)) return "JSON";
  if (kinds == kInteger) return "BIGINT";
  if ((kinds & ~static_cast<unsigned>(kInteger | kNumber)) == 0) return "DOUBLE";
  if (kinds == kBoolean) return "BOOLEAN";
  if (kinds == kString) return string_type;
  return "VARCHAR";
}

unsigned KindOfName(const std::string& name) {
  if (name == "null") return kNull;
  if (name == "integer") return kInteger;
  if (name == "number") return kNumber;
  if (name == "boolean") return kBoolean;
  if (name == "string") return kString;
  if (name == "object") return kObject;
  if (name == "array") return kArray;
  return 0;
}

// The lake type of one property schema; `where` names it in errors.
Result<std::string> PropertyType(const nlohmann::json& schema, const std::string& where) {
  if (schema.is_boolean()) return std::string("JSON");  // `true` allows anything
  if (!schema.is_object()) {
    return Status::InvalidArgument("JSON schema: property " + where + ": schema is not an object");
  }
  for (const char* combinator : {"anyOf", "oneOf"}) {
    auto alt = schema.find(combinator);
    if (alt == schema.end() || schema.contains("type")) continue;
    if (!alt->is_array() || alt->empty()) {
      return Status::InvalidArgument("JSON schema: property " + where + ": " + combinator +
                                     " is not a non-empty array");
    }
    std::set<std::string> types;
    for (const auto& a : *alt) {
      // An alternative that is only "null" does not decide the type.
      if (a.is_object() && a.value("type", nlohmann::json()) == "null") continue;
      DEW_ASSIGN_OR_RETURN(std::string t, PropertyType(a, where));
      types.insert(t);
    }
    if (types.empty()) return std::string("VARCHAR");
    if (types.size() == 1) return *types.begin();
    if (types.count("JSON")) return std::string("JSON");
    if (types == std::set<std::string>{"BIGINT", "DOUBLE"}) return std::string("DOUBLE");
    return std::string("VARCHAR");
  }
  auto type = schema.find("type");
  if (type == schema.end()) return std::string("JSON");
  unsigned kinds = 0;
  auto add = [&](const nlohmann::json& name) -> Status {
    unsigned k = name.is_string() ? KindOfName(name.get<std::string>()) : 0;
    if (k == 0) {
      return Status::InvalidArgument("JSON schema: property " + where + ": unknown type " +
                                     name.dump());
    }
    kinds |= k;
    return Status::OK();
  };
  if (type->is_array()) {
    for (const auto& t : *type) DEW_RETURN_IF_ERROR(add(t));
  } else {
    DEW_RETURN_IF_ERROR(add(*type));
  }
  const std::string format = schema.value("format", std::string());
  const std::string airbyte_type =
      schema.contains("airbyte_type") && schema["airbyte_type"].is_string()
          ? schema["airbyte_type"].get<std::string>()
          : std::string();
  std::string string_type = "VARCHAR";
  if (format == "date-time") {
    string_type = airbyte_type == "timestamp_without_timezone" ? "TIMESTAMP" : "TIMESTAMPTZ";
  } else if (format == "date") {
    string_type = "DATE";
  }
  if ((kinds & ~static_cast<unsigned>(kNull)) == kNumber && airbyte_type == "integer") {
    return std::string("BIGINT");
  }
  return TypeForKinds(kinds, string_type);
}

bool IsObjectSchema(const nlohmann::json& schema) {
  if (!schema.is_object()) return false;
  auto type = schema.find("type");
  if (type == schema.end()) return schema.contains("properties");
  if (type->is_string()) return *type == "object";
  if (type->is_array()) {
    return std::find(type->begin(), type->end(), "object") != type->end();
  }
  return false;
}

unsigned KindOfValue(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      return kNull;
    case nlohmann::json::value_t::boolean:
      return kBoolean;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return kInteger;
    case nlohmann::json::value_t::number_float:
      return kNumber;
    case nlohmann::json::value_t::string:
      return kString;
    case nlohmann::json::value_t::array:
      return kArray;
    default:
      return kObject;
  }
}

}  // namespace

Result<std::vector<JsonColumn>> ColumnsFromJsonSchema(const nlohmann::json& schema) {
  if (!IsObjectSchema(schema)) {
    return Status::InvalidArgument("JSON schema: not an object schema: " +
                                   schema.dump().substr(0, 200));
  }
  std::vector<JsonColumn> columns;
  auto properties = schema.find("properties");
  if (properties == schema.end() || properties->is_null()) return columns;
  if (!properties->is_object()) {
    return Status::InvalidArgument("JSON schema: properties is not an object");
  }
  std::set<std::string> seen;
  for (const auto& [name, property] : properties->items()) {
    if (name.empty()) return Status::InvalidArgument("JSON schema: a property has an empty name");
    if (!seen.insert(Lower(name)).second) {
      return Status::InvalidArgument("JSON schema: property " + name +
                                     ": differs from another property only in case");
    }
    DEW_ASSIGN_OR_RETURN(std::string type, PropertyType(property, name));
    columns.push_back({name, std::move(type)});
  }
  return columns;
}

JsonRecordBuffer::JsonRecordBuffer(std::string spool_dir, std::vector<JsonColumn> columns)
    : spool_dir_(std::move(spool_dir)) {
  SetColumns(std::move(columns));
}

JsonRecordBuffer::~JsonRecordBuffer() {
  if (file_ != nullptr) std::fclose(file_);
  if (!path_.empty()) unlink(path_.c_str());
}

void JsonRecordBuffer::SetColumns(std::vector<JsonColumn> columns) {
  explicit_ = !columns.empty();
  columns_ = std::move(columns);
}

Status JsonRecordBuffer::Open() {
  if (file_ != nullptr) return Status::OK();
  DEW_RETURN_IF_ERROR(FileSystem::Posix()->CreateDirs(spool_dir_));
  std::string tmpl = JoinPath(spool_dir_, "records_XXXXXX.ndjson");
  int fd = mkstemps(tmpl.data(), 7);
  if (fd < 0) {
    return Status::IOError("cannot create a spool file in " + spool_dir_ + ": " +
                           std::strerror(errno));
  }
  file_ = fdopen(fd, "w+b");
  if (file_ == nullptr) {
    close(fd);
    unlink(tmpl.c_str());
    return Status::IOError("cannot open spool file " + tmpl + ": " + std::strerror(errno));
  }
  path_ = tmpl;
  return Status::OK();
}

void JsonRecordBuffer::Infer(const nlohmann::json& record) {
  for (const auto& [key, value] : record.items()) {
    if (key.empty()) continue;
    auto [it, added] = kinds_.try_emplace(Lower(key), inferred_.size(), 0u);
    if (added) {
      inferred_.push_back({key, ""});
    } else if (inferred_[it->second.first].name != key) {
      continue;  // same name but for case: DuckDB could not hold both
    }
    it->second.second |= KindOfValue(value);
    inferred_[it->second.first].lake_type = TypeForKinds(it->second.second, "VARCHAR");
  }
}

Status JsonRecordBuffer::Add(const nlohmann::json& record) {
  if (!record.is_object()) {
    return Status::InvalidArgument("record is not a JSON object: " + record.dump().substr(0, 200));
  }
  DEW_RETURN_IF_ERROR(Open());
  // Invalid UTF-8 from a source is replaced rather than failing the whole stream.
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) {
    return Status::IOError("cannot write spool file " + path_ + ": " + std::strerror(errno));
  }
  if (!explicit_) Infer(record);
  rows_++;
  bytes_ += static_cast<int64_t>(line.size());
  return Status::OK();
}

Result<std::string> JsonRecordBuffer::Select() {
  const std::vector<JsonColumn>& cols = columns();
  if (cols.empty()) {
    return Status::InvalidArgument(
        "no columns to read: the stream has no schema and no record had a property");
  }
  std::string struct_text;
  for (size_t i = 0; i < cols.size(); i++) {
    if (i) struct_text += ", ";
    struct_text += SqlString(cols[i].name) + ": " + SqlString(cols[i].lake_type);
  }
  if (rows_ == 0) {
    std::string select;
    for (size_t i = 0; i < cols.size(); i++) {
      select += (i ? ", " : "") + std::string("CAST(NULL AS ") + cols[i].lake_type + ") AS " +
                SqlIdent(cols[i].name);
    }
    return "SELECT " + select + " WHERE false";
  }
  if (std::fflush(file_) != 0) {
    return Status::IOError("cannot flush spool file " + path_ + ": " + std::strerror(errno));
  }
  return "SELECT * FROM read_json(" + SqlString(path_) +
         ", format='newline_delimited', records=true, auto_detect=false, "
         "maximum_object_size=268435456, columns={" +
         struct_text + "})";
}

Status JsonRecordBuffer::Clear() {
  rows_ = 0;
  bytes_ = 0;
  if (file_ == nullptr) return Status::OK();
  if (std::fflush(file_) != 0 || ftruncate(fileno(file_), 0) != 0 ||
      std::fseek(file_, 0, SEEK_SET) != 0) {
    return Status::IOError("cannot truncate spool file " + path_ + ": " + std::strerror(errno));
  }
  return Status::OK();
}

}  // namespace dew::connectors
