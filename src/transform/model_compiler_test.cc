#include "transform/model_compiler.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/file_system.h"

namespace dew::transform {
namespace {

class ModelCompilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_models_XXXXXX";
    root_ = mkdtemp(tmpl);
    fs_ = FileSystem::Posix();
    Write("dew.yml",
          "name: shop\n"
          "vars: {start_date: '2026-01-01'}\n"
          "models:\n"
          "  staging: {+materialized: view, +layer: silver, +tags: [staging]}\n"
          "  marts:\n"
          "    +materialized: table\n"
          "    +layer: gold\n");
    Write("models/sources.yml",
          "version: 2\n"
          "sources:\n"
          "  - name: odoo\n"
          "    tables:\n"
          "      - name: sale_order\n"
          "        columns:\n"
          "          - name: id\n"
          "            tests: [not_null, unique]\n");
    Write("models/staging/stg_orders.sql",
          "select id, amount, order_date from {{ source('odoo', 'sale_order') }}\n"
          "where order_date >= '{{ var(\"start_date\") }}'\n");
    Write("models/staging/stg_countries.sql", "select * from {{ ref('countries') }}\n");
    Write("models/marts/gold_sales_daily.sql",
          "{{ config(materialized='incremental', unique_key='order_date') }}\n"
          "select order_date, sum(amount) as amount from {{ ref('stg_orders') }}\n"
          "{% if is_incremental() %}where order_date > (select max(order_date) from {{ this }})"
          "{% endif %}\ngroup by 1\n");
    Write("models/marts/schema.yml",
          "models:\n"
          "  - name: gold_sales_daily\n"
          "    config: {tags: [finance]}\n"
          "    columns:\n"
          "      - name: order_date\n"
          "        tests: [not_null, {accepted_values: {values: [1, 2], severity: warn}}]\n");
    Write("seeds/countries.csv", "code,name\nPH,Philippines\n");
  }
  void TearDown() override { (void)fs_->RemoveAll(root_); }
  void Write(const std::string& rel, const std::string& text) {
    std::string path = root_ + "/" + rel;
    ASSERT_TRUE(fs_->CreateDirs(path.substr(0, path.rfind('/'))).ok());
    ASSERT_TRUE(fs_->WriteFile(path, text).ok());
  }
  Result<CompiledProject> Compile(CompileOptions options = {}) {
    DEW_ASSIGN_OR_RETURN(project_, ModelProject::Load(*fs_, root_));
    return CompileProject(project_, options);
  }

  std::string root_;
  std::shared_ptr<FileSystem> fs_;
  ModelProject project_;
};

TEST_F(ModelCompilerTest, RendersRefsSourcesVarsConfigAndOrdersByDependency) {
  auto c = Compile();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::vector<std::string> order;
  for (const auto& m : c->models()) order.push_back(m.name);
  auto pos = [&](const std::string& n) {
    return std::find(order.begin(), order.end(), n) - order.begin();
  };
  EXPECT_LT(pos("stg_orders"), pos("gold_sales_daily"));
  const CompiledModel* stg = c->Find("stg_orders");
  ASSERT_NE(stg, nullptr);
  EXPECT_EQ(stg->sql,
            "select id, amount, order_date from bronze.raw_odoo_sale_order\n"
            "where order_date >= '2026-01-01'\n");
  EXPECT_EQ(stg->relation, "silver.stg_orders");
  EXPECT_EQ(stg->config.tags, std::vector<std::string>{"staging"});
  const CompiledModel* gold = c->Find("gold_sales_daily");
  EXPECT_EQ(gold->relation, "gold.gold_sales_daily");
  EXPECT_EQ(gold->config.materialized, "incremental");
  EXPECT_EQ(gold->config.unique_key, std::vector<std::string>{"order_date"});
  EXPECT_EQ(gold->config.tags, std::vector<std::string>{"finance"});
  EXPECT_EQ(gold->sql.find("where order_date >"), std::string::npos);  // table absent
  EXPECT_EQ(gold->model_refs, std::vector<std::string>{"stg_orders"});
  EXPECT_EQ(c->Find("stg_countries")->seed_refs, std::vector<std::string>{"countries"});
  ASSERT_EQ(gold->def->tests.size(), 2u);
  EXPECT_EQ(gold->def->tests[1].name, "accepted_values");
  EXPECT_EQ(gold->def->tests[1].severity, "warn");
  EXPECT_EQ(gold->def->tests[1].column, "order_date");
  ASSERT_EQ(project_.sources().size(), 1u);
  EXPECT_EQ(project_.sources()[0].tests.size(), 2u);
}

