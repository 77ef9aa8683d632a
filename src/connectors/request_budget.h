// RequestBudget: the quota side of a REST connection. It paces requests to a rate
// (requests_per_minute), counts them against a per-sync ceiling (max_requests) so a sync stops
// cleanly instead of burning an API's daily quota, and honours the quota headers servers send
// (X-RateLimit-Remaining: 0 with X-RateLimit-Reset, Retry-After). Waits go through the Clock,
// so tests run them on a ManualClock and read the waits off it.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "core/http_client.h"

namespace dew {
class Clock;
}

namespace dew::connectors {

struct RequestBudgetOptions {
  int64_t requests_per_minute = 0;  //!< 0: no pacing
  int64_t max_requests = 0;         //!< requests one sync may send; 0: unlimited
};

//! Not thread-safe: one sync owns it.
class RequestBudget {
 public:
  //! `clock` is borrowed and must outlive the budget.
  RequestBudget(RequestBudgetOptions options, Clock* clock);

  //! Counts one request, first waiting (Clock::SleepMillis) as long as the rate or a server's
  //! quota reset requires. Returns false without waiting when max_requests are used up.
  bool Acquire();

  //! Reads the quota headers of a response: when the server says no request is left
  //! (X-RateLimit-Remaining or RateLimit-Remaining is 0), the next Acquire waits until its reset
  //! time (X-RateLimit-Reset / RateLimit-Reset: seconds from now or a Unix time), at most an hour.
  void Observe(const HttpResponse& response);

  bool exhausted() const { return options_.max_requests > 0 && used_ >= options_.max_requests; }
  int64_t used() const { return used_; }
  //! e.g. "request budget of 10000 requests used up (rest.rate_limit.max_requests)".
  std::string ExhaustedMessage() const;

 private:
  int64_t NowMillis() const;

  const RequestBudgetOptions options_;
  Clock* const clock_;
  int64_t used_ = 0;
  std::deque<int64_t> window_;     //!< monotonic send times (ms) within the last minute
  int64_t blocked_until_ms_ = -1;  //!< monotonic ms before which no request may go out
};

//! The wait a Retry-After value asks for, in milliseconds: delta seconds ("120") or an HTTP
//! date ("Wed, 21 Oct 2015 07:28:00 GMT", compared with `now_millis`, never negative). nullopt
//! when the text is neither.
std::optional<int64_t> ParseRetryAfter(const std::string& text, int64_t now_millis);

}  // namespace dew::connectors
