// dew connection list|test, dew discover, dew sync: the connections in <project>/connections/.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli/command_context.h"
#include "connectors/connection_spec.h"
#include "connectors/source_factory.h"
#include "connectors/stream_sync.h"
#include "core/clock.h"
#include "core/http_client.h"
#include "core/process_runner.h"

namespace dew::cli {
namespace {

using connectors::CheckProblem;
using connectors::ConnectionSpec;
using engine::LogicalType;
using engine::TextTable;
using engine::TypeId;

const LogicalType kText = TypeOf(TypeId::kVarchar);
const LogicalType kNumber = TypeOf(TypeId::kBigInt);

std::string ConnectionsDir(const lake::Project& project) {
  return JoinPath(project.root(), "connections");
}

//! connections/NAME.yml (or .yaml), parsed. NotFound naming the files looked for.
Result<ConnectionSpec> LoadConnection(CommandContext& ctx, const std::string& name) {
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  const std::string dir = ConnectionsDir(project);
  for (const char* ext : {".yml", ".yaml"}) {
    const std::string path = JoinPath(dir, name + ext);
    if (ctx.fs().Exists(path)) return ConnectionSpec::ParseFile(path, ctx.fs());
  }
  return Status::NotFound("no connection '" + name + "': " + JoinPath(dir, name + ".yml") +
                          " does not exist (see dew connection list)");
}

const char* ProblemName(CheckProblem problem) {
  switch (problem) {
    case CheckProblem::kNone:
      return "ok";
    case CheckProblem::kUnreachable:
      return "unreachable";
    case CheckProblem::kAuthRefused:
      return "authentication refused";
    case CheckProblem::kMissingDatabase:
      return "missing database";
    case CheckProblem::kMissingTable:
      return "missing table";
    case CheckProblem::kPermissionDenied:
      return "permission denied";
    case CheckProblem::kOther:
      return "other";
  }
  return "other";
}

Status RunConnectionList(CommandContext& ctx, const std::vector<std::string>& args) {
  DEW_ASSIGN_OR_RETURN(ParsedArgs parsed,
                       ParseVerbArgs(ctx, args, {}, "dew connection list",
                                     "Lists the connections in connections/*.yml with their "
                                     "source type, database, streams, tier and schedule."));
  if (!parsed.positional.empty())
    return Status::InvalidArgument("connection list takes no arguments");
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  const std::string dir = ConnectionsDir(project);
  std::vector<FileInfo> files;
  if (ctx.fs().Exists(dir)) {
    DEW_ASSIGN_OR_RETURN(files, ctx.fs().ListDir(dir));
  }
  std::sort(files.begin(), files.end(),
            [](const FileInfo& a, const FileInfo& b) { return a.name < b.name; });
  TextTable t;
  t.names = {"name", "source_type", "database", "streams", "tier", "retries", "schedule"};
  t.types = {kText, kText, kText, kText, kText, kNumber, kText};
  for (const FileInfo& f : files) {
    const bool yml = f.name.size() > 4 && f.name.substr(f.name.size() - 4) == ".yml";
    const bool yaml = f.name.size() > 5 && f.name.substr(f.name.size() - 5) == ".yaml";
    if (f.is_dir || !(yml || yaml)) continue;
    // One broken file must not hide the others: it is listed with its error on stderr.
    auto spec = ConnectionSpec::ParseFile(JoinPath(dir, f.name), ctx.fs());
    if (!spec.ok()) {
      std::fprintf(stderr, "dew: warning: %s\n", spec.status().message().c_str());
      continue;
    }
    std::string streams;
    for (const auto& s : spec->streams) streams += (streams.empty() ? "" : ", ") + s.name;
    t.rows.push_back(
        {spec->name, spec->source_type,
         // As written: a port given as ${env:NAME} shows as the reference.
         spec->auth.host + ":" +
             (spec->auth.port_ref.empty() ? std::to_string(spec->auth.port) : spec->auth.port_ref) +
             "/" + spec->auth.database,
         streams, std::string(connectors::TierName(spec->tier)),
         std::to_string(connectors::RetryCount(spec->tier)),
         spec->schedule_text.empty() ? std::nullopt
                                     : std::optional<std::string>(spec->schedule_text)});
  }
  return ctx.Print(t);
}

// Prints the source's advice on the connection's streams (e.g. a cursor column without an
// index) as warnings on stderr; advice that cannot be had is no failure of the command.
void PrintAdvice(const ConnectionSpec& spec, connectors::Source& source) {
  std::vector<connectors::StreamRequest> requests;
  for (const auto& s : spec.streams) {
    connectors::StreamRequest r;
    r.name = s.name;
    r.sync_mode = s.sync_mode;
    r.cursor_field = s.cursor_field;
    r.primary_key = s.primary_key;
    r.detect_deletes = s.detect_deletes;
    r.deletes_by_replication = s.detect_deletes_by_replication;
    r.deletes_always_compared = s.detect_deletes_always_compared;
    requests.push_back(std::move(r));
  }
  auto advice = source.Advise(requests);
  if (!advice.ok()) return;
  for (const auto& a : *advice) std::fprintf(stderr, "dew: warning: %s\n", a.c_str());
}

Status RunConnectionTest(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew connection test NAME";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, {}, usage,
                    "Connects with connections/NAME.yml (password from its ${env:NAME} "
                    "reference) and checks that every\nstream's table can be read. Prints the "
                    "kind of problem; exits non-zero on failure."));
  if (parsed.positional.size() != 1)
    return Status::InvalidArgument("give one connection name\nusage: " + usage);
  DEW_ASSIGN_OR_RETURN(ConnectionSpec spec, LoadConnection(ctx, parsed.positional[0]));
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  DEW_ASSIGN_OR_RETURN(auto source, MakeConnectionSource(spec, project, ctx));
  std::vector<std::string> streams;
  for (const auto& s : spec.streams) streams.push_back(s.name);
  CheckProblem problem = CheckProblem::kOther;
  Status s = source->Check(streams, &problem);
  if (!s.ok()) {
    std::fprintf(ctx.out(), "connection '%s': FAILED (%s)\n", spec.name.c_str(),
                 ProblemName(problem));
    return Status::IOError(std::string(ProblemName(problem)) + ": " + s.message());
  }
  // Streams that find deletions through replication need more of the server than reads.
  std::vector<connectors::StreamRequest> deletions;
  for (const auto& stream : spec.streams) {
    if (!stream.detect_deletes_by_replication) continue;
    connectors::StreamRequest r;
    r.name = stream.name;
    r.sync_mode = stream.sync_mode;
    r.primary_key = stream.primary_key;
    r.deletes_by_replication = true;
    deletions.push_back(std::move(r));
  }
  s = source->CheckDeletions(deletions);
  if (!s.ok()) {
    std::fprintf(ctx.out(), "connection '%s': FAILED (deletions through replication)\n",
                 spec.name.c_str());
    return Status::InvalidArgument(spec.file + ": " + s.message());
  }
  std::fprintf(ctx.out(), "connection '%s': ok (%zu stream%s readable)\n", spec.name.c_str(),
               streams.size(), streams.size() == 1 ? "" : "s");
  PrintAdvice(spec, *source);
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<connectors::Source>> MakeConnectionSource(const ConnectionSpec& spec,
                                                                 const lake::Project& project,
                                                                 CommandContext& ctx) {
  connectors::SourceEnv env;
  env.fs = ctx.shared_fs();
  env.clock = Clock::System();
  env.http = NewCurlHttpClient();
  env.processes = std::make_shared<PosixProcessRunner>(project.root());
  env.env = connectors::ProcessEnvironment();
  env.project_dir = project.root();
  env.spool_dir = project.state_dir();
  return connectors::MakeSource(spec, env);
}

Status RunConnection(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew connection list | dew connection test NAME";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    if (!args.empty()) {
      std::fprintf(ctx.out(),
                   "usage: %s\n\nManages the connections in connections/*.yml.\n"
                   "  list        list the connections\n"
                   "  test NAME   connect and check every stream is readable\n",
                   usage.c_str());
      return HelpShown();
    }
    return Status::InvalidArgument("give a subcommand\nusage: " + usage);
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "list") return RunConnectionList(ctx, rest);
  if (args[0] == "test") return RunConnectionTest(ctx, rest);
  return Status::InvalidArgument("unknown subcommand '" + args[0] + "'\nusage: " + usage);
}

