// Versioned schema migrations for the control stores (SQLite and PostgreSQL).
//
// A migration is one step of SQL with a version; a database records the versions applied in
// `schema_migrations(version, applied_at)`. Migrate applies the missing steps, in order, in one
// transaction, so a database is always at a version this list names and reopening applies nothing.
// One list serves both stores: a step's `sql` is written to run on both, and a step that cannot
// be (SQLite's INTEGER PRIMARY KEY ids are identity columns on PostgreSQL) carries its PostgreSQL
// spelling in `postgres_sql`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

struct sqlite3;
typedef struct pg_conn PGconn;

namespace dew::control {

enum class SqlDialect { kSqlite, kPostgres };

struct Migration {
  Migration() = default;
  // A constructor rather than an aggregate, so list entries may leave postgres_sql out.
  Migration(int version_in, std::string description_in, std::string sql_in,
            std::string postgres_sql_in = "")
      : version(version_in),
        description(std::move(description_in)),
        sql(std::move(sql_in)),
        postgres_sql(std::move(postgres_sql_in)) {}

  //! The statements to run on `dialect`.
  const std::string& SqlFor(SqlDialect dialect) const {
    return dialect == SqlDialect::kPostgres && !postgres_sql.empty() ? postgres_sql : sql;
  }

  int version = 0;           // 1, 2, 3, … without gaps
  std::string description;   // for docs and errors
  std::string sql;           // one or more statements, for both dialects unless postgres_sql is set
  std::string postgres_sql;  // the PostgreSQL spelling when `sql` is SQLite-only; empty otherwise
};

//! The control store's migrations, oldest first.
const std::vector<Migration>& ControlStoreMigrations();

//! The highest version in `migrations` (0 when empty).
int LatestVersion(const std::vector<Migration>& migrations);

//! The version recorded in `db` (0 for a database never migrated). `path` is for error messages.
Result<int> CurrentSchemaVersion(sqlite3* db, const std::string& path);

//! Brings `db` to LatestVersion(migrations) in one BEGIN IMMEDIATE transaction, recording each
//! step with `now_ms`. Returns the version reached. NotSupported naming `path` when the database
//! was migrated by a newer dew (its version is above the latest known); on any failure nothing is
//! applied and the error names the path and the failing version.
Result<int> Migrate(sqlite3* db, const std::string& path, const std::vector<Migration>& migrations,
                    int64_t now_ms);

//! The version recorded in the PostgreSQL database on `conn` (0 when never migrated). `where`
//! (the database's URL without password) is for error messages.
Result<int> CurrentSchemaVersion(PGconn* conn, const std::string& where);

//! PostgreSQL: like Migrate above, in one transaction that first takes a transaction-level
//! advisory lock, so two processes opening one new database at once apply each step once (the
//! second waits, then finds the steps recorded). Each step runs its SqlFor(kPostgres).
Result<int> Migrate(PGconn* conn, const std::string& where,
                    const std::vector<Migration>& migrations, int64_t now_ms);

}  // namespace dew::control
