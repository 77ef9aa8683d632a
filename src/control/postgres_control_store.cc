#include "control/postgres_control_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>

#include "control/migrations.h"

namespace dew::control {

// Text-format query parameters; a null is sent as SQL NULL.
class PostgresControlStore::Params {
 public:
  Params& Add(std::string value) {
    values_.push_back(std::move(value));
    nulls_.push_back(false);
    return *this;
  }
  Params& Add(int64_t value) { return Add(std::to_string(value)); }
  Params& Null() {
    values_.emplace_back();
    nulls_.push_back(true);
    return *this;
  }
  Params& Add(std::optional<int64_t> value) { return value ? Add(*value) : Null(); }

  int size() const { return static_cast<int>(values_.size()); }
  std::vector<const char*> Pointers() const {
    std::vector<const char*> out;
    for (size_t i = 0; i < values_.size(); i++) {
      out.push_back(nulls_[i] ? nullptr : values_[i].c_str());
    }
    return out;
  }

 private:
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
};

// Owns a PGresult; values are in text format.
class PostgresControlStore::Rows {
 public:
  explicit Rows(PGresult* result) : result_(result) {}
  Rows(Rows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  Rows& operator=(Rows&&) = delete;
  ~Rows() { PQclear(result_); }

  //! PGRES_FATAL_ERROR when libpq returned no result at all.
  ExecStatusType status() const {
    return result_ != nullptr ? PQresultStatus(result_) : PGRES_FATAL_ERROR;
  }
  const PGresult* get() const { return result_; }
  int size() const { return PQntuples(result_); }
  //! Rows changed by an INSERT, UPDATE or DELETE.
  int64_t affected() const { return std::strtoll(PQcmdTuples(result_), nullptr, 10); }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(result_, row, col),
                       static_cast<size_t>(PQgetlength(result_, row, col)));
  }
  int64_t Int(int row, int col) const {
    return std::strtoll(PQgetvalue(result_, row, col), nullptr, 10);
  }
  std::optional<int64_t> OptInt(int row, int col) const {
    if (PQgetisnull(result_, row, col)) return std::nullopt;
    return Int(row, col);
  }

 private:
  PGresult* result_;
};

namespace {

// Column lists shared by the SELECTs and RETURNINGs below (string literals, so that each query
// is one literal).
#define DEW_RUN_COLUMNS                                                                  \
  "id, pipeline, status, trigger_kind, triggered_by, params, logical_date, created_at, " \
  "started_at, finished_at, error"
#define DEW_ATTEMPT_COLUMNS                                                           \
  "id, run_id, task, attempt, status, worker, created_at, heartbeat_at, started_at, " \
  "finished_at, rows_read, rows_written, error, priority, not_before"
#define DEW_SCHEDULE_COLUMNS "pipeline, cron, timezone, next_fire_at, catch_up"

// Advisory locks (besides the migration's): (7170912, hashtext(pipeline)) serializes
// TryStartRun per pipeline; this one makes event ids commit in id order.
constexpr const char* kEventLockSql = "pg_advisory_xact_lock(7170912626803287)";

std::string FirstLine(std::string text) {
  // libpq messages end in a newline and may carry DETAIL/HINT lines; the first says it.
  const size_t nl = text.find('\n');
  if (nl != std::string::npos) text.resize(nl);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

bool Contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

// "{queued,running}": the states from which `to` is allowed, as a text[] literal.
std::string AllowedFrom(RunStatus to) {
  std::string out = "{";
  for (RunStatus s : {RunStatus::kQueued, RunStatus::kRunning, RunStatus::kSucceeded,
                      RunStatus::kFailed, RunStatus::kCancelled, RunStatus::kSkipped}) {
    if (!IsAllowedTransition(s, to)) continue;
    if (out.size() > 1) out += ",";
    out += RunStatusName(s);
  }
  return out + "}";
}

// A text[] literal: every element double-quoted, with backslash and quote escaped.
std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const std::string& item : items) {
    if (out.size() > 1) out += ",";
    out += '"';
    for (char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

Result<RunRecord> ReadRun(const PostgresControlStore::Rows& rows, int i, const std::string& where) {
  RunRecord r;
  r.id = rows.Text(i, 0);
  r.pipeline = rows.Text(i, 1);
  auto status = ParseRunStatus(rows.Text(i, 2));
  if (!status.ok()) {
    return Status::Corruption("control store " + where + ": run " + r.id + ": " +
                              status.status().message());
  }
  r.status = *status;
  auto trigger = ParseTriggerKind(rows.Text(i, 3));
  if (!trigger.ok()) {
    return Status::Corruption("control store " + where + ": run " + r.id + ": " +
                              trigger.status().message());
  }
  r.trigger = *trigger;
  r.triggered_by = rows.Text(i, 4);
  r.params_json = rows.Text(i, 5);
  r.logical_date = rows.Text(i, 6);
  r.created_at_ms = rows.Int(i, 7);
  r.started_at_ms = rows.OptInt(i, 8);
  r.finished_at_ms = rows.OptInt(i, 9);
  r.error = rows.Text(i, 10);
  return r;
}

Result<AttemptRecord> ReadAttempt(const PostgresControlStore::Rows& rows, int i,
                                  const std::string& where) {
  AttemptRecord a;
  a.id = rows.Int(i, 0);
  a.run_id = rows.Text(i, 1);
  a.task = rows.Text(i, 2);
  a.attempt = static_cast<int>(rows.Int(i, 3));
  auto status = ParseRunStatus(rows.Text(i, 4));
  if (!status.ok()) {
    return Status::Corruption("control store " + where + ": attempt " + std::to_string(a.id) +
                              ": " + status.status().message());
  }
  a.status = *status;
  a.worker = rows.Text(i, 5);
  a.created_at_ms = rows.Int(i, 6);
  a.heartbeat_at_ms = rows.OptInt(i, 7);
  a.started_at_ms = rows.OptInt(i, 8);
  a.finished_at_ms = rows.OptInt(i, 9);
  a.rows_read = rows.Int(i, 10);
  a.rows_written = rows.Int(i, 11);
  a.error = rows.Text(i, 12);
  a.priority = static_cast<int>(rows.Int(i, 13));
  a.not_before_ms = rows.Int(i, 14);
  return a;
}

Result<std::vector<AttemptRecord>> ReadAttempts(const PostgresControlStore::Rows& rows,
                                                const std::string& where) {
  std::vector<AttemptRecord> out;
  for (int i = 0; i < rows.size(); i++) {
    DEW_ASSIGN_OR_RETURN(AttemptRecord a, ReadAttempt(rows, i, where));
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<ScheduleRecord> ReadSchedules(const PostgresControlStore::Rows& rows) {
  std::vector<ScheduleRecord> out;
  for (int i = 0; i < rows.size(); i++) {
    ScheduleRecord s;
    s.pipeline = rows.Text(i, 0);
    s.cron = rows.Text(i, 1);
    s.timezone = rows.Text(i, 2);
    s.next_fire_at_ms = rows.Int(i, 3);
    auto policy = ParseCatchUpPolicy(rows.Text(i, 4));
    s.catch_up = policy.ok() ? *policy : CatchUpPolicy::kSkip;
    out.push_back(std::move(s));
  }
  return out;
}

// The password of a connection string, so that messages can leave it out; empty when none.
std::string PasswordOf(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  std::string password;
  if (options != nullptr) {
    for (PQconninfoOption* o = options; o->keyword != nullptr; o++) {
      if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr) password = o->val;
    }
    PQconninfoFree(options);
    return password;
  }
  PQfreemem(error);
  // Unparsable: guess the URL's userinfo password (user:password@) by hand.
  const size_t scheme = conninfo.find("://");
  if (scheme == std::string::npos) return "";
  const size_t at = conninfo.rfind('@');
  const size_t colon = conninfo.find(':', scheme + 3);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return "";
  return conninfo.substr(colon + 1, at - colon - 1);
}

std::string RedactIn(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3)) {
    text.replace(pos, secret.size(), "***");
  }
  return text;
}

}  // namespace

PostgresControlStore::Connection::~Connection() {
  PQfinish(conn);
}

PostgresControlStore::PostgresControlStore(std::string where, std::string password,
                                           std::string conninfo, std::string connect_timeout,
                                           std::shared_ptr<Clock> clock)
    : where_(std::move(where)),
      password_(std::move(password)),
      conninfo_(std::move(conninfo)),
      connect_timeout_(std::move(connect_timeout)),
      clock_(std::move(clock)) {}

PostgresControlStore::~PostgresControlStore() = default;

PGconn* PostgresControlStore::Connect(const std::string& conninfo,
                                      const std::string& connect_timeout) {
  // Our defaults come first: what the connection string says overrides them.
  const char* keys[] = {"application_name", "connect_timeout", "dbname", nullptr};
  const char* values[] = {"dew-control", connect_timeout.c_str(), conninfo.c_str(), nullptr};
  return PQconnectdbParams(keys, values, /*expand_dbname=*/1);
}

Result<PostgresControlStore::Lease> PostgresControlStore::Acquire() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!idle_.empty()) {
      Lease lease(idle_.back().release(), ReturnToPool{this});
      idle_.pop_back();
      return lease;
    }
  }
  // Every thread busy on a connection: open one more, so that commits overlap.
  auto c = std::make_unique<Connection>();
  c->conn = Connect(conninfo_, connect_timeout_);
  if (c->conn == nullptr) return Status::IOError("control store: libpq is out of memory");
  if (PQstatus(c->conn) != CONNECTION_OK) {
    return Status::IOError("control store " + where_ + ": cannot open another connection: " +
                           Redact(FirstLine(PQerrorMessage(c->conn))));
  }
  return Lease(c.release(), ReturnToPool{this});
}

