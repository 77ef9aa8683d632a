// ControlStore: the control plane's durable state (DESIGN decision 3: one interface, SQLite now,
// PostgreSQL later). It holds pipelines, runs, task attempts, schedules, connector state and
// events. The interface carries no database types so both implementations share every caller and
// every test; times come from the Clock the store was built with, never from now() inside.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dew::control {

//! kSkipped is for task attempts only: a task that never ran because an upstream task failed or
//! its run was cancelled. Runs never take it.
enum class RunStatus { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kSkipped };
enum class TriggerKind { kUser, kSchedule, kBackfill };
//! Task attempts share the run states: queued → running → succeeded | failed | cancelled, and
//! queued → cancelled | skipped; an attempt can also be added directly as skipped.
using AttemptStatus = RunStatus;
//! What the scheduler does with fire times missed while it was down.
enum class CatchUpPolicy { kSkip, kCatchUp };

//! "queued", "running", … (the text stored in the database).
const char* RunStatusName(RunStatus status);
Result<RunStatus> ParseRunStatus(std::string_view text);
const char* TriggerKindName(TriggerKind kind);
Result<TriggerKind> ParseTriggerKind(std::string_view text);
const char* CatchUpPolicyName(CatchUpPolicy policy);
Result<CatchUpPolicy> ParseCatchUpPolicy(std::string_view text);

//! succeeded, failed, cancelled and skipped are final: nothing leaves them.
bool IsFinished(RunStatus status);
//! Whether a run or attempt may move from `from` to `to`: queued → running | failed | cancelled,
//! running → succeeded | failed | cancelled; queued → skipped too (attempts only). Staying in
//! the same state is not a transition.
bool IsAllowedTransition(RunStatus from, RunStatus to);

struct PipelineRecord {
  std::string name;
  std::string spec_hash;
  int64_t updated_at_ms = 0;
};

//! What a caller supplies to create a run; the store fills the times and the queued status.
struct NewRun {
  std::string id;
  std::string pipeline;
  TriggerKind trigger = TriggerKind::kUser;
  std::string triggered_by;
  std::string params_json = "{}";
  std::string logical_date;  // empty when the run has none
};

struct RunRecord {
  std::string id;
  std::string pipeline;
  RunStatus status = RunStatus::kQueued;
  TriggerKind trigger = TriggerKind::kUser;
  std::string triggered_by;
  std::string params_json;
  std::string logical_date;
  int64_t created_at_ms = 0;
  std::optional<int64_t> started_at_ms;
  std::optional<int64_t> finished_at_ms;
  std::string error;
};

struct RunFilter {
  std::string pipeline;  // empty: every pipeline
  std::optional<RunStatus> status;
  int limit = 100;
};

struct AttemptRecord {
  int64_t id = 0;
  std::string run_id;
  std::string task;
  int attempt = 1;
  AttemptStatus status = AttemptStatus::kQueued;
  std::string worker;  // empty until claimed
  int64_t created_at_ms = 0;
  std::optional<int64_t> heartbeat_at_ms;
  std::optional<int64_t> started_at_ms;
  std::optional<int64_t> finished_at_ms;
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  std::string error;
  int priority = 0;           //!< higher is claimed first
  int64_t not_before_ms = 0;  //!< not claimable before this time (retry backoff); 0: at once
};

//! What a caller supplies to add an attempt (AddAttempt).
struct NewAttempt {
  std::string run_id;
  std::string task;
  int attempt = 1;
  //! kQueued (to be claimed) or kSkipped (recorded as never run, finished at once with `error`).
  AttemptStatus status = AttemptStatus::kQueued;
  int priority = 0;           //!< ClaimNextAttempt takes higher priorities first
  int64_t not_before_ms = 0;  //!< ClaimNextAttempt ignores the attempt before this time
  std::string error;          //!< why it was skipped
};

struct ScheduleRecord {
  std::string pipeline;
  std::string cron;
  std::string timezone = "UTC";
  int64_t next_fire_at_ms = 0;
  CatchUpPolicy catch_up = CatchUpPolicy::kSkip;
};

struct ConnectorState {
  std::string connection;
  std::string stream;
  std::string state_json;
  int64_t updated_at_ms = 0;  // set by the store on Put
  std::string run_id;         // the run that wrote it; empty when none
};

