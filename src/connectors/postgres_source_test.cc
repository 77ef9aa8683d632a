#include "connectors/postgres_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "connectors/bronze_landing.h"
#include "connectors/connection_spec.h"
#include "connectors/silver_table.h"
#include "connectors/stream_sync.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "engine/connection.h"
#include "lake/lake_test_util.h"
#include "lake/lakehouse.h"
#include "support/postgres_server.h"
#include "support/sync_lake.h"

namespace dew::connectors {
namespace {

using dew::testing::PostgresServer;

// Every type the issue names, with a row of NULLs and awkward values (quotes, commas, newlines,
// empty strings that must stay distinct from NULL).
constexpr const char* kFixtureSql = R"sql(
CREATE TABLE all_types (
  id integer PRIMARY KEY,
  amount numeric(12,2),
  big numeric,
  ratio double precision,
  created_at timestamp with time zone,
  local_at timestamp without time zone,
  day date,
  flag boolean,
  label text,
  doc json,
  docb jsonb,
  uid uuid,
  tags text[],
  scores integer[],
  payload bytea
);
INSERT INTO all_types VALUES
 (1, 1234.56, 12345678901234567890.123456789, 0.1, '2024-03-01 10:00:00.123456+02',
  '2024-03-01 10:00:00.5', '2024-03-01', true, 'plain', '{"a": 1}', '{"b": [1, 2]}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', ARRAY['x', 'y,z', NULL], ARRAY[1, NULL, 3],
  '\x00ff10'::bytea),
 (2, -0.01, 0, -2.5e10, '1999-12-31 23:59:59+00', '1999-12-31 23:59:59', '1999-12-31', false,
  E'quote " comma , newline\n end', '[]', '"s"', '00000000-0000-0000-0000-000000000000',
  ARRAY[]::text[], ARRAY[]::integer[], ''::bytea),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL, NULL, NULL, NULL, NULL, NULL),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE secret (id int);
CREATE SCHEMA sales;
CREATE TABLE sales.orders (order_id bigint, line int, PRIMARY KEY (order_id, line));
)sql";

// An incremental read of `table` by write_date.
StreamRequest Incremental(const std::string& table) {
  StreamRequest request;
  request.name = table;
  request.sync_mode = "incremental";
  request.cursor_field = "write_date";
  return request;
}

class PostgresSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!PostgresServer::Available()) return;
    server_ = new PostgresServer();
    status_ = new Status(server_->Start());
    if (status_->ok()) {
      auto made = server_->RunSql("CREATE DATABASE shop; CREATE ROLE reader LOGIN PASSWORD '" +
                                  server_->password() + "r';");
      if (made.ok()) made = server_->RunSql(kFixtureSql, "shop");
      if (made.ok()) {
        made = server_->RunSql(
            "GRANT USAGE ON SCHEMA public, sales TO reader; "
            "GRANT SELECT ON all_types, sales.orders TO reader;",
            "shop");
      }
      if (!made.ok()) *status_ = made.status();
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete status_;
    status_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    ASSERT_TRUE(status_->ok()) << status_->ToString();
  }

  PostgresConfig Config() const {
    PostgresConfig c;
    c.source = "shop";
    c.host = server_->host();
    c.port = server_->port();
    c.database = "shop";
    c.user = "reader";
    c.password = server_->password() + "r";
    return c;
  }
  // Config() with its COPY output (FIFOs, temp files) in `env`'s folder `staging`.
  PostgresConfig StagedConfig(dew::testing::SyncLake& env) const {
    PostgresConfig c = Config();
    c.temp_dir = env.dir() + "/staging";
    EXPECT_TRUE(env.fs()->CreateDirs(c.temp_dir).ok());
    return c;
  }

  // Table `name` (id integer PRIMARY KEY, write_date timestamp) in shop with ids 1 to `rows`
  // but those listed in `gaps`, each written a second after the one before, readable by the
  // reader role.
  static Status TimedTable(const std::string& name, int rows, const std::string& gaps = "") {
    return server_
        ->RunSql("CREATE TABLE " + name + " (id integer PRIMARY KEY, write_date timestamp);" +
                     "INSERT INTO " + name + " SELECT g, TIMESTAMP '2024-01-01' + g * INTERVAL " +
                     "'1 second' FROM generate_series(1, " + std::to_string(rows) + ") g" +
                     (gaps.empty() ? "" : " WHERE g NOT IN (" + gaps + ")") + ";" +
                     "GRANT SELECT ON " + name + " TO reader;",
                 "shop")
        .status();
  }

  static PostgresServer* server_;
  static Status* status_;
};
PostgresServer* PostgresSourceTest::server_ = nullptr;
Status* PostgresSourceTest::status_ = nullptr;

TEST_F(PostgresSourceTest, CheckSucceedsForReadableTables) {
  PostgresSource source(Config());
  CheckProblem problem = CheckProblem::kOther;
  Status s = source.Check({"all_types", "sales.orders"}, &problem);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(problem, CheckProblem::kNone);
}

TEST_F(PostgresSourceTest, CheckReportsUnreachableHost) {
  PostgresConfig c = Config();
  // A port nobody listens on: the server's own port after it is known to be free is racy, so
  // use port 1 on loopback, which is privileged and unused.
  c.port = 1;
  CheckProblem problem = CheckProblem::kNone;
  Status s = PostgresSource(c).Check({}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kUnreachable);
  EXPECT_NE(s.message().find("127.0.0.1:1/shop as reader"), std::string::npos) << s.ToString();
}

