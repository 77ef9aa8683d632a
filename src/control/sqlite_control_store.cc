#include "control/sqlite_control_store.h"

#include <sqlite3.h>

#include <set>
#include <utility>

#include "control/migrations.h"

namespace dew::control {

// A cached prepared statement borrowed for one use; reset and unbound when the use ends.
class SqliteControlStore::Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  Statement& Bind(int index, const std::string& value) {
    Check(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  Statement& Bind(int index, int64_t value) {
    Check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Statement& BindNull(int index) {
    Check(sqlite3_bind_null(stmt_, index));
    return *this;
  }

  //! true with a row, false when done; the error carries SQLite's code and message.
  Result<bool> Step(const std::string& path, const std::string& op) {
    if (bind_rc_ != SQLITE_OK) {
      return Status::Internal("control store " + path + ": " + op +
                              ": binding parameters: " + sqlite3_errstr(bind_rc_));
    }
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    // The extended code tells a duplicate key from a missing foreign row.
    const int ext = sqlite3_extended_errcode(db_);
    std::string msg = "control store " + path + ": " + op + ": " + sqlite3_errmsg(db_);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE) {
      return Status::AlreadyExists(std::move(msg));
    }
    if (ext == SQLITE_CONSTRAINT_FOREIGNKEY) return Status::NotFound(std::move(msg));
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
      return Status::Corruption(std::move(msg));
    }
    return Status::IOError(std::move(msg));
  }
  //! Every remaining row, each turned into a T by `read` (which returns T or Result<T>).
  template <typename T, typename ReadRow>
  Result<std::vector<T>> Collect(const std::string& path, const std::string& op, ReadRow read) {
    std::vector<T> out;
    for (;;) {
      DEW_ASSIGN_OR_RETURN(bool row, Step(path, op));
      if (!row) return out;
      Result<T> item = read(*this);
      if (!item.ok()) return item.status();
      out.push_back(std::move(item).value());
    }
  }
  //! Steps a statement that returns no rows.
  Status Run(const std::string& path, const std::string& op) {
    for (;;) {
      auto row = Step(path, op);
      if (!row.ok()) return row.status();
      if (!*row) return Status::OK();
    }
  }

  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::optional<int64_t> OptInt(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(stmt_, col);
  }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

SqliteControlStore::SqliteControlStore(std::string path, sqlite3* db, std::shared_ptr<Clock> clock)
    : path_(std::move(path)), db_(db), clock_(std::move(clock)) {}

SqliteControlStore::~SqliteControlStore() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Result<std::unique_ptr<SqliteControlStore>> SqliteControlStore::Open(
    const std::string& path, std::shared_ptr<Clock> clock, SqliteControlStoreOptions options) {
  sqlite3* db = nullptr;
  const int flags =
      options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "control store " + path +
                      ": opening: " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return Status::IOError(std::move(msg));
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<SqliteControlStore> store(new SqliteControlStore(path, db, std::move(clock)));
  std::lock_guard<std::mutex> lock(store->mu_);
  if (sqlite3_busy_timeout(db, options.busy_timeout_ms) != SQLITE_OK) {
    return store->Error("setting busy_timeout");
  }
  DEW_RETURN_IF_ERROR(store->Exec("PRAGMA foreign_keys = ON", "enabling foreign keys"));
  if (!options.read_only) {
    // The first statement that reads the file: a file that is not a database fails here.
    DEW_RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode = WAL", "enabling WAL"));
    // In WAL mode NORMAL syncs at checkpoints instead of at every commit: a crash of dew keeps
    // every commit, power loss may undo the last ones but never corrupts the file. Without it
    // each claim and finish pays an fsync while holding the single write lock.
    DEW_RETURN_IF_ERROR(store->Exec("PRAGMA synchronous = NORMAL", "setting synchronous = NORMAL"));
    if (!sqlite3_db_readonly(db, "main")) {
      DEW_RETURN_IF_ERROR(
          Migrate(db, path, ControlStoreMigrations(), store->clock_->NowMillis()).status());
      return store;
    }
    return Status::IOError("control store " + path + ": opening: the file is read-only");
  }
  DEW_ASSIGN_OR_RETURN(int version, CurrentSchemaVersion(db, path));
  const int latest = LatestVersion(ControlStoreMigrations());
  if (version != latest) {
    return Status::NotSupported("control store " + path + " opened read-only has schema version " +
                                std::to_string(version) + ", this dew needs " +
                                std::to_string(latest) +
                                (version < latest ? " (open it writable once to migrate it)"
                                                  : " (it was written by a newer dew)"));
  }
  return store;
}

Status SqliteControlStore::Error(const std::string& op) const {
  const int code = sqlite3_errcode(db_);
  std::string msg = "control store " + path_ + ": " + op + ": " + sqlite3_errmsg(db_);
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return Status::Corruption(std::move(msg));
  return Status::IOError(std::move(msg));
}

Status SqliteControlStore::Exec(const char* sql, const std::string& op) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return Error(op);
  return Status::OK();
}

Result<SqliteControlStore::Statement> SqliteControlStore::Prepare(const char* sql,
                                                                  const std::string& op) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      return Error(op + ": preparing");
    }
    it = statements_.emplace(sql, stmt).first;
  }
  return Statement(db_, it->second);
}

template <typename Body>
Status SqliteControlStore::InTransaction(const std::string& op, Body&& body) {
  DEW_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE", op + ": beginning a transaction"));
  Status s = body();
  if (s.ok()) s = Exec("COMMIT", op + ": committing");
  if (!s.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

// --- pipelines ---

Status SqliteControlStore::UpsertPipeline(const std::string& name, const std::string& spec_hash) {
  const std::string op = "upserting pipeline " + name;
  if (name.empty()) return Status::InvalidArgument(op + ": the name is empty");
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st, Prepare("INSERT INTO pipelines (name, spec_hash, updated_at) VALUES (?, ?, ?) "
                            "ON CONFLICT (name) DO UPDATE SET spec_hash = excluded.spec_hash, "
                            "updated_at = excluded.updated_at",
                            op));
  st.Bind(1, name).Bind(2, spec_hash).Bind(3, clock_->NowMillis());
  return st.Run(path_, op);
}

Result<PipelineRecord> SqliteControlStore::GetPipeline(const std::string& name) {
  const std::string op = "reading pipeline " + name;
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("SELECT name, spec_hash, updated_at FROM pipelines WHERE name = ?", op));
  st.Bind(1, name);
  DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
  if (!row) return Status::NotFound("control store " + path_ + ": no pipeline " + name);
  return PipelineRecord{st.Text(0), st.Text(1), st.Int(2)};
}

