// dew sql: runs SQL over the lake and prints the last statement's result.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>

#include "cli/command_context.h"
#include "lake/sql_executor.h"

namespace dew::cli {

Status RunSql(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew sql \"SQL\" | dew sql -f FILE [--format table|csv|json]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(
          ctx, args, {{"file", 'f', true, "FILE", "read the SQL from FILE ('-' for stdin)"}}, usage,
          "Runs one or more statements (separated by ;) on DuckDB over the project's lake and "
          "prints the\nlast one's result. Lake tables are views named <layer>.<table>. Additions:\n"
          "  <layer>.<table> VERSION AS OF n | TIMESTAMP AS OF '2026-01-31 23:59:59' | @vN\n"
          "  delta_scan('path/to/table' [, version => n | timestamp => '…'])\n"
          "  CREATE [OR REPLACE] TABLE layer.t [PARTITIONED BY (cols)] AS query, INSERT INTO,\n"
          "  INSERT OVERWRITE, DELETE FROM, MERGE INTO … USING … ON …, DROP TABLE on lake tables\n"
          "See docs/cli.md."));
  std::string sql;
  if (parsed.Has("file")) {
    if (!parsed.positional.empty()) {
      return Status::InvalidArgument("give SQL text or -f FILE, not both\nusage: " + usage);
    }
    const std::string file = parsed.Get("file");
    if (file == "-") {
      sql.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      auto text = ctx.fs().ReadFile(lake::AbsolutePath(file, ctx.cwd()));
      if (!text.ok()) {
        if (text.status().IsNotFound()) return Status::NotFound("SQL file not found: " + file);
        return text.status();
      }
      sql = std::move(*text);
    }
  } else if (parsed.positional.size() == 1) {
    sql = parsed.positional[0];
  } else if (parsed.positional.empty() && !isatty(STDIN_FILENO)) {
    sql.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    return Status::InvalidArgument(
        "give the SQL as one argument (quote it) or with -f FILE\nusage: " + usage);
  }
  DEW_ASSIGN_OR_RETURN(OutputFormat format, ctx.Format());
  InterruptGuard interrupt;
  DEW_ASSIGN_OR_RETURN(auto lakehouse, ctx.OpenLakehouse());
  InterruptWatcher watcher(&lakehouse->connection());
  lake::SqlExecutor executor(lakehouse.get());
  DEW_ASSIGN_OR_RETURN(lake::StatementOutput output, executor.Run(sql));
  for (const std::string& note : output.notes)
    std::fprintf(stderr, "dew: note: %s\n", note.c_str());
  ResultWriter writer(format, ctx.out());
  if (output.stream) return writer.Write(*output.stream);
  writer.Write(output.table);
  return Status::OK();
}

}  // namespace dew::cli