Status RunDiscover(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew discover NAME";
  DEW_ASSIGN_OR_RETURN(ParsedArgs parsed,
                       ParseVerbArgs(ctx, args, {}, usage,
                                     "Lists the tables connection NAME can read, one row per "
                                     "column: source and lake types, nullability, keys."));
  if (parsed.positional.size() != 1)
    return Status::InvalidArgument("give one connection name\nusage: " + usage);
  DEW_ASSIGN_OR_RETURN(ConnectionSpec spec, LoadConnection(ctx, parsed.positional[0]));
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  DEW_ASSIGN_OR_RETURN(auto source, MakeConnectionSource(spec, project, ctx));
  DEW_ASSIGN_OR_RETURN(auto streams, source->Discover());
  PrintAdvice(spec, *source);
  TextTable t;
  t.names = {"stream", "column", "source_type", "lake_type", "nullable", "primary_key"};
  t.types = {kText, kText, kText, kText, kText, kText};
  for (const auto& s : streams) {
    for (const auto& c : s.columns) {
      bool key =
          std::find(s.primary_key.begin(), s.primary_key.end(), c.name) != s.primary_key.end();
      t.rows.push_back({s.name, c.name, c.source_type, c.lake_type,
                        std::string(c.nullable ? "yes" : "no"), std::string(key ? "yes" : "")});
    }
  }
  return ctx.Print(t);
}