struct EventRecord {
  int64_t id = 0;
  std::string kind;
  std::string payload_json;
  int64_t created_at_ms = 0;
};

//! A webhook delivery: pending (to be sent at next_attempt_at), delivered, or dead (failed
//! max_attempts times: the dead-letter list, until replayed).
enum class DeliveryStatus { kPending, kDelivered, kDead };
const char* DeliveryStatusName(DeliveryStatus status);
Result<DeliveryStatus> ParseDeliveryStatus(std::string_view text);

struct DeliveryRecord {
  int64_t id = 0;
  int64_t event_id = 0;
  std::string webhook;  //!< the subscription's name
  std::string url;      //!< where it is sent (as subscribed when the event was recorded)
  DeliveryStatus status = DeliveryStatus::kPending;
  int attempts = 0;  //!< attempts made so far
  int64_t next_attempt_at_ms = 0;
  std::string last_error;
  int64_t created_at_ms = 0;
  std::optional<int64_t> delivered_at_ms;
};

struct DeliveryFilter {
  std::optional<DeliveryStatus> status;  //!< nullopt: all
  int limit = 100;
};

//! One data test's outcome in one run of `dew build` or `dew test` (migration 5).
struct TestResultRecord {
  int64_t id = 0;         //!< set by the store (increasing)
  std::string run_id;     //!< the run (must exist in runs)
  std::string test_id;    //!< e.g. "not_null_stg_orders_id"; a singular test's name
  std::string target;     //!< the model, "source:erp.orders" or a singular test's path
  std::string relation;   //!< the lake relation tested ("silver.stg_orders")
  std::string test_type;  //!< not_null, unique, …, row_count, "singular"
  std::string severity;   //!< "error" or "warn"
  std::string status;     //!< "pass", "fail", "warn" or "error" (the test could not run)
  int64_t failures = 0;   //!< failing rows or groups
  std::string message;    //!< what failed, with a sample; notes for a pass
  int64_t at_ms = 0;      //!< when the test ran
  int64_t duration_ms = 0;
  //! A value the test measured and keeps as history: row_count's row count, which the volume
  //! anomaly check of later runs compares with. nullopt for other tests.
  std::optional<int64_t> observed;
};

struct TestResultFilter {
  std::string run_id;          //!< empty: every run
  std::string target;          //!< empty: every target
  std::string test_id;         //!< empty: every test
  bool problems_only = false;  //!< only fail, warn and error
  int limit = 100;
};

//! A target's quality score in one run: the share of its checks that passed, each check
//! weighted by severity (error 3, warn 1). Weights are stored rather than the ratio so the
//! score is exact and sums stay possible.
struct QualityScoreRecord {
  std::string run_id;
  std::string target;
  int64_t passed_weight = 0;  //!< sum of the weights of passing checks
  int64_t total_weight = 0;   //!< sum of the weights of all checks (> 0)
  int checks = 0;             //!< checks run
  int failed = 0;             //!< checks not passing (fail, warn, error)
  //! The targets this one reads, directly or through others (refs and sources in the model DAG
  //! as it was in this run), nearest first, as a JSON array: a report finds among them the
  //! upstream tables whose checks failed in the same run.
  std::string upstream_json = "[]";
  int64_t at_ms = 0;
  //! passed_weight / total_weight, 1 when there is no weight.
  double score() const {
    return total_weight > 0 ? static_cast<double>(passed_weight) / total_weight : 1.0;
  }
};

struct QualityScoreFilter {
  std::string target;  //!< empty: every target
  std::string run_id;  //!< empty: every run
  int limit = 100;
};

//! One entry of the append-only, hash-chained audit log (migration 6; DESIGN decision 6): who
//! did what to what, when. Each entry's hash covers the previous entry's hash, so changing,
//! removing or reordering any entry breaks every hash after it (VerifyAuditChain).
struct AuditEntry {
  int64_t id = 0;                   //!< set by the store: 1, 2, 3, … in append order
  int64_t at_ms = 0;                //!< set by the store from its clock
  std::string actor;                //!< a user name, or "schedule" / "worker:<id>"
  std::string action;               //!< e.g. "run.start", "run.rollback"
  std::string target;               //!< what was acted on, e.g. a run id
  std::string details_json = "{}";  //!< a JSON object
  std::string prev_hash;            //!< the previous entry's hash; empty for the first entry
  std::string hash;                 //!< AuditEntryHash(*this)
};