Result<std::vector<PipelineRecord>> SqliteControlStore::ListPipelines() {
  const std::string op = "listing pipelines";
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st, Prepare("SELECT name, spec_hash, updated_at FROM pipelines ORDER BY name", op));
  return st.Collect<PipelineRecord>(path_, op, [](Statement& row) {
    return PipelineRecord{row.Text(0), row.Text(1), row.Int(2)};
  });
}

// --- runs ---

static Result<RunRecord> ReadRun(const SqliteControlStore::Statement& st, const std::string& path) {
  RunRecord r;
  r.id = st.Text(0);
  r.pipeline = st.Text(1);
  auto status = ParseRunStatus(st.Text(2));
  if (!status.ok()) {
    return Status::Corruption("control store " + path + ": run " + r.id + ": " +
                              status.status().message());
  }
  r.status = *status;
  auto trigger = ParseTriggerKind(st.Text(3));
  if (!trigger.ok()) {
    return Status::Corruption("control store " + path + ": run " + r.id + ": " +
                              trigger.status().message());
  }
  r.trigger = *trigger;
  r.triggered_by = st.Text(4);
  r.params_json = st.Text(5);
  r.logical_date = st.Text(6);
  r.created_at_ms = st.Int(7);
  r.started_at_ms = st.OptInt(8);
  r.finished_at_ms = st.OptInt(9);
  r.error = st.Text(10);
  return r;
}

static Result<AttemptRecord> ReadAttempt(const SqliteControlStore::Statement& st,
                                         const std::string& path) {
  AttemptRecord a;
  a.id = st.Int(0);
  a.run_id = st.Text(1);
  a.task = st.Text(2);
  a.attempt = static_cast<int>(st.Int(3));
  auto status = ParseRunStatus(st.Text(4));
  if (!status.ok()) {
    return Status::Corruption("control store " + path + ": attempt " + std::to_string(a.id) + ": " +
                              status.status().message());
  }
  a.status = *status;
  a.worker = st.Text(5);
  a.created_at_ms = st.Int(6);
  a.heartbeat_at_ms = st.OptInt(7);
  a.started_at_ms = st.OptInt(8);
  a.finished_at_ms = st.OptInt(9);
  a.rows_read = st.Int(10);
  a.rows_written = st.Int(11);
  a.error = st.Text(12);
  a.priority = static_cast<int>(st.Int(13));
  a.not_before_ms = st.Int(14);
  return a;
}

static ScheduleRecord ReadSchedule(const SqliteControlStore::Statement& st) {
  ScheduleRecord s;
  s.pipeline = st.Text(0);
  s.cron = st.Text(1);
  s.timezone = st.Text(2);
  s.next_fire_at_ms = st.Int(3);
  auto policy = ParseCatchUpPolicy(st.Text(4));
  s.catch_up = policy.ok() ? *policy : CatchUpPolicy::kSkip;
  return s;
}

Status SqliteControlStore::CreateRun(const NewRun& run) {
  const std::string op = "creating run " + run.id;
  if (run.id.empty()) return Status::InvalidArgument("creating a run: the id is empty");
  if (run.pipeline.empty()) return Status::InvalidArgument(op + ": the pipeline is empty");
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("INSERT INTO runs (id, pipeline, status, trigger_kind, triggered_by, params, "
              "logical_date, created_at, started_at, finished_at, error) "
              "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, NULL, NULL, '')",
              op));
  st.Bind(1, run.id)
      .Bind(2, run.pipeline)
      .Bind(3, std::string(TriggerKindName(run.trigger)))
      .Bind(4, run.triggered_by)
      .Bind(5, run.params_json.empty() ? std::string("{}") : run.params_json)
      .Bind(6, run.logical_date)
      .Bind(7, clock_->NowMillis());
  return st.Run(path_, op);
}

Result<RunRecord> SqliteControlStore::GetRunLocked(const std::string& run_id) {
  const std::string op = "reading run " + run_id;
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("SELECT id, pipeline, status, trigger_kind, triggered_by, params, "
                               "logical_date, created_at, started_at, finished_at, error "
                               "FROM runs WHERE id = ?",
                               op));
  st.Bind(1, run_id);
  DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
  if (!row) return Status::NotFound("control store " + path_ + ": no run " + run_id);
  return ReadRun(st, path_);
}

Result<RunRecord> SqliteControlStore::GetRun(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return GetRunLocked(run_id);
}

Status SqliteControlStore::UpdateRunStatus(const std::string& run_id, RunStatus to,
                                           const std::string& error) {
  const std::string op = std::string("moving run ") + run_id + " to " + RunStatusName(to);
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction(op, [&]() -> Status {
    DEW_ASSIGN_OR_RETURN(RunRecord run, GetRunLocked(run_id));
    if (to == RunStatus::kSkipped || !IsAllowedTransition(run.status, to)) {
      return Status::InvalidArgument("run " + run_id + " cannot move from " +
                                     RunStatusName(run.status) + " to " + RunStatusName(to));
    }
    const int64_t now = clock_->NowMillis();
    DEW_ASSIGN_OR_RETURN(
        Statement st, Prepare("UPDATE runs SET status = ?, started_at = coalesce(?, started_at), "
                              "finished_at = ?, error = ? WHERE id = ?",
                              op));
    st.Bind(1, std::string(RunStatusName(to))).Bind(4, error).Bind(5, run_id);
    if (to == RunStatus::kRunning) {
      st.Bind(2, now);
    } else {
      st.BindNull(2);
    }
    if (IsFinished(to)) {
      st.Bind(3, now);
    } else {
      st.BindNull(3);
    }
    return st.Run(path_, op);
  });
}

Result<bool> SqliteControlStore::TryStartRun(const std::string& run_id, int max_running) {
  const std::string op = "starting run " + run_id;
  std::lock_guard<std::mutex> lock(mu_);
  bool started = false;
  // One write transaction: the count and the move see the same state in every process.
  DEW_RETURN_IF_ERROR(InTransaction(op, [&]() -> Status {
    DEW_ASSIGN_OR_RETURN(RunRecord run, GetRunLocked(run_id));
    if (run.status != RunStatus::kQueued) return Status::OK();
    {
      DEW_ASSIGN_OR_RETURN(
          Statement st,
          Prepare("SELECT count(*) FROM runs WHERE pipeline = ? AND status = 'running'", op));
      st.Bind(1, run.pipeline);
      DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
      if (row && st.Int(0) >= max_running) return Status::OK();
    }
    DEW_ASSIGN_OR_RETURN(Statement st, Prepare("UPDATE runs SET status = 'running', started_at = ? "
                                               "WHERE id = ? AND status = 'queued'",
                                               op));
    st.Bind(1, clock_->NowMillis()).Bind(2, run_id);
    DEW_RETURN_IF_ERROR(st.Run(path_, op));
    started = sqlite3_changes(db_) == 1;
    return Status::OK();
  }));
  return started;
}

