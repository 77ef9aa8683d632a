// model and quality tasks on a real project folder and lake (models built by the real
// ModelBuilder on DuckDB; data tests by quality::RunTest).
#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "control/sqlite_control_store.h"
#include "lake/lakehouse.h"
#include "orchestrator/task_kind_test_util.h"

namespace dew::orchestrator {
namespace {

class ModelTaskTest : public testing::TaskKindTest {
 protected:
  void SetUp() override {
    TaskKindTest::SetUp();
    Write("dew.yml",
          "name: shop\nvars: {min_amount: 0}\nmodels:\n  marts: {+layer: gold, +materialized: "
          "table}\n");
    Write("models/sources.yml",
          "sources:\n  - name: erp\n    layer: silver\n    tables:\n      - name: orders\n"
          "        tests:\n          - row_count: {min: 1}\n");
    Write("models/staging/stg_orders.sql",
          "select id, customer, amount from {{ source('erp', 'orders') }} "
          "where amount > {{ var('min_amount') }}");
    Write("models/marts/gold_sales_by_customer.sql",
          "{{ config(tags=['finance']) }}\n"
          "select customer, sum(amount) as amount, count(*) as orders from {{ ref('stg_orders') }} "
          "group by customer");
    Write("models/marts/gold_sales_big.sql",
          "select * from {{ ref('stg_orders') }} where amount > 100");
    Write("models/marts/schema.yml",
          "models:\n  - name: gold_sales_by_customer\n    columns:\n      - name: customer\n"
          "        tests: [not_null, unique]\n      - name: amount\n"
          "        tests:\n          - range: {min: 0, max: 12, severity: warn}\n");
    auto lake = env_.open_lakehouse("seed-run");
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    auto t = lake::ParseTableName("silver.orders");
    ASSERT_TRUE((*lake)
                    ->CreateTableAs(*t,
                                    "SELECT * FROM (VALUES (1, 'ana', 10.0), (2, 'ben', 5.0), "
                                    "(3, 'ana', 7.5), (4, 'cy', 0.5)) t(id, customer, amount)",
                                    {}, (*lake)->NewWriteOptions())
                    .ok());
  }

  std::string Query(const std::string& sql) {
    auto lake = env_.open_lakehouse("reader");
    if (!lake.ok()) return "ERROR: " + lake.status().message();
    auto t = (*lake)->connection().QueryText(sql);
    if (!t.ok()) return "ERROR: " + t.status().message();
    std::string out;
    for (const auto& row : t->rows) {
      for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + row[i].value_or("NULL");
      out += "\n";
    }
    return out;
  }

