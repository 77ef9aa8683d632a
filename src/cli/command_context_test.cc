#include "cli/command_context.h"

#include <gtest/gtest.h>

#include <chrono>

#include "engine/database.h"

namespace dew::cli {
namespace {

// The watcher looks at Ctrl-C every 50 ms; ending a command must not wait for its next look.
TEST(InterruptWatcherTest, StopsWithoutWaitingForItsNextLook) {
  auto db = engine::Database::Open(engine::DatabaseOptions{});
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto con = (*db)->Connect();
  ASSERT_TRUE(con.ok()) << con.status().ToString();
  InterruptGuard guard;
  // Two of three, so that one stall of a busy machine does not decide the outcome. Waiting
  // for the next look took 40 ms here.
  int fast = 0;
  for (int i = 0; i < 3; ++i) {
    auto watcher = std::make_unique<InterruptWatcher>(con->get());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // its first look is done
    const auto start = std::chrono::steady_clock::now();
    watcher.reset();
    const auto took = std::chrono::steady_clock::now() - start;
    fast += std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 25;
  }
  EXPECT_GE(fast, 2);
}

}  // namespace
}  // namespace dew::cli
