// SingerSource against real Singer taps (tests/data/taps/tap_fake.py, Python 3) run as child
// processes, landing in a real lake: two streams with state, a tap killed mid-run (resume
// without duplicates or gaps), a malformed line, a tap exiting 1, the child's environment.
#include "connectors/singer_source.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>

#include "connectors/bronze_landing.h"
#include "connectors/source_factory.h"
#include "core/process_runner.h"
#include "support/sync_lake.h"

namespace dew::connectors {
namespace {

using nlohmann::json;

class SingerSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.fs()->CreateDirs(env_.dir() + "/taps").ok());
    auto tap = env_.fs()->ReadFile(std::string(DEW_SOURCE_DIR) + "/tests/data/taps/tap_fake.py");
    ASSERT_TRUE(tap.ok());
    ASSERT_TRUE(env_.fs()->WriteFile(env_.dir() + "/taps/tap_fake.py", *tap).ok());
    ASSERT_EQ(chmod((env_.dir() + "/taps/tap_fake.py").c_str(), 0755), 0);
  }

  //! A connection over tap_fake with `config` (YAML flow map text) and extra block keys.
  Result<std::unique_ptr<Source>> Make(const std::string& config, const std::string& extra = "") {
    const std::string yaml =
        "name: fake\n"
        "source_type: singer\n"
        "singer:\n"
        "  executable: taps/tap_fake.py\n"
        "  config: " +
        config + "\n" + extra +
        "streams:\n"
        "  - name: users\n"
        "    sync_mode: incremental\n"
        "    cursor_field: id\n"
        "    primary_key: [id]\n"
        "  - name: orders\n"
        "    sync_mode: full_refresh\n"
        "  - name: env\n";
    auto spec = ConnectionSpec::Parse(yaml, "connections/fake.yml");
    if (!spec.ok()) return spec.status();
    SourceEnv senv;
    senv.fs = env_.fs();
    senv.clock = env_.shared_clock();
    senv.processes = std::make_shared<PosixProcessRunner>(env_.dir());
    senv.env = {{"DEW_TEST_TOKEN", "s3cret"}, {"NOT_DECLARED", "leak"}};
    senv.project_dir = env_.dir();
    senv.spool_dir = env_.dir() + "/.dew/spool";
    return MakeSource(*spec, senv);
  }

  Result<ReadResult> Read(Source& source, const std::string& stream, const std::string& mode) {
    StreamRequest request;
    request.name = stream;
    request.sync_mode = mode;
    request.cursor_field = mode == "incremental" ? "id" : "";
    return source.Read(request, json(), env_.lake());
  }

  std::string Scalar(const std::string& sql) { return env_.Scalar(sql); }

  //! Private folders left in the spool (there should be none after a run).
  size_t SpoolLeftovers() {
    auto entries = env_.fs()->ListDir(env_.dir() + "/.dew/spool");
    return entries.ok() ? entries->size() : 0;
  }

  dew::testing::SyncLake env_;
};

TEST_F(SingerSourceTest, DiscoverListsTheCatalog) {
  auto source = Make("{users: 3}");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto streams = (*source)->Discover();
  ASSERT_TRUE(streams.ok()) << streams.status().ToString();
  ASSERT_EQ(streams->size(), 3u);
  const StreamInfo& users = (*streams)[0];
  EXPECT_EQ(users.name, "users");
  EXPECT_EQ(users.primary_key, std::vector<std::string>{"id"});
  ASSERT_EQ(users.columns.size(), 8u);  // sorted by name
  std::string columns;
  for (const auto& c : users.columns) columns += c.name + ":" + c.lake_type + " ";
  EXPECT_EQ(columns,
            "active:BOOLEAN address:VARCHAR created_at:TIMESTAMPTZ email:VARCHAR id:BIGINT "
            "name:VARCHAR score:DOUBLE tags:VARCHAR ");  // JSON lands as its text
  EXPECT_EQ(users.columns[2].source_type, R"(["null","string"] (date-time))");
  EXPECT_FALSE(users.columns[4].nullable);  // the key
  EXPECT_TRUE(users.columns[3].nullable);

  CheckProblem problem;
  EXPECT_TRUE((*source)->Check({"users", "orders"}, &problem).ok());
  Status missing = (*source)->Check({"userz"}, &problem);
  EXPECT_EQ(problem, CheckProblem::kMissingTable);
  EXPECT_NE(
      missing.message().find("stream userz is not in the tap's catalog (did you mean users?)"),
      std::string::npos)
      << missing.ToString();
  EXPECT_EQ(SpoolLeftovers(), 0u);
}

