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
  // Its thread looks every ten minutes here: a destructor that waited for the next look would
  // take that long (the test's timeout fails it), one that wakes the thread returns at once.
  auto watcher = std::make_unique<InterruptWatcher>(con->get(), std::chrono::minutes(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));  // its first look is done
  const auto start = std::chrono::steady_clock::now();
  watcher.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::minutes(1));
}

}  // namespace
}  // namespace dew::cli
