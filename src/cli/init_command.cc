// dew init DIR: lays out a new project.
#include <cstdio>

#include "cli/command_context.h"

namespace dew::cli {

Status RunInit(CommandContext& ctx, const std::vector<std::string>& args) {
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, {{"name", 0, true, "NAME", "project name (default: the folder's)"}},
                    "dew init [DIR] [--name NAME]",
                    "Creates a dew project in DIR (default: the working folder): dew.yml, "
                    "connections/, pipelines/,\nmodels/, notebooks/, seeds/, .dew/ (local state) "
                    "and a .gitignore for lake/ and .dew/.\nLake tables will live in "
                    "DIR/lake/<layer>/<table>/."));
  if (parsed.positional.size() > 1) {
    return Status::InvalidArgument("init takes one folder\nusage: dew init [DIR] [--name NAME]");
  }
  const std::string dir =
      lake::AbsolutePath(parsed.positional.empty() ? "." : parsed.positional[0], ctx.cwd());
  DEW_ASSIGN_OR_RETURN(lake::Project project,
                       lake::Project::Init(ctx.fs(), dir, parsed.Get("name")));
  std::fprintf(
      ctx.out(),
      "Created dew project '%s' in %s\n"
      "  load data:  dew --project %s load FILE bronze.raw_<source>_<stream>\n"
      "  query it:   dew --project %s sql \"SELECT * FROM bronze.raw_<source>_<stream>\"\n",
      project.config().name.c_str(), project.root().c_str(), project.root().c_str(),
      project.root().c_str());
  return Status::OK();
}

}  // namespace dew::cli