TEST_F(SingerSourceTest, TwoStreamsWithStateAndAnIncrementalResume) {
  auto source = Make("{users: 250, orders: 30, state_every: 100}");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto users = Read(**source, "users", "incremental");
  ASSERT_TRUE(users.ok()) << users.status().ToString();
  EXPECT_EQ(users->rows, 250);
  EXPECT_EQ(users->table, "bronze.raw_fake_users");
  EXPECT_EQ(users->state["bookmarks"]["users"]["id"], 250);
  EXPECT_GT(users->bytes_read, 250 * 100);
  // One commit per STATE: after 100, 200 and 250 records.
  EXPECT_EQ(Scalar("SELECT count(DISTINCT _batch) FROM bronze.raw_fake_users"), "3");
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || max(_cursor::INT) "
                   "FROM bronze.raw_fake_users"),
            "250 250 250");
  // Types from the SCHEMA: timestamps, JSON objects and arrays (as JSON text), NULLs kept.
  EXPECT_EQ(Scalar("SELECT typeof(created_at) || ' ' || typeof(score) || ' ' || typeof(tags) "
                   "FROM bronze.raw_fake_users LIMIT 1"),
            "TIMESTAMP WITH TIME ZONE DOUBLE VARCHAR");
  EXPECT_EQ(Scalar("SELECT tags FROM bronze.raw_fake_users WHERE id = 4"), R"(["t1"])");
  EXPECT_EQ(Scalar("SELECT epoch(created_at)::BIGINT || ' ' || (address->>'city') || ' ' || "
                   "score || ' ' || active || ' ' || coalesce(email, 'NULL') "
                   "FROM bronze.raw_fake_users WHERE id = 10"),
            "1704103200 City 3 15.0 true NULL");

  auto orders = Read(**source, "orders", "full_refresh");
  ASSERT_TRUE(orders.ok()) << orders.status().ToString();
  EXPECT_EQ(orders->rows, 30);
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || sum(amount) || ' ' || max(placed_on) "
                   "FROM bronze.raw_fake_orders"),
            "30 1046.25 2024-01-31");
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_fake_users"), "250");  // untouched

  // More users at the source: the next incremental read passes the committed state.
  auto more = Make("{users: 320, orders: 30, state_every: 100}");
  ASSERT_TRUE(more.ok());
  auto again = Read(**more, "users", "incremental");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows, 70);
  EXPECT_EQ(again->state["bookmarks"]["users"]["id"], 320);
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || min(id) || ' ' || "
                   "max(id) FROM bronze.raw_fake_users"),
            "320 320 1 320");
  EXPECT_EQ(SpoolLeftovers(), 0u);
}

TEST_F(SingerSourceTest, KilledTapResumesFromTheLastCommittedState) {
  // The first run SIGKILLs itself after 350 records; STATEs came after 100, 200 and 300.
  auto source = Make("{users: 1000, state_every: 100, die_after: 350, die_marker: died}");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto killed = Read(**source, "users", "incremental");
  ASSERT_FALSE(killed.ok());
  EXPECT_NE(killed.status().message().find("signal 9"), std::string::npos)
      << killed.status().ToString();
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || max(id) FROM bronze.raw_fake_users"), "300 300");
  BronzeLanding landing(env_.lake(), "fake", "users");
  auto committed = landing.LastCommittedState();
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ((*committed)["bookmarks"]["users"]["id"], 300);
  EXPECT_EQ(SpoolLeftovers(), 0u);  // the 50 uncommitted records went with the spool

  // A new process resumes (the state argument is ignored: bronze holds the truth).
  env_.Reopen("run-2");
  auto resumed = Make("{users: 1000, state_every: 100, die_after: 350, die_marker: died}");
  ASSERT_TRUE(resumed.ok());
  auto rest = Read(**resumed, "users", "incremental");
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(rest->rows, 700);
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || min(id) || ' ' || "
                   "max(id) || ' ' || sum(id) FROM bronze.raw_fake_users"),
            "1000 1000 1 1000 500500");
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_fake_users WHERE _run_id = 'run-2'"), "700");
}

