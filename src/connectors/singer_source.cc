#include "connectors/singer_source.h"

#include <algorithm>

#include "core/file_system.h"
#include "core/near_match.h"
#include "core/process_runner.h"

namespace dew::connectors {
namespace {

std::string TypeText(const nlohmann::json& property) {
  if (!property.is_object()) return property.dump();
  std::string t = property.contains("type")    ? property["type"].dump()
                  : property.contains("anyOf") ? "anyOf"
                                               : "any";
  if (property.contains("format") && property["format"].is_string()) {
    t += " (" + property["format"].get<std::string>() + ")";
  }
  return t;
}

Status UnknownStream(const std::string& connection, const std::string& stream,
                     const std::vector<SingerCatalogStream>& catalog) {
  std::vector<std::string> names;
  for (const auto& s : catalog) names.push_back(s.stream);
  std::string msg = connection + ": stream " + stream + " is not in the tap's catalog";
  if (auto near = ClosestMatch(stream, names)) msg += " (did you mean " + *near + "?)";
  return Status::NotFound(msg);
}

}  // namespace

SingerSource::SingerSource(ConnectionSpec spec, TapOptions options, SourceEnv env)
    : spec_(std::move(spec)), options_(std::move(options)), env_(std::move(env)) {
  if (!env_.processes) env_.processes = std::make_shared<PosixProcessRunner>(env_.project_dir);
  const auto& block = spec_.options.value;
  if (block.contains("catalog_flag") && block["catalog_flag"] == "properties") {
    catalog_flag_ = "--properties";
  }
  if (block.contains("catalog") && block["catalog"].is_string()) {
    catalog_file_ = block["catalog"].get<std::string>();
    if (!catalog_file_.empty() && catalog_file_[0] != '/') {
      catalog_file_ = JoinPath(env_.project_dir, catalog_file_);
    }
  }
}

nlohmann::json SingerSource::Spec() const {
  return nlohmann::json::parse(R"json({
    "type": "object",
    "required": ["executable"],
    "properties": {
      "executable": {"type": "string", "description": "the tap program, relative to the project"},
      "args": {"type": "array", "items": {"type": "string"}},
      "config": {"type": "object", "description": "the tap's config.json; strings may be ${env:NAME}"},
      "env": {"type": "object", "description": "variables the tap gets (nothing else is passed)"},
      "catalog": {"type": "string", "description": "a catalog file instead of --discover"},
      "catalog_flag": {"enum": ["catalog", "properties"]},
      "timeout_seconds": {"type": "integer", "minimum": 0},
      "batch_records": {"type": "integer", "minimum": 0}
    }
  })json");
}

Result<std::vector<SingerCatalogStream>> SingerSource::Catalog() {
  std::string text;
  if (!catalog_file_.empty()) {
    DEW_ASSIGN_OR_RETURN(text, FileSystem::Posix()->ReadFile(catalog_file_));
  } else {
    DEW_ASSIGN_OR_RETURN(std::unique_ptr<PrivateDir> dir, PrivateDir::Create(env_.spool_dir));
    DEW_ASSIGN_OR_RETURN(nlohmann::json config, ResolveTapConfig(spec_.options, env_.env));
    DEW_ASSIGN_OR_RETURN(std::string config_path, dir->Write("config.json", config));
    DEW_RETURN_IF_ERROR(RunTap(*env_.processes, options_, {"--config", config_path, "--discover"},
                               dir->path(), [&](std::string_view line, int64_t) {
                                 text.append(line);
                                 text.push_back('\n');
                                 return Status::OK();
                               }));
  }
  nlohmann::json catalog;
  try {
    catalog = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(spec_.name + ": the tap's catalog is not JSON: " + e.what());
  }
  auto parsed = ParseSingerCatalog(catalog);
  if (!parsed.ok()) return parsed.status().WithContext(spec_.name);
  return parsed;
}

Status SingerSource::Check(const std::vector<std::string>& streams, CheckProblem* problem) {
  if (problem) *problem = CheckProblem::kNone;
  auto catalog = Catalog();
  if (!catalog.ok()) {
    if (problem) *problem = CheckProblem::kOther;
    return catalog.status();
  }
  for (const auto& name : streams) {
    bool found = std::any_of(catalog->begin(), catalog->end(), [&](const SingerCatalogStream& s) {
      return s.stream == name || s.tap_stream_id == name;
    });
    if (!found) {
      if (problem) *problem = CheckProblem::kMissingTable;
      return UnknownStream(spec_.name, name, *catalog);
    }
  }
  return Status::OK();
}

