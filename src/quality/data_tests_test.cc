#include "quality/data_tests.h"

#include <gtest/gtest.h>

#include "support/scratch_lake.h"

namespace dew::quality {
namespace {

class DataTestTest : public testing::ScratchLakeTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenLake("run-q"));
    Create("silver.customers", "SELECT * FROM (VALUES (1, 'PH'), (2, 'SG')) t(id, country)");
    Create("silver.orders",
           "SELECT * FROM (VALUES (1, 1, 'paid', 10.0, TIMESTAMP '2025-12-31 20:00:00'), "
           "(2, 2, 'open', -5.0, TIMESTAMP '2025-12-31 21:00:00'), "
           "(2, 9, 'lost', 3.0, TIMESTAMP '2025-12-31 22:00:00'), "
           "(4, NULL, 'paid', 1.0, TIMESTAMP '2025-12-31 23:00:00')) "
           "t(id, customer_id, status, amount, loaded_at)");
  }
  TestOutcome Run(const std::string& name, const std::string& column, nlohmann::json args,
                  const std::string& severity = "error", const std::string& action = "") {
    transform::TestSpec spec;
    spec.name = name;
    spec.column = column;
    spec.args = std::move(args);
    spec.severity = severity;
    spec.action = action;
    spec.position = "models/schema.yml:3:9";
    auto resolve = [](const std::string& e) -> Result<std::string> {
      if (e == "ref('customers')") return std::string("silver.customers");
      return Status::InvalidArgument("unknown relation " + e);
    };
    auto compiled = CompileTest(spec, "orders", "silver.orders", resolve, 1767225600000);
    if (!compiled.ok()) {
      TestOutcome o;
      o.status = "compile-error";
      o.message = compiled.status().message();
      return o;
    }
    return RunTest(*compiled, lake_.get(), history_);
  }

  VolumeHistory history_;  // none unless a test sets one
};

TEST_F(DataTestTest, GenericTestsFindTheFailingRows) {
  EXPECT_EQ(Run("not_null", "customer_id", {}).failures, 1);
  EXPECT_EQ(Run("not_null", "id", {}).status, "pass");
  TestOutcome unique = Run("unique", "id", {});
  EXPECT_EQ(unique.status, "fail");
  EXPECT_EQ(unique.failures, 1);
  EXPECT_NE(unique.message.find("id=2, n=2"), std::string::npos) << unique.message;
  EXPECT_EQ(Run("accepted_values", "status", {{"values", {"paid", "open"}}}).failures, 1);
  EXPECT_EQ(
      Run("relationships", "customer_id", {{"to", "ref('customers')"}, {"field", "id"}}).failures,
      1);
  EXPECT_EQ(Run("range", "amount", {{"min", 0}}).failures, 1);
  EXPECT_EQ(Run("range", "amount", {{"min", -10}, {"max", 100}}).status, "pass");
  EXPECT_EQ(Run("regex", "status", {{"pattern", "(paid|open)"}}).failures, 1);
  EXPECT_EQ(Run("expression", "", {{"expression", "amount * 2 > 0"}}).failures, 1);
  EXPECT_EQ(Run("row_count", "", {{"min", 5}}).failures, 1);
  EXPECT_EQ(Run("row_count", "", {{"min", 1}, {"max", 4}}).status, "pass");
  // Loaded 1 h before "now" (2026-01-01 00:00): fresh within 2 h, stale within 30 min.
  EXPECT_EQ(
      Run("freshness", "",
          {{"loaded_at_field", "loaded_at"}, {"error_after", {{"count", 2}, {"period", "hour"}}}})
          .status,
      "pass");
  TestOutcome stale = Run(
      "freshness", "",
      {{"loaded_at_field", "loaded_at"}, {"warn_after", {{"count", 30}, {"period", "minute"}}}});
  EXPECT_EQ(stale.status, "warn");
}

TEST_F(DataTestTest, SeverityWarnDoesNotFail) {
  TestOutcome o = Run("not_null", "customer_id", {}, "warn");
  EXPECT_EQ(o.status, "warn");
  EXPECT_EQ(o.failures, 1);
}

TEST_F(DataTestTest, BadArgumentsNameTheTestAndPlace) {
  EXPECT_EQ(Run("accepted_values", "status", {}).message,
            "models/schema.yml:3:9: test accepted_values on orders.status: needs values: [a list "
            "of accepted values]");
  EXPECT_EQ(Run("relationships", "customer_id", {{"to", "ref('nope')"}, {"field", "id"}}).message,
            "models/schema.yml:3:9: test relationships on orders.customer_id: to: unknown "
            "relation ref('nope')");
  EXPECT_EQ(Run("unique", "id", {}, "error", "quarantine").message,
            "models/schema.yml:3:9: test unique on orders.id: action: quarantine needs a "
            "row-level test (not unique)");
}

