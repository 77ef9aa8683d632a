// dew table list | describe | history | restore | optimize | vacuum.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command_context.h"
#include "lake/delta_log.h"
#include "lake/sql_executor.h"

namespace dew::cli {
namespace {

using engine::LogicalType;
using engine::TextTable;
using engine::TypeId;

const LogicalType kText = TypeOf(TypeId::kVarchar);
const LogicalType kNumber = TypeOf(TypeId::kBigInt);
const LogicalType kBool = TypeOf(TypeId::kBoolean);

std::string MapJson(const std::map<std::string, std::string>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j.dump();
}

const char kTableHelp[] =
    "usage: dew table <list|describe|history|restore|optimize|vacuum> …\n\n"
    "  dew table list [--layer L]                 every lake table: name, layer, version, files,\n"
    "                                             rows, size, last modified\n"
    "  dew table describe T                       columns, partition columns, version, location,\n"
    "                                             properties\n"
    "  dew table history T [--limit N]            commits, newest first\n"
    "  dew table restore T --version N            make T equal to version N again (a new commit)\n"
    "  dew table optimize T [--where PREDICATE]   pack small files and drop rows deleted by\n"
    "                                             deletion vectors (OPTIMIZE; rows unchanged)\n"
    "  dew table vacuum T [--retain HOURS] [--force] [--dry-run]\n"
    "                                             delete files no version within the retention\n"
    "                                             needs (default 168 hours)\n\n"
    "T is layer.name (or a bare name when only one layer has it). `dew table <sub> --help` for "
    "details.\n";

Status List(CommandContext& ctx, const std::vector<std::string>& args) {
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, {{"layer", 0, true, "L", "only tables of layer L"}},
                    "dew table list [--layer bronze|silver|gold|platinum]",
                    "Lists the lake's tables with their latest version, live files, rows, bytes "
                    "and commit time (UTC)."));
  if (!parsed.positional.empty()) return Status::InvalidArgument("table list takes no arguments");
  std::optional<lake::Layer> layer;
  if (parsed.Has("layer")) {
    DEW_ASSIGN_OR_RETURN(layer, lake::ParseLayer(parsed.Get("layer")));
  }
  DEW_ASSIGN_OR_RETURN(auto lakehouse, ctx.OpenLakehouse());
  DEW_ASSIGN_OR_RETURN(auto summaries, lakehouse->Summaries());
  TextTable t;
  t.names = {"name", "layer", "version", "files", "rows", "size_bytes", "last_modified"};
  t.types = {kText, kText, kNumber, kNumber, kNumber, kNumber, kText};
  for (const auto& s : summaries) {
    if (layer && s.name.layer != *layer) continue;
    t.rows.push_back(
        {s.name.ToString(), std::string(lake::LayerName(s.name.layer)), std::to_string(s.version),
         std::to_string(s.files),
         s.rows < 0 ? std::nullopt : std::optional<std::string>(std::to_string(s.rows)),
         std::to_string(s.size_bytes), lake::FormatTimestampMillis(s.modified_millis)});
  }
  return ctx.Print(t);
}

Result<std::unique_ptr<lake::Lakehouse>> OpenWithTable(CommandContext& ctx,
                                                       const ParsedArgs& parsed,
                                                       const std::string& usage,
                                                       lake::TableName* table) {
  if (parsed.positional.empty()) return Status::InvalidArgument("which table?\nusage: " + usage);
  DEW_ASSIGN_OR_RETURN(auto lakehouse, ctx.OpenLakehouse());
  DEW_ASSIGN_OR_RETURN(*table, lakehouse->Resolve(parsed.positional[0]));
  return lakehouse;
}

