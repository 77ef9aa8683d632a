// A writer SIGKILLed at random moments leaves the table readable at its last committed version,
// with exactly the rows of the commits that landed, and vacuum removes what it left behind. Half
// way through, the table gets deletion vectors, so merges and deletes killed while writing DVs
// are covered too; the writer also compacts (OPTIMIZE) now and then, so kills land in those.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/file_system.h"
#include "core/id_generator.h"
#include "engine/connection.h"
#include "engine/database.h"
#include "lake/conformance.h"
#include "lake/delta_table.h"
#include "lake/table_scan.h"

extern char** environ;

namespace dew::lake {
namespace {

// Must match tests/support/lake_writer_main.cc.
int64_t BatchSize(int64_t batch) {
  return 50 + (batch * 37) % 200;
}

void AddBatch(int64_t batch, std::set<int64_t>* ids) {
  for (int64_t i = 0; i < BatchSize(batch); ++i) ids->insert(batch * 1000 + i);
}

std::vector<int64_t> BatchesIn(const std::map<std::string, std::string>& params,
                               const std::string& key) {
  std::vector<int64_t> out;
  auto it = params.find(key);
  if (it == params.end()) return out;
  auto parsed = nlohmann::json::parse(it->second, nullptr, false);
  if (!parsed.is_array()) {
    ADD_FAILURE() << key << " is not a JSON array: " << it->second;
    return out;
  }
  for (const auto& v : parsed) out.push_back(v.get<int64_t>());
  return out;
}

pid_t StartWriter(const std::string& root, int64_t first_batch) {
  std::string first = std::to_string(first_batch);
  std::vector<std::string> args = {DEW_LAKE_WRITER, root, first, "100000", "--optimize"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, DEW_LAKE_WRITER, nullptr, nullptr, argv.data(), environ);
  EXPECT_EQ(rc, 0) << "cannot start " << DEW_LAKE_WRITER;
  return rc == 0 ? pid : -1;
}

class LakeKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_lake_kill_XXXXXX";
    const char* made = mkdtemp(tmpl);
    ASSERT_NE(made, nullptr);
    dir_ = made;
    root_ = dir_ + "/table";
    auto db = engine::Database::Open(engine::DatabaseOptions{});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto con = db_->Connect();
    ASSERT_TRUE(con.ok());
    con_ = std::move(*con);
    env_ = TableEnv{FileSystem::Posix(), Clock::System(), con_.get(), &ids_};
  }
  void TearDown() override {
    con_.reset();
    if (!dir_.empty()) (void)FileSystem::Posix()->RemoveAll(dir_);
  }

  // The ids at `version` must be exactly `expected`, without duplicates.
  void CheckVersion(DeltaTable& table, int64_t version, const std::set<int64_t>& expected,
                    bool every_id) {
    auto snapshot = table.log().LoadSnapshot(version);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    auto scan = ScanSql(*snapshot);
    ASSERT_TRUE(scan.ok()) << scan.status().ToString();
    int64_t sum = 0;
    for (int64_t id : expected) sum += id;
    auto agg = con_->QueryText("SELECT count(*), count(DISTINCT id), coalesce(sum(id), 0) FROM (" +
                               *scan + ")");
    ASSERT_TRUE(agg.ok()) << agg.status().ToString();
    EXPECT_EQ(agg->rows[0][0].value_or(""), std::to_string(expected.size()))
        << "version " << version;
    EXPECT_EQ(agg->rows[0][1].value_or(""), std::to_string(expected.size()))
        << "duplicate ids at version " << version;
    EXPECT_EQ(agg->rows[0][2].value_or(""), std::to_string(sum)) << "version " << version;
    if (!every_id) return;
    auto ids = con_->QueryText("SELECT id FROM (" + *scan + ") ORDER BY id");
    ASSERT_TRUE(ids.ok());
    std::vector<int64_t> actual;
    for (const auto& row : ids->rows) actual.push_back(std::stoll(row[0].value_or("-1")));
    EXPECT_EQ(actual, std::vector<int64_t>(expected.begin(), expected.end()))
        << "version " << version;
  }

  std::string dir_;
  std::string root_;
  std::unique_ptr<engine::Database> db_;
  std::unique_ptr<engine::Connection> con_;
  IdGenerator ids_;
  TableEnv env_;
};

