#include "engine/connection.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <optional>
#include <thread>

#include "engine/appender.h"
#include "engine/database.h"
#include "engine/prepared_statement.h"
#include "engine/query_result.h"

namespace dew::engine {
namespace {

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open(DatabaseOptions{});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto con = db_->Connect();
    ASSERT_TRUE(con.ok()) << con.status().ToString();
    con_ = std::move(*con);
  }
  std::unique_ptr<Database> db_;
  std::unique_ptr<Connection> con_;
};

TEST_F(ConnectionTest, FormatsEveryCommonType) {
  auto t = con_->QueryText(
      "SELECT 42::TINYINT a, -7::BIGINT b, 3.5::DOUBLE c, 'x''y' d, DATE '2026-01-31' e, "
      "TIMESTAMP '2026-01-31 23:59:59.25' f, 123.45::DECIMAL(18,2) g, -0.05::DECIMAL(4,2) h, "
      "true i, NULL::INTEGER j, [1,2,NULL] k, {'p': 1, 'q': 'z'} l, "
      "'00000000-0000-4000-8000-000000000001'::UUID m, "
      "170141183460469231731687303715884105727::HUGEINT n, "
      "TIME '12:34:56' o, INTERVAL '1 year 2 months 3 days' p, MAP {'k': 2} q, '\\x00ab'::BLOB r");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows.size(), 1u);
  const auto& r = t->rows[0];
  EXPECT_EQ(*r[0], "42");
  EXPECT_EQ(*r[1], "-7");
  EXPECT_EQ(*r[2], "3.5");
  EXPECT_EQ(*r[3], "x'y");
  EXPECT_EQ(*r[4], "2026-01-31");
  EXPECT_EQ(*r[5], "2026-01-31 23:59:59.25");
  EXPECT_EQ(*r[6], "123.45");
  EXPECT_EQ(*r[7], "-0.05");
  EXPECT_EQ(*r[8], "true");
  EXPECT_FALSE(r[9].has_value());
  EXPECT_EQ(*r[10], "[1, 2, NULL]");
  EXPECT_EQ(*r[11], "{'p': 1, 'q': z}");
  EXPECT_EQ(*r[12], "00000000-0000-4000-8000-000000000001");
  EXPECT_EQ(*r[13], "170141183460469231731687303715884105727");
  EXPECT_EQ(*r[14], "12:34:56");
  EXPECT_EQ(*r[15], "1 years 2 months 3 days");
  EXPECT_EQ(*r[16], "{k=2}");
  EXPECT_EQ(*r[17], "\\x00ab");
  EXPECT_EQ(t->types[6].ToSql(), "DECIMAL(18,2)");
  EXPECT_EQ(t->types[10].ToSql(), "INTEGER[]");
}

// Nested results read element by element (COPY … RETURN_STATS returns a MAP of MAPs): each
// row's range among the child rows, and the children's values.
TEST_F(ConnectionTest, ReadsListAndMapEntriesRowByRow) {
  auto r = con_->QueryMaterialized(
      "SELECT * FROM (VALUES (1, [10, 20], MAP {'a': MAP {'min': '1'}, 'b': MAP {}}), "
      "(2, [], MAP {}), (3, [30], MAP {'c': MAP {'max': '9', 'min': NULL}})) t(i, l, m) "
      "ORDER BY i");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto chunk = (*r)->Fetch();
  ASSERT_TRUE(chunk.ok() && *chunk) << chunk.status().ToString();
  ASSERT_EQ((*chunk)->size(), 3u);
  const VectorView list = (*chunk)->column(1);
  std::vector<std::vector<int64_t>> lists;
  for (uint64_t row = 0; row < 3; ++row) {
    std::vector<int64_t> values;
    const VectorView::ListRange range = list.GetListRange(row);
    for (uint64_t e = range.offset; e < range.offset + range.length; ++e)
      values.push_back(list.ListChild().GetInt64(e));
    lists.push_back(values);
  }
  EXPECT_EQ(lists, (std::vector<std::vector<int64_t>>{{10, 20}, {}, {30}}));
  // Row 3's map: c -> {max: 9, min: NULL}.
  const VectorView map = (*chunk)->column(2);
  EXPECT_EQ(map.GetListRange(1).length, 0u);
  const VectorView::ListRange outer = map.GetListRange(2);
  ASSERT_EQ(outer.length, 1u);
  EXPECT_EQ(map.MapKeys().GetString(outer.offset), "c");
  const VectorView inner = map.MapValues();
  const VectorView::ListRange stats = inner.GetListRange(outer.offset);
  ASSERT_EQ(stats.length, 2u);
  std::map<std::string, std::optional<std::string>> got;
  for (uint64_t e = stats.offset; e < stats.offset + stats.length; ++e) {
    got[inner.MapKeys().GetString(e)] =
        inner.MapValues().IsNull(e) ? std::nullopt
                                    : std::optional<std::string>(inner.MapValues().GetString(e));
  }
  EXPECT_EQ(got, (std::map<std::string, std::optional<std::string>>{{"max", "9"},
                                                                    {"min", std::nullopt}}));
  // Row 1's map: a -> {min: 1}, b -> {}.
  const VectorView::ListRange first = map.GetListRange(0);
  ASSERT_EQ(first.length, 2u);
  EXPECT_EQ(map.MapKeys().GetString(first.offset + 1), "b");
  EXPECT_EQ(inner.GetListRange(first.offset + 1).length, 0u);
}

