#include "cli/cli.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/command_context.h"
#include "engine/database.h"

namespace dew::cli {

Status RunQuality(CommandContext& ctx, const std::vector<std::string>& args);  // quality_command.cc
Status RunAudit(CommandContext& ctx, const std::vector<std::string>& args);    // audit_command.cc

namespace {

constexpr const char* kDewVersion = "0.1.0";

struct Verb {
  const char* name;
  VerbFn run;
  const char* summary;
};

const Verb kVerbs[] = {
    {"init", RunInit, "create a project folder (dew.yml, folders, .dew/ state)"},
    {"sql", RunSql, "run SQL over the lake (time travel, delta_scan, writes to lake tables)"},
    {"load", RunLoad, "load a CSV, JSON or Parquet file into a bronze table"},
    {"table", RunTable, "list, describe, history, restore or vacuum lake tables"},
    {"connection", RunConnection, "list connections (connections/*.yml) or test one"},
    {"discover", RunDiscover, "list a connection's tables, columns, types and keys"},
    {"sync", RunSync, "sync a connection's streams into bronze and silver"},
    {"state", RunState, "show or reset a connection's stream state (cursors)"},
    {"run", RunRun, "run a pipeline; show, cancel, follow the logs of a run"},
    {"runs", RunRuns, "list runs"},
    {"schedule", RunSchedule, "list pipeline schedules and their next fire times"},
    {"backfill", RunBackfill, "run a pipeline once per logical date in a range"},
    {"serve", RunServe, "run the scheduler and the HTTP endpoints (/healthz, /metrics)"},
    {"worker", RunWorker, "run a worker that executes queued task attempts"},
    {"build", RunBuild, "build the dbt-style models (models/) with their tests, in dependency order"},
    {"compile", RunCompile, "print the selected models' compiled SQL"},
    {"test", RunTestVerb, "run the data tests of sources, models and tests/*.sql"},
    {"seed", RunSeed, "load seeds/*.csv into lake tables"},
    {"quality", RunQuality, "data quality: scores per table, trends, recent failures"},
    {"events", RunEvents, "list webhook deliveries of events (--dead) or replay one"},
    {"audit", RunAudit, "list or verify the audit log (who started, cancelled, rolled back runs)"},
};

std::string MainHelp() {
  std::string text =
      "dew: a self-hosted data engineering workbench (DuckDB engine, Delta Lake tables)\n\n"
      "usage: dew [--project DIR] [--format table|csv|json] <verb> [args]\n\nverbs:\n";
  for (const Verb& v : kVerbs) {
    text += "  " + std::string(v.name) + std::string(12 - std::string(v.name).size(), ' ') +
            v.summary + "\n";
  }
  text += "\noptions (before or after the verb):\n" + OptionsHelp(GlobalOptionSpecs());
  text += "  --version        print the dew and DuckDB versions\n";
  text += "\n`dew <verb> --help` describes a verb. Docs: docs/cli.md\n";
  return text;
}

std::string WorkingDirectory() {
  std::vector<char> buf(4096);
  while (getcwd(buf.data(), buf.size()) == nullptr) {
    if (buf.size() > (1 << 20)) return "/";
    buf.resize(buf.size() * 2);
  }
  return buf.data();
}

int Fail(const std::string& message, int code) {
  std::fprintf(stderr, "dew: error: %s\n", message.c_str());
  return code;
}

}  // namespace

const char* DewVersion() { return kDewVersion; }

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Global options come before the verb; each verb accepts them after it too.
  GlobalOptions options;
  size_t i = 0;
  for (; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--version") {
      std::printf("dew %s (DuckDB %s)\n", kDewVersion, engine::Database::LibraryVersion().c_str());
      return 0;
    }
    if (a == "--help" || a == "-h") {
      std::fputs(MainHelp().c_str(), stdout);
      return 0;
    }
    if (a.rfind("--", 0) != 0) break;
    std::string name = a.substr(2), value;
    size_t eq = name.find('=');
    bool has_inline = eq != std::string::npos;
    if (has_inline) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name != "project" && name != "format" && name != "run-id" && name != "user") {
      return Fail("unknown option '" + a + "' (see dew --help)", 2);
    }
    if (!has_inline) {
      if (i + 1 >= args.size()) return Fail("option --" + name + " needs a value", 2);
      value = args[++i];
    }
    if (name == "project") options.project = value;
    if (name == "format") options.format = value;
    if (name == "run-id") options.run_id = value;
    if (name == "user") options.user = value;
  }
  if (i >= args.size()) {
    std::fputs(MainHelp().c_str(), stderr);
    return 2;
  }
  const std::string verb = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<long>(i) + 1, args.end());
  for (const Verb& v : kVerbs) {
    if (verb != v.name) continue;
    CommandContext ctx(options, WorkingDirectory(), stdout);
    Status s = v.run(ctx, rest);
    std::fflush(stdout);
    if (IsHelpShown(s)) return 0;
    if (s.IsInterrupted()) {
      return Fail(
          "interrupted: the running statement stopped before committing (statements "
          "before it stay committed)",
          130);
    }
    if (!s.ok())
      return Fail(s.message(),
                  s.IsInvalidArgument() && s.message().find("usage:") != std::string::npos ? 2 : 1);
    return 0;
  }
  return Fail("unknown verb '" + verb + "' (see dew --help for the verbs)", 2);
}

}  // namespace dew::cli
