// Clock: time passed in, so tests control it (a ManualClock) and no logic calls now() itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace dew {

class Clock {
 public:
  virtual ~Clock() = default;
  //! Wall-clock time in milliseconds since the Unix epoch.
  virtual int64_t NowMillis() = 0;
  //! A monotonic time in microseconds, for durations.
  virtual int64_t MonotonicMicros() = 0;
  //! Waits `millis` (backoff between retries, polling). A ManualClock advances itself instead
  //! of waiting, so retry schedules are tested without real sleeps.
  virtual void SleepMillis(int64_t millis) = 0;

  //! The system clock. Safe to share between threads.
  static std::shared_ptr<Clock> System();
};

//! A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_millis) : now_millis_(now_millis) {}
  int64_t NowMillis() override { return now_millis_.load(); }
  int64_t MonotonicMicros() override { return now_millis_.load() * 1000; }
  void SleepMillis(int64_t millis) override { Advance(millis > 0 ? millis : 0); }
  void Set(int64_t now_millis) { now_millis_.store(now_millis); }
  void Advance(int64_t millis) { now_millis_.fetch_add(millis); }

 private:
  std::atomic<int64_t> now_millis_;
};

}  // namespace dew