void PostgresControlStore::ReturnToPool::operator()(Connection* c) const {
  std::unique_ptr<Connection> owned(c);
  // A broken connection, or one left inside a transaction, is dropped; the next Acquire opens a
  // fresh one.
  if (PQstatus(c->conn) != CONNECTION_OK || PQtransactionStatus(c->conn) != PQTRANS_IDLE) return;
  std::lock_guard<std::mutex> lock(store->pool_mu_);
  if (store->idle_.size() < kMaxIdleConnections) store->idle_.push_back(std::move(owned));
}

Result<std::unique_ptr<PostgresControlStore>> PostgresControlStore::Open(
    const std::string& conninfo, std::shared_ptr<Clock> clock,
    PostgresControlStoreOptions options) {
  const std::string password = PasswordOf(conninfo);
  {
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &error);
    if (parsed == nullptr) {
      std::string msg = error != nullptr ? FirstLine(error) : "out of memory";
      PQfreemem(error);
      return Status::InvalidArgument(
          "control store: cannot parse the PostgreSQL connection "
          "string: " +
          RedactIn(msg, password));
    }
    PQconninfoFree(parsed);
  }
  const std::string timeout = std::to_string(options.connect_timeout_seconds);
  PGconn* conn = Connect(conninfo, timeout);
  if (conn == nullptr) return Status::IOError("control store: libpq is out of memory");
  auto field = [](const char* value) { return std::string(value != nullptr ? value : ""); };
  const std::string where = "postgresql://" + field(PQuser(conn)) + "@" + field(PQhost(conn)) +
                            ":" + field(PQport(conn)) + "/" + field(PQdb(conn));
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string error = RedactIn(FirstLine(PQerrorMessage(conn)), password);
    const std::string who = "host " + field(PQhost(conn)) + ", port " + field(PQport(conn)) +
                            ", database " + field(PQdb(conn)) + ", user " + field(PQuser(conn));
    PQfinish(conn);
    if (Contains(error, "authentication failed") || Contains(error, "no pg_hba.conf entry") ||
        Contains(error, "password") ||
        (Contains(error, "role \"") && Contains(error, "does not exist"))) {
      return Status::InvalidArgument("control store: PostgreSQL refused authentication (" + who +
                                     "): " + error);
    }
    if (Contains(error, "database \"") && Contains(error, "does not exist")) {
      return Status::NotFound("control store: the database does not exist (" + who + "): " + error);
    }
    return Status::IOError("control store: cannot connect to PostgreSQL (" + who + "): " + error);
  }
  std::unique_ptr<PostgresControlStore> store(
      new PostgresControlStore(where, password, conninfo, timeout, std::move(clock)));
  auto first = std::make_unique<Connection>();
  first->conn = conn;
  DEW_RETURN_IF_ERROR(
      Migrate(conn, where, ControlStoreMigrations(), store->clock_->NowMillis()).status());
  store->idle_.push_back(std::move(first));
  return store;
}

std::string PostgresControlStore::Redact(std::string text) const {
  return RedactIn(std::move(text), password_);
}

Status PostgresControlStore::ErrorFrom(const Connection& c, const std::string& op,
                                       const PGresult* result) const {
  std::string error = result != nullptr ? PQresultErrorMessage(result) : "";
  if (error.empty()) error = PQerrorMessage(c.conn);
  std::string msg = "control store " + where_ + ": " + op + ": " + Redact(FirstLine(error));
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  if (sqlstate == "23505") return Status::AlreadyExists(std::move(msg));  // unique_violation
  if (sqlstate == "23503") return Status::NotFound(std::move(msg));       // foreign_key_violation
  // serialization_failure, deadlock_detected: another transaction won; the caller may retry.
  if (sqlstate == "40001" || sqlstate == "40P01") return Status::Conflict(std::move(msg));
  return Status::IOError(std::move(msg));
}

Result<PostgresControlStore::Rows> PostgresControlStore::Exec(Connection& c, const std::string& sql,
                                                              const Params& params,
                                                              const std::string& op) {
  auto it = c.prepared.find(sql);
  if (it == c.prepared.end()) {
    std::string name = "dew_" + std::to_string(c.prepared.size());
    Rows prepared(PQprepare(c.conn, name.c_str(), sql.c_str(), params.size(), nullptr));
    if (prepared.status() != PGRES_COMMAND_OK) {
      return ErrorFrom(c, op + ": preparing", prepared.get());
    }
    it = c.prepared.emplace(sql, std::move(name)).first;
  }
  const std::vector<const char*> values = params.Pointers();
  Rows rows(PQexecPrepared(c.conn, it->second.c_str(), params.size(), values.data(), nullptr,
                           nullptr, /*resultFormat=*/0));
  if (rows.status() != PGRES_COMMAND_OK && rows.status() != PGRES_TUPLES_OK) {
    return ErrorFrom(c, op, rows.get());
  }
  return rows;
}

Status PostgresControlStore::Command(Connection& c, const char* sql, const std::string& op) {
  PGresult* result = PQexec(c.conn, sql);
  Status s;
  if (result == nullptr || PQresultStatus(result) != PGRES_COMMAND_OK) s = ErrorFrom(c, op, result);
  PQclear(result);
  return s;
}

template <typename Body>
Status PostgresControlStore::InTransaction(Connection& c, const std::string& op, Body&& body) {
  DEW_RETURN_IF_ERROR(Command(c, "BEGIN", op + ": beginning a transaction"));
  Status s = body();
  if (s.ok()) s = Command(c, "COMMIT", op + ": committing");
  if (!s.ok()) PQclear(PQexec(c.conn, "ROLLBACK"));
  return s;
}

