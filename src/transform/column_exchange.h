// Column exchange: how dew hands tables to a Python model's process and takes its result back,
// without Arrow (Debian 12 ships no python3-pyarrow) and without CSV's text round trip.
//
// A table is two files, `<prefix>.json` (the schema) and `<prefix>.bin` (the data):
//
//   {"format": "dew-columns/1", "rows": 3, "columns": [
//     {"name": "id", "type": "BIGINT", "dtype": "<i8", "data": [0, 24], "valid": null},
//     {"name": "who", "type": "VARCHAR", "dtype": "|u1", "data": [64, 11], "offsets": [128, 32],
//      "valid": [192, 3]}]}
//
// Every array is raw little-endian values at a 64-byte aligned [offset, length] of the .bin, so
// numpy maps it without a copy (`np.memmap` + `view(dtype)`). Fixed-width types hold one value
// per row: BOOLEAN (1 byte), TINYINT…BIGINT, UTINYINT…UBIGINT, FLOAT, DOUBLE, DATE (int32 days
// since 1970-01-01), TIMESTAMP and TIMESTAMPTZ (int64 microseconds since 1970-01-01 UTC).
// VARCHAR is the UTF-8 bytes of all rows back to back plus rows+1 int64 offsets. `valid`, when
// present, is one byte per row (0 = NULL); absent means no NULL. The schema is written after the
// data, so a reader that finds it finds the data complete.
#pragma once

#include <cstdint>
#include <string>

#include "core/file_system.h"
#include "core/status.h"

namespace dew::engine {
class Connection;
}

namespace dew::transform {

//! Runs `select_sql` on `con` and writes its rows as `<prefix>.json` + `<prefix>.bin`. Columns
//! of other types are converted first: DECIMAL and HUGEINT to DOUBLE, TIMESTAMP_S/MS/NS to
//! TIMESTAMP, everything else (INTERVAL, TIME, UUID, LIST, STRUCT, ENUM …) to VARCHAR. Returns
//! the number of rows. Errors are the query's or the file system's.
Result<int64_t> WriteColumns(engine::Connection& con, const std::string& select_sql, FileSystem& fs,
                             const std::string& prefix);

//! Reads `<prefix>.json` + `<prefix>.bin` and loads them with the appender into `table` (in
//! con's main schema), which is created or replaced with the columns' types. Returns the rows
//! loaded. InvalidArgument naming the file and the column for a malformed schema, an unknown
//! type, or an array that does not fit the rows or the data file.
Result<int64_t> LoadColumns(FileSystem& fs, const std::string& prefix, engine::Connection& con,
                            const std::string& table);

}  // namespace dew::transform
