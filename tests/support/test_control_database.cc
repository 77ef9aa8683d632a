#include "support/test_control_database.h"

#include <postgresql/libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>

#include "control/postgres_control_store.h"
#include "control/sqlite_control_store.h"

namespace dew::testing {

std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param == StoreBackend::kSqlite ? "sqlite" : "postgres";
}

void PrintTo(StoreBackend backend, std::ostream* os) {
  *os << (backend == StoreBackend::kSqlite ? "sqlite" : "postgres");
}

bool StoreBackendAvailable(StoreBackend backend) {
  return backend == StoreBackend::kSqlite || PostgresServer::Available();
}

Result<PostgresServer*> SharedPostgresServer() {
  // Function statics: started once per process, stopped by the destructor at exit.
  static PostgresServer server;
  static Status started = server.Start();
  if (!started.ok()) return started;
  return &server;
}

Result<TestControlDatabase> TestControlDatabase::Create(StoreBackend backend,
                                                        const std::string& dir) {
  TestControlDatabase db;
  db.backend_ = backend;
  if (backend == StoreBackend::kSqlite) {
    db.location_ = dir + "/control.db";
    db.setting_ = "sqlite:" + db.location_;
    return db;
  }
  DEW_ASSIGN_OR_RETURN(PostgresServer * server, SharedPostgresServer());
  static std::atomic<int> counter{0};
  db.database_ = "dew_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  DEW_RETURN_IF_ERROR(server->RunSql("CREATE DATABASE " + db.database_).status());
  db.location_ = server->ConnectionString(db.database_);
  db.setting_ = "postgres://" + server->user() + ":" + server->password() + "@" + server->host() +
                ":" + std::to_string(server->port()) + "/" + db.database_;
  return db;
}

Result<std::unique_ptr<control::ControlStore>> TestControlDatabase::Open(
    std::shared_ptr<Clock> clock) const {
  if (backend_ == StoreBackend::kSqlite) {
    DEW_ASSIGN_OR_RETURN(auto store, control::SqliteControlStore::Open(location_, clock));
    return std::unique_ptr<control::ControlStore>(std::move(store));
  }
  DEW_ASSIGN_OR_RETURN(auto store, control::PostgresControlStore::Open(location_, clock));
  return std::unique_ptr<control::ControlStore>(std::move(store));
}

namespace {

int AppendRow(void* out, int columns, char** values, char** /*names*/) {
  auto* text = static_cast<std::string*>(out);
  for (int i = 0; i < columns; ++i) {
    if (i > 0) *text += "|";
    *text += values[i] == nullptr ? "" : values[i];
  }
  *text += "\n";
  return 0;
}

}  // namespace

Result<std::string> TestControlDatabase::RunSql(const std::string& sql) const {
  if (backend_ == StoreBackend::kPostgres) {
    DEW_ASSIGN_OR_RETURN(PostgresServer * server, SharedPostgresServer());
    return server->RunSql(sql, database_);
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(location_.c_str(), &db) != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::IOError("sqlite3 open " + location_ + ": " + message);
  }
  sqlite3_busy_timeout(db, 5000);
  std::string out;
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), AppendRow, &out, &error);
  std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) return Status::IOError("sqlite3 on " + location_ + ": " + message);
  return out;
}

namespace {

class SqliteWriteLock final : public HeldWriteLock {
 public:
  explicit SqliteWriteLock(sqlite3* db) : db_(db) {}
  ~SqliteWriteLock() override {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }

 private:
  sqlite3* db_;
};

class PostgresWriteLock final : public HeldWriteLock {
 public:
  explicit PostgresWriteLock(PGconn* conn) : conn_(conn) {}
  ~PostgresWriteLock() override {
    PQclear(PQexec(conn_, "ROLLBACK"));
    PQfinish(conn_);
  }

 private:
  PGconn* conn_;
};

}  // namespace

Result<std::unique_ptr<HeldWriteLock>> TestControlDatabase::LockWrites(
    const std::string& table) const {
  if (backend_ == StoreBackend::kSqlite) {
    sqlite3* db = nullptr;
    if (sqlite3_open(location_.c_str(), &db) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      return Status::IOError("locking " + location_ + ": " + message);
    }
    return std::unique_ptr<HeldWriteLock>(new SqliteWriteLock(db));
  }
  PGconn* conn = PQconnectdb(location_.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    return Status::IOError("connecting to lock " + table + ": " + message);
  }
  PGresult* res = PQexec(conn, ("BEGIN; LOCK TABLE " + table + " IN EXCLUSIVE MODE").c_str());
  const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
  PQclear(res);
  if (!ok) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    return Status::IOError("locking " + table + ": " + message);
  }
  return std::unique_ptr<HeldWriteLock>(new PostgresWriteLock(conn));
}

}  // namespace dew::testing
