// dew run PIPELINE [--param k=v]… [--wait] | dew run show|cancel|logs|rollback ID | dew runs:
// starting pipeline runs and looking at them. Without --wait a run is only enqueued in the control
// store and `dew worker` / `dew serve` execute it; with --wait this process executes it.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/command_context.h"
#include "cli/worker_setup.h"
#include "lake/lakehouse.h"
#include "orchestrator/attempt_log.h"
#include "orchestrator/run_writes.h"

namespace dew::cli {
namespace {

using control::AttemptRecord;
using control::RunRecord;
using control::RunStatus;
using engine::TextTable;
using engine::TypeId;
using orchestrator::FormatTimestamp;

const engine::LogicalType kText = TypeOf(TypeId::kVarchar);
const engine::LogicalType kNumber = TypeOf(TypeId::kBigInt);

std::string Time(const std::optional<int64_t>& ms) {
  return ms ? FormatTimestamp(*ms) : std::string();
}

std::string Seconds(const std::optional<int64_t>& from, const std::optional<int64_t>& to) {
  if (!from || !to) return "";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(*to - *from) / 1000.0);
  return buf;
}

//! Run ids become folder names under .dew/logs: refuse anything but UUID-like text.
Status CheckRunId(const std::string& id) {
  const bool ok = !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  if (!ok) return Status::InvalidArgument("'" + id + "' is not a run id (see dew runs)");
  return Status::OK();
}

TextTable AttemptsTable(const std::vector<AttemptRecord>& attempts) {
  TextTable t;
  t.names = {"task",     "attempt", "status",    "worker",       "started",
             "finished", "seconds", "rows_read", "rows_written", "error"};
  t.types = {kText, kNumber, kText, kText, kText, kText, kText, kNumber, kNumber, kText};
  std::vector<AttemptRecord> sorted = attempts;
  // Run order: by start (queued and skipped ones last), then task and attempt.
  std::stable_sort(
      sorted.begin(), sorted.end(), [](const AttemptRecord& a, const AttemptRecord& b) {
        const int64_t sa = a.started_at_ms.value_or(INT64_MAX);
        const int64_t sb = b.started_at_ms.value_or(INT64_MAX);
        return sa != sb ? sa < sb : (a.task != b.task ? a.task < b.task : a.attempt < b.attempt);
      });
  for (const AttemptRecord& a : sorted) {
    t.rows.push_back({a.task, std::to_string(a.attempt), std::string(RunStatusName(a.status)),
                      a.worker, Time(a.started_at_ms), Time(a.finished_at_ms),
                      Seconds(a.started_at_ms, a.finished_at_ms), std::to_string(a.rows_read),
                      std::to_string(a.rows_written), a.error});
  }
  return t;
}

TextTable RunsTable(const std::vector<RunRecord>& runs) {
  TextTable t;
  t.names = {"id",           "pipeline", "status",  "trigger", "triggered_by",
             "logical_date", "created",  "started", "seconds", "error"};
  t.types = {kText, kText, kText, kText, kText, kText, kText, kText, kText, kText};
  for (const RunRecord& r : runs) {
    t.rows.push_back({r.id, r.pipeline, std::string(RunStatusName(r.status)),
                      std::string(TriggerKindName(r.trigger)), r.triggered_by, r.logical_date,
                      FormatTimestamp(r.created_at_ms), Time(r.started_at_ms),
                      Seconds(r.started_at_ms, r.finished_at_ms), r.error});
  }
  return t;
}

nlohmann::json ParamsObject(const std::string& params_json) {
  nlohmann::json j =
      nlohmann::json::parse(params_json.empty() ? "{}" : params_json, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

Result<orchestrator::PipelineSpec> LoadPipeline(CommandContext& ctx, const std::string& name) {
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  // A path to a file is accepted too (a one-off run of a pipeline outside pipelines/).
  auto ends_with = [&](const std::string& ext) {
    return name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (name.find('/') != std::string::npos || ends_with(".yml") || ends_with(".yaml")) {
    return orchestrator::PipelineSpec::ParseFile(lake::AbsolutePath(name, ctx.cwd()), ctx.fs(),
                                                 orchestrator::SystemTimeZoneLoader(ctx.fs()));
  }
  return orchestrator::ProjectPipelineResolver(project.root(), ctx.shared_fs())(name);
}

//! Runs an in-process executor until the run ends; prints its tasks; fails when it did not
//! succeed.
Status WaitForRun(CommandContext& ctx, WorkerSetup& setup, const std::string& run_id,
                  int concurrency) {
  auto executor = MakeExecutor(setup, "cli-" + DefaultWorkerId(), concurrency, 0);
  DEW_RETURN_IF_ERROR(executor->Start());
  Result<RunRecord> run = Status::Internal("not read");
  for (;;) {
    run = setup.store->GetRun(run_id);
    if (!run.ok() || IsFinished(run->status)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  executor->Stop(false);
  DEW_RETURN_IF_ERROR(run.status());
  DEW_ASSIGN_OR_RETURN(auto attempts, setup.store->ListAttempts(run_id));
  DEW_RETURN_IF_ERROR(ctx.Print(AttemptsTable(attempts)));
  if (run->status == RunStatus::kSucceeded) return Status::OK();
  return Status::IOError("run " + run_id + " of pipeline " + run->pipeline + " " +
                         RunStatusName(run->status) +
                         (run->error.empty() ? "" : ": " + run->error));
}

Status RunStart(CommandContext& ctx, std::vector<std::string> args) {
  const std::string usage = "dew run PIPELINE [--param NAME=VALUE]... [--wait] [--concurrency N]";
  // --param repeats, which the option parser does not keep: take them out first.
  std::map<std::string, std::string> params;
  for (size_t i = 0; i < args.size();) {
    std::string value;
    if ((args[i] == "--param" || args[i] == "-p") && i + 1 < args.size()) {
      value = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
    } else if (args[i].rfind("--param=", 0) == 0) {
      value = args[i].substr(8);
      args.erase(args.begin() + static_cast<long>(i));
    } else {
      ++i;
      continue;
    }
    const size_t eq = value.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("--param " + value + ": expected NAME=VALUE");
    }
    params[value.substr(0, eq)] = value.substr(eq + 1);
  }
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(
          ctx, args,
          {{"param", 'p', true, "NAME=VALUE", "override a pipeline parameter (repeatable)"},
           {"wait", 'w', false, "", "execute the run in this process until it ends"},
           {"concurrency", 'c', true, "N", "tasks at once with --wait (default 4)"}},
          usage,
          "Starts a run of pipelines/PIPELINE.yml (or of a pipeline file). Without\n"
          "--wait the run is enqueued and its id printed; dew worker or dew serve\n"
          "executes it. With --wait it runs here and the exit code says whether it\n"
          "succeeded. Also: dew run show ID, dew run cancel ID, dew run logs ID [-f],\n"
          "dew run rollback ID [--force]."));
  if (parsed.positional.size() != 1) {
    return Status::InvalidArgument("give one pipeline\nusage: " + usage);
  }
  int concurrency = 4;
  if (parsed.Has("concurrency")) {
    DEW_ASSIGN_OR_RETURN(int64_t n, ParseCount(parsed.Get("concurrency"), "--concurrency"));
    if (n < 1 || n > 1024) return Status::InvalidArgument("--concurrency must be 1..1024");
    concurrency = static_cast<int>(n);
  }
  DEW_ASSIGN_OR_RETURN(orchestrator::PipelineSpec spec, LoadPipeline(ctx, parsed.positional[0]));
  DEW_ASSIGN_OR_RETURN(auto setup, OpenWorkerSetup(ctx));
  orchestrator::StartRunRequest req;
  req.params = params;
  req.trigger = control::TriggerKind::kUser;
  req.triggered_by = ctx.User();
  req.run_id = ctx.options().run_id;
  DEW_ASSIGN_OR_RETURN(std::string run_id, setup->coordinator->StartRun(spec, req));
  {
    DEW_ASSIGN_OR_RETURN(RunRecord run, setup->store->GetRun(run_id));
    nlohmann::json details = {
        {"pipeline", spec.name}, {"trigger", "user"}, {"params", ParamsObject(run.params_json)}};
    auto audited = setup->store->AppendAudit(ctx.User(), "run.start", run_id, details.dump());
    if (!audited.ok()) return audited.status().WithContext("run " + run_id + " started");
  }
  if (!parsed.Has("wait")) {
    std::fprintf(ctx.out(), "%s\n", run_id.c_str());
    return Status::OK();
  }
  std::fprintf(stderr, "dew: run %s of pipeline %s started\n", run_id.c_str(), spec.name.c_str());
  return WaitForRun(ctx, *setup, run_id, concurrency);
}

Status RunShow(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew run show ID";
  DEW_ASSIGN_OR_RETURN(ParsedArgs parsed,
                       ParseVerbArgs(ctx, args, {}, usage,
                                     "Shows a run: who started it, its params, and every task "
                                     "attempt\nwith status, times, rows and errors."));
  if (parsed.positional.size() != 1)
    return Status::InvalidArgument("give one run id\nusage: " + usage);
  const std::string& id = parsed.positional[0];
  DEW_RETURN_IF_ERROR(CheckRunId(id));
  DEW_ASSIGN_OR_RETURN(auto store, ctx.OpenControlStore());
  DEW_ASSIGN_OR_RETURN(RunRecord run, store->GetRun(id));
  DEW_ASSIGN_OR_RETURN(auto attempts, store->ListAttempts(id));
  TextTable head;
  head.names = {"field", "value"};
  head.types = {kText, kText};
  auto add = [&](const std::string& k, const std::string& v) { head.rows.push_back({k, v}); };
  add("run", run.id);
  add("pipeline", run.pipeline);
  add("status", RunStatusName(run.status));
  add("trigger", TriggerKindName(run.trigger));
  add("triggered_by", run.triggered_by);
  add("params", run.params_json);
  add("logical_date", run.logical_date);
  add("created", FormatTimestamp(run.created_at_ms));
  add("started", Time(run.started_at_ms));
  add("finished", Time(run.finished_at_ms));
  add("seconds", Seconds(run.started_at_ms, run.finished_at_ms));
  add("error", run.error);
  DEW_RETURN_IF_ERROR(ctx.Print(head));
  return ctx.Print(AttemptsTable(attempts));
}

Status RunCancel(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew run cancel ID";
  DEW_ASSIGN_OR_RETURN(ParsedArgs parsed,
                       ParseVerbArgs(ctx, args, {}, usage,
                                     "Cancels a queued or running run: workers running its tasks "
                                     "stop them\n(process groups killed, queries interrupted) "
                                     "and its remaining tasks are skipped."));
  if (parsed.positional.size() != 1)
    return Status::InvalidArgument("give one run id\nusage: " + usage);
  const std::string& id = parsed.positional[0];
  DEW_RETURN_IF_ERROR(CheckRunId(id));
  DEW_ASSIGN_OR_RETURN(auto setup, OpenWorkerSetup(ctx));
  DEW_ASSIGN_OR_RETURN(RunRecord before, setup->store->GetRun(id));
  DEW_RETURN_IF_ERROR(setup->coordinator->CancelRun(id, ctx.User()));
  nlohmann::json details = {{"pipeline", before.pipeline},
                            {"was", control::RunStatusName(before.status)}};
  auto audited = setup->store->AppendAudit(ctx.User(), "run.cancel", id, details.dump());
  if (!audited.ok()) return audited.status().WithContext("run " + id + " cancelled");
  std::fprintf(ctx.out(), "cancelled run %s\n", id.c_str());
  return Status::OK();
}

void PrintLogLine(std::FILE* out, const orchestrator::LogLine& l) {
  std::string extra;
  if (l.rows) extra += " rows=" + std::to_string(*l.rows);
  if (l.percent) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), " %.1f%%", *l.percent);
    extra += buf;
  }
  std::fprintf(out, "%s %-5s %s.%d %s%s\n", l.ts.c_str(), l.level.c_str(), l.task.c_str(),
               l.attempt, l.msg.c_str(), extra.c_str());
}

Status RunLogs(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew run logs ID [-f]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, {{"follow", 'f', false, "", "keep printing until the run ends"}},
                    usage,
                    "Prints a run's task logs (JSON lines in .dew/logs/<run>/), oldest first;\n"
                    "with --format json the lines are printed as they are stored."));
  if (parsed.positional.size() != 1)
    return Status::InvalidArgument("give one run id\nusage: " + usage);
  const std::string& id = parsed.positional[0];
  DEW_RETURN_IF_ERROR(CheckRunId(id));
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  DEW_ASSIGN_OR_RETURN(auto store, ctx.OpenControlStore());
  DEW_ASSIGN_OR_RETURN(RunRecord run, store->GetRun(id));
  const bool json = ctx.options().format == "json";
  orchestrator::RunLogReader reader(JoinPath(project.state_dir(), "logs"), id);
  auto print = [&](const std::vector<orchestrator::LogLine>& lines) {
    for (const auto& l : lines) {
      if (json) {
        nlohmann::json j = {{"ts", l.ts},     {"level", l.level},     {"run", l.run},
                            {"task", l.task}, {"attempt", l.attempt}, {"msg", l.msg}};
        if (l.rows) j["rows"] = *l.rows;
        if (l.percent) j["percent"] = *l.percent;
        std::fprintf(ctx.out(), "%s\n",
                     j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      } else {
        PrintLogLine(ctx.out(), l);
      }
    }
    std::fflush(ctx.out());
  };
  DEW_ASSIGN_OR_RETURN(auto lines, reader.ReadNew());
  print(lines);
  if (!parsed.Has("follow")) return Status::OK();
  bool finished = IsFinished(run.status);
  while (!finished) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    DEW_ASSIGN_OR_RETURN(run, store->GetRun(id));
    finished = IsFinished(run.status);
    if (finished) {
      // Running attempts of a cancelled run write their last lines just after; give them time.
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    DEW_ASSIGN_OR_RETURN(lines, reader.ReadNew());
    print(lines);
  }
  std::fprintf(stderr, "dew: run %s %s\n", id.c_str(), RunStatusName(run.status));
  return Status::OK();
}

