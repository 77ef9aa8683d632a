#include "connectors/request_budget.h"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/clock.h"

namespace dew::connectors {

namespace {

constexpr int64_t kMinuteMillis = 60 * 1000;
constexpr int64_t kMaxResetWaitMillis = 60 * 60 * 1000;

std::optional<int64_t> ParseInt(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  size_t end = text.find_last_not_of(" \t");
  if (begin == std::string::npos) return std::nullopt;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data() + begin, text.data() + end + 1, value);
  if (ec != std::errc() || ptr != text.data() + end + 1) return std::nullopt;
  return value;
}

}  // namespace

RequestBudget::RequestBudget(RequestBudgetOptions options, Clock* clock)
    : options_(options), clock_(clock) {}

int64_t RequestBudget::NowMillis() const {
  return clock_->MonotonicMicros() / 1000;
}

bool RequestBudget::Acquire() {
  if (exhausted()) return false;
  int64_t now = NowMillis();
  if (blocked_until_ms_ > now) {
    clock_->SleepMillis(blocked_until_ms_ - now);
    now = NowMillis();
  }
  blocked_until_ms_ = -1;
  if (options_.requests_per_minute > 0) {
    while (!window_.empty() && window_.front() <= now - kMinuteMillis) window_.pop_front();
    if (static_cast<int64_t>(window_.size()) >= options_.requests_per_minute) {
      clock_->SleepMillis(window_.front() + kMinuteMillis - now);
      now = NowMillis();
      while (!window_.empty() && window_.front() <= now - kMinuteMillis) window_.pop_front();
    }
    window_.push_back(now);
  }
  ++used_;
  return true;
}

void RequestBudget::Observe(const HttpResponse& response) {
  std::string remaining = response.Header("X-RateLimit-Remaining");
  std::string reset = response.Header("X-RateLimit-Reset");
  if (remaining.empty()) {
    remaining = response.Header("RateLimit-Remaining");
    reset = response.Header("RateLimit-Reset");
  }
  std::optional<int64_t> left = ParseInt(remaining);
  std::optional<int64_t> at = ParseInt(reset);
  if (!left || *left > 0 || !at || *at < 0) return;
  // Large values are Unix times (GitHub's style), small ones seconds from now (the IETF draft).
  int64_t wait = *at > 1000000000 ? *at * 1000 - clock_->NowMillis() : *at * 1000;
  wait = std::clamp<int64_t>(wait, 0, kMaxResetWaitMillis);
  blocked_until_ms_ = std::max(blocked_until_ms_, NowMillis() + wait);
}

std::string RequestBudget::ExhaustedMessage() const {
  return "request budget of " + std::to_string(options_.max_requests) +
         " requests used up (rest.rate_limit.max_requests)";
}

std::optional<int64_t> ParseRetryAfter(const std::string& text, int64_t now_millis) {
  if (std::optional<int64_t> seconds = ParseInt(text)) {
    if (*seconds < 0) return std::nullopt;
    return *seconds * 1000;
  }
  struct tm tm;
  std::memset(&tm, 0, sizeof(tm));
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const int64_t at = static_cast<int64_t>(timegm(&tm)) * 1000;
  return std::max<int64_t>(0, at - now_millis);
}

}  // namespace dew::connectors