Result<std::vector<StreamInfo>> SingerSource::Discover() {
  DEW_ASSIGN_OR_RETURN(std::vector<SingerCatalogStream> catalog, Catalog());
  std::vector<StreamInfo> out;
  for (const auto& s : catalog) {
    auto columns = ColumnsFromJsonSchema(s.schema);
    if (!columns.ok()) return columns.status().WithContext(spec_.name + ": stream " + s.stream);
    StreamInfo info;
    info.name = s.stream;
    info.primary_key = s.key_properties;
    for (const auto& c : *columns) {
      ColumnInfo ci;
      ci.name = c.name;
      ci.source_type = TypeText(s.schema["properties"][c.name]);
      ci.lake_type = LandedType(c.lake_type);
      ci.nullable = std::find(s.key_properties.begin(), s.key_properties.end(), c.name) ==
                    s.key_properties.end();
      info.columns.push_back(std::move(ci));
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<ReadResult> SingerSource::Read(const StreamRequest& stream, const nlohmann::json& state,
                                      lake::Lakehouse* lake) {
  if (stream.sync_mode != "incremental" && stream.sync_mode != "full_refresh") {
    return Status::InvalidArgument(spec_.name + ": stream " + stream.name + ": sync_mode " +
                                   stream.sync_mode + " is not incremental or full_refresh");
  }
  if (!stream.filter.empty()) {
    return Status::NotSupported(
        spec_.name + ": stream " + stream.name +
        ": a filter cannot be applied to a Singer tap; select in silver instead");
  }
  DEW_ASSIGN_OR_RETURN(std::vector<SingerCatalogStream> catalog, Catalog());
  auto entry = std::find_if(catalog.begin(), catalog.end(), [&](const SingerCatalogStream& s) {
    return s.stream == stream.name || s.tap_stream_id == stream.name;
  });
  if (entry == catalog.end()) return UnknownStream(spec_.name, stream.name, catalog);
  const std::string record_stream = entry->stream;

  BronzeLanding landing(lake, spec_.name, stream.name);
  nlohmann::json resume;
  if (stream.sync_mode == "incremental") {
    DEW_ASSIGN_OR_RETURN(CommittedState committed, landing.LastCommitted());
    resume = committed.version >= 0 ? committed.state : state;
  }

  DEW_ASSIGN_OR_RETURN(std::unique_ptr<PrivateDir> dir, PrivateDir::Create(env_.spool_dir));
  DEW_ASSIGN_OR_RETURN(nlohmann::json config, ResolveTapConfig(spec_.options, env_.env));
  DEW_ASSIGN_OR_RETURN(std::string config_path, dir->Write("config.json", config));
  DEW_ASSIGN_OR_RETURN(
      std::string catalog_path,
      dir->Write("catalog.json", SelectSingerStream(catalog, stream.name, stream.sync_mode,
                                                    stream.cursor_field, stream.columns)));
  std::vector<std::string> args = {"--config", config_path, catalog_flag_, catalog_path};
  if (!resume.is_null()) {
    DEW_ASSIGN_OR_RETURN(std::string state_path, dir->Write("state.json", resume));
    args.push_back("--state");
    args.push_back(state_path);
  }

  RecordLander lander(&landing, dir->path(), stream.sync_mode,
                      stream.chunk_rows > 0 ? stream.chunk_rows : options_.batch_records, resume,
                      stream.quarantine);
  std::string cursor = stream.cursor_field;
  auto schema_columns = ColumnsFromJsonSchema(entry->schema);
  if (!schema_columns.ok()) {
    return schema_columns.status().WithContext(spec_.name + ": stream " + stream.name);
  }
  lander.SetSchema(*schema_columns, stream.columns, cursor);
  nlohmann::json last_schema = entry->schema;
  int64_t bytes_read = 0;

  Status run =
      RunTap(*env_.processes, options_, args, dir->path(),
             [&](std::string_view line, int64_t number) -> Status {
               if (stream.cancel != nullptr && stream.cancel->load()) {
                 return Status::Interrupted("the sync of stream " + stream.name + " was cancelled");
               }
               bytes_read += static_cast<int64_t>(line.size()) + 1;
               DEW_ASSIGN_OR_RETURN(SingerMessage m, ParseSingerLine(line, number));
               switch (m.type) {
                 case SingerMessage::Type::kSchema: {
                   if (m.stream != record_stream || m.schema == last_schema) return Status::OK();
                   auto columns = ColumnsFromJsonSchema(m.schema);
                   if (!columns.ok()) {
                     return columns.status().WithContext("line " + std::to_string(number) +
                                                         ": SCHEMA of stream " + m.stream);
                   }
                   if (cursor.empty() && !m.bookmark_properties.empty()) {
                     cursor = m.bookmark_properties.front();
                   }
                   lander.SetSchema(std::move(columns).value(), stream.columns, cursor);
                   last_schema = std::move(m.schema);
                   return Status::OK();
                 }
                 case SingerMessage::Type::kRecord: {
                   if (m.stream != record_stream) return Status::OK();  // a stream not asked for
                   Status s = lander.AddRecord(m.record);
                   return s.ok() ? s : s.WithContext("line " + std::to_string(number));
                 }
                 case SingerMessage::Type::kState: {
                   Status s = lander.Commit(std::move(m.value));
                   return s.ok() ? s : s.WithContext("line " + std::to_string(number) + ": STATE");
                 }
                 case SingerMessage::Type::kActivateVersion:
                   return Status::OK();
               }
               return Status::OK();
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

Result<std::unique_ptr<Source>> MakeSingerSource(const ConnectionSpec& spec, const SourceEnv& env) {
  DEW_ASSIGN_OR_RETURN(TapOptions options, ParseTapOptions(spec, env.project_dir, env.spool_dir,
                                                           env.env, {"catalog", "catalog_flag"}));
  const auto& block = spec.options.value;
  if (block.contains("catalog_flag") && block["catalog_flag"] != "catalog" &&
      block["catalog_flag"] != "properties") {
    return spec.options.Error("/catalog_flag", "expected catalog or properties");
  }
  if (block.contains("catalog") && !block["catalog"].is_string()) {
    return spec.options.Error("/catalog", "expected the path of a catalog file");
  }
  std::unique_ptr<Source> source = std::make_unique<SingerSource>(spec, std::move(options), env);
  return source;
}

}  // namespace dew::connectors