TEST_F(LakeKillTest, SigkillAtRandomMomentsNeverBreaksTheTable) {
  Schema schema({Field{"id", "long", true, "{}"}, Field{"name", "string", true, "{}"}});
  auto created = DeltaTable::Create(env_, root_, "kill", schema, {}, WriteOptions{});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto& table = **created;

  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(30, 700);
  std::set<int64_t> expected;
  int64_t checked = 0;
  int kills = 0;
  int optimizes = 0;
  int extra_ms = 0;  // grows while runs commit nothing (a slow machine, a sanitizer build)
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);
  // 24 runs, or more (up to 48) until over 20 versions were checked: under a sanitizer on a loaded
  // machine a run may commit only one version or none (session 8: 19 and 9 after 24 runs).
  for (int run = 1;
       (run <= 24 || (checked <= 20 && run <= 48)) && std::chrono::steady_clock::now() < deadline;
       ++run) {
    if (run == 12) {
      auto enabled = table.EnableDeletionVectors(WriteOptions{});
      ASSERT_TRUE(enabled.ok()) << enabled.status().ToString();
    }
    pid_t pid = StartWriter(root_, run * 1000);
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng) + extra_ms));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    if (WIFEXITED(wstatus)) {
      ADD_FAILURE() << "writer exited by itself with code " << WEXITSTATUS(wstatus);
    } else {
      ++kills;
    }

    auto reopened = DeltaTable::Open(env_, root_);
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    auto latest = (*reopened)->Latest();
    ASSERT_TRUE(latest.ok()) << "run " << run << ": " << latest.status().ToString();
    auto latest_version = (*reopened)->log().LatestVersion();
    ASSERT_TRUE(latest_version.ok());
    ASSERT_EQ(latest->version, *latest_version);
    for (int64_t v = checked + 1; v <= latest->version; ++v) {
      auto actions = table.log().ReadCommit(v);
      ASSERT_TRUE(actions.ok()) << actions.status().ToString();
      ASSERT_TRUE(actions->commit_info.has_value()) << "version " << v;
      const auto& params = actions->commit_info->operation_parameters;
      optimizes += actions->commit_info->operation == "OPTIMIZE";
      for (int64_t b : BatchesIn(params, "dewTestAdded")) AddBatch(b, &expected);
      for (int64_t b : BatchesIn(params, "dewTestDeleted")) {
        for (int64_t i = 0; i < BatchSize(b); ++i) expected.erase(b * 1000 + i);
      }
      CheckVersion(table, v, expected, /*every_id=*/v == latest->version);
      if (::testing::Test::HasFailure()) return;
    }
    extra_ms = latest->version == checked ? extra_ms + 300 : 0;
    checked = latest->version;
  }
  EXPECT_GE(kills, 20);
  EXPECT_GT(checked, 20) << "the writer hardly committed anything";
  EXPECT_GT(optimizes, 0) << "no OPTIMIZE committed";

  // Forced vacuum with no retention removes every orphan the killed writers left.
  auto vacuumed = table.Vacuum(0, /*force=*/true, /*dry_run=*/false);
  ASSERT_TRUE(vacuumed.ok()) << vacuumed.status().ToString();
  auto latest = table.Latest();
  ASSERT_TRUE(latest.ok());
  std::set<std::string> live;
  int deletion_vectors = 0;
  for (const auto& f : latest->files) {
    live.insert(DecodePath(f.path));
    if (!f.deletion_vector) continue;
    ++deletion_vectors;
    auto dv = DeletionVectorPath(root_, *f.deletion_vector);
    ASSERT_TRUE(dv.ok()) << dv.status().ToString();
    live.insert(dv->substr(root_.size() + 1));
  }
  auto files = FileSystem::Posix()->ListRecursive(root_);
  ASSERT_TRUE(files.ok());
  size_t data_files = 0;
  for (const auto& f : *files) {
    if (f.name.rfind("_delta_log/", 0) == 0) {
      EXPECT_EQ(f.name.find(".tmp"), std::string::npos) << "left in the log: " << f.name;
      continue;
    }
    ++data_files;
    EXPECT_EQ(live.count(f.name), 1u) << "orphan left after vacuum: " << f.name;
  }
  EXPECT_EQ(data_files, live.size());
  std::printf(
      "kill test: %d kills, %lld versions checked (%d OPTIMIZE), vacuum removed %zu orphan files, "
      "%d live files with a deletion vector\n",
      kills, static_cast<long long>(checked), optimizes, vacuumed->deleted.size(),
      deletion_vectors);
  CheckVersion(table, latest->version, expected, /*every_id=*/true);
  Status valid = ValidateDeltaLog(*FileSystem::Posix(), root_, con_.get());
  EXPECT_TRUE(valid.ok()) << valid.ToString();
}

}  // namespace
}  // namespace dew::lake