TEST_F(ModelCompilerTest, IsIncrementalWhenTheTableExists) {
  CompileOptions o;
  o.relation_exists = [](const std::string& r) { return r == "gold.gold_sales_daily"; };
  auto c = Compile(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_NE(
      c->Find("gold_sales_daily")
          ->sql.find("where order_date > (select max(order_date) from gold.gold_sales_daily)"),
      std::string::npos);
  o.full_refresh = true;
  c = Compile(o);
  EXPECT_EQ(c->Find("gold_sales_daily")->sql.find("where order_date >"), std::string::npos);
}

TEST_F(ModelCompilerTest, VarsCanBeOverridden) {
  CompileOptions o;
  o.vars = {{"start_date", "2026-10-01"}};
  auto c = Compile(o);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->Find("stg_orders")->sql.find("'2026-10-01'"), std::string::npos);
}

TEST_F(ModelCompilerTest, Selectors) {
  Write("models/marts/gold_sales_monthly.sql", "select * from {{ ref('gold_sales_daily') }}\n");
  auto c = Compile();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto sel = [&](const std::string& s, const std::string& x = "") {
    auto r = c->Select(s, x);
    if (!r.ok()) return std::vector<std::string>{r.status().message()};
    return *r;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(sel("gold_sales_daily"), V{"gold_sales_daily"});
  EXPECT_EQ(sel("+gold_sales_daily"), (V{"stg_orders", "gold_sales_daily"}));
  EXPECT_EQ(sel("stg_orders+"), (V{"stg_orders", "gold_sales_daily", "gold_sales_monthly"}));
  EXPECT_EQ(sel("stg_orders+1"), (V{"stg_orders", "gold_sales_daily"}));
  EXPECT_EQ(sel("tag:staging"), (V{"stg_orders", "stg_countries"}));  // dependency order
  EXPECT_EQ(sel("path:models/marts"), (V{"gold_sales_daily", "gold_sales_monthly"}));
  EXPECT_EQ(sel("tag:staging,stg_o*"), V{"stg_orders"});
  EXPECT_EQ(sel("source:odoo+", "gold_sales_monthly"), (V{"stg_orders", "gold_sales_daily"}));
  EXPECT_EQ(sel("@gold_sales_daily"), (V{"stg_orders", "gold_sales_daily", "gold_sales_monthly"}));
  EXPECT_EQ(sel("nosuch"), V{"selector 'nosuch' matches no model"});
}

TEST_F(ModelCompilerTest, ErrorsNameTheModelAndPlace) {
  Write("models/staging/bad.sql", "select 1\nfrom {{ ref('stg_ordrs') }}");
  auto c = Compile();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "models/staging/bad.sql:2:9: unknown ref 'stg_ordrs': no model or seed has that "
            "name (did you mean 'stg_orders'?)");
  Write("models/staging/bad.sql", "select {{ var('missing') }}");
  c = Compile();
  EXPECT_NE(c.status().message().find("models/staging/bad.sql:1:11: var 'missing' is not set"),
            std::string::npos)
      << c.status().message();
  Write("models/staging/bad.sql", "{% if true %}select 1");
  c = Compile();
  EXPECT_EQ(c.status().message(),
            "models/staging/bad.sql:1:1: '{% if %}' is never closed with '{% endif %}'");
  Write("models/staging/bad.sql", "{{ config(materialized='tabel') }}select 1");
  c = Compile();
  EXPECT_NE(c.status().message().find(
                "config(materialized=…): 'tabel' is not valid (did you mean 'table'?)"),
            std::string::npos)
      << c.status().message();
}

