// dew schedule list, dew backfill: pipeline schedules as the control store holds them, and one
// run per logical date over a range.
#include <cstdio>
#include <cstdlib>

#include "cli/command_context.h"
#include "cli/pipeline_runs.h"
#include "core/clock.h"
#include "orchestrator/backfill.h"
#include "orchestrator/scheduler.h"

namespace dew::cli {
namespace {

using engine::TextTable;
using engine::TypeId;

Status RunScheduleList(CommandContext& ctx, const std::vector<std::string>& args) {
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, {}, "dew schedule list",
                    "Lists the scheduled pipelines (pipelines/*.yml with a schedule:): cron, time "
                    "zone, the next fire time in local time and UTC as the control store holds "
                    "it (what dew serve will fire next), and the catch-up policy for times "
                    "missed while no scheduler ran."));
  if (!parsed.positional.empty()) {
    return Status::InvalidArgument("usage: dew schedule list (takes no arguments)");
  }
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  DEW_ASSIGN_OR_RETURN(orchestrator::LoadedPipelines loaded, LoadProjectPipelines(ctx, project));
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<control::ControlStore> store, ctx.OpenControlStore());
  DEW_ASSIGN_OR_RETURN(std::vector<control::ScheduleRecord> stored, store->ListSchedules());
  const int64_t now_s = Clock::System()->NowMillis() / 1000;
  TextTable t;
  t.names = {"pipeline", "cron", "timezone", "next_fire", "next_fire_utc", "catch_up"};
  t.types = std::vector<engine::LogicalType>(6, TypeOf(TypeId::kVarchar));
  for (const orchestrator::PipelineSpec& spec : loaded.specs) {
    if (!spec.schedule) continue;
    const std::string cron = spec.schedule->ToString();
    std::optional<int64_t> next_s;
    for (const control::ScheduleRecord& r : stored) {
      // A stored time only counts while it belongs to the cron and zone in the file.
      if (r.pipeline == spec.name && r.cron == cron && r.timezone == spec.timezone) {
        next_s = r.next_fire_at_ms / 1000;
      }
    }
    std::string note;
    if (!next_s) {
      auto next = spec.schedule->NextAfter(now_s, spec.time_zone);
      if (!next.ok()) return next.status().WithContext("pipeline " + spec.name);
      next_s = *next;
      note = " (not yet stored: dew serve stores it when it starts)";
    } else if (*next_s <= now_s) {
      note = " (due)";
    }
    t.rows.push_back({spec.name, cron, spec.timezone,
                      orchestrator::FormatLocalTime(*next_s, spec.time_zone) + note,
                      orchestrator::FormatUtcTime(*next_s),
                      std::string(orchestrator::CatchUpName(spec.catch_up))});
  }
  return ctx.Print(t);
}

}  // namespace

Status RunSchedule(CommandContext& ctx, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "list") {
    return RunScheduleList(
        ctx, args.empty() ? args : std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (args[0] == "--help" || args[0] == "-h") {
    std::fputs("usage: dew schedule list\n\nLists pipeline schedules and their next fire times.\n",
               ctx.out());
    return HelpShown();
  }
  return Status::InvalidArgument("usage: dew schedule list (unknown subcommand '" + args[0] + "')");
}

Status RunBackfill(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage =
      "dew backfill PIPELINE --from YYYY-MM-DD --to YYYY-MM-DD [--step day|week|month] "
      "[--parallel N] [--no-wait]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(
          ctx, args,
          {{"from", 0, true, "DATE", "first logical date (inclusive)"},
           {"to", 0, true, "DATE", "last logical date (inclusive)"},
           {"step", 0, true, "STEP", "day (default), week or month"},
           {"parallel", 0, true, "N", "runs at once (default 1)"},
           {"no-wait", 0, false, "", "queue the runs for dew serve / dew worker and return"}},
          usage,
          "Runs PIPELINE once per logical date from --from to --to, with the date as "
          "params.logical_date and the period (2025-03-01, 2025-W09, 2025-03) as params.period "
          "where the pipeline declares them. Resumable: run the same command again and dates "
          "that already succeeded are skipped, failed ones are run again."));
  if (parsed.positional.size() != 1) return Status::InvalidArgument("usage: " + usage);
  if (!parsed.Has("from") || !parsed.Has("to")) {
    return Status::InvalidArgument("usage: " + usage + " (--from and --to are required)");
  }
  DEW_ASSIGN_OR_RETURN(orchestrator::CivilDate from,
                       orchestrator::ParseCivilDate(parsed.Get("from"), "--from"));
  DEW_ASSIGN_OR_RETURN(orchestrator::CivilDate to,
                       orchestrator::ParseCivilDate(parsed.Get("to"), "--to"));
  DEW_ASSIGN_OR_RETURN(orchestrator::BackfillStep step,
                       orchestrator::ParseBackfillStep(parsed.Get("step", "day")));
  DEW_ASSIGN_OR_RETURN(int64_t parallel, ParseCount(parsed.Get("parallel", "1"), "--parallel"));
  if (parallel < 1 || parallel > 1000) {
    return Status::InvalidArgument("--parallel must be 1-1000, got " + std::to_string(parallel));
  }
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  DEW_ASSIGN_OR_RETURN(orchestrator::PipelineSpec spec,
                       LoadProjectPipeline(ctx, project, parsed.positional[0]));
  orchestrator::BackfillOptions options;
  options.pipeline = spec.name;
  DEW_ASSIGN_OR_RETURN(options.dates, orchestrator::BackfillDates(from, to, step));
  options.parallel = static_cast<int>(parallel);
  options.triggered_by = ctx.User();
  options.wait = !parsed.Has("no-wait");
  options.on_progress = [](const orchestrator::BackfillDate& date, const std::string& outcome,
                           const std::string& run_id) {
    std::fprintf(stderr, "%s %s%s\n", date.period.c_str(), outcome.c_str(),
                 run_id.empty() ? "" : (" (run " + run_id + ")").c_str());
  };
  // --no-wait only queues: the runs are then executed by dew serve or dew worker.
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<PipelineRunner> runner,
                       PipelineRunner::Create(ctx, options.wait ? options.parallel : 0));
  auto clock = Clock::System();
  DEW_ASSIGN_OR_RETURN(
      orchestrator::BackfillResult result,
      orchestrator::RunBackfill(spec, options, runner->store(), *clock, runner->Launcher()));
  TextTable t;
  t.names = {"pipeline", "dates", "launched", "skipped", "succeeded", "failed"};
  t.types = {TypeOf(TypeId::kVarchar), TypeOf(TypeId::kBigInt), TypeOf(TypeId::kBigInt),
             TypeOf(TypeId::kBigInt),  TypeOf(TypeId::kBigInt), TypeOf(TypeId::kBigInt)};
  t.rows.push_back({spec.name, std::to_string(options.dates.size()),
                    std::to_string(result.launched), std::to_string(result.skipped),
                    std::to_string(result.succeeded), std::to_string(result.failed)});
  DEW_RETURN_IF_ERROR(ctx.Print(t));
  if (result.failed > 0) {
    std::string dates;
    for (size_t i = 0; i < result.failed_dates.size() && i < 10; i++) {
      dates += (i ? ", " : "") + result.failed_dates[i];
    }
    if (result.failed_dates.size() > 10) dates += ", ...";
    return Status::IOError("backfill of " + spec.name + ": " + std::to_string(result.failed) +
                           " of " + std::to_string(options.dates.size()) + " dates failed (" +
                           dates + "); run the same command again to retry them");
  }
  return Status::OK();
}

}  // namespace dew::cli
