// JsonRecordBuffer: collects JSON records of one stream (from a REST API, a Singer tap, an
// Airbyte source, Odoo's external API) in a newline-delimited JSON spool file and turns them
// into a typed DuckDB query for BronzeLanding. Types come from the stream's JSON Schema when
// there is one (Singer SCHEMA, Airbyte catalog), else from DuckDB's JSON type detection.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/file_system.h"
#include "core/status.h"

namespace dew::connectors {

//! A column derived from a JSON Schema property.
struct JsonColumn {
  std::string name;
  std::string lake_type;  //!< the DuckDB type, e.g. "BIGINT", "TIMESTAMPTZ", "JSON"
};

//! Maps a JSON Schema object (`{"type":"object","properties":{…}}`) to columns in property
//! order: integer → BIGINT, number → DOUBLE, boolean → BOOLEAN, string with format date-time →
//! TIMESTAMPTZ, date → DATE, other strings → VARCHAR, objects and arrays → JSON; a ["null", T]
//! union is T. InvalidArgument naming the property when the schema is not an object schema.
Result<std::vector<JsonColumn>> ColumnsFromJsonSchema(const nlohmann::json& schema);

class JsonRecordBuffer {
 public:
  //! Spools into a new file under `spool_dir` (created when missing), removed by the
  //! destructor. `columns` empty: DuckDB detects the types when Select() reads the file.
  JsonRecordBuffer(std::string spool_dir, std::vector<JsonColumn> columns);
  ~JsonRecordBuffer();
  JsonRecordBuffer(const JsonRecordBuffer&) = delete;
  JsonRecordBuffer& operator=(const JsonRecordBuffer&) = delete;

  //! Appends one record (an object). InvalidArgument when it is not an object.
  Status Add(const nlohmann::json& record);
  int64_t size() const { return rows_; }
  int64_t bytes() const { return bytes_; }

  //! Flushes and returns the DuckDB query reading the spooled records with their types, for
  //! LandingBatch::select_sql. Valid until Clear() or destruction.
  Result<std::string> Select();
  //! Empties the buffer (after its batch was committed).
  Status Clear();

 private:
  std::string spool_dir_;
  std::vector<JsonColumn> columns_;
  std::string path_;
  std::FILE* file_ = nullptr;
  int64_t rows_ = 0;
  int64_t bytes_ = 0;
};

}  // namespace dew::connectors
