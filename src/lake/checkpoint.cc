#include "lake/checkpoint.h"

#include <nlohmann/json.hpp>
#include <random>

#include "engine/connection.h"
#include "engine/data_chunk.h"
#include "engine/query_result.h"

namespace dew::lake {
namespace {

using engine::SqlString;

// The protocol's checkpoint schema (reader 1 / writer 2), as DuckDB types.
constexpr const char* kCheckpointColumns =
    "{'txn': 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)', "
    "'add': 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, "
    "modificationTime BIGINT, dataChange BOOLEAN, tags MAP(VARCHAR, VARCHAR), stats VARCHAR)', "
    "'remove': 'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, "
    "extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT)', "
    "'metaData': 'STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider "
    "VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], "
    "configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)', "
    "'protocol': 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)'}";

std::string TempName(const std::string& path, const std::string& suffix) {
  // Dot-prefixed, so log readers (which only look at <20 digits>.json/.checkpoint.parquet)
  // never see it; random, so two writers checkpointing at once do not collide.
  std::random_device rd;
  const std::string dir = path.substr(0, path.rfind('/'));
  const std::string base = path.substr(path.rfind('/') + 1);
  return JoinPath(dir, "." + base + "." + std::to_string(rd()) + suffix);
}

// The checkpoint's actions as commit-file text: one JSON object per line.
CommitActions CheckpointActions(const Snapshot& snapshot) {
  CommitActions actions;
  actions.protocol = snapshot.protocol;
  actions.metadata = snapshot.metadata;
  for (const auto& [app, version] : snapshot.app_versions) {
    actions.txns.push_back(Txn{app, version, std::nullopt});
  }
  actions.removes = snapshot.tombstones;
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

Result<CommitActions> ReadCheckpoint(engine::Connection* con, const std::string& path) {
  if (con == nullptr) return Status::Internal("reading checkpoint " + path + " needs a connection");
  // Each row as JSON goes through the same parser as commit files, so checkpoints from other
  // writers (extra columns, missing struct fields) read without a schema of their own.
  auto result =
      con->Query("SELECT to_json(t)::VARCHAR FROM read_parquet(" + SqlString(path) + ") AS t");
  if (!result.ok()) {
    return Status::Corruption("cannot read checkpoint " + path + ": " + result.status().message());
  }
  std::string text;
  while (true) {
    auto chunk = (*result)->Fetch();
    if (!chunk.ok()) {
      return Status::Corruption("cannot read checkpoint " + path + ": " + chunk.status().message());
    }
    if (*chunk == nullptr) break;
    const engine::VectorView column = (*chunk)->column(0);
    for (uint64_t row = 0; row < (*chunk)->size(); ++row) {
      if (column.IsNull(row)) continue;
      text += column.GetString(row);
      text += '\n';
    }
  }
  DEW_ASSIGN_OR_RETURN(CommitActions actions, ParseCommit(text, path));
  actions.commit_info.reset();
  if (!actions.protocol || !actions.metadata) {
    return Status::Corruption("checkpoint " + path + " has no " +
                              (actions.protocol ? "metaData" : "protocol") + " row");
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
