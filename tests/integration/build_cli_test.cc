// dew seed / build / compile / test through the real binary on a small dbt-style project.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "core/file_system.h"
#include "support/dew_process.h"

namespace dew {
namespace {

using testing::RunDew;

class BuildCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_buildcli_XXXXXX";
    dir_ = mkdtemp(tmpl);
    scratch_ = dir_ + "/.scratch";
    fs_ = FileSystem::Posix();
    ASSERT_TRUE(fs_->CreateDirs(scratch_).ok());
    auto init = Dew({"init", "shop"});
    ASSERT_EQ(init.code, 0) << init.err;
    root_ = dir_ + "/shop";
    Write("dew.yml",
          "name: shop\nvars: {min_amount: 0}\nmodels:\n"
          "  staging: {+materialized: view}\n  marts: {+materialized: table, +layer: gold}\n");
    Write("seeds/customers.csv", "id,name,segment\n1,Ana,retail\n2,Ben,wholesale\n3,Cy,retail\n");
    Write("seeds/orders.csv",
          "id,customer_id,amount,status\n1,1,10.5,paid\n2,2,20,paid\n3,3,7,refunded\n4,9,3,paid\n");
    Write("models/staging/stg_orders.sql",
          "select id, customer_id, amount, status from {{ ref('orders') }}\n"
          "where amount > {{ var('min_amount') }}\n");
    Write("models/marts/gold_sales_by_segment.sql",
          "select c.segment, sum(o.amount) as amount\n"
          "from {{ ref('stg_orders') }} o join {{ ref('customers') }} c on c.id = o.customer_id\n"
          "group by 1\n");
    Write("models/schema.yml",
          "models:\n"
          "  - name: stg_orders\n"
          "    columns:\n"
          "      - name: id\n"
          "        tests: [not_null, unique]\n"
          "      - name: customer_id\n"
          "        tests:\n"
          "          - relationships: {to: \"ref('customers')\", field: id, severity: warn}\n"
          "  - name: gold_sales_by_segment\n"
          "    columns:\n"
          "      - name: segment\n"
          "        tests: [{accepted_values: {values: [retail, wholesale]}}]\n");
    Write("tests/assert_no_negative_sales.sql",
          "select * from {{ ref('gold_sales_by_segment') }} where amount < 0\n");
  }
  void TearDown() override { (void)fs_->RemoveAll(dir_); }
  void Write(const std::string& rel, const std::string& text) {
    const std::string path = root_ + "/" + rel;
    ASSERT_TRUE(fs_->CreateDirs(path.substr(0, path.rfind('/'))).ok());
    ASSERT_TRUE(fs_->WriteFile(path, text).ok());
  }
  testing::DewRun Dew(const std::vector<std::string>& args) {
    return RunDew(root_.empty() ? dir_ : root_, args, scratch_);
  }

  std::string dir_, scratch_, root_;
  std::shared_ptr<FileSystem> fs_;
};

TEST_F(BuildCliTest, BuildsSeedsModelsAndTestsThenQueriesTheResult) {
  auto build = Dew({"build"});
  ASSERT_EQ(build.code, 0) << build.out << build.err;
  EXPECT_NE(build.out.find("seed silver.customers: 3 rows"), std::string::npos) << build.out;
  EXPECT_NE(build.out.find("OK       silver.stg_orders view"), std::string::npos) << build.out;
  EXPECT_NE(build.out.find("OK       gold.gold_sales_by_segment table"), std::string::npos)
      << build.out;
  EXPECT_NE(build.out.find("WARN  relationships_stg_orders_customer_id"), std::string::npos)
      << build.out;
  EXPECT_NE(build.out.find("PASS  assert_no_negative_sales"), std::string::npos) << build.out;
  EXPECT_NE(build.out.find("done: 2 built, 0 failed, 0 skipped, 0 test failures"),
            std::string::npos);
  auto q = Dew({"--format", "csv", "sql",
                "SELECT segment, amount FROM gold.gold_sales_by_segment ORDER BY 1"});
  ASSERT_EQ(q.code, 0) << q.err;
  EXPECT_EQ(q.out, "segment,amount\nretail,17.5\nwholesale,20\n");

  auto compiled = Dew({"compile", "--select", "stg_orders", "--vars", "{\"min_amount\": 8}"});
  ASSERT_EQ(compiled.code, 0) << compiled.err;
  EXPECT_NE(compiled.out.find("from silver.orders\nwhere amount > 8"), std::string::npos)
      << compiled.out;

  auto tests = Dew({"test"});
  EXPECT_EQ(tests.code, 0) << tests.out << tests.err;
}

TEST_F(BuildCliTest, AFailingTestFailsTheBuildAndSkipsDownstream) {
  Write("seeds/orders.csv", "id,customer_id,amount,status\n1,1,10.5,paid\n1,2,20,paid\n");
  auto build = Dew({"build"});
  EXPECT_EQ(build.code, 1);
  EXPECT_NE(build.out.find("FAIL  unique_stg_orders_id"), std::string::npos) << build.out;
  EXPECT_NE(build.out.find("ERROR    silver.stg_orders view"), std::string::npos) << build.out;
  EXPECT_NE(build.out.find("SKIP     gold.gold_sales_by_segment"), std::string::npos) << build.out;
  EXPECT_NE(build.err.find("build failed: 1 models failed"), std::string::npos) << build.err;
}

TEST_F(BuildCliTest, CompileErrorsNameTheFileAndLine) {
  Write("models/marts/gold_sales_by_segment.sql", "select 1\nfrom {{ ref('stg_order') }}\n");
  auto build = Dew({"build"});
  EXPECT_EQ(build.code, 1);
  EXPECT_NE(build.err.find("models/marts/gold_sales_by_segment.sql:2:9: unknown ref 'stg_order'"),
            std::string::npos)
      << build.err;
}

}  // namespace
}  // namespace dew
