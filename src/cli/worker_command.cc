// dew worker [--concurrency N] [--id NAME]: executes queued task attempts of the project's
// control store until SIGTERM or SIGINT. Several workers (processes, machines on PostgreSQL)
// share one store; a worker that dies is noticed by the others through its missing heartbeats.
#include <signal.h>

#include <cstdio>

#include "cli/command_context.h"
#include "cli/worker_setup.h"

namespace dew::cli {

Status RunWorker(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew worker [--concurrency N] [--id NAME] [--stale-after-ms MS]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(
          ctx, args,
          {{"concurrency", 'c', true, "N", "tasks at once (default 4)"},
           {"id", 0, true, "NAME", "worker name recorded on its attempts (default host-pid)"},
           {"stale-after-ms", 0, true, "MS",
            "fail attempts whose worker has not heartbeaten for MS (default 30000)"}},
          usage,
          "Runs queued tasks of the project's pipelines until SIGTERM or SIGINT. On start and\n"
          "every few seconds it fails attempts of workers that stopped heartbeating, which are\n"
          "then retried by their task's policy. On SIGTERM running tasks are stopped and\n"
          "recorded as failed (retried by policy)."));
  if (!parsed.positional.empty())
    return Status::InvalidArgument("unexpected argument\nusage: " + usage);
  int concurrency = 4;
  if (parsed.Has("concurrency")) {
    DEW_ASSIGN_OR_RETURN(int64_t n, ParseCount(parsed.Get("concurrency"), "--concurrency"));
    if (n < 1 || n > 1024) return Status::InvalidArgument("--concurrency must be 1..1024");
    concurrency = static_cast<int>(n);
  }
  int64_t stale_after = 0;
  if (parsed.Has("stale-after-ms")) {
    DEW_ASSIGN_OR_RETURN(stale_after, ParseCount(parsed.Get("stale-after-ms"), "--stale-after-ms"));
    if (stale_after < 100) return Status::InvalidArgument("--stale-after-ms must be at least 100");
  }
  const std::string id = parsed.Has("id") ? parsed.Get("id") : DefaultWorkerId();
  // Block the stop signals before any thread starts, so they all inherit the mask and only
  // sigwait below sees them (children get a clean mask from the process runner).
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  DEW_ASSIGN_OR_RETURN(auto setup, OpenWorkerSetup(ctx));
  auto executor = MakeExecutor(*setup, id, concurrency, stale_after);
  DEW_RETURN_IF_ERROR(executor->Start());
  std::fprintf(ctx.out(), "worker %s started (concurrency %d)\n", id.c_str(), concurrency);
  std::fflush(ctx.out());
  int sig = 0;
  sigwait(&stop, &sig);
  std::fprintf(stderr, "dew worker %s: %s, stopping\n", id.c_str(),
               sig == SIGTERM ? "SIGTERM" : "SIGINT");
  executor->Stop(/*cancel_running=*/true);
  const orchestrator::ExecutorStats st = executor->stats();
  std::fprintf(ctx.out(),
               "worker %s stopped: %lld claimed, %lld succeeded, %lld failed, %lld cancelled, "
               "%lld stale attempts of other workers failed, %lld of their results recovered\n",
               id.c_str(), static_cast<long long>(st.claimed), static_cast<long long>(st.succeeded),
               static_cast<long long>(st.failed), static_cast<long long>(st.cancelled),
               static_cast<long long>(st.stale_failed), static_cast<long long>(st.recovered));
  return Status::OK();
}

}  // namespace dew::cli
