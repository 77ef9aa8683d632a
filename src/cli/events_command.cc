// dew events list [--dead] | replay ID: webhook deliveries of events (data_ready) as the
// control store holds them, and putting a dead one back in line.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/command_context.h"
#include "cli/pipeline_runs.h"
#include "orchestrator/scheduler.h"

namespace dew::cli {
namespace {

using engine::TextTable;
using engine::TypeId;

Status RunEventsList(CommandContext& ctx, const std::vector<std::string>& args) {
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(
          ctx, args,
          {{"dead", 0, false, "", "only the dead-letter list (failed max_attempts times)"},
           {"limit", 0, true, "N", "at most N deliveries, newest first (default 100)"}},
          "dew events list [--dead] [--limit N]",
          "Lists webhook deliveries of events, newest first: the event, its dataset, "
          "the webhook, status (pending, delivered, dead), attempts, the next attempt "
          "and the last error."));
  if (!parsed.positional.empty()) {
    return Status::InvalidArgument("usage: dew events list [--dead] [--limit N]");
  }
  DEW_ASSIGN_OR_RETURN(int64_t limit, ParseCount(parsed.Get("limit", "100"), "--limit"));
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<control::ControlStore> store, ctx.OpenControlStore());
  control::DeliveryFilter filter;
  filter.limit = static_cast<int>(std::min<int64_t>(limit, 1000000));
  if (parsed.Has("dead")) filter.status = control::DeliveryStatus::kDead;
  DEW_ASSIGN_OR_RETURN(std::vector<control::DeliveryRecord> deliveries,
                       store->ListDeliveries(filter));
  TextTable t;
  t.names = {"id",      "event_id", "event",    "dataset",      "run_id",
             "webhook", "status",   "attempts", "next_attempt", "last_error"};
  const auto text = TypeOf(TypeId::kVarchar);
  const auto number = TypeOf(TypeId::kBigInt);
  t.types = {number, number, text, text, text, text, text, number, text, text};
  for (const control::DeliveryRecord& d : deliveries) {
    std::string kind, dataset, run_id;
    auto event = store->GetEvent(d.event_id);
    if (event.ok()) {
      kind = event->kind;
      auto payload = nlohmann::json::parse(event->payload_json, nullptr, false);
      if (payload.is_object()) {
        dataset = payload.value("dataset", "");
        run_id = payload.value("run_id", "");
      }
    }
    std::optional<std::string> next;
    if (d.status == control::DeliveryStatus::kPending) {
      next = orchestrator::FormatUtcTime(d.next_attempt_at_ms / 1000);
    }
    t.rows.push_back(
        {std::to_string(d.id), std::to_string(d.event_id), kind, dataset, run_id, d.webhook,
         std::string(control::DeliveryStatusName(d.status)), std::to_string(d.attempts), next,
         d.last_error.empty() ? std::nullopt : std::optional<std::string>(d.last_error)});
  }
  return ctx.Print(t);
}

Status RunEventsReplay(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew events replay ID";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, {}, usage,
                    "Puts delivery ID (see dew events list --dead) back to pending with its "
                    "attempts reset; dew serve sends it on its next pass."));
  if (parsed.positional.size() != 1) return Status::InvalidArgument("usage: " + usage);
  DEW_ASSIGN_OR_RETURN(int64_t id, ParseCount(parsed.positional[0], "delivery id"));
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<control::ControlStore> store, ctx.OpenControlStore());
  DEW_RETURN_IF_ERROR(store->ReplayDelivery(id));
  std::fprintf(ctx.out(), "delivery %lld is pending again\n", static_cast<long long>(id));
  return Status::OK();
}

}  // namespace

Status RunEvents(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "usage: dew events list [--dead] [--limit N] | dew events replay ID";
  if (args.empty()) return Status::InvalidArgument(usage);
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "list") return RunEventsList(ctx, rest);
  if (args[0] == "replay") return RunEventsReplay(ctx, rest);
  if (args[0] == "--help" || args[0] == "-h") {
    std::fprintf(ctx.out(),
                 "%s\n\nWebhook deliveries of events (data_ready): list them, "
                 "replay a dead one.\n",
                 usage.c_str());
    return HelpShown();
  }
  return Status::InvalidArgument(usage + " (unknown subcommand '" + args[0] + "')");
}

}  // namespace dew::cli
