// dew serve: the long-running process of a project — the scheduler loop, the runs it launches,
// the webhook deliverer, and an HTTP endpoint with /healthz and /metrics. SIGTERM or Ctrl-C
// stops it cleanly; after a kill -9 a restart picks up from the control store.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/cli.h"
#include "cli/command_context.h"
#include "cli/pipeline_runs.h"
#include "connectors/connection_spec.h"
#include "core/clock.h"
#include "core/http_client.h"
#include "orchestrator/event_dispatcher.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/webhook_spec.h"
#include "server/http_endpoint.h"

namespace dew::cli {
namespace {

std::atomic<bool> g_stop_requested{false};

void OnStopSignal(int) {
  g_stop_requested.store(true);
}

//! Routes SIGTERM and SIGINT to a flag while alive.
class StopSignals {
 public:
  StopSignals() {
    g_stop_requested.store(false);
    struct sigaction sa = {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term_);
    sigaction(SIGINT, &sa, &old_int_);
  }
  ~StopSignals() {
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGINT, &old_int_, nullptr);
  }

 private:
  struct sigaction old_term_ = {};
  struct sigaction old_int_ = {};
};

std::string StoreKind(const std::string& setting) {
  if (setting.rfind("postgres://", 0) == 0 || setting.rfind("postgresql://", 0) == 0) {
    return "postgres";
  }
  return "sqlite";
}

void LogError(const char* part, const Status& s) {
  std::fprintf(stderr, "dew serve: %s: %s\n", part, s.ToString().c_str());
}

//! The body of /metrics.
std::string Metrics(control::ControlStore& store, const orchestrator::Scheduler& scheduler,
                    const orchestrator::EventDispatcher& dispatcher, Clock& clock) {
  server::MetricsText m;
  m.Family("dew_runs", "gauge", "Pipeline runs in the control store by status.");
  std::vector<std::string> running_ids;
  for (control::RunStatus s :
       {control::RunStatus::kQueued, control::RunStatus::kRunning, control::RunStatus::kSucceeded,
        control::RunStatus::kFailed, control::RunStatus::kCancelled}) {
    control::RunFilter filter;
    filter.status = s;
    filter.limit = 1 << 30;
    auto runs = store.ListRuns(filter);
    if (!runs.ok()) continue;
    m.Sample("dew_runs", static_cast<double>(runs->size()), {{"status", RunStatusName(s)}});
    if (s == control::RunStatus::kRunning) {
      for (const auto& r : *runs) running_ids.push_back(r.id);
    }
  }
  int64_t attempts_running = 0;
  for (const std::string& id : running_ids) {
    auto attempts = store.ListAttempts(id);
    if (!attempts.ok()) continue;
    for (const auto& a : *attempts) attempts_running += a.status == control::RunStatus::kRunning;
  }
  m.Family("dew_attempts_running", "gauge", "Task attempts running now.");
  m.Sample("dew_attempts_running", static_cast<double>(attempts_running));

  const orchestrator::SchedulerStats st = scheduler.stats();
  m.Family("dew_scheduler_ticks_total", "counter", "Scheduler ticks since start.");
  m.Sample("dew_scheduler_ticks_total", static_cast<double>(st.ticks));
  m.Family("dew_scheduler_last_tick_timestamp_seconds", "gauge",
           "Time of the last scheduler tick (Unix seconds).");
  m.Sample("dew_scheduler_last_tick_timestamp_seconds", st.last_tick_ms / 1000.0);
  m.Family("dew_scheduler_runs_fired_total", "counter", "Runs launched by the scheduler.");
  m.Sample("dew_scheduler_runs_fired_total", static_cast<double>(st.runs_fired));
  m.Family("dew_scheduler_fire_times_skipped_total", "counter",
           "Missed fire times skipped by the catch_up policy.");
  m.Sample("dew_scheduler_fire_times_skipped_total", static_cast<double>(st.fire_times_skipped));
  m.Family("dew_scheduler_launch_errors_total", "counter", "Runs the scheduler failed to launch.");
  m.Sample("dew_scheduler_launch_errors_total", static_cast<double>(st.launch_errors));
  m.Family("dew_scheduler_lag_seconds", "gauge",
           "How late the last scheduled run was launched after its fire time.");
  m.Sample("dew_scheduler_lag_seconds", st.last_lag_ms / 1000.0);
  m.Family("dew_scheduler_max_lag_seconds", "gauge", "The largest such lag since start.");
  m.Sample("dew_scheduler_max_lag_seconds", st.max_lag_ms / 1000.0);
  int64_t overdue_ms = 0;
  if (auto due = store.DueSchedules(clock.NowMillis()); due.ok() && !due->empty()) {
    overdue_ms = clock.NowMillis() - due->front().next_fire_at_ms;
  }
  m.Family("dew_scheduler_overdue_seconds", "gauge",
           "How far behind its fire time the most overdue schedule is now (0: none due).");
  m.Sample("dew_scheduler_overdue_seconds", overdue_ms / 1000.0);

  m.Family("dew_webhook_deliveries", "gauge", "Webhook deliveries in the control store by status.");
  int64_t dead = 0;
  for (control::DeliveryStatus s :
       {control::DeliveryStatus::kPending, control::DeliveryStatus::kDelivered,
        control::DeliveryStatus::kDead}) {
    control::DeliveryFilter filter;
    filter.status = s;
    filter.limit = 1 << 30;
    auto list = store.ListDeliveries(filter);
    if (!list.ok()) continue;
    if (s == control::DeliveryStatus::kDead) dead = static_cast<int64_t>(list->size());
    m.Sample("dew_webhook_deliveries", static_cast<double>(list->size()),
             {{"status", control::DeliveryStatusName(s)}});
  }
  m.Family("dew_webhook_dead_letters", "gauge", "Deliveries in the dead-letter list.");
  m.Sample("dew_webhook_dead_letters", static_cast<double>(dead));
  const orchestrator::EventDispatcherStats ds = dispatcher.stats();
  m.Family("dew_webhook_delivered_total", "counter", "Deliveries sent successfully since start.");
  m.Sample("dew_webhook_delivered_total", static_cast<double>(ds.delivered));
  m.Family("dew_webhook_failed_attempts_total", "counter",
           "Delivery attempts that failed since start.");
  m.Sample("dew_webhook_failed_attempts_total", static_cast<double>(ds.failed_attempts));
  return m.text();
}

}  // namespace

