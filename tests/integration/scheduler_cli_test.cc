// dew backfill end to end (runs executed by the real executor, shell tasks), and webhook events
// delivered by a real `dew serve` to a loopback receiver, listed and replayed with dew events,
// on both control stores.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/clock.h"
#include "core/file_system.h"
#include "orchestrator/event_dispatcher.h"
#include "serve_test_util.h"
#include "store_project_fixture.h"
#include "support/test_control_database.h"

namespace dew {
namespace {

using testing::RunDew;
using testing::ServeProcess;
using testing::WaitFor;

//! Every test runs on SQLite (.dew/control.db) and on PostgreSQL 15 (a database on the server
//! shared by the test process, given to the dew processes through ${env:DEW_TEST_CONTROL}).
class SchedulerCliTest : public testing::StoreProjectTest {
 protected:
  SchedulerCliTest() : StoreProjectTest("dew_sched_cli_test") {}
};

INSTANTIATE_TEST_SUITE_P(Stores, SchedulerCliTest, testing::BothStores(),
                         testing::StoreBackendName);

TEST_P(SchedulerCliTest, BackfillRunsEachMonthAndResumesOnlyFailures) {
  // February fails until the file `fixed` exists.
  std::ofstream(project_ + "/pipelines/monthly.yml")
      << "name: monthly\nparams: {logical_date: \"\", period: \"\"}\ntasks:\n"
         "  - name: t\n    kind: shell\n"
         "    command: \"echo ${params.logical_date} >> seen.txt && "
         "(test -f fixed || test ${params.period} != 2025-02)\"\n";
  auto first = RunDew(project_,
                      {"--format", "csv", "backfill", "monthly", "--from", "2025-01-01", "--to",
                       "2025-03-31", "--step", "month", "--parallel", "2"},
                      dir_);
  EXPECT_EQ(first.code, 1) << first.err;
  EXPECT_EQ(first.out, "pipeline,dates,launched,skipped,succeeded,failed\nmonthly,3,3,0,2,1\n");
  EXPECT_NE(first.err.find("backfill of monthly: 1 of 3 dates failed (2025-02-01); run the same "
                           "command again to retry them"),
            std::string::npos)
      << first.err;
  EXPECT_NE(first.err.find("2025-03 succeeded"), std::string::npos) << first.err;
  std::ofstream(project_ + "/fixed") << "";
  auto again = RunDew(project_,
                      {"--format", "csv", "backfill", "monthly", "--from", "2025-01-01", "--to",
                       "2025-03-31", "--step", "month", "--parallel", "2"},
                      dir_);
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out, "pipeline,dates,launched,skipped,succeeded,failed\nmonthly,3,1,2,1,0\n");
  std::string seen = testing::ReadAll(project_ + "/seen.txt");
  std::multiset<std::string> lines;
  size_t at = 0;
  for (size_t nl; (nl = seen.find('\n', at)) != std::string::npos; at = nl + 1) {
    lines.insert(seen.substr(at, nl - at));
  }
  EXPECT_EQ(lines,
            (std::multiset<std::string>{"2025-01-01", "2025-02-01", "2025-02-01", "2025-03-01"}));
  auto runs = RunDew(project_, {"--format", "csv", "runs", "--pipeline", "monthly"}, dir_);
  EXPECT_EQ(runs.code, 0) << runs.err;
  EXPECT_NE(runs.out.find("backfill"), std::string::npos) << runs.out;

