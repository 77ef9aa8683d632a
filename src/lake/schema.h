// Schema: a Delta table's columns, converted between Delta's JSON schema and DuckDB types.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "engine/logical_type.h"

namespace dew::lake {

struct Field {
  std::string name;
  //! Delta type: a primitive name ("long", "string", "decimal(18,2)", "timestamp", …) or, for
  //! struct/array/map, the type's compact JSON text.
  std::string type;
  bool nullable = true;
  std::string metadata_json = "{}";
};

class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}

  //! Parses metaData.schemaString. Corruption naming the problem when it is not a struct schema.
  static Result<Schema> FromDeltaJson(const std::string& schema_string);
  //! The schemaString for metaData.
  std::string ToDeltaJson() const;

  //! The schema of a DuckDB result. NotSupported naming the column for types Delta (reader 1 /
  //! writer 2) cannot hold, e.g. HUGEINT, UNION, TIME.
  static Result<Schema> FromDuckDb(const std::vector<std::string>& names,
                                   const std::vector<engine::LogicalType>& types);

  const std::vector<Field>& fields() const { return fields_; }
  //! The field named `name` (case-insensitive as Delta's column names are), or nullptr.
  const Field* Find(const std::string& name) const;
  std::vector<std::string> Names() const;

  //! Checks that rows of `incoming` can be written to a table of this schema. New nullable
  //! columns are allowed only with `merge_schema`; a type mismatch is refused naming the column
  //! and both types. On success returns the schema the table has after the write.
  Result<Schema> Merge(const Schema& incoming, bool merge_schema) const;

 private:
  std::vector<Field> fields_;
};

//! The DuckDB SQL type of a Delta type string (primitive name or nested JSON).
Result<std::string> DuckDbTypeOf(const std::string& delta_type);
//! The DuckDB SQL type of a column: its "dew.duckdb_type" metadata hint when present (TIMESTAMP
//! and UUID columns round-trip through Delta's "timestamp"/"string" that way), else the above.
Result<std::string> DuckDbTypeOf(const Field& field);

}  // namespace dew::lake
