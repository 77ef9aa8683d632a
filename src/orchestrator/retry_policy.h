// Retry timing for failed task attempts: exponential backoff with full jitter, capped.
//
// Full jitter (a uniform delay between 0 and the capped exponential) spreads the retries of many
// tasks that failed together (a database restart) instead of sending them back in one wave.
#pragma once

#include <cstdint>
#include <random>

#include "orchestrator/pipeline_spec.h"

namespace dew::orchestrator {

//! Whether a task whose attempt number `failed_attempt` (1-based) failed gets another attempt.
bool ShouldRetry(const RetryPolicy& policy, int failed_attempt);

//! The upper bound of the delay after attempt `failed_attempt` failed:
//! min(backoff * 2^(failed_attempt-1), max_delay), without overflow for large attempt numbers.
int64_t BackoffCapMs(const RetryPolicy& policy, int failed_attempt);

//! A delay drawn uniformly from [0, BackoffCapMs] with `rng`. Not thread-safe (the rng is not).
int64_t JitteredDelayMs(const RetryPolicy& policy, int failed_attempt, std::mt19937_64& rng);

}  // namespace dew::orchestrator
