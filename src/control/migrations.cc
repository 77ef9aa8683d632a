#include "control/migrations.h"

#include <sqlite3.h>

namespace dew::control {

namespace {

Status SqliteError(sqlite3* db, const std::string& path, const std::string& op) {
  const int code = sqlite3_errcode(db);
  std::string msg = "control store " + path + ": " + op + ": " + sqlite3_errmsg(db);
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return Status::Corruption(msg);
  return Status::IOError(msg);
}

void Rollback(sqlite3* db) {
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace

const std::vector<Migration>& ControlStoreMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "pipelines, runs, task attempts, schedules, connector state, events",
       R"sql(
CREATE TABLE pipelines (
  name TEXT PRIMARY KEY,
  spec_hash TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  pipeline TEXT NOT NULL,
  status TEXT NOT NULL,
  trigger_kind TEXT NOT NULL,
  triggered_by TEXT NOT NULL,
  params TEXT NOT NULL,
  logical_date TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  error TEXT NOT NULL
);
CREATE INDEX runs_by_pipeline ON runs (pipeline, created_at);
CREATE INDEX runs_by_status ON runs (status, created_at);
CREATE TABLE task_attempts (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  task TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  worker TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  heartbeat_at BIGINT,
  started_at BIGINT,
  finished_at BIGINT,
  rows_read BIGINT NOT NULL,
  rows_written BIGINT NOT NULL,
  error TEXT NOT NULL,
  UNIQUE (run_id, task, attempt)
);
CREATE INDEX task_attempts_by_status ON task_attempts (status, created_at, id);
CREATE TABLE schedules (
  pipeline TEXT PRIMARY KEY,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  next_fire_at BIGINT NOT NULL,
  catch_up TEXT NOT NULL
);
CREATE INDEX schedules_by_next_fire ON schedules (next_fire_at);
CREATE TABLE connector_state (
  connection TEXT NOT NULL,
  stream TEXT NOT NULL,
  state TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  run_id TEXT NOT NULL,
  PRIMARY KEY (connection, stream)
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
)sql"},
      {2, "leases for leader election",
       R"sql(
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
)sql"},
      {3, "attempt priority and not-before time (retry backoff); skipped attempts",
       R"sql(
ALTER TABLE task_attempts ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE task_attempts ADD COLUMN not_before BIGINT NOT NULL DEFAULT 0;
CREATE INDEX task_attempts_claim ON task_attempts (status, priority DESC, created_at, id);
CREATE INDEX task_attempts_by_run ON task_attempts (run_id, task, attempt);
)sql"},
      {4, "webhook deliveries of events",
       R"sql(
CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY,
  event_id BIGINT NOT NULL REFERENCES events (id),
  webhook TEXT NOT NULL,
  url TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  last_error TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at, id);
)sql"},
  };
  return kMigrations;
}

int LatestVersion(const std::vector<Migration>& migrations) {
  int latest = 0;
  for (const Migration& m : migrations) latest = m.version > latest ? m.version : latest;
  return latest;
}

Result<int> CurrentSchemaVersion(sqlite3* db, const std::string& path) {
  sqlite3_stmt* stmt = nullptr;
  const char* kExists =
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
  if (sqlite3_prepare_v2(db, kExists, -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db, path, "reading the schema version");
  }
  int rc = sqlite3_step(stmt);
  const bool exists = rc == SQLITE_ROW && sqlite3_column_int64(stmt, 0) > 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return SqliteError(db, path, "reading the schema version");
  if (!exists) return 0;
  if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1, &stmt,
                         nullptr) != SQLITE_OK) {
    return SqliteError(db, path, "reading the schema version");
  }
  rc = sqlite3_step(stmt);
  const int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return SqliteError(db, path, "reading the schema version");
  return version;
}

Result<int> Migrate(sqlite3* db, const std::string& path, const std::vector<Migration>& migrations,
                    int64_t now_ms) {
  // IMMEDIATE takes the write lock first, so two processes opening one new file do not both
  // apply version 1.
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db, path, "starting the migration");
  }
  if (sqlite3_exec(db,
                   "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                   "applied_at BIGINT NOT NULL)",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    Status s = SqliteError(db, path, "creating schema_migrations");
    Rollback(db);
    return s;
  }
  auto current = CurrentSchemaVersion(db, path);
  if (!current.ok()) {
    Rollback(db);
    return current.status();
  }
  const int latest = LatestVersion(migrations);
  if (*current > latest) {
    Rollback(db);
    return Status::NotSupported("control store " + path + " has schema version " +
                                std::to_string(*current) + ", newer than this dew knows (" +
                                std::to_string(latest) + "); it was written by a newer dew");
  }
  for (const Migration& m : migrations) {
    if (m.version <= *current) continue;
    if (sqlite3_exec(db, m.sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      Status s = SqliteError(
          db, path, "applying migration " + std::to_string(m.version) + " (" + m.description + ")");
      Rollback(db);
      return s;
    }
    const std::string record = "INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                               std::to_string(m.version) + ", " + std::to_string(now_ms) + ")";
    if (sqlite3_exec(db, record.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      Status s = SqliteError(db, path, "recording migration " + std::to_string(m.version));
      Rollback(db);
      return s;
    }
  }
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Status s = SqliteError(db, path, "committing the migration");
    Rollback(db);
    return s;
  }
  return latest;
}

}  // namespace dew::control
