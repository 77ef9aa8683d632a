#include "connectors/postgres_source.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/clock.h"
#include "core/file_system.h"
#include "engine/connection.h"
#include "lake/lake_test_util.h"
#include "lake/lakehouse.h"
#include "support/postgres_server.h"

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
  EXPECT_EQ(read->state["rows"], 4);

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

TEST_F(PostgresSourceTest, ReadRejectsIncrementalForNow) {
  lake::testing::TempDir dir;
  lake::LakehouseOptions o;
  o.lake_root = dir.path() + "/lake";
  o.cwd = dir.path();
  auto lake = lake::Lakehouse::Open(o, FileSystem::Posix(), Clock::System());
  ASSERT_TRUE(lake.ok()) << lake.status().ToString();
  StreamRequest request;
  request.name = "all_types";
  request.sync_mode = "incremental";
  auto read = PostgresSource(Config()).Read(request, nullptr, lake->get());
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("all_types"), std::string::npos);
}

}  // namespace
}  // namespace dew::connectors
