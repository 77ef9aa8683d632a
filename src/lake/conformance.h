// Conformance: checks a table's `_delta_log` against the Delta Lake protocol (reader 1 /
// writer 2, or reader 3 / writer 7 with deletion vectors), so tests can assert that everything dew
// writes is a log other engines accept.
#pragma once

#include <string>

#include "core/file_system.h"
#include "core/status.h"

namespace dew::engine {
class Connection;
}

namespace dew::lake {

//! Validates every commit file of the table at `table_root`: versions contiguous from 0 (or from
//! a checkpoint), one action object per line with exactly one known key, protocol (reader 1 /
//! writer 2) and metaData in version 0, the required fields of metaData, add, remove and
//! commitInfo, partition values naming exactly the partition columns, no path added twice while
//! live, every live file present, and every live file's deletion vector readable (size, CRC,
//! cardinality) and allowed by the protocol. With `con`, each checkpoint is read too and must hold
//! the same live files as the commits up to its version. OK when the log conforms; otherwise
//! Corruption listing each problem on its own line, naming the file, line and field. Reads only.
Status ValidateDeltaLog(FileSystem& fs, const std::string& table_root,
                        engine::Connection* con = nullptr);

}  // namespace dew::lake