Result<std::vector<RunRecord>> SqliteControlStore::ListRuns(const RunFilter& filter) {
  const std::string op = "listing runs";
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("SELECT id, pipeline, status, trigger_kind, triggered_by, params, logical_date, "
              "created_at, started_at, finished_at, error FROM runs "
              "WHERE (? = '' OR pipeline = ?) AND (? = '' OR status = ?) "
              "ORDER BY created_at DESC, id DESC LIMIT ?",
              op));
  const std::string status = filter.status ? RunStatusName(*filter.status) : "";
  st.Bind(1, filter.pipeline)
      .Bind(2, filter.pipeline)
      .Bind(3, status)
      .Bind(4, status)
      .Bind(5, static_cast<int64_t>(filter.limit < 0 ? 0 : filter.limit));
  return st.Collect<RunRecord>(path_, op, [&](Statement& row) { return ReadRun(row, path_); });
}

// --- task attempts ---

Result<int64_t> SqliteControlStore::InsertAttemptLocked(const NewAttempt& a,
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
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("INSERT INTO task_attempts (run_id, task, attempt, status, worker, created_at, "
              "heartbeat_at, started_at, finished_at, rows_read, rows_written, error, priority, "
              "not_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?) RETURNING id",
              op));
  st.Bind(1, a.run_id)
      .Bind(2, a.task)
      .Bind(3, static_cast<int64_t>(a.attempt))
      .Bind(4, std::string(RunStatusName(a.status)))
      .Bind(5, worker)
      .Bind(6, now)
      .Bind(10, skipped ? a.error : std::string())
      .Bind(11, static_cast<int64_t>(a.priority))
      .Bind(12, a.not_before_ms);
  if (running) {
    st.Bind(7, now).Bind(8, now);
  } else {
    st.BindNull(7).BindNull(8);
  }
  if (skipped) {
    st.Bind(9, now);
  } else {
    st.BindNull(9);
  }
  auto row = st.Step(path_, op);
  if (!row.ok()) {
    if (row.status().IsNotFound()) {
      return Status::NotFound("control store " + path_ + ": " + op + ": no run " + a.run_id);
    }
    return row.status();
  }
  const int64_t id = st.Int(0);
  DEW_RETURN_IF_ERROR(st.Run(path_, op));
  return id;
}

Result<int64_t> SqliteControlStore::EnqueueAttempt(const std::string& run_id,
                                                   const std::string& task, int attempt) {
  NewAttempt a;
  a.run_id = run_id;
  a.task = task;
  a.attempt = attempt;
  std::lock_guard<std::mutex> lock(mu_);
  return InsertAttemptLocked(a, "");
}

Result<int64_t> SqliteControlStore::AddAttempt(const NewAttempt& attempt) {
  if (attempt.status == AttemptStatus::kRunning) {
    return Status::InvalidArgument("adding attempt " + std::to_string(attempt.attempt) +
                                   " of task " + attempt.task + " to run " + attempt.run_id +
                                   ": use StartAttempt for a running attempt");
  }
  std::lock_guard<std::mutex> lock(mu_);
  return InsertAttemptLocked(attempt, "");
}

Result<int64_t> SqliteControlStore::StartAttempt(const std::string& run_id, const std::string& task,
                                                 int attempt, const std::string& worker) {
  NewAttempt a;
  a.run_id = run_id;
  a.task = task;
  a.attempt = attempt;
  a.status = AttemptStatus::kRunning;
  std::lock_guard<std::mutex> lock(mu_);
  return InsertAttemptLocked(a, worker);
}

Result<AttemptRecord> SqliteControlStore::GetAttemptLocked(int64_t attempt_id) {
  const std::string op = "reading attempt " + std::to_string(attempt_id);
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("SELECT id, run_id, task, attempt, status, worker, created_at, heartbeat_at, "
              "started_at, finished_at, rows_read, rows_written, error, priority, not_before "
              "FROM task_attempts WHERE id = ?",
              op));
  st.Bind(1, attempt_id);
  DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
  if (!row) {
    return Status::NotFound("control store " + path_ + ": no attempt " +
                            std::to_string(attempt_id));
  }
  return ReadAttempt(st, path_);
}

Result<AttemptRecord> SqliteControlStore::GetAttempt(int64_t attempt_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return GetAttemptLocked(attempt_id);
}

// The next claimable attempt: queued, due, of a run that is not finished.
constexpr char kClaimableSql[] =
    "SELECT a.id FROM task_attempts a JOIN runs r ON r.id = a.run_id "
    "WHERE a.status = 'queued' AND a.not_before <= ? AND r.status IN ('queued', 'running') "
    "ORDER BY a.priority DESC, a.created_at, a.id LIMIT 1";

Result<std::optional<AttemptRecord>> SqliteControlStore::ClaimNextAttempt(
    const std::string& worker) {
  const std::string op = "claiming an attempt for worker " + worker;
  if (worker.empty()) return Status::InvalidArgument("claiming an attempt: the worker is empty");
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<AttemptRecord> claimed;
  // Idle workers poll: a poll that finds nothing reads the WAL snapshot without taking the
  // write lock, so it does not delay the heartbeats and finishes of other workers.
  {
    DEW_ASSIGN_OR_RETURN(Statement st, Prepare(kClaimableSql, op));
    st.Bind(1, clock_->NowMillis());
    DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
    if (!row) return claimed;
  }
  // BEGIN IMMEDIATE holds SQLite's single write lock from the SELECT to the UPDATE, so no other
  // connection can pick the same row in between (PostgreSQL: FOR UPDATE SKIP LOCKED).
  DEW_RETURN_IF_ERROR(InTransaction(op, [&]() -> Status {
    int64_t id = 0;
    {
      DEW_ASSIGN_OR_RETURN(Statement st, Prepare(kClaimableSql, op));
      st.Bind(1, clock_->NowMillis());
      DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
      if (!row) return Status::OK();
      id = st.Int(0);
    }
    const int64_t now = clock_->NowMillis();
    {
      DEW_ASSIGN_OR_RETURN(Statement st,
                           Prepare("UPDATE task_attempts SET status = 'running', worker = ?, "
                                   "started_at = ?, heartbeat_at = ? "
                                   "WHERE id = ? AND status = 'queued'",
                                   op));
      st.Bind(1, worker).Bind(2, now).Bind(3, now).Bind(4, id);
      DEW_RETURN_IF_ERROR(st.Run(path_, op));
      if (sqlite3_changes(db_) != 1) {
        return Status::Internal("control store " + path_ + ": " + op + ": attempt " +
                                std::to_string(id) + " changed under the write lock");
      }
    }
    DEW_ASSIGN_OR_RETURN(AttemptRecord a, GetAttemptLocked(id));
    claimed = std::move(a);
    return Status::OK();
  }));
  return claimed;
}