template <typename Fn>
auto PostgresControlStore::Retrying(Connection& c, Fn&& fn) -> decltype(fn()) {
  auto result = fn();
  if (result.ok() || PQstatus(c.conn) != CONNECTION_BAD) return result;
  // The connection dropped: statements prepared on it are gone with it.
  PQreset(c.conn);
  c.prepared.clear();
  if (PQstatus(c.conn) != CONNECTION_OK) return result;
  return fn();
}

// --- pipelines ---

Status PostgresControlStore::UpsertPipeline(const std::string& name, const std::string& spec_hash) {
  const std::string op = "upserting pipeline " + name;
  if (name.empty()) return Status::InvalidArgument(op + ": the name is empty");
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    return Exec(c,
                "INSERT INTO pipelines (name, spec_hash, updated_at) VALUES ($1, $2, $3) "
                "ON CONFLICT (name) DO UPDATE SET spec_hash = excluded.spec_hash, "
                "updated_at = excluded.updated_at",
                Params().Add(name).Add(spec_hash).Add(clock_->NowMillis()), op)
        .status();
  });
}

Result<PipelineRecord> PostgresControlStore::GetPipeline(const std::string& name) {
  const std::string op = "reading pipeline " + name;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<PipelineRecord> {
    DEW_ASSIGN_OR_RETURN(
        Rows rows, Exec(c, "SELECT name, spec_hash, updated_at FROM pipelines WHERE name = $1",
                        Params().Add(name), op));
    if (rows.size() == 0)
      return Status::NotFound("control store " + where_ + ": no pipeline " + name);
    return PipelineRecord{rows.Text(0, 0), rows.Text(0, 1), rows.Int(0, 2)};
  });
}

Result<std::vector<PipelineRecord>> PostgresControlStore::ListPipelines() {
  const std::string op = "listing pipelines";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<PipelineRecord>> {
    // COLLATE "C": byte order, as SQLite sorts, whatever the database's collation.
    DEW_ASSIGN_OR_RETURN(Rows rows, Exec(c,
                                         "SELECT name, spec_hash, updated_at FROM pipelines "
                                         "ORDER BY name COLLATE \"C\"",
                                         Params(), op));
    std::vector<PipelineRecord> out;
    for (int i = 0; i < rows.size(); i++) {
      out.push_back(PipelineRecord{rows.Text(i, 0), rows.Text(i, 1), rows.Int(i, 2)});
    }
    return out;
  });
}

// --- runs ---

Status PostgresControlStore::CreateRun(const NewRun& run) {
  const std::string op = "creating run " + run.id;
  if (run.id.empty()) return Status::InvalidArgument("creating a run: the id is empty");
  if (run.pipeline.empty()) return Status::InvalidArgument(op + ": the pipeline is empty");
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    return Exec(c,
                "INSERT INTO runs (" DEW_RUN_COLUMNS
                ") "
                "VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, NULL, NULL, '')",
                Params()
                    .Add(run.id)
                    .Add(run.pipeline)
                    .Add(std::string(TriggerKindName(run.trigger)))
                    .Add(run.triggered_by)
                    .Add(run.params_json.empty() ? std::string("{}") : run.params_json)
                    .Add(run.logical_date)
                    .Add(clock_->NowMillis()),
                op)
        .status();
  });
}

Result<RunRecord> PostgresControlStore::GetRunLocked(Connection& c, const std::string& run_id) {
  const std::string op = "reading run " + run_id;
  DEW_ASSIGN_OR_RETURN(Rows rows, Exec(c, "SELECT " DEW_RUN_COLUMNS " FROM runs WHERE id = $1",
                                       Params().Add(run_id), op));
  if (rows.size() == 0) return Status::NotFound("control store " + where_ + ": no run " + run_id);
  return ReadRun(rows, 0, where_);
}

Result<RunRecord> PostgresControlStore::GetRun(const std::string& run_id) {
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() { return GetRunLocked(c, run_id); });
}

Status PostgresControlStore::UpdateRunStatus(const std::string& run_id, RunStatus to,
                                             const std::string& error) {
  const std::string op = std::string("moving run ") + run_id + " to " + RunStatusName(to);
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    const int64_t now = clock_->NowMillis();
    // Runs never take skipped; an empty set of source states refuses it below.
    const std::string from = to == RunStatus::kSkipped ? "{}" : AllowedFrom(to);
    // The state check and the move are one statement: the row lock makes it atomic.
    DEW_ASSIGN_OR_RETURN(
        Rows rows,
        Exec(c,
             "UPDATE runs SET status = $1, started_at = coalesce($2::bigint, started_at), "
             "finished_at = $3::bigint, error = $4 WHERE id = $5 AND status = ANY($6::text[])",
             Params()
                 .Add(std::string(RunStatusName(to)))
                 .Add(to == RunStatus::kRunning ? std::optional<int64_t>(now) : std::nullopt)
                 .Add(IsFinished(to) ? std::optional<int64_t>(now) : std::nullopt)
                 .Add(error)
                 .Add(run_id)
                 .Add(from),
             op));
    if (rows.affected() == 1) return Status::OK();
    DEW_ASSIGN_OR_RETURN(RunRecord run, GetRunLocked(c, run_id));
    return Status::InvalidArgument("run " + run_id + " cannot move from " +
                                   RunStatusName(run.status) + " to " + RunStatusName(to));
  });
}

Result<bool> PostgresControlStore::TryStartRun(const std::string& run_id, int max_running) {
  const std::string op = "starting run " + run_id;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<bool> {
    bool started = false;
    DEW_RETURN_IF_ERROR(InTransaction(c, op, [&]() -> Status {
      // Serializes the count-then-move per pipeline across processes; READ COMMITTED gives the
      // UPDATE below a snapshot taken after the lock, so it sees the previous holder's start.
      DEW_ASSIGN_OR_RETURN(Rows locked,
                           Exec(c,
                                "SELECT pg_advisory_xact_lock(7170912, hashtext(pipeline)) "
                                "FROM runs WHERE id = $1",
                                Params().Add(run_id), op));
      if (locked.size() == 0) {
        return Status::NotFound("control store " + where_ + ": no run " + run_id);
      }
      DEW_ASSIGN_OR_RETURN(
          Rows rows,
          Exec(c,
               "UPDATE runs SET status = 'running', started_at = $2 "
               "WHERE id = $1 AND status = 'queued' AND "
               "(SELECT count(*) FROM runs o WHERE o.pipeline = runs.pipeline AND "
               "o.status = 'running') < $3",
               Params().Add(run_id).Add(clock_->NowMillis()).Add(static_cast<int64_t>(max_running)),
               op));
      started = rows.affected() == 1;
      return Status::OK();
    }));
    return started;
  });
}

Result<std::vector<RunRecord>> PostgresControlStore::ListRuns(const RunFilter& filter) {
  const std::string op = "listing runs";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<RunRecord>> {
    const std::string status = filter.status ? RunStatusName(*filter.status) : "";
    DEW_ASSIGN_OR_RETURN(
        Rows rows, Exec(c,
                        "SELECT " DEW_RUN_COLUMNS " FROM runs "
                        "WHERE ($1::text = '' OR pipeline = $1) AND ($2::text = '' OR status = $2) "
                        "ORDER BY created_at DESC, id COLLATE \"C\" DESC LIMIT $3",
                        Params()
                            .Add(filter.pipeline)
                            .Add(status)
                            .Add(static_cast<int64_t>(filter.limit < 0 ? 0 : filter.limit)),
                        op));
    std::vector<RunRecord> out;
    for (int i = 0; i < rows.size(); i++) {
      DEW_ASSIGN_OR_RETURN(RunRecord r, ReadRun(rows, i, where_));
      out.push_back(std::move(r));
    }
    return out;
  });
}

