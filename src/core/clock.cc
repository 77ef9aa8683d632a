#include "core/clock.h"

#include <chrono>
#include <thread>

namespace dew {
namespace {

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t MonotonicMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void SleepMillis(int64_t millis) override {
    if (millis > 0) std::this_thread::sleep_for(std::chrono::milliseconds(millis));
  }
};

}  // namespace

std::shared_ptr<Clock> Clock::System() {
  return std::make_shared<SystemClock>();
}

}  // namespace dew
