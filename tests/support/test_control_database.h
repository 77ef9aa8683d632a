// TestControlDatabase: an empty control-plane database for one test, on either store, so a suite
// parametrised over StoreBackend runs every test on SQLite and on PostgreSQL (issue 4: "tested on
// both stores"). PostgreSQL databases live on one server shared by the whole test process
// (started on first use, stopped at exit), so a suite pays for initdb once, not once per test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>

#include "control/control_store.h"
#include "core/clock.h"
#include "core/status.h"
#include "support/postgres_server.h"

namespace dew::testing {

enum class StoreBackend { kSqlite, kPostgres };

//! "sqlite" / "postgres": the suffix gtest gives each parametrised test's name.
std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info);
//! Prints the backend by name (in failure messages and ctest's test list) rather than its bytes.
void PrintTo(StoreBackend backend, std::ostream* os);

//! Both backends, for INSTANTIATE_TEST_SUITE_P(Stores, Suite, BothStores(), StoreBackendName).
inline auto BothStores() {
  return ::testing::Values(StoreBackend::kSqlite, StoreBackend::kPostgres);
}

//! False for PostgreSQL when its binaries are not installed (the test then skips).
bool StoreBackendAvailable(StoreBackend backend);

//! The PostgreSQL server shared by every test of this process; started on the first call (its
//! outcome is returned by every later call too).
Result<PostgresServer*> SharedPostgresServer();

//! A write lock held on a test database by a connection of its own until destroyed.
class HeldWriteLock {
 public:
  virtual ~HeldWriteLock() = default;
};

class TestControlDatabase {
 public:
  //! A new empty database: `dir`/control.db on SQLite (dir must exist), a freshly created
  //! database on the shared server on PostgreSQL.
  static Result<TestControlDatabase> Create(StoreBackend backend, const std::string& dir);

  StoreBackend backend() const { return backend_; }
  //! Opens a store object on the database (its own connection, as another process would have).
  Result<std::unique_ptr<control::ControlStore>> Open(std::shared_ptr<Clock> clock) const;
  //! The value of dew.yml's `control:` that points a dew process at this database. On
  //! PostgreSQL it holds the password, so tests pass it through the environment, not a file.
  const std::string& setting() const { return setting_; }
  //! Runs SQL on the database with the store's own client (sqlite3 or psql), as an operator
  //! tampering with it would; returns stdout.
  Result<std::string> RunSql(const std::string& sql) const;
  //! Blocks writes to `table` as a stuck writer would, until the result is destroyed: SQLite's
  //! whole-database write lock (BEGIN IMMEDIATE), or LOCK TABLE `table` IN EXCLUSIVE MODE in an
  //! open transaction on PostgreSQL (plain reads go on).
  Result<std::unique_ptr<HeldWriteLock>> LockWrites(const std::string& table) const;

 private:
  StoreBackend backend_ = StoreBackend::kSqlite;
  std::string location_;  // SQLite file or libpq keyword/value connection string
  std::string setting_;
  std::string database_;  // PostgreSQL only
};

}  // namespace dew::testing