TEST_F(PostgresSourceTest, CheckReportsRefusedAuthentication) {
  PostgresConfig c = Config();
  c.password = "wrong";
  CheckProblem problem = CheckProblem::kNone;
  Status s = PostgresSource(c).Check({}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kAuthRefused);
  EXPECT_NE(s.message().find("refused authentication"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("as reader"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.message().find("wrong"), std::string::npos) << "password leaked: " << s.ToString();
}

TEST_F(PostgresSourceTest, CheckReportsMissingPermission) {
  CheckProblem problem = CheckProblem::kNone;
  Status s = PostgresSource(Config()).Check({"all_types", "secret"}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kPermissionDenied);
  EXPECT_NE(s.message().find("public.secret"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("reader"), std::string::npos) << s.ToString();
}

TEST_F(PostgresSourceTest, CheckReportsMissingTable) {
  CheckProblem problem = CheckProblem::kNone;
  Status s = PostgresSource(Config()).Check({"sales.nope"}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(problem, CheckProblem::kMissingTable);
  EXPECT_NE(s.message().find("sales.nope"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("/shop as reader"), std::string::npos) << s.ToString();
}

TEST_F(PostgresSourceTest, DiscoverListsTablesColumnsTypesAndKeys) {
  auto streams = PostgresSource(Config()).Discover();
  ASSERT_TRUE(streams.ok()) << streams.status().ToString();
  // `secret` is not readable by the user, so it is not offered. Other tests may add tables.
  const StreamInfo* found_all = nullptr;
  const StreamInfo* found_orders = nullptr;
  for (const auto& s : *streams) {
    EXPECT_NE(s.name, "secret");
    if (s.name == "all_types") found_all = &s;
    if (s.name == "sales.orders") found_orders = &s;
  }
  ASSERT_NE(found_all, nullptr);
  ASSERT_NE(found_orders, nullptr);
  const StreamInfo& all = *found_all;
  const StreamInfo& orders = *found_orders;
  EXPECT_EQ(orders.namespace_, "sales");
  EXPECT_EQ(orders.primary_key, (std::vector<std::string>{"order_id", "line"}));
  EXPECT_EQ(all.primary_key, (std::vector<std::string>{"id"}));
  std::vector<std::string> got;
  for (const auto& c : all.columns) got.push_back(c.name + ":" + c.lake_type);
  EXPECT_EQ(got, (std::vector<std::string>{
                     "id:INTEGER", "amount:DECIMAL(12,2)", "big:VARCHAR", "ratio:DOUBLE",
                     "created_at:TIMESTAMPTZ", "local_at:TIMESTAMP", "day:DATE", "flag:BOOLEAN",
                     "label:VARCHAR", "doc:VARCHAR", "docb:VARCHAR", "uid:UUID", "tags:VARCHAR[]",
                     "scores:INTEGER[]", "payload:BLOB"}));
  EXPECT_FALSE(all.columns[0].nullable);
  EXPECT_TRUE(all.columns[1].nullable);
  EXPECT_EQ(all.columns[1].source_type, "numeric(12,2)");
}

// Per-column checksums computed the same way on both sides: count of non-NULL values and an
// md5 over the values' canonical text in id order.
TEST_F(PostgresSourceTest, FullRefreshLandsEveryTypeWithNulls) {
  lake::testing::TempDir dir;
  lake::LakehouseOptions o;
  o.lake_root = dir.path() + "/lake";
  o.cwd = dir.path();
  o.user = "tester";
  o.run_id = "run-pg-1";
  auto lake = lake::Lakehouse::Open(o, FileSystem::Posix(), Clock::System());
  ASSERT_TRUE(lake.ok()) << lake.status().ToString();

  StreamRequest request;
  request.name = "all_types";
  request.cursor_field = "id";
  auto read = PostgresSource(Config()).Read(request, nullptr, lake->get());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->table, "bronze.raw_shop_all_types");
  EXPECT_EQ(read->rows, 4);
  EXPECT_EQ(read->state["sync_mode"], "full_refresh");

  engine::Connection& con = (*lake)->connection();
  auto lineage = con.QueryText(
      "SELECT DISTINCT _source, _stream, _run_id, _ingest_date IS NOT NULL, "
      "_emitted_at IS NOT NULL FROM bronze.raw_shop_all_types");
  ASSERT_TRUE(lineage.ok()) << lineage.status().ToString();
  ASSERT_EQ(lineage->rows.size(), 1u);
  EXPECT_EQ(*lineage->rows[0][0], "shop");
  EXPECT_EQ(*lineage->rows[0][1], "all_types");
  EXPECT_EQ(*lineage->rows[0][2], "run-pg-1");
  EXPECT_EQ(*lineage->rows[0][3], "true");
  auto cursors =
      con.QueryText("SELECT string_agg(_cursor, ',' ORDER BY id) FROM bronze.raw_shop_all_types");
  ASSERT_TRUE(cursors.ok()) << cursors.status().ToString();
  EXPECT_EQ(*cursors->rows[0][0], "1,2,3,4");

  // Canonical text per column, written once for PostgreSQL and once for DuckDB.
  struct Probe {
    const char* column;
    const char* pg;
    const char* duck;
  };
  const Probe probes[] = {
      {"id", "id::text", "id::VARCHAR"},
      {"amount", "amount::text", "amount::VARCHAR"},
      {"big", "big::text", "big"},
      {"ratio", "ratio::numeric(30,4)::text", "ratio::DECIMAL(30,4)::VARCHAR"},
      {"created_at", "(extract(epoch FROM created_at) * 1000000)::bigint::text",
       "epoch_us(created_at)::VARCHAR"},
      {"local_at", "(extract(epoch FROM local_at) * 1000000)::bigint::text",
       "epoch_us(local_at)::VARCHAR"},
      {"day", "day::text", "day::VARCHAR"},
      {"flag", "flag::text", "flag::VARCHAR"},
      {"label", "label", "label"},
      {"doc", "doc::text", "doc"},
      {"docb", "docb::text", "docb"},
      {"uid", "uid::text", "uid::VARCHAR"},
      {"tags", "array_to_json(tags)::text",
       "'[' || array_to_string(list_transform(tags, x -> coalesce(to_json(x)::VARCHAR, 'null')), "
       "',') || ']'"},
      {"scores", "array_to_json(scores)::text",
       "'[' || array_to_string(list_transform(scores, x -> coalesce(x::VARCHAR, 'null')), ',') || "
       "']'"},
      {"payload", "encode(payload, 'hex')", "lower(hex(payload))"},
  };
  for (const Probe& p : probes) {
    SCOPED_TRACE(p.column);
    auto pg = server_->RunSql(std::string("SELECT count(") + p.pg +
                                  "), md5(coalesce(string_agg(coalesce(" + p.pg +
                                  ", '<NULL>'), '|' ORDER BY id), '')) FROM all_types;",
                              "shop");
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    auto duck = con.QueryText(std::string("SELECT count(") + p.duck +
                              ")::VARCHAR || '|' || md5(coalesce(string_agg(coalesce(" + p.duck +
                              ", '<NULL>'), '|' ORDER BY id), '')) FROM bronze.raw_shop_all_types");
    ASSERT_TRUE(duck.ok()) << duck.status().ToString();
    EXPECT_EQ(pg->substr(0, pg->size() - 1), *duck->rows[0][0]);
  }
}

TEST_F(PostgresSourceTest, CheckReportsMissingDatabase) {
  PostgresConfig c = Config();
  c.database = "no_such_db";
  CheckProblem problem = CheckProblem::kNone;
  Status s = PostgresSource(c).Check({}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kMissingDatabase);
  EXPECT_NE(s.message().find("/no_such_db as reader"), std::string::npos) << s.ToString();
}

// A second full refresh appends another copy (bronze is append-only); each run is told apart by
// _run_id, and a large table streams through COPY with its count and sum intact.
TEST_F(PostgresSourceTest, RepeatedFullRefreshAppendsPerRun) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE IF NOT EXISTS big AS SELECT g AS id, md5(g::text) AS h "
                           "FROM generate_series(1, 200000) g; GRANT SELECT ON big TO reader;",
                           "shop")
                  .ok());
  lake::testing::TempDir dir;
  for (const char* run : {"run-a", "run-b"}) {
    lake::LakehouseOptions o;
    o.lake_root = dir.path() + "/lake";
    o.cwd = dir.path();
    o.run_id = run;
    auto lake = lake::Lakehouse::Open(o, FileSystem::Posix(), Clock::System());
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    StreamRequest request;
    request.name = "big";
    auto read = PostgresSource(Config()).Read(request, nullptr, lake->get());
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(read->rows, 200000);
  }
  lake::LakehouseOptions o;
  o.lake_root = dir.path() + "/lake";
  o.cwd = dir.path();
  auto lake = lake::Lakehouse::Open(o, FileSystem::Posix(), Clock::System());
  ASSERT_TRUE(lake.ok()) << lake.status().ToString();
  auto got = (*lake)->connection().QueryText(
      "SELECT _run_id, count(*)::VARCHAR, sum(id)::VARCHAR, count(DISTINCT h)::VARCHAR "
      "FROM bronze.raw_shop_big GROUP BY _run_id ORDER BY _run_id");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->rows.size(), 2u);
  for (const auto& row : got->rows) {
    EXPECT_EQ(*row[1], "200000");
    EXPECT_EQ(*row[2], "20000100000");
    EXPECT_EQ(*row[3], "200000");
  }
}

// A full refresh streams COPY's rows into DuckDB as they arrive: a COPY that fails after
// megabytes of rows have gone through (here a division by zero at one row of a view) fails the
// read, and bronze keeps only the previous full refresh, not a short one that would tell
// silver the missing keys were deleted.
TEST_F(PostgresSourceTest, FullRefreshFailingMidCopyLandsNothing) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE breaks (fail boolean); INSERT INTO breaks VALUES (false); "
                           "CREATE VIEW fragile AS SELECT g AS id, repeat('x', 100) AS pad, "
                           "CASE WHEN g = 40000 AND (SELECT fail FROM breaks) THEN 1 / (g - 40000) "
                           "ELSE 0 END AS z FROM generate_series(1, 50000) g; "
                           "GRANT SELECT ON fragile TO reader;",
                           "shop")
                  .ok());
  dew::testing::SyncLake env;
  PostgresConfig config = StagedConfig(env);
  StreamRequest request;
  request.name = "fragile";
  auto read = PostgresSource(config).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 50000);
  ASSERT_TRUE(server_->RunSql("UPDATE breaks SET fail = true", "shop").ok());
  env.clock().Advance(1000);
  auto failed = PostgresSource(config).Read(request, nullptr, env.lake());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("division by zero"), std::string::npos)
      << failed.status().ToString();
  env.Reopen("run-2");
  EXPECT_EQ(env.Scalar("SELECT count(*) || ' ' || count(DISTINCT _batch) FROM "
                       "bronze.raw_shop_fragile"),
            "50000 1");
  auto bronze = env.lake()->OpenTable(lake::TableName{lake::Layer::kBronze, "raw_shop_fragile"});
  ASSERT_TRUE(bronze.ok());
  auto version = (*bronze)->log().LatestVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 0);
  // No FIFO or temp file is left behind.
  auto left = env.fs()->ListDir(config.temp_dir);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
  ASSERT_TRUE(server_->RunSql("UPDATE breaks SET fail = false", "shop").ok());
  auto again = PostgresSource(config).Read(request, nullptr, env.lake());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows, 50000);
}

