#include "cli/command_context.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>

#include "connectors/connection_spec.h"
#include "control/open_control_store.h"
#include "core/clock.h"

namespace dew::cli {
namespace {

constexpr const char* kHelpShown = "help shown";

std::string DefaultUser() {
  for (const char* var : {"DEW_USER", "USER", "LOGNAME"}) {
    const char* v = std::getenv(var);
    if (v && *v) return v;
  }
  if (const passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return "unknown";
}

std::atomic<bool> g_interrupt_requested{false};

void OnInterrupt(int) {
  g_interrupt_requested.store(true);
}

}  // namespace

InterruptGuard::InterruptGuard() {
  g_interrupt_requested.store(false);
  struct sigaction sa = {};
  sa.sa_handler = OnInterrupt;
  sa.sa_flags = SA_RESETHAND;  // the second Ctrl-C gets the default action
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
}

InterruptGuard::~InterruptGuard() {
  signal(SIGINT, SIG_DFL);
}

InterruptWatcher::InterruptWatcher(engine::Connection* con, std::chrono::milliseconds interval) {
  thread_ = std::thread([this, con, interval] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      if (g_interrupt_requested.load()) con->Interrupt();
      // A wait, not a sleep: the end of a command must not wait out the interval (it was up
      // to 50 ms of every `dew sync`).
      wake_.wait_for(lock, interval, [this] { return stop_; });
    }
  });
}

InterruptWatcher::~InterruptWatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

const std::vector<OptionSpec>& GlobalOptionSpecs() {
  static const std::vector<OptionSpec> kSpecs = {
      {"project", 0, true, "DIR",
       "act on the project in DIR (default: found from the working folder)"},
      {"format", 0, true, "FMT", "output as table, csv or json (default table)"},
      {"run-id", 0, true, "ID", "run id recorded in commits (default: a new UUID)"},
      {"user", 0, true, "NAME", "user recorded in commits (default: $DEW_USER or $USER)"},
      {"help", 'h', false, "", "show this help"},
  };
  return kSpecs;
}

CommandContext::CommandContext(GlobalOptions options, std::string cwd, std::FILE* out)
    : options_(std::move(options)), cwd_(std::move(cwd)), out_(out), fs_(FileSystem::Posix()) {}

void CommandContext::ApplyOverrides(const ParsedArgs& args, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    if (!args.Has(n)) continue;
    if (n == "project") options_.project = args.Get(n);
    if (n == "format") options_.format = args.Get(n);
    if (n == "run-id") options_.run_id = args.Get(n);
    if (n == "user") options_.user = args.Get(n);
  }
}

Result<lake::Project> CommandContext::FindProject() {
  if (!options_.project.empty()) {
    return lake::Project::Open(*fs_, lake::AbsolutePath(options_.project, cwd_));
  }
  return lake::Project::Discover(*fs_, cwd_);
}

Result<std::unique_ptr<lake::Lakehouse>> CommandContext::OpenLakehouse() {
  return OpenLakehouse(nullptr);
}

Result<std::unique_ptr<lake::Lakehouse>> CommandContext::OpenLakehouse(
    std::function<bool(const lake::TableName&)> views_at_open) {
  DEW_ASSIGN_OR_RETURN(lake::Project project, FindProject());
  lake::LakehouseOptions o;
  o.lake_root = project.lake_root();
  o.cwd = cwd_;
  o.user = options_.user.empty() ? DefaultUser() : options_.user;
  o.run_id = options_.run_id;
  if (o.run_id.empty()) {
    if (const char* env = std::getenv("DEW_RUN_ID"); env && *env) o.run_id = env;
  }
  o.database.temp_directory = JoinPath(project.state_dir(), "tmp");
  o.views_at_open = std::move(views_at_open);
  return lake::Lakehouse::Open(std::move(o), fs_, Clock::System());
}

std::string CommandContext::User() const {
  return options_.user.empty() ? DefaultUser() : options_.user;
}

Result<std::unique_ptr<control::ControlStore>> CommandContext::OpenControlStore() {
  DEW_ASSIGN_OR_RETURN(lake::Project project, FindProject());
  DEW_RETURN_IF_ERROR(fs_->CreateDirs(project.state_dir()));
  return control::OpenControlStore(project.config().control, project.root(), Clock::System(),
                                   connectors::ProcessEnvironment());
}

Status CommandContext::Print(const engine::TextTable& table) {
  DEW_ASSIGN_OR_RETURN(OutputFormat format, Format());
  ResultWriter writer(format, out_);
  writer.Write(table);
  return Status::OK();
}

Status HelpShown() {
  return Status::Interrupted(kHelpShown);
}
bool IsHelpShown(const Status& s) {
  return s.IsInterrupted() && s.message() == kHelpShown;
}

Result<ParsedArgs> ParseVerbArgs(CommandContext& ctx, const std::vector<std::string>& args,
                                 std::vector<OptionSpec> specs, const std::string& usage,
                                 const std::string& description) {
  std::vector<std::string> globals;
  for (const auto& g : GlobalOptionSpecs()) {
    bool taken = false;
    for (const auto& s : specs) taken |= s.name == g.name;
    if (taken) continue;
    specs.push_back(g);
    globals.push_back(g.name);
  }
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::string text =
          "usage: " + usage + "\n\n" + description + "\n\noptions:\n" + OptionsHelp(specs);
      std::fwrite(text.data(), 1, text.size(), ctx.out());
      return HelpShown();
    }
    if (a == "--") break;
  }
  auto parsed = ParseArgs(args, specs);
  if (!parsed.ok()) {
    return Status::InvalidArgument(parsed.status().message() + "\nusage: " + usage);
  }
  ctx.ApplyOverrides(*parsed, globals);
  return parsed;
}

}  // namespace dew::cli