// --- task attempts ---

Result<int64_t> PostgresControlStore::InsertAttemptLocked(Connection& c, const NewAttempt& a,
                                                          const std::string& worker) {
  const std::string op =
      "adding attempt " + std::to_string(a.attempt) + " of task " + a.task + " to run " + a.run_id;
  if (a.task.empty()) return Status::InvalidArgument(op + ": the task name is empty");
  if (a.attempt < 1) return Status::InvalidArgument(op + ": attempt numbers start at 1");
  const bool running = a.status == AttemptStatus::kRunning;
  const bool skipped = a.status == AttemptStatus::kSkipped;
  if (!running && !skipped && a.status != AttemptStatus::kQueued) {
    return Status::InvalidArgument(op + ": an attempt is added queued or skipped, not " +
                                   RunStatusName(a.status));
  }
  const int64_t now = clock_->NowMillis();
  auto rows = Exec(
      c,
      "INSERT INTO task_attempts (run_id, task, attempt, status, worker, created_at, "
      "heartbeat_at, started_at, finished_at, rows_read, rows_written, error, priority, "
      "not_before) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, $10, $11, $12) RETURNING id",
      Params()
          .Add(a.run_id)
          .Add(a.task)
          .Add(static_cast<int64_t>(a.attempt))
          .Add(std::string(RunStatusName(a.status)))
          .Add(worker)
          .Add(now)
          .Add(running ? std::optional<int64_t>(now) : std::nullopt)
          .Add(running ? std::optional<int64_t>(now) : std::nullopt)
          .Add(skipped ? std::optional<int64_t>(now) : std::nullopt)
          .Add(skipped ? a.error : std::string())
          .Add(static_cast<int64_t>(a.priority))
          .Add(a.not_before_ms),
      op);
  if (!rows.ok()) {
    if (rows.status().IsNotFound()) {
      return Status::NotFound("control store " + where_ + ": " + op + ": no run " + a.run_id);
    }
    return rows.status();
  }
  return rows->Int(0, 0);
}

Result<int64_t> PostgresControlStore::EnqueueAttempt(const std::string& run_id,
                                                     const std::string& task, int attempt) {
  NewAttempt a;
  a.run_id = run_id;
  a.task = task;
  a.attempt = attempt;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() { return InsertAttemptLocked(c, a, ""); });
}

Result<int64_t> PostgresControlStore::StartAttempt(const std::string& run_id,
                                                   const std::string& task, int attempt,
                                                   const std::string& worker) {
  NewAttempt a;
  a.run_id = run_id;
  a.task = task;
  a.attempt = attempt;
  a.status = AttemptStatus::kRunning;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() { return InsertAttemptLocked(c, a, worker); });
}

Result<int64_t> PostgresControlStore::AddAttempt(const NewAttempt& attempt) {
  if (attempt.status == AttemptStatus::kRunning) {
    return Status::InvalidArgument("adding attempt " + std::to_string(attempt.attempt) +
                                   " of task " + attempt.task + " to run " + attempt.run_id +
                                   ": use StartAttempt for a running attempt");
  }
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() { return InsertAttemptLocked(c, attempt, ""); });
}

Result<AttemptRecord> PostgresControlStore::GetAttemptLocked(Connection& c, int64_t attempt_id) {
  const std::string op = "reading attempt " + std::to_string(attempt_id);
  DEW_ASSIGN_OR_RETURN(Rows rows,
                       Exec(c, "SELECT " DEW_ATTEMPT_COLUMNS " FROM task_attempts WHERE id = $1",
                            Params().Add(attempt_id), op));
  if (rows.size() == 0) {
    return Status::NotFound("control store " + where_ + ": no attempt " +
                            std::to_string(attempt_id));
  }
  return ReadAttempt(rows, 0, where_);
}

Result<AttemptRecord> PostgresControlStore::GetAttempt(int64_t attempt_id) {
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() { return GetAttemptLocked(c, attempt_id); });
}

Result<std::optional<AttemptRecord>> PostgresControlStore::ClaimNextAttempt(
    const std::string& worker) {
  const std::string op = "claiming an attempt for worker " + worker;
  if (worker.empty()) return Status::InvalidArgument("claiming an attempt: the worker is empty");
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::optional<AttemptRecord>> {
    // One statement, one transaction: the subquery locks the chosen row and skips rows other
    // claimers hold locked, so concurrent workers take different attempts without waiting.
    DEW_ASSIGN_OR_RETURN(
        Rows rows,
        Exec(c,
             "UPDATE task_attempts SET status = 'running', worker = $1, started_at = $2, "
             "heartbeat_at = $2 WHERE id = ("
             "SELECT a.id FROM task_attempts a JOIN runs r ON r.id = a.run_id "
             "WHERE a.status = 'queued' AND a.not_before <= $2 "
             "AND r.status IN ('queued', 'running') "
             "ORDER BY a.priority DESC, a.created_at, a.id LIMIT 1 "
             "FOR UPDATE OF a SKIP LOCKED) RETURNING " DEW_ATTEMPT_COLUMNS,
             Params().Add(worker).Add(clock_->NowMillis()), op));
    if (rows.size() == 0) return std::optional<AttemptRecord>();
    DEW_ASSIGN_OR_RETURN(AttemptRecord a, ReadAttempt(rows, 0, where_));
    return std::optional<AttemptRecord>(std::move(a));
  });
}

Status PostgresControlStore::Heartbeat(int64_t attempt_id, const std::string& worker) {
  const std::string op = "heartbeat of attempt " + std::to_string(attempt_id);
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    // A heartbeat lost with a server crash is harmless (the stored time is at most the async
    // commit window, well under a second, older than the worker believes; its claim is held
    // only stale_after/2 past a heartbeat), so it is not flushed to disk before the reply: no
    // fsync per running attempt per second competing with claims and results, which stay
    // synchronous.
    bool renewed = false;
    DEW_RETURN_IF_ERROR(InTransaction(c, op, [&]() -> Status {
      DEW_RETURN_IF_ERROR(Command(c, "SET LOCAL synchronous_commit = off", op));
      DEW_ASSIGN_OR_RETURN(Rows rows,
                           Exec(c,
                                "UPDATE task_attempts SET heartbeat_at = $1 "
                                "WHERE id = $2 AND status = 'running' AND worker = $3",
                                Params().Add(clock_->NowMillis()).Add(attempt_id).Add(worker), op));
      renewed = rows.affected() == 1;
      return Status::OK();
    }));
    if (renewed) return Status::OK();
    DEW_ASSIGN_OR_RETURN(AttemptRecord a, GetAttemptLocked(c, attempt_id));
    return Status::InvalidArgument("attempt " + std::to_string(attempt_id) + " is " +
                                   RunStatusName(a.status) + " on worker '" + a.worker +
                                   "', not running on worker '" + worker + "'");
  });
}

Status PostgresControlStore::FinishAttempt(int64_t attempt_id, AttemptStatus status,
                                           int64_t rows_read, int64_t rows_written,
                                           const std::string& error) {
  const std::string op = std::string("finishing attempt ") + std::to_string(attempt_id) + " as " +
                         RunStatusName(status);
  if (!IsFinished(status)) {
    return Status::InvalidArgument(op + ": " + RunStatusName(status) + " is not a final state");
  }
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    DEW_ASSIGN_OR_RETURN(
        Rows rows, Exec(c,
                        "UPDATE task_attempts SET status = $1, finished_at = $2, rows_read = $3, "
                        "rows_written = $4, error = $5 WHERE id = $6 AND status = ANY($7::text[])",
                        Params()
                            .Add(std::string(RunStatusName(status)))
                            .Add(clock_->NowMillis())
                            .Add(rows_read)
                            .Add(rows_written)
                            .Add(error)
                            .Add(attempt_id)
                            .Add(AllowedFrom(status)),
                        op));
    if (rows.affected() == 1) return Status::OK();
    DEW_ASSIGN_OR_RETURN(AttemptRecord a, GetAttemptLocked(c, attempt_id));
    return Status::InvalidArgument("attempt " + std::to_string(attempt_id) + " (task " + a.task +
                                   " of run " + a.run_id + ") cannot move from " +
                                   RunStatusName(a.status) + " to " + RunStatusName(status));
  });
}

