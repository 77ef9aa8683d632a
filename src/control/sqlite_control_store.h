// SqliteControlStore: the ControlStore on one SQLite file (default `.dew/control.db`) in WAL mode.
//
// Each object owns one connection. Calls on one object are serialized by a mutex; several objects
// (threads or processes) on one file coordinate through SQLite's locks: every read-modify-write
// runs in a BEGIN IMMEDIATE transaction, and busy_timeout makes a writer wait instead of failing.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "control/control_store.h"
#include "core/clock.h"

struct sqlite3;
struct sqlite3_stmt;

namespace dew::control {

struct SqliteControlStoreOptions {
  //! Open without writing: no migration; fails unless the schema is at the latest version.
  bool read_only = false;
  //! How long a writer waits for another connection's lock before failing.
  int busy_timeout_ms = 10000;
};

class SqliteControlStore final : public ControlStore {
 public:
  //! The default location inside a project.
  static std::string DefaultPath(const std::string& project_dir) {
    return project_dir + "/.dew/control.db";
  }

  //! Opens (creating it when absent and not read-only) the database at `path` (":memory:" for a
  //! private in-memory one), sets WAL, busy_timeout and foreign keys, and applies the missing
  //! migrations. The parent directory must exist. Errors name the path: IOError when it cannot
  //! be opened or written, Corruption when it is not a database, NotSupported when a newer dew
  //! migrated it. `clock` gives every time the store records.
  static Result<std::unique_ptr<SqliteControlStore>> Open(const std::string& path,
                                                          std::shared_ptr<Clock> clock,
                                                          SqliteControlStoreOptions options = {});
  ~SqliteControlStore() override;
  SqliteControlStore(const SqliteControlStore&) = delete;
  SqliteControlStore& operator=(const SqliteControlStore&) = delete;

  const std::string& path() const { return path_; }

  Status UpsertPipeline(const std::string& name, const std::string& spec_hash) override;
  Result<PipelineRecord> GetPipeline(const std::string& name) override;
  Result<std::vector<PipelineRecord>> ListPipelines() override;

  Status CreateRun(const NewRun& run) override;
  Status UpdateRunStatus(const std::string& run_id, RunStatus to,
                         const std::string& error = "") override;
  Result<RunRecord> GetRun(const std::string& run_id) override;
  Result<bool> TryStartRun(const std::string& run_id, int max_running) override;
  Result<std::vector<RunRecord>> ListRuns(const RunFilter& filter) override;

  Result<int64_t> EnqueueAttempt(const std::string& run_id, const std::string& task,
                                 int attempt) override;
  Result<int64_t> StartAttempt(const std::string& run_id, const std::string& task, int attempt,
                               const std::string& worker) override;
  Result<int64_t> AddAttempt(const NewAttempt& attempt) override;
  Result<std::optional<AttemptRecord>> ClaimNextAttempt(const std::string& worker) override;
  Result<int> CancelQueuedAttempts(const std::string& run_id, const std::string& error) override;
  Status Heartbeat(int64_t attempt_id, const std::string& worker) override;
  Status FinishAttempt(int64_t attempt_id, AttemptStatus status, int64_t rows_read,
                       int64_t rows_written, const std::string& error = "") override;
  Result<AttemptRecord> GetAttempt(int64_t attempt_id) override;
  Result<std::vector<AttemptRecord>> ListAttempts(const std::string& run_id) override;
  Result<std::vector<AttemptRecord>> ListTaskAttempts(
      const std::string& run_id, const std::vector<std::string>& tasks) override;
  Result<std::vector<AttemptRecord>> FailStaleAttempts(int64_t older_than_ms) override;
  Result<std::vector<AttemptRecord>> ListStaleAttempts(int64_t older_than_ms) override;
  Result<std::optional<AttemptRecord>> FailStaleAttempt(int64_t attempt_id,
                                                        int64_t older_than_ms) override;

  Status UpsertSchedule(const ScheduleRecord& schedule) override;
  Result<std::vector<ScheduleRecord>> ListSchedules() override;
  Result<std::vector<ScheduleRecord>> DueSchedules(int64_t now_ms) override;
  Result<bool> AdvanceSchedule(const std::string& pipeline, int64_t expected_next_fire_ms,
                               int64_t new_next_fire_ms) override;

  Result<bool> AcquireLease(const std::string& name, const std::string& holder,
                            int64_t ttl_ms) override;
  Status ReleaseLease(const std::string& name, const std::string& holder) override;

  Status PutConnectorState(const ConnectorState& state) override;
  Result<ConnectorState> GetConnectorState(const std::string& connection,
                                           const std::string& stream) override;

  Result<int64_t> AppendEvent(const std::string& kind, const std::string& payload_json) override;
  Result<std::vector<EventRecord>> ListEvents(int64_t after_id, int limit) override;
  Result<EventRecord> GetEvent(int64_t event_id) override;

  Result<int64_t> AddDelivery(int64_t event_id, const std::string& webhook,
                              const std::string& url) override;
  Result<std::vector<DeliveryRecord>> ClaimDueDeliveries(int64_t lease_ms, int limit) override;
  Status FinishDeliveryAttempt(int64_t delivery_id, DeliveryStatus status,
                               int64_t next_attempt_at_ms, const std::string& error) override;
  Result<DeliveryRecord> GetDelivery(int64_t delivery_id) override;
  Result<std::vector<DeliveryRecord>> ListDeliveries(const DeliveryFilter& filter) override;
  Status ReplayDelivery(int64_t delivery_id) override;

  Status AddTestResults(const std::vector<TestResultRecord>& results) override;
  Result<std::vector<TestResultRecord>> ListTestResults(const TestResultFilter& filter) override;
  Status AddQualityScores(const std::vector<QualityScoreRecord>& scores) override;
  Result<std::vector<QualityScoreRecord>> ListQualityScores(
      const QualityScoreFilter& filter) override;
  Result<std::vector<QualityScoreRecord>> LatestQualityScores() override;

  Result<AuditEntry> AppendAudit(const std::string& actor, const std::string& action,
                                 const std::string& target,
                                 const std::string& details_json) override;
  Result<std::vector<AuditEntry>> ListAudit(int64_t after_id, int limit) override;

  //! A borrowed prepared statement (defined in the .cc).
  class Statement;

 private:
  SqliteControlStore(std::string path, sqlite3* db, std::shared_ptr<Clock> clock);

  // All below require mu_ held.
  Result<Statement> Prepare(const char* sql, const std::string& op);
  Status Error(const std::string& op) const;
  Status Exec(const char* sql, const std::string& op);
  template <typename Body>
  Status InTransaction(const std::string& op, Body&& body);
  Result<RunRecord> GetRunLocked(const std::string& run_id);
  Result<AttemptRecord> GetAttemptLocked(int64_t attempt_id);
  //! Running attempts whose last heartbeat (or start) is before `cutoff_ms`, by id.
  Result<std::vector<int64_t>> StaleIdsLocked(int64_t cutoff_ms, const std::string& op);
  //! Fails the attempt when it is still running and older than the limit; nullopt otherwise.
  Result<std::optional<AttemptRecord>> FailIfStaleLocked(int64_t attempt_id, int64_t now_ms,
                                                         int64_t older_than_ms,
                                                         const std::string& op);
  //! Inserts `attempt` (status queued, skipped or running on `worker`).
  Result<int64_t> InsertAttemptLocked(const NewAttempt& attempt, const std::string& worker);

  const std::string path_;
  sqlite3* const db_;
  const std::shared_ptr<Clock> clock_;
  std::mutex mu_;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;  // keyed by the SQL literal
};

}  // namespace dew::control