// An incremental read hands each chunk to DuckDB through a FIFO as it arrives. A COPY that fails (a
// division by zero at one row of a view) in the first chunk lands nothing; in the third, it keeps
// the two chunks committed before it, each with the state of its own last row. Nothing is left in
// the temp folder, and the next read resumes after the second chunk.
TEST_F(PostgresSourceTest, IncrementalFailingMidCopyKeepsTheChunksBefore) {
  ASSERT_TRUE(
      server_
          ->RunSql("CREATE TABLE piped_lines (id integer PRIMARY KEY, write_date timestamp, "
                   "pad text);"
                   "INSERT INTO piped_lines SELECT g, TIMESTAMP '2024-01-01' + g * INTERVAL "
                   "'1 second', repeat('x', 100) FROM generate_series(1, 30000) g;"
                   "CREATE INDEX piped_lines_write_date_id ON piped_lines (write_date, id);"
                   "CREATE TABLE lines_breaks (fail boolean);"
                   "INSERT INTO lines_breaks VALUES (true);"
                   "CREATE VIEW fragile_lines AS SELECT id, write_date, pad, 1 / CASE "
                   "WHEN id = 25000 AND (SELECT fail FROM lines_breaks) THEN 0 ELSE 1 "
                   "END AS z FROM piped_lines;"
                   "GRANT SELECT ON fragile_lines TO reader;",
                   "shop")
          .ok());
  dew::testing::SyncLake env;
  PostgresConfig config = StagedConfig(env);
  StreamRequest request = Incremental("fragile_lines");
  request.primary_key = {"id"};
  request.chunk_rows = 40000;
  auto in_first = PostgresSource(config).Read(request, nullptr, env.lake());
  ASSERT_FALSE(in_first.ok());
  EXPECT_NE(in_first.status().message().find("division by zero"), std::string::npos)
      << in_first.status().ToString();
  EXPECT_FALSE(env.lake()->Exists(lake::TableName{lake::Layer::kBronze, "raw_shop_fragile_lines"}));
  request.chunk_rows = 10000;
  auto failed = PostgresSource(config).Read(request, nullptr, env.lake());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("division by zero"), std::string::npos)
      << failed.status().ToString();
  env.Reopen("run-2");
  EXPECT_EQ(env.Scalar("SELECT count(*) || ' ' || max(id) || ' ' || count(DISTINCT _batch) FROM "
                       "bronze.raw_shop_fragile_lines"),
            "20000 20000 2");
  BronzeLanding landing(env.lake(), "shop", "fragile_lines");
  auto state = landing.LastCommittedState();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ((*state)["pk"], nlohmann::json::array({"20000"})) << state->dump();
  auto left = env.fs()->ListDir(config.temp_dir);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
  ASSERT_TRUE(server_->RunSql("UPDATE lines_breaks SET fail = false", "shop").ok());
  auto resumed = PostgresSource(config).Read(request, *state, env.lake());
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->rows, 10000);
  EXPECT_EQ(resumed->commits, 1);
  EXPECT_EQ(resumed->state["pk"], nlohmann::json::array({"30000"}));
  EXPECT_EQ(env.Scalar("SELECT count(*) || ' ' || count(DISTINCT id) FROM "
                       "bronze.raw_shop_fragile_lines"),
            "30000 30000");
}

// Every chunk of an incremental read streams from PostgreSQL's COPY into bronze through a FIFO:
// when each is about to commit, no regular file in the temp folder holds rows (a temp CSV file
// made PostgreSQL and DuckDB take turns), and each commit carries its own last row's state.
TEST_F(PostgresSourceTest, IncrementalStreamsEveryChunkThroughAFifo) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE streamed_lines (id integer PRIMARY KEY, write_date "
                           "timestamp);"
                           "INSERT INTO streamed_lines SELECT g, TIMESTAMP '2024-01-01' + g * "
                           "INTERVAL '1 second' FROM generate_series(1, 25) g;"
                           "GRANT SELECT ON streamed_lines TO reader;",
                           "shop")
                  .ok());
  dew::testing::SyncLake env;
  PostgresConfig config = StagedConfig(env);
  int streamed = 0;
  std::vector<std::string> regular_files;
  config.TEST_stop_at = [&](const std::string& point) {
    if (point != "incremental: chunk streamed") return Status::OK();
    streamed++;
    for (const auto& e : std::filesystem::recursive_directory_iterator(config.temp_dir)) {
      if (e.is_regular_file()) regular_files.push_back(e.path().string());
    }
    return Status::OK();
  };
  StreamRequest request = Incremental("streamed_lines");
  request.primary_key = {"id"};
  request.chunk_rows = 10;
  auto read = PostgresSource(config).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(streamed, 3);
  EXPECT_TRUE(regular_files.empty()) << regular_files.front();
  EXPECT_EQ(read->rows, 25);
  EXPECT_EQ(read->commits, 3);
  EXPECT_EQ(read->state["pk"], nlohmann::json::array({"25"}));
  EXPECT_EQ(env.Scalar("SELECT string_agg(n::VARCHAR || ':' || last, ' ' ORDER BY b) FROM (SELECT "
                       "_batch AS b, count(*) AS n, max(id) AS last FROM "
                       "bronze.raw_shop_streamed_lines GROUP BY _batch)"),
            "10:10 10:20 5:25");
}

// Sets the modification time of `path` to `millis` since the epoch.
void SetMtime(const std::string& path, int64_t millis) {
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = millis / 1000;
  times[0].tv_nsec = times[1].tv_nsec = (millis % 1000) * 1000000;
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

// A killed sync leaves its COPY output (a FIFO folder, a temp CSV file) in the temp folder; the
// next read removes it, but never what a live sync holds (its flock) nor what was just made
// (its maker may not have locked it yet), nor other names.
TEST_F(PostgresSourceTest, ReadRemovesCopyOutputAKilledSyncLeft) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE small (id integer PRIMARY KEY, v text);"
                           "INSERT INTO small VALUES (1, 'a'), (2, 'b');"
                           "GRANT SELECT ON small TO reader;",
                           "shop")
                  .ok());
  dew::testing::SyncLake env;
  PostgresConfig config = StagedConfig(env);
  const std::string dir = config.temp_dir;
  const int64_t now = env.clock().NowMillis();
  // A killed full refresh's folder with its FIFO, and a killed chunk's CSV file.
  ASSERT_EQ(mkdir((dir + "/dew_pg_copy_dead01").c_str(), 0700), 0);
  ASSERT_EQ(mkfifo((dir + "/dew_pg_copy_dead01/copy.csv").c_str(), 0600), 0);
  std::ofstream(dir + "/dew_pg_copy_dead02") << "id,v\n1,a\n";
  // A live sync's folder: locked by an open descriptor, as CopyPipe holds it.
  ASSERT_EQ(mkdir((dir + "/dew_pg_copy_live01").c_str(), 0700), 0);
  const int live = open((dir + "/dew_pg_copy_live01").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(live, 0);
  ASSERT_EQ(flock(live, LOCK_EX | LOCK_NB), 0);
  // Just made, not locked yet; and a file of another name.
  std::ofstream(dir + "/dew_pg_copy_young1") << "id,v\n";
  std::ofstream(dir + "/other_file") << "keep";
  for (const char* old :
       {"dew_pg_copy_dead01", "dew_pg_copy_dead02", "dew_pg_copy_live01", "other_file"}) {
    SetMtime(dir + "/" + old, now - 120 * 1000);
  }
  SetMtime(dir + "/dew_pg_copy_young1", now - 1000);

  StreamRequest request;
  request.name = "small";
  auto read = PostgresSource(config).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 2);
  auto left = env.fs()->ListDir(dir);
  ASSERT_TRUE(left.ok());
  std::vector<std::string> names;
  for (const auto& f : *left) names.push_back(f.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names,
            (std::vector<std::string>{"dew_pg_copy_live01", "dew_pg_copy_young1", "other_file"}));
  close(live);
  // Once its holder is gone, the next read takes the folder too.
  auto again = PostgresSource(config).Read(request, nullptr, env.lake());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(env.fs()->Exists(dir + "/dew_pg_copy_live01"));
}

