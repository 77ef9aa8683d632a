#pragma once

#include <string>

#include "core/status.h"

namespace dew::testing {

//! A throwaway PostgreSQL 15 server for integration tests: initdb in a fresh temp folder, listens
//! only on 127.0.0.1 at a free port, password auth (scram) with a password generated per run.
//! PostgreSQL refuses to run as root, so under root the server binaries run as the `postgres`
//! system user (the data folder is chowned to it). Not thread-safe; one instance per test suite.
class PostgresServer {
 public:
  PostgresServer() = default;
  //! Stops the server (if running) and removes the temp folder.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  //! True when Debian's PostgreSQL 15 binaries are installed; tests skip otherwise.
  static bool Available();

  //! Before Start: also pass `-c name=value` to the server, e.g. ("wal_level", "logical") for
  //! tests of logical replication. The default start sets neither.
  void AddSetting(const std::string& name, const std::string& value);

  //! initdb + pg_ctl start; waits until the server accepts connections. Fails with a message that
  //! includes the server log when any step fails.
  Status Start();
  //! Start, then a source database as the connector tests read one: database `database`,
  //! `schema_sql` run in it, and a login role `role` (password reader_password()) allowed to
  //! SELECT the tables that schema made (tables made later need their own GRANT).
  Status StartWithSourceDatabase(const std::string& database, const std::string& role,
                                 const std::string& schema_sql);
  //! pg_ctl stop -m fast, then -m immediate if that fails. Idempotent.
  Status Stop();

  bool running() const { return running_; }
  int port() const { return port_; }
  const std::string& host() const { return host_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  //! The password of StartWithSourceDatabase's role: generated per run like password().
  std::string reader_password() const { return password_ + "r"; }
  //! libpq connection string (keyword/value form) for `database` as the superuser.
  std::string ConnectionString(const std::string& database = "postgres") const;

  //! Runs `sql` with psql (ON_ERROR_STOP, unaligned tuples-only output) as the superuser.
  //! Returns psql's stdout; fails with psql's stderr when psql exits non-zero. What `sql` did
  //! is counted in PostgreSQL's statistics (pg_stat_all_tables) when it returns.
  Result<std::string> RunSql(const std::string& sql,
                             const std::string& database = "postgres") const;

 private:
  std::string dir_;  // temp folder: data/ and server.log
  std::string host_ = "127.0.0.1";
  std::string user_ = "dew_admin";
  std::string password_;
  std::string settings_;  // " -c name=value" for each AddSetting
  int port_ = 0;
  bool running_ = false;
};

}  // namespace dew::testing