Status Describe(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew table describe TABLE";
  DEW_ASSIGN_OR_RETURN(ParsedArgs parsed,
                       ParseVerbArgs(ctx, args, {}, usage,
                                     "Shows a table's columns (type, nullability, partitioning), "
                                     "version, location and properties."));
  lake::TableName name;
  DEW_ASSIGN_OR_RETURN(auto lakehouse, OpenWithTable(ctx, parsed, usage, &name));
  DEW_ASSIGN_OR_RETURN(lake::Snapshot snap, lakehouse->LoadSnapshot(name, lake::TimeTravel{}));
  const auto& parts = snap.metadata.partition_columns;
  auto is_partition = [&](const std::string& c) {
    return std::find(parts.begin(), parts.end(), c) != parts.end();
  };
  TextTable cols;
  cols.names = {"column", "type", "delta_type", "nullable", "partition"};
  cols.types = {kText, kText, kText, kBool, kBool};
  for (const lake::Field& f : snap.schema.fields()) {
    auto type = lake::DuckDbTypeOf(f);
    cols.rows.push_back({f.name, type.ok() ? *type : f.type, f.type, f.nullable ? "true" : "false",
                         is_partition(f.name) ? "true" : "false"});
  }
  DEW_ASSIGN_OR_RETURN(OutputFormat format, ctx.Format());
  std::string partition_list;
  for (const auto& p : parts) partition_list += (partition_list.empty() ? "" : ", ") + p;
  if (format == OutputFormat::kJson) {
    nlohmann::json j;
    j["table"] = name.ToString();
    j["location"] = snap.table_root;
    j["version"] = snap.version;
    j["id"] = snap.metadata.id;
    j["partition_columns"] = parts;
    j["properties"] = snap.metadata.configuration;
    j["files"] = snap.files.size();
    j["rows"] = snap.NumRecords() < 0 ? nlohmann::json(nullptr) : nlohmann::json(snap.NumRecords());
    j["size_bytes"] = snap.SizeBytes();
    j["last_modified"] = lake::FormatTimestampMillis(snap.timestamp_millis);
    j["columns"] = nlohmann::json::array();
    for (const auto& row : cols.rows) {
      j["columns"].push_back({{"column", *row[0]},
                              {"type", *row[1]},
                              {"delta_type", *row[2]},
                              {"nullable", *row[3] == "true"},
                              {"partition", *row[4] == "true"}});
    }
    std::string text = j.dump(2) + "\n";
    std::fwrite(text.data(), 1, text.size(), ctx.out());
    return Status::OK();
  }
  if (format == OutputFormat::kTable) {
    std::string props;
    for (const auto& [k, v] : snap.metadata.configuration) {
      props += (props.empty() ? "" : ", ") + k + "=" + v;
    }
    std::fprintf(ctx.out(),
                 "table:       %s\nlocation:    %s\nversion:     %lld (%s UTC)\n"
                 "partitioned: %s\nfiles:       %zu (%lld bytes)\nrows:        %s\n"
                 "properties:  %s\n\n",
                 name.ToString().c_str(), snap.table_root.c_str(),
                 static_cast<long long>(snap.version),
                 lake::FormatTimestampMillis(snap.timestamp_millis).c_str(),
                 parts.empty() ? "no" : ("by " + partition_list).c_str(), snap.files.size(),
                 static_cast<long long>(snap.SizeBytes()),
                 snap.NumRecords() < 0 ? "unknown" : std::to_string(snap.NumRecords()).c_str(),
                 props.empty() ? "(none)" : props.c_str());
  }
  return ctx.Print(cols);
}