TEST_F(ModelCompilerTest, ADewYmlWithoutModelDefaultsIsFine) {
  Write("dew.yml", "name: shop\nvars: {start_date: '2026-01-01'}\n");
  auto c = Compile();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->Find("gold_sales_daily")->relation, "silver.gold_sales_daily");
}

TEST_F(ModelCompilerTest, CyclesAreReportedWithTheirPath) {
  Write("models/a.sql", "select * from {{ ref('b') }}");
  Write("models/b.sql", "select * from {{ ref('c') }}");
  Write("models/c.sql", "select * from {{ ref('a') }}");
  auto c = Compile();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "models/a.sql: cycle: a -> b -> c -> a");
}

TEST_F(ModelCompilerTest, PropertiesErrorsNameFileLineAndField) {
  Write("models/marts/schema.yml", "models:\n  - name: gold_sales_daly\n");
  auto c = Compile();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "models/marts/schema.yml:2:11: models.name: no model 'gold_sales_daly' (no "
            "models/**/gold_sales_daly.sql) (did you mean 'gold_sales_daily'?)");
  Write("models/marts/schema.yml",
        "models:\n  - name: gold_sales_daily\n    columns:\n      - name: x\n        tests: "
        "[not_nul]\n");
  c = Compile();
  EXPECT_EQ(c.status().message(),
            "models/marts/schema.yml:5:17: gold_sales_daily.columns[0].tests[0]: unknown test "
            "'not_nul' (did you mean 'not_null'?) (a test of your own is a {% test "
            "not_nul(model, column_name) %} block in macros/)");
}

TEST_F(ModelCompilerTest, MacrosFromTheMacrosFolder) {
  Write("macros/util/keys.sql",
        "{% macro key(cols) %}{{ cols | join(\" || '-' || \") }}{% endmacro %}\n"
        "{% macro upstream() %}{{ ref('stg_orders') }}{% endmacro %}");
  Write("models/k.sql", "select {{ key(['id', 'order_date']) }} as k from {{ upstream() }}");
  auto c = Compile();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->Find("k")->sql, "select id || '-' || order_date as k from silver.stg_orders");
  // A ref() made inside a macro is the model's dependency like its own.
  EXPECT_EQ(c->Find("k")->model_refs, std::vector<std::string>{"stg_orders"});
  EXPECT_EQ(project_.macros().at("key").file(), "macros/util/keys.sql");

  // A generic test of the project's own: {% test %} is the macro test_<name>.
  Write("macros/tests.sql",
        "{% test at_least(model, column_name, min=0) %}select * from {{ model }} where "
        "{{ column_name }} < {{ min }}{% endtest %}");
  c = Compile();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  RenderEnvironment env{&project_, &*c, nlohmann::json::object()};
  auto sql = RenderGenericTest("at_least", "silver.k", "amount", {{"min", 5}}, env);
  ASSERT_TRUE(sql.ok()) << sql.status().ToString();
  EXPECT_EQ(*sql, "select * from silver.k where amount < 5");
  sql = RenderGenericTest("at_least", "silver.k", "amount", {{"max", 5}}, env);
  EXPECT_EQ(sql.status().message(), "macro 'test_at_least' has no parameter 'max'");
  sql = RenderGenericTest("at_most", "silver.k", "amount", {}, env);
  EXPECT_EQ(sql.status().message(), "no test 'at_most' ({% test at_most(…) %} in macros/)");
  (void)fs_->RemoveAll(root_ + "/macros/tests.sql");

  Write("macros/more.sql", "{% macro key(c) %}{{ c }}{% endmacro %}");
  c = Compile();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "macros/util/keys.sql: macro 'key' is also defined in macros/more.sql (macro names "
            "must be unique)");
  Write("macros/more.sql", "{% macro ref(m) %}{{ m }}{% endmacro %}");
  c = Compile();
  EXPECT_EQ(c.status().message(),
            "macros/more.sql: macro 'ref' would hide dew's built-in ref(); give it another name");
  Write("macros/more.sql", "{% macro other() %}{{ 1 + }}{% endmacro %}");
  c = Compile();
  EXPECT_EQ(c.status().message(),
            "macros/more.sql:1:27: expected an expression, got the end of the expression");
}

}  // namespace
}  // namespace dew::transform
