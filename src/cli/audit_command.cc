// dew audit list [--since T] [--limit N] | dew audit verify: reading the control store's
// append-only, hash-chained audit log (who started, cancelled or rolled back which run, …) and
// checking that no entry was changed, removed or reordered since it was written.
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "cli/command_context.h"
#include "core/time_zone.h"
#include "orchestrator/attempt_log.h"

namespace dew::cli {
namespace {

using engine::TextTable;
using engine::TypeId;

constexpr int kPage = 1000;

//! --since: "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ", as UTC milliseconds.
Result<int64_t> ParseSince(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  const bool date_only =
      text.size() == 10 && std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &mo, &d, &tail) == 3;
  const bool date_time = text.size() == 20 &&
                         std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h,
                                     &mi, &s, &tail) == 7 &&
                         tail == 'Z';
  if (!date_only && !date_time) {
    return Status::InvalidArgument("--since: bad time '" + text +
                                   "' (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, in UTC)");
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) {
    return Status::InvalidArgument("--since: no such time '" + text + "'");
  }
  return ((DaysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60 * 1000 +
         static_cast<int64_t>(s) * 1000;
}

Status RunAuditList(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew audit list [--since T] [--limit N]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args,
                    {{"since", 0, true, "T",
                      "only entries at or after T (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)"},
                     {"limit", 0, true, "N", "the last N entries (default 100)"}},
                    usage,
                    "Lists audit log entries, oldest first: id, time, actor (a user, "
                    "\"schedule\" or \"backfill\"), action (run.start, run.cancel, "
                    "run.rollback), target and details. Does not check the chain: see dew "
                    "audit verify."));
  if (!parsed.positional.empty()) return Status::InvalidArgument("usage: " + usage);
  DEW_ASSIGN_OR_RETURN(int64_t limit, ParseCount(parsed.Get("limit", "100"), "--limit"));
  int64_t since_ms = 0;
  if (parsed.Has("since")) {
    DEW_ASSIGN_OR_RETURN(since_ms, ParseSince(parsed.Get("since")));
  }
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<control::ControlStore> store, ctx.OpenControlStore());
  // The log is read in id order and only its last `limit` matching entries kept.
  std::deque<control::AuditEntry> kept;
  int64_t after = 0;
  for (;;) {
    DEW_ASSIGN_OR_RETURN(std::vector<control::AuditEntry> page, store->ListAudit(after, kPage));
    if (page.empty()) break;
    after = page.back().id;
    for (control::AuditEntry& e : page) {
      if (e.at_ms < since_ms) continue;
      kept.push_back(std::move(e));
      if (static_cast<int64_t>(kept.size()) > limit) kept.pop_front();
    }
  }
  TextTable t;
  t.names = {"id", "at", "actor", "action", "target", "details"};
  const auto text = TypeOf(TypeId::kVarchar);
  t.types = {TypeOf(TypeId::kBigInt), text, text, text, text, text};
  for (const control::AuditEntry& e : kept) {
    t.rows.push_back({std::to_string(e.id), orchestrator::FormatTimestamp(e.at_ms), e.actor,
                      e.action, e.target, e.details_json});
  }
  return ctx.Print(t);
}

Status RunAuditVerify(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew audit verify";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, {}, usage,
                    "Checks the whole audit log: ids without gaps, each entry linked to the "
                    "previous one's hash and hashing to its stored hash. Exits non-zero naming "
                    "the first entry that was changed, removed or reordered. Prints the number "
                    "of entries and the head hash; removing entries from the end is only seen "
                    "by comparing that hash with one noted down earlier."));
  if (!parsed.positional.empty()) return Status::InvalidArgument("usage: " + usage);
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<control::ControlStore> store, ctx.OpenControlStore());
  auto check = control::VerifyAuditLog(*store, kPage);
  if (!check.ok()) return check.status().WithContext("the audit log is broken");
  std::fprintf(ctx.out(), "audit log ok: %lld entries, head hash %s\n",
               static_cast<long long>(check->entries),
               check->head_hash.empty() ? "(none)" : check->head_hash.c_str());
  return Status::OK();
}

}  // namespace

Status RunAudit(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "usage: dew audit list [--since T] [--limit N] | dew audit verify";
  if (args.empty()) return Status::InvalidArgument(usage);
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "list") return RunAuditList(ctx, rest);
  if (args[0] == "verify") return RunAuditVerify(ctx, rest);
  if (args[0] == "--help" || args[0] == "-h") {
    std::fprintf(ctx.out(),
                 "%s\n\nThe control store's hash-chained audit log: list its entries, "
                 "verify that none was changed.\n",
                 usage.c_str());
    return HelpShown();
  }
  return Status::InvalidArgument(usage + " (unknown subcommand '" + args[0] + "')");
}

}  // namespace dew::cli
