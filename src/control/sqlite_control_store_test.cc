#include "control/sqlite_control_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"

namespace dew::control {
namespace {

constexpr int64_t kT0 = 1'800'000'000'000;

std::string MakeTempDir() {
  char tmpl[] = "/tmp/dew_control_test_XXXXXX";
  const char* dir = mkdtemp(tmpl);
  EXPECT_NE(dir, nullptr);
  return dir == nullptr ? std::string("/tmp") : std::string(dir);
}

// The store's behaviour (runs, attempts, claims, schedules, leases, events) is tested on both
// stores in control_store_test.cc; what is below is specific to SQLite files.

TEST(SqliteControlStoreFileTest, CorruptFileNamesPath) {
  const std::string path = MakeTempDir() + "/control.db";
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(8192, 'x');
  }
  auto store = SqliteControlStore::Open(path, std::make_shared<ManualClock>(kT0));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().ToString();
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().ToString();
}

TEST(SqliteControlStoreFileTest, UnopenablePathNamesPath) {
  const std::string dir = MakeTempDir();
  { std::ofstream(dir + "/plain_file") << "x"; }
  const std::string path = dir + "/plain_file/control.db";
  auto store = SqliteControlStore::Open(path, std::make_shared<ManualClock>(kT0));
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().ToString();
}

TEST(SqliteControlStoreFileTest, ReadOnlyOpen) {
  const std::string path = MakeTempDir() + "/control.db";
  auto clock = std::make_shared<ManualClock>(kT0);
  SqliteControlStoreOptions read_only;
  read_only.read_only = true;
  // An empty file is an empty database: read-only, it cannot be migrated.
  { std::ofstream(path, std::ios::binary); }
  auto unmigrated = SqliteControlStore::Open(path, clock, read_only);
  ASSERT_FALSE(unmigrated.ok());
  EXPECT_NE(unmigrated.status().message().find(path), std::string::npos)
      << unmigrated.status().ToString();
  {
    auto store = SqliteControlStore::Open(path, clock);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->UpsertPipeline("p", "h").ok());
  }
  auto store = SqliteControlStore::Open(path, clock, read_only);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->GetPipeline("p")->spec_hash, "h");
  Status write = (*store)->UpsertPipeline("q", "h");
  ASSERT_FALSE(write.ok());
  EXPECT_NE(write.message().find(path), std::string::npos) << write.ToString();
}

}  // namespace
}  // namespace dew::control