TEST_F(ConnectionTest, ReadsManyChunks) {
  auto result = con_->Query("SELECT range AS i FROM range(100000)");
  ASSERT_TRUE(result.ok());
  int64_t sum = 0, rows = 0, chunks = 0;
  while (true) {
    auto chunk = (*result)->Fetch();
    ASSERT_TRUE(chunk.ok());
    if (!*chunk) break;
    chunks++;
    auto col = (*chunk)->column(0);
    for (uint64_t i = 0; i < (*chunk)->size(); i++) sum += col.GetInt64(i);
    rows += static_cast<int64_t>((*chunk)->size());
  }
  EXPECT_EQ(rows, 100000);
  EXPECT_EQ(sum, 4999950000LL);
  EXPECT_GT(chunks, 1);
}

TEST_F(ConnectionTest, ErrorsCarryDuckDBMessage) {
  auto r = con_->QueryText("SELECT * FROM no_such_table");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_NE(r.status().message().find("no_such_table"), std::string::npos);
  auto syntax = con_->Execute("SELEC 1");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.message().find("syntax error"), std::string::npos);
}

TEST_F(ConnectionTest, MultipleStatementsReturnLast) {
  auto t =
      con_->QueryText("CREATE TABLE t(a INT); INSERT INTO t VALUES (1),(2); SELECT sum(a) FROM t");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t->rows[0][0], "3");
}

// The materialized path DuckDB binds once: the last statement's whole result, names and types,
// also for a query over a Parquet file (which DuckDB rebinds when prepared first).
TEST_F(ConnectionTest, QueryMaterializedReturnsTheLastStatementsWholeResult) {
  char tmpl[] = "/tmp/dew_conn_XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string file = dir + "/t.parquet";
  ASSERT_TRUE(con_->Execute("COPY (SELECT range AS a, 'x' || range AS b FROM range(3000)) TO " +
                            SqlString(file) + " (FORMAT parquet)")
                  .ok());
  auto r = con_->QueryMaterialized("SET threads = 1; SELECT a, b FROM read_parquet(" +
                                   SqlString(file) + ") ORDER BY a");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ((*r)->types()[0].id, TypeId::kBigInt);
  uint64_t rows = 0;
  while (true) {
    auto chunk = (*r)->Fetch();
    ASSERT_TRUE(chunk.ok()) << chunk.status().ToString();
    if (!*chunk) break;
    rows += (*chunk)->size();
  }
  EXPECT_EQ(rows, 3000u);
  r->reset();
  auto missing = con_->QueryMaterialized("SELECT 1; SELECT * FROM no_such_table");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  std::remove(file.c_str());
  ::rmdir(dir.c_str());
}

TEST_F(ConnectionTest, DescribeTableReadsTheCatalogsColumns) {
  ASSERT_TRUE(con_->Execute("CREATE SCHEMA s; CREATE TABLE s.t AS SELECT 1::BIGINT AS id, "
                            "'x' AS name, 1.5::DECIMAL(9,2) AS amount, [1, 2] AS tags")
                  .ok());
  auto t = con_->DescribeTable("s", "t");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->names, (std::vector<std::string>{"id", "name", "amount", "tags"}));
  std::vector<std::string> types;
  for (const auto& type : t->types) types.push_back(type.ToSql());
  // The types a query over the table reports.
  auto q = con_->QueryText("SELECT * FROM s.t LIMIT 0");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  std::vector<std::string> queried;
  for (const auto& type : q->types) queried.push_back(type.ToSql());
  EXPECT_EQ(types, queried);
  EXPECT_EQ(types[0], "BIGINT");
  EXPECT_EQ(types[2], "DECIMAL(9,2)");
  EXPECT_TRUE(t->rows.empty());

  auto missing = con_->DescribeTable("s", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("s.nope"), std::string::npos)
      << missing.status().ToString();
}

