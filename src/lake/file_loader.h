// FileLoader: lands CSV, JSON/NDJSON or Parquet files in a bronze table (`dew load`), in one
// COPY pass through DeltaTable, with the lineage columns every bronze record carries:
// _emitted_at (TIMESTAMPTZ, load time), _source, _stream, _cursor, _ingest_date (DATE, the
// partition column) and _run_id.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "lake/delta_table.h"
#include "lake/lakehouse.h"
#include "lake/medallion.h"

namespace dew::lake {

struct LoadRequest {
  std::string path;        //!< a file or a glob; relative paths resolve against the lakehouse cwd
  std::string table;       //!< "bronze.raw_<source>_<stream>" or the bare name
  std::string format;      //!< csv, json or parquet; empty: from the file extension
  bool overwrite = false;  //!< replace the table's rows instead of appending
  std::string source;      //!< _source; empty: <source> of the table name
  std::string stream;      //!< _stream; empty: <stream> of the table name
  bool merge_schema = false;  //!< let the file add new (nullable) columns to the table
};

struct LoadResult {
  TableName table;
  std::string format;
  bool created = false;
  CommitResult commit;
};

//! Borrows the lakehouse, which must outlive it. Not thread-safe.
class FileLoader {
 public:
  explicit FileLoader(Lakehouse* lake) : lake_(lake) {}

  //! Loads the file(s) and commits once; creates the table (partitioned by _ingest_date) when
  //! absent. Errors name the input: NotFound for a missing file or a glob matching nothing;
  //! InvalidArgument "file:line:column: what was expected" for a malformed CSV (wrong field
  //! count, unterminated quote, a value that does not fit the detected type).
  Result<LoadResult> Load(const LoadRequest& request);

 private:
  //! Explains a failed CSV read with the position of the first problem.
  Status DiagnoseCsv(const Status& error, const std::string& path, const std::string& shown,
                     char delimiter);

  Lakehouse* lake_;
};

//! csv, json or parquet from a path's extension (.gz/.zst ignored); empty when unknown.
std::string FormatFromExtension(const std::string& path);

}  // namespace dew::lake
