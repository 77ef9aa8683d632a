#include "control/migrations.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "control/sqlite_control_store.h"
#include "core/clock.h"

namespace dew::control {
namespace {

std::string MakeTempDir() {
  char tmpl[] = "/tmp/dew_migrations_test_XXXXXX";
  const char* dir = mkdtemp(tmpl);
  EXPECT_NE(dir, nullptr);
  return dir == nullptr ? std::string("/tmp") : std::string(dir);
}

// A raw connection, closed at scope end.
struct Db {
  explicit Db(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK); }
  ~Db() { sqlite3_close(db); }
  int64_t Scalar(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    int64_t v = -1;
    if (st != nullptr && sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string v;
    if (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
      v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return v;
  }
  bool HasTable(const std::string& name) {
    return Scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" + name +
                  "'") == 1;
  }
  sqlite3* db = nullptr;
};

const std::vector<Migration> kV1 = {{1, "one", "CREATE TABLE t1 (a INTEGER)"}};
const std::vector<Migration> kV2 = {
    {1, "one", "CREATE TABLE t1 (a INTEGER)"},
    {2, "two", "CREATE TABLE t2 (b TEXT); INSERT INTO t1 VALUES (7)"}};

TEST(MigrationsTest, EmptyFileMigratesToLatestAndReopenAppliesNothing) {
  const std::string path = MakeTempDir() + "/control.db";
  Db db(path);
  auto before = CurrentSchemaVersion(db.db, path);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(*before, 0);
  const int latest = LatestVersion(ControlStoreMigrations());
  ASSERT_GE(latest, 1);
  auto v = Migrate(db.db, path, ControlStoreMigrations(), 1000);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, latest);
  for (const char* table :
       {"pipelines", "runs", "task_attempts", "schedules", "connector_state", "events"}) {
    EXPECT_TRUE(db.HasTable(table)) << table;
  }
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM schema_migrations"), latest);
  v = Migrate(db.db, path, ControlStoreMigrations(), 2000);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM schema_migrations"), latest);
  EXPECT_EQ(db.Scalar("SELECT max(applied_at) FROM schema_migrations"), 1000);
}

TEST(MigrationsTest, UpgradeAppliesOnlyNewSteps) {
  const std::string path = MakeTempDir() + "/control.db";
  Db db(path);
  ASSERT_TRUE(Migrate(db.db, path, kV1, 1).ok());
  EXPECT_EQ(*CurrentSchemaVersion(db.db, path), 1);
  auto v = Migrate(db.db, path, kV2, 2);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 2);
  EXPECT_TRUE(db.HasTable("t2"));
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM t1"), 1);  // step 1 did not run again
  EXPECT_EQ(db.Scalar("SELECT applied_at FROM schema_migrations WHERE version = 2"), 2);
}

TEST(MigrationsTest, DatabaseFromNewerDewRefused) {
  const std::string path = MakeTempDir() + "/control.db";
  Db db(path);
  ASSERT_TRUE(Migrate(db.db, path, kV2, 1).ok());
  auto v = Migrate(db.db, path, kV1, 2);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Status::Code::kNotSupported) << v.status().ToString();
  EXPECT_NE(v.status().message().find(path), std::string::npos) << v.status().ToString();
  EXPECT_NE(v.status().message().find("newer"), std::string::npos) << v.status().ToString();
  EXPECT_EQ(*CurrentSchemaVersion(db.db, path), 2);
}

TEST(MigrationsTest, StoreRefusesDatabaseFromTheFuture) {
  const std::string path = MakeTempDir() + "/control.db";
  auto clock = std::make_shared<ManualClock>(5);
  {
    auto store = SqliteControlStore::Open(path, clock);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
  }
  {
    Db db(path);
    ASSERT_EQ(sqlite3_exec(db.db, "INSERT INTO schema_migrations VALUES (999, 1)", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
  }
  auto store = SqliteControlStore::Open(path, clock);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kNotSupported) << store.status().ToString();
  EXPECT_NE(store.status().message().find(path), std::string::npos);
  EXPECT_NE(store.status().message().find("999"), std::string::npos);
}

TEST(MigrationsTest, StoreFileIsMigratedAndInWalMode) {
  const std::string path = MakeTempDir() + "/control.db";
  {
    auto store = SqliteControlStore::Open(path, std::make_shared<ManualClock>(5));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
  }
  Db db(path);
  EXPECT_EQ(db.Text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(*CurrentSchemaVersion(db.db, path), LatestVersion(ControlStoreMigrations()));
  EXPECT_EQ(db.Scalar("SELECT applied_at FROM schema_migrations WHERE version = 1"), 5);
}

TEST(MigrationsTest, FailingStepAppliesNothing) {
  const std::string path = MakeTempDir() + "/control.db";
  Db db(path);
  ASSERT_TRUE(Migrate(db.db, path, kV1, 1).ok());
  const std::vector<Migration> broken = {
      kV1[0],
      {2, "two", "CREATE TABLE t2 (b TEXT)"},
      {3, "three", "CREATE TABLE t3 (c TEXT); INSERT INTO no_such_table VALUES (1)"}};
  auto v = Migrate(db.db, path, broken, 2);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find(path), std::string::npos) << v.status().ToString();
  EXPECT_NE(v.status().message().find("migration 3"), std::string::npos) << v.status().ToString();
  EXPECT_NE(v.status().message().find("no_such_table"), std::string::npos);
  EXPECT_EQ(*CurrentSchemaVersion(db.db, path), 1);
  EXPECT_FALSE(db.HasTable("t2"));
  EXPECT_FALSE(db.HasTable("t3"));
}

}  // namespace
}  // namespace dew::control
