#include "lake/table_scan.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "core/file_system.h"
#include "engine/connection.h"
#include "lake/deletion_vector.h"

namespace dew::lake {
namespace {

using engine::SqlIdent;
using engine::SqlString;

constexpr const char* kHiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__";
// The column read_parquet's filename option adds; named so no table column collides with it.
constexpr const char* kSourceFileColumn = "_dew_source_file";

struct Column {
  std::string name;
  std::string type;  // DuckDB SQL type
  bool is_partition = false;
};

const std::optional<std::string>* FindPartitionValue(const PartitionValues& values,
                                                     const std::string& column) {
  auto it = values.find(column);
  if (it != values.end()) return &it->second;
  // Writers are not consistent about the case of partition column names.
  for (const auto& [k, v] : values) {
    if (k.size() == column.size() &&
        std::equal(k.begin(), k.end(), column.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return &v;
    }
  }
  return nullptr;
}

// Whether a timestamp text ends with a zone: "…Z", "…+02", "…-05:30".
bool HasUtcOffset(const std::string& value) {
  const size_t time = value.find_first_of(" T");
  if (time == std::string::npos) return false;
  return value.find_first_of("Z+-", time) != std::string::npos;
}

std::string PartitionConstant(const Column& column, const PartitionValues& values) {
  const std::optional<std::string>* value = FindPartitionValue(values, column.name);
  if (value == nullptr || !value->has_value() || **value == kHiveDefaultPartition) {
    return "CAST(NULL AS " + column.type + ")";
  }
  // A string cast to BLOB would interpret backslash escapes; encode() keeps the bytes.
  if (column.type == "BLOB") return "encode(" + SqlString(**value) + ")";
  // The protocol writes timestamp partition values in UTC, often without an offset; the
  // session time zone must not shift them.
  if (column.type == "TIMESTAMP WITH TIME ZONE" && !HasUtcOffset(**value)) {
    return "timezone('UTC', CAST(" + SqlString(**value) + " AS TIMESTAMP))";
  }
  return "CAST(" + SqlString(**value) + " AS " + column.type + ")";
}

std::string AbsolutePath(const std::string& table_root, const std::string& add_path) {
  // add.path is relative to the table, or an absolute URI (file:///…) for shallow clones.
  if (add_path.rfind("file://", 0) == 0) return DecodePath(add_path.substr(7));
  if (add_path.rfind("file:", 0) == 0) return DecodePath(add_path.substr(5));
  if (!add_path.empty() && add_path[0] == '/') return DecodePath(add_path);
  return JoinPath(table_root, DecodePath(add_path));
}

std::string ListLiteral(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += SqlString(values[i]);
  }
  return out + "]";
}

}  // namespace

Result<std::string> ScanSql(FileSystem& fs, const Snapshot& snapshot, bool with_file_name,
                            bool with_row_number) {
  std::vector<Column> columns;
  for (const auto& field : snapshot.schema.fields()) {
    Column column;
    column.name = field.name;
    DEW_ASSIGN_OR_RETURN(column.type, DuckDbTypeOf(field));
    for (const auto& p : snapshot.metadata.partition_columns) {
      if (snapshot.schema.Find(p) == &field) column.is_partition = true;
    }
    columns.push_back(std::move(column));
  }
  if (columns.empty()) {
    return Status::Corruption("table " + snapshot.table_root + " has no columns");
  }

  if (snapshot.files.empty()) {
    std::string sql = "SELECT ";
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) sql += ", ";
      sql += "CAST(NULL AS " + columns[i].type + ") AS " + SqlIdent(columns[i].name);
    }
    if (with_file_name) sql += ", CAST(NULL AS VARCHAR) AS _dew_file";
    if (with_row_number) sql += ", CAST(NULL AS BIGINT) AS _dew_row";
    return sql + " WHERE false";
  }

  // One UNION ALL branch per (schema, partition): partition columns become constants DuckDB
  // folds into filters, so a query on a partition never opens the other partitions' files.
  // A file with a deletion vector gets a group of its own (the third part of the key, 1 + its
  // index), as its rows need their own filter.
  struct Group {
    std::vector<std::string> abs_paths;
    std::vector<std::string> add_paths;
    std::string deleted_rows;  // comma-separated positions, for a file with a DV
  };
  std::map<std::tuple<int, PartitionValues, size_t>, Group> groups;
  for (size_t i = 0; i < snapshot.files.size(); ++i) {
    const AddFile& file = snapshot.files[i];
    int schema_index = i < snapshot.file_schema_index.size() ? snapshot.file_schema_index[i] : -1;
    if (schema_index < 0 || schema_index >= static_cast<int>(snapshot.schema_history.size())) {
      schema_index = -1;  // the current schema
    }
    PartitionValues key;
    for (const auto& c : columns) {
      if (!c.is_partition) continue;
      const std::optional<std::string>* value = FindPartitionValue(file.partition_values, c.name);
      key[c.name] = value ? *value : std::nullopt;
    }
    const size_t own = file.deletion_vector ? i + 1 : 0;
    Group& group = groups[{schema_index, key, own}];
    group.abs_paths.push_back(AbsolutePath(snapshot.table_root, file.path));
    group.add_paths.push_back(file.path);
    if (file.deletion_vector) {
      auto bitmap = ReadDeletionVector(fs, snapshot.table_root, *file.deletion_vector);
      if (!bitmap.ok()) return bitmap.status().WithContext("reading " + file.path);
      for (uint64_t v : bitmap->Values()) {
        if (!group.deleted_rows.empty()) group.deleted_rows += ',';
        group.deleted_rows += std::to_string(v);
      }
    }
  }

  std::string sql;
  for (const auto& [key, group] : groups) {
    const int schema_index = std::get<0>(key);
    const PartitionValues& partition = std::get<1>(key);
    const Schema& file_schema =
        schema_index < 0 ? snapshot.schema : snapshot.schema_history[schema_index];
    const bool filtered = !group.deleted_rows.empty();
    // Several files need each row's add.path looked up from the file DuckDB read it from: a
    // hash join on a small VALUES table, as a per-row list search costs rows x files.
    const bool join_paths = with_file_name && group.abs_paths.size() > 1;
    const std::string qualifier = join_paths ? "r." : "";
    if (!sql.empty()) sql += "\nUNION ALL\n";
    sql += "SELECT ";
    for (size_t i = 0; i < columns.size(); ++i) {
      const Column& c = columns[i];
      if (i > 0) sql += ", ";
      if (c.is_partition) {
        sql += PartitionConstant(c, partition);
      } else if (const Field* f = file_schema.Find(c.name)) {
        sql += "CAST(" + qualifier + SqlIdent(f->name) + " AS " + c.type + ")";
      } else {
        sql += "CAST(NULL AS " + c.type + ")";
      }
      sql += " AS " + SqlIdent(c.name);
    }
    if (with_file_name) {
      sql += join_paths ? ", m._dew_add_path AS _dew_file"
                        : ", " + SqlString(group.add_paths[0]) + " AS _dew_file";
    }
    if (with_row_number) sql += ", " + qualifier + "file_row_number AS _dew_row";
    sql += " FROM read_parquet(" + ListLiteral(group.abs_paths) + ", hive_partitioning = false";
    if (with_row_number || filtered) sql += ", file_row_number = true";
    if (join_paths) {
      sql += std::string(", filename = ") + SqlString(kSourceFileColumn) + ") AS r JOIN (VALUES ";
      for (size_t i = 0; i < group.abs_paths.size(); ++i) {
        if (i > 0) sql += ", ";
        sql += "(" + SqlString(group.abs_paths[i]) + ", " + SqlString(group.add_paths[i]) + ")";
      }
      sql += std::string(") AS m(_dew_abs_path, _dew_add_path) ON r.") + kSourceFileColumn +
             " = m._dew_abs_path";
    } else {
      sql += ")";
    }
    if (filtered) {
      // The positions travel as one string constant: cheap to parse however many there are.
      sql += " WHERE " + qualifier + "file_row_number NOT IN (SELECT CAST(unnest(string_split(" +
             SqlString(group.deleted_rows) + ", ',')) AS BIGINT))";
    }
  }
  return sql;
}

Result<std::string> ScanSql(const Snapshot& snapshot, bool with_file_name, bool with_row_number) {
  return ScanSql(*FileSystem::Posix(), snapshot, with_file_name, with_row_number);
}

}  // namespace dew::lake