TEST_F(SingerSourceTest, MalformedLineFailsNamingTheLine) {
  auto source = Make("{users: 20, malformed_after: 5}");
  ASSERT_TRUE(source.ok());
  auto read = Read(**source, "users", "incremental");
  ASSERT_FALSE(read.ok());
  // SCHEMA is line 1, five RECORDs are lines 2-6.
  EXPECT_NE(read.status().message().find("taps/tap_fake.py: line 7: not JSON"), std::string::npos)
      << read.status().ToString();
  EXPECT_NE(read.status().message().find("this is not a singer message"), std::string::npos);
  EXPECT_NE(Scalar("SELECT count(*) FROM bronze.raw_fake_users").find("ERROR"),
            std::string::npos);  // nothing was committed: no table
  EXPECT_EQ(SpoolLeftovers(), 0u);
}

TEST_F(SingerSourceTest, TapExitingNonZeroFailsWithItsStderrAndKeepsOnlyCommittedBatches) {
  auto source = Make("{users: 500, state_every: 100, fail_after: 150}");
  ASSERT_TRUE(source.ok());
  auto read = Read(**source, "users", "incremental");
  ASSERT_FALSE(read.ok());
  const std::string msg = read.status().message();
  EXPECT_NE(msg.find("fake: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("exit 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tap_fake: lost the connection to api.example.com | tap_fake: giving up"),
            std::string::npos)
      << msg;
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || max(id) FROM bronze.raw_fake_users"), "100 100");
}

TEST_F(SingerSourceTest, ChildGetsOnlyDeclaredEnvironmentAndPrivateFiles) {
  auto source = Make("{users: 1}", "  env: {TAP_TOKEN: '${env:DEW_TEST_TOKEN}'}\n");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto read = Read(**source, "env", "full_refresh");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  auto rows = env_.lake()->connection().QueryText(
      "SELECT name, value FROM bronze.raw_fake_env ORDER BY name");
  ASSERT_TRUE(rows.ok());
  std::map<std::string, std::string> seen;
  for (const auto& r : rows->rows) seen[*r[0]] = r[1].value_or("NULL");
  std::set<std::string> names;
  for (const auto& [k, v] : seen) names.insert(k);
  EXPECT_EQ(names, (std::set<std::string>{"HOME", "LANG", "PATH", "TAP_TOKEN", "__config_dir_mode",
                                          "__config_mode", "__cwd"}));
  EXPECT_EQ(seen["TAP_TOKEN"], "s3cret");
  EXPECT_EQ(seen["__config_mode"], "600");
  EXPECT_EQ(seen["__config_dir_mode"], "700");
  char real[PATH_MAX];
  ASSERT_NE(realpath(env_.dir().c_str(), real), nullptr);
  EXPECT_EQ(seen["__cwd"], real);
  EXPECT_EQ(seen["HOME"].rfind(env_.dir() + "/.dew/spool/tap_" + std::to_string(getpid()) + "_", 0),
            0u)
      << seen["HOME"];
  EXPECT_EQ(SpoolLeftovers(), 0u);  // config.json (with resolved secrets) is gone
}

TEST_F(SingerSourceTest, ConfigResolvesEnvReferencesAtRunTime) {
  // api_key is a secret key: only a reference is allowed in the file.
  auto literal = Make("{users: 1, api_key: plain}");
  ASSERT_FALSE(literal.ok());
  EXPECT_NE(literal.status().message().find("literal secret"), std::string::npos);

  auto unset = Make("{users: 1, api_key: '${env:NOT_SET_ANYWHERE}'}");
  ASSERT_TRUE(unset.ok()) << unset.status().ToString();  // resolved when the tap runs
  auto read = Read(**unset, "users", "incremental");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("singer.config.api_key"), std::string::npos)
      << read.status().ToString();
  EXPECT_NE(read.status().message().find("NOT_SET_ANYWHERE"), std::string::npos);
}