Result<std::vector<AttemptRecord>> PostgresControlStore::ListAttempts(const std::string& run_id) {
  const std::string op = "listing attempts of run " + run_id;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<AttemptRecord>> {
    DEW_ASSIGN_OR_RETURN(Rows rows, Exec(c,
                                         "SELECT " DEW_ATTEMPT_COLUMNS " FROM task_attempts "
                                         "WHERE run_id = $1 ORDER BY task COLLATE \"C\", attempt",
                                         Params().Add(run_id), op));
    return ReadAttempts(rows, where_);
  });
}

Result<std::vector<AttemptRecord>> PostgresControlStore::ListTaskAttempts(
    const std::string& run_id, const std::vector<std::string>& tasks) {
  const std::string op =
      "listing attempts of " + std::to_string(tasks.size()) + " tasks of run " + run_id;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<AttemptRecord>> {
    DEW_ASSIGN_OR_RETURN(Rows rows, Exec(c,
                                         "SELECT " DEW_ATTEMPT_COLUMNS " FROM task_attempts "
                                         "WHERE run_id = $1 AND task = ANY($2::text[]) "
                                         "ORDER BY task COLLATE \"C\", attempt",
                                         Params().Add(run_id).Add(TextArray(tasks)), op));
    return ReadAttempts(rows, where_);
  });
}

Result<int> PostgresControlStore::CancelQueuedAttempts(const std::string& run_id,
                                                       const std::string& error) {
  const std::string op = "cancelling the queued attempts of run " + run_id;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<int> {
    DEW_ASSIGN_OR_RETURN(Rows rows,
                         Exec(c,
                              "UPDATE task_attempts SET status = 'cancelled', finished_at = $1, "
                              "error = $2 WHERE run_id = $3 AND status = 'queued'",
                              Params().Add(clock_->NowMillis()).Add(error).Add(run_id), op));
    return static_cast<int>(rows.affected());
  });
}

namespace {

// The UPDATE of FailStaleAttempts; $1 is now, $2 the limit, $3 (when `one`) the attempt id.
std::string FailStaleSql(bool one) {
  return std::string(
             "UPDATE task_attempts SET status = 'failed', finished_at = $1::bigint, "
             "error = 'worker ''' || worker || ''' stopped heartbeating: last heartbeat ' || "
             "($1::bigint - coalesce(heartbeat_at, started_at, created_at)) || ' ms ago, limit ' "
             "|| $2::bigint || ' ms' "
             "WHERE status = 'running' AND "
             "coalesce(heartbeat_at, started_at, created_at) < $1::bigint - $2::bigint ") +
         (one ? "AND id = $3::bigint " : "") + "RETURNING " DEW_ATTEMPT_COLUMNS;
}

}  // namespace

Result<std::vector<AttemptRecord>> PostgresControlStore::FailStaleAttempts(int64_t older_than_ms) {
  const std::string op = "failing stale attempts";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<AttemptRecord>> {
    const int64_t now = clock_->NowMillis();
    // An attempt whose worker heartbeats concurrently is re-checked after that update commits
    // (READ COMMITTED re-evaluates the WHERE on the new row), so a live worker is never failed.
    DEW_ASSIGN_OR_RETURN(Rows rows,
                         Exec(c, FailStaleSql(false), Params().Add(now).Add(older_than_ms), op));
    DEW_ASSIGN_OR_RETURN(std::vector<AttemptRecord> failed, ReadAttempts(rows, where_));
    std::sort(failed.begin(), failed.end(),
              [](const AttemptRecord& a, const AttemptRecord& b) { return a.id < b.id; });
    return failed;
  });
}

Result<std::vector<AttemptRecord>> PostgresControlStore::ListStaleAttempts(int64_t older_than_ms) {
  const std::string op = "listing stale attempts";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<AttemptRecord>> {
    DEW_ASSIGN_OR_RETURN(
        Rows rows,
        Exec(c,
             "SELECT " DEW_ATTEMPT_COLUMNS " FROM task_attempts WHERE status = 'running' AND "
             "coalesce(heartbeat_at, started_at, created_at) < $1::bigint - $2::bigint "
             "ORDER BY id",
             Params().Add(clock_->NowMillis()).Add(older_than_ms), op));
    return ReadAttempts(rows, where_);
  });
}

Result<std::optional<AttemptRecord>> PostgresControlStore::FailStaleAttempt(int64_t attempt_id,
                                                                            int64_t older_than_ms) {
  const std::string op = "failing stale attempt " + std::to_string(attempt_id);
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::optional<AttemptRecord>> {
    DEW_ASSIGN_OR_RETURN(
        Rows rows, Exec(c, FailStaleSql(true),
                        Params().Add(clock_->NowMillis()).Add(older_than_ms).Add(attempt_id), op));
    DEW_ASSIGN_OR_RETURN(std::vector<AttemptRecord> failed, ReadAttempts(rows, where_));
    if (failed.empty()) return std::optional<AttemptRecord>();
    return std::optional<AttemptRecord>(std::move(failed[0]));
  });
}

// --- schedules ---

Status PostgresControlStore::UpsertSchedule(const ScheduleRecord& schedule) {
  const std::string op = "upserting the schedule of pipeline " + schedule.pipeline;
  if (schedule.pipeline.empty()) {
    return Status::InvalidArgument("upserting a schedule: the pipeline is empty");
  }
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    return Exec(c,
                "INSERT INTO schedules (" DEW_SCHEDULE_COLUMNS
                ") VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (pipeline) DO UPDATE SET cron = excluded.cron, "
                "timezone = excluded.timezone, next_fire_at = excluded.next_fire_at, "
                "catch_up = excluded.catch_up",
                Params()
                    .Add(schedule.pipeline)
                    .Add(schedule.cron)
                    .Add(schedule.timezone)
                    .Add(schedule.next_fire_at_ms)
                    .Add(std::string(CatchUpPolicyName(schedule.catch_up))),
                op)
        .status();
  });
}

Result<std::vector<ScheduleRecord>> PostgresControlStore::ListSchedules() {
  const std::string op = "listing schedules";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<ScheduleRecord>> {
    DEW_ASSIGN_OR_RETURN(Rows rows, Exec(c,
                                         "SELECT " DEW_SCHEDULE_COLUMNS " FROM schedules "
                                         "ORDER BY pipeline COLLATE \"C\"",
                                         Params(), op));
    return ReadSchedules(rows);
  });
}

Result<std::vector<ScheduleRecord>> PostgresControlStore::DueSchedules(int64_t now_ms) {
  const std::string op = "listing due schedules";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<ScheduleRecord>> {
    DEW_ASSIGN_OR_RETURN(Rows rows, Exec(c,
                                         "SELECT " DEW_SCHEDULE_COLUMNS " FROM schedules "
                                         "WHERE next_fire_at <= $1 "
                                         "ORDER BY next_fire_at, pipeline COLLATE \"C\"",
                                         Params().Add(now_ms), op));
    return ReadSchedules(rows);
  });
}

