// CommandContext: what every verb shares — global options, the working folder, the output
// writer, and opening the project and its lakehouse.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli/args.h"
#include "cli/output.h"
#include "control/control_store.h"
#include "core/file_system.h"
#include "core/status.h"
#include "lake/lakehouse.h"
#include "lake/project.h"

namespace dew::connectors {
struct ConnectionSpec;
class Source;
}  // namespace dew::connectors

namespace dew::cli {

struct GlobalOptions {
  std::string project;           //!< --project DIR; empty: discover from the working folder
  std::string format = "table";  //!< --format for results
  std::string run_id;            //!< --run-id; empty: a new UUID per invocation
  std::string user;              //!< --user; empty: $DEW_USER, $USER or the login name
};

//! The options every verb accepts besides its own.
const std::vector<OptionSpec>& GlobalOptionSpecs();

//! One invocation's surroundings. Not thread-safe.
class CommandContext {
 public:
  CommandContext(GlobalOptions options, std::string cwd, std::FILE* out);

  //! Applies those of --project/--format/--run-id/--user in `names` found among a verb's
  //! parsed options (a verb may give one of these names its own meaning).
  void ApplyOverrides(const ParsedArgs& args, const std::vector<std::string>& names);

  const GlobalOptions& options() const { return options_; }
  const std::string& cwd() const { return cwd_; }
  std::FILE* out() const { return out_; }
  FileSystem& fs() { return *fs_; }
  std::shared_ptr<FileSystem> shared_fs() { return fs_; }

  //! The output format; InvalidArgument for an unknown name.
  Result<OutputFormat> Format() const { return ParseOutputFormat(options_.format); }

  //! The project named by --project, or found walking up from the working folder.
  Result<lake::Project> FindProject();
  //! The project's lakehouse, with this invocation's user and run id.
  Result<std::unique_ptr<lake::Lakehouse>> OpenLakehouse();
  //! As OpenLakehouse, with views at open of the tables `views_at_open` accepts only (see
  //! LakehouseOptions::views_at_open).
  Result<std::unique_ptr<lake::Lakehouse>> OpenLakehouse(
      std::function<bool(const lake::TableName&)> views_at_open);

  //! Who runs this invocation: --user, else $DEW_USER, $USER, $LOGNAME or the login name.
  std::string User() const;

  //! The project's control plane (dew.yml `control:`; SQLite in .dew/ by default).
  Result<std::unique_ptr<control::ControlStore>> OpenControlStore();

  //! Prints `table` in the chosen format.
  Status Print(const engine::TextTable& table);

 private:
  GlobalOptions options_;
  std::string cwd_;
  std::FILE* out_;
  std::shared_ptr<FileSystem> fs_;
};

//! While alive, Ctrl-C (SIGINT) is recorded instead of killing the process (a second Ctrl-C
//! does kill it); an InterruptWatcher turns the record into interrupts of a connection's
//! queries, so a write stops before its commit and the lake stays at its last version. One
//! guard at a time.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
};

//! Interrupts `con`'s queries from the moment Ctrl-C was pressed until it is destroyed, which
//! must happen before `con` is. A Ctrl-C that comes before or between queries interrupts the
//! next one: DuckDB forgets an interrupt when a query starts, so a thread repeats it, every
//! `interval`. The destructor returns at once, without waiting for the thread's next look.
class InterruptWatcher {
 public:
  explicit InterruptWatcher(engine::Connection* con,
                            std::chrono::milliseconds interval = std::chrono::milliseconds(50));
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  //!< guarded by mu_
  std::thread thread_;
};

//! A verb: runs with its arguments (after the verb name), printing to ctx.out(); the Status
//! becomes the exit code (see cli.cc) and, when not OK, the `dew: error:` line.
using VerbFn = Status (*)(CommandContext& ctx, const std::vector<std::string>& args);

Status RunInit(CommandContext& ctx, const std::vector<std::string>& args);
Status RunSql(CommandContext& ctx, const std::vector<std::string>& args);
Status RunLoad(CommandContext& ctx, const std::vector<std::string>& args);
Status RunTable(CommandContext& ctx, const std::vector<std::string>& args);
Status RunConnection(CommandContext& ctx, const std::vector<std::string>& args);
Status RunDiscover(CommandContext& ctx, const std::vector<std::string>& args);
Status RunSync(CommandContext& ctx, const std::vector<std::string>& args);
Status RunState(CommandContext& ctx, const std::vector<std::string>& args);  // state_command.cc
//! The source connection `spec` describes, its secrets resolved from the environment now
//! (connection_command.cc).
Result<std::unique_ptr<connectors::Source>> MakeConnectionSource(
    const connectors::ConnectionSpec& spec, const lake::Project& project, CommandContext& ctx);
Status RunRun(CommandContext& ctx, const std::vector<std::string>& args);   // run_command.cc
Status RunRuns(CommandContext& ctx, const std::vector<std::string>& args);  // run_command.cc
Status RunSchedule(CommandContext& ctx,
                   const std::vector<std::string>& args);  // schedule_command.cc
Status RunBackfill(CommandContext& ctx,
                   const std::vector<std::string>& args);                     // schedule_command.cc
Status RunServe(CommandContext& ctx, const std::vector<std::string>& args);   // serve_command.cc
Status RunWorker(CommandContext& ctx, const std::vector<std::string>& args);  // worker_command.cc
Status RunBuild(CommandContext& ctx, const std::vector<std::string>& args);   // build_command.cc
Status RunCompile(CommandContext& ctx, const std::vector<std::string>& args);   // build_command.cc
Status RunTestVerb(CommandContext& ctx, const std::vector<std::string>& args);  // build_command.cc
Status RunSeed(CommandContext& ctx, const std::vector<std::string>& args);      // build_command.cc
Status RunEvents(CommandContext& ctx, const std::vector<std::string>& args);    // events_command.cc

//! The Status a verb returns after printing its help: the invocation ends with exit code 0.
Status HelpShown();
bool IsHelpShown(const Status& s);

//! Parses a verb's args with its specs plus the global ones, printing help on --help.
Result<ParsedArgs> ParseVerbArgs(CommandContext& ctx, const std::vector<std::string>& args,
                                 std::vector<OptionSpec> specs, const std::string& usage,
                                 const std::string& description);

}  // namespace dew::cli
