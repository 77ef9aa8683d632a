// `dew serve` as a real process: /healthz and /metrics over loopback, a clean stop on SIGTERM,
// and the scheduler surviving a SIGKILL with no scheduled run lost or doubled; on SQLite and on
// PostgreSQL.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/clock.h"
#include "orchestrator/scheduler.h"
#include "serve_test_util.h"
#include "store_project_fixture.h"
#include "support/test_control_database.h"

namespace dew {
namespace {

using testing::ServeProcess;
using testing::WaitFor;

class ServeProcessTest : public testing::StoreProjectTest {
 protected:
  ServeProcessTest() : StoreProjectTest("dew_serve_test") {}

  std::unique_ptr<control::ControlStore> OpenStore() {
    auto store = db_.Open(Clock::System());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
};

INSTANTIATE_TEST_SUITE_P(Stores, ServeProcessTest, testing::BothStores(),
                         testing::StoreBackendName);

TEST_P(ServeProcessTest, HealthzMetricsAndCleanStopOnSigterm) {
  WritePipeline("nightly",
                "name: nightly\nschedule: \"0 2 * * *\"\ntimezone: Asia/Manila\ntasks:\n"
                "  - {name: t, kind: shell, command: 'true'}\n");
  ServeProcess serve(project_, dir_);
  ASSERT_GT(serve.WaitForPort(), 0) << serve.err();
  EXPECT_NE(serve.out().find("1 scheduled pipelines"), std::string::npos) << serve.out();
  nlohmann::json health;
  ASSERT_TRUE(WaitFor([&] {
    auto [code, body] = serve.Get("/healthz");
    if (code != 200) return false;
    health = nlohmann::json::parse(body);
    return health["scheduler"]["ticks"].get<int64_t>() > 0;
  })) << serve.err();
  EXPECT_EQ(health["ok"], true);
  EXPECT_EQ(health["version"], "0.1.0");
  EXPECT_EQ(health["store"], "sqlite");
  EXPECT_EQ(health["scheduler"]["schedules"], 1);
  EXPECT_TRUE(health["scheduler"]["last_tick"].is_string());

  auto [code, metrics] = serve.Get("/metrics");
  EXPECT_EQ(code, 200);
  for (const char* want :
       {"# TYPE dew_runs gauge\n", "dew_runs{status=\"queued\"} 0\n", "dew_attempts_running 0\n",
        "# TYPE dew_scheduler_ticks_total counter\n", "dew_scheduler_lag_seconds ",
        "dew_webhook_deliveries{status=\"dead\"} 0\n", "dew_webhook_dead_letters 0\n"}) {
    EXPECT_NE(metrics.find(want), std::string::npos) << want << "\n" << metrics;
  }
  EXPECT_EQ(serve.Get("/nothing").first, 404);

  // The schedule is in the store, and dew schedule list shows it.
  auto list = testing::RunDew(project_, {"--format", "csv", "schedule", "list"}, dir_);
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_NE(list.out.find("nightly,0 2 * * *,Asia/Manila,"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("T02:00:00+08:00,"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("T18:00:00Z,skip"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("not yet stored"), std::string::npos) << list.out;

  // A pipeline added while it runs is scheduled without a restart.
  WritePipeline("hourly",
                "name: hourly\nschedule: \"0 * * * *\"\ntasks:\n"
                "  - {name: t, kind: shell, command: 'true'}\n");
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(WaitFor([&] {
    auto s = store->ListSchedules();
    return s.ok() && s->size() == 2;
  })) << serve.err();

  EXPECT_EQ(serve.Signal(SIGTERM), 0) << serve.err();
  EXPECT_NE(serve.err().find("dew serve: stopped"), std::string::npos) << serve.err();
}

TEST_P(ServeProcessTest, BrokenWebhookFileStopsTheStartNamingIt) {
  std::system(("mkdir -p " + testing::ShellQuote(project_ + "/webhooks")).c_str());
  std::ofstream(project_ + "/webhooks/ops.yml") << "url: http://127.0.0.1:9/x\nsecret: hunter2\n";
  ServeProcess serve(project_, dir_);
  EXPECT_EQ(serve.WaitForPort(), 0);
  EXPECT_NE(serve.err().find("webhooks/ops.yml:2:9: secret: write the secret as ${env:NAME}"),
            std::string::npos)
      << serve.err();
}

TEST_P(ServeProcessTest, SigkillAndRestartLosesAndDoublesNoScheduledRun) {
  WritePipeline("minutely",
                "name: minutely\nschedule: \"* * * * *\"\ncatch_up: all\ntasks:\n"
                "  - {name: t, kind: shell, command: 'true'}\n");
  // 90 minutes of fire times already missed, as if a scheduler had been down.
  const int64_t now = Clock::System()->NowMillis();
  const int64_t first = (now / 60000 - 90) * 60000;
  {
    auto store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store
                    ->UpsertSchedule(
                        {"minutely", "* * * * *", "UTC", first, control::CatchUpPolicy::kCatchUp})
                    .ok());
  }
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto run_count = [&]() -> size_t {
    control::RunFilter filter;
    filter.limit = 100000;
    auto runs = store->ListRuns(filter);
    return runs.ok() ? runs->size() : 0;
  };
  {
    ServeProcess serve(project_, dir_);
    ASSERT_GT(serve.WaitForPort(), 0) << serve.err();
    ASSERT_TRUE(WaitFor([&] { return run_count() > 0; })) << serve.err();
    EXPECT_EQ(serve.Signal(SIGKILL), -SIGKILL);
  }
  const size_t after_kill = run_count();
  ServeProcess again(project_, dir_);
  ASSERT_GT(again.WaitForPort(), 0) << again.err();
  // Caught up: the next fire time is in the future again.
  ASSERT_TRUE(WaitFor([&] {
    auto s = store->ListSchedules();
    return s.ok() && s->size() == 1 && (*s)[0].next_fire_at_ms > Clock::System()->NowMillis();
  })) << again.err();
  EXPECT_EQ(again.Signal(SIGTERM), 0) << again.err();

  auto schedules = store->ListSchedules();
  ASSERT_TRUE(schedules.ok());
  const int64_t next = (*schedules)[0].next_fire_at_ms;
  std::set<std::string> want, want_ids;
  for (int64_t t = first; t < next; t += 60000) {
    want.insert(orchestrator::FormatLocalTime(t / 1000, TimeZone::Utc()));
    want_ids.insert(orchestrator::ScheduledRunId("minutely", t));
  }
  EXPECT_GE(want.size(), 91u);
  control::RunFilter filter;
  filter.limit = 100000;
  auto runs = store->ListRuns(filter);
  ASSERT_TRUE(runs.ok());
  std::set<std::string> got, got_ids;
  for (const auto& r : *runs) {
    EXPECT_TRUE(got.insert(r.logical_date).second) << "fired twice: " << r.logical_date;
    got_ids.insert(r.id);
    EXPECT_EQ(r.trigger, control::TriggerKind::kSchedule);
  }
  EXPECT_EQ(got, want) << "runs before the kill: " << after_kill;
  EXPECT_EQ(got_ids, want_ids);
  EXPECT_EQ(runs->size(), want.size());
}

}  // namespace
}  // namespace dew