TEST_F(ConnectionTest, PreparedStatementTypedBinds) {
  ASSERT_TRUE(con_->Execute("CREATE TABLE p(a BIGINT, b VARCHAR, c DOUBLE, d BOOLEAN)").ok());
  auto stmt = con_->Prepare("INSERT INTO p VALUES ($1, $2, $3, $4)");
  ASSERT_TRUE(stmt.ok());
  ASSERT_EQ((*stmt)->parameter_count(), 4u);
  ASSERT_TRUE((*stmt)->BindInt64(1, 9).ok());
  ASSERT_TRUE((*stmt)->BindString(2, "nine").ok());
  ASSERT_TRUE((*stmt)->BindDouble(3, 0.5).ok());
  ASSERT_TRUE((*stmt)->BindNull(4).ok());
  ASSERT_TRUE((*stmt)->Execute().ok());
  EXPECT_FALSE((*stmt)->BindInt64(7, 1).ok());
  auto t = con_->QueryText("SELECT a, b, c, d FROM p");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t->rows[0][1], "nine");
  EXPECT_FALSE(t->rows[0][3].has_value());
}

TEST_F(ConnectionTest, AppenderLoadsRows) {
  ASSERT_TRUE(con_->Execute("CREATE TABLE a(i BIGINT, s VARCHAR)").ok());
  auto app = con_->CreateAppender("main", "a");
  ASSERT_TRUE(app.ok()) << app.status().ToString();
  for (int i = 0; i < 5000; i++) {
    ASSERT_TRUE((*app)->AppendInt64(i).ok());
    ASSERT_TRUE((*app)->AppendString("row" + std::to_string(i)).ok());
    ASSERT_TRUE((*app)->EndRow().ok());
  }
  ASSERT_TRUE((*app)->Close().ok());
  auto n = con_->QueryScalar("SELECT count(*) FROM a");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(**n, "5000");
  EXPECT_FALSE(con_->CreateAppender("main", "missing").ok());
}

TEST_F(ConnectionTest, InterruptStopsARunningQuery) {
  ASSERT_TRUE(con_->TrackProgress().ok());  // the loop below waits for the query to show
  std::atomic<bool> done{false};
  Status status;
  std::thread runner([&] {
    status = con_->Execute("SELECT count(*) FROM range(10000000000) t(a) WHERE (a * 7) % 13 = 5");
    done = true;
  });
  // Wait until the query is visibly running, then interrupt it.
  for (int i = 0; i < 200 && con_->progress().percentage < 0 && !done; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  con_->Interrupt();
  runner.join();
  EXPECT_TRUE(status.IsInterrupted()) << status.ToString();
}

}  // namespace
}  // namespace dew::engine

namespace dew::engine {
namespace {

TEST_F(ConnectionTest, ProgressIsTrackedOnlyWhenAsked) {
  auto setting = [&](const std::string& name) {
    auto t = con_->QueryText("SELECT current_setting('" + name + "')::VARCHAR");
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() && !t->rows.empty() ? t->rows[0][0].value_or("NULL") : "";
  };
  EXPECT_EQ(setting("enable_progress_bar"), "false");
  ASSERT_TRUE(con_->TrackProgress().ok());
  EXPECT_EQ(setting("enable_progress_bar"), "true");
  EXPECT_EQ(setting("enable_progress_bar_print"), "false");
}

TEST_F(ConnectionTest, ProgressIsReadableWhileAQueryRuns) {
  ASSERT_TRUE(con_->TrackProgress().ok());
  // DuckDB starts tracking progress after progress_bar_time; zero makes it immediate.
  ASSERT_TRUE(con_->Execute("SET progress_bar_time = 0").ok());
  // A table scan reports progress (the range() table function does not).
  ASSERT_TRUE(con_->Execute("CREATE TABLE big AS SELECT range AS a FROM range(50000000)").ok());
  std::atomic<bool> done{false};
  Status status;
  std::thread runner([&] {
    status = con_->Execute(
        "SELECT count(DISTINCT (a * 7919) % 1000003 || 'x' || a) FROM big WHERE a % 3 <> 1");
    done = true;
  });
  double seen = -1;
  uint64_t rows = 0;
  for (int i = 0; i < 1000 && !done && (seen <= 0 || rows == 0); i++) {
    QueryProgress p = con_->progress();
    seen = p.percentage;
    rows = p.rows_processed;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  con_->Interrupt();
  runner.join();
  EXPECT_TRUE(status.IsInterrupted()) << status.ToString();
  EXPECT_GT(seen, 0.0);
  EXPECT_LE(seen, 100.0);
  EXPECT_GT(rows, 0u);
}

}  // namespace
}  // namespace dew::engine