Status RunServe(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew serve [--port P] [--host H] [--workers N]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args,
                    {{"port", 0, true, "P",
                      "HTTP port for /healthz and /metrics (default 8484; "
                      "0: any free port, printed at start)"},
                     {"host", 0, true, "H", "address to listen on (default 127.0.0.1)"},
                     {"workers", 0, true, "N", "runs executed at once (default 2)"},
                     {"poll", 0, true, "MS", "longest scheduler sleep in ms (default 5000)"}},
                    usage,
                    "Runs the scheduler (pipelines/*.yml with a schedule:), executes the runs it "
                    "launches, delivers webhook events (webhooks/*.yml), and serves /healthz and "
                    "/metrics. Stops cleanly on SIGTERM or Ctrl-C."));
  if (!parsed.positional.empty()) return Status::InvalidArgument("usage: " + usage);
  DEW_ASSIGN_OR_RETURN(int64_t port, ParseCount(parsed.Get("port", "8484"), "--port"));
  if (port > 65535) return Status::InvalidArgument("--port must be 0-65535");
  DEW_ASSIGN_OR_RETURN(int64_t workers, ParseCount(parsed.Get("workers", "2"), "--workers"));
  if (workers < 1 || workers > 256) return Status::InvalidArgument("--workers must be 1-256");
  DEW_ASSIGN_OR_RETURN(int64_t poll, ParseCount(parsed.Get("poll", "5000"), "--poll"));
  if (poll < 10) return Status::InvalidArgument("--poll must be at least 10 (ms)");
  const std::string host = parsed.Get("host", "127.0.0.1");

  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  DEW_ASSIGN_OR_RETURN(orchestrator::LoadedPipelines pipelines, LoadProjectPipelines(ctx, project));
  // A broken webhook file stops the start: a subscriber must not silently miss its events.
  DEW_ASSIGN_OR_RETURN(std::vector<orchestrator::WebhookSpec> webhooks,
                       orchestrator::LoadWebhooks(JoinPath(project.root(), "webhooks"), ctx.fs()));
  auto clock = Clock::System();
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<PipelineRunner> runner,
                       PipelineRunner::Create(ctx, static_cast<int>(workers)));
  control::ControlStore* store = &runner->store();

  orchestrator::SchedulerOptions scheduler_options;
  scheduler_options.poll_interval_ms = poll;
  orchestrator::Scheduler scheduler(*store, clock, runner->Launcher(), scheduler_options);
  size_t scheduled = 0;
  for (const auto& spec : pipelines.specs) scheduled += spec.schedule.has_value();
  DEW_RETURN_IF_ERROR(scheduler.SetPipelines(std::move(pipelines.specs)));
  orchestrator::EventDispatcher dispatcher(*store, NewCurlHttpClient(), clock, webhooks,
                                           connectors::ProcessEnvironment());

  server::HttpEndpoint endpoint;
  const std::string store_kind = StoreKind(project.config().control);
  endpoint.Get("/healthz", [&]() {
    const orchestrator::SchedulerStats st = scheduler.stats();
    // The store answering is what "healthy" means: without it nothing can be scheduled.
    auto probe = store->ListSchedules();
    nlohmann::json body = {
        {"ok", probe.ok()},
        {"version", DewVersion()},
        {"store", store_kind},
        {"scheduler",
         {{"last_tick", st.last_tick_ms > 0
                            ? nlohmann::json(orchestrator::FormatUtcTime(st.last_tick_ms / 1000))
                            : nlohmann::json(nullptr)},
          {"last_tick_ms", st.last_tick_ms},
          {"ticks", st.ticks},
          {"schedules", probe.ok() ? probe->size() : 0}}}};
    if (!probe.ok()) body["error"] = probe.status().message();
    return server::HttpReply{probe.ok() ? 200 : 503, "application/json", body.dump()};
  });
  endpoint.Get("/metrics", [&]() {
    return server::HttpReply{200, "text/plain; version=0.0.4; charset=utf-8",
                             Metrics(*store, scheduler, dispatcher, *clock)};
  });
  StopSignals signals;
  DEW_ASSIGN_OR_RETURN(int bound, endpoint.Start(host, static_cast<int>(port)));
  std::fprintf(ctx.out(),
               "dew serve: listening on http://%s:%d (store %s, %zu scheduled pipelines, %zu "
               "webhooks, %lld workers)\n",
               host.c_str(), bound, store_kind.c_str(), scheduled, webhooks.size(),
               static_cast<long long>(workers));
  std::fflush(ctx.out());

  std::thread scheduler_thread(
      [&] { scheduler.Run([](const Status& s) { LogError("scheduler", s); }); });
  std::thread dispatcher_thread(
      [&] { dispatcher.Run([](const Status& s) { LogError("webhooks", s); }); });
  // pipelines/ is read again now and then, so an added, removed or re-scheduled pipeline takes
  // effect without a restart (SetPipelines writes only what changed).
  const auto reload_every = std::chrono::milliseconds(std::clamp<int64_t>(poll * 10, 1000, 30000));
  auto next_reload = std::chrono::steady_clock::now() + reload_every;
  std::string last_errors;  // printed at start already
  for (const Status& e : pipelines.errors) last_errors += e.message() + "\n";
  while (!g_stop_requested.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() < next_reload) continue;
    next_reload = std::chrono::steady_clock::now() + reload_every;
    auto reloaded = orchestrator::LoadPipelines(JoinPath(project.root(), "pipelines"), ctx.fs(),
                                                orchestrator::SystemTimeZoneLoader(ctx.fs()));
    if (!reloaded.ok()) {
      LogError("reloading pipelines", reloaded.status());
      continue;
    }
    std::string errors;
    for (const Status& e : reloaded->errors) errors += e.message() + "\n";
    if (errors != last_errors && !errors.empty())
      std::fprintf(stderr, "dew: warning: %s", errors.c_str());
    last_errors = errors;
    Status s = scheduler.SetPipelines(std::move(reloaded->specs));
    if (!s.ok()) LogError("reloading pipelines", s);
  }
  std::fprintf(stderr, "dew serve: stopping\n");
  scheduler.Stop();
  dispatcher.Stop();
  scheduler_thread.join();
  dispatcher_thread.join();
  endpoint.Stop();
  runner.reset();
  std::fprintf(stderr, "dew serve: stopped\n");
  return Status::OK();
}

}  // namespace dew::cli
