#include "connectors/request_budget.h"

#include <gtest/gtest.h>

#include "core/clock.h"

namespace dew::connectors {
namespace {

TEST(RequestBudgetTest, PacesToRequestsPerMinute) {
  ManualClock clock(1000000);
  RequestBudget budget({/*requests_per_minute=*/2, /*max_requests=*/0}, &clock);
  ASSERT_TRUE(budget.Acquire());
  clock.Advance(10000);
  ASSERT_TRUE(budget.Acquire());
  EXPECT_EQ(clock.NowMillis(), 1010000);
  // The third request waits until the first leaves the one-minute window.
  ASSERT_TRUE(budget.Acquire());
  EXPECT_EQ(clock.NowMillis(), 1060000);
  ASSERT_TRUE(budget.Acquire());
  EXPECT_EQ(clock.NowMillis(), 1070000);
  EXPECT_EQ(budget.used(), 4);
}

TEST(RequestBudgetTest, StopsAtMaxRequestsWithoutWaiting) {
  ManualClock clock(0);
  RequestBudget budget({0, 3}, &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(budget.Acquire());
  EXPECT_TRUE(budget.exhausted());
  EXPECT_FALSE(budget.Acquire());
  EXPECT_EQ(budget.used(), 3);
  EXPECT_EQ(clock.NowMillis(), 0);
  EXPECT_NE(budget.ExhaustedMessage().find("3 requests"), std::string::npos);
}

TEST(RequestBudgetTest, WaitsForTheServersQuotaReset) {
  ManualClock clock(1767225600000);
  RequestBudget budget({0, 0}, &clock);
  HttpResponse r;
  r.status = 200;
  r.headers = {{"X-RateLimit-Remaining", "0"}, {"X-RateLimit-Reset", "30"}};
  budget.Observe(r);
  ASSERT_TRUE(budget.Acquire());
  EXPECT_EQ(clock.NowMillis(), 1767225600000 + 30000);
  // A Unix time (GitHub's style) waits until then.
  r.headers = {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", "1767225700"}};
  budget.Observe(r);
  ASSERT_TRUE(budget.Acquire());
  EXPECT_EQ(clock.NowMillis(), 1767225700000);
  // Quota left: no wait.
  r.headers = {{"X-RateLimit-Remaining", "5"}, {"X-RateLimit-Reset", "30"}};
  budget.Observe(r);
  ASSERT_TRUE(budget.Acquire());
  EXPECT_EQ(clock.NowMillis(), 1767225700000);
}

TEST(RequestBudgetTest, ParsesRetryAfterSecondsAndHttpDates) {
  const int64_t now = 1445412480000;  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), 120000);
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), 0);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now), 30000);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), 0);  // in the past
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("-5", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("", now).has_value());
}

}  // namespace
}  // namespace dew::connectors
