// TableScan: the SQL that reads a snapshot's rows with DuckDB's Parquet reader.
//
// The query lists the snapshot's live files explicitly (read_parquet([...])), adds partition
// columns as typed constants per partition (so DuckDB prunes them), and fills with NULL the
// columns a file predates. Its columns are the table schema's, in order.
#pragma once

#include <string>

#include "core/status.h"
#include "lake/snapshot.h"

namespace dew::lake {

//! A SELECT statement (no trailing semicolon) producing the snapshot's rows. When
//! `with_file_name` is set, an extra last column `_dew_file` holds each row's add.path, which
//! merge and delete use to find the files they must rewrite.
Result<std::string> ScanSql(const Snapshot& snapshot, bool with_file_name = false);

}  // namespace dew::lake