Status RunRollback(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew run rollback ID [--force]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args,
                    {{"force", 0, false, "",
                      "roll back even when later runs wrote the same tables (their writes are "
                      "undone too)"}},
                    usage,
                    "Returns every lake table run ID wrote to its version before the run, as new\n"
                    "commits (history is kept, so a rollback can itself be rolled back). The\n"
                    "tables are found by the run id their commits carry. Refused when a later run\n"
                    "wrote one of them since, unless --force. Recorded in the audit log."));
  if (parsed.positional.size() != 1) {
    return Status::InvalidArgument("give one run id\nusage: " + usage);
  }
  const std::string& id = parsed.positional[0];
  DEW_RETURN_IF_ERROR(CheckRunId(id));
  DEW_ASSIGN_OR_RETURN(auto store, ctx.OpenControlStore());
  DEW_ASSIGN_OR_RETURN(RunRecord run, store->GetRun(id));
  if (!IsFinished(run.status)) {
    return Status::InvalidArgument("run " + id + " is " + RunStatusName(run.status) +
                                   "; cancel it (dew run cancel " + id +
                                   ") before rolling it back");
  }
  DEW_ASSIGN_OR_RETURN(auto lake, ctx.OpenLakehouse());
  DEW_ASSIGN_OR_RETURN(auto writes, orchestrator::FindRunWrites(*lake, id, run.created_at_ms));
  if (writes.empty()) {
    std::fprintf(ctx.out(), "run %s wrote no lake table: nothing to roll back\n", id.c_str());
    return Status::OK();
  }
  const bool force = parsed.Has("force");
  std::string conflicts;
  for (const auto& w : writes) {
    if (w.later_writes.empty()) continue;
    std::string by;
    for (const std::string& v : w.later_writes) {
      const size_t colon = v.find(':');
      const std::string run_of = v.substr(colon + 1);
      by += (by.empty() ? "" : ", ") + std::string("version ") + v.substr(0, colon) + " by " +
            (run_of.empty() ? "a writer without run id" : "run " + run_of);
    }
    conflicts += "\n  " + w.table.ToString() + ": " + by;
  }
  if (!conflicts.empty() && !force) {
    return Status::InvalidArgument(
        "run " + id + " cannot be rolled back: later writes to its tables would be undone too:" +
        conflicts + "\nroll back those runs first, or use --force");
  }
  TextTable t;
  t.names = {"table", "operation", "version", "restored_version", "rows_added", "rows_removed"};
  t.types = {kText, kText, kNumber, kNumber, kNumber, kNumber};
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& w : writes) {
    DEW_ASSIGN_OR_RETURN(auto table, lake->OpenTable(w.table));
    lake::WriteOptions o = lake->NewWriteOptions();
    o.parameters["rollbackOf"] = id;
    Result<lake::CommitResult> r = Status::Internal("not written");
    std::string operation;
    if (w.version_before >= 0) {
      r = table->Restore(w.version_before, o);
      operation = "RESTORE";
    } else {
      // The run created the table: before it there were no rows.
      r = table->DeleteWhere("true", o);
      operation = "DELETE (created by the run)";
    }
    if (!r.ok()) {
      return r.status().WithContext("rolling back " + w.table.ToString() + " (tables before it " +
                                    "in this list are rolled back already)");
    }
    DEW_RETURN_IF_ERROR(lake->RefreshView(w.table));
    t.rows.push_back({w.table.ToString(), operation, std::to_string(r->version),
                      std::to_string(w.version_before), std::to_string(r->rows_added),
                      std::to_string(r->rows_removed)});
    tables.push_back({{"table", w.table.ToString()},
                      {"run_versions", w.versions},
                      {"restored_version", w.version_before},
                      {"new_version", r->version}});
  }
  nlohmann::json details = {{"pipeline", run.pipeline},
                            {"tables", tables},
                            {"force", force},
                            {"rollback_run_id", lake->run_id()}};
  if (!conflicts.empty()) details["undone_later_writes"] = conflicts.substr(3);
  auto audited = store->AppendAudit(ctx.User(), "run.rollback", id, details.dump());
  DEW_RETURN_IF_ERROR(ctx.Print(t));
  if (!audited.ok()) {
    return audited.status().WithContext(
        "the tables are rolled back, but the audit entry was not "
        "recorded");
  }
  return Status::OK();
}

}  // namespace

