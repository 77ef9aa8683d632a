// TableScan: the SQL that reads a snapshot's rows with DuckDB's Parquet reader.
//
// The query lists the snapshot's live files explicitly (read_parquet([...])), adds partition
// columns as typed constants per partition (so DuckDB prunes them), and fills with NULL the
// columns a file predates. Its columns are the table schema's, in order.
//
// A file with a deletion vector is read on its own, its deleted row positions (read from the DV
// through the FileSystem given) dropped by an anti-join on DuckDB's file_row_number; files
// without one are read as before.
#pragma once

#include <string>

#include "core/file_system.h"
#include "core/status.h"
#include "lake/snapshot.h"

namespace dew::lake {

//! A SELECT statement (no trailing semicolon) producing the snapshot's rows. When
//! `with_file_name` is set, an extra last column `_dew_file` holds each row's add.path, which
//! merge and delete use to find the files they must rewrite. With `with_row_number`, a column
//! `_dew_row` (after `_dew_file` when present) holds each row's position in its data file, the
//! number deletion vectors store.
//! Deletion vectors are read through `fs`, which must hold the table DuckDB reads.
Result<std::string> ScanSql(FileSystem& fs, const Snapshot& snapshot, bool with_file_name = false,
                            bool with_row_number = false);

//! ScanSql reading deletion vectors through FileSystem::Posix(), for tables on local disk
//! (tests, benchmarks, tools without a FileSystem at hand).
Result<std::string> ScanSql(const Snapshot& snapshot, bool with_file_name = false,
                            bool with_row_number = false);

}  // namespace dew::lake