// The thread that feeds COPY's rows into the FIFO waits for DuckDB to open it. When the landing
// fails before DuckDB's read begins (here bronze's log cannot be read), the thread stops
// waiting, the read returns the landing's error rather than hanging, nothing is left in the
// temp folder, and the next read works.
TEST_F(PostgresSourceTest, FullRefreshWhoseReaderNeverOpensTheFifoFailsCleanly) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE unread (id integer PRIMARY KEY, pad text);"
                           "INSERT INTO unread SELECT g, repeat('x', 200) FROM "
                           "generate_series(1, 20000) g;"
                           "GRANT SELECT ON unread TO reader;",
                           "shop")
                  .ok());
  dew::testing::SyncLake env;
  PostgresConfig config = StagedConfig(env);
  StreamRequest request;
  request.name = "unread";
  auto first = PostgresSource(config).Read(request, nullptr, env.lake());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // A commit file bronze cannot parse: BronzeLanding fails opening the table, before the read.
  const std::string bad =
      env.dir() + "/lake/bronze/raw_shop_unread/_delta_log/" + "00000000000000000001.json";
  std::ofstream(bad) << "not json\n";
  env.Reopen("run-2");
  auto failed = PostgresSource(config).Read(request, nullptr, env.lake());
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message().find("DuckDB did not read"), std::string::npos)
      << failed.status().ToString();
  EXPECT_NE(failed.status().message().find("landing public.unread"), std::string::npos)
      << failed.status().ToString();
  auto left = env.fs()->ListDir(config.temp_dir);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
  ASSERT_EQ(unlink(bad.c_str()), 0);
  env.Reopen("run-3");
  auto again = PostgresSource(config).Read(request, nullptr, env.lake());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows, 20000);
}

// Bronze rows per key, newest batch first: what silver will hold.
std::string LatestPerKey(dew::testing::SyncLake& env, const std::string& table,
                         const std::string& columns) {
  return env.Scalar("SELECT string_agg(" + columns + ", ';' ORDER BY id) FROM (SELECT * FROM " +
                    table +
                    " QUALIFY row_number() OVER (PARTITION BY id ORDER BY _batch DESC) = 1)");
}

// Equal cursor values across chunk boundaries, a resume from the state of each chunk, then
// updates, inserts and deletes picked up by the next incremental read.
TEST_F(PostgresSourceTest, IncrementalChunksByCursorAndKey) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE moves (id integer PRIMARY KEY, write_date timestamp, "
                           "amount numeric(12,2), state text);"
                           "INSERT INTO moves SELECT g, TIMESTAMP '2024-01-01' + (g / 10) * "
                           "INTERVAL '1 second', g * 1.25, 'posted' FROM generate_series(1, 25) g;"
                           "INSERT INTO moves VALUES (26, NULL, 1, 'posted');"
                           "GRANT SELECT ON moves TO reader;",
                           "shop")
                  .ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("moves");
  request.chunk_rows = 7;
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 25);  // the row without a cursor is not read incrementally
  EXPECT_EQ(read->commits, 4);
  EXPECT_EQ(read->state["cursor"], "2024-01-01 00:00:02") << read->state.dump();
  EXPECT_EQ(read->state["pk"], nlohmann::json::array({"25"}));
  // Every chunk's state is its own last row: batch b holds ids 7(b-1)+1 .. 7b.
  EXPECT_EQ(env.Scalar("SELECT string_agg(_batch || ':' || max_id, ',' ORDER BY _batch) FROM "
                       "(SELECT _batch, max(id) AS max_id FROM bronze.raw_shop_moves GROUP BY 1)"),
            "1:7,2:14,3:21,4:25");

  // Resume from the second chunk's state: the rest comes again, nothing before it.
  BronzeLanding landing(env.lake(), "shop", "moves");
  nlohmann::json mid = {
      {"cursor_field", "write_date"}, {"cursor", "2024-01-01 00:00:01"}, {"pk", {"14"}}};
  request.detect_deletes = false;
  auto resumed = PostgresSource(Config()).Read(request, mid, env.lake());
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->rows, 11);

  // Nothing new: no rows, no commit.
  request.detect_deletes = true;
  auto idle = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(idle.ok()) << idle.status().ToString();
  EXPECT_EQ(idle->rows, 0);
  EXPECT_EQ(idle->commits, 0);

  ASSERT_TRUE(server_
                  ->RunSql("UPDATE moves SET amount = -1, write_date = '2024-02-01' WHERE id IN "
                           "(3, 17); INSERT INTO moves VALUES (27, '2024-02-01', 5, 'posted');"
                           "DELETE FROM moves WHERE id = 5;",
                           "shop")
                  .ok());
  auto next = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows, 3);
  EXPECT_EQ(next->rows_deleted, 1);
  EXPECT_EQ(next->state["pk"], nlohmann::json::array({"27"}));
  EXPECT_EQ(landing.LastCommittedState().value(), next->state);
  EXPECT_EQ(env.Scalar("SELECT count(*) FROM bronze.raw_shop_moves WHERE _deleted"), "1");
  EXPECT_EQ(LatestPerKey(env, "bronze.raw_shop_moves",
                         "id || '=' || coalesce(amount::VARCHAR, '-') || _deleted::VARCHAR")
                .substr(0, 61),
            "1=1.25false;2=2.50false;3=-1.00false;4=5.00false;5=-true;6=7.");
  // The deletion is not landed twice.
  auto again = PostgresSource(Config()).Read(request, next->state, env.lake());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows_deleted, 0);
  EXPECT_EQ(again->commits, 0);
}

// Deletions of an integer key are found by comparing buckets of keys (count, sum, squares)
// between silver plus the new batches and the source, copying keys only where they differ:
// negative keys, a bucket's first key, and a bucket whose count a backdated insert (not read
// incrementally) keeps unchanged.
TEST_F(PostgresSourceTest, DeletionsFoundByKeyBuckets) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE entries (id bigint PRIMARY KEY, write_date timestamp);"
                           "INSERT INTO entries SELECT g, TIMESTAMP '2024-01-01' + g * INTERVAL "
                           "'1 second' FROM generate_series(-10, 20000, 2) g;"
                           "GRANT SELECT ON entries TO reader;",
                           "shop")
                  .ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("entries");
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 10006);
  EXPECT_EQ(read->rows_deleted, 0);
  SilverTable silver(env.lake(), "shop", "entries");
  ASSERT_TRUE(silver.Update({"id"}).ok());

  ASSERT_TRUE(server_
                  ->RunSql("DELETE FROM entries WHERE id IN (-4, 8, 16384, 19998);"
                           "INSERT INTO entries VALUES (9, '2000-01-01');"
                           "UPDATE entries SET write_date = '2030-01-01' WHERE id = 12;",
                           "shop")
                  .ok());
  auto next = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows, 1);  // id 12; id 9's cursor is behind the state
  EXPECT_EQ(next->rows_deleted, 4);
  EXPECT_EQ(env.Scalar("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM "
                       "bronze.raw_shop_entries WHERE _deleted"),
            "-4,8,16384,19998");
  // Before and after silver takes them in, the deletions are not landed again.
  auto again = PostgresSource(Config()).Read(request, next->state, env.lake());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows_deleted, 0);
  ASSERT_TRUE(silver.Update({"id"}).ok());
  auto after = PostgresSource(Config()).Read(request, next->state, env.lake());
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->rows_deleted, 0);
  EXPECT_EQ(env.Scalar("SELECT count(*) FILTER (WHERE _deleted) || '/' || count(*) FROM "
                       "silver.shop_entries"),
            "4/10006");
}

