// dew state show [NAME] | dew state reset NAME [--stream S]: the sync state of connections'
// streams. The truth is the state committed with each stream's newest bronze batch; the control
// store keeps a copy (shown as `mirrored_at`).
#include <algorithm>
#include <cstdio>

#include "cli/command_context.h"
#include "connectors/bronze_landing.h"
#include "connectors/connection_spec.h"
#include "connectors/postgres_replication_slot.h"
#include "connectors/source.h"

namespace dew::cli {
namespace {

using connectors::ConnectionSpec;
using engine::TextTable;
using engine::TypeId;

const engine::LogicalType kText = TypeOf(TypeId::kVarchar);
const engine::LogicalType kNumber = TypeOf(TypeId::kBigInt);

Result<std::vector<ConnectionSpec>> LoadConnections(CommandContext& ctx, const std::string& only) {
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  const std::string dir = JoinPath(project.root(), "connections");
  std::vector<ConnectionSpec> out;
  if (!only.empty()) {
    for (const char* ext : {".yml", ".yaml"}) {
      const std::string path = JoinPath(dir, only + ext);
      if (ctx.fs().Exists(path)) {
        DEW_ASSIGN_OR_RETURN(ConnectionSpec spec, ConnectionSpec::ParseFile(path, ctx.fs()));
        out.push_back(std::move(spec));
        return out;
      }
    }
    return Status::NotFound("no connection '" + only + "': " + JoinPath(dir, only + ".yml") +
                            " does not exist (see dew connection list)");
  }
  std::vector<FileInfo> files;
  if (ctx.fs().Exists(dir)) {
    DEW_ASSIGN_OR_RETURN(files, ctx.fs().ListDir(dir));
  }
  std::sort(files.begin(), files.end(),
            [](const FileInfo& a, const FileInfo& b) { return a.name < b.name; });
  for (const FileInfo& f : files) {
    const bool yml = f.name.size() > 4 && f.name.substr(f.name.size() - 4) == ".yml";
    const bool yaml = f.name.size() > 5 && f.name.substr(f.name.size() - 5) == ".yaml";
    if (f.is_dir || !(yml || yaml)) continue;
    auto spec = ConnectionSpec::ParseFile(JoinPath(dir, f.name), ctx.fs());
    if (!spec.ok()) {
      std::fprintf(stderr, "dew: warning: %s\n", spec.status().message().c_str());
      continue;
    }
    out.push_back(std::move(*spec));
  }
  return out;
}

Status RunStateShow(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew state show [NAME]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, {}, usage,
                    "Shows each stream's sync state: the state committed with its newest bronze "
                    "batch,\nthat batch's table version, and when the control store last "
                    "mirrored it."));
  if (parsed.positional.size() > 1)
    return Status::InvalidArgument("give at most one connection name\nusage: " + usage);
  DEW_ASSIGN_OR_RETURN(auto specs,
                       LoadConnections(ctx, parsed.positional.empty() ? "" : parsed.positional[0]));
  DEW_ASSIGN_OR_RETURN(auto lakehouse, ctx.OpenLakehouse());
  DEW_ASSIGN_OR_RETURN(auto store, ctx.OpenControlStore());
  TextTable t;
  t.names = {"connection", "stream", "table", "version", "batch", "state", "mirrored_at"};
  t.types = {kText, kText, kText, kNumber, kNumber, kText, kText};
  for (const auto& spec : specs) {
    for (const auto& stream : spec.streams) {
      connectors::BronzeLanding landing(lakehouse.get(), spec.name, stream.name);
      DEW_ASSIGN_OR_RETURN(connectors::CommittedState committed, landing.LastCommitted());
      std::optional<std::string> mirrored;
      auto mirror = store->GetConnectorState(spec.name, stream.name);
      if (mirror.ok()) mirrored = lake::FormatTimestampMillis(mirror->updated_at_ms);
      std::optional<std::string> state;
      if (committed.reset) {
        state = "(reset: the next sync reads every row)";
      } else if (!committed.state.is_null()) {
        state = committed.state.dump();
      }
      auto number = [](int64_t v) {
        return v < 0 ? std::nullopt : std::optional<std::string>(std::to_string(v));
      };
      t.rows.push_back({spec.name, stream.name, landing.table(), number(committed.version),
                        committed.batch > 0 ? number(committed.batch) : std::nullopt, state,
                        mirrored});
    }
  }
  return ctx.Print(t);
}

