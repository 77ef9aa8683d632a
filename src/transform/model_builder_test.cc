#include "transform/model_builder.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <vector>

#include "core/file_system.h"
#include "lake/lakehouse.h"

namespace dew::transform {
namespace {

// A real project folder and lake; models built through the real lake and DuckDB.
class ModelBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_build_XXXXXX";
    root_ = mkdtemp(tmpl);
    fs_ = FileSystem::Posix();
    clock_ = std::make_shared<ManualClock>(1767225600000);  // 2026-01-01 00:00:00 UTC
    Write("dew.yml", "name: shop\nmodels:\n  marts: {+layer: gold, +materialized: table}\n");
    Write("models/sources.yml",
          "sources:\n  - name: erp\n    layer: silver\n    tables:\n      - name: orders\n");
    Write("models/staging/stg_orders.sql",
          "select id, customer, amount, day from {{ source('erp', 'orders') }} where amount > 0");
    Write("models/marts/gold_sales_by_customer.sql",
          "select customer, sum(amount) as amount, count(*) as orders from {{ ref('stg_orders') }} "
          "group by customer");
    Write("models/marts/gold_sales_orders.sql",
          "{{ config(materialized='incremental', unique_key='id') }}\n"
          "select id, customer, amount, day from {{ ref('stg_orders') }}\n"
          "{% if is_incremental() %}where day >= (select max(day) from {{ this }}){% endif %}");
    Write("models/marts/gold_sales_customer_history.sql",
          "{{ config(materialized='scd2', unique_key='customer') }}\n"
          "select customer, max(day) as last_day, count(*) as orders from {{ ref('stg_orders') }} "
          "group by customer");
    auto lake = OpenLake();
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    lake_ = std::move(*lake);
    Exec(
        "CREATE TABLE src AS SELECT * FROM (VALUES (1, 'ana', 10.0, DATE '2026-01-01'), "
        "(2, 'ben', 5.0, DATE '2026-01-01'), (3, 'ana', 7.5, DATE '2026-01-02'), "
        "(4, 'cy', -1.0, DATE '2026-01-02')) t(id, customer, amount, day)");
    auto t = lake::ParseTableName("silver.orders");
    ASSERT_TRUE(lake_->CreateTableAs(*t, "SELECT * FROM src", {}, lake_->NewWriteOptions()).ok());
  }
  void TearDown() override {
    lake_.reset();
    (void)fs_->RemoveAll(root_);
  }
  void Write(const std::string& rel, const std::string& text) {
    std::string path = root_ + "/" + rel;
    ASSERT_TRUE(fs_->CreateDirs(path.substr(0, path.rfind('/'))).ok());
    ASSERT_TRUE(fs_->WriteFile(path, text).ok());
  }
  Result<std::unique_ptr<lake::Lakehouse>> OpenLake() {
    lake::LakehouseOptions o;
    o.lake_root = root_ + "/lake";
    o.cwd = root_;
    o.user = "tester";
    o.run_id = "run-build";
    return lake::Lakehouse::Open(o, fs_, clock_);
  }
  void Exec(const std::string& sql) {
    Status s = lake_->connection().Execute(sql);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::string Query(const std::string& sql) {
    auto t = lake_->connection().QueryText(sql);
    if (!t.ok()) return "ERROR: " + t.status().message();
    std::string out;
    for (const auto& row : t->rows) {
      for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + row[i].value_or("NULL");
      out += "\n";
    }
    return out;
  }
  //! Compiles and builds every model; returns "name:status" lines.
  std::string BuildAll(bool full_refresh = false, int threads = 2) {
    auto project = ModelProject::Load(*fs_, root_);
    if (!project.ok()) return "LOAD: " + project.status().message();
    project_ = std::move(*project);
    CompileOptions co;
    co.full_refresh = full_refresh;
    co.relation_exists = [this](const std::string& r) {
      auto t = lake::ParseTableName(r);
      return t.ok() && lake_->Exists(*t);
    };
    auto compiled = CompileProject(project_, co);
    if (!compiled.ok()) return "COMPILE: " + compiled.status().message();
    compiled_ = std::move(*compiled);
    ModelBuilder builder(
        &compiled_, [this] { return OpenLake(); }, clock_);
    BuildOptions bo;
    bo.threads = threads;
    bo.full_refresh = full_refresh;
    bo.models = *compiled_.Select("", "");
    auto outcomes = builder.Build(bo);
    if (!outcomes.ok()) return "BUILD: " + outcomes.status().message();
    std::string out;
    for (const auto& o : *outcomes)
      out += o.name + ":" + o.status + (o.error.empty() ? "" : " " + o.error) + "\n";
    // Our own lakehouse sees the other threads' writes after a refresh.
    for (const auto& m : compiled_.models())
      (void)lake_->RefreshView(*lake::ParseTableName(m.relation));
    return out;
  }

  std::string root_;
  std::shared_ptr<FileSystem> fs_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<lake::Lakehouse> lake_;
  ModelProject project_;
  CompiledProject compiled_;
};

TEST_F(ModelBuilderTest, BuildsViewsTablesIncrementalAndScd2InDependencyOrder) {
  EXPECT_EQ(BuildAll(),
            "stg_orders:success\ngold_sales_by_customer:success\n"
            "gold_sales_customer_history:success\ngold_sales_orders:success\n");
  EXPECT_TRUE(fs_->Exists(root_ + "/lake/_views/silver.stg_orders.sql"));
  EXPECT_EQ(Query("SELECT customer, amount, orders FROM gold.gold_sales_by_customer ORDER BY 1"),
            "ana,17.5,2\nben,5.0,1\n");
  EXPECT_EQ(Query("SELECT count(*) FROM gold.gold_sales_orders"), "3\n");

  // Late and changed data: order 3 corrected, a new order for ben, a new customer.
  Exec(
      "CREATE OR REPLACE TABLE src AS SELECT * FROM (VALUES (5, 'ben', 2.0, DATE '2026-01-02'), "
      "(3, 'ana', 8.5, DATE '2026-01-02'), (6, 'dee', 1.0, DATE '2026-01-03')) t(id, customer, "
      "amount, day)");
  auto orders = lake_->OpenTable(*lake::ParseTableName("silver.orders"));
  ASSERT_TRUE(orders.ok());
  ASSERT_TRUE((*orders)->Merge("SELECT * FROM src", {"id"}, lake_->NewWriteOptions()).ok());
  ASSERT_TRUE(lake_->RefreshView(*lake::ParseTableName("silver.orders")).ok());
  clock_->Advance(86400000);
  EXPECT_EQ(BuildAll(),
            "stg_orders:success\ngold_sales_by_customer:success\n"
            "gold_sales_customer_history:success\ngold_sales_orders:success\n");
  // Incremental: rows since the last day merged by id (3 replaced, 5 and 6 added).
  EXPECT_EQ(Query("SELECT id, amount FROM gold.gold_sales_orders ORDER BY id"),
            "1,10.0\n2,5.0\n3,8.5\n5,2.0\n6,1.0\n");
  // Table: recomputed, a new Delta version; the first build is still there by time travel.
  EXPECT_EQ(Query("SELECT customer, amount FROM gold.gold_sales_by_customer ORDER BY 1"),
            "ana,18.5\nben,7.0\ndee,1.0\n");
  // SCD2: ben changed (a second order) so his first version closed; dee is new; ana unchanged
  // (same last day and order count).
  EXPECT_EQ(Query("SELECT customer, orders, is_current, valid_to IS NULL FROM "
                  "gold.gold_sales_customer_history ORDER BY customer, valid_from"),
            "ana,2,true,true\nben,1,false,false\nben,2,true,true\ndee,1,true,true\n");

  // A deleted source row closes the customer's current version.
  ASSERT_TRUE((*orders)->DeleteWhere("customer = 'dee'", lake_->NewWriteOptions()).ok());
  clock_->Advance(86400000);
  EXPECT_EQ(BuildAll(),
            "stg_orders:success\ngold_sales_by_customer:success\n"
            "gold_sales_customer_history:success\ngold_sales_orders:success\n");
  EXPECT_EQ(Query("SELECT customer, is_current FROM gold.gold_sales_customer_history "
                  "WHERE customer = 'dee'"),
            "dee,false\n");
}

TEST_F(ModelBuilderTest, AFailedModelSkipsItsDescendantsOnly) {
  Write("models/staging/stg_orders.sql",
        "select no_such_column from {{ source('erp', 'orders') }}");
  Write("models/marts/gold_other_thing.sql", "select 1 as x");
  std::string out = BuildAll();
  EXPECT_NE(
      out.find("stg_orders:error models/staging/stg_orders.sql: building silver.stg_orders: "),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("gold_sales_orders:skipped upstream model stg_orders did not build"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("gold_other_thing:success"), std::string::npos) << out;
}

TEST_F(ModelBuilderTest, ContractsFailWithADiffBeforeWriting) {
  Write("models/marts/contract.yml",
        "models:\n  - name: gold_sales_by_customer\n    config: {contract: {enforced: true}}\n"
        "    columns:\n      - {name: customer, data_type: text}\n"
        "      - {name: amount, data_type: 'decimal(18,2)'}\n      - {name: region, data_type: "
        "varchar}\n");
  std::string out = BuildAll();
  EXPECT_NE(out.find("gold_sales_by_customer:error models/marts/gold_sales_by_customer.sql: "
                     "contract of gold_sales_by_customer is enforced and the output differs:\n"
                     "  - column amount: declared DECIMAL(18,2), got DECIMAL(38,1)\n"
                     "  - missing column region (declared varchar)\n"
                     "  - extra column orders BIGINT"),
            std::string::npos)
      << out;
  EXPECT_FALSE(lake_->Exists(*lake::ParseTableName("gold.gold_sales_by_customer")));
}

TEST_F(ModelBuilderTest, ATableModelMayChangeItsColumns) {
  ASSERT_EQ(BuildAll(false, 1).find("error"), std::string::npos);
  Write("models/marts/gold_sales_by_customer.sql",
        "select customer, count(*) as n from {{ ref('stg_orders') }} group by customer");
  ASSERT_EQ(BuildAll(false, 1).find("error"), std::string::npos);
  EXPECT_EQ(Query("SELECT * FROM gold.gold_sales_by_customer ORDER BY 1"), "ana,2\nben,1\n");
}

// A worker hands each table model's commit to its committer and goes on with the next model;
// a commit that then fails fails its model (with the model's file and relation), skips its
// descendants, and leaves the table as it was.
TEST_F(ModelBuilderTest, ACommitFailingAfterTheWorkerMovedOnFailsItsModel) {
  class FailingCommits : public FileSystemWrapper {
   public:
    using FileSystemWrapper::FileSystemWrapper;
    Status CreateExclusive(const std::string& path, const std::string& contents) override {
      if (path.find("/gold_sales_by_customer/_delta_log/") != std::string::npos)
        return Status::IOError("injected: cannot create " + path);
      return FileSystemWrapper::CreateExclusive(path, contents);
    }
  };
  Write("models/marts/gold_top_customer.sql",
        "select customer from {{ ref('gold_sales_by_customer') }} order by amount desc limit 1");
  fs_ = std::make_shared<FailingCommits>(FileSystem::Posix());
  for (int threads : {1, 2}) {
    std::string out = BuildAll(false, threads);
    EXPECT_NE(out.find("gold_sales_by_customer:error models/marts/gold_sales_by_customer.sql: "
                       "building gold.gold_sales_by_customer: "),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("injected: cannot create"), std::string::npos) << out;
    EXPECT_NE(
        out.find("gold_top_customer:skipped upstream model gold_sales_by_customer did not build"),
        std::string::npos)
        << out;
    EXPECT_NE(out.find("gold_sales_orders:success"), std::string::npos) << out;
    EXPECT_FALSE(lake_->Exists(*lake::ParseTableName("gold.gold_sales_by_customer")));
  }
  // The committed tables hold their rows, and their outcomes the versions committed.
  fs_ = FileSystem::Posix();
  auto project = ModelProject::Load(*fs_, root_);
  ASSERT_TRUE(project.ok());
  project_ = std::move(*project);
  auto compiled = CompileProject(project_, CompileOptions{});
  ASSERT_TRUE(compiled.ok());
  compiled_ = std::move(*compiled);
  ModelBuilder builder(
      &compiled_, [this] { return OpenLake(); }, clock_);
  BuildOptions bo;
  bo.models = *compiled_.Select("gold_sales_by_customer+", "");
  auto outcomes = builder.Build(bo);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status().ToString();
  ASSERT_EQ(outcomes->size(), 2u);
  for (const auto& o : *outcomes) {
    EXPECT_EQ(o.status, "success") << o.name << ": " << o.error;
    EXPECT_EQ(o.version, 0) << o.name;
    EXPECT_EQ(o.rows, o.name == "gold_top_customer" ? 1 : 2) << o.name;
  }
  (void)lake_->RefreshView(*lake::ParseTableName("gold.gold_top_customer"));
  EXPECT_EQ(Query("SELECT * FROM gold.gold_top_customer"), "ana\n");
}

// A worker keeps a table model's rows in its DuckDB for the model's tests and for the children
// it builds itself (one worker here): they must see exactly what was committed, with the types
// the table's files hold (UTINYINT widens to SMALLINT, TIMESTAMP_NS is stored in microseconds),
// not the types of the model's SELECT.
TEST_F(ModelBuilderTest, ChildrenOfTheSameWorkerReadTheRowsAsCommitted) {
  Write("models/typed/typed_base.sql",
        "{{ config(materialized='table') }}\nselect 200::UTINYINT as u, "
        "TIMESTAMP_NS '2026-01-01 00:00:00.123456789' as t");
  Write("models/typed/typed_child.sql",
        "{{ config(materialized='table') }}\nselect typeof(u) as tu, typeof(t) as tt, "
        "cast(t as varchar) as tv, u + 100 as w from {{ ref('typed_base') }}");
  std::string out = BuildAll(false, 1);
  ASSERT_EQ(out.find("error"), std::string::npos) << out;
  EXPECT_EQ(Query("SELECT * FROM silver.typed_child"),
            "SMALLINT,TIMESTAMP,2026-01-01 00:00:00.123456,300\n");
  // And the committed table, read from its files, holds the same.
  EXPECT_EQ(Query("SELECT typeof(u), typeof(t), cast(t as varchar) FROM silver.typed_base"),
            "SMALLINT,TIMESTAMP,2026-01-01 00:00:00.123456\n");
}

// Two workers share a layered DAG, each with a lakehouse of its own over the build's one DuckDB:
// a model must read the versions of its parents that this build wrote, whichever worker wrote
// them, in a first build (the views do not exist yet; the parents' rows are kept in memory) and
// in a rebuild (views exist, over the previous build's files, and are pointed at the kept rows).
// A view in the middle (mid_v) reads tables the other worker may have written.
TEST_F(ModelBuilderTest, WorkersReadWhatOtherWorkersWroteInTheSameBuild) {
  const int width = 4;
  for (int i = 0; i < width; ++i) {
    const std::string n = std::to_string(i), next = std::to_string((i + 1) % width);
    Write("models/chain/chain_a" + n + ".sql",
          "{{ config(materialized='table') }}\nselect sum(amount) + " + n +
              " as v from {{ ref('stg_orders') }}");
    Write("models/chain/chain_b" + n + ".sql",
          "{{ config(materialized='table') }}\nselect a.v + b.v as v from {{ ref('chain_a" + n +
              "') }} a, {{ ref('chain_a" + next + "') }} b");
    Write("models/chain/chain_c" + n + ".sql",
          "{{ config(materialized='table') }}\nselect a.v + b.v + m.v as v from {{ ref('chain_b" +
              n + "') }} a, {{ ref('chain_b" + next + "') }} b, {{ ref('mid_v') }} m");
  }
  Write("models/chain/mid_v.sql",
        "{{ config(materialized='view') }}\nselect sum(v) as v from (select v from "
        "{{ ref('chain_b0') }} union all select v from {{ ref('chain_a3') }})");
  // The chain_c values for a source whose positive amounts sum to `total`.
  auto expected = [&](double total) {
    std::vector<double> a(width), b(width);
    for (int i = 0; i < width; ++i) a[i] = total + i;
    for (int i = 0; i < width; ++i) b[i] = a[i] + a[(i + 1) % width];
    const double mid = b[0] + a[3];
    std::string out;
    for (int i = 0; i < width; ++i) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.1f\n", b[i] + b[(i + 1) % width] + mid);
      out += buf;
    }
    return out;
  };
  const std::string query =
      "SELECT v FROM silver.chain_c0 UNION ALL SELECT v FROM silver.chain_c1 UNION ALL "
      "SELECT v FROM silver.chain_c2 UNION ALL SELECT v FROM silver.chain_c3";
  std::string out = BuildAll();
  ASSERT_EQ(out.find("error"), std::string::npos) << out;
  EXPECT_EQ(Query(query), expected(22.5));

  Exec(
      "CREATE OR REPLACE TABLE src AS SELECT 7 AS id, 'eve' AS customer, 90.0 AS amount, "
      "DATE '2026-01-05' AS day");
  auto orders = lake_->OpenTable(*lake::ParseTableName("silver.orders"));
  ASSERT_TRUE(orders.ok());
  ASSERT_TRUE((*orders)->Append("SELECT * FROM src", lake_->NewWriteOptions()).ok());
  ASSERT_TRUE(lake_->RefreshView(*lake::ParseTableName("silver.orders")).ok());
  out = BuildAll();
  ASSERT_EQ(out.find("error"), std::string::npos) << out;
  EXPECT_EQ(Query(query), expected(112.5));
}

}  // namespace
}  // namespace dew::transform