Status SqliteControlStore::Heartbeat(int64_t attempt_id, const std::string& worker) {
  const std::string op = "heartbeat of attempt " + std::to_string(attempt_id);
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(Statement st, Prepare("UPDATE task_attempts SET heartbeat_at = ? "
                                             "WHERE id = ? AND status = 'running' AND worker = ?",
                                             op));
  st.Bind(1, clock_->NowMillis()).Bind(2, attempt_id).Bind(3, worker);
  DEW_RETURN_IF_ERROR(st.Run(path_, op));
  if (sqlite3_changes(db_) == 1) return Status::OK();
  DEW_ASSIGN_OR_RETURN(AttemptRecord a, GetAttemptLocked(attempt_id));
  return Status::InvalidArgument("attempt " + std::to_string(attempt_id) + " is " +
                                 RunStatusName(a.status) + " on worker '" + a.worker +
                                 "', not running on worker '" + worker + "'");
}

Status SqliteControlStore::FinishAttempt(int64_t attempt_id, AttemptStatus status,
                                         int64_t rows_read, int64_t rows_written,
                                         const std::string& error) {
  const std::string op = std::string("finishing attempt ") + std::to_string(attempt_id) + " as " +
                         RunStatusName(status);
  if (!IsFinished(status)) {
    return Status::InvalidArgument(op + ": " + RunStatusName(status) + " is not a final state");
  }
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction(op, [&]() -> Status {
    DEW_ASSIGN_OR_RETURN(AttemptRecord a, GetAttemptLocked(attempt_id));
    if (!IsAllowedTransition(a.status, status)) {
      return Status::InvalidArgument("attempt " + std::to_string(attempt_id) + " (task " + a.task +
                                     " of run " + a.run_id + ") cannot move from " +
                                     RunStatusName(a.status) + " to " + RunStatusName(status));
    }
    DEW_ASSIGN_OR_RETURN(Statement st,
                         Prepare("UPDATE task_attempts SET status = ?, finished_at = ?, "
                                 "rows_read = ?, rows_written = ?, error = ? WHERE id = ?",
                                 op));
    st.Bind(1, std::string(RunStatusName(status)))
        .Bind(2, clock_->NowMillis())
        .Bind(3, rows_read)
        .Bind(4, rows_written)
        .Bind(5, error)
        .Bind(6, attempt_id);
    return st.Run(path_, op);
  });
}

Result<std::vector<AttemptRecord>> SqliteControlStore::ListAttempts(const std::string& run_id) {
  const std::string op = "listing attempts of run " + run_id;
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("SELECT id, run_id, task, attempt, status, worker, created_at, heartbeat_at, "
              "started_at, finished_at, rows_read, rows_written, error, priority, not_before "
              "FROM task_attempts WHERE run_id = ? ORDER BY task, attempt",
              op));
  st.Bind(1, run_id);
  return st.Collect<AttemptRecord>(path_, op,
                                   [&](Statement& row) { return ReadAttempt(row, path_); });
}

Result<std::vector<AttemptRecord>> SqliteControlStore::ListTaskAttempts(
    const std::string& run_id, const std::vector<std::string>& tasks) {
  const std::string op =
      "listing attempts of " + std::to_string(tasks.size()) + " tasks of run " + run_id;
  const std::set<std::string> sorted(tasks.begin(), tasks.end());
  std::lock_guard<std::mutex> lock(mu_);
  // One read transaction, so the tasks are seen at one moment; each task is an index lookup.
  DEW_RETURN_IF_ERROR(Exec("BEGIN", op + ": beginning a read"));
  std::vector<AttemptRecord> out;
  Status s;
  for (const std::string& task : sorted) {
    auto st = Prepare(
        "SELECT id, run_id, task, attempt, status, worker, created_at, heartbeat_at, "
        "started_at, finished_at, rows_read, rows_written, error, priority, not_before "
        "FROM task_attempts WHERE run_id = ? AND task = ? ORDER BY attempt",
        op);
    if (!st.ok()) {
      s = st.status();
      break;
    }
    st->Bind(1, run_id).Bind(2, task);
    auto rows = st->Collect<AttemptRecord>(path_, op,
                                           [&](Statement& row) { return ReadAttempt(row, path_); });
    if (!rows.ok()) {
      s = rows.status();
      break;
    }
    for (AttemptRecord& a : *rows) out.push_back(std::move(a));
  }
  sqlite3_exec(db_, s.ok() ? "COMMIT" : "ROLLBACK", nullptr, nullptr, nullptr);
  if (!s.ok()) return s;
  return out;
}

Result<int> SqliteControlStore::CancelQueuedAttempts(const std::string& run_id,
                                                     const std::string& error) {
  const std::string op = "cancelling the queued attempts of run " + run_id;
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("UPDATE task_attempts SET status = 'cancelled', finished_at = ?, "
                               "error = ? WHERE run_id = ? AND status = 'queued'",
                               op));
  st.Bind(1, clock_->NowMillis()).Bind(2, error).Bind(3, run_id);
  DEW_RETURN_IF_ERROR(st.Run(path_, op));
  return sqlite3_changes(db_);
}

Result<std::vector<int64_t>> SqliteControlStore::StaleIdsLocked(int64_t cutoff_ms,
                                                                const std::string& op) {
  std::vector<int64_t> ids;
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("SELECT id FROM task_attempts WHERE status = 'running' AND "
                               "coalesce(heartbeat_at, started_at, created_at) < ? ORDER BY id",
                               op));
  st.Bind(1, cutoff_ms);
  for (;;) {
    DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
    if (!row) break;
    ids.push_back(st.Int(0));
  }
  return ids;
}