Status History(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew table history TABLE [--limit N]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, {{"limit", 0, true, "N", "at most N commits"}}, usage,
                    "Shows a table's commits, newest first: version, time (UTC), "
                    "operation, parameters, metrics, user, run id."));
  int64_t limit = 0;
  if (parsed.Has("limit")) {
    DEW_ASSIGN_OR_RETURN(limit, ParseCount(parsed.Get("limit"), "--limit"));
  }
  lake::TableName name;
  DEW_ASSIGN_OR_RETURN(auto lakehouse, OpenWithTable(ctx, parsed, usage, &name));
  DEW_ASSIGN_OR_RETURN(auto table, lakehouse->OpenTable(name));
  DEW_ASSIGN_OR_RETURN(auto history, table->log().History(static_cast<size_t>(limit)));
  DEW_ASSIGN_OR_RETURN(OutputFormat format, ctx.Format());
  if (format == OutputFormat::kJson) {
    // Parameters and metrics as objects, so that consumers need not parse JSON inside JSON.
    nlohmann::json out = nlohmann::json::array();
    for (const auto& h : history) {
      auto opt = [](const std::string& s) {
        return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
      };
      out.push_back({{"version", h.version},
                     {"timestamp", lake::FormatTimestampMillis(h.timestamp_millis)},
                     {"operation", opt(h.info.operation)},
                     {"parameters", h.info.operation_parameters},
                     {"metrics", h.info.operation_metrics},
                     {"user", opt(h.info.user_name)},
                     {"run_id", opt(h.info.run_id)}});
    }
    std::string text = out.dump(2) + "\n";
    std::fwrite(text.data(), 1, text.size(), ctx.out());
    return Status::OK();
  }
  TextTable t;
  t.names = {"version", "timestamp", "operation", "parameters", "metrics", "user", "run_id"};
  t.types = {kNumber, kText, kText, kText, kText, kText, kText};
  for (const auto& h : history) {
    auto opt = [](const std::string& s) {
      return s.empty() ? std::nullopt : std::optional<std::string>(s);
    };
    t.rows.push_back({std::to_string(h.version), lake::FormatTimestampMillis(h.timestamp_millis),
                      opt(h.info.operation), MapJson(h.info.operation_parameters),
                      MapJson(h.info.operation_metrics), opt(h.info.user_name),
                      opt(h.info.run_id)});
  }
  return ctx.Print(t);
}

Status Restore(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew table restore TABLE --version N";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, {{"version", 0, true, "N", "the version to restore"}}, usage,
                    "Makes TABLE's content equal to version N again, as a new commit (the "
                    "history is kept,\nso a restore can itself be undone). `dew table restore T N` "
                    "works too."));
  std::string version_text = parsed.Get("version");
  if (version_text.empty() && parsed.positional.size() == 2) version_text = parsed.positional[1];
  if (version_text.empty() || parsed.positional.size() > 2 ||
      (parsed.Has("version") && parsed.positional.size() == 2)) {
    return Status::InvalidArgument("give the table and the version\nusage: " + usage);
  }
  DEW_ASSIGN_OR_RETURN(int64_t version, ParseCount(version_text, "--version"));
  lake::TableName name;
  DEW_ASSIGN_OR_RETURN(auto lakehouse, OpenWithTable(ctx, parsed, usage, &name));
  lake::TimeTravel at;
  at.version = version;
  // Checks the version exists first, for an error naming the available versions.
  DEW_RETURN_IF_ERROR(lakehouse->LoadSnapshot(name, at).status());
  DEW_ASSIGN_OR_RETURN(auto table, lakehouse->OpenTable(name));
  DEW_ASSIGN_OR_RETURN(lake::CommitResult r, table->Restore(version, lakehouse->NewWriteOptions()));
  TextTable t;
  t.names = {"table", "operation", "version", "restored_version", "rows_added", "rows_removed"};
  t.types = {kText, kText, kNumber, kNumber, kNumber, kNumber};
  t.rows.push_back({name.ToString(), "RESTORE", std::to_string(r.version), std::to_string(version),
                    std::to_string(r.rows_added), std::to_string(r.rows_removed)});
  return ctx.Print(t);
}