Status RunSync(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew sync NAME [--stream S] [--full-refresh]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(
          ctx, args,
          {{"stream", 's', true, "S", "sync only stream S"},
           {"full-refresh", 0, false, "", "reload every row of the streams"}},
          usage,
          "Syncs connection NAME's streams into bronze.raw_<name>_<stream> and upserts\n"
          "silver.<name>_<stream> by primary key. Incremental streams resume from the state\n"
          "committed with their last bronze batch; --full-refresh reloads every row."));
  if (parsed.positional.size() != 1)
    return Status::InvalidArgument("give one connection name\nusage: " + usage);
  DEW_ASSIGN_OR_RETURN(ConnectionSpec spec, LoadConnection(ctx, parsed.positional[0]));
  connectors::SyncOptions options;
  if (parsed.Has("stream")) options.streams.push_back(parsed.Get("stream"));
  options.full_refresh = parsed.Has("full-refresh");
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  DEW_ASSIGN_OR_RETURN(auto source, MakeConnectionSource(spec, project, ctx));
  // The first stream's connection to the source is made while the lake opens.
  const std::string first = !options.streams.empty() ? options.streams.front()
                            : spec.streams.empty()   ? std::string()
                                                     : spec.streams.front().name;
  if (!first.empty()) source->Prepare(first);
  InterruptGuard interrupt;
  // No view at open: the sync reads its streams' tables by name only to find deletions, and
  // makes their views then (Lakehouse::EnsureView); a view costs a load of the table's log and
  // a bind of its files and deletion vectors (10-20 ms for silver's of 5M rows, twice a sync).
  DEW_ASSIGN_OR_RETURN(auto lakehouse,
                       ctx.OpenLakehouse([](const lake::TableName&) { return false; }));
  DEW_ASSIGN_OR_RETURN(auto store, ctx.OpenControlStore());
  connectors::SyncEnv env;
  env.lake = lakehouse.get();
  env.source = source.get();
  env.store = store.get();
  env.clock = Clock::System();
  env.notify = [](const std::string& message) {
    std::fprintf(stderr, "dew: %s\n", message.c_str());
  };
  connectors::StreamSync sync(spec, env);
  Result<connectors::SyncResult> result = Status::Internal("not run");
  {
    InterruptWatcher watcher(&lakehouse->connection());
    result = sync.Run(options);
  }
  DEW_RETURN_IF_ERROR(result.status());
  TextTable t;
  t.names = {"job",          "stream",      "table",  "rows",    "bronze_rows",
             "deleted_rows", "silver_rows", "status", "seconds", "attempts"};
  t.types = {kText, kText, kText, kNumber, kNumber, kNumber, kNumber, kText, kText, kNumber};
  for (const auto& r : result->streams) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.2f", static_cast<double>(r.duration_ms) / 1000.0);
    t.rows.push_back(
        {r.job, r.stream, r.quarantined ? r.bronze_table + "__quarantine" : r.bronze_table,
         std::to_string(r.rows_read), std::to_string(r.rows_bronze), std::to_string(r.rows_deleted),
         std::to_string(r.rows_silver), std::string(connectors::StreamStatusName(r.status)),
         std::string(seconds), std::to_string(r.attempts)});
  }
  DEW_RETURN_IF_ERROR(ctx.Print(t));
  if (!result->ok()) {
    return Status::IOError("sync of " + spec.name + " failed: " + result->ErrorSummary());
  }
  return Status::OK();
}

}  // namespace dew::cli
