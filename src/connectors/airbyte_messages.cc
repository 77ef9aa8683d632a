#include "connectors/airbyte_messages.h"

namespace dew::connectors {
namespace {

Status LineError(int64_t line_number, const std::string& problem) {
  return Status::InvalidArgument("line " + std::to_string(line_number) + ": " + problem);
}

std::string Excerpt(std::string_view line) {
  std::string s(line.substr(0, 80));
  if (line.size() > 80) s += "…";
  return s;
}

std::string StringField(const nlohmann::json& object, const char* field) {
  auto it = object.find(field);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "namespace\x1fname" of a stream descriptor, to tell streams apart.
std::string DescriptorKey(const nlohmann::json& descriptor) {
  if (!descriptor.is_object()) return "";
  return StringField(descriptor, "namespace") + '\x1f' + StringField(descriptor, "name");
}

Status ParseState(AirbyteMessage& m, int64_t line_number) {
  const nlohmann::json& s = m.state;
  const std::string type = StringField(s, "type");
  if (type == "STREAM") {
    m.state_form = AirbyteMessage::StateForm::kStream;
    if (!s.contains("stream") || !s["stream"].is_object() ||
        !s["stream"].contains("stream_descriptor") ||
        StringField(s["stream"]["stream_descriptor"], "name").empty()) {
      return LineError(line_number, "STREAM state without stream.stream_descriptor.name");
    }
    m.state_stream = StringField(s["stream"]["stream_descriptor"], "name");
  } else if (type == "GLOBAL") {
    m.state_form = AirbyteMessage::StateForm::kGlobal;
    if (!s.contains("global") || !s["global"].is_object()) {
      return LineError(line_number, "GLOBAL state without a \"global\" object");
    }
  } else if (type.empty() || type == "LEGACY") {
    m.state_form = AirbyteMessage::StateForm::kLegacy;
    if (!s.contains("data")) return LineError(line_number, "LEGACY state without \"data\"");
  } else {
    return LineError(line_number, "unknown state type \"" + type + "\"");
  }
  return Status::OK();
}

}  // namespace

Result<AirbyteMessage> ParseAirbyteLine(std::string_view line, int64_t line_number) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    return LineError(line_number, "not JSON (" + std::string(e.what()) + "): " + Excerpt(line));
  }
  if (!j.is_object()) return LineError(line_number, "not a JSON object: " + Excerpt(line));
  AirbyteMessage m;
  m.type_name = StringField(j, "type");
  if (m.type_name.empty()) {
    return LineError(line_number, "message without a string \"type\": " + Excerpt(line));
  }
  auto body = [&](const char* field) -> Result<nlohmann::json> {
    auto it = j.find(field);
    if (it == j.end() || !it->is_object()) {
      return LineError(line_number, m.type_name + " message without a \"" + field + "\" object");
    }
    return std::move(*it);
  };
  const std::string& t = m.type_name;
  if (t == "RECORD") {
    m.type = AirbyteMessage::Type::kRecord;
    DEW_ASSIGN_OR_RETURN(nlohmann::json r, body("record"));
    m.stream = StringField(r, "stream");
    if (m.stream.empty()) return LineError(line_number, "RECORD without record.stream");
    m.namespace_ = StringField(r, "namespace");
    auto data = r.find("data");
    if (data == r.end() || !data->is_object()) {
      return LineError(line_number, "RECORD of stream " + m.stream + " without a data object");
    }
    m.data = std::move(*data);
    if (r.contains("emitted_at") && r["emitted_at"].is_number()) {
      m.emitted_at = r["emitted_at"].get<int64_t>();
    }
  } else if (t == "STATE") {
    m.type = AirbyteMessage::Type::kState;
    DEW_ASSIGN_OR_RETURN(m.state, body("state"));
    DEW_RETURN_IF_ERROR(ParseState(m, line_number));
  } else if (t == "LOG") {
    m.type = AirbyteMessage::Type::kLog;
    DEW_ASSIGN_OR_RETURN(nlohmann::json log, body("log"));
    m.level = StringField(log, "level");
    m.message = StringField(log, "message");
  } else if (t == "TRACE") {
    m.type = AirbyteMessage::Type::kTrace;
    DEW_ASSIGN_OR_RETURN(nlohmann::json trace, body("trace"));
    m.level = StringField(trace, "type");
    if (trace.contains("error") && trace["error"].is_object()) {
      const auto& e = trace["error"];
      m.message = StringField(e, "message");
      m.internal_message = StringField(e, "internal_message");
      m.failure_type = StringField(e, "failure_type");
    }
    m.payload = std::move(trace);
  } else if (t == "SPEC") {
    m.type = AirbyteMessage::Type::kSpec;
    DEW_ASSIGN_OR_RETURN(m.payload, body("spec"));
  } else if (t == "CONNECTION_STATUS") {
    m.type = AirbyteMessage::Type::kConnectionStatus;
    DEW_ASSIGN_OR_RETURN(m.payload, body("connectionStatus"));
    if (StringField(m.payload, "status").empty()) {
      return LineError(line_number, "CONNECTION_STATUS without a status");
    }
    m.message = StringField(m.payload, "message");
  } else if (t == "CATALOG") {
    m.type = AirbyteMessage::Type::kCatalog;
    DEW_ASSIGN_OR_RETURN(m.payload, body("catalog"));
  } else {
    m.type = AirbyteMessage::Type::kOther;
  }
  return m;
}

AirbyteStateTracker::AirbyteStateTracker(const nlohmann::json& initial) {
  if (initial.is_object()) {
    legacy_ = initial;
  } else if (initial.is_array()) {
    for (const auto& s : initial) {
      if (!s.is_object()) continue;
      const std::string type = StringField(s, "type");
      if (type == "GLOBAL") {
        global_ = s;
      } else if (type == "STREAM" && s.contains("stream") && s["stream"].is_object()) {
        streams_.emplace_back(
            DescriptorKey(s["stream"].value("stream_descriptor", nlohmann::json())), s);
      } else if (s.contains("data")) {
        legacy_ = s["data"];
      }
    }
  }
}

void AirbyteStateTracker::Add(const AirbyteMessage& m) {
  switch (m.state_form) {
    case AirbyteMessage::StateForm::kLegacy:
      legacy_ = m.state.value("data", nlohmann::json());
      break;
    case AirbyteMessage::StateForm::kGlobal:
      global_ = m.state;
      break;
    case AirbyteMessage::StateForm::kStream: {
      const std::string key = DescriptorKey(m.state["stream"]["stream_descriptor"]);
      for (auto& [k, v] : streams_) {
        if (k == key) {
          v = m.state;
          return;
        }
      }
      streams_.emplace_back(key, m.state);
      break;
    }
  }
}

nlohmann::json AirbyteStateTracker::State() const {
  if (!global_.is_null()) return nlohmann::json::array({global_});
  if (!streams_.empty()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [k, v] : streams_) out.push_back(v);
    return out;
  }
  return legacy_;
}

}  // namespace dew::connectors