TEST_F(DataTestTest, QuarantineMovesFailingRowsWithTheReason) {
  TestOutcome o =
      Run("accepted_values", "status", {{"values", {"paid", "open"}}}, "error", "quarantine");
  EXPECT_EQ(o.status, "warn") << o.message;
  EXPECT_EQ(o.quarantined, 1);
  auto left = lake_->connection().QueryScalar("SELECT count(*) FROM silver.orders");
  EXPECT_EQ(**left, "3");
  auto q = lake_->connection().QueryText(
      "SELECT id, status, _dew_test, _dew_reason, _dew_run_id FROM silver.orders__quarantine");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->rows.size(), 1u);
  EXPECT_EQ(*q->rows[0][1], "lost");
  EXPECT_EQ(*q->rows[0][2], "accepted_values_orders_status");
  EXPECT_EQ(*q->rows[0][3], "accepted_values failed on status");
  EXPECT_EQ(*q->rows[0][4], "run-q");
  // Run again: nothing left to quarantine.
  EXPECT_EQ(Run("accepted_values", "status", {{"values", {"paid", "open"}}}, "error", "quarantine")
                .status,
            "pass");
}

TEST_F(DataTestTest, RowCountFailsOnAVolumeDropAgainstTheTrailingRuns) {
  std::string asked;
  int asked_limit = 0;
  std::vector<int64_t> earlier = {8, 9, 7};  // newest first; orders has 4 rows
  history_ = [&](const std::string& test_id, int limit) -> Result<std::vector<int64_t>> {
    asked = test_id;
    asked_limit = limit;
    return earlier;
  };
  TestOutcome drop = Run("row_count", "", {{"trailing", 3}});
  EXPECT_EQ(asked, "row_count_orders");
  EXPECT_EQ(asked_limit, 3);
  EXPECT_EQ(drop.status, "fail");
  EXPECT_EQ(drop.observed, std::optional<int64_t>(4));
  EXPECT_EQ(drop.message,
            "volume anomaly in silver.orders: row count 4 is outside 6.4..9.6 (mean 8 of the "
            "last 3 runs, ±20%)");
  EXPECT_EQ(Run("row_count", "", {}, "warn").status, "warn");

  earlier = {4, 5, 4, 3};
  TestOutcome steady = Run("row_count", "", {{"tolerance", 0.5}});
  EXPECT_EQ(steady.status, "pass");
  EXPECT_EQ(steady.message, "row count 4 is within 2..6 (mean 4 of the last 4 runs, ±50%)");

  earlier = {};
  TestOutcome first = Run("row_count", "", {});
  EXPECT_EQ(first.status, "pass");
  EXPECT_EQ(first.observed, std::optional<int64_t>(4));
  EXPECT_EQ(first.message, "row count 4 recorded; no earlier run to compare with");

  // min/max and the anomaly both speak; switched off, only min/max.
  earlier = {8, 8};
  TestOutcome both = Run("row_count", "", {{"min", 5}});
  EXPECT_NE(both.message.find("4 rows in silver.orders, fewer than min 5; volume anomaly"),
            std::string::npos)
      << both.message;
  EXPECT_EQ(Run("row_count", "", {{"max", 10}, {"volume_anomaly", false}}).status, "pass");

  history_ = [](const std::string&, int) -> Result<std::vector<int64_t>> {
    return Status::IOError("control store gone");
  };
  TestOutcome broken = Run("row_count", "", {});
  EXPECT_EQ(broken.status, "error");
  EXPECT_NE(broken.message.find("control store gone"), std::string::npos);
}

TEST_F(DataTestTest, RowCountArgumentsAreChecked) {
  EXPECT_EQ(Run("row_count", "", {{"tolerance", -1}}).message,
            "models/schema.yml:3:9: test row_count on orders: tolerance: expected a number > 0 "
            "(0.2 allows ±20%), got -1");
  EXPECT_EQ(Run("row_count", "", {{"trailing", 0}}).status, "compile-error");
  EXPECT_EQ(
      Run("row_count", "", {{"min", "five"}}).message,
      "models/schema.yml:3:9: test row_count on orders: min: expected a number, got \"five\"");
  EXPECT_EQ(Run("row_count", "", {{"volume_anomaly", false}}).status, "compile-error");
  // Without history (dew test outside a run), the volume check is skipped.
  EXPECT_EQ(Run("row_count", "", {}).status, "pass");
}

}  // namespace
}  // namespace dew::quality