//! Hex SHA-256 of prev_hash, id, at_ms, actor, action, target and details_json, each followed by
//! a newline (so no two different entries hash the same text).
std::string AuditEntryHash(const AuditEntry& entry);

//! Checks `entries` (consecutive, oldest first, as ListAudit returns them) link up and hash
//! right; `prev_hash` is the hash of the entry before the first (empty from the start).
//! Corruption naming the first entry that does not.
Status VerifyAuditChain(const std::vector<AuditEntry>& entries, const std::string& prev_hash = "");

class ControlStore;

//! What VerifyAuditLog read: the number of entries and the hash of the last one (the chain's
//! head, which an auditor may note down to detect a later truncation of the log's end).
struct AuditLogCheck {
  int64_t entries = 0;
  std::string head_hash;
};

//! Reads the whole audit log from `store`, `page_size` entries at a time, and checks that ids run
//! 1, 2, 3, … without gaps and that every entry links to the one before and hashes right.
//! Corruption naming the first entry that does not (its id and what differs).
Result<AuditLogCheck> VerifyAuditLog(ControlStore& store, int page_size = 1000);

//! InvalidArgument for an empty actor or action, or details that are not a JSON object; for the
//! stores' AppendAudit.
Status CheckAuditEntry(const std::string& actor, const std::string& action,
                       const std::string& details_json);

//! Every method is safe to call from several threads on one object (implementations serialize
//! calls on their connection); several objects on one database (several processes) coordinate
//! through the database. Errors name the operation and the object involved.
class ControlStore {
 public:
  virtual ~ControlStore() = default;

  // --- pipelines ---
  //! Inserts or replaces the pipeline's spec hash; updated_at is the store clock's now.
  virtual Status UpsertPipeline(const std::string& name, const std::string& spec_hash) = 0;
  //! NotFound when no pipeline has that name.
  virtual Result<PipelineRecord> GetPipeline(const std::string& name) = 0;
  //! All pipelines by name.
  virtual Result<std::vector<PipelineRecord>> ListPipelines() = 0;

  // --- runs ---
  //! Creates a queued run. AlreadyExists when the id is taken; InvalidArgument on an empty id or
  //! pipeline. The pipeline need not be registered (a one-off run of a file is allowed).
  virtual Status CreateRun(const NewRun& run) = 0;
  //! Moves a run to `to`, atomically checking IsAllowedTransition against its current state;
  //! InvalidArgument naming the run and both states when refused, NotFound for an unknown id.
  //! Entering running sets started_at; entering a final state sets finished_at and `error`.
  virtual Status UpdateRunStatus(const std::string& run_id, RunStatus to,
                                 const std::string& error = "") = 0;
  virtual Result<RunRecord> GetRun(const std::string& run_id) = 0;
  //! Per-pipeline concurrency: atomically moves the run from queued to running when fewer than
  //! `max_running` runs of its pipeline are running. false (and no change) when the limit is
  //! reached or the run is not queued; NotFound for an unknown id.
  virtual Result<bool> TryStartRun(const std::string& run_id, int max_running) = 0;
  //! Runs matching the filter, newest first (created_at, then id, descending), at most limit.
  virtual Result<std::vector<RunRecord>> ListRuns(const RunFilter& filter) = 0;