Status RunRun(CommandContext& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) {
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args[0] == "show") return RunShow(ctx, rest);
    if (args[0] == "cancel") return RunCancel(ctx, rest);
    if (args[0] == "logs") return RunLogs(ctx, rest);
    if (args[0] == "rollback") return RunRollback(ctx, rest);
  }
  return RunStart(ctx, args);
}

Status RunRuns(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew runs [--pipeline P] [--status S] [--limit N]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args,
                    {{"pipeline", 0, true, "P", "only runs of pipeline P"},
                     {"status", 's', true, "S", "queued, running, succeeded, failed or cancelled"},
                     {"limit", 'n', true, "N", "at most N runs (default 20)"}},
                    usage, "Lists runs, newest first."));
  control::RunFilter filter;
  filter.pipeline = parsed.Get("pipeline");
  filter.limit = 20;
  if (parsed.Has("status")) {
    DEW_ASSIGN_OR_RETURN(RunStatus s, control::ParseRunStatus(parsed.Get("status")));
    filter.status = s;
  }
  if (parsed.Has("limit")) {
    DEW_ASSIGN_OR_RETURN(int64_t n, ParseCount(parsed.Get("limit"), "--limit"));
    filter.limit = static_cast<int>(std::min<int64_t>(n, 1000000));
  }
  DEW_ASSIGN_OR_RETURN(auto store, ctx.OpenControlStore());
  DEW_ASSIGN_OR_RETURN(auto runs, store->ListRuns(filter));
  return ctx.Print(RunsTable(runs));
}

}  // namespace dew::cli