Result<std::optional<AttemptRecord>> SqliteControlStore::FailIfStaleLocked(int64_t attempt_id,
                                                                           int64_t now_ms,
                                                                           int64_t older_than_ms,
                                                                           const std::string& op) {
  DEW_ASSIGN_OR_RETURN(AttemptRecord a, GetAttemptLocked(attempt_id));
  const int64_t last = a.heartbeat_at_ms.value_or(a.started_at_ms.value_or(a.created_at_ms));
  if (a.status != AttemptStatus::kRunning || last >= now_ms - older_than_ms) {
    return std::optional<AttemptRecord>();
  }
  const std::string error = "worker '" + a.worker + "' stopped heartbeating: last heartbeat " +
                            std::to_string(now_ms - last) + " ms ago, limit " +
                            std::to_string(older_than_ms) + " ms";
  {
    DEW_ASSIGN_OR_RETURN(Statement st,
                         Prepare("UPDATE task_attempts SET status = 'failed', finished_at = ?, "
                                 "error = ? WHERE id = ? AND status = 'running'",
                                 op));
    st.Bind(1, now_ms).Bind(2, error).Bind(3, attempt_id);
    DEW_RETURN_IF_ERROR(st.Run(path_, op));
  }
  DEW_ASSIGN_OR_RETURN(AttemptRecord after, GetAttemptLocked(attempt_id));
  return std::optional<AttemptRecord>(std::move(after));
}

Result<std::vector<AttemptRecord>> SqliteControlStore::FailStaleAttempts(int64_t older_than_ms) {
  const std::string op = "failing stale attempts";
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AttemptRecord> failed;
  DEW_RETURN_IF_ERROR(InTransaction(op, [&]() -> Status {
    const int64_t now = clock_->NowMillis();
    DEW_ASSIGN_OR_RETURN(std::vector<int64_t> ids, StaleIdsLocked(now - older_than_ms, op));
    for (int64_t id : ids) {
      DEW_ASSIGN_OR_RETURN(std::optional<AttemptRecord> a,
                           FailIfStaleLocked(id, now, older_than_ms, op));
      if (a) failed.push_back(std::move(*a));
    }
    return Status::OK();
  }));
  return failed;
}

Result<std::vector<AttemptRecord>> SqliteControlStore::ListStaleAttempts(int64_t older_than_ms) {
  const std::string op = "listing stale attempts";
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(std::vector<int64_t> ids,
                       StaleIdsLocked(clock_->NowMillis() - older_than_ms, op));
  std::vector<AttemptRecord> stale;
  for (int64_t id : ids) {
    DEW_ASSIGN_OR_RETURN(AttemptRecord a, GetAttemptLocked(id));
    stale.push_back(std::move(a));
  }
  return stale;
}

Result<std::optional<AttemptRecord>> SqliteControlStore::FailStaleAttempt(int64_t attempt_id,
                                                                          int64_t older_than_ms) {
  const std::string op = "failing stale attempt " + std::to_string(attempt_id);
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<AttemptRecord> failed;
  DEW_RETURN_IF_ERROR(InTransaction(op, [&]() -> Status {
    DEW_ASSIGN_OR_RETURN(failed,
                         FailIfStaleLocked(attempt_id, clock_->NowMillis(), older_than_ms, op));
    return Status::OK();
  }));
  return failed;
}

// --- schedules ---

Status SqliteControlStore::UpsertSchedule(const ScheduleRecord& schedule) {
  const std::string op = "upserting the schedule of pipeline " + schedule.pipeline;
  if (schedule.pipeline.empty()) {
    return Status::InvalidArgument("upserting a schedule: the pipeline is empty");
  }
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("INSERT INTO schedules (pipeline, cron, timezone, next_fire_at, catch_up) "
              "VALUES (?, ?, ?, ?, ?) ON CONFLICT (pipeline) DO UPDATE SET cron = excluded.cron, "
              "timezone = excluded.timezone, next_fire_at = excluded.next_fire_at, "
              "catch_up = excluded.catch_up",
              op));
  st.Bind(1, schedule.pipeline)
      .Bind(2, schedule.cron)
      .Bind(3, schedule.timezone)
      .Bind(4, schedule.next_fire_at_ms)
      .Bind(5, std::string(CatchUpPolicyName(schedule.catch_up)));
  return st.Run(path_, op);
}

Result<std::vector<ScheduleRecord>> SqliteControlStore::ListSchedules() {
  const std::string op = "listing schedules";
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("SELECT pipeline, cron, timezone, next_fire_at, catch_up "
                               "FROM schedules ORDER BY pipeline",
                               op));
  return st.Collect<ScheduleRecord>(path_, op, [](Statement& row) { return ReadSchedule(row); });
}

Result<std::vector<ScheduleRecord>> SqliteControlStore::DueSchedules(int64_t now_ms) {
  const std::string op = "listing due schedules";
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("SELECT pipeline, cron, timezone, next_fire_at, catch_up "
                               "FROM schedules WHERE next_fire_at <= ? "
                               "ORDER BY next_fire_at, pipeline",
                               op));
  st.Bind(1, now_ms);
  return st.Collect<ScheduleRecord>(path_, op, [](Statement& row) { return ReadSchedule(row); });
}

Result<bool> SqliteControlStore::AdvanceSchedule(const std::string& pipeline,
                                                 int64_t expected_next_fire_ms,
                                                 int64_t new_next_fire_ms) {
  const std::string op = "advancing the schedule of pipeline " + pipeline;
  std::lock_guard<std::mutex> lock(mu_);
  bool moved = false;
  // One transaction, so "not moved" and "no such schedule" are told apart on the same state.
  DEW_RETURN_IF_ERROR(InTransaction(op, [&]() -> Status {
    {
      DEW_ASSIGN_OR_RETURN(Statement st, Prepare("UPDATE schedules SET next_fire_at = ? "
                                                 "WHERE pipeline = ? AND next_fire_at = ?",
                                                 op));
      st.Bind(1, new_next_fire_ms).Bind(2, pipeline).Bind(3, expected_next_fire_ms);
      DEW_RETURN_IF_ERROR(st.Run(path_, op));
      moved = sqlite3_changes(db_) == 1;
    }
    if (moved) return Status::OK();
    DEW_ASSIGN_OR_RETURN(Statement st,
                         Prepare("SELECT count(*) FROM schedules WHERE pipeline = ?", op));
    st.Bind(1, pipeline);
    DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
    if (!row || st.Int(0) == 0) {
      return Status::NotFound("control store " + path_ + ": no schedule for pipeline " + pipeline);
    }
    return Status::OK();
  }));
  return moved;
}

// --- leases ---

