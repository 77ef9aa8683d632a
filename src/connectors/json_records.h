// JsonRecordBuffer: collects JSON records of one stream (from a REST API, a Singer tap, an
// Airbyte source, Odoo's external API) in a newline-delimited JSON spool file and turns them
// into a typed DuckDB query for BronzeLanding. Types come from the stream's JSON Schema when
// there is one (Singer SCHEMA, Airbyte catalog), else from the records themselves (every
// record, not a sample; see JsonRecordBuffer::columns()).
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
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

  bool operator==(const JsonColumn& other) const {
    return name == other.name && lake_type == other.lake_type;
  }
};

//! Maps a JSON Schema object (`{"type":"object","properties":{…}}`) to columns sorted by
//! property name (nlohmann::json keeps object keys sorted, so the order written is lost):
//! integer → BIGINT, number → DOUBLE, boolean → BOOLEAN, string with format date-time →
//! TIMESTAMPTZ, date → DATE, other strings → VARCHAR, objects and arrays → JSON; a ["null", T]
//! union is T. Further rules: Airbyte's `airbyte_type` refines number to BIGINT ("integer")
//! and date-time to TIMESTAMP ("timestamp_without_timezone"); integer+number is DOUBLE; other
//! unions of scalars are VARCHAR, unions with an object or array are JSON; `anyOf`/`oneOf`
//! alternatives combine the same way; a property without a type is JSON. An object schema
//! without properties gives no columns. InvalidArgument naming the property when the schema is
//! not an object schema, a property's schema is not an object, a name is empty, or two names
//! differ only in case (DuckDB column names are case-insensitive).
Result<std::vector<JsonColumn>> ColumnsFromJsonSchema(const nlohmann::json& schema);

//! Not thread-safe: one stream's reader owns it.
class JsonRecordBuffer {
 public:
  //! Spools into a new file under `spool_dir` (created when missing), removed by the
  //! destructor. `columns` empty: the types are inferred from the records (see columns()).
  //! Nothing is created before the first Add.
  JsonRecordBuffer(std::string spool_dir, std::vector<JsonColumn> columns);
  ~JsonRecordBuffer();
  JsonRecordBuffer(const JsonRecordBuffer&) = delete;
  JsonRecordBuffer& operator=(const JsonRecordBuffer&) = delete;

  //! Appends one record (an object). With explicit columns, properties without a column are
  //! ignored and missing ones are NULL. InvalidArgument when it is not an object; IOError
  //! naming the spool file when it cannot be written.
  Status Add(const nlohmann::json& record);
  int64_t size() const { return rows_; }
  int64_t bytes() const { return bytes_; }

  //! The columns Select() reads: the explicit ones, or those inferred from every record added
  //! since construction (kept across Clear(), only ever widened, in first-seen order, keys of
  //! one record by name): a key
  //! whose values were all integers is BIGINT, integers and other numbers DOUBLE, booleans
  //! BOOLEAN, strings VARCHAR (no guessing of dates), objects/arrays JSON, a mix of scalars
  //! VARCHAR, a mix with objects/arrays JSON, only nulls VARCHAR. A key equal to an earlier
  //! one but for case is ignored.
  const std::vector<JsonColumn>& columns() const { return explicit_ ? columns_ : inferred_; }

  //! Replaces the explicit columns (a Singer tap sent a new SCHEMA for its stream); records
  //! already added are read with the new columns. An empty list switches to inference.
  void SetColumns(std::vector<JsonColumn> columns);

  //! Flushes and returns the DuckDB query reading the spooled records with their types (JSON
  //! values of the wrong type fail when the query runs, naming the spool file and line), for
  //! LandingBatch::select_sql. Valid until Clear() or destruction. An empty buffer with
  //! columns gives a query with those columns and no rows; InvalidArgument when there are
  //! neither records nor columns (nothing to type), IOError when the spool cannot be flushed.
  Result<std::string> Select();
  //! Empties the buffer (after its batch was committed). IOError naming the spool file.
  Status Clear();

 private:
  Status Open();
  void Infer(const nlohmann::json& record);

  std::string spool_dir_;
  std::vector<JsonColumn> columns_;
  bool explicit_ = false;
  //! Inference state: per lower-cased name, a bit set of the JSON kinds seen.
  std::vector<JsonColumn> inferred_;
  std::map<std::string, std::pair<size_t, unsigned>> kinds_;
  std::string path_;
  std::FILE* file_ = nullptr;
  int64_t rows_ = 0;
  int64_t bytes_ = 0;
};

}  // namespace dew::connectors
