// PostgresControlStore: the ControlStore on a PostgreSQL database (`control: postgres://…` in
// dew.yml), so that schedulers and workers on several machines share one control plane.
//
// Each object keeps a small pool of libpq connections: a call leases one for its duration, so
// calls from several threads (a worker's pool, heartbeat and sweeper threads) run and commit
// concurrently, each on its own connection; a thread finding none idle opens another, and up to
// 16 idle ones are kept. Calls coordinate through the database, as other processes do: claims use
// `FOR UPDATE SKIP LOCKED`, compare-and-set updates recheck their condition under the row lock, and
// the run-concurrency limit, event ids and migrations take advisory locks. Every time recorded
// comes from the store's Clock (never now() in SQL), as on SQLite.
//
// A call that fails because the connection dropped (server restart, idle kill, network) is
// retried once on a fresh connection. When the drop happened after the server committed, the
// retry can see the call's own effect (AlreadyExists for an insert; a claim is then left running
// without heartbeats until FailStaleAttempts recovers it).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/control_store.h"
#include "core/clock.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace dew::control {

struct PostgresControlStoreOptions {
  //! libpq's connect_timeout when the connection string does not set one.
  int connect_timeout_seconds = 10;
};

class PostgresControlStore final : public ControlStore {
 public:
  //! Connects with a libpq connection string (a postgres:// or postgresql:// URL, or key=value
  //! pairs) and applies the missing migrations (advisory-locked, one transaction). Errors name the
  //! host, port, database and user, never the password: InvalidArgument for a malformed string or
  //! refused authentication, NotFound when the database does not exist, IOError when the server
  //! cannot be reached or a query fails, NotSupported when a newer dew migrated the database.
  static Result<std::unique_ptr<PostgresControlStore>> Open(
      const std::string& conninfo, std::shared_ptr<Clock> clock,
      PostgresControlStoreOptions options = {});
  ~PostgresControlStore() override;
  PostgresControlStore(const PostgresControlStore&) = delete;
  PostgresControlStore& operator=(const PostgresControlStore&) = delete;

  //! "postgresql://user@host:port/database" (no password), as used in error messages.
  const std::string& where() const { return where_; }

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
  Status Heartbeat(int64_t attempt_id, const std::string& worker) override;
  Status FinishAttempt(int64_t attempt_id, AttemptStatus status, int64_t rows_read,
                       int64_t rows_written, const std::string& error = "") override;
  Result<AttemptRecord> GetAttempt(int64_t attempt_id) override;
  Result<std::vector<AttemptRecord>> ListAttempts(const std::string& run_id) override;
  Result<std::vector<AttemptRecord>> ListTaskAttempts(
      const std::string& run_id, const std::vector<std::string>& tasks) override;
  Result<int> CancelQueuedAttempts(const std::string& run_id, const std::string& error) override;
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

  //! Query parameters and a query's rows (defined in the .cc).
  class Params;
  class Rows;

 private:
  //! One libpq connection and the statements prepared on it.
  struct Connection {
    PGconn* conn = nullptr;
    std::unordered_map<std::string, std::string> prepared;  //!< SQL → statement name
    ~Connection();
  };
  //! Gives a leased connection back to the idle pool (or closes it when broken or surplus).
  struct ReturnToPool {
    PostgresControlStore* store;
    void operator()(Connection* c) const;
  };
  using Lease = std::unique_ptr<Connection, ReturnToPool>;
  //! Idle connections kept open for the next calls; more are opened while threads need them.
  static constexpr size_t kMaxIdleConnections = 16;

  PostgresControlStore(std::string where, std::string password, std::string conninfo,
                       std::string connect_timeout, std::shared_ptr<Clock> clock);
  static PGconn* Connect(const std::string& conninfo, const std::string& connect_timeout);
  //! An idle connection, or a new one (IOError naming the server when it cannot be opened).
  Result<Lease> Acquire();

  // All below run on the leased connection `c`, used by one thread at a time.
  //! Runs one statement (prepared once per connection) with text parameters.
  Result<Rows> Exec(Connection& c, const std::string& sql, const Params& params,
                    const std::string& op);
  //! Runs a parameterless command (BEGIN, COMMIT, …).
  Status Command(Connection& c, const char* sql, const std::string& op);
  template <typename Body>
  Status InTransaction(Connection& c, const std::string& op, Body&& body);
  //! Runs `fn`; when it failed because the connection dropped, reconnects and runs it once more.
  template <typename Fn>
  auto Retrying(Connection& c, Fn&& fn) -> decltype(fn());
  Status ErrorFrom(const Connection& c, const std::string& op, const PGresult* result) const;
  std::string Redact(std::string text) const;
  Result<RunRecord> GetRunLocked(Connection& c, const std::string& run_id);
  Result<AttemptRecord> GetAttemptLocked(Connection& c, int64_t attempt_id);
  Result<int64_t> InsertAttemptLocked(Connection& c, const NewAttempt& attempt,
                                      const std::string& worker);

  const std::string where_;
  const std::string password_;  // only to scrub it from libpq messages
  const std::string conninfo_;  // to open more connections
  const std::string connect_timeout_;
  const std::shared_ptr<Clock> clock_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by pool_mu_
};

}  // namespace dew::control