Result<bool> SqliteControlStore::AcquireLease(const std::string& name, const std::string& holder,
                                              int64_t ttl_ms) {
  const std::string op = "acquiring lease " + name + " for " + holder;
  if (name.empty() || holder.empty()) {
    return Status::InvalidArgument(op + ": the lease name and holder must not be empty");
  }
  if (ttl_ms <= 0) {
    return Status::InvalidArgument(op + ": ttl " + std::to_string(ttl_ms) + " ms is not positive");
  }
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_->NowMillis();
  // One statement: the upsert only overwrites a row that is ours or expired, atomically.
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                               "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                               "expires_at = excluded.expires_at "
                               "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
                               op));
  st.Bind(1, name).Bind(2, holder).Bind(3, now + ttl_ms).Bind(4, now);
  DEW_RETURN_IF_ERROR(st.Run(path_, op));
  return sqlite3_changes(db_) == 1;
}

Status SqliteControlStore::ReleaseLease(const std::string& name, const std::string& holder) {
  const std::string op = "releasing lease " + name + " of " + holder;
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("DELETE FROM leases WHERE name = ? AND holder = ?", op));
  st.Bind(1, name).Bind(2, holder);
  return st.Run(path_, op);
}

// --- connector state ---

Status SqliteControlStore::PutConnectorState(const ConnectorState& state) {
  const std::string op = "writing the state of " + state.connection + "/" + state.stream;
  if (state.connection.empty()) {
    return Status::InvalidArgument("writing connector state: the connection is empty");
  }
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("INSERT INTO connector_state (connection, stream, state, updated_at, run_id) "
              "VALUES (?, ?, ?, ?, ?) ON CONFLICT (connection, stream) DO UPDATE SET "
              "state = excluded.state, updated_at = excluded.updated_at, run_id = excluded.run_id",
              op));
  st.Bind(1, state.connection)
      .Bind(2, state.stream)
      .Bind(3, state.state_json)
      .Bind(4, clock_->NowMillis())
      .Bind(5, state.run_id);
  return st.Run(path_, op);
}

Result<ConnectorState> SqliteControlStore::GetConnectorState(const std::string& connection,
                                                             const std::string& stream) {
  const std::string op = "reading the state of " + connection + "/" + stream;
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("SELECT connection, stream, state, updated_at, run_id "
                               "FROM connector_state WHERE connection = ? AND stream = ?",
                               op));
  st.Bind(1, connection).Bind(2, stream);
  DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
  if (!row) {
    return Status::NotFound("control store " + path_ + ": no state for connection " + connection +
                            " stream " + stream);
  }
  return ConnectorState{st.Text(0), st.Text(1), st.Text(2), st.Int(3), st.Text(4)};
}

// --- events ---

Result<int64_t> SqliteControlStore::AppendEvent(const std::string& kind,
                                                const std::string& payload_json) {
  const std::string op = "appending event " + kind;
  if (kind.empty()) return Status::InvalidArgument("appending an event: the kind is empty");
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("INSERT INTO events (kind, payload, created_at) VALUES (?, ?, ?) "
                               "RETURNING id",
                               op));
  st.Bind(1, kind).Bind(2, payload_json).Bind(3, clock_->NowMillis());
  DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
  if (!row) return Status::Internal("control store " + path_ + ": " + op + ": no id returned");
  const int64_t id = st.Int(0);
  DEW_RETURN_IF_ERROR(st.Run(path_, op));
  return id;
}

Result<std::vector<EventRecord>> SqliteControlStore::ListEvents(int64_t after_id, int limit) {
  const std::string op = "listing events";
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("SELECT id, kind, payload, created_at FROM events WHERE id > ? "
                               "ORDER BY id LIMIT ?",
                               op));
  st.Bind(1, after_id).Bind(2, static_cast<int64_t>(limit < 0 ? 0 : limit));
  return st.Collect<EventRecord>(path_, op, [](Statement& row) {
    return EventRecord{row.Int(0), row.Text(1), row.Text(2), row.Int(3)};
  });
}

// --- webhook deliveries ---

Result<EventRecord> SqliteControlStore::GetEvent(int64_t event_id) {
  const std::string op = "reading event " + std::to_string(event_id);
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st, Prepare("SELECT id, kind, payload, created_at FROM events WHERE id = ?", op));
  st.Bind(1, event_id);
  DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
  if (!row) {
    return Status::NotFound("control store " + path_ + ": no event " + std::to_string(event_id));
  }
  return EventRecord{st.Int(0), st.Text(1), st.Text(2), st.Int(3)};
}

static Result<DeliveryRecord> ReadDelivery(const SqliteControlStore::Statement& st,
                                           const std::string& path) {
  DeliveryRecord d;
  d.id = st.Int(0);
  d.event_id = st.Int(1);
  d.webhook = st.Text(2);
  d.url = st.Text(3);
  auto status = ParseDeliveryStatus(st.Text(4));
  if (!status.ok()) {
    return Status::Corruption("control store " + path + ": delivery " + std::to_string(d.id) +
                              ": " + status.status().message());
  }
  d.status = *status;
  d.attempts = static_cast<int>(st.Int(5));
  d.next_attempt_at_ms = st.Int(6);
  d.last_error = st.Text(7);
  d.created_at_ms = st.Int(8);
  d.delivered_at_ms = st.OptInt(9);
  return d;
}

#define DEW_DELIVERY_COLUMNS                                                                \
  "id, event_id, webhook, url, status, attempts, next_attempt_at, last_error, created_at, " \
  "delivered_at"

Result<int64_t> SqliteControlStore::AddDelivery(int64_t event_id, const std::string& webhook,
                                                const std::string& url) {
  const std::string op =
      "adding a delivery of event " + std::to_string(event_id) + " to webhook " + webhook;
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_->NowMillis();
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("INSERT INTO webhook_deliveries (event_id, webhook, url, status, attempts, "
              "next_attempt_at, last_error, created_at, delivered_at) "
              "VALUES (?, ?, ?, 'pending', 0, ?, '', ?, NULL) RETURNING id",
              op));
  st.Bind(1, event_id).Bind(2, webhook).Bind(3, url).Bind(4, now).Bind(5, now);
  auto row = st.Step(path_, op);
  if (!row.ok()) {
    if (row.status().IsNotFound()) {
      return Status::NotFound("control store " + path_ + ": " + op + ": no such event");
    }
    return row.status();
  }
  const int64_t id = st.Int(0);
  DEW_RETURN_IF_ERROR(st.Run(path_, op));
  return id;
}

