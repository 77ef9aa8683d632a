#include "lake/conformance.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "lake/actions.h"
#include "lake/checkpoint.h"
#include "lake/schema.h"

namespace dew::lake {
namespace {

using nlohmann::json;

constexpr size_t kMaxProblems = 50;

bool AllDigits(const std::string& s, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

int64_t VersionOf(const std::string& name, const std::string& suffix) {
  if (name.size() != 20 + suffix.size() || name.compare(20, suffix.size(), suffix) != 0 ||
      !AllDigits(name, 20)) {
    return -1;
  }
  return std::stoll(name.substr(0, 20));
}

// Collects problems, each prefixed with where it was found.
class Problems {
 public:
  void Add(const std::string& where, const std::string& what) {
    if (list_.size() < kMaxProblems) list_.push_back(where + ": " + what);
  }
  bool empty() const { return list_.empty(); }
  Status ToStatus(const std::string& table_root) const {
    if (list_.empty()) return Status::OK();
    std::string msg = "the Delta log of " + table_root + " does not conform to the protocol:";
    for (const auto& p : list_) msg += "\n  " + p;
    return Status::Corruption(msg);
  }

 private:
  std::vector<std::string> list_;
};

bool IsInt(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer();
}

bool IsString(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string();
}

bool IsBool(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean();
}

bool IsRelativePath(const std::string& path) {
  return !path.empty() && path[0] != '/' && path.find("://") == std::string::npos &&
         path.rfind("file:", 0) != 0;
}

// The state the checks carry from one commit to the next.
struct LogState {
  std::vector<std::string> partition_columns;
  bool have_metadata = false;
  bool deletion_vectors = false;        // the protocol has the deletionVectors feature
  std::map<std::string, int64_t> live;  // path -> version that added it
  std::map<std::string, DeletionVectorDescriptor> live_dvs;  // path -> its deletion vector
};

// A deletion vector descriptor's required fields (PROTOCOL.md "Deletion Vector Descriptor
// Schema"); the DV itself is read once the log is replayed.
void CheckDeletionVector(const json& add, const std::string& path, const std::string& where,
                         LogState* state, Problems* problems) {
  auto it = add.find("deletionVector");
  if (it == add.end() || it->is_null()) return;
  if (!state->deletion_vectors) {
    problems->Add(where, "add.deletionVector of '" + path +
                             "' but the protocol lacks the deletionVectors feature");
  }
  const json& dv = *it;
  if (!dv.is_object() || !IsString(dv, "storageType") || !IsString(dv, "pathOrInlineDv") ||
      !IsInt(dv, "sizeInBytes") || !IsInt(dv, "cardinality")) {
    problems->Add(where, "add.deletionVector of '" + path +
                             "' needs storageType, pathOrInlineDv, sizeInBytes and cardinality");
    return;
  }
  const std::string type = dv["storageType"].get<std::string>();
  if (type != "u" && type != "i" && type != "p") {
    problems->Add(where, "add.deletionVector.storageType '" + type + "' is not u, i or p");
  }
  if ((type == "i") == IsInt(dv, "offset")) {
    problems->Add(where, "add.deletionVector.offset must be present exactly when not inline");
  }
  auto parsed = ParseDeletionVector(dv.dump());
  if (parsed.ok() && parsed->has_value()) state->live_dvs[path] = **parsed;
}

void CheckPartitionValues(const json& action, const char* kind, const LogState& state,
                          const std::string& where, Problems* problems) {
  auto it = action.find("partitionValues");
  if (it == action.end() || !it->is_object()) {
    problems->Add(where, std::string(kind) + ".partitionValues is missing or not an object");
    return;
  }
  std::set<std::string> expected(state.partition_columns.begin(), state.partition_columns.end());
  std::set<std::string> actual;
  for (const auto& [k, v] : it->items()) {
    actual.insert(k);
    if (!v.is_string() && !v.is_null()) {
      problems->Add(where,
                    std::string(kind) + ".partitionValues." + k + " must be a string or null");
    }
  }
  if (actual != expected) {
    std::string want, got;
    for (const auto& c : expected) want += (want.empty() ? "" : ",") + c;
    for (const auto& c : actual) got += (got.empty() ? "" : ",") + c;
    problems->Add(where, std::string(kind) + ".partitionValues has keys [" + got +
                             "] but the partition columns are [" + want + "]");
  }
}

void CheckMetadata(const json& md, const std::string& where, LogState* state, Problems* problems) {
  if (!IsString(md, "id") || md["id"].get<std::string>().empty()) {
    problems->Add(where, "metaData.id is missing");
  }
  auto format = md.find("format");
  if (format == md.end() || !format->is_object() || !IsString(*format, "provider") ||
      (*format)["provider"] != "parquet") {
    problems->Add(where, "metaData.format.provider must be \"parquet\"");
  }
  std::optional<Schema> schema;
  if (!IsString(md, "schemaString")) {
    problems->Add(where, "metaData.schemaString is missing");
  } else {
    auto parsed = Schema::FromDeltaJson(md["schemaString"].get<std::string>());
    if (!parsed.ok()) {
      problems->Add(where, "metaData.schemaString does not parse: " + parsed.status().message());
    } else {
      schema = *parsed;
    }
  }
  state->partition_columns.clear();
  auto cols = md.find("partitionColumns");
  if (cols == md.end() || !cols->is_array()) {
    problems->Add(where, "metaData.partitionColumns is missing or not an array");
  } else {
    for (const auto& c : *cols) {
      if (!c.is_string()) {
        problems->Add(where, "metaData.partitionColumns holds a non-string");
        continue;
      }
      const std::string name = c.get<std::string>();
      if (schema && schema->Find(name) == nullptr) {
        problems->Add(where, "metaData.partitionColumns names '" + name +
                                 "', which is not a column of the schema");
      }
      state->partition_columns.push_back(name);
    }
  }
  if (!IsInt(md, "createdTime")) problems->Add(where, "metaData.createdTime is missing");
  state->have_metadata = true;
}

void CheckAdd(const json& add, const std::string& where, int64_t version, LogState* state,
              Problems* problems) {
  if (!IsString(add, "path")) {
    problems->Add(where, "add.path is missing");
    return;
  }
  const std::string path = add["path"].get<std::string>();
  if (!IsRelativePath(path)) problems->Add(where, "add.path '" + path + "' is not relative");
  if (state->have_metadata) CheckPartitionValues(add, "add", *state, where, problems);
  if (!IsInt(add, "size") || add["size"].get<int64_t>() <= 0) {
    problems->Add(where, "add.size must be a number > 0");
  }
  if (!IsInt(add, "modificationTime")) problems->Add(where, "add.modificationTime is missing");
  if (!IsBool(add, "dataChange")) problems->Add(where, "add.dataChange is missing");
  state->live_dvs.erase(path);
  CheckDeletionVector(add, path, where, state, problems);
  auto stats = add.find("stats");
  if (state->live_dvs.count(path) > 0 && (stats == add.end() || stats->is_null())) {
    problems->Add(where, "add.stats with numRecords is required with a deletion vector");
  }
  if (stats != add.end() && !stats->is_null()) {
    json parsed = stats->is_string()
                      ? json::parse(stats->get<std::string>(), nullptr, /*allow_exceptions=*/false)
                      : json();
    if (!parsed.is_object()) {
      problems->Add(where, "add.stats is not a JSON object in a string");
    } else if (!IsInt(parsed, "numRecords")) {
      problems->Add(where, "add.stats has no integer numRecords");
    }
  }
  auto live = state->live.find(path);
  if (live != state->live.end()) {
    problems->Add(where, "add.path '" + path + "' is already live (added in version " +
                             std::to_string(live->second) + " and not removed)");
  }
  state->live[path] = version;
}

void CheckRemove(const json& remove, const std::string& where, LogState* state,
                 Problems* problems) {
  if (!IsString(remove, "path")) {
    problems->Add(where, "remove.path is missing");
    return;
  }
  if (!IsInt(remove, "deletionTimestamp")) {
    problems->Add(where, "remove.deletionTimestamp is missing");
  }
  if (!IsBool(remove, "dataChange")) problems->Add(where, "remove.dataChange is missing");
  state->live.erase(remove["path"].get<std::string>());
  state->live_dvs.erase(remove["path"].get<std::string>());
}

// Reader 3 / writer 7 must list deletionVectors, the one table feature dew writes, in both.
bool ListsOnlyDeletionVectors(const json& protocol, const char* key) {
  auto it = protocol.find(key);
  return it != protocol.end() && it->is_array() && it->size() == 1 && (*it)[0].is_string() &&
         (*it)[0] == kDeletionVectorsFeature;
}

void CheckProtocol(const json& protocol, const std::string& where, LogState* state,
                   Problems* problems) {
  state->deletion_vectors = false;
  if (IsInt(protocol, "minReaderVersion") && protocol["minReaderVersion"] == 3 &&
      IsInt(protocol, "minWriterVersion") && protocol["minWriterVersion"] == 7) {
    if (!ListsOnlyDeletionVectors(protocol, "readerFeatures") ||
        !ListsOnlyDeletionVectors(protocol, "writerFeatures")) {
      problems->Add(where,
                    "protocol 3 / 7 must list readerFeatures and writerFeatures "
                    "[\"deletionVectors\"]");
    }
    state->deletion_vectors = true;
    return;
  }
  if (!IsInt(protocol, "minReaderVersion") || protocol["minReaderVersion"] != 1) {
    problems->Add(where, "protocol.minReaderVersion must be 1");
  }
  if (!IsInt(protocol, "minWriterVersion") || protocol["minWriterVersion"] != 2) {
    problems->Add(where, "protocol.minWriterVersion must be 2");
  }
}

void CheckCommitInfo(const json& info, const std::string& where, Problems* problems) {
  if (!IsInt(info, "timestamp")) problems->Add(where, "commitInfo.timestamp is missing");
  if (!IsString(info, "operation")) problems->Add(where, "commitInfo.operation is missing");
}

void CheckTxn(const json& txn, const std::string& where, Problems* problems) {
  if (!IsString(txn, "appId")) problems->Add(where, "txn.appId is missing");
  if (!IsInt(txn, "version")) problems->Add(where, "txn.version is missing");
}

// Checks one commit file and applies it to `state`.
void CheckCommit(const std::string& text, const std::string& file, int64_t version, LogState* state,
                 Problems* problems) {
  bool saw_protocol = false;
  bool saw_metadata = false;
  // Removes apply before adds: a commit may remove and re-add no path, but may replace.
  std::vector<std::pair<json, std::string>> adds;
  size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    const std::string where = file + " line " + std::to_string(line_number);
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      problems->Add(where, "empty line");
      continue;
    }
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      problems->Add(where, "not a JSON object");
      continue;
    }
    if (j.size() != 1) {
      problems->Add(where,
                    "an action line must have exactly one key, found " + std::to_string(j.size()));
      continue;
    }
    const std::string key = j.begin().key();
    const json& action = j.begin().value();
    if (!action.is_object()) {
      problems->Add(where, key + " is not an object");
      continue;
    }
    if (key == "add") {
      adds.emplace_back(action, where);
    } else if (key == "remove") {
      CheckRemove(action, where, state, problems);
    } else if (key == "metaData") {
      saw_metadata = true;
      CheckMetadata(action, where, state, problems);
    } else if (key == "protocol") {
      saw_protocol = true;
      CheckProtocol(action, where, state, problems);
    } else if (key == "commitInfo") {
      CheckCommitInfo(action, where, problems);
    } else if (key == "txn") {
      CheckTxn(action, where, problems);
    } else {
      problems->Add(where, "unknown action '" + key + "' for reader 1 / writer 2");
    }
  }
  for (const auto& [action, where] : adds) CheckAdd(action, where, version, state, problems);
  if (version == 0) {
    if (!saw_protocol) problems->Add(file, "version 0 has no protocol action");
    if (!saw_metadata) problems->Add(file, "version 0 has no metaData action");
  }
}

