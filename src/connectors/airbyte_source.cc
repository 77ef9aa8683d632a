#include "connectors/airbyte_source.h"

#include <algorithm>

#include "core/near_match.h"
#include "core/process_runner.h"

namespace dew::connectors {
namespace {

std::string StreamName(const nlohmann::json& stream) {
  return stream.is_object() && stream.contains("name") && stream["name"].is_string()
             ? stream["name"].get<std::string>()
             : std::string();
}

Status UnknownStream(const std::string& connection, const std::string& stream,
                     const std::vector<nlohmann::json>& catalog) {
  std::vector<std::string> names;
  for (const auto& s : catalog) names.push_back(StreamName(s));
  std::string msg = connection + ": stream " + stream + " is not in the source's catalog";
  if (auto near = ClosestMatch(stream, names)) msg += " (did you mean " + *near + "?)";
  return Status::NotFound(msg);
}

// Runs one verb and collects the messages of `type` (LOG lines go to the log, a TRACE error
// fails the run).
Result<std::vector<AirbyteMessage>> RunVerb(ProcessRunner& runner, const TapOptions& options,
                                            const std::vector<std::string>& args,
                                            const std::string& home, AirbyteMessage::Type type) {
  std::vector<AirbyteMessage> out;
  Status run =
      RunTap(runner, options, args, home, [&](std::string_view line, int64_t number) -> Status {
        DEW_ASSIGN_OR_RETURN(AirbyteMessage m, ParseAirbyteLine(line, number));
        if (m.type == type) {
          out.push_back(std::move(m));
        } else if (m.type == AirbyteMessage::Type::kLog) {
          LogLine(options, m.level + " " + m.message);
        } else if (m.type == AirbyteMessage::Type::kTrace && m.level == "ERROR") {
          return Status::IOError("line " + std::to_string(number) + ": TRACE error: " + m.message);
        }
        return Status::OK();
      });
  DEW_RETURN_IF_ERROR(run);
  return out;
}

}  // namespace

nlohmann::json ConfiguredAirbyteCatalog(const nlohmann::json& stream, const std::string& sync_mode,
                                        const std::string& cursor_field,
                                        const std::vector<std::string>& primary_key) {
  nlohmann::json configured = {{"stream", stream}, {"sync_mode", sync_mode}};
  if (sync_mode == "full_refresh") {
    configured["destination_sync_mode"] = "overwrite";
  } else {
    configured["destination_sync_mode"] = primary_key.empty() ? "append" : "append_dedup";
  }
  if (!cursor_field.empty()) {
    configured["cursor_field"] = nlohmann::json::array({cursor_field});
  } else if (stream.contains("default_cursor_field")) {
    configured["cursor_field"] = stream["default_cursor_field"];
  }
  nlohmann::json pk = nlohmann::json::array();
  for (const auto& k : primary_key) pk.push_back(nlohmann::json::array({k}));
  if (pk.empty() && stream.contains("source_defined_primary_key")) {
    pk = stream["source_defined_primary_key"];
  }
  if (!pk.empty()) configured["primary_key"] = pk;
  return {{"streams", nlohmann::json::array({configured})}};
}

AirbyteSource::AirbyteSource(ConnectionSpec spec, TapOptions options, SourceEnv env)
    : spec_(std::move(spec)), options_(std::move(options)), env_(std::move(env)) {
  if (!env_.processes) env_.processes = std::make_shared<PosixProcessRunner>(env_.project_dir);
}

Result<nlohmann::json> AirbyteSource::ConnectorSpec() const {
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<PrivateDir> dir, PrivateDir::Create(env_.spool_dir));
  DEW_ASSIGN_OR_RETURN(
      std::vector<AirbyteMessage> specs,
      RunVerb(*env_.processes, options_, {"spec"}, dir->path(), AirbyteMessage::Type::kSpec));
  if (specs.empty()) {
    return Status::InvalidArgument(spec_.name + ": " + options_.executable +
                                   " spec printed no SPEC message");
  }
  return specs.back().payload;
}

nlohmann::json AirbyteSource::Spec() const {
  nlohmann::json schema = nlohmann::json::parse(R"json({
    "type": "object",
    "required": ["executable"],
    "properties": {
      "executable": {"type": "string", "description": "the source program, relative to the project"},
      "args": {"type": "array", "items": {"type": "string"}},
      "config": {"type": "object", "description": "the source's config; strings may be ${env:NAME}"},
      "env": {"type": "object", "description": "variables the source gets (nothing else is passed)"},
      "timeout_seconds": {"type": "integer", "minimum": 0},
      "batch_records": {"type": "integer", "minimum": 0}
    }
  })json");
  auto spec = ConnectorSpec();
  if (spec.ok() && spec->contains("connectionSpecification")) {
    schema["properties"]["config"] = (*spec)["connectionSpecification"];
  }
  return schema;
}

