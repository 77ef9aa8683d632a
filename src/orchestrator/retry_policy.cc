#include "orchestrator/retry_policy.h"

#include <algorithm>

namespace dew::orchestrator {

bool ShouldRetry(const RetryPolicy& policy, int failed_attempt) {
  return failed_attempt >= 1 && failed_attempt <= policy.count;
}

int64_t BackoffCapMs(const RetryPolicy& policy, int failed_attempt) {
  const int64_t base = std::max<int64_t>(policy.backoff_ms, 0);
  const int64_t cap = std::max<int64_t>(policy.max_delay_ms, 0);
  int64_t delay = base;
  for (int i = 1; i < failed_attempt && delay < cap; ++i) {
    delay = delay > cap / 2 ? cap : delay * 2;
  }
  return std::min(delay, cap);
}

int64_t JitteredDelayMs(const RetryPolicy& policy, int failed_attempt, std::mt19937_64& rng) {
  const int64_t cap = BackoffCapMs(policy, failed_attempt);
  if (cap <= 0) return 0;
  std::uniform_int_distribution<int64_t> pick(0, cap);
  return pick(rng);
}

}  // namespace dew::orchestrator