Status RunStateReset(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew state reset NAME [--stream S]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, {{"stream", 's', true, "S", "reset only stream S"}}, usage,
                    "Forgets the sync state of connection NAME's streams, so that the next sync "
                    "reads every\nrow again. The reset is a commit of the bronze table (its "
                    "history keeps the old state)."));
  if (parsed.positional.size() != 1)
    return Status::InvalidArgument("give one connection name\nusage: " + usage);
  DEW_ASSIGN_OR_RETURN(auto specs, LoadConnections(ctx, parsed.positional[0]));
  const ConnectionSpec& spec = specs.front();
  std::vector<const connectors::StreamSpec*> streams;
  if (parsed.Has("stream")) {
    const connectors::StreamSpec* s = spec.FindStream(parsed.Get("stream"));
    if (s == nullptr) {
      return Status::InvalidArgument("connection '" + spec.name + "' has no stream '" +
                                     parsed.Get("stream") + "'");
    }
    streams.push_back(s);
  } else {
    for (const auto& s : spec.streams) streams.push_back(&s);
  }
  DEW_ASSIGN_OR_RETURN(auto lakehouse, ctx.OpenLakehouse());
  DEW_ASSIGN_OR_RETURN(auto store, ctx.OpenControlStore());
  for (const auto* stream : streams) {
    connectors::BronzeLanding landing(lakehouse.get(), spec.name, stream->name);
    DEW_RETURN_IF_ERROR(landing.ResetState("dew state reset (run " + lakehouse->run_id() + ")"));
    DEW_ASSIGN_OR_RETURN(connectors::CommittedState committed, landing.LastCommitted());
    control::ConnectorState mirror;
    mirror.connection = spec.name;
    mirror.stream = stream->name;
    nlohmann::json doc = {{"state", nullptr},
                          {"bronze_table", landing.table()},
                          {"bronze_version", committed.version},
                          {"batch", committed.batch},
                          {"reset", true}};
    mirror.state_json = doc.dump();
    mirror.run_id = lakehouse->run_id();
    DEW_RETURN_IF_ERROR(store->PutConnectorState(mirror));
    // A reset makes the next sync read (and land) every row again: an auditor asks who did it.
    nlohmann::json details = {{"bronze_table", landing.table()},
                              {"bronze_version", committed.version},
                              {"run_id", lakehouse->run_id()}};
    auto audited = store->AppendAudit(ctx.User(), "state.reset", spec.name + "." + stream->name,
                                      details.dump());
    if (!audited.ok()) return audited.status().WithContext(spec.name + "." + stream->name);
    std::fprintf(ctx.out(), "%s.%s: state reset; the next sync reads every row\n",
                 spec.name.c_str(), stream->name.c_str());
    if (stream->detect_deletes_by_replication) {
      // An unread replication slot keeps WAL on the source; the next sync makes a new one.
      const std::string slot = connectors::PostgresReplicationSlot::Name(spec.name, stream->name);
      Status dropped = Status::OK();
      DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
      auto source = MakeConnectionSource(spec, project, ctx);
      dropped = source.ok() ? (*source)->ForgetStream(stream->name) : source.status();
      if (dropped.ok()) {
        std::fprintf(ctx.out(), "%s.%s: replication slot %s dropped\n", spec.name.c_str(),
                     stream->name.c_str(), slot.c_str());
      } else {
        std::fprintf(stderr,
                     "dew: warning: %s.%s: the replication slot %s was not dropped (%s); it "
                     "keeps WAL on the server until it is: SELECT "
                     "pg_drop_replication_slot('%s')\n",
                     spec.name.c_str(), stream->name.c_str(), slot.c_str(),
                     dropped.message().c_str(), slot.c_str());
      }
    }
  }
  return Status::OK();
}

}  // namespace

Status RunState(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew state show [NAME] | dew state reset NAME [--stream S]";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    if (!args.empty()) {
      std::fprintf(ctx.out(),
                   "usage: %s\n\nShows or resets the sync state of connections' streams.\n"
                   "  show [NAME]               the state committed with each stream's bronze\n"
                   "  reset NAME [--stream S]   make the next sync read every row\n",
                   usage.c_str());
      return HelpShown();
    }
    return Status::InvalidArgument("give a subcommand\nusage: " + usage);
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "show") return RunStateShow(ctx, rest);
  if (args[0] == "reset") return RunStateReset(ctx, rest);
  return Status::InvalidArgument("unknown subcommand '" + args[0] + "'\nusage: " + usage);
}

}  // namespace dew::cli
