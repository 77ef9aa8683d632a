// Checkpoint: a table's state at one version as one Parquet file in the protocol's checkpoint
// schema (one action per row; struct columns txn, add, remove, metaData, protocol), read and
// written with DuckDB, and the `_last_checkpoint` pointer to the newest one.
#pragma once

#include <cstdint>
#include <string>

#include "core/file_system.h"
#include "core/status.h"
#include "lake/actions.h"
#include "lake/snapshot.h"

namespace dew::engine {
class Connection;
}

namespace dew::lake {

//! add.tags key with which a dew checkpoint records how many leading fields of the table schema
//! a file was written with (files predating a column added by schema evolution).
inline constexpr const char* kNumFieldsTag = "dew.numFields";

//! Reads the checkpoint Parquet file at `path` (dew's own or one written by Spark / delta-rs)
//! into actions: protocol, metaData, txn, add and remove. Corruption naming the file when it is
//! unreadable or lacks the protocol's columns. `con` is used for the duration of the call.
Result<CommitActions> ReadCheckpoint(engine::Connection* con, const std::string& path);

//! Writes the checkpoint of `snapshot` to `path` (replacing it) and returns its number of rows
//! (actions). The file appears whole or not at all: written beside it under a temporary name,
//! then renamed.
Result<int64_t> WriteCheckpoint(engine::Connection* con, FileSystem& fs, const Snapshot& snapshot,
                                const std::string& path);

//! The version `_last_checkpoint` in `log_dir` names. NotFound when absent, Corruption when not
//! parseable.
Result<int64_t> ReadLastCheckpoint(FileSystem& fs, const std::string& log_dir);

}  // namespace dew::lake
