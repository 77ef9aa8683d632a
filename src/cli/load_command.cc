// dew load FILE TABLE: lands a file in bronze.
#include "cli/command_context.h"
#include "lake/file_loader.h"

namespace dew::cli {

Status RunLoad(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage =
      "dew load FILE TABLE [--format csv|json|parquet] [--mode append|overwrite] [--source S] "
      "[--stream S] [--merge-schema]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(
          ctx, args,
          {{"format", 0, true, "FMT",
            "input format: csv, json or parquet (default: "
            "from the extension)"},
           {"mode", 0, true, "MODE", "append (default) or overwrite"},
           {"source", 0, true, "S", "_source value (default: from raw_<source>_<stream>)"},
           {"stream", 0, true, "S", "_stream value (default: from raw_<source>_<stream>)"},
           {"merge-schema", 0, false, "", "let the file add new columns to the table"}},
          usage,
          "Loads FILE (a path or a glob) into the bronze table TABLE "
          "(bronze.raw_<source>_<stream>),\ncreating it (partitioned by _ingest_date) "
          "when absent, in one commit. Adds the lineage columns\n_emitted_at, _source, "
          "_stream, _cursor, _ingest_date and _run_id. The output format is chosen\n"
          "with `dew --format F load …` (--format after the verb is the input format)."));
  if (parsed.positional.size() != 2) {
    return Status::InvalidArgument("load takes a file and a table\nusage: " + usage);
  }
  lake::LoadRequest req;
  req.path = parsed.positional[0];
  req.table = parsed.positional[1];
  req.format = parsed.Get("format");
  const std::string mode = parsed.Get("mode", "append");
  if (mode != "append" && mode != "overwrite") {
    return Status::InvalidArgument("--mode must be append or overwrite, not '" + mode + "'");
  }
  if (!req.format.empty() && req.format != "csv" && req.format != "json" &&
      req.format != "parquet") {
    return Status::InvalidArgument("--format must be csv, json or parquet, not '" + req.format +
                                   "'");
  }
  req.overwrite = mode == "overwrite";
  req.source = parsed.Get("source");
  req.stream = parsed.Get("stream");
  req.merge_schema = parsed.Has("merge-schema");
  DEW_ASSIGN_OR_RETURN(OutputFormat format, ctx.Format());
  InterruptGuard interrupt;
  DEW_ASSIGN_OR_RETURN(auto lakehouse, ctx.OpenLakehouse());
  InterruptWatcher watcher(&lakehouse->connection());
  lake::FileLoader loader(lakehouse.get());
  auto loaded = loader.Load(req);
  if (!loaded.ok()) {
    const Status& s = loaded.status();
    if (s.message().find("merge_schema") == std::string::npos) return s;
    return s.WithContext("pass --merge-schema to add the new columns");
  }
  const lake::LoadResult& r = *loaded;
  engine::TextTable t;
  auto type = [](engine::TypeId id) {
    engine::LogicalType lt;
    lt.id = id;
    return lt;
  };
  t.names = {"table", "format", "mode", "version", "rows_loaded", "files_added", "run_id"};
  t.types = {type(engine::TypeId::kVarchar), type(engine::TypeId::kVarchar),
             type(engine::TypeId::kVarchar), type(engine::TypeId::kBigInt),
             type(engine::TypeId::kBigInt),  type(engine::TypeId::kBigInt),
             type(engine::TypeId::kVarchar)};
  t.rows.push_back({r.table.ToString(), r.format, r.created ? "create" : mode,
                    std::to_string(r.commit.version), std::to_string(r.commit.rows_added),
                    std::to_string(r.commit.files_added), lakehouse->run_id()});
  ResultWriter writer(format, ctx.out());
  writer.Write(t);
  return Status::OK();
}

}  // namespace dew::cli