  // --- task attempts ---
  //! Adds a queued attempt of `task` for a run, to be claimed by a worker; returns its id.
  //! NotFound when the run does not exist; AlreadyExists when (run, task, attempt) exists.
  virtual Result<int64_t> EnqueueAttempt(const std::string& run_id, const std::string& task,
                                         int attempt) = 0;
  //! Adds an attempt already running on `worker` (in-process execution); returns its id.
  virtual Result<int64_t> StartAttempt(const std::string& run_id, const std::string& task,
                                       int attempt, const std::string& worker) = 0;
  //! Adds an attempt as described by `attempt` and returns its id (EnqueueAttempt is AddAttempt
  //! with priority 0 and no delay). NotFound when the run does not exist; AlreadyExists when
  //! (run, task, attempt) exists, which is how concurrent coordinators avoid enqueuing a task
  //! twice; InvalidArgument for a status other than queued or skipped.
  virtual Result<int64_t> AddAttempt(const NewAttempt& attempt) = 0;
  //! Atomically claims, for `worker`, the queued attempt with the highest priority, then the
  //! oldest (created_at, id), among those whose not_before is at or before now and whose run is
  //! not finished (queued or running); it becomes running, with started and heartbeat times.
  //! nullopt when none qualifies. Two stores on one database never claim the same attempt.
  virtual Result<std::optional<AttemptRecord>> ClaimNextAttempt(const std::string& worker) = 0;
  //! Records that `worker` is still running the attempt. InvalidArgument when the attempt is not
  //! running or belongs to another worker (it was reassigned), NotFound for an unknown id.
  virtual Status Heartbeat(int64_t attempt_id, const std::string& worker) = 0;
  //! Moves an attempt to a final state with its row counts and error; InvalidArgument when the
  //! state is not final or the attempt is already finished.
  virtual Status FinishAttempt(int64_t attempt_id, AttemptStatus status, int64_t rows_read,
                               int64_t rows_written, const std::string& error = "") = 0;
  virtual Result<AttemptRecord> GetAttempt(int64_t attempt_id) = 0;
  //! A run's attempts ordered by task, then attempt number.
  virtual Result<std::vector<AttemptRecord>> ListAttempts(const std::string& run_id) = 0;
  //! The attempts of the named tasks of a run (names repeated or unknown are fine), ordered by
  //! task, then attempt number: what the coordinator reads to see whether a task's dependencies
  //! are done without reading the whole run. The default filters ListAttempts.
  virtual Result<std::vector<AttemptRecord>> ListTaskAttempts(
      const std::string& run_id, const std::vector<std::string>& tasks);
  //! Marks every queued attempt of the run cancelled with `error` (one atomic statement, so an
  //! attempt is either claimed before or cancelled, never both); returns how many.
  virtual Result<int> CancelQueuedAttempts(const std::string& run_id, const std::string& error) = 0;
  //! Orphan recovery: every running attempt whose last heartbeat (or start) is more than
  //! `older_than_ms` before now is marked failed with an error saying so. Returns those attempts
  //! as they are after the change, so the caller can retry them by policy.
  virtual Result<std::vector<AttemptRecord>> FailStaleAttempts(int64_t older_than_ms) = 0;
  //! The running attempts FailStaleAttempts would fail now (oldest id first), unchanged: the
  //! executor looks at each one's recorded outcome before deciding (see executor.h).
  virtual Result<std::vector<AttemptRecord>> ListStaleAttempts(int64_t older_than_ms) = 0;
  //! FailStaleAttempts for one attempt: fails it, with the same error, only when it is still
  //! running with its last heartbeat more than `older_than_ms` ago (checked atomically).
  //! Returns it as it is after the change, or nullopt when it was not stale any more.
  virtual Result<std::optional<AttemptRecord>> FailStaleAttempt(int64_t attempt_id,
                                                                int64_t older_than_ms) = 0;

  // --- schedules ---
  //! Inserts or replaces the schedule of `schedule.pipeline`.
  virtual Status UpsertSchedule(const ScheduleRecord& schedule) = 0;
  //! All schedules by pipeline name.
  virtual Result<std::vector<ScheduleRecord>> ListSchedules() = 0;
  //! Schedules whose next_fire_at is at or before `now_ms`, earliest first.
  virtual Result<std::vector<ScheduleRecord>> DueSchedules(int64_t now_ms) = 0;
  //! Compare-and-set of a schedule's next fire time, so that two schedulers on one store never
  //! fire the same time twice: sets next_fire_at to `new_next_fire_ms` only when it is
  //! `expected_next_fire_ms` at that moment (atomically). true when this call moved it (the
  //! caller then owns the fire time `expected_next_fire_ms` and launches its run); false when
  //! next_fire_at was something else (another scheduler advanced it first, or the schedule was
  //! upserted meanwhile). NotFound naming the pipeline when it has no schedule.
  virtual Result<bool> AdvanceSchedule(const std::string& pipeline, int64_t expected_next_fire_ms,
                                       int64_t new_next_fire_ms) = 0;

