#include "orchestrator/backfill.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/file_system.h"
#include "support/test_control_database.h"

namespace dew::orchestrator {
namespace {

using control::RunStatus;

//! Executes launched runs on `threads` threads of its own: each run goes running, waits a
//! little, then succeeds unless its logical date is in `fail_dates`. Records the most runs of
//! the pipeline seen running at once (read from the store).
class ThreadedRunner {
 public:
  ThreadedRunner(control::ControlStore& store, int threads, std::set<std::string> fail_dates)
      : store_(store), fail_dates_(std::move(fail_dates)) {
    for (int i = 0; i < threads; i++) threads_.emplace_back([this] { Work(); });
  }
  ~ThreadedRunner() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  RunLauncher Launcher() {
    return [this](const control::NewRun& run) -> Status {
      DEW_RETURN_IF_ERROR(store_.CreateRun(run));
      {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(run);
        launched_.push_back(run);
      }
      cv_.notify_one();
      return Status::OK();
    };
  }

  int max_running() const { return max_running_.load(); }
  std::vector<control::NewRun> launched() {
    std::lock_guard<std::mutex> lock(mu_);
    return launched_;
  }

 private:
  void Work() {
    for (;;) {
      control::NewRun run;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        run = queue_.front();
        queue_.pop_front();
      }
      ASSERT_TRUE(store_.UpdateRunStatus(run.id, RunStatus::kRunning).ok());
      control::RunFilter filter;
      filter.pipeline = run.pipeline;
      filter.status = RunStatus::kRunning;
      auto running = store_.ListRuns(filter);
      ASSERT_TRUE(running.ok());
      int seen = static_cast<int>(running->size());
      int prev = max_running_.load();
      while (seen > prev && !max_running_.compare_exchange_weak(prev, seen)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const bool fail = fail_dates_.count(run.logical_date) > 0;
      ASSERT_TRUE(store_
                      .UpdateRunStatus(run.id, fail ? RunStatus::kFailed : RunStatus::kSucceeded,
                                       fail ? "boom" : "")
                      .ok());
    }
  }

  control::ControlStore& store_;
  const std::set<std::string> fail_dates_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::deque<control::NewRun> queue_;
  std::vector<control::NewRun> launched_;
  std::atomic<int> max_running_{0};
  std::vector<std::thread> threads_;
};

//! Every test runs on SQLite and on PostgreSQL.
class BackfillTest : public ::testing::TestWithParam<testing::StoreBackend> {
 protected:
  void SetUp() override {
    if (!testing::StoreBackendAvailable(GetParam()))
      GTEST_SKIP() << "PostgreSQL 15 is not installed";
    char tmpl[] = "/tmp/dew_backfill_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    clock_ = Clock::System();
    auto db = testing::TestControlDatabase::Create(GetParam(), dir_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto store = db->Open(clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto fs = FileSystem::Posix();
    auto spec = PipelineSpec::Parse(
        "name: monthly\nparams: {logical_date: \"\", period: \"\", region: ph}\ntasks:\n"
        "  - {name: t, kind: shell, command: 'echo ${params.period}'}\n",
        "pipelines/monthly.yml", SystemTimeZoneLoader(*fs));
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    spec_ = std::move(spec).value();
  }

  std::vector<BackfillDate> Months(const std::string& from, const std::string& to) {
    auto f = ParseCivilDate(from, "--from");
    auto t = ParseCivilDate(to, "--to");
    EXPECT_TRUE(f.ok() && t.ok());
    auto dates = BackfillDates(*f, *t, BackfillStep::kMonth);
    EXPECT_TRUE(dates.ok());
    return *dates;
  }

  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) (void)FileSystem::Posix()->RemoveAll(dir_);
  }

