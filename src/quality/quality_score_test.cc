#include "quality/quality_score.h"

#include <gtest/gtest.h>

namespace dew::quality {
namespace {

control::TestResultRecord Check(const std::string& target, const std::string& severity,
                                const std::string& status) {
  control::TestResultRecord r;
  r.target = target;
  r.severity = severity;
  r.status = status;
  return r;
}

TEST(QualityScoreTest, ChecksAreWeightedBySeverity) {
  EXPECT_EQ(SeverityWeight("error"), 3);
  EXPECT_EQ(SeverityWeight("warn"), 1);
  EXPECT_EQ(SeverityWeight(""), 3);  // error is the default severity
  // stg_orders: two error checks pass, one warn check warns: (3 + 3) / (3 + 3 + 1) = 6/7.
  // gold: an error check fails, a warn check passes: 1 / 4.
  auto scores = ScoreRun("r1", 42,
                         {Check("stg_orders", "error", "pass"),
                          Check("stg_orders", "error", "pass"), Check("stg_orders", "warn", "warn"),
                          Check("gold", "error", "fail"), Check("gold", "warn", "pass")},
                         {});
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0].target, "gold");
  EXPECT_EQ(scores[0].passed_weight, 1);
  EXPECT_EQ(scores[0].total_weight, 4);
  EXPECT_DOUBLE_EQ(scores[0].score(), 0.25);
  EXPECT_EQ(scores[0].checks, 2);
  EXPECT_EQ(scores[0].failed, 1);
  EXPECT_EQ(scores[1].target, "stg_orders");
  EXPECT_DOUBLE_EQ(scores[1].score(), 6.0 / 7.0);
  EXPECT_EQ(scores[1].run_id, "r1");
  EXPECT_EQ(scores[1].at_ms, 42);
}

TEST(QualityScoreTest, AnyStatusButPassCountsAgainst) {
  auto scores = ScoreRun("r", 0,
                         {Check("t", "error", "error"), Check("t", "error", "warn"),
                          Check("t", "warn", "fail"), Check("t", "warn", "pass")},
                         {});
  ASSERT_EQ(scores.size(), 1u);
  EXPECT_EQ(scores[0].passed_weight, 1);
  EXPECT_EQ(scores[0].total_weight, 8);
  EXPECT_EQ(scores[0].failed, 3);
}

TEST(QualityScoreTest, UpstreamListsEveryAncestorNearestFirst) {
  // gold reads int and seed; int reads stg; stg reads a source; a diamond through seed.
  UpstreamMap up = {{"gold", {"int", "seed"}},
                    {"int", {"stg", "seed"}},
                    {"stg", {"source:erp.orders"}},
                    {"loop_a", {"loop_b"}},
                    {"loop_b", {"loop_a"}}};
  EXPECT_EQ(Ancestors("gold", up),
            (std::vector<std::string>{"int", "seed", "stg", "source:erp.orders"}));
  EXPECT_EQ(Ancestors("loop_a", up), (std::vector<std::string>{"loop_b"}));
  EXPECT_TRUE(Ancestors("source:erp.orders", up).empty());
  auto scores = ScoreRun("r", 0, {Check("int", "error", "pass")}, up);
  ASSERT_EQ(scores.size(), 1u);
  EXPECT_EQ(scores[0].upstream_json, R"(["stg","seed","source:erp.orders"])");
}

}  // namespace
}  // namespace dew::quality