// The deleted-keys check compares whole-table digests first: with nothing deleted no key is
// copied, whatever the key; a deletion hidden from the count by a backdated insert (never read
// incrementally) still shows in the sums of an integer key, and then only the buckets that
// differ are copied.
TEST_F(PostgresSourceTest, DeletedKeysCheckComparesDigestsFirst) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE ledger (id integer PRIMARY KEY, write_date timestamp "
                           "NOT NULL);"
                           "INSERT INTO ledger SELECT g, TIMESTAMP '2024-01-01' + g * INTERVAL "
                           "'1 second' FROM generate_series(1, 20000) g;"
                           "CREATE TABLE pairs (a integer, b text, write_date timestamp, "
                           "PRIMARY KEY (a, b));"
                           "INSERT INTO pairs SELECT g, 'x' || g, TIMESTAMP '2024-01-01' + g * "
                           "INTERVAL '1 second' FROM generate_series(1, 50) g;"
                           "GRANT SELECT ON ledger, pairs TO reader;",
                           "shop")
                  .ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("ledger");
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 20000);
  EXPECT_EQ(read->keys_copied, 0);
  auto idle = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(idle.ok()) << idle.status().ToString();
  EXPECT_EQ(idle->rows_deleted, 0);
  EXPECT_EQ(idle->keys_copied, 0);

  // As many keys as before, in buckets 2 (8192-12287) and 4 (16384-20479).
  ASSERT_TRUE(server_
                  ->RunSql("DELETE FROM ledger WHERE id = 10000;"
                           "INSERT INTO ledger VALUES (20001, '2000-01-01');",
                           "shop")
                  .ok());
  auto next = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows, 0);
  EXPECT_EQ(next->rows_deleted, 1);
  // Bucket 2 lost one key, which its digest names; bucket 4 holds a key the lake lacks and
  // has its keys copied.
  EXPECT_EQ(next->keys_named, 1);
  EXPECT_EQ(next->keys_copied, 3618);
  EXPECT_EQ(env.Scalar("SELECT id FROM bronze.raw_shop_ledger WHERE _deleted"), "10000");

  // Deletions spread over the key range (20001, never landed, goes too): in buckets narrow
  // enough (128 keys) that each lost one key, the digests name them all and no key is copied.
  ASSERT_TRUE(server_->RunSql("DELETE FROM ledger WHERE id % 1000 = 1", "shop").ok());
  auto spread = PostgresSource(Config()).Read(request, next->state, env.lake());
  ASSERT_TRUE(spread.ok()) << spread.status().ToString();
  EXPECT_EQ(spread->rows_deleted, 20);
  EXPECT_EQ(spread->keys_named, 20);
  EXPECT_EQ(spread->keys_copied, 0);
  EXPECT_EQ(env.Scalar("SELECT count(*) FILTER (WHERE id % 1000 = 1) || '/' || count(*) FROM "
                       "bronze.raw_shop_ledger WHERE _deleted"),
            "20/21");

  // At least as many deletions as buckets of the narrowest width (64 keys): all keys are
  // copied at once, without the bucket pass.
  ASSERT_TRUE(server_->RunSql("DELETE FROM ledger WHERE id % 20 = 3", "shop").ok());
  auto dense = PostgresSource(Config()).Read(request, spread->state, env.lake());
  ASSERT_TRUE(dense.ok()) << dense.status().ToString();
  EXPECT_EQ(dense->rows_deleted, 1000);
  EXPECT_EQ(dense->keys_named, 0);
  EXPECT_EQ(dense->key_ranges_copied, 0);
  EXPECT_EQ(dense->keys_copied, 20000 - 21 - 1000);
  EXPECT_EQ(env.Scalar("SELECT count(*) FILTER (WHERE id % 20 = 3) || '/' || count(*) FROM "
                       "bronze.raw_shop_ledger WHERE _deleted"),
            "1000/1021");

  request.name = "pairs";
  auto pairs = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(pairs.ok()) << pairs.status().ToString();
  auto pairs_idle = PostgresSource(Config()).Read(request, pairs->state, env.lake());
  ASSERT_TRUE(pairs_idle.ok()) << pairs_idle.status().ToString();
  EXPECT_EQ(pairs_idle->keys_copied, 0);
  ASSERT_TRUE(server_->RunSql("DELETE FROM pairs WHERE a = 7", "shop").ok());
  auto pairs_next = PostgresSource(Config()).Read(request, pairs->state, env.lake());
  ASSERT_TRUE(pairs_next.ok()) << pairs_next.status().ToString();
  EXPECT_EQ(pairs_next->rows_deleted, 1);
  EXPECT_EQ(pairs_next->keys_copied, 49);
  EXPECT_EQ(env.Scalar("SELECT a || b FROM bronze.raw_shop_pairs WHERE _deleted"), "7x7");
}

// Keys the bucket digests name are deleted only once the source is asked that it lacks them and
// the lake that it has them: a bucket that lost keys {1, 5, 6} (from its start) and gained a key
// never landed looks alike to one that lost fewer other keys. Such buckets have their keys
// copied instead.
TEST_F(PostgresSourceTest, DeletedKeysNamedByDigestsAreChecked) {
  // Buckets of 64 keys (3 gone over 1,000). Bucket 8 (512-575) loses 513, 517 and 518 and
  // gains 519 (backdated): its digests name 514 and 515, which the source has. Bucket 10
  // (640-703), without 642, 643 and 647 at first, loses 641, 645 and 646 and gains 643 and 647:
  // its digests name 642, which the lake never had.
  ASSERT_TRUE(TimedTable("named", 1000, "519, 642, 643, 647").ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("named");
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(server_
                  ->RunSql("DELETE FROM named WHERE id IN (513, 517, 518, 641, 645, 646);"
                           "INSERT INTO named VALUES (519, '2000-01-01'), (643, '2000-01-01'), "
                           "(647, '2000-01-01');",
                           "shop")
                  .ok());
  auto next = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows_deleted, 6);
  EXPECT_EQ(next->keys_named, 0);
  EXPECT_EQ(next->keys_copied, 61 + 60);
  EXPECT_EQ(next->key_ranges_copied, 2);  // by the index: 512-575 and 640-703
  EXPECT_EQ(env.Scalar("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM "
                       "bronze.raw_shop_named WHERE _deleted"),
            "513,517,518,641,645,646");
}

// Once silver has taken in the read's rows, the lake's live keys are silver's: the deleted-keys
// check of an integer key reads neither bronze's history nor its view (a lake opened without
// views, as a sync's, gets none made).
TEST_F(PostgresSourceTest, DeletedKeysCheckReadsSilverNotBronze) {
  ASSERT_TRUE(TimedTable("history", 500).ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("history");
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  env.Reopen("run-2", [](const lake::TableName&) { return false; });
  ASSERT_TRUE(server_->RunSql("DELETE FROM history WHERE id IN (7, 300);", "shop").ok());
  auto next = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows_deleted, 2);
  EXPECT_EQ(next->keys_named, 2);
  auto bronze_view = env.lake()->HasView({lake::Layer::kBronze, "raw_shop_history"});
  ASSERT_TRUE(bronze_view.ok());
  EXPECT_FALSE(*bronze_view);
  ASSERT_TRUE(env.lake()->EnsureView({lake::Layer::kBronze, "raw_shop_history"}).ok());
  EXPECT_EQ(env.Scalar("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM "
                       "bronze.raw_shop_history WHERE _deleted"),
            "7,300");
}