  // --- leases (leader election among schedulers or other singletons) ---
  //! Takes or renews the lease `name` for `holder` until now + ttl_ms (the store clock's now).
  //! true when `holder` holds it after the call: the lease was absent, expired (its expiry is at
  //! or before now) or already held by `holder` (then renewed); false when another holder's
  //! lease has not expired. Atomic across store objects and processes. InvalidArgument on an
  //! empty name or holder or a ttl_ms <= 0.
  virtual Result<bool> AcquireLease(const std::string& name, const std::string& holder,
                                    int64_t ttl_ms) = 0;
  //! Gives the lease up when `holder` holds it (expired or not) so another holder can take it at
  //! once; OK without change when someone else or no one holds it.
  virtual Status ReleaseLease(const std::string& name, const std::string& holder) = 0;

  // --- connector state ---
  //! Inserts or replaces the state of (connection, stream); updated_at is the clock's now.
  virtual Status PutConnectorState(const ConnectorState& state) = 0;
  //! NotFound when (connection, stream) has no state yet.
  virtual Result<ConnectorState> GetConnectorState(const std::string& connection,
                                                   const std::string& stream) = 0;

  // --- events ---
  //! Appends an event and returns its id (increasing).
  virtual Result<int64_t> AppendEvent(const std::string& kind, const std::string& payload_json) = 0;
  //! Events with id > after_id in id order, at most limit.
  virtual Result<std::vector<EventRecord>> ListEvents(int64_t after_id, int limit) = 0;
  //! NotFound for an unknown id.
  virtual Result<EventRecord> GetEvent(int64_t event_id);

  // --- webhook deliveries (default implementations: NotSupported) ---
  //! Adds a pending delivery of an event to a webhook, due now; returns its id. NotFound when
  //! the event does not exist.
  virtual Result<int64_t> AddDelivery(int64_t event_id, const std::string& webhook,
                                      const std::string& url);
  //! Atomically takes up to `limit` pending deliveries due at or before now (oldest due first)
  //! and pushes their next_attempt_at to now + lease_ms, so no other caller takes them while
  //! they are sent; a sender that dies leaves them due again after the lease.
  virtual Result<std::vector<DeliveryRecord>> ClaimDueDeliveries(int64_t lease_ms, int limit);
  //! Records one attempt: attempts + 1, status (pending again with `next_attempt_at_ms`,
  //! delivered, or dead), last_error. NotFound for an unknown id.
  virtual Status FinishDeliveryAttempt(int64_t delivery_id, DeliveryStatus status,
                                       int64_t next_attempt_at_ms, const std::string& error);
  virtual Result<DeliveryRecord> GetDelivery(int64_t delivery_id);
  //! Newest first (id descending), at most limit.
  virtual Result<std::vector<DeliveryRecord>> ListDeliveries(const DeliveryFilter& filter);
  //! Back to pending, attempts 0, due now (last_error kept). NotFound for an unknown id.
  virtual Status ReplayDelivery(int64_t delivery_id);
  // --- test results and quality scores (migration 5) ---
  //! Stores `results` atomically (all or none); ids are set by the store. NotFound naming the run
  //! when a result's run does not exist.
  virtual Status AddTestResults(const std::vector<TestResultRecord>& results) = 0;
  //! Results matching the filter, newest first (id descending), at most limit.
  virtual Result<std::vector<TestResultRecord>> ListTestResults(const TestResultFilter& filter) = 0;
  //! Stores `scores` atomically, replacing the score a (run, target) already has; NotFound
  //! when the run does not exist.
  virtual Status AddQualityScores(const std::vector<QualityScoreRecord>& scores) = 0;
  //! Scores matching the filter, newest first (recorded time, then insertion), at most limit.
  virtual Result<std::vector<QualityScoreRecord>> ListQualityScores(
      const QualityScoreFilter& filter) = 0;
  //! Each target's newest score, by target name.
  virtual Result<std::vector<QualityScoreRecord>> LatestQualityScores() = 0;
  // --- audit log (migration 6) ---
  //! Appends an entry (id, time, prev_hash and hash set by the store, atomically with reading the
  //! chain's last hash, so concurrent appenders on one database keep one chain) and returns it.
  //! InvalidArgument for an empty actor or action, or details that are not a JSON object.
  virtual Result<AuditEntry> AppendAudit(const std::string& actor, const std::string& action,
                                         const std::string& target,
                                         const std::string& details_json) = 0;
  //! Entries with id > after_id, oldest first, at most limit.
  virtual Result<std::vector<AuditEntry>> ListAudit(int64_t after_id, int limit) = 0;
};

}  // namespace dew::control