  std::string dir_;
  std::shared_ptr<Clock> clock_;
  std::unique_ptr<control::ControlStore> store_;
  PipelineSpec spec_;
};

INSTANTIATE_TEST_SUITE_P(Stores, BackfillTest, testing::BothStores(), testing::StoreBackendName);

TEST(BackfillDatesTest, DaysWeeksMonths) {
  auto from = ParseCivilDate("2024-12-30", "--from");
  auto to = ParseCivilDate("2025-03-02", "--to");
  ASSERT_TRUE(from.ok() && to.ok());
  auto days = BackfillDates(*from, *to, BackfillStep::kDay);
  ASSERT_TRUE(days.ok());
  EXPECT_EQ(days->size(), 63u);
  EXPECT_EQ(days->front().logical_date, "2024-12-30");
  EXPECT_EQ(days->back().logical_date, "2025-03-02");
  EXPECT_EQ((*days)[2].period, "2025-01-01");
  auto weeks = BackfillDates(*from, *to, BackfillStep::kWeek);
  ASSERT_TRUE(weeks.ok());
  EXPECT_EQ(weeks->size(), 9u);
  EXPECT_EQ((*weeks)[0].period, "2025-W01");  // Monday 2024-12-30 is in ISO week 1 of 2025
  EXPECT_EQ((*weeks)[1].logical_date, "2025-01-06");
  EXPECT_EQ((*weeks)[1].period, "2025-W02");
  auto months = BackfillDates(*from, *to, BackfillStep::kMonth);
  ASSERT_TRUE(months.ok());
  ASSERT_EQ(months->size(), 4u);
  EXPECT_EQ((*months)[0].logical_date, "2024-12-01");
  EXPECT_EQ((*months)[0].period, "2024-12");
  EXPECT_EQ((*months)[3].period, "2025-03");
}

TEST(BackfillDatesTest, Errors) {
  EXPECT_FALSE(ParseCivilDate("2025-02-29", "--from").ok());
  EXPECT_FALSE(ParseCivilDate("2025-1-01", "--from").ok());
  auto bad = ParseCivilDate("yesterday", "--to");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--to: bad date 'yesterday' (expected YYYY-MM-DD)");
  auto empty = BackfillDates({2025, 3, 1}, {2025, 2, 1}, BackfillStep::kDay);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("2025-03-01 is after --to 2025-02-01"),
            std::string::npos);
  EXPECT_FALSE(ParseBackfillStep("year").ok());
}

TEST_P(BackfillTest, BoundedParallelismThenResumeRetriesOnlyFailures) {
  BackfillOptions options;
  options.pipeline = spec_.name;
  options.dates = Months("2025-01-01", "2025-12-31");
  options.parallel = 3;
  options.triggered_by = "ana";
  options.poll_interval_ms = 1;
  {
    ThreadedRunner runner(*store_, /*threads=*/12, {"2025-03-01", "2025-07-01"});
    auto result = RunBackfill(spec_, options, *store_, *clock_, runner.Launcher());
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->succeeded, 10);
    EXPECT_EQ(result->failed, 2);
    EXPECT_EQ(result->skipped, 0);
    EXPECT_EQ(result->failed_dates, (std::vector<std::string>{"2025-03-01", "2025-07-01"}));
    EXPECT_LE(runner.max_running(), 3);
    EXPECT_GE(runner.max_running(), 1);
    auto launched = runner.launched();
    ASSERT_EQ(launched.size(), 12u);
    EXPECT_EQ(launched[2].trigger, control::TriggerKind::kBackfill);
    EXPECT_EQ(launched[2].triggered_by, "ana");
    EXPECT_EQ(launched[2].logical_date, "2025-03-01");
    auto params = nlohmann::json::parse(launched[2].params_json);
    EXPECT_EQ(params["logical_date"], "2025-03-01");
    EXPECT_EQ(params["period"], "2025-03");
    EXPECT_EQ(params["region"], "ph");
  }
  // The same command again: the ten succeeded months are skipped, the two failed ones rerun.
  ThreadedRunner runner(*store_, 12, {});
  std::vector<std::string> outcomes;
  options.on_progress = [&](const BackfillDate& d, const std::string& outcome, const std::string&) {
    outcomes.push_back(d.period + " " + outcome);
  };
  auto again = RunBackfill(spec_, options, *store_, *clock_, runner.Launcher());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->skipped, 10);
  EXPECT_EQ(again->succeeded, 2);
  EXPECT_EQ(again->failed, 0);
  auto launched = runner.launched();
  ASSERT_EQ(launched.size(), 2u);
  EXPECT_EQ(launched[0].logical_date, "2025-03-01");
  EXPECT_EQ(launched[1].logical_date, "2025-07-01");
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "2025-01 skipped"), 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), "2025-07 succeeded"), 1);
  // A third time there is nothing left to do.
  auto third = RunBackfill(spec_, options, *store_, *clock_, runner.Launcher());
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->skipped, 12);
  EXPECT_EQ(runner.launched().size(), 2u);
}

TEST_P(BackfillTest, RunStillActiveFromAnInterruptedBackfillIsWaitedForNotRelaunched) {
  control::NewRun old;
  old.id = "old-run";
  old.pipeline = spec_.name;
  old.trigger = control::TriggerKind::kBackfill;
  old.logical_date = "2025-02-01";
  ASSERT_TRUE(store_->CreateRun(old).ok());
  ASSERT_TRUE(store_->UpdateRunStatus("old-run", RunStatus::kRunning).ok());
  std::vector<std::string> launched;
  RunLauncher launch = [&](const control::NewRun& run) -> Status {
    launched.push_back(run.logical_date);
    DEW_RETURN_IF_ERROR(store_->CreateRun(run));
    DEW_RETURN_IF_ERROR(store_->UpdateRunStatus(run.id, RunStatus::kRunning));
    // The old run finishes while the backfill goes on.
    if (run.logical_date == "2025-03-01") {
      DEW_RETURN_IF_ERROR(store_->UpdateRunStatus("old-run", RunStatus::kSucceeded));
    }
    return store_->UpdateRunStatus(run.id, RunStatus::kSucceeded);
  };
  BackfillOptions options;
  options.dates = Months("2025-01-01", "2025-03-31");
  options.parallel = 2;  // the old run takes one slot
  options.poll_interval_ms = 1;
  auto result = RunBackfill(spec_, options, *store_, *clock_, launch);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(launched, (std::vector<std::string>{"2025-01-01", "2025-03-01"}));
  EXPECT_EQ(result->succeeded, 3);
}

TEST_P(BackfillTest, LaunchFailureCountsAsFailedDate) {
  RunLauncher launch = [](const control::NewRun&) { return Status::IOError("no executor"); };
  BackfillOptions options;
  options.dates = Months("2025-01-01", "2025-02-01");
  auto result = RunBackfill(spec_, options, *store_, *clock_, launch);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->failed, 2);
  options.parallel = 0;
  EXPECT_FALSE(RunBackfill(spec_, options, *store_, *clock_, launch).ok());
}

}  // namespace
}  // namespace dew::orchestrator