Result<std::vector<DeliveryRecord>> SqliteControlStore::ClaimDueDeliveries(int64_t lease_ms,
                                                                           int limit) {
  const std::string op = "claiming due webhook deliveries";
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<DeliveryRecord> claimed;
  DEW_RETURN_IF_ERROR(InTransaction(op, [&]() -> Status {
    const int64_t now = clock_->NowMillis();
    {
      DEW_ASSIGN_OR_RETURN(Statement st,
                           Prepare("SELECT " DEW_DELIVERY_COLUMNS
                                   " FROM webhook_deliveries WHERE status = 'pending' AND "
                                   "next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
                                   op));
      st.Bind(1, now).Bind(2, static_cast<int64_t>(limit < 0 ? 0 : limit));
      DEW_ASSIGN_OR_RETURN(claimed, st.Collect<DeliveryRecord>(path_, op, [&](Statement& row) {
        return ReadDelivery(row, path_);
      }));
    }
    for (const DeliveryRecord& d : claimed) {
      DEW_ASSIGN_OR_RETURN(
          Statement st,
          Prepare("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?", op));
      st.Bind(1, now + lease_ms).Bind(2, d.id);
      DEW_RETURN_IF_ERROR(st.Run(path_, op));
    }
    return Status::OK();
  }));
  return claimed;
}

Status SqliteControlStore::FinishDeliveryAttempt(int64_t delivery_id, DeliveryStatus status,
                                                 int64_t next_attempt_at_ms,
                                                 const std::string& error) {
  const std::string op = "recording an attempt of delivery " + std::to_string(delivery_id);
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_->NowMillis();
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, "
              "next_attempt_at = ?, last_error = ?, "
              "delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END WHERE id = ?",
              op));
  const std::string name = DeliveryStatusName(status);
  st.Bind(1, name)
      .Bind(2, next_attempt_at_ms)
      .Bind(3, error)
      .Bind(4, name)
      .Bind(5, now)
      .Bind(6, delivery_id);
  DEW_RETURN_IF_ERROR(st.Run(path_, op));
  if (sqlite3_changes(db_) != 1) {
    return Status::NotFound("control store " + path_ + ": no delivery " +
                            std::to_string(delivery_id));
  }
  return Status::OK();
}

Result<DeliveryRecord> SqliteControlStore::GetDelivery(int64_t delivery_id) {
  const std::string op = "reading delivery " + std::to_string(delivery_id);
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("SELECT " DEW_DELIVERY_COLUMNS " FROM webhook_deliveries WHERE id = ?", op));
  st.Bind(1, delivery_id);
  DEW_ASSIGN_OR_RETURN(bool row, st.Step(path_, op));
  if (!row) {
    return Status::NotFound("control store " + path_ + ": no delivery " +
                            std::to_string(delivery_id));
  }
  return ReadDelivery(st, path_);
}

Result<std::vector<DeliveryRecord>> SqliteControlStore::ListDeliveries(
    const DeliveryFilter& filter) {
  const std::string op = "listing webhook deliveries";
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("SELECT " DEW_DELIVERY_COLUMNS
                               " FROM webhook_deliveries WHERE (? = '' OR status = ?) "
                               "ORDER BY id DESC LIMIT ?",
                               op));
  const std::string status = filter.status ? DeliveryStatusName(*filter.status) : "";
  st.Bind(1, status).Bind(2, status).Bind(
      3, static_cast<int64_t>(filter.limit < 0 ? 0 : filter.limit));
  return st.Collect<DeliveryRecord>(path_, op,
                                    [&](Statement& row) { return ReadDelivery(row, path_); });
}

Status SqliteControlStore::ReplayDelivery(int64_t delivery_id) {
  const std::string op = "replaying delivery " + std::to_string(delivery_id);
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, "
                               "next_attempt_at = ? WHERE id = ?",
                               op));
  st.Bind(1, clock_->NowMillis()).Bind(2, delivery_id);
  DEW_RETURN_IF_ERROR(st.Run(path_, op));
  if (sqlite3_changes(db_) != 1) {
    return Status::NotFound("control store " + path_ + ": no delivery " +
                            std::to_string(delivery_id));
  }
  return Status::OK();
}

#undef DEW_DELIVERY_COLUMNS

// --- test results and quality scores ---

static TestResultRecord ReadTestResult(const SqliteControlStore::Statement& st) {
  TestResultRecord r;
  r.id = st.Int(0);
  r.run_id = st.Text(1);
  r.test_id = st.Text(2);
  r.target = st.Text(3);
  r.relation = st.Text(4);
  r.test_type = st.Text(5);
  r.severity = st.Text(6);
  r.status = st.Text(7);
  r.failures = st.Int(8);
  r.message = st.Text(9);
  r.at_ms = st.Int(10);
  r.duration_ms = st.Int(11);
  r.observed = st.OptInt(12);
  return r;
}

static QualityScoreRecord ReadQualityScore(const SqliteControlStore::Statement& st) {
  QualityScoreRecord q;
  q.run_id = st.Text(0);
  q.target = st.Text(1);
  q.passed_weight = st.Int(2);
  q.total_weight = st.Int(3);
  q.checks = static_cast<int>(st.Int(4));
  q.failed = static_cast<int>(st.Int(5));
  q.upstream_json = st.Text(6);
  q.at_ms = st.Int(7);
  return q;
}

#define DEW_TEST_RESULT_COLUMNS                                                                 \
  "id, run_id, test_id, target, relation, test_type, severity, status, failures, message, at, " \
  "duration_ms, observed"
#define DEW_SCORE_COLUMNS \
  "run_id, target, passed_weight, total_weight, checks, failed, upstream, at"