Result<bool> PostgresControlStore::AdvanceSchedule(const std::string& pipeline,
                                                   int64_t expected_next_fire_ms,
                                                   int64_t new_next_fire_ms) {
  const std::string op = "advancing the schedule of pipeline " + pipeline;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<bool> {
    // A concurrent advance holds the row lock; this UPDATE waits for it, then re-checks
    // next_fire_at on the committed row and matches nothing.
    DEW_ASSIGN_OR_RETURN(
        Rows rows,
        Exec(c,
             "UPDATE schedules SET next_fire_at = $1 "
             "WHERE pipeline = $2 AND next_fire_at = $3",
             Params().Add(new_next_fire_ms).Add(pipeline).Add(expected_next_fire_ms), op));
    if (rows.affected() == 1) return true;
    DEW_ASSIGN_OR_RETURN(Rows exists, Exec(c, "SELECT 1 FROM schedules WHERE pipeline = $1",
                                           Params().Add(pipeline), op));
    if (exists.size() == 0) {
      return Status::NotFound("control store " + where_ + ": no schedule for pipeline " + pipeline);
    }
    return false;
  });
}

// --- leases ---

Result<bool> PostgresControlStore::AcquireLease(const std::string& name, const std::string& holder,
                                                int64_t ttl_ms) {
  const std::string op = "acquiring lease " + name + " for " + holder;
  if (name.empty() || holder.empty()) {
    return Status::InvalidArgument(op + ": the lease name and holder must not be empty");
  }
  if (ttl_ms <= 0) {
    return Status::InvalidArgument(op + ": ttl " + std::to_string(ttl_ms) + " ms is not positive");
  }
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<bool> {
    const int64_t now = clock_->NowMillis();
    // ON CONFLICT takes the row lock; the WHERE then decides on the committed row, so of two
    // concurrent takers of an expired lease exactly one gets it.
    DEW_ASSIGN_OR_RETURN(Rows rows,
                         Exec(c,
                              "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) "
                              "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                              "expires_at = excluded.expires_at "
                              "WHERE leases.holder = excluded.holder OR leases.expires_at <= $4",
                              Params().Add(name).Add(holder).Add(now + ttl_ms).Add(now), op));
    return rows.affected() == 1;
  });
}

Status PostgresControlStore::ReleaseLease(const std::string& name, const std::string& holder) {
  const std::string op = "releasing lease " + name + " of " + holder;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    return Exec(c, "DELETE FROM leases WHERE name = $1 AND holder = $2",
                Params().Add(name).Add(holder), op)
        .status();
  });
}

// --- connector state ---

Status PostgresControlStore::PutConnectorState(const ConnectorState& state) {
  const std::string op = "writing the state of " + state.connection + "/" + state.stream;
  if (state.connection.empty()) {
    return Status::InvalidArgument("writing connector state: the connection is empty");
  }
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    return Exec(c,
                "INSERT INTO connector_state (connection, stream, state, updated_at, run_id) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (connection, stream) DO UPDATE SET "
                "state = excluded.state, updated_at = excluded.updated_at, "
                "run_id = excluded.run_id",
                Params()
                    .Add(state.connection)
                    .Add(state.stream)
                    .Add(state.state_json)
                    .Add(clock_->NowMillis())
                    .Add(state.run_id),
                op)
        .status();
  });
}

Result<ConnectorState> PostgresControlStore::GetConnectorState(const std::string& connection,
                                                               const std::string& stream) {
  const std::string op = "reading the state of " + connection + "/" + stream;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<ConnectorState> {
    DEW_ASSIGN_OR_RETURN(Rows rows,
                         Exec(c,
                              "SELECT connection, stream, state, updated_at, run_id "
                              "FROM connector_state WHERE connection = $1 AND stream = $2",
                              Params().Add(connection).Add(stream), op));
    if (rows.size() == 0) {
      return Status::NotFound("control store " + where_ + ": no state for connection " +
                              connection + " stream " + stream);
    }
    return ConnectorState{rows.Text(0, 0), rows.Text(0, 1), rows.Text(0, 2), rows.Int(0, 3),
                          rows.Text(0, 4)};
  });
}

// --- events ---

Result<int64_t> PostgresControlStore::AppendEvent(const std::string& kind,
                                                  const std::string& payload_json) {
  const std::string op = "appending event " + kind;
  if (kind.empty()) return Status::InvalidArgument("appending an event: the kind is empty");
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<int64_t> {
    // Ids come from a sequence; without the lock, a reader could see id 5 committed before id 4
    // and, reading "after 5" next, never see 4. The lock holds until this statement commits.
    DEW_ASSIGN_OR_RETURN(Rows rows,
                         Exec(c,
                              "WITH ordered AS (SELECT " + std::string(kEventLockSql) +
                                  ") INSERT INTO events (kind, payload, created_at) "
                                  "SELECT $1::text, $2::text, $3::bigint FROM ordered RETURNING id",
                              Params().Add(kind).Add(payload_json).Add(clock_->NowMillis()), op));
    if (rows.size() != 1) {
      return Status::Internal("control store " + where_ + ": " + op + ": no id returned");
    }
    return rows.Int(0, 0);
  });
}

Result<std::vector<EventRecord>> PostgresControlStore::ListEvents(int64_t after_id, int limit) {
  const std::string op = "listing events";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<EventRecord>> {
    DEW_ASSIGN_OR_RETURN(
        Rows rows,
        Exec(c,
             "SELECT id, kind, payload, created_at FROM events "
             "WHERE id > $1 ORDER BY id LIMIT $2",
             Params().Add(after_id).Add(static_cast<int64_t>(limit < 0 ? 0 : limit)), op));
    std::vector<EventRecord> out;
    for (int i = 0; i < rows.size(); i++) {
      out.push_back(EventRecord{rows.Int(i, 0), rows.Text(i, 1), rows.Text(i, 2), rows.Int(i, 3)});
    }
    return out;
  });
}

Result<EventRecord> PostgresControlStore::GetEvent(int64_t event_id) {
  const std::string op = "reading event " + std::to_string(event_id);
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<EventRecord> {
    DEW_ASSIGN_OR_RETURN(Rows rows,
                         Exec(c, "SELECT id, kind, payload, created_at FROM events WHERE id = $1",
                              Params().Add(event_id), op));
    if (rows.size() == 0) {
      return Status::NotFound("control store " + where_ + ": no event " + std::to_string(event_id));
    }
    return EventRecord{rows.Int(0, 0), rows.Text(0, 1), rows.Text(0, 2), rows.Int(0, 3)};
  });
}

// --- webhook deliveries ---

#define DEW_DELIVERY_COLUMNS                                                                \
  "id, event_id, webhook, url, status, attempts, next_attempt_at, last_error, created_at, " \
  "delivered_at"

static Result<std::vector<DeliveryRecord>> ReadDeliveries(const PostgresControlStore::Rows& rows,
                                                          const std::string& where) {
  std::vector<DeliveryRecord> out;
  for (int i = 0; i < rows.size(); i++) {
    DeliveryRecord d;
    d.id = rows.Int(i, 0);
    d.event_id = rows.Int(i, 1);
    d.webhook = rows.Text(i, 2);
    d.url = rows.Text(i, 3);
    auto status = ParseDeliveryStatus(rows.Text(i, 4));
    if (!status.ok()) {
      return Status::Corruption("control store " + where + ": delivery " + std::to_string(d.id) +
                                ": " + status.status().message());
    }
    d.status = *status;
    d.attempts = static_cast<int>(rows.Int(i, 5));
    d.next_attempt_at_ms = rows.Int(i, 6);
    d.last_error = rows.Text(i, 7);
    d.created_at_ms = rows.Int(i, 8);
    d.delivered_at_ms = rows.OptInt(i, 9);
    out.push_back(std::move(d));
  }
  return out;
}