// The source's digest runs on a second connection in the read's snapshot; a role allowed one
// connection only still gets its deletions checked, on the read's own connection.
TEST_F(PostgresSourceTest, DeletedKeysCheckWithOneConnection) {
  ASSERT_TRUE(TimedTable("single", 300).ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("single");
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(server_->RunSql("DELETE FROM single WHERE id IN (7, 250);", "shop").ok());
  ASSERT_TRUE(server_->RunSql("ALTER ROLE reader CONNECTION LIMIT 1").ok());
  auto next = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(server_->RunSql("ALTER ROLE reader CONNECTION LIMIT -1").ok());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows_deleted, 2);
  EXPECT_EQ(env.Scalar("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM "
                       "bronze.raw_shop_single WHERE _deleted"),
            "7,250");
  // With the second connection again: nothing more is gone.
  auto idle = PostgresSource(Config()).Read(request, next->state, env.lake());
  ASSERT_TRUE(idle.ok()) << idle.status().ToString();
  EXPECT_EQ(idle->rows_deleted, 0);
  EXPECT_EQ(idle->keys_copied, 0);
}

// The deleted-keys check is skipped while PostgreSQL counts no deleted row of the table since
// the last check (n_tup_del, kept in the state): the sync's note says so. A deletion it does
// not count (a superuser's session with track_counts off) is then found by
// `detect_deletes: digest` only, which compares the keys on every sync; a counted one moves
// the count, and the next sync compares the keys and finds it.
TEST_F(PostgresSourceTest, DeletedKeysCheckSkippedWhileNoDeletionIsCounted) {
  ASSERT_TRUE(TimedTable("counted", 100).ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("counted");
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->deletes_note, "");  // the first check: nothing to compare the counts with
  ASSERT_TRUE(read->state.contains("deletion_counters")) << read->state.dump();
  EXPECT_EQ(read->state["deletion_counters"]["deleted"], "0");
  BronzeLanding landing(env.lake(), "shop", "counted");
  EXPECT_EQ(landing.LastCommittedState().value(), read->state);  // committed with no row

  ASSERT_TRUE(
      server_->RunSql("UPDATE counted SET write_date = '2030-01-01' WHERE id = 3", "shop").ok());
  auto updated = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->rows, 1);
  EXPECT_EQ(updated->rows_deleted, 0);
  EXPECT_NE(updated->deletes_note.find("deleted-keys check skipped: PostgreSQL counted no "
                                       "deleted row of public.counted since the last check"),
            std::string::npos)
      << updated->deletes_note;
  EXPECT_EQ(updated->state["deletion_counters"], read->state["deletion_counters"]);

  ASSERT_TRUE(
      server_->RunSql("SET track_counts = off; DELETE FROM counted WHERE id = 9", "shop").ok());
  auto uncounted = PostgresSource(Config()).Read(request, updated->state, env.lake());
  ASSERT_TRUE(uncounted.ok()) << uncounted.status().ToString();
  EXPECT_EQ(uncounted->rows_deleted, 0);
  EXPECT_NE(uncounted->deletes_note.find("skipped"), std::string::npos);
  request.deletes_always_compared = true;
  auto digest = PostgresSource(Config()).Read(request, updated->state, env.lake());
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(digest->rows_deleted, 1);
  EXPECT_EQ(digest->deletes_note, "");
  EXPECT_EQ(env.Scalar("SELECT string_agg(id::VARCHAR, ',') FROM bronze.raw_shop_counted WHERE "
                       "_deleted"),
            "9");

  request.deletes_always_compared = false;
  ASSERT_TRUE(server_->RunSql("DELETE FROM counted WHERE id IN (20, 21)", "shop").ok());
  auto counted = PostgresSource(Config()).Read(request, digest->state, env.lake());
  ASSERT_TRUE(counted.ok()) << counted.status().ToString();
  EXPECT_EQ(counted->rows_deleted, 2);
  EXPECT_EQ(counted->deletes_note, "");
  EXPECT_EQ(counted->state["deletion_counters"]["deleted"], "2");
  EXPECT_EQ(landing.LastCommittedState().value(), counted->state);  // with the deletions
  auto after = PostgresSource(Config()).Read(request, counted->state, env.lake());
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->rows_deleted, 0);
  EXPECT_NE(after->deletes_note.find("skipped"), std::string::npos);
  EXPECT_EQ(after->commits, 0);
}