TEST_F(SingerSourceTest, BlockErrorsNameFileLineAndField) {
  auto unknown = Make("{users: 1}", "  catalogue: x.json\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("connections/fake.yml:6:"), std::string::npos)
      << unknown.status().ToString();
  EXPECT_NE(unknown.status().message().find("singer.catalogue: unknown key"), std::string::npos)
      << unknown.status().ToString();

  auto bad_batch = Make("{users: 1}", "  batch_records: many\n");
  ASSERT_FALSE(bad_batch.ok());
  EXPECT_NE(bad_batch.status().message().find("singer.batch_records: expected a whole number"),
            std::string::npos)
      << bad_batch.status().ToString();

  auto missing = Make("{users: 1}", "  catalog_flag: props\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("singer.catalog_flag: expected catalog or properties"),
            std::string::npos);
}

TEST_F(SingerSourceTest, BatchRecordsCommitsWithoutWaitingForState) {
  // No STATE until the end of the stream: batch_records bounds each commit.
  auto source = Make("{users: 95}", "  batch_records: 40\n");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto read = Read(**source, "users", "incremental");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 95);
  EXPECT_EQ(Scalar("SELECT string_agg(n::VARCHAR, ',' ORDER BY b) FROM (SELECT _batch AS b, "
                   "count(*) AS n FROM bronze.raw_fake_users GROUP BY ALL)"),
            "40,40,15");
}

TEST_F(SingerSourceTest, UnknownStreamAndMissingExecutable) {
  auto source = Make("{users: 1}");
  ASSERT_TRUE(source.ok());
  auto read = Read(**source, "customers", "full_refresh");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(read.status().IsNotFound());

  ASSERT_TRUE(env_.fs()->RemoveFile(env_.dir() + "/taps/tap_fake.py").ok());
  auto gone = (*source)->Discover();
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("tap_fake.py"), std::string::npos)
      << gone.status().ToString();
}

TEST_F(SingerSourceTest, TimeoutKillsTheTapAndKeepsCommittedBatches) {
  // The tap stops after 150 records and waits for its parent to go: only the timeout ends it.
  auto source = Make("{users: 500, state_every: 100, pause_after: 150, pause_marker: paused}",
                     "  timeout_seconds: 1\n");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto read = Read(**source, "users", "incremental");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("timed out"), std::string::npos)
      << read.status().ToString();
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_fake_users"), "100");
}

TEST_F(SingerSourceTest, CancelStopsTheReadAndFilterIsRefused) {
  auto source = Make("{users: 50}");
  ASSERT_TRUE(source.ok());
  std::atomic<bool> cancel{true};
  StreamRequest request;
  request.name = "users";
  request.sync_mode = "incremental";
  request.cursor_field = "id";
  request.cancel = &cancel;
  auto read = (*source)->Read(request, json(), env_.lake());
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(read.status().IsInterrupted()) << read.status().ToString();
  EXPECT_NE(Scalar("SELECT count(*) FROM bronze.raw_fake_users").find("ERROR"), std::string::npos);

  request.cancel = nullptr;
  request.filter = "id > 3";
  auto filtered = (*source)->Read(request, json(), env_.lake());
  ASSERT_FALSE(filtered.ok());
  EXPECT_NE(filtered.status().message().find("a filter cannot be applied"), std::string::npos);
}

TEST_F(SingerSourceTest, LinesLongerThanTheRunnersPiecesAreJoined) {
  auto source = Make("{users: 3, name_size: 300000}");
  ASSERT_TRUE(source.ok());
  auto read = Read(**source, "users", "incremental");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 3);
  EXPECT_EQ(Scalar("SELECT min(length(name)) || ' ' || max(length(name)) || ' ' || max(id) "
                   "FROM bronze.raw_fake_users"),
            "300000 300000 3");
}

}  // namespace
}  // namespace dew::connectors