  auto bad =
      RunDew(project_, {"backfill", "monthly", "--from", "2025-13-01", "--to", "2025-12-31"}, dir_);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("--from: no such date '2025-13-01'"), std::string::npos) << bad.err;
  auto unknown =
      RunDew(project_, {"backfill", "montly", "--from", "2025-01-01", "--to", "2025-01-02"}, dir_);
  EXPECT_NE(unknown.err.find("no pipeline 'montly'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("did you mean 'monthly'?"), std::string::npos) << unknown.err;
}

TEST_P(SchedulerCliTest, ServeDeliversSignedEventsDeadLettersAndReplay) {
  std::mutex mu;
  int broken_calls = 0;
  std::vector<std::string> accepted;
  httplib::Server receiver;
  receiver.Post(R"(/hook/(\w+))", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    if (req.matches[1] == "broken" && ++broken_calls <= 2) {
      res.status = 503;
      return;
    }
    if (req.get_header_value("X-Dew-Signature") !=
        orchestrator::SignWebhookBody("topsecret", req.body)) {
      res.status = 401;
      return;
    }
    accepted.push_back(req.body);
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread server_thread([&] { receiver.listen_after_bind(); });
  while (!receiver.is_running()) std::this_thread::yield();
  const std::string base = "http://127.0.0.1:" + std::to_string(port) + "/hook/";
  std::system(("mkdir -p " + testing::ShellQuote(project_ + "/webhooks")).c_str());
  std::ofstream(project_ + "/webhooks/ok.yml")
      << "url: " << base << "ok\nsecret: ${env:HOOK_SECRET}\n";
  std::ofstream(project_ + "/webhooks/broken.yml")
      << "url: " << base << "broken\nsecret: ${env:HOOK_SECRET}\nmax_attempts: 2\n"
      << "backoff: 100ms\n";
  {
    // What the run coordinator does when a run succeeds.
    auto store = db_.Open(Clock::System());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto hooks = orchestrator::LoadWebhooks(project_ + "/webhooks", *FileSystem::Posix());
    ASSERT_TRUE(hooks.ok()) << hooks.status().ToString();
    orchestrator::EventDispatcher dispatcher(**store, NewCurlHttpClient(), Clock::System(), *hooks,
                                             {});
    control::RunRecord run;
    run.id = "run-7";
    run.pipeline = "nightly";
    ASSERT_TRUE(dispatcher.OnRunSucceeded(run, {{"gold.revenue", 99, 4}}).ok());
  }
  const std::vector<std::pair<std::string, std::string>> env = {{"HOOK_SECRET", "topsecret"}};
  {
    ServeProcess serve(project_, dir_, {}, env);
    ASSERT_GT(serve.WaitForPort(), 0) << serve.err();
    ASSERT_TRUE(WaitFor([&] {
      auto list = RunDew(project_, {"--format", "csv", "events", "list", "--dead"}, dir_);
      return list.out.find(",broken,dead,2,") != std::string::npos;
    })) << serve.err();
    {
      std::lock_guard<std::mutex> lock(mu);
      ASSERT_EQ(accepted.size(), 1u);
      auto body = nlohmann::json::parse(accepted[0]);
      EXPECT_EQ(body["dataset"], "gold.revenue");
      EXPECT_EQ(body["row_count"], 99);
      EXPECT_EQ(body["schema_version"], 4);
      EXPECT_EQ(body["run_id"], "run-7");
    }
    auto all = RunDew(project_, {"--format", "csv", "events", "list"}, dir_);
    ASSERT_EQ(all.code, 0) << all.err;
    EXPECT_NE(all.out.find(",data_ready,gold.revenue,run-7,ok,delivered,1,"), std::string::npos)
        << all.out;
    EXPECT_NE(all.out.find(",broken,dead,2,,HTTP 503"), std::string::npos) << all.out;
    auto [code, metrics] = serve.Get("/metrics");
    EXPECT_NE(metrics.find("dew_webhook_dead_letters 1\n"), std::string::npos) << metrics;

    // Replay the dead one: the receiver now accepts it.
    auto dead = RunDew(project_, {"--format", "json", "events", "list", "--dead"}, dir_);
    auto dead_rows = nlohmann::json::parse(dead.out);
    ASSERT_EQ(dead_rows.size(), 1u);
    const std::string id = std::to_string(dead_rows[0]["id"].get<int64_t>());
    auto replay = RunDew(project_, {"events", "replay", id}, dir_);
    ASSERT_EQ(replay.code, 0) << replay.err;
    EXPECT_EQ(replay.out, "delivery " + id + " is pending again\n");
    ASSERT_TRUE(WaitFor([&] {
      std::lock_guard<std::mutex> lock(mu);
      return accepted.size() == 2;
    })) << serve.err();
    EXPECT_EQ(serve.Signal(SIGTERM), 0) << serve.err();
  }
  auto missing = RunDew(project_, {"events", "replay", "999"}, dir_);
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("no delivery 999"), std::string::npos) << missing.err;
  receiver.stop();
  server_thread.join();
}

}  // namespace
}  // namespace dew
