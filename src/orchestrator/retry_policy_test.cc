#include "orchestrator/retry_policy.h"

#include <gtest/gtest.h>

namespace dew::orchestrator {
namespace {

TEST(RetryPolicyTest, RetriesUpToCount) {
  RetryPolicy p;
  p.count = 2;
  EXPECT_TRUE(ShouldRetry(p, 1));
  EXPECT_TRUE(ShouldRetry(p, 2));
  EXPECT_FALSE(ShouldRetry(p, 3));
  EXPECT_FALSE(ShouldRetry(RetryPolicy{}, 1));
}

TEST(RetryPolicyTest, CapDoublesUntilMaxDelay) {
  RetryPolicy p;
  p.backoff_ms = 2000;
  p.max_delay_ms = 60000;
  EXPECT_EQ(BackoffCapMs(p, 1), 2000);
  EXPECT_EQ(BackoffCapMs(p, 2), 4000);
  EXPECT_EQ(BackoffCapMs(p, 5), 32000);
  EXPECT_EQ(BackoffCapMs(p, 6), 60000);
  EXPECT_EQ(BackoffCapMs(p, 1000), 60000);  // no overflow
}

TEST(RetryPolicyTest, JitterStaysWithinTheCapAndVaries) {
  RetryPolicy p;
  p.backoff_ms = 1000;
  p.max_delay_ms = 5000;
  std::mt19937_64 rng(7);
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 200; ++i) {
    const int64_t d = JitteredDelayMs(p, 3, rng);
    ASSERT_GE(d, 0);
    ASSERT_LE(d, 4000);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  EXPECT_LT(lo, 1000);
  EXPECT_GT(hi, 3000);
  p.backoff_ms = 0;
  EXPECT_EQ(JitteredDelayMs(p, 1, rng), 0);
}

}  // namespace
}  // namespace dew::orchestrator