Status AirbyteSource::Check(const std::vector<std::string>& streams, CheckProblem* problem) {
  if (problem) *problem = CheckProblem::kNone;
  auto fail = [&](Status s, CheckProblem p) {
    if (problem) *problem = p;
    return s;
  };
  auto dir = PrivateDir::Create(env_.spool_dir);
  if (!dir.ok()) return fail(dir.status(), CheckProblem::kOther);
  auto config = ResolveTapConfig(spec_.options, env_.env);
  if (!config.ok()) return fail(config.status(), CheckProblem::kOther);
  auto config_path = (*dir)->Write("config.json", *config);
  if (!config_path.ok()) return fail(config_path.status(), CheckProblem::kOther);
  auto statuses = RunVerb(*env_.processes, options_, {"check", "--config", *config_path},
                          (*dir)->path(), AirbyteMessage::Type::kConnectionStatus);
  if (!statuses.ok()) return fail(statuses.status(), CheckProblem::kOther);
  if (statuses->empty()) {
    return fail(Status::IOError(spec_.name + ": " + options_.executable +
                                " check printed no CONNECTION_STATUS"),
                CheckProblem::kOther);
  }
  const AirbyteMessage& status = statuses->back();
  if (status.payload.value("status", std::string()) != "SUCCEEDED") {
    return fail(
        Status::IOError(spec_.name + ": check failed: " +
                        (status.message.empty() ? std::string("(no message)") : status.message)),
        CheckProblem::kOther);
  }
  if (streams.empty()) return Status::OK();
  auto catalog = CatalogStreams();
  if (!catalog.ok()) return fail(catalog.status(), CheckProblem::kOther);
  for (const auto& name : streams) {
    if (std::none_of(catalog->begin(), catalog->end(),
                     [&](const nlohmann::json& s) { return StreamName(s) == name; })) {
      return fail(UnknownStream(spec_.name, name, *catalog), CheckProblem::kMissingTable);
    }
  }
  return Status::OK();
}

Result<std::vector<nlohmann::json>> AirbyteSource::CatalogStreams() {
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<PrivateDir> dir, PrivateDir::Create(env_.spool_dir));
  DEW_ASSIGN_OR_RETURN(nlohmann::json config, ResolveTapConfig(spec_.options, env_.env));
  DEW_ASSIGN_OR_RETURN(std::string config_path, dir->Write("config.json", config));
  DEW_ASSIGN_OR_RETURN(std::vector<AirbyteMessage> catalogs,
                       RunVerb(*env_.processes, options_, {"discover", "--config", config_path},
                               dir->path(), AirbyteMessage::Type::kCatalog));
  if (catalogs.empty()) {
    return Status::InvalidArgument(spec_.name + ": " + options_.executable +
                                   " discover printed no CATALOG message");
  }
  const nlohmann::json& catalog = catalogs.back().payload;
  if (!catalog.contains("streams") || !catalog["streams"].is_array()) {
    return Status::InvalidArgument(spec_.name + ": the CATALOG has no \"streams\" list");
  }
  std::vector<nlohmann::json> out;
  for (size_t i = 0; i < catalog["streams"].size(); i++) {
    const auto& s = catalog["streams"][i];
    if (StreamName(s).empty() || !s.contains("json_schema")) {
      return Status::InvalidArgument(spec_.name + ": CATALOG streams[" + std::to_string(i) +
                                     "] lacks a name or json_schema");
    }
    out.push_back(s);
  }
  return out;
}