// In a lakehouse opened without the views of the stream's tables (as dew sync opens it), a
// check that ends without reading them by name (skipped, or digests equal) makes none; one that
// compares the keys makes the one it reads itself, and finds the deletion.
TEST_F(PostgresSourceTest, DeletedKeysCheckMakesTheViewsItReads) {
  ASSERT_TRUE(TimedTable("viewless", 60).ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("viewless");
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  env.Reopen("run-2", [](const lake::TableName&) { return false; });
  const lake::TableName bronze{lake::Layer::kBronze, "raw_shop_viewless"};
  const lake::TableName silver{lake::Layer::kSilver, "shop_viewless"};

  // A sync (StreamSync, as dew sync runs it) whose check is skipped.
  ASSERT_TRUE(
      server_->RunSql("UPDATE viewless SET write_date = '2030-01-01' WHERE id = 4", "shop").ok());
  auto spec = ConnectionSpec::Parse(
      "name: shop\nsource_type: postgres\nauth:\n  database: shop\n  user: reader\n"
      "  password: ${env:UNUSED}\nstreams:\n  - name: viewless\n    sync_mode: incremental\n"
      "    cursor_field: write_date\n",
      "connections/shop.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  PostgresSource source(Config());
  std::vector<std::string> notices;
  SyncEnv sync_env{env.lake(),
                   &source,
                   nullptr,
                   env.shared_clock(),
                   [&](const std::string& m) { notices.push_back(m); },
                   1};
  auto synced = StreamSync(*spec, sync_env).Run(SyncOptions{});
  ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  ASSERT_TRUE(synced->ok()) << synced->ErrorSummary();
  EXPECT_EQ(synced->streams[0].rows_read, 1);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_NE(notices[0].find("deleted-keys check skipped"), std::string::npos) << notices[0];
  EXPECT_FALSE(env.lake()->HasView(bronze).value());
  EXPECT_FALSE(env.lake()->HasView(silver).value());
  BronzeLanding landing(env.lake(), "shop", "viewless");
  auto skipped_state = landing.LastCommittedState();
  ASSERT_TRUE(skipped_state.ok());
  request.deletes_always_compared = true;
  auto equal = PostgresSource(Config()).Read(request, *skipped_state, env.lake());
  ASSERT_TRUE(equal.ok()) << equal.status().ToString();
  EXPECT_EQ(equal->rows_deleted, 0);
  EXPECT_FALSE(env.lake()->HasView(bronze).value());
  EXPECT_FALSE(env.lake()->HasView(silver).value());

  request.deletes_always_compared = false;
  ASSERT_TRUE(server_->RunSql("DELETE FROM viewless WHERE id = 40", "shop").ok());
  auto deleted = PostgresSource(Config()).Read(request, equal->state, env.lake());
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->rows_deleted, 1);
  EXPECT_TRUE(env.lake()->HasView(silver).value());  // an integer key's live keys: silver's
}

// What hides deletions from n_tup_del makes the check compare the keys: a TRUNCATE (not counted
// as deletions; the table gets a new file node), and a reset of the statistics (pg_stat_reset()
// sets the database's stats_reset) that brings the count back to what the state holds.
TEST_F(PostgresSourceTest, DeletedKeysCheckAfterTruncateOrStatisticsReset) {
  ASSERT_TRUE(TimedTable("wiped", 50).ok());
  ASSERT_TRUE(TimedTable("reset", 50).ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("wiped");
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(read->state.contains("deletion_counters")) << read->state.dump();
  // The same rows again but 7 and 8, with their old cursors (no row to read).
  ASSERT_TRUE(server_
                  ->RunSql("TRUNCATE wiped; INSERT INTO wiped SELECT g, TIMESTAMP '2024-01-01' "
                           "+ g * INTERVAL '1 second' FROM generate_series(1, 50) g WHERE g NOT "
                           "IN (7, 8)",
                           "shop")
                  .ok());
  auto truncated = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(truncated.ok()) << truncated.status().ToString();
  EXPECT_EQ(truncated->rows, 0);
  EXPECT_EQ(truncated->rows_deleted, 2);
  EXPECT_EQ(truncated->state["deletion_counters"]["deleted"], "0");
  EXPECT_NE(truncated->state["deletion_counters"]["filenode"],
            read->state["deletion_counters"]["filenode"]);

  request.name = "reset";
  auto first = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->state.contains("deletion_counters")) << first->state.dump();
  EXPECT_EQ(first->state["deletion_counters"]["deleted"], "0");
  ASSERT_TRUE(server_->RunSql("DELETE FROM reset WHERE id = 30", "shop").ok());
  ASSERT_TRUE(server_->RunSql("SELECT pg_stat_reset()", "shop").ok());
  auto after_reset = PostgresSource(Config()).Read(request, first->state, env.lake());
  ASSERT_TRUE(after_reset.ok()) << after_reset.status().ToString();
  EXPECT_EQ(after_reset->state["deletion_counters"]["deleted"], "0");
  EXPECT_EQ(after_reset->rows_deleted, 1);
  EXPECT_EQ(env.Scalar("SELECT string_agg(id::VARCHAR, ',') FROM bronze.raw_shop_reset WHERE "
                       "_deleted"),
            "30");
}

// A crash of PostgreSQL (here a backend killed with SIGKILL) makes crash recovery discard every
// count: a deletion counted before it no longer is. The cluster's stats_reset, set again by the
// recovery, makes the next sync compare the keys.
TEST_F(PostgresSourceTest, DeletedKeysCheckAfterPostgresCrashRecovery) {
  ASSERT_TRUE(TimedTable("crashed", 50).ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("crashed");
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(read->state.contains("deletion_counters")) << read->state.dump();
  EXPECT_EQ(read->state["deletion_counters"]["deleted"], "0");
  ASSERT_TRUE(server_->RunSql("DELETE FROM crashed WHERE id = 12", "shop").ok());
  auto before =
      server_->RunSql("SELECT n_tup_del FROM pg_stat_all_tables WHERE relname = 'crashed'", "shop");
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_EQ(*before, "1\n");

  // A client backend busy with a query, killed as the OOM killer would.
  const std::string connection = server_->ConnectionString("shop");
  const pid_t client = fork();
  ASSERT_GE(client, 0);
  if (client == 0) {
    execl("/usr/bin/psql", "psql", "-X", "-q", "-d", connection.c_str(), "-c",
          "SELECT pg_sleep(120) AS victim", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string backend;
  for (int i = 0; i < 300 && backend.empty(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto found = server_->RunSql(
        "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120) AS victim' AND pid "
        "<> pg_backend_pid()",
        "shop");
    if (found.ok()) backend = *found;
  }
  ASSERT_FALSE(backend.empty());
  ASSERT_EQ(kill(std::stoi(backend), SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(client, &status, 0), client);
  // The postmaster ends every backend, recovers and accepts connections again.
  Result<std::string> counted = Status::IOError("not asked");
  for (int i = 0; i < 300; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    counted = server_->RunSql("SELECT n_tup_del FROM pg_stat_all_tables WHERE relname = 'crashed'",
                              "shop");
    if (counted.ok()) break;
  }
  ASSERT_TRUE(counted.ok()) << counted.status().ToString();
  ASSERT_EQ(*counted, "0\n");  // the count is gone

  auto next = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows_deleted, 1);
  EXPECT_EQ(next->deletes_note, "");
  EXPECT_EQ(env.Scalar("SELECT string_agg(id::VARCHAR, ',') FROM bronze.raw_shop_crashed WHERE "
                       "_deleted"),
            "12");
  auto after = PostgresSource(Config()).Read(request, next->state, env.lake());
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_NE(after->deletes_note.find("skipped"), std::string::npos) << after->deletes_note;
}

// With a filter, a row updated out of it is a deletion for the stream but an UPDATE for
// PostgreSQL: the check is skipped only when no row changed since the last sync (after the
// state's cursor) left the filter.
TEST_F(PostgresSourceTest, DeletedKeysCheckWithFilterRunsWhenARowLeftIt) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE posted (id integer PRIMARY KEY, write_date timestamp, "
                           "state text);"
                           "INSERT INTO posted SELECT g, TIMESTAMP '2024-01-01' + g * INTERVAL "
                           "'1 second', 'posted' FROM generate_series(1, 40) g;"
                           "GRANT SELECT ON posted TO reader;",
                           "shop")
                  .ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("posted");
  request.filter = "state = 'posted'";
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(read->state.contains("deletion_counters")) << read->state.dump();

  ASSERT_TRUE(server_
                  ->RunSql("UPDATE posted SET write_date = '2030-01-01', state = 'posted' "
                           "WHERE id = 5",
                           "shop")
                  .ok());
  auto within = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(within.ok()) << within.status().ToString();
  EXPECT_EQ(within->rows, 1);
  EXPECT_NE(within->deletes_note.find("skipped"), std::string::npos) << within->deletes_note;

  ASSERT_TRUE(server_
                  ->RunSql("UPDATE posted SET write_date = '2030-01-02', state = 'draft' "
                           "WHERE id = 6; UPDATE posted SET write_date = '2030-01-02', "
                           "state = NULL WHERE id = 7",
                           "shop")
                  .ok());
  auto left = PostgresSource(Config()).Read(request, within->state, env.lake());
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_EQ(left->rows, 0);
  EXPECT_EQ(left->rows_deleted, 2);
  EXPECT_EQ(left->deletes_note, "");
  EXPECT_EQ(env.Scalar("SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM "
                       "bronze.raw_shop_posted WHERE _deleted"),
            "6,7");
  // Rows 6 and 7 are still after the state's cursor, out of the filter: the keys are compared
  // again (nothing more is gone) until a row of the stream changes after them.
  auto again = PostgresSource(Config()).Read(request, left->state, env.lake());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows_deleted, 0);
  EXPECT_EQ(again->deletes_note, "");
  ASSERT_TRUE(
      server_->RunSql("UPDATE posted SET write_date = '2030-01-03' WHERE id = 8", "shop").ok());
  auto after = PostgresSource(Config()).Read(request, again->state, env.lake());
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->rows, 1);
  EXPECT_EQ(after->rows_deleted, 0);
  auto passed = PostgresSource(Config()).Read(request, after->state, env.lake());
  ASSERT_TRUE(passed.ok()) << passed.status().ToString();
  EXPECT_NE(passed->deletes_note.find("skipped"), std::string::npos) << passed->deletes_note;
}

// A sync describes a stream (its drift check), then reads it: the read goes on on the
// description's connection, with its columns, instead of opening another and asking the catalog
// again. Seen here as a read that works although the role's password changed in between (a read
// on a connection of its own is refused), and that lands the columns the drift check saw, not
// one added since (the next sync's drift check reports it, and that read lands it).
TEST_F(PostgresSourceTest, ReadTakesOverTheConnectionAndColumnsOfTheDescription) {
  ASSERT_TRUE(TimedTable("kept", 5).ok());
  dew::testing::SyncLake env;
  PostgresSource source(Config());
  auto described = source.DescribeStream("kept");
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  ASSERT_TRUE(server_->RunSql("ALTER TABLE kept ADD COLUMN note text", "shop").ok());
  ASSERT_TRUE(server_->RunSql("ALTER ROLE reader PASSWORD 'changed'").ok());
  auto read = source.Read(Incremental("kept"), nullptr, env.lake());
  auto again = source.Read(Incremental("kept"), nullptr, env.lake());
  ASSERT_TRUE(
      server_->RunSql("ALTER ROLE reader PASSWORD '" + server_->reader_password() + "'").ok());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 5);
  EXPECT_EQ(env.Scalar("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                       "'bronze' AND table_name = 'raw_shop_kept' AND column_name = 'note'"),
            "0");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("authentication"), std::string::npos)
      << again.status().ToString();
}

// Prepare connects and describes on a thread of its own, before anything asks for the stream:
// its connection shows in pg_stat_activity at once. DescribeStream and Read then take that
// connection over: both work although the role's password changed after it was made.
TEST_F(PostgresSourceTest, PrepareConnectsAheadOfTheDescriptionAndRead) {
  ASSERT_TRUE(TimedTable("early", 4).ok());
  dew::testing::SyncLake env;
  PostgresSource source(Config());
  source.Prepare("early");
  std::string connected;
  for (int i = 0; i < 200 && connected != "1"; ++i) {
    auto n = server_->RunSql(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'reader' AND datname = 'shop'");
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    connected = n->substr(0, n->find('\n'));
    if (connected != "1") std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(connected, "1");
  ASSERT_TRUE(server_->RunSql("ALTER ROLE reader PASSWORD 'changed'").ok());
  auto described = source.DescribeStream("early");
  auto read = source.Read(Incremental("early"), nullptr, env.lake());
  ASSERT_TRUE(
      server_->RunSql("ALTER ROLE reader PASSWORD '" + server_->reader_password() + "'").ok());
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  EXPECT_EQ(described->columns.size(), 2u);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 4);
}

// Prepare's error (here: no such table) is the description's; a Prepare of another stream
// leaves the description to connect for itself.
TEST_F(PostgresSourceTest, PrepareOfAMissingOrOtherStream) {
  PostgresSource missing(Config());
  missing.Prepare("no_such_table");
  auto described = missing.DescribeStream("no_such_table");
  ASSERT_FALSE(described.ok());
  EXPECT_TRUE(described.status().IsNotFound()) << described.status().ToString();

  PostgresSource other(Config());
  other.Prepare("no_such_table");
  auto all_types = other.DescribeStream("all_types");
  ASSERT_TRUE(all_types.ok()) << all_types.status().ToString();
  EXPECT_EQ(all_types->name, "all_types");
}

// Advise names an incremental stream whose cursor column leads no index, with the index to
// create; not a full_refresh stream, not a view, not once the index exists.
// `dew connection test` warns about each stream whose deleted-keys check PostgreSQL's statistics
// can never spare: a view, a table with inheritance children; not a plain table, and not a
// stream that compares the keys on every sync by choice.
TEST_F(PostgresSourceTest, AdviseTheCheckThatCannotBeSkipped) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE ledger_base (id integer PRIMARY KEY, write_date "
                           "timestamp); CREATE INDEX ON ledger_base (write_date, id);"
                           "CREATE TABLE ledger_2025 () INHERITS (ledger_base);"
                           "CREATE TABLE plain (id integer PRIMARY KEY, write_date timestamp);"
                           "CREATE INDEX ON plain (write_date, id);"
                           "CREATE VIEW plain_view AS SELECT * FROM plain;"
                           "GRANT SELECT ON ledger_base, plain, plain_view TO reader;",
                           "shop")
                  .ok());
  StreamRequest parent = Incremental("ledger_base");
  parent.primary_key = {"id"};
  StreamRequest plain = parent;
  plain.name = "plain";
  StreamRequest view = parent;
  view.name = "plain_view";
  StreamRequest always = view;
  always.deletes_always_compared = true;
  auto advice = PostgresSource(Config()).Advise({parent, plain, view, always});
  ASSERT_TRUE(advice.ok()) << advice.status().ToString();
  ASSERT_EQ(advice->size(), 2u);
  EXPECT_EQ((*advice)[0],
            "stream ledger_base: the deleted-keys check reads every key of public.ledger_base on "
            "every sync: PostgreSQL's statistics cannot tell whether rows were deleted (it has "
            "inheritance children or partitions, whose deletions are counted on them)");
  EXPECT_NE((*advice)[1].find("stream plain_view: the deleted-keys check reads every key of "
                              "public.plain_view on every sync: PostgreSQL's statistics cannot "
                              "tell whether rows were deleted (it is not a plain table"),
            std::string::npos)
      << (*advice)[1];
}

