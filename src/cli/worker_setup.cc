#include "cli/worker_setup.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "connectors/connection_spec.h"
#include "core/http_client.h"
#include "core/process_runner.h"
#include "core/smtp_client.h"
#include "lake/lakehouse.h"
#include "orchestrator/event_dispatcher.h"
#include "orchestrator/run_writes.h"
#include "orchestrator/webhook_spec.h"

namespace dew::cli {

std::string DefaultWorkerId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "host");
  return std::string(host) + "-" + std::to_string(getpid());
}

namespace {

std::string SelfBinary() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "dew";
  return std::string(buf, static_cast<size_t>(n));
}

std::string UserName(const CommandContext& ctx) {
  if (!ctx.options().user.empty()) return ctx.options().user;
  for (const char* var : {"DEW_USER", "USER", "LOGNAME"}) {
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return v;
  }
  return "unknown";
}

Status RecordDataReady(
    control::ControlStore& store,
    const std::function<Result<std::unique_ptr<lake::Lakehouse>>(const std::string&)>& open,
    std::shared_ptr<HttpClient> http, std::shared_ptr<Clock> clock, FileSystem& fs,
    const std::string& webhooks_dir, const control::RunRecord& run) {
  DEW_ASSIGN_OR_RETURN(std::vector<orchestrator::WebhookSpec> webhooks,
                       orchestrator::LoadWebhooks(webhooks_dir, fs));
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<lake::Lakehouse> lake, open(run.id));
  DEW_ASSIGN_OR_RETURN(auto writes, orchestrator::FindRunWrites(*lake, run.id, run.created_at_ms));
  DEW_ASSIGN_OR_RETURN(auto datasets, orchestrator::DatasetsWritten(*lake, writes));
  orchestrator::EventDispatcher dispatcher(store, std::move(http), std::move(clock),
                                           std::move(webhooks), {});
  return dispatcher.OnRunSucceeded(run, datasets).status();
}

}  // namespace

Result<std::unique_ptr<WorkerSetup>> OpenWorkerSetup(CommandContext& ctx) {
  auto setup = std::make_unique<WorkerSetup>();
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  DEW_ASSIGN_OR_RETURN(setup->store, ctx.OpenControlStore());
  const std::string root = project.root();
  setup->project_dir = root;
  std::shared_ptr<FileSystem> fs = ctx.shared_fs();
  std::shared_ptr<Clock> clock = Clock::System();
  setup->coordinator = std::make_unique<orchestrator::RunCoordinator>(
      setup->store.get(), orchestrator::ProjectPipelineResolver(root, fs), clock);
  setup->logs_dir = JoinPath(project.state_dir(), "logs");
  orchestrator::TaskEnv& env = setup->env;
  env.project_dir = root;
  env.fs = fs;
  env.clock = clock;
  env.processes = std::make_shared<PosixProcessRunner>(root);
  env.http = NewCurlHttpClient();
  env.smtp = NewCurlSmtpClient();
  env.worker_env = connectors::ProcessEnvironment();
  env.dew_binary = SelfBinary();
  env.store = setup->store.get();
  const std::string lake_root = project.lake_root();
  const std::string cwd = ctx.cwd();
  const std::string user = UserName(ctx);
  const std::string temp_dir = JoinPath(project.state_dir(), "tmp");
  env.open_lakehouse = [lake_root, cwd, user, temp_dir, fs, clock](
                           const std::string& run_id) -> Result<std::unique_ptr<lake::Lakehouse>> {
    lake::LakehouseOptions o;
    o.lake_root = lake_root;
    o.cwd = cwd;
    o.user = user;
    o.run_id = run_id;
    o.database.temp_directory = temp_dir;
    return lake::Lakehouse::Open(std::move(o), fs, clock);
  };
  // Each succeeded run records a data_ready event per table it wrote (found in the tables'
  // Delta logs by the run's id) with a pending delivery per subscribed webhook; `dew serve`
  // sends them. A failure here is reported but never fails the run: its data is written.
  control::ControlStore* store = setup->store.get();
  auto open_lakehouse = env.open_lakehouse;
  auto http = env.http;
  const std::string webhooks_dir = JoinPath(root, "webhooks");
  setup->coordinator->SetOnRunSucceeded(
      [store, open_lakehouse, http, clock, fs, webhooks_dir](const control::RunRecord& run) {
        Status s = RecordDataReady(*store, open_lakehouse, http, clock, *fs, webhooks_dir, run);
        if (!s.ok()) {
          std::fprintf(stderr, "dew: data_ready events of run %s not recorded: %s\n",
                       run.id.c_str(), s.ToString().c_str());
        }
      });
  return setup;
}

std::unique_ptr<orchestrator::Executor> MakeExecutor(WorkerSetup& setup, const std::string& id,
                                                     int concurrency, int64_t stale_after_ms) {
  orchestrator::ExecutorOptions o;
  o.worker_id = id;
  o.concurrency = concurrency;
  o.logs_dir = setup.logs_dir;
  if (stale_after_ms > 0) o.stale_after_ms = stale_after_ms;
  // Several heartbeats fit in the stale limit, so a busy store does not make a live worker look
  // dead (its attempt would be failed and retried while it still runs).
  o.heartbeat_ms = std::min<int64_t>(o.heartbeat_ms, o.stale_after_ms / 5);
  return std::make_unique<orchestrator::Executor>(setup.store.get(), setup.coordinator.get(),
                                                  setup.env, o);
}

}  // namespace dew::cli