Status Optimize(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew table optimize TABLE [--where PREDICATE]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args,
                    {{"where", 0, true, "PREDICATE",
                      "only the partitions matching it "
                      "(partition columns only)"}},
                    usage,
                    "Compacts TABLE as Delta's OPTIMIZE: small files of a partition are packed "
                    "into files of about\nthe table's delta.targetFileSize (default 64 MB) and "
                    "rows deleted by deletion vectors are\ndropped, in one commit that changes no "
                    "row. The old files stay for time travel until vacuum."));
  if (parsed.positional.size() != 1)
    return Status::InvalidArgument("which table?\nusage: " + usage);
  lake::TableName name;
  DEW_ASSIGN_OR_RETURN(auto lakehouse, OpenWithTable(ctx, parsed, usage, &name));
  DEW_ASSIGN_OR_RETURN(auto table, lakehouse->OpenTable(name));
  lake::OptimizeOptions optimize;
  if (parsed.Has("where")) optimize.where = parsed.Get("where");
  DEW_ASSIGN_OR_RETURN(lake::OptimizeResult r,
                       table->Optimize(optimize, lakehouse->NewWriteOptions()));
  table.reset();
  if (r.committed) DEW_RETURN_IF_ERROR(lakehouse->RefreshView(name));
  return ctx.Print(lake::OptimizeSummary(name.ToString(), r));
}

Status Vacuum(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew table vacuum TABLE [--retain HOURS] [--force] [--dry-run]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args,
                    {{"retain", 0, true, "HOURS", "retention window (default 168 = 7 days)"},
                     {"force", 0, false, "", "allow a retention under 168 hours"},
                     {"dry-run", 'n', false, "", "list the files without deleting them"}},
                    usage,
                    "Deletes data files that no version within the retention window needs, and "
                    "files left by\nwriters that never committed. Time travel to versions older "
                    "than the window may fail afterwards."));
  double hours = 168;
  if (parsed.Has("retain")) {
    const std::string text = parsed.Get("retain");
    char* end = nullptr;
    hours = std::strtod(text.c_str(), &end);
    if (text.empty() || end == nullptr || *end != '\0' || hours < 0) {
      return Status::InvalidArgument("--retain must be a number of hours, not '" + text + "'");
    }
  }
  if (parsed.positional.size() != 1)
    return Status::InvalidArgument("which table?\nusage: " + usage);
  lake::TableName name;
  DEW_ASSIGN_OR_RETURN(auto lakehouse, OpenWithTable(ctx, parsed, usage, &name));
  DEW_ASSIGN_OR_RETURN(auto table, lakehouse->OpenTable(name));
  const bool dry_run = parsed.Has("dry-run");
  auto vacuumed = table->Vacuum(hours, parsed.Has("force"), dry_run);
  if (!vacuumed.ok()) {
    if (vacuumed.status().IsInvalidArgument() && !parsed.Has("force")) {
      return Status::InvalidArgument("table " + name.ToString() + ": " +
                                     vacuumed.status().message() + " (pass --force)");
    }
    return vacuumed.status();
  }
  const lake::VacuumResult& r = *vacuumed;
  TextTable t;
  t.names = {"file", "action"};
  t.types = {kText, kText};
  for (const auto& f : r.deleted) t.rows.push_back({f, dry_run ? "would delete" : "deleted"});
  DEW_ASSIGN_OR_RETURN(OutputFormat format, ctx.Format());
  if (format == OutputFormat::kTable) {
    std::fprintf(ctx.out(), "%s: %s %zu files (%lld bytes), retention %.1f hours\n",
                 name.ToString().c_str(), dry_run ? "would delete" : "deleted", r.deleted.size(),
                 static_cast<long long>(r.bytes), hours);
    if (r.deleted.empty()) return Status::OK();
  }
  return ctx.Print(t);
}

}  // namespace

Status RunTable(CommandContext& ctx, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kTableHelp, ctx.out());
    return args.empty() ? Status::InvalidArgument(
                              "table needs a subcommand: list, describe, "
                              "history, restore, optimize or vacuum\nusage: dew table …")
                        : HelpShown();
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string& sub = args[0];
  if (sub == "list") return List(ctx, rest);
  if (sub == "describe") return Describe(ctx, rest);
  if (sub == "history") return History(ctx, rest);
  if (sub == "restore") return Restore(ctx, rest);
  if (sub == "optimize") return Optimize(ctx, rest);
  if (sub == "vacuum") return Vacuum(ctx, rest);
  return Status::InvalidArgument(
      "unknown table subcommand '" + sub +
      "': expected list, describe, history, restore, optimize or vacuum\n"
      "usage: dew table …");
}

}  // namespace dew::cli
