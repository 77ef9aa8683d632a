#include "lake/actions.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace dew::lake {
namespace {

using nlohmann::json;

// Readers meet JSON from many writers: a field may be absent or hold a surprising type. These
// helpers read what is there and leave the default otherwise; a wrong type of a field the
// protocol requires is caught by the caller's try block as malformed.
std::string GetString(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::optional<int64_t> GetOptInt(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return std::stoll(it->get<std::string>());
  return it->get<int64_t>();
}

int64_t GetInt(const json& obj, const char* key, int64_t fallback) {
  return GetOptInt(obj, key).value_or(fallback);
}

std::optional<bool> GetOptBool(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>() == "true";
  return it->get<bool>();
}

std::map<std::string, std::string> GetStringMap(const json& obj, const char* key) {
  std::map<std::string, std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) {
    if (v.is_null()) continue;
    out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

PartitionValues GetPartitionValues(const json& obj) {
  PartitionValues out;
  auto it = obj.find("partitionValues");
  if (it == obj.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) {
    if (v.is_null()) {
      out[k] = std::nullopt;
    } else {
      out[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
  }
  return out;
}

json PartitionValuesJson(const PartitionValues& values) {
  json out = json::object();
  for (const auto& [k, v] : values) out[k] = v ? json(*v) : json(nullptr);
  return out;
}

json StringMapJson(const std::map<std::string, std::string>& values) {
  json out = json::object();
  for (const auto& [k, v] : values) out[k] = v;
  return out;
}

std::optional<std::vector<std::string>> GetStringList(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : *it) out.push_back(v.get<std::string>());
  return out;
}

Protocol ParseProtocol(const json& j) {
  Protocol p;
  p.min_reader_version = static_cast<int>(GetInt(j, "minReaderVersion", 1));
  p.min_writer_version = static_cast<int>(GetInt(j, "minWriterVersion", 2));
  p.reader_features = GetStringList(j, "readerFeatures");
  p.writer_features = GetStringList(j, "writerFeatures");
  return p;
}

std::optional<DeletionVectorDescriptor> GetDeletionVector(const json& obj) {
  auto it = obj.find("deletionVector");
  if (it == obj.end() || !it->is_object()) return std::nullopt;
  DeletionVectorDescriptor dv;
  dv.storage_type = it->at("storageType").get<std::string>();
  dv.path_or_inline_dv = it->at("pathOrInlineDv").get<std::string>();
  dv.offset = GetOptInt(*it, "offset");
  dv.size_in_bytes = GetInt(*it, "sizeInBytes", 0);
  dv.cardinality = GetInt(*it, "cardinality", 0);
  return dv;
}

json DeletionVectorJson(const DeletionVectorDescriptor& dv) {
  json j = json::object();
  j["storageType"] = dv.storage_type;
  j["pathOrInlineDv"] = dv.path_or_inline_dv;
  if (dv.offset) j["offset"] = *dv.offset;
  j["sizeInBytes"] = dv.size_in_bytes;
  j["cardinality"] = dv.cardinality;
  return j;
}

Metadata ParseMetadata(const json& j) {
  Metadata m;
  m.id = GetString(j, "id");
  m.name = GetString(j, "name");
  m.description = GetString(j, "description");
  auto format = j.find("format");
  if (format != j.end() && format->is_object()) {
    m.format_provider = GetString(*format, "provider");
  }
  m.schema_string = GetString(j, "schemaString");
  auto cols = j.find("partitionColumns");
  if (cols != j.end() && cols->is_array()) {
    for (const auto& c : *cols) m.partition_columns.push_back(c.get<std::string>());
  }
  m.configuration = GetStringMap(j, "configuration");
  m.created_time = GetOptInt(j, "createdTime");
  return m;
}

AddFile ParseAdd(const json& j) {
  AddFile a;
  a.path = j.at("path").get<std::string>();
  a.partition_values = GetPartitionValues(j);
  a.size = GetInt(j, "size", 0);
  a.modification_time = GetInt(j, "modificationTime", 0);
  a.data_change = GetOptBool(j, "dataChange").value_or(true);
  a.stats = GetString(j, "stats");
  a.tags = GetStringMap(j, "tags");
  a.deletion_vector = GetDeletionVector(j);
  return a;
}

RemoveFile ParseRemove(const json& j) {
  RemoveFile r;
  r.path = j.at("path").get<std::string>();
  r.deletion_timestamp = GetOptInt(j, "deletionTimestamp");
  r.data_change = GetOptBool(j, "dataChange").value_or(true);
  r.extended_file_metadata = GetOptBool(j, "extendedFileMetadata").value_or(false);
  r.partition_values = GetPartitionValues(j);
  r.size = GetOptInt(j, "size");
  r.deletion_vector = GetDeletionVector(j);
  return r;
}

Txn ParseTxn(const json& j) {
  Txn t;
  t.app_id = j.at("appId").get<std::string>();
  t.version = GetInt(j, "version", 0);
  t.last_updated = GetOptInt(j, "lastUpdated");
  return t;
}

CommitInfo ParseCommitInfo(const json& j) {
  CommitInfo c;
  c.timestamp = GetOptInt(j, "timestamp");
  c.operation = GetString(j, "operation");
  c.operation_parameters = GetStringMap(j, "operationParameters");
  c.operation_metrics = GetStringMap(j, "operationMetrics");
  c.read_version = GetOptInt(j, "readVersion");
  c.isolation_level = GetString(j, "isolationLevel");
  c.is_blind_append = GetOptBool(j, "isBlindAppend");
  c.engine_info = GetString(j, "engineInfo");
  c.user_name = GetString(j, "userName");
  c.run_id = GetString(j, "dewRunId");
  c.raw_json = j.dump();
  return c;
}

json CommitInfoJson(const CommitInfo& c) {
  // Fields another writer put in a commitInfo we re-serialise are kept.
  json j = json::object();
  if (!c.raw_json.empty()) {
    json raw = json::parse(c.raw_json, nullptr, /*allow_exceptions=*/false);
    if (raw.is_object()) j = std::move(raw);
  }
  if (c.timestamp) j["timestamp"] = *c.timestamp;
  if (!c.operation.empty()) j["operation"] = c.operation;
  j["operationParameters"] = StringMapJson(c.operation_parameters);
  if (!c.operation_metrics.empty()) j["operationMetrics"] = StringMapJson(c.operation_metrics);
  if (c.read_version) j["readVersion"] = *c.read_version;
  if (!c.isolation_level.empty()) j["isolationLevel"] = c.isolation_level;
  if (c.is_blind_append) j["isBlindAppend"] = *c.is_blind_append;
  if (!c.engine_info.empty()) j["engineInfo"] = c.engine_info;
  if (!c.user_name.empty()) j["userName"] = c.user_name;
  if (!c.run_id.empty()) j["dewRunId"] = c.run_id;
  return j;
}

json MetadataJson(const Metadata& m) {
  json j = json::object();
  j["id"] = m.id;
  if (!m.name.empty()) j["name"] = m.name;
  if (!m.description.empty()) j["description"] = m.description;
  j["format"] = {{"provider", m.format_provider}, {"options", json::object()}};
  j["schemaString"] = m.schema_string;
  j["partitionColumns"] = m.partition_columns;
  j["configuration"] = StringMapJson(m.configuration);
  if (m.created_time) j["createdTime"] = *m.created_time;
  return j;
}

json AddJson(const AddFile& a) {
  json j = json::object();
  j["path"] = a.path;
  j["partitionValues"] = PartitionValuesJson(a.partition_values);
  j["size"] = a.size;
  j["modificationTime"] = a.modification_time;
  j["dataChange"] = a.data_change;
  if (!a.stats.empty()) j["stats"] = a.stats;
  if (!a.tags.empty()) j["tags"] = StringMapJson(a.tags);
  if (a.deletion_vector) j["deletionVector"] = DeletionVectorJson(*a.deletion_vector);
  return j;
}

json RemoveJson(const RemoveFile& r) {
  json j = json::object();
  j["path"] = r.path;
  if (r.deletion_timestamp) j["deletionTimestamp"] = *r.deletion_timestamp;
  j["dataChange"] = r.data_change;
  if (r.extended_file_metadata) j["extendedFileMetadata"] = true;
  if (r.extended_file_metadata || !r.partition_values.empty()) {
    j["partitionValues"] = PartitionValuesJson(r.partition_values);
  }
  if (r.size) j["size"] = *r.size;
  if (r.deletion_vector) j["deletionVector"] = DeletionVectorJson(*r.deletion_vector);
  return j;
}

json TxnJson(const Txn& t) {
  json j = json::object();
  j["appId"] = t.app_id;
  j["version"] = t.version;
  if (t.last_updated) j["lastUpdated"] = *t.last_updated;
  return j;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool Protocol::HasReaderFeature(const std::string& name) const {
  return reader_features && std::find(reader_features->begin(), reader_features->end(), name) !=
                                reader_features->end();
}

bool Protocol::HasWriterFeature(const std::string& name) const {
  return writer_features && std::find(writer_features->begin(), writer_features->end(), name) !=
                                writer_features->end();
}

int64_t AddFile::NumRecords() const {
  if (stats.empty()) return -1;
  json j = json::parse(stats, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return -1;
  auto it = j.find("numRecords");
  if (it == j.end() || !it->is_number_integer()) return -1;
  return it->get<int64_t>();
}

Result<CommitActions> ParseCommit(const std::string& text, const std::string& source) {
  CommitActions out;
  size_t line_start = 0;
  int line_number = 0;
  while (line_start < text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    const std::string line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;

    const std::string where = source + " line " + std::to_string(line_number);
    try {
      const json j = json::parse(line);
      if (!j.is_object()) return Status::Corruption(where + ": an action must be a JSON object");
      for (const auto& [key, value] : j.items()) {
        // Checkpoint rows read back as JSON carry every action column, null but one.
        if (value.is_null()) continue;
        if (!value.is_object()) {
          return Status::Corruption(where + ": action '" + key + "' is not an object");
        }
        if (key == "add") {
          out.adds.push_back(ParseAdd(value));
        } else if (key == "remove") {
          out.removes.push_back(ParseRemove(value));
        } else if (key == "metaData") {
          out.metadata = ParseMetadata(value);
        } else if (key == "protocol") {
          out.protocol = ParseProtocol(value);
        } else if (key == "txn") {
          out.txns.push_back(ParseTxn(value));
        } else if (key == "commitInfo") {
          out.commit_info = ParseCommitInfo(value);
        }
        // Other actions (cdc, domainMetadata, …) are not needed by a reader-1 table.
      }
    } catch (const std::exception& e) {
      return Status::Corruption(where + ": malformed action: " + e.what());
    }
  }
  return out;
}

Result<std::optional<DeletionVectorDescriptor>> ParseDeletionVector(const std::string& json_text) {
  try {
    const json j = json::parse(json_text);
    if (j.is_null()) return std::optional<DeletionVectorDescriptor>();
    return GetDeletionVector(json{{"deletionVector", j}});
  } catch (const std::exception& e) {
    return Status::Corruption("malformed deletionVector " + json_text + ": " + e.what());
  }
}

std::string SerializeCommit(const CommitActions& actions) {
  std::string out;
  auto emit = [&out](const char* key, json value) {
    json line = json::object();
    line[key] = std::move(value);
    out += line.dump();
    out += '\n';
  };
  if (actions.commit_info) emit("commitInfo", CommitInfoJson(*actions.commit_info));
  if (actions.protocol) {
    json p = {{"minReaderVersion", actions.protocol->min_reader_version},
              {"minWriterVersion", actions.protocol->min_writer_version}};
    if (actions.protocol->reader_features) p["readerFeatures"] = *actions.protocol->reader_features;
    if (actions.protocol->writer_features) p["writerFeatures"] = *actions.protocol->writer_features;
    emit("protocol", std::move(p));
  }
  if (actions.metadata) emit("metaData", MetadataJson(*actions.metadata));
  for (const auto& t : actions.txns) emit("txn", TxnJson(t));
  for (const auto& r : actions.removes) emit("remove", RemoveJson(r));
  for (const auto& a : actions.adds) emit("add", AddJson(a));
  return out;
}

std::string CommitFileName(int64_t version) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%020lld.json", static_cast<long long>(version));
  return buf;
}

std::string CheckpointFileName(int64_t version) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%020lld.checkpoint.parquet", static_cast<long long>(version));
  return buf;
}

std::string EncodePath(const std::string& relative_path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(relative_path.size());
  for (unsigned char c : relative_path) {
    // '=' stays readable in partition folders (key=value), as Spark and delta-rs write it.
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == '=';
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string DecodePath(const std::string& uri_path) {
  std::string out;
  out.reserve(uri_path.size());
  for (size_t i = 0; i < uri_path.size(); ++i) {
    if (uri_path[i] == '%' && i + 2 < uri_path.size()) {
      const int hi = HexValue(uri_path[i + 1]);
      const int lo = HexValue(uri_path[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += uri_path[i];
  }
  return out;
}

}  // namespace dew::lake
