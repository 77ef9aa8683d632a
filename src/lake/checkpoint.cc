#include "lake/checkpoint.h"

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "engine/connection.h"
#include "engine/data_chunk.h"
#include "engine/query_result.h"

namespace dew::lake {
namespace {

using engine::SqlString;

// The protocol's deletion vector descriptor struct.
#define DEW_DV_STRUCT                                                                    \
  "STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, \"offset\" INTEGER, sizeInBytes " \
  "INTEGER, cardinality BIGINT)"

// The protocol's checkpoint schema (reader 1 / writer 2, and reader 3 / writer 7 with deletion
// vectors), as DuckDB types.
constexpr const char* kCheckpointColumns =
    "{'txn': 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)', "
    "'add': 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, "
    "modificationTime BIGINT, dataChange BOOLEAN, tags MAP(VARCHAR, VARCHAR), stats VARCHAR, "
    "deletionVector " DEW_DV_STRUCT
    ")', "
    "'remove': 'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, "
    "extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, "
    "deletionVector " DEW_DV_STRUCT
    ")', "
    "'metaData': 'STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider "
    "VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], "
    "configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)', "
    "'protocol': 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures "
    "VARCHAR[], writerFeatures VARCHAR[])'}";

std::string TempName(const std::string& path, const std::string& suffix) {
  // Dot-prefixed, so log readers (which only look at <20 digits>.json/.checkpoint.parquet)
  // never see it; random, so two writers checkpointing at once do not collide.
  std::random_device rd;
  const std::string dir = path.substr(0, path.rfind('/'));
  const std::string base = path.substr(path.rfind('/') + 1);
  return JoinPath(dir, "." + base + "." + std::to_string(rd()) + suffix);
}

// delta.deletedFileRetentionDuration ("interval 1 week", "interval 36 hours", …) in ms; one
// week when absent or unreadable, the protocol's default.
int64_t TombstoneRetentionMillis(const Metadata& metadata) {
  constexpr int64_t kWeek = 7LL * 24 * 3600 * 1000;
  auto it = metadata.configuration.find("delta.deletedFileRetentionDuration");
  if (it == metadata.configuration.end()) return kWeek;
  std::istringstream in(it->second);
  std::string word, unit;
  double amount = 0;
  if (!(in >> word >> amount >> unit) || word != "interval" || amount < 0) return kWeek;
  if (!unit.empty() && unit.back() == 's') unit.pop_back();
  static const std::map<std::string, int64_t> kUnits = {
      {"millisecond", 1},    {"second", 1000},          {"minute", 60 * 1000},
      {"hour", 3600 * 1000}, {"day", 24 * 3600 * 1000}, {"week", kWeek}};
  auto u = kUnits.find(unit);
  return u == kUnits.end() ? kWeek : static_cast<int64_t>(amount * static_cast<double>(u->second));
}

// The checkpoint's actions as commit-file text: one JSON object per line. Tombstones older than
// the table's deleted-file retention are dropped, as the protocol allows, so that checkpoints do
// not grow with every delete the table has ever seen; vacuum then judges such files by their
// modification time, which is no younger than the tombstone.
CommitActions CheckpointActions(const Snapshot& snapshot) {
  CommitActions actions;
  actions.protocol = snapshot.protocol;
  actions.metadata = snapshot.metadata;
  for (const auto& [app, version] : snapshot.app_versions) {
    actions.txns.push_back(Txn{app, version, std::nullopt});
  }
  const int64_t expired_before =
      snapshot.timestamp_millis - TombstoneRetentionMillis(snapshot.metadata);
  for (const auto& remove : snapshot.tombstones) {
    if (remove.deletion_timestamp && *remove.deletion_timestamp < expired_before) continue;
    actions.removes.push_back(remove);
  }
  const size_t num_fields = snapshot.schema.fields().size();
  for (size_t i = 0; i < snapshot.files.size(); ++i) {
    AddFile add = snapshot.files[i];
    add.data_change = false;  // a checkpoint restates files, it changes no data
    if (i < snapshot.file_schema_index.size()) {
      const int index = snapshot.file_schema_index[i];
      if (index >= 0 && index < static_cast<int>(snapshot.schema_history.size())) {
        const size_t file_fields = snapshot.schema_history[index].fields().size();
        if (file_fields < num_fields) add.tags[kNumFieldsTag] = std::to_string(file_fields);
      }
    }
    actions.adds.push_back(std::move(add));
  }
  return actions;
}

}  // namespace

namespace {

// Checkpoint columns read one by one, for the layout dew writes (and Spark's): avoids turning
// every row into JSON, which dominates opening a table with many files.
constexpr const char* kFlatColumns =
    "add.path, to_json(add.partitionValues)::VARCHAR, add.size, add.modificationTime, "
    "add.dataChange, add.stats, to_json(add.tags)::VARCHAR, "
    "remove.path, remove.deletionTimestamp, remove.dataChange, remove.extendedFileMetadata, "
    "to_json(remove.partitionValues)::VARCHAR, remove.size, "
    "txn.appId, txn.version, txn.lastUpdated, "
    "CASE WHEN metaData IS NOT NULL THEN json_object('metaData', metaData)::VARCHAR END, "
    "CASE WHEN protocol IS NOT NULL THEN json_object('protocol', protocol)::VARCHAR END";
// Deletion vectors, in checkpoints that have them (dew's before them do not).
constexpr const char* kDeletionVectorColumns =
    ", to_json(add.deletionVector)::VARCHAR, to_json(remove.deletionVector)::VARCHAR";

std::optional<int64_t> OptInt(const engine::VectorView& v, uint64_t row) {
  if (v.IsNull(row)) return std::nullopt;
  return v.GetInt64(row);
}

// A JSON object of strings (a MAP as to_json prints it) into a partition-values map.
Status ParseStringMap(const engine::VectorView& v, uint64_t row, PartitionValues* out) {
  if (v.IsNull(row)) return Status::OK();
  const std::string text = v.GetString(row);
  if (text == "{}") return Status::OK();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::Corruption("map column is not a JSON object: " + text);
  for (const auto& [k, value] : j.items()) {
    if (value.is_null()) {
      (*out)[k] = std::nullopt;
    } else {
      (*out)[k] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  return Status::OK();
}

// Reads with kFlatColumns; any bind error (a foreign checkpoint lacking a column) comes back
// as a Status so the caller can fall back to the generic reader.
Result<CommitActions> ReadFlat(engine::Connection* con, const std::string& path,
                               bool with_deletion_vectors) {
  DEW_ASSIGN_OR_RETURN(auto result,
                       con->Query(std::string("SELECT ") + kFlatColumns +
                                  (with_deletion_vectors ? kDeletionVectorColumns : "") +
                                  " FROM read_parquet(" + SqlString(path) + ")"));
  CommitActions actions;
  std::string other_lines;
  while (true) {
    DEW_ASSIGN_OR_RETURN(auto chunk, result->Fetch());
    if (chunk == nullptr) break;
    std::vector<engine::VectorView> c;
    for (uint64_t i = 0; i < chunk->column_count(); ++i) c.push_back(chunk->column(i));
    for (uint64_t row = 0; row < chunk->size(); ++row) {
      if (!c[0].IsNull(row)) {
        AddFile add;
        add.path = c[0].GetString(row);
        DEW_RETURN_IF_ERROR(ParseStringMap(c[1], row, &add.partition_values));
        add.size = OptInt(c[2], row).value_or(0);
        add.modification_time = OptInt(c[3], row).value_or(0);
        add.data_change = OptInt(c[4], row).value_or(1) != 0;
        if (!c[5].IsNull(row)) add.stats = c[5].GetString(row);
        PartitionValues tags;
        DEW_RETURN_IF_ERROR(ParseStringMap(c[6], row, &tags));
        for (auto& [k, v] : tags) {
          if (v) add.tags[k] = *v;
        }
        if (with_deletion_vectors && !c[18].IsNull(row)) {
          DEW_ASSIGN_OR_RETURN(add.deletion_vector, ParseDeletionVector(c[18].GetString(row)));
        }
        actions.adds.push_back(std::move(add));
      } else if (!c[7].IsNull(row)) {
        RemoveFile rm;
        rm.path = c[7].GetString(row);
        rm.deletion_timestamp = OptInt(c[8], row);
        rm.data_change = OptInt(c[9], row).value_or(1) != 0;
        rm.extended_file_metadata = OptInt(c[10], row).value_or(0) != 0;
        DEW_RETURN_IF_ERROR(ParseStringMap(c[11], row, &rm.partition_values));
        rm.size = OptInt(c[12], row);
        if (with_deletion_vectors && !c[19].IsNull(row)) {
          DEW_ASSIGN_OR_RETURN(rm.deletion_vector, ParseDeletionVector(c[19].GetString(row)));
        }
        actions.removes.push_back(std::move(rm));
      } else if (!c[13].IsNull(row)) {
        actions.txns.push_back(
            Txn{c[13].GetString(row), OptInt(c[14], row).value_or(0), OptInt(c[15], row)});
      } else if (!c[16].IsNull(row)) {
        other_lines += c[16].GetString(row) + "\n";
      } else if (!c[17].IsNull(row)) {
        other_lines += c[17].GetString(row) + "\n";
      }
    }
  }
  DEW_ASSIGN_OR_RETURN(CommitActions other, ParseCommit(other_lines, path));
  actions.protocol = other.protocol;
  actions.metadata = other.metadata;
  return actions;
}

// Each row as JSON goes through the commit parser, so checkpoints of any layout (extra
// columns, missing struct fields) read without a schema of their own.
Result<CommitActions> ReadAsJson(engine::Connection* con, const std::string& path) {
  DEW_ASSIGN_OR_RETURN(auto result, con->Query("SELECT to_json(t)::VARCHAR FROM read_parquet(" +
                                               SqlString(path) + ") AS t"));
  std::string text;
  while (true) {
    DEW_ASSIGN_OR_RETURN(auto chunk, result->Fetch());
    if (chunk == nullptr) break;
    const engine::VectorView column = chunk->column(0);
    for (uint64_t row = 0; row < chunk->size(); ++row) {
      if (column.IsNull(row)) continue;
      text += column.GetString(row);
      text += '\n';
    }
  }
  return ParseCommit(text, path);
}

}  // namespace

Result<CommitActions> ReadCheckpoint(engine::Connection* con, const std::string& path) {
  if (con == nullptr) return Status::Internal("reading checkpoint " + path + " needs a connection");
  auto actions = ReadFlat(con, path, /*with_deletion_vectors=*/true);
  if (!actions.ok()) {
    // Without the deletionVector columns; only for tables that cannot have DVs, else a DV
    // would be lost.
    actions = ReadFlat(con, path, /*with_deletion_vectors=*/false);
    if (actions.ok() && actions->protocol &&
        actions->protocol->HasReaderFeature(kDeletionVectorsFeature)) {
      actions = Status::NotSupported("deletion vectors in another layout");
    }
  }
  if (!actions.ok()) actions = ReadAsJson(con, path);
  if (!actions.ok()) {
    return Status::Corruption("cannot read checkpoint " + path + ": " + actions.status().message());
  }
  actions->commit_info.reset();
  if (!actions->protocol || !actions->metadata) {
    return Status::Corruption("checkpoint " + path + " has no " +
                              (actions->protocol ? "metaData" : "protocol") + " row");
  }
  return actions;
}

Result<int64_t> WriteCheckpoint(engine::Connection* con, FileSystem& fs, const Snapshot& snapshot,
                                const std::string& path) {
  if (con == nullptr) return Status::Internal("writing checkpoint " + path + " needs a connection");
  const CommitActions actions = CheckpointActions(snapshot);
  const int64_t rows =
      2 + static_cast<int64_t>(actions.txns.size() + actions.removes.size() + actions.adds.size());
  // Values travel as JSON through DuckDB's JSON reader with the schema spelled out, so no value
  // is ever spliced into SQL.
  const std::string json_path = TempName(path, ".json.tmp");
  const std::string parquet_path = TempName(path, ".parquet.tmp");
  DEW_RETURN_IF_ERROR(fs.WriteFile(json_path, SerializeCommit(actions)));
  Status copied = con->Execute("COPY (SELECT txn, add, remove, metaData, protocol FROM read_json(" +
                               SqlString(json_path) +
                               ", format = 'newline_delimited', columns = " + kCheckpointColumns +
                               ")) TO " + SqlString(parquet_path) + " (FORMAT parquet)");
  (void)fs.RemoveFile(json_path);
  if (!copied.ok()) {
    (void)fs.RemoveFile(parquet_path);
    return copied.WithContext("writing checkpoint " + path);
  }
  // The checkpoint must appear whole: readers start from it as soon as it exists.
  auto bytes = fs.ReadFile(parquet_path);
  (void)fs.RemoveFile(parquet_path);
  if (!bytes.ok()) return bytes.status();
  DEW_RETURN_IF_ERROR(fs.WriteFile(path, *bytes));
  return rows;
}

Result<int64_t> ReadLastCheckpoint(FileSystem& fs, const std::string& log_dir) {
  const std::string path = JoinPath(log_dir, "_last_checkpoint");
  DEW_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer()) {
    return Status::Corruption(path + " has no integer \"version\"");
  }
  return j["version"].get<int64_t>();
}

}  // namespace dew::lake
