#include "control/control_store.h"

#include <nlohmann/json.hpp>
#include <set>

#include "core/sha256.h"

namespace dew::control {

const char* RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kQueued:
      return "queued";
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kSucceeded:
      return "succeeded";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kCancelled:
      return "cancelled";
    case RunStatus::kSkipped:
      return "skipped";
  }
  return "unknown";
}

Result<RunStatus> ParseRunStatus(std::string_view text) {
  for (RunStatus s : {RunStatus::kQueued, RunStatus::kRunning, RunStatus::kSucceeded,
                      RunStatus::kFailed, RunStatus::kCancelled, RunStatus::kSkipped}) {
    if (text == RunStatusName(s)) return s;
  }
  return Status::InvalidArgument(
      "unknown run status '" + std::string(text) +
      "' (expected queued, running, succeeded, failed, cancelled or skipped)");
}

const char* TriggerKindName(TriggerKind kind) {
  switch (kind) {
    case TriggerKind::kUser:
      return "user";
    case TriggerKind::kSchedule:
      return "schedule";
    case TriggerKind::kBackfill:
      return "backfill";
  }
  return "unknown";
}

Result<TriggerKind> ParseTriggerKind(std::string_view text) {
  for (TriggerKind k : {TriggerKind::kUser, TriggerKind::kSchedule, TriggerKind::kBackfill}) {
    if (text == TriggerKindName(k)) return k;
  }
  return Status::InvalidArgument("unknown trigger kind '" + std::string(text) +
                                 "' (expected user, schedule or backfill)");
}

const char* CatchUpPolicyName(CatchUpPolicy policy) {
  return policy == CatchUpPolicy::kCatchUp ? "catch_up" : "skip";
}

Result<CatchUpPolicy> ParseCatchUpPolicy(std::string_view text) {
  if (text == "skip") return CatchUpPolicy::kSkip;
  if (text == "catch_up") return CatchUpPolicy::kCatchUp;
  return Status::InvalidArgument("unknown catch-up policy '" + std::string(text) +
                                 "' (expected skip or catch_up)");
}

const char* DeliveryStatusName(DeliveryStatus status) {
  switch (status) {
    case DeliveryStatus::kPending:
      return "pending";
    case DeliveryStatus::kDelivered:
      return "delivered";
    case DeliveryStatus::kDead:
      return "dead";
  }
  return "unknown";
}

Result<DeliveryStatus> ParseDeliveryStatus(std::string_view text) {
  for (DeliveryStatus s :
       {DeliveryStatus::kPending, DeliveryStatus::kDelivered, DeliveryStatus::kDead}) {
    if (text == DeliveryStatusName(s)) return s;
  }
  return Status::InvalidArgument("unknown delivery status '" + std::string(text) +
                                 "' (expected pending, delivered or dead)");
}

Result<std::vector<AttemptRecord>> ControlStore::ListTaskAttempts(
    const std::string& run_id, const std::vector<std::string>& tasks) {
  DEW_ASSIGN_OR_RETURN(std::vector<AttemptRecord> all, ListAttempts(run_id));
  const std::set<std::string> wanted(tasks.begin(), tasks.end());
  std::vector<AttemptRecord> out;
  for (AttemptRecord& a : all) {
    if (wanted.count(a.task) > 0) out.push_back(std::move(a));
  }
  return out;
}

// Webhook deliveries came after the first stores; a store without them says so.
static Status NoDeliveries() {
  return Status::NotSupported("this control store does not keep events and webhook deliveries");
}
Result<EventRecord> ControlStore::GetEvent(int64_t) {
  return NoDeliveries();
}
Result<int64_t> ControlStore::AddDelivery(int64_t, const std::string&, const std::string&) {
  return NoDeliveries();
}
Result<std::vector<DeliveryRecord>> ControlStore::ClaimDueDeliveries(int64_t, int) {
  return NoDeliveries();
}
Status ControlStore::FinishDeliveryAttempt(int64_t, DeliveryStatus, int64_t, const std::string&) {
  return NoDeliveries();
}
Result<DeliveryRecord> ControlStore::GetDelivery(int64_t) {
  return NoDeliveries();
}
Result<std::vector<DeliveryRecord>> ControlStore::ListDeliveries(const DeliveryFilter&) {
  return NoDeliveries();
}
Status ControlStore::ReplayDelivery(int64_t) {
  return NoDeliveries();
}

bool IsFinished(RunStatus status) {
  return status == RunStatus::kSucceeded || status == RunStatus::kFailed ||
         status == RunStatus::kCancelled || status == RunStatus::kSkipped;
}

bool IsAllowedTransition(RunStatus from, RunStatus to) {
  switch (from) {
    case RunStatus::kQueued:
      return to == RunStatus::kRunning || to == RunStatus::kFailed || to == RunStatus::kCancelled ||
             to == RunStatus::kSkipped;
    case RunStatus::kRunning:
      return IsFinished(to) && to != RunStatus::kSkipped;
    default:
      return false;
  }
}

// --- audit log ---

std::string AuditEntryHash(const AuditEntry& e) {
  return Sha256Hex(e.prev_hash + "\n" + std::to_string(e.id) + "\n" + std::to_string(e.at_ms) +
                   "\n" + e.actor + "\n" + e.action + "\n" + e.target + "\n" + e.details_json +
                   "\n");
}

Status VerifyAuditChain(const std::vector<AuditEntry>& entries, const std::string& prev_hash) {
  std::string prev = prev_hash;
  for (const AuditEntry& e : entries) {
    const std::string at = "audit entry " + std::to_string(e.id);
    if (e.prev_hash != prev) {
      return Status::Corruption(at + ": prev_hash " + e.prev_hash +
                                " does not match the previous entry's hash " + prev);
    }
    const std::string computed = AuditEntryHash(e);
    if (computed != e.hash) {
      return Status::Corruption(
          at + " (" + e.action + " " + e.target + " by " + e.actor + "): its content hashes to " +
          computed + " but its stored hash is " + e.hash + " (changed after it was written)");
    }
    prev = e.hash;
  }
  return Status::OK();
}

Result<AuditLogCheck> VerifyAuditLog(ControlStore& store, int page_size) {
  AuditLogCheck check;
  int64_t last_id = 0;
  for (;;) {
    DEW_ASSIGN_OR_RETURN(std::vector<AuditEntry> page, store.ListAudit(last_id, page_size));
    if (page.empty()) return check;
    for (const AuditEntry& e : page) {
      // A gap in the ids is a removed entry; the hash links alone would show it too, but naming
      // the missing id says more than a mismatched hash does.
      if (e.id != last_id + 1) {
        return Status::Corruption("audit entry " + std::to_string(last_id + 1) +
                                  " is missing (the entry after " + std::to_string(last_id) +
                                  " is " + std::to_string(e.id) + ")");
      }
      DEW_RETURN_IF_ERROR(VerifyAuditChain({e}, check.head_hash));
      last_id = e.id;
      check.entries++;
      check.head_hash = e.hash;
    }
  }
}

Status CheckAuditEntry(const std::string& actor, const std::string& action,
                       const std::string& details_json) {
  if (actor.empty()) return Status::InvalidArgument("appending an audit entry: the actor is empty");
  if (action.empty()) {
    return Status::InvalidArgument("appending an audit entry: the action is empty");
  }
  const nlohmann::json details = nlohmann::json::parse(details_json, nullptr, false);
  if (details.is_discarded() || !details.is_object()) {
    return Status::InvalidArgument("appending audit entry " + action +
                                   ": details are not a JSON object: " + details_json);
  }
  return Status::OK();
}

}  // namespace dew::control