Result<std::vector<StreamInfo>> AirbyteSource::Discover() {
  DEW_ASSIGN_OR_RETURN(std::vector<nlohmann::json> catalog, CatalogStreams());
  std::vector<StreamInfo> out;
  for (const auto& s : catalog) {
    StreamInfo info;
    info.name = StreamName(s);
    info.namespace_ = s.value("namespace", std::string());
    auto columns = ColumnsFromJsonSchema(s["json_schema"]);
    if (!columns.ok()) return columns.status().WithContext(spec_.name + ": stream " + info.name);
    if (s.contains("source_defined_primary_key") && s["source_defined_primary_key"].is_array()) {
      for (const auto& path : s["source_defined_primary_key"]) {
        if (path.is_array() && !path.empty() && path[0].is_string()) {
          info.primary_key.push_back(path[0].get<std::string>());
        }
      }
    }
    for (const auto& c : *columns) {
      ColumnInfo ci;
      ci.name = c.name;
      const auto& property = s["json_schema"]["properties"][c.name];
      ci.source_type = property.is_object() && property.contains("type") ? property["type"].dump()
                                                                         : std::string("any");
      ci.lake_type = LandedType(c.lake_type);
      ci.nullable = std::find(info.primary_key.begin(), info.primary_key.end(), c.name) ==
                    info.primary_key.end();
      info.columns.push_back(std::move(ci));
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<ReadResult> AirbyteSource::Read(const StreamRequest& stream, const nlohmann::json& state,
                                       lake::Lakehouse* lake) {
  if (stream.sync_mode != "incremental" && stream.sync_mode != "full_refresh") {
    return Status::InvalidArgument(spec_.name + ": stream " + stream.name + ": sync_mode " +
                                   stream.sync_mode + " is not incremental or full_refresh");
  }
  if (!stream.filter.empty()) {
    return Status::NotSupported(
        spec_.name + ": stream " + stream.name +
        ": a filter cannot be applied to a Airbyte source; select in silver instead");
  }
  DEW_ASSIGN_OR_RETURN(std::vector<nlohmann::json> catalog, CatalogStreams());
  auto entry = std::find_if(catalog.begin(), catalog.end(),
                            [&](const nlohmann::json& s) { return StreamName(s) == stream.name; });
  if (entry == catalog.end()) return UnknownStream(spec_.name, stream.name, catalog);

  BronzeLanding landing(lake, spec_.name, stream.name);
  nlohmann::json resume;
  if (stream.sync_mode == "incremental") {
    DEW_ASSIGN_OR_RETURN(CommittedState committed, landing.LastCommitted());
    resume = committed.version >= 0 ? committed.state : state;
  }
  std::vector<std::string> primary_key = stream.primary_key;
  if (primary_key.empty()) {
    if (const StreamSpec* s = spec_.FindStream(stream.name)) primary_key = s->primary_key;
  }

  DEW_ASSIGN_OR_RETURN(std::unique_ptr<PrivateDir> dir, PrivateDir::Create(env_.spool_dir));
  DEW_ASSIGN_OR_RETURN(nlohmann::json config, ResolveTapConfig(spec_.options, env_.env));
  DEW_ASSIGN_OR_RETURN(std::string config_path, dir->Write("config.json", config));
  DEW_ASSIGN_OR_RETURN(
      std::string catalog_path,
      dir->Write("catalog.json", ConfiguredAirbyteCatalog(*entry, stream.sync_mode,
                                                          stream.cursor_field, primary_key)));
  std::vector<std::string> args = {"read", "--config", config_path, "--catalog", catalog_path};
  if (!resume.is_null()) {
    DEW_ASSIGN_OR_RETURN(std::string state_path, dir->Write("state.json", resume));
    args.push_back("--state");
    args.push_back(state_path);
  }

  auto columns = ColumnsFromJsonSchema((*entry)["json_schema"]);
  if (!columns.ok()) return columns.status().WithContext(spec_.name + ": stream " + stream.name);
  std::string cursor = stream.cursor_field;
  if (cursor.empty() && entry->contains("default_cursor_field") &&
      (*entry)["default_cursor_field"].is_array() && !(*entry)["default_cursor_field"].empty() &&
      (*entry)["default_cursor_field"][0].is_string()) {
    cursor = (*entry)["default_cursor_field"][0].get<std::string>();
  }
  RecordLander lander(&landing, dir->path(), stream.sync_mode,
                      stream.chunk_rows > 0 ? stream.chunk_rows : options_.batch_records, resume,
                      stream.quarantine);
  lander.SetSchema(std::move(columns).value(), stream.columns, cursor);
  AirbyteStateTracker tracker(resume);
  int64_t bytes_read = 0;

  Status run = RunTap(
      *env_.processes, options_, args, dir->path(),
      [&](std::string_view line, int64_t number) -> Status {
        if (stream.cancel != nullptr && stream.cancel->load()) {
          return Status::Interrupted("the sync of stream " + stream.name + " was cancelled");
        }
        bytes_read += static_cast<int64_t>(line.size()) + 1;
        DEW_ASSIGN_OR_RETURN(AirbyteMessage m, ParseAirbyteLine(line, number));
        const std::string at = "line " + std::to_string(number);
        switch (m.type) {
          case AirbyteMessage::Type::kRecord: {
            if (m.stream != stream.name) return Status::OK();
            Status s = lander.AddRecord(m.data);
            return s.ok() ? s : s.WithContext(at);
          }
          case AirbyteMessage::Type::kState: {
            tracker.Add(m);
            Status s = lander.Commit(tracker.State());
            return s.ok() ? s : s.WithContext(at + ": STATE");
          }
          case AirbyteMessage::Type::kLog:
            LogLine(options_, m.level + " " + m.message);
            return Status::OK();
          case AirbyteMessage::Type::kTrace:
            if (m.level != "ERROR") return Status::OK();
            return Status::IOError(
                at + ": TRACE error" + (m.failure_type.empty() ? "" : " (" + m.failure_type + ")") +
                ": " + m.message +
                (m.internal_message.empty() ? "" : " [" + m.internal_message + "]"));
          default:
            return Status::OK();
        }
      });
  DEW_RETURN_IF_ERROR(run);
  DEW_RETURN_IF_ERROR(lander.Finish());
  ReadResult result;
  result.table = landing.table();
  result.rows = lander.rows();
  result.bytes_read = bytes_read;
  result.state = lander.state();
  result.commits = lander.commits();
  return result;
}

Result<std::unique_ptr<Source>> MakeAirbyteSource(const ConnectionSpec& spec,
                                                  const SourceEnv& env) {
  DEW_ASSIGN_OR_RETURN(TapOptions options,
                       ParseTapOptions(spec, env.project_dir, env.spool_dir, env.env, {}));
  std::unique_ptr<Source> source = std::make_unique<AirbyteSource>(spec, std::move(options), env);
  return source;
}

}  // namespace dew::connectors
