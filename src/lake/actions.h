// The actions of the Delta Lake transaction log (protocol reader 1 / writer 2, and reader 3 /
// writer 7 with the `deletionVectors` table feature): what one commit file
// (`_delta_log/<version>.json`, one JSON action per line) or one checkpoint row holds.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "lake/deletion_vector.h"

namespace dew::lake {

//! Partition column -> value as the protocol stores it: a string, or null.
using PartitionValues = std::map<std::string, std::optional<std::string>>;

struct Protocol {
  Protocol() = default;
  Protocol(int reader, int writer) : min_reader_version(reader), min_writer_version(writer) {}

  int min_reader_version = 1;
  int min_writer_version = 2;
  //! Table features; present only on reader version 3 / writer version 7.
  std::optional<std::vector<std::string>> reader_features;
  std::optional<std::vector<std::string>> writer_features;

  bool HasReaderFeature(const std::string& name) const;
  bool HasWriterFeature(const std::string& name) const;
};

struct Metadata {
  std::string id;  //!< a UUID, fixed for the table's life
  std::string name;
  std::string description;
  std::string format_provider = "parquet";
  std::string schema_string;  //!< the Spark-style JSON schema
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> configuration;
  std::optional<int64_t> created_time;  //!< ms since the epoch
};

struct AddFile {
  std::string path;  //!< relative to the table root, URI-encoded as the protocol says
  PartitionValues partition_values;
  int64_t size = 0;
  int64_t modification_time = 0;  //!< ms since the epoch
  bool data_change = true;
  std::string stats;  //!< JSON text ({"numRecords":…,…}) or empty
  std::map<std::string, std::string> tags;
  //! Rows of the file that are deleted; numRecords in stats still counts them.
  std::optional<DeletionVectorDescriptor> deletion_vector;

  //! numRecords from stats, or -1 when absent.
  int64_t NumRecords() const;
};

struct RemoveFile {
  std::string path;
  std::optional<int64_t> deletion_timestamp;  //!< ms since the epoch
  bool data_change = true;
  bool extended_file_metadata = false;
  PartitionValues partition_values;
  std::optional<int64_t> size;
  std::optional<DeletionVectorDescriptor> deletion_vector;
};

//! Application transaction id: lets an idempotent writer (a connector) know what it committed.
struct Txn {
  std::string app_id;
  int64_t version = 0;
  std::optional<int64_t> last_updated;
};

//! Provenance written with every dew commit; readers keep whatever other writers put there.
struct CommitInfo {
  std::optional<int64_t> timestamp;  //!< ms since the epoch
  std::string operation;             //!< WRITE, MERGE, DELETE, RESTORE, CREATE TABLE, …
  std::map<std::string, std::string> operation_parameters;  //!< values JSON-encoded as strings
  std::map<std::string, std::string> operation_metrics;     //!< numOutputRows, numRemovedFiles…
  std::optional<int64_t> read_version;
  std::string isolation_level;
  std::optional<bool> is_blind_append;
  std::string engine_info;
  std::string user_name;  //!< who ran it (dew: the user or schedule)
  std::string run_id;     //!< dew run that produced the commit (dew extension, key "dewRunId")
  //! The whole commitInfo object as it was read, so history shows foreign writers' fields too.
  std::string raw_json;
};

//! Every action of one commit (or of a checkpoint).
struct CommitActions {
  std::optional<Protocol> protocol;
  std::optional<Metadata> metadata;
  std::vector<AddFile> adds;
  std::vector<RemoveFile> removes;
  std::vector<Txn> txns;
  std::optional<CommitInfo> commit_info;
};

//! Parses a commit file's newline-delimited JSON. Unknown action kinds are ignored (the protocol
//! lets readers skip them) but a malformed line is Corruption naming `source` and the line number.
Result<CommitActions> ParseCommit(const std::string& text, const std::string& source);

//! Parses a deletionVector object (JSON text, as a checkpoint holds it); nullopt for null.
Result<std::optional<DeletionVectorDescriptor>> ParseDeletionVector(const std::string& json_text);

//! Serialises actions as a commit file: commitInfo first, then protocol, metaData, txn, remove,
//! add; one compact JSON object per line, each line ending with '\n'.
std::string SerializeCommit(const CommitActions& actions);

//! The log file name of a version: 00000000000000000003.json.
std::string CommitFileName(int64_t version);
//! 00000000000000000010.checkpoint.parquet
std::string CheckpointFileName(int64_t version);

//! Percent-encodes a relative file path for add.path (RFC 3986: '/' kept, '%' and others escaped).
std::string EncodePath(const std::string& relative_path);
//! Decodes add.path back to a relative file path.
std::string DecodePath(const std::string& uri_path);

}  // namespace dew::lake