Status SqliteControlStore::AddTestResults(const std::vector<TestResultRecord>& results) {
  const std::string op = "adding " + std::to_string(results.size()) + " test results";
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction(op, [&]() -> Status {
    for (const TestResultRecord& r : results) {
      DEW_ASSIGN_OR_RETURN(
          Statement st,
          Prepare("INSERT INTO test_results (run_id, test_id, target, relation, test_type, "
                  "severity, status, failures, message, at, duration_ms, observed) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  op));
      st.Bind(1, r.run_id).Bind(2, r.test_id).Bind(3, r.target).Bind(4, r.relation);
      st.Bind(5, r.test_type).Bind(6, r.severity).Bind(7, r.status).Bind(8, r.failures);
      st.Bind(9, r.message).Bind(10, r.at_ms).Bind(11, r.duration_ms);
      if (r.observed) {
        st.Bind(12, *r.observed);
      } else {
        st.BindNull(12);
      }
      Status s = st.Run(path_, op);
      if (s.IsNotFound()) {
        return Status::NotFound("control store " + path_ + ": " + op + ": no run " + r.run_id);
      }
      DEW_RETURN_IF_ERROR(s);
    }
    return Status::OK();
  });
}

Result<std::vector<TestResultRecord>> SqliteControlStore::ListTestResults(
    const TestResultFilter& filter) {
  const std::string op = "listing test results";
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("SELECT " DEW_TEST_RESULT_COLUMNS
              " FROM test_results WHERE (? = '' OR run_id = ?) AND (? = '' OR target = ?) "
              "AND (? = '' OR test_id = ?) AND (? = 0 OR status <> 'pass') "
              "ORDER BY id DESC LIMIT ?",
              op));
  st.Bind(1, filter.run_id).Bind(2, filter.run_id).Bind(3, filter.target).Bind(4, filter.target);
  st.Bind(5, filter.test_id).Bind(6, filter.test_id);
  st.Bind(7, static_cast<int64_t>(filter.problems_only ? 1 : 0));
  st.Bind(8, static_cast<int64_t>(filter.limit < 0 ? 0 : filter.limit));
  return st.Collect<TestResultRecord>(path_, op,
                                      [](Statement& row) { return ReadTestResult(row); });
}

Status SqliteControlStore::AddQualityScores(const std::vector<QualityScoreRecord>& scores) {
  const std::string op = "adding " + std::to_string(scores.size()) + " quality scores";
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction(op, [&]() -> Status {
    for (const QualityScoreRecord& q : scores) {
      // A later task of the same run that tested the target again replaces its score.
      DEW_ASSIGN_OR_RETURN(
          Statement st,
          Prepare("INSERT INTO quality_scores (" DEW_SCORE_COLUMNS
                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, target) DO UPDATE SET "
                  "passed_weight = excluded.passed_weight, total_weight = excluded.total_weight, "
                  "checks = excluded.checks, failed = excluded.failed, "
                  "upstream = excluded.upstream, at = excluded.at",
                  op));
      st.Bind(1, q.run_id).Bind(2, q.target).Bind(3, q.passed_weight).Bind(4, q.total_weight);
      st.Bind(5, static_cast<int64_t>(q.checks)).Bind(6, static_cast<int64_t>(q.failed));
      st.Bind(7, q.upstream_json).Bind(8, q.at_ms);
      Status s = st.Run(path_, op);
      if (s.IsNotFound()) {
        return Status::NotFound("control store " + path_ + ": " + op + ": no run " + q.run_id);
      }
      DEW_RETURN_IF_ERROR(s);
    }
    return Status::OK();
  });
}

Result<std::vector<QualityScoreRecord>> SqliteControlStore::ListQualityScores(
    const QualityScoreFilter& filter) {
  const std::string op = "listing quality scores";
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("SELECT " DEW_SCORE_COLUMNS " FROM quality_scores WHERE (? = '' OR target = ?) AND "
              "(? = '' OR run_id = ?) ORDER BY at DESC, id DESC LIMIT ?",
              op));
  st.Bind(1, filter.target).Bind(2, filter.target).Bind(3, filter.run_id).Bind(4, filter.run_id);
  st.Bind(5, static_cast<int64_t>(filter.limit < 0 ? 0 : filter.limit));
  return st.Collect<QualityScoreRecord>(path_, op,
                                        [](Statement& row) { return ReadQualityScore(row); });
}

Result<std::vector<QualityScoreRecord>> SqliteControlStore::LatestQualityScores() {
  const std::string op = "reading the latest quality scores";
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(
      Statement st,
      Prepare("SELECT " DEW_SCORE_COLUMNS
              " FROM quality_scores q WHERE id = (SELECT id FROM quality_scores l WHERE "
              "l.target = q.target ORDER BY l.at DESC, l.id DESC LIMIT 1) ORDER BY target",
              op));
  return st.Collect<QualityScoreRecord>(path_, op,
                                        [](Statement& row) { return ReadQualityScore(row); });
}

#undef DEW_TEST_RESULT_COLUMNS
#undef DEW_SCORE_COLUMNS

// --- audit log ---

Result<AuditEntry> SqliteControlStore::AppendAudit(const std::string& actor,
                                                   const std::string& action,
                                                   const std::string& target,
                                                   const std::string& details_json) {
  DEW_RETURN_IF_ERROR(CheckAuditEntry(actor, action, details_json));
  const std::string op = "appending audit entry " + action;
  AuditEntry e;
  e.actor = actor;
  e.action = action;
  e.target = target;
  e.details_json = details_json;
  std::lock_guard<std::mutex> lock(mu_);
  // BEGIN IMMEDIATE holds the write lock from reading the last hash to the insert: one chain
  // even with several processes appending.
  DEW_RETURN_IF_ERROR(InTransaction(op, [&]() -> Status {
    {
      DEW_ASSIGN_OR_RETURN(Statement last,
                           Prepare("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1", op));
      DEW_ASSIGN_OR_RETURN(bool row, last.Step(path_, op));
      e.id = row ? last.Int(0) + 1 : 1;
      e.prev_hash = row ? last.Text(1) : "";
    }
    e.at_ms = clock_->NowMillis();
    e.hash = AuditEntryHash(e);
    DEW_ASSIGN_OR_RETURN(
        Statement st,
        Prepare("INSERT INTO audit_log (id, at, actor, action, target, details, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                op));
    st.Bind(1, e.id)
        .Bind(2, e.at_ms)
        .Bind(3, e.actor)
        .Bind(4, e.action)
        .Bind(5, e.target)
        .Bind(6, e.details_json)
        .Bind(7, e.prev_hash)
        .Bind(8, e.hash);
    return st.Run(path_, op);
  }));
  return e;
}

Result<std::vector<AuditEntry>> SqliteControlStore::ListAudit(int64_t after_id, int limit) {
  const std::string op = "listing the audit log";
  std::lock_guard<std::mutex> lock(mu_);
  DEW_ASSIGN_OR_RETURN(Statement st,
                       Prepare("SELECT id, at, actor, action, target, details, prev_hash, hash "
                               "FROM audit_log WHERE id > ? ORDER BY id LIMIT ?",
                               op));
  st.Bind(1, after_id).Bind(2, static_cast<int64_t>(limit < 0 ? 0 : limit));
  return st.Collect<AuditEntry>(path_, op, [](Statement& row) {
    return AuditEntry{row.Int(0),  row.Int(1),  row.Text(2), row.Text(3),
                      row.Text(4), row.Text(5), row.Text(6), row.Text(7)};
  });
}

}  // namespace dew::control