Result<int64_t> PostgresControlStore::AddDelivery(int64_t event_id, const std::string& webhook,
                                                  const std::string& url) {
  const std::string op =
      "adding a delivery of event " + std::to_string(event_id) + " to webhook " + webhook;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<int64_t> {
    const int64_t now = clock_->NowMillis();
    auto rows = Exec(c,
                     "INSERT INTO webhook_deliveries (event_id, webhook, url, status, attempts, "
                     "next_attempt_at, last_error, created_at, delivered_at) "
                     "VALUES ($1, $2, $3, 'pending', 0, $4, '', $4, NULL) RETURNING id",
                     Params().Add(event_id).Add(webhook).Add(url).Add(now), op);
    if (!rows.ok()) {
      if (rows.status().IsNotFound()) {
        return Status::NotFound("control store " + where_ + ": " + op + ": no such event");
      }
      return rows.status();
    }
    return rows->Int(0, 0);
  });
}

Result<std::vector<DeliveryRecord>> PostgresControlStore::ClaimDueDeliveries(int64_t lease_ms,
                                                                             int limit) {
  const std::string op = "claiming due webhook deliveries";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<DeliveryRecord>> {
    const int64_t now = clock_->NowMillis();
    // Like attempt claims: SKIP LOCKED lets two dispatchers take disjoint deliveries. RETURNING
    // gives the rows after the update; next_attempt_at is reported as it was (due), as on SQLite.
    DEW_ASSIGN_OR_RETURN(
        Rows rows,
        Exec(c,
             "WITH due AS (SELECT id, next_attempt_at AS due_at FROM webhook_deliveries "
             "WHERE status = 'pending' AND next_attempt_at <= $1::bigint "
             "ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) "
             "UPDATE webhook_deliveries d SET next_attempt_at = $1::bigint + $3::bigint "
             "FROM due WHERE d.id = due.id RETURNING d.id, d.event_id, d.webhook, d.url, "
             "d.status, d.attempts, due.due_at, d.last_error, d.created_at, d.delivered_at",
             Params().Add(now).Add(static_cast<int64_t>(limit < 0 ? 0 : limit)).Add(lease_ms), op));
    DEW_ASSIGN_OR_RETURN(std::vector<DeliveryRecord> out, ReadDeliveries(rows, where_));
    std::sort(out.begin(), out.end(), [](const DeliveryRecord& a, const DeliveryRecord& b) {
      return a.next_attempt_at_ms != b.next_attempt_at_ms
                 ? a.next_attempt_at_ms < b.next_attempt_at_ms
                 : a.id < b.id;
    });
    return out;
  });
}

Status PostgresControlStore::FinishDeliveryAttempt(int64_t delivery_id, DeliveryStatus status,
                                                   int64_t next_attempt_at_ms,
                                                   const std::string& error) {
  const std::string op = "recording an attempt of delivery " + std::to_string(delivery_id);
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    DEW_ASSIGN_OR_RETURN(
        Rows rows,
        Exec(c,
             "UPDATE webhook_deliveries SET status = $1::text, attempts = attempts + 1, "
             "next_attempt_at = $2, last_error = $3, delivered_at = CASE WHEN $1::text = "
             "'delivered' THEN $4::bigint ELSE delivered_at END WHERE id = $5",
             Params()
                 .Add(std::string(DeliveryStatusName(status)))
                 .Add(next_attempt_at_ms)
                 .Add(error)
                 .Add(clock_->NowMillis())
                 .Add(delivery_id),
             op));
    if (rows.affected() != 1) {
      return Status::NotFound("control store " + where_ + ": no delivery " +
                              std::to_string(delivery_id));
    }
    return Status::OK();
  });
}

Result<DeliveryRecord> PostgresControlStore::GetDelivery(int64_t delivery_id) {
  const std::string op = "reading delivery " + std::to_string(delivery_id);
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<DeliveryRecord> {
    DEW_ASSIGN_OR_RETURN(
        Rows rows, Exec(c, "SELECT " DEW_DELIVERY_COLUMNS " FROM webhook_deliveries WHERE id = $1",
                        Params().Add(delivery_id), op));
    DEW_ASSIGN_OR_RETURN(std::vector<DeliveryRecord> out, ReadDeliveries(rows, where_));
    if (out.empty()) {
      return Status::NotFound("control store " + where_ + ": no delivery " +
                              std::to_string(delivery_id));
    }
    return out[0];
  });
}

Result<std::vector<DeliveryRecord>> PostgresControlStore::ListDeliveries(
    const DeliveryFilter& filter) {
  const std::string op = "listing webhook deliveries";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<DeliveryRecord>> {
    const std::string status = filter.status ? DeliveryStatusName(*filter.status) : "";
    DEW_ASSIGN_OR_RETURN(
        Rows rows,
        Exec(c,
             "SELECT " DEW_DELIVERY_COLUMNS " FROM webhook_deliveries "
             "WHERE ($1::text = '' OR status = $1) ORDER BY id DESC LIMIT $2",
             Params().Add(status).Add(static_cast<int64_t>(filter.limit < 0 ? 0 : filter.limit)),
             op));
    return ReadDeliveries(rows, where_);
  });
}

Status PostgresControlStore::ReplayDelivery(int64_t delivery_id) {
  const std::string op = "replaying delivery " + std::to_string(delivery_id);
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    DEW_ASSIGN_OR_RETURN(Rows rows,
                         Exec(c,
                              "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, "
                              "next_attempt_at = $1 WHERE id = $2",
                              Params().Add(clock_->NowMillis()).Add(delivery_id), op));
    if (rows.affected() != 1) {
      return Status::NotFound("control store " + where_ + ": no delivery " +
                              std::to_string(delivery_id));
    }
    return Status::OK();
  });
}

// --- test results and quality scores ---

#define DEW_TEST_RESULT_COLUMNS                                                                 \
  "id, run_id, test_id, target, relation, test_type, severity, status, failures, message, at, " \
  "duration_ms, observed"
#define DEW_SCORE_COLUMNS \
  "run_id, target, passed_weight, total_weight, checks, failed, upstream, at"

static std::vector<TestResultRecord> ReadTestResults(const PostgresControlStore::Rows& rows) {
  std::vector<TestResultRecord> out;
  for (int i = 0; i < rows.size(); i++) {
    TestResultRecord r;
    r.id = rows.Int(i, 0);
    r.run_id = rows.Text(i, 1);
    r.test_id = rows.Text(i, 2);
    r.target = rows.Text(i, 3);
    r.relation = rows.Text(i, 4);
    r.test_type = rows.Text(i, 5);
    r.severity = rows.Text(i, 6);
    r.status = rows.Text(i, 7);
    r.failures = rows.Int(i, 8);
    r.message = rows.Text(i, 9);
    r.at_ms = rows.Int(i, 10);
    r.duration_ms = rows.Int(i, 11);
    r.observed = rows.OptInt(i, 12);
    out.push_back(std::move(r));
  }
  return out;
}

static std::vector<QualityScoreRecord> ReadQualityScores(const PostgresControlStore::Rows& rows) {
  std::vector<QualityScoreRecord> out;
  for (int i = 0; i < rows.size(); i++) {
    QualityScoreRecord q;
    q.run_id = rows.Text(i, 0);
    q.target = rows.Text(i, 1);
    q.passed_weight = rows.Int(i, 2);
    q.total_weight = rows.Int(i, 3);
    q.checks = static_cast<int>(rows.Int(i, 4));
    q.failed = static_cast<int>(rows.Int(i, 5));
    q.upstream_json = rows.Text(i, 6);
    q.at_ms = rows.Int(i, 7);
    out.push_back(std::move(q));
  }
  return out;
}

