#include "connectors/singer_messages.h"

#include <algorithm>

namespace dew::connectors {
namespace {

Status LineError(int64_t line_number, const std::string& problem) {
  return Status::InvalidArgument("line " + std::to_string(line_number) + ": " + problem);
}

// A string list field; absent or null is empty.
Result<std::vector<std::string>> StringList(const nlohmann::json& object, const char* field,
                                            const std::string& where) {
  std::vector<std::string> out;
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return out;
  if (!it->is_array())
    return Status::InvalidArgument(where + std::string(field) + " is not a list");
  for (const auto& v : *it) {
    if (!v.is_string()) {
      return Status::InvalidArgument(where + std::string(field) + " holds a non-string");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::string Excerpt(std::string_view line) {
  std::string s(line.substr(0, 80));
  if (line.size() > 80) s += "…";
  return s;
}

// The metadata of one breadcrumb, or null.
const nlohmann::json* FindMetadata(const nlohmann::json& entry, const nlohmann::json& breadcrumb) {
  auto md = entry.find("metadata");
  if (md == entry.end() || !md->is_array()) return nullptr;
  for (const auto& m : *md) {
    if (m.is_object() && m.value("breadcrumb", nlohmann::json()) == breadcrumb &&
        m.contains("metadata") && m["metadata"].is_object()) {
      return &m["metadata"];
    }
  }
  return nullptr;
}

}  // namespace

Result<SingerMessage> ParseSingerLine(std::string_view line, int64_t line_number) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    return LineError(line_number, "not JSON (" + std::string(e.what()) + "): " + Excerpt(line));
  }
  if (!j.is_object()) return LineError(line_number, "not a JSON object: " + Excerpt(line));
  auto type_it = j.find("type");
  if (type_it == j.end() || !type_it->is_string()) {
    return LineError(line_number, "message without a string \"type\": " + Excerpt(line));
  }
  const std::string type = type_it->get<std::string>();
  SingerMessage m;
  auto stream = [&]() -> Status {
    auto s = j.find("stream");
    if (s == j.end() || !s->is_string() || s->get<std::string>().empty()) {
      return LineError(line_number, type + " message without a \"stream\"");
    }
    m.stream = s->get<std::string>();
    return Status::OK();
  };
  auto version = [&]() {
    auto v = j.find("version");
    if (v != j.end() && v->is_number_integer()) m.version = v->get<int64_t>();
  };
  if (type == "RECORD") {
    m.type = SingerMessage::Type::kRecord;
    DEW_RETURN_IF_ERROR(stream());
    auto r = j.find("record");
    if (r == j.end() || !r->is_object()) {
      return LineError(line_number,
                       "RECORD of stream " + m.stream + " without a \"record\" object");
    }
    m.record = std::move(*r);
    auto t = j.find("time_extracted");
    if (t != j.end() && t->is_string()) m.time_extracted = t->get<std::string>();
    version();
  } else if (type == "SCHEMA") {
    m.type = SingerMessage::Type::kSchema;
    DEW_RETURN_IF_ERROR(stream());
    auto s = j.find("schema");
    if (s == j.end() || !s->is_object()) {
      return LineError(line_number,
                       "SCHEMA of stream " + m.stream + " without a \"schema\" object");
    }
    m.schema = std::move(*s);
    const std::string where =
        "line " + std::to_string(line_number) + ": SCHEMA of stream " + m.stream + ": ";
    DEW_ASSIGN_OR_RETURN(m.key_properties, StringList(j, "key_properties", where));
    DEW_ASSIGN_OR_RETURN(m.bookmark_properties, StringList(j, "bookmark_properties", where));
  } else if (type == "STATE") {
    m.type = SingerMessage::Type::kState;
    auto v = j.find("value");
    if (v == j.end()) return LineError(line_number, "STATE message without a \"value\"");
    m.value = std::move(*v);
  } else if (type == "ACTIVATE_VERSION") {
    m.type = SingerMessage::Type::kActivateVersion;
    DEW_RETURN_IF_ERROR(stream());
    version();
  } else {
    return LineError(line_number, "unknown message type \"" + type + "\"");
  }
  return m;
}

Result<std::vector<SingerCatalogStream>> ParseSingerCatalog(const nlohmann::json& catalog) {
  if (!catalog.is_object() || !catalog.contains("streams") || !catalog["streams"].is_array()) {
    return Status::InvalidArgument("catalog: not an object with a \"streams\" list");
  }
  std::vector<SingerCatalogStream> out;
  const auto& streams = catalog["streams"];
  for (size_t i = 0; i < streams.size(); i++) {
    const auto& e = streams[i];
    const std::string where = "catalog: streams[" + std::to_string(i) + "]: ";
    if (!e.is_object()) return Status::InvalidArgument(where + "not an object");
    SingerCatalogStream s;
    s.tap_stream_id = e.value("tap_stream_id", std::string());
    s.stream = e.contains("stream") && e["stream"].is_string() ? e["stream"].get<std::string>()
                                                               : s.tap_stream_id;
    if (s.tap_stream_id.empty()) s.tap_stream_id = s.stream;
    if (s.stream.empty()) return Status::InvalidArgument(where + "no stream or tap_stream_id");
    if (!e.contains("schema") || !e["schema"].is_object()) {
      return Status::InvalidArgument(where + "stream " + s.stream + ": no schema object");
    }
    s.schema = e["schema"];
    DEW_ASSIGN_OR_RETURN(s.key_properties, StringList(e, "key_properties", where));
    if (const nlohmann::json* md = FindMetadata(e, nlohmann::json::array())) {
      if (s.key_properties.empty()) {
        DEW_ASSIGN_OR_RETURN(s.key_properties, StringList(*md, "table-key-properties", where));
      }
      DEW_ASSIGN_OR_RETURN(s.valid_replication_keys,
                           StringList(*md, "valid-replication-keys", where));
    }
    s.entry = e;
    out.push_back(std::move(s));
  }
  return out;
}

nlohmann::json SelectSingerStream(const std::vector<SingerCatalogStream>& entries,
                                  const std::string& stream, const std::string& sync_mode,
                                  const std::string& cursor_field,
                                  const std::vector<std::string>& columns) {
  nlohmann::json streams = nlohmann::json::array();
  for (const auto& s : entries) {
    nlohmann::json e = s.entry;
    const bool selected = s.stream == stream || s.tap_stream_id == stream;
    if (!e.contains("metadata") || !e["metadata"].is_array()) {
      e["metadata"] = nlohmann::json::array();
    }
    auto& md = e["metadata"];
    bool has_root = false;
    for (auto& m : md) {
      if (!m.is_object() || !m.contains("breadcrumb")) continue;
      if (!m.contains("metadata") || !m["metadata"].is_object()) {
        m["metadata"] = nlohmann::json::object();
      }
      const auto& bc = m["breadcrumb"];
      if (bc == nlohmann::json::array()) {
        has_root = true;
        m["metadata"]["selected"] = selected;
        if (selected) {
          m["metadata"]["replication-method"] =
              sync_mode == "incremental" ? "INCREMENTAL" : "FULL_TABLE";
          if (!cursor_field.empty()) m["metadata"]["replication-key"] = cursor_field;
        }
      } else if (selected && !columns.empty() && bc.is_array() && bc.size() == 2 &&
                 bc[0] == "properties" && bc[1].is_string()) {
        const bool wanted =
            std::find(columns.begin(), columns.end(), bc[1].get<std::string>()) != columns.end();
        if (m["metadata"].value("inclusion", std::string()) != "automatic") {
          m["metadata"]["selected"] = wanted;
        }
      }
    }
    if (!has_root) {
      nlohmann::json root = {{"selected", selected}};
      if (selected) {
        root["replication-method"] = sync_mode == "incremental" ? "INCREMENTAL" : "FULL_TABLE";
        if (!cursor_field.empty()) root["replication-key"] = cursor_field;
      }
      md.push_back({{"breadcrumb", nlohmann::json::array()}, {"metadata", root}});
    }
    // Taps older than the metadata convention read these entry-level keys.
    e["selected"] = selected;
    if (selected) {
      e["replication_method"] = sync_mode == "incremental" ? "INCREMENTAL" : "FULL_TABLE";
      if (!cursor_field.empty()) e["replication_key"] = cursor_field;
    }
    streams.push_back(std::move(e));
  }
  return {{"streams", streams}};
}

}  // namespace dew::connectors