  //! The run ids of `table`'s commits, newest first.
  std::vector<std::string> CommitRunIds(const std::string& table) {
    auto lake = env_.open_lakehouse("reader");
    EXPECT_TRUE(lake.ok());
    auto opened = (*lake)->OpenTable(*lake::ParseTableName(table));
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    auto history = (*opened)->log().History();
    EXPECT_TRUE(history.ok());
    std::vector<std::string> ids;
    for (const auto& h : *history) ids.push_back(h.info.run_id);
    return ids;
  }
};

TEST_F(ModelTaskTest, BuildsTheSelectionWithVarsAndRecordsTheRunId) {
  const std::string yaml = R"(name: marts
params: {floor: "1"}
tasks:
  - name: build
    kind: model
    select: "+tag:finance"
    vars: '{"min_amount": ${params.floor}}'
)";
  auto out = RunTask(Invocation(yaml, "build", {}, "run-m1"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // min_amount 1 drops cy's 0.5: ana 17.5 (2 orders), ben 5.0.
  EXPECT_EQ(Query("SELECT customer, amount, orders FROM gold.gold_sales_by_customer ORDER BY 1"),
            "ana,17.5,2\nben,5.0,1\n");
  EXPECT_EQ(out->rows_written, 2);
  EXPECT_EQ(CommitRunIds("gold.gold_sales_by_customer"), std::vector<std::string>{"run-m1"});
  // Not selected: not built.
  auto lake = env_.open_lakehouse("reader");
  EXPECT_FALSE((*lake)->Exists(*lake::ParseTableName("gold.gold_sales_big")));
}

TEST_F(ModelTaskTest, SelectorErrorsAndFailedModelsNameTheTask) {
  auto none =
      RunTask(Invocation("name: p\ntasks:\n  - {name: b, kind: model, select: nosuch}\n", "b"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("task b: select"), std::string::npos)
      << none.status().message();
  Write("models/marts/gold_sales_broken.sql", "select no_such_column from {{ ref('stg_orders') }}");
  auto broken = RunTask(
      Invocation("name: p\ntasks:\n  - {name: b, kind: model, select: gold_sales_broken}\n", "b"));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("task b: 1 of 1 models did not build: "
                                           "gold.gold_sales_broken:"),
            std::string::npos)
      << broken.status().message();
}

TEST_F(ModelTaskTest, CancelInterruptsARunningModel) {
  Write("models/marts/gold_sales_slow.sql",
        "select count(*) as n from range(100000000000) a where a.range % 7 = 3");
  auto runner = MakeTaskRunner(
      env_,
      Invocation("name: p\ntasks:\n  - {name: b, kind: model, select: gold_sales_slow}\n", "b"));
  ASSERT_TRUE(runner.ok());
  auto result = std::async(std::launch::async, [&] { return (*runner)->Run(); });
  // Repeated, as the executor's monitor does: an interrupt between two statements is forgotten.
  while (result.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
    (*runner)->Cancel();
  }
  const auto out = result.get();
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(out.status().IsInterrupted()) << out.status().ToString();
}

TEST_F(ModelTaskTest, QualityTableRunsDeclaredTestsFailingOnErrorsOnly) {
  ASSERT_TRUE(
      RunTask(Invocation(
                  "name: p\ntasks:\n  - {name: b, kind: model, select: +gold_sales_by_customer}\n",
                  "b"))
          .ok());
  // ana's 17.5 breaks the warn-severity range (logged only); not_null and unique pass.
  auto ok = RunTask(Invocation(
      "name: p\ntasks:\n  - {name: dq, kind: quality, table: gold_sales_by_customer}\n", "dq"));
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  // The same table by relation, plus an error-severity assertion that finds rows.
  auto failed = RunTask(Invocation(R"(name: p
tasks:
  - name: dq
    kind: quality
    table: gold.gold_sales_by_customer
    sql: "select customer, amount from gold.gold_sales_by_customer where amount > 10"
)",
                                   "dq"));
  ASSERT_FALSE(failed.ok());
  const std::string msg = failed.status().message();
  EXPECT_NE(msg.find("task dq: 1 of 4 quality checks failed: dq on assertion: fail"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("ana"), std::string::npos) << msg;  // the sample of offending rows
  // warn severity only logs.
  auto warned = RunTask(Invocation(R"(name: p
tasks:
  - {name: dq, kind: quality, severity: warn, sql: "select * from silver.orders where amount < 1"}
)",
                                   "dq"));
  EXPECT_TRUE(warned.ok()) << warned.status().ToString();
  // Sources by source.table.
  EXPECT_TRUE(
      RunTask(
          Invocation("name: p\ntasks:\n  - {name: dq, kind: quality, table: erp.orders}\n", "dq"))
          .ok());
}

TEST_F(ModelTaskTest, QualityTableErrorsNameTheTable) {
  auto unknown = RunTask(
      Invocation("name: p\ntasks:\n  - {name: dq, kind: quality, table: gold_nope}\n", "dq"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("task dq: table: no model or source 'gold_nope'"),
            std::string::npos)
      << unknown.status().message();
  auto untested = RunTask(
      Invocation("name: p\ntasks:\n  - {name: dq, kind: quality, table: gold_sales_big}\n", "dq"));
  ASSERT_FALSE(untested.ok());
  EXPECT_NE(untested.status().message().find("declares no data tests"), std::string::npos);
}

TEST_F(ModelTaskTest, TestResultsAndScoresJoinThePipelineRun) {
  auto store = control::SqliteControlStore::Open(dir_ + "/control.db", env_.clock);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  control::NewRun run;
  run.id = "run-q1";
  run.pipeline = "p";
  ASSERT_TRUE((*store)->CreateRun(run).ok());
  env_.store = store->get();
  ASSERT_TRUE(
      RunTask(Invocation(
                  "name: p\ntasks:\n  - {name: b, kind: model, select: +gold_sales_by_customer}\n",
                  "b", {}, "run-q1"))
          .ok());
  ASSERT_TRUE(
      RunTask(Invocation("name: p\ntasks:\n  - {name: dq, kind: quality, table: erp.orders}\n",
                         "dq", {}, "run-q1"))
          .ok());
  control::TestResultFilter filter;
  filter.run_id = "run-q1";
  auto results = (*store)->ListTestResults(filter);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  std::map<std::string, std::string> status;
  for (const auto& r : *results) status[r.test_id] = r.status;
  // The model task's three declared tests (ana's 17.5 breaks the warn range) and the quality
  // task's row_count on the source, with the row count kept for volume history.
  EXPECT_EQ(status, (std::map<std::string, std::string>{
                        {"not_null_gold_sales_by_customer_customer", "pass"},
                        {"unique_gold_sales_by_customer_customer", "pass"},
                        {"range_gold_sales_by_customer_amount", "warn"},
                        {"row_count_source_erp_orders", "pass"}}));
  for (const auto& r : *results) {
    if (r.test_type == "row_count") {
      EXPECT_EQ(r.observed, std::optional<int64_t>(4));
    }
  }
  control::QualityScoreFilter scores;
  scores.run_id = "run-q1";
  auto scored = (*store)->ListQualityScores(scores);
  ASSERT_TRUE(scored.ok()) << scored.status().ToString();
  std::set<std::string> targets;
  for (const auto& q : *scored) targets.insert(q.target);
  EXPECT_EQ(targets, (std::set<std::string>{"gold_sales_by_customer", "source:erp.orders"}));
}

}  // namespace
}  // namespace dew::orchestrator
