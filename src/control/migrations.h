// Versioned schema migrations for the SQLite control store.
//
// A migration is one step of SQL with a version; a database records the versions applied in
// `schema_migrations(version, applied_at)`. Migrate applies the missing steps, in order, in one
// transaction, so a database is always at a version this list names and reopening applies nothing.
// The DDL is SQLite's dialect (INTEGER PRIMARY KEY ids); a PostgreSQL store keeps its own list with
// the same versions and tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

struct sqlite3;

namespace dew::control {

struct Migration {
  int version = 0;          // 1, 2, 3, … without gaps
  std::string description;  // for docs and errors
  std::string sql;          // one or more statements
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

}  // namespace dew::control