void CheckCheckpoint(engine::Connection* con, const std::string& path, const LogState* replayed,
                     const std::vector<std::string>& partition_columns, Problems* problems) {
  auto actions = ReadCheckpoint(con, path);
  if (!actions.ok()) {
    problems->Add(path, actions.status().message());
    return;
  }
  if (actions->protocol &&
      (actions->protocol->min_reader_version != 1 || actions->protocol->min_writer_version != 2) &&
      !(actions->protocol->min_reader_version == 3 && actions->protocol->min_writer_version == 7 &&
        actions->protocol->HasReaderFeature(kDeletionVectorsFeature))) {
    problems->Add(path, "protocol must be reader 1 / writer 2, or 3 / 7 with deletion vectors");
  }
  std::set<std::string> paths;
  std::set<std::string> expected_keys(partition_columns.begin(), partition_columns.end());
  for (const auto& add : actions->adds) {
    if (!IsRelativePath(add.path))
      problems->Add(path, "add.path '" + add.path + "' is not relative");
    if (add.size <= 0) problems->Add(path, "add.size of '" + add.path + "' must be > 0");
    std::set<std::string> keys;
    for (const auto& [k, v] : add.partition_values) keys.insert(k);
    if (keys != expected_keys) {
      problems->Add(path, "add.partitionValues of '" + add.path +
                              "' do not name exactly the partition columns");
    }
    if (!paths.insert(add.path).second) {
      problems->Add(path, "add.path '" + add.path + "' appears twice");
    }
    if (replayed != nullptr) {
      auto dv = replayed->live_dvs.find(add.path);
      const bool want = dv != replayed->live_dvs.end();
      if (want != add.deletion_vector.has_value() ||
          (want && !(dv->second == *add.deletion_vector))) {
        problems->Add(path, "the deletion vector of '" + add.path +
                                "' differs from the one the commits leave");
      }
    }
  }
  if (replayed == nullptr) return;
  std::set<std::string> live;
  for (const auto& [p, v] : replayed->live) live.insert(p);
  if (live != paths) {
    problems->Add(path, "holds " + std::to_string(paths.size()) +
                            " live files but the commits up to its version leave " +
                            std::to_string(live.size()));
  }
}

}  // namespace