TEST_F(PostgresSourceTest, AdviseAnIndexOnTheCursorColumn) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE journal (id integer PRIMARY KEY, write_date timestamp);"
                           "CREATE VIEW journal_view AS SELECT * FROM journal;"
                           "GRANT SELECT ON journal, journal_view TO reader;",
                           "shop")
                  .ok());
  StreamRequest incremental;
  incremental.name = "journal";
  incremental.sync_mode = "incremental";
  incremental.cursor_field = "write_date";
  incremental.primary_key = {"id"};
  incremental.detect_deletes = false;  // the view's check is AdviseTheCheckThatCannotBeSkipped's
  StreamRequest full = incremental;
  full.sync_mode = "full_refresh";
  StreamRequest view = incremental;
  view.name = "journal_view";
  auto advice = PostgresSource(Config()).Advise({incremental, full, view});
  ASSERT_TRUE(advice.ok()) << advice.status().ToString();
  ASSERT_EQ(advice->size(), 1u);
  EXPECT_EQ(advice->front(),
            "stream journal: cursor column write_date of public.journal has no index, so every "
            "incremental sync reads the whole table to find the changed rows; create one: CREATE "
            "INDEX ON \"public\".\"journal\" (\"write_date\", \"id\")");
  ASSERT_TRUE(server_->RunSql("CREATE INDEX ON journal (write_date, id)", "shop").ok());
  advice = PostgresSource(Config()).Advise({incremental});
  ASSERT_TRUE(advice.ok()) << advice.status().ToString();
  EXPECT_TRUE(advice->empty());
}

// The filter and the column selection run at the source; a row leaving the filter counts as
// deleted.
TEST_F(PostgresSourceTest, IncrementalFilterAndColumns) {
  ASSERT_TRUE(server_
                  ->RunSql("CREATE TABLE lines (id bigint PRIMARY KEY, write_date timestamptz, "
                           "parent_state text, debit numeric(16,2), secret text);"
                           "INSERT INTO lines SELECT g, TIMESTAMPTZ '2024-01-01 00:00:00+02' + "
                           "g * INTERVAL '1 minute', CASE WHEN g % 3 = 0 THEN 'draft' ELSE "
                           "'posted' END, g, 's' FROM generate_series(1, 12) g;"
                           "GRANT SELECT ON lines TO reader;",
                           "shop")
                  .ok());
  dew::testing::SyncLake env;
  StreamRequest request = Incremental("lines");
  request.filter = "parent_state = 'posted'";
  request.columns = {"debit"};
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 8);
  EXPECT_EQ(read->state["cursor"], "2023-12-31 22:11:00+00");
  EXPECT_EQ(env.Scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                       "'raw_shop_lines' AND column_name IN ('secret', 'parent_state')"),
            "0");
  EXPECT_EQ(env.Scalar("SELECT typeof(write_date) || typeof(debit) FROM bronze.raw_shop_lines "
                       "LIMIT 1"),
            "TIMESTAMP WITH TIME ZONEDECIMAL(16,2)");
  ASSERT_TRUE(
      server_
          ->RunSql("UPDATE lines SET parent_state = 'draft', write_date = now() WHERE id = 4",
                   "shop")
          .ok());
  auto next = PostgresSource(Config()).Read(request, read->state, env.lake());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows, 0);
  EXPECT_EQ(next->rows_deleted, 1);
  EXPECT_EQ(env.Scalar("SELECT id FROM bronze.raw_shop_lines WHERE _deleted"), "4");
}

TEST_F(PostgresSourceTest, IncrementalNeedsCursorAndKey) {
  dew::testing::SyncLake env;
  StreamRequest request;
  request.name = "all_types";
  request.sync_mode = "incremental";
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("all_types"), std::string::npos);
  request.cursor_field = "nope";
  read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("cursor_field nope"), std::string::npos);
}

// Every type lands the same way through incremental chunks as through a full refresh.
TEST_F(PostgresSourceTest, IncrementalLandsEveryType) {
  dew::testing::SyncLake env;
  StreamRequest request;
  request.name = "all_types";
  request.sync_mode = "incremental";
  request.cursor_field = "id";
  request.chunk_rows = 1;
  auto read = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 4);
  EXPECT_EQ(read->commits, 4);
  EXPECT_EQ(env.Scalar("SELECT string_agg(coalesce(label, '<NULL>'), '|' ORDER BY id) || "
                       "count(payload) || count(tags) || max(uid::VARCHAR) FROM "
                       "bronze.raw_shop_all_types"),
            "plain|quote \" comma , newline\n end||<NULL>22a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
}

}  // namespace
}  // namespace dew::connectors