Status PostgresControlStore::AddTestResults(const std::vector<TestResultRecord>& results) {
  const std::string op = "adding " + std::to_string(results.size()) + " test results";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    return InTransaction(c, op, [&]() -> Status {
      for (const TestResultRecord& r : results) {
        auto rows = Exec(
            c,
            "INSERT INTO test_results (run_id, test_id, target, relation, test_type, severity, "
            "status, failures, message, at, duration_ms, observed) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            Params()
                .Add(r.run_id)
                .Add(r.test_id)
                .Add(r.target)
                .Add(r.relation)
                .Add(r.test_type)
                .Add(r.severity)
                .Add(r.status)
                .Add(r.failures)
                .Add(r.message)
                .Add(r.at_ms)
                .Add(r.duration_ms)
                .Add(r.observed),
            op);
        if (!rows.ok() && rows.status().IsNotFound()) {
          return Status::NotFound("control store " + where_ + ": " + op + ": no run " + r.run_id);
        }
        DEW_RETURN_IF_ERROR(rows.status());
      }
      return Status::OK();
    });
  });
}

Result<std::vector<TestResultRecord>> PostgresControlStore::ListTestResults(
    const TestResultFilter& filter) {
  const std::string op = "listing test results";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<TestResultRecord>> {
    DEW_ASSIGN_OR_RETURN(
        Rows rows, Exec(c,
                        "SELECT " DEW_TEST_RESULT_COLUMNS
                        " FROM test_results WHERE ($1::text = '' OR run_id = $1) AND "
                        "($2::text = '' OR target = $2) AND ($3::text = '' OR test_id = $3) AND "
                        "($4::bigint = 0 OR status <> 'pass') ORDER BY id DESC LIMIT $5",
                        Params()
                            .Add(filter.run_id)
                            .Add(filter.target)
                            .Add(filter.test_id)
                            .Add(static_cast<int64_t>(filter.problems_only ? 1 : 0))
                            .Add(static_cast<int64_t>(filter.limit < 0 ? 0 : filter.limit)),
                        op));
    return ReadTestResults(rows);
  });
}

Status PostgresControlStore::AddQualityScores(const std::vector<QualityScoreRecord>& scores) {
  const std::string op = "adding " + std::to_string(scores.size()) + " quality scores";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Status {
    return InTransaction(c, op, [&]() -> Status {
      for (const QualityScoreRecord& q : scores) {
        // A later task of the same run that tested the target again replaces its score.
        auto rows = Exec(c,
                         "INSERT INTO quality_scores (" DEW_SCORE_COLUMNS
                         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (run_id, target) "
                         "DO UPDATE SET passed_weight = EXCLUDED.passed_weight, "
                         "total_weight = EXCLUDED.total_weight, checks = EXCLUDED.checks, "
                         "failed = EXCLUDED.failed, upstream = EXCLUDED.upstream, at = EXCLUDED.at",
                         Params()
                             .Add(q.run_id)
                             .Add(q.target)
                             .Add(q.passed_weight)
                             .Add(q.total_weight)
                             .Add(static_cast<int64_t>(q.checks))
                             .Add(static_cast<int64_t>(q.failed))
                             .Add(q.upstream_json)
                             .Add(q.at_ms),
                         op);
        if (!rows.ok() && rows.status().IsNotFound()) {
          return Status::NotFound("control store " + where_ + ": " + op + ": no run " + q.run_id);
        }
        DEW_RETURN_IF_ERROR(rows.status());
      }
      return Status::OK();
    });
  });
}

Result<std::vector<QualityScoreRecord>> PostgresControlStore::ListQualityScores(
    const QualityScoreFilter& filter) {
  const std::string op = "listing quality scores";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<QualityScoreRecord>> {
    DEW_ASSIGN_OR_RETURN(Rows rows,
                         Exec(c,
                              "SELECT " DEW_SCORE_COLUMNS
                              " FROM quality_scores WHERE ($1::text = '' OR target = $1) AND "
                              "($2::text = '' OR run_id = $2) ORDER BY at DESC, id DESC LIMIT $3",
                              Params()
                                  .Add(filter.target)
                                  .Add(filter.run_id)
                                  .Add(static_cast<int64_t>(filter.limit < 0 ? 0 : filter.limit)),
                              op));
    return ReadQualityScores(rows);
  });
}

Result<std::vector<QualityScoreRecord>> PostgresControlStore::LatestQualityScores() {
  const std::string op = "reading the latest quality scores";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<QualityScoreRecord>> {
    DEW_ASSIGN_OR_RETURN(Rows rows, Exec(c,
                                         "SELECT DISTINCT ON (target) " DEW_SCORE_COLUMNS
                                         " FROM quality_scores ORDER BY target, at DESC, id DESC",
                                         Params(), op));
    return ReadQualityScores(rows);
  });
}

#undef DEW_TEST_RESULT_COLUMNS
#undef DEW_SCORE_COLUMNS

#undef DEW_DELIVERY_COLUMNS
#undef DEW_RUN_COLUMNS
#undef DEW_ATTEMPT_COLUMNS
#undef DEW_SCHEDULE_COLUMNS

// --- audit log ---

Result<AuditEntry> PostgresControlStore::AppendAudit(const std::string& actor,
                                                     const std::string& action,
                                                     const std::string& target,
                                                     const std::string& details_json) {
  DEW_RETURN_IF_ERROR(CheckAuditEntry(actor, action, details_json));
  const std::string op = "appending audit entry " + action;
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<AuditEntry> {
    AuditEntry e;
    e.actor = actor;
    e.action = action;
    e.target = target;
    e.details_json = details_json;
    DEW_RETURN_IF_ERROR(InTransaction(c, op, [&]() -> Status {
      // One appender at a time across every process on this database, from reading the last
      // hash to the insert, so the entries form one chain.
      DEW_RETURN_IF_ERROR(
          Exec(c, "SELECT pg_advisory_xact_lock(7170912626803288)", Params(), op).status());
      DEW_ASSIGN_OR_RETURN(
          Rows last,
          Exec(c, "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1", Params(), op));
      e.id = last.size() > 0 ? last.Int(0, 0) + 1 : 1;
      e.prev_hash = last.size() > 0 ? last.Text(0, 1) : "";
      e.at_ms = clock_->NowMillis();
      e.hash = AuditEntryHash(e);
      return Exec(c,
                  "INSERT INTO audit_log (id, at, actor, action, target, details, prev_hash, hash) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                  Params()
                      .Add(e.id)
                      .Add(e.at_ms)
                      .Add(e.actor)
                      .Add(e.action)
                      .Add(e.target)
                      .Add(e.details_json)
                      .Add(e.prev_hash)
                      .Add(e.hash),
                  op)
          .status();
    }));
    return e;
  });
}

Result<std::vector<AuditEntry>> PostgresControlStore::ListAudit(int64_t after_id, int limit) {
  const std::string op = "listing the audit log";
  DEW_ASSIGN_OR_RETURN(Lease lease, Acquire());
  Connection& c = *lease;
  return Retrying(c, [&]() -> Result<std::vector<AuditEntry>> {
    DEW_ASSIGN_OR_RETURN(
        Rows rows,
        Exec(c,
             "SELECT id, at, actor, action, target, details, prev_hash, hash FROM audit_log "
             "WHERE id > $1 ORDER BY id LIMIT $2",
             Params().Add(after_id).Add(static_cast<int64_t>(limit < 0 ? 0 : limit)), op));
    std::vector<AuditEntry> out;
    for (int i = 0; i < rows.size(); i++) {
      out.push_back(AuditEntry{rows.Int(i, 0), rows.Int(i, 1), rows.Text(i, 2), rows.Text(i, 3),
                               rows.Text(i, 4), rows.Text(i, 5), rows.Text(i, 6), rows.Text(i, 7)});
    }
    return out;
  });
}

}  // namespace dew::control