Status ValidateDeltaLog(FileSystem& fs, const std::string& table_root, engine::Connection* con) {
  const std::string log_dir = JoinPath(table_root, "_delta_log");
  DEW_ASSIGN_OR_RETURN(auto entries, fs.ListDir(log_dir));
  std::map<int64_t, std::string> commits;
  std::map<int64_t, std::string> checkpoints;
  for (const auto& e : entries) {
    if (e.is_dir) continue;
    if (int64_t v = VersionOf(e.name, ".json"); v >= 0) commits[v] = JoinPath(log_dir, e.name);
    if (int64_t v = VersionOf(e.name, ".checkpoint.parquet"); v >= 0) {
      checkpoints[v] = JoinPath(log_dir, e.name);
    }
  }
  Problems problems;
  if (commits.empty()) {
    problems.Add(log_dir, "no commit files");
    return problems.ToStatus(table_root);
  }
  // Commits may start after 0 only where a checkpoint covers the versions before them.
  const int64_t first = commits.begin()->first;
  const bool from_checkpoint = first != 0;
  if (from_checkpoint && !checkpoints.count(first - 1)) {
    problems.Add(log_dir, "commits start at version " + std::to_string(first) +
                              " with no checkpoint at version " + std::to_string(first - 1));
  }
  LogState state;
  if (from_checkpoint && checkpoints.count(first - 1) && con != nullptr) {
    auto actions = ReadCheckpoint(con, checkpoints[first - 1]);
    if (actions.ok()) {
      state.have_metadata = true;
      state.partition_columns = actions->metadata->partition_columns;
      state.deletion_vectors = actions->protocol->HasWriterFeature(kDeletionVectorsFeature);
      for (const auto& add : actions->adds) {
        state.live[add.path] = first - 1;
        if (add.deletion_vector) state.live_dvs[add.path] = *add.deletion_vector;
      }
    }
  }
  int64_t expected = first;
  for (const auto& [version, path] : commits) {
    if (version != expected) {
      problems.Add(log_dir, "version " + std::to_string(expected) + " is missing (next is " +
                                std::to_string(version) + ")");
    }
    expected = version + 1;
    auto text = fs.ReadFile(path);
    if (!text.ok()) {
      problems.Add(path, text.status().message());
      continue;
    }
    CheckCommit(*text, path, version, &state, &problems);
    auto cp = checkpoints.find(version);
    if (cp != checkpoints.end() && con != nullptr) {
      CheckCheckpoint(con, cp->second, from_checkpoint ? nullptr : &state, state.partition_columns,
                      &problems);
    }
  }
  for (const auto& [path, version] : state.live) {
    const std::string file = JoinPath(table_root, DecodePath(path));
    if (!fs.Exists(file)) {
      problems.Add(commits.at(version < first ? first : version),
                   "live file '" + path + "' does not exist (" + file + ")");
    }
  }
  for (const auto& [path, dv] : state.live_dvs) {
    auto read = ReadDeletionVector(fs, table_root, dv);
    if (!read.ok()) {
      problems.Add(commits.at(std::max(state.live[path], first)),
                   "deletion vector of live file '" + path + "': " + read.status().message());
    }
  }
  return problems.ToStatus(table_root);
}

}  // namespace dew::lake
