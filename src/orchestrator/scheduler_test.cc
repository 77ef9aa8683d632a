#include "orchestrator/scheduler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/file_system.h"
#include "support/test_control_database.h"

namespace dew::orchestrator {
namespace {

using control::RunRecord;
using testing::StoreBackend;
using testing::TestControlDatabase;

std::string MakeTempDir() {
  char tmpl[] = "/tmp/dew_scheduler_test_XXXXXX";
  const char* dir = mkdtemp(tmpl);
  EXPECT_NE(dir, nullptr);
  return dir == nullptr ? std::string("/tmp") : std::string(dir);
}

//! UTC milliseconds of a wall-clock time in Manila (UTC+8 all year, no DST since 1978).
int64_t ManilaMillis(int year, int month, int day, int hour = 0, int minute = 0) {
  CivilTime c;
  c.year = year;
  c.month = month;
  c.day = day;
  c.hour = hour;
  c.minute = minute;
  return (LocalSecondsFromCivil(c) - 8 * 3600) * 1000;
}

//! The first Monday-to-Friday of a month, worked out independently of CronSchedule.
int FirstBusinessDay(int year, int month) {
  for (int day = 1;; day++) {
    const int wd = WeekdayFromDays(DaysFromCivil(year, month, day));
    if (wd >= 1 && wd <= 5) return day;
  }
}

std::string MonthEndPipeline(const std::string& catch_up) {
  return "name: month_end\n"
         "schedule: \"0 6 1W * *\"\n"
         "timezone: Asia/Manila\n"
         "catch_up: " +
         catch_up +
         "\n"
         "params: {logical_date: \"\", region: ph}\n"
         "tasks:\n"
         "  - name: close\n"
         "    kind: shell\n"
         "    command: echo ${params.logical_date}\n";
}

//! Every test runs on SQLite and on PostgreSQL: two schedulers are two store objects (two
//! connections) on one database.
class SchedulerTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    if (!testing::StoreBackendAvailable(GetParam()))
      GTEST_SKIP() << "PostgreSQL 15 is not installed";
    dir_ = MakeTempDir();
    clock_ = std::make_shared<ManualClock>(ManilaMillis(2026, 1, 1));
    fs_ = FileSystem::Posix();
    auto db = TestControlDatabase::Create(GetParam(), dir_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    store_a_ = OpenStore();
    store_b_ = OpenStore();
    ASSERT_TRUE(store_a_ && store_b_);
  }
  void TearDown() override {
    store_a_.reset();
    store_b_.reset();
    if (!dir_.empty()) {
      ASSERT_TRUE(fs_->RemoveAll(dir_).ok());
    }
  }

  std::unique_ptr<control::ControlStore> OpenStore() {
    auto store = db_.Open(clock_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  PipelineSpec Spec(const std::string& yaml) {
    auto spec = PipelineSpec::Parse(yaml, "pipelines/p.yml", SystemTimeZoneLoader(*fs_));
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    return std::move(spec).value();
  }

  //! A launcher creating the run in `store` and counting the runs it created.
  RunLauncher Counting(control::ControlStore& store) {
    return [this, &store](const control::NewRun& run) {
      Status s = store.CreateRun(run);
      if (s.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        launched_[run.id]++;
      }
      return s;
    };
  }

  std::vector<RunRecord> Runs() {
    control::RunFilter filter;
    filter.limit = 100000;
    auto runs = store_a_->ListRuns(filter);
    EXPECT_TRUE(runs.ok()) << runs.status().ToString();
    std::vector<RunRecord> out = runs.ok() ? *runs : std::vector<RunRecord>{};
    std::sort(out.begin(), out.end(), [](const RunRecord& a, const RunRecord& b) {
      return a.logical_date < b.logical_date;
    });
    return out;
  }

  //! Ticks `schedulers` in turns, jumping the clock to each next due time, until `end_ms`.
  void Drive(const std::vector<Scheduler*>& schedulers, int64_t end_ms) {
    size_t turn = 0;
    while (clock_->NowMillis() < end_ms) {
      auto wake = schedulers[turn % schedulers.size()]->Tick();
      ASSERT_TRUE(wake.ok()) << wake.status().ToString();
      // The other scheduler ticks at the same instant too: it must find nothing left to fire.
      auto again = schedulers[(turn + 1) % schedulers.size()]->Tick();
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      ASSERT_GT(*wake, clock_->NowMillis());
      clock_->Set(std::min(*wake, end_ms));
      turn++;
    }
  }

  std::string dir_;
  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<FileSystem> fs_;
  TestControlDatabase db_;
  std::unique_ptr<control::ControlStore> store_a_;
  std::unique_ptr<control::ControlStore> store_b_;
  std::mutex mu_;
  std::map<std::string, int> launched_;  // guarded by mu_
};

INSTANTIATE_TEST_SUITE_P(Stores, SchedulerTest, testing::BothStores(), testing::StoreBackendName);

SchedulerOptions DayPoll() {
  SchedulerOptions o;
  o.poll_interval_ms = 24 * 3600 * 1000;
  return o;
}

TEST(SchedulerFormatTest, TimesAndRunIds) {
  auto fs = FileSystem::Posix();
  auto manila = SystemTimeZoneLoader(*fs)("Asia/Manila");
  ASSERT_TRUE(manila.ok()) << manila.status().ToString();
  const int64_t t = ManilaMillis(2026, 3, 2, 6) / 1000;
  EXPECT_EQ(FormatLocalTime(t, *manila), "2026-03-02T06:00:00+08:00");
  EXPECT_EQ(FormatUtcTime(t), "2026-03-01T22:00:00Z");
  EXPECT_EQ(ScheduledRunId("month_end", t * 1000), "sched-month_end-20260301T220000Z");
  auto ny = SystemTimeZoneLoader(*fs)("America/New_York");
  ASSERT_TRUE(ny.ok());
  EXPECT_EQ(FormatLocalTime(t, *ny), "2026-03-01T17:00:00-05:00");
}

TEST_P(SchedulerTest, SimulatedYearFiresOnFirstBusinessDayOnceWithTwoSchedulers) {
  // 2028 is a leap year: 366 days from Jan 1 end just before Jan 1 2029's fire time.
  clock_->Set(ManilaMillis(2028, 1, 1));
  Scheduler a(*store_a_, clock_, Counting(*store_a_), DayPoll());
  Scheduler b(*store_b_, clock_, Counting(*store_b_), DayPoll());
  ASSERT_TRUE(a.SetPipelines({Spec(MonthEndPipeline("skip"))}).ok());
  ASSERT_TRUE(b.SetPipelines({Spec(MonthEndPipeline("skip"))}).ok());
  Drive({&a, &b}, clock_->NowMillis() + 366LL * 24 * 3600 * 1000);

  std::vector<RunRecord> runs = Runs();
  ASSERT_EQ(runs.size(), 12u);
  for (int month = 1; month <= 12; month++) {
    const RunRecord& run = runs[month - 1];
    const int day = FirstBusinessDay(2028, month);
    char want[64];
    std::snprintf(want, sizeof(want), "2028-%02d-%02dT06:00:00+08:00", month, day);
    EXPECT_EQ(run.logical_date, want);
    EXPECT_EQ(run.created_at_ms, ManilaMillis(2028, month, day, 6)) << run.id;
    EXPECT_EQ(run.trigger, control::TriggerKind::kSchedule);
    EXPECT_EQ(run.triggered_by, "schedule");
    auto params = nlohmann::json::parse(run.params_json);
    EXPECT_EQ(params["logical_date"], std::string(want).substr(0, 10));
    EXPECT_EQ(params["region"], "ph");
  }
  // Known answers for 2028: Jan 1, Apr 1 and Jul 1 are Saturdays, Oct 1 a Sunday.
  EXPECT_EQ(runs[0].logical_date, "2028-01-03T06:00:00+08:00");
  EXPECT_EQ(runs[3].logical_date, "2028-04-03T06:00:00+08:00");
  EXPECT_EQ(runs[6].logical_date, "2028-07-03T06:00:00+08:00");
  EXPECT_EQ(runs[9].logical_date, "2028-10-02T06:00:00+08:00");
  EXPECT_EQ(runs[1].logical_date, "2028-02-01T06:00:00+08:00");
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(launched_.size(), 12u);
  for (const auto& [id, n] : launched_) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(a.stats().runs_fired + b.stats().runs_fired, 12);
  EXPECT_GT(a.stats().runs_fired, 0);
  EXPECT_GT(b.stats().runs_fired, 0);
}

TEST_P(SchedulerTest, ConcurrentSchedulersNeverFireATimeTwice) {
  // Every minute, with 300 missed minutes to catch up: two threads race over the same times.
  const std::string yaml =
      "name: minutely\nschedule: \"* * * * *\"\ncatch_up: all\ntasks:\n"
      "  - {name: t, kind: shell, command: 'true'}\n";
  SchedulerOptions options;
  options.max_catch_up = 1000;
  Scheduler a(*store_a_, clock_, Counting(*store_a_), options);
  Scheduler b(*store_b_, clock_, Counting(*store_b_), options);
  ASSERT_TRUE(a.SetPipelines({Spec(yaml)}).ok());
  ASSERT_TRUE(b.SetPipelines({Spec(yaml)}).ok());
  clock_->Advance(300LL * 60 * 1000);
  std::thread ta([&] {
    for (int i = 0; i < 20; i++) ASSERT_TRUE(a.Tick().ok());
  });
  std::thread tb([&] {
    for (int i = 0; i < 20; i++) ASSERT_TRUE(b.Tick().ok());
  });
  ta.join();
  tb.join();
  EXPECT_EQ(Runs().size(), 300u);
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(launched_.size(), 300u);
  for (const auto& [id, n] : launched_) EXPECT_EQ(n, 1) << id;
  auto schedules = store_a_->ListSchedules();
  ASSERT_TRUE(schedules.ok());
  EXPECT_EQ((*schedules)[0].next_fire_at_ms, clock_->NowMillis() + 60 * 1000);
}

TEST_P(SchedulerTest, CatchUpRunsEachMissedTimeAfterDowntimeOldestFirst) {
  {
    Scheduler a(*store_a_, clock_, Counting(*store_a_), DayPoll());
    ASSERT_TRUE(a.SetPipelines({Spec(MonthEndPipeline("all"))}).ok());
    Drive({&a}, ManilaMillis(2026, 1, 15));
  }
  ASSERT_EQ(Runs().size(), 1u);
  clock_->Set(ManilaMillis(2026, 4, 15, 9));
  // A new process: nothing but the store is kept.
  store_a_ = OpenStore();
  Scheduler restarted(*store_a_, clock_, Counting(*store_a_), DayPoll());
  ASSERT_TRUE(restarted.SetPipelines({Spec(MonthEndPipeline("all"))}).ok());
  ASSERT_TRUE(restarted.Tick().ok());
  std::vector<RunRecord> runs = Runs();
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[1].logical_date, "2026-02-02T06:00:00+08:00");
  EXPECT_EQ(runs[2].logical_date, "2026-03-02T06:00:00+08:00");
  EXPECT_EQ(runs[3].logical_date, "2026-04-01T06:00:00+08:00");
  for (size_t i = 1; i < 4; i++) EXPECT_EQ(runs[i].created_at_ms, ManilaMillis(2026, 4, 15, 9));
  // Oldest first: run ids sort like their fire times, and the store saw them in that order.
  control::RunFilter filter;
  auto newest_first = store_a_->ListRuns(filter);
  ASSERT_TRUE(newest_first.ok());
  EXPECT_EQ((*newest_first)[0].logical_date, "2026-04-01T06:00:00+08:00");
  Drive({&restarted}, ManilaMillis(2026, 5, 31));
  runs = Runs();
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(runs[4].logical_date, "2026-05-01T06:00:00+08:00");
  EXPECT_EQ(runs[4].created_at_ms, ManilaMillis(2026, 5, 1, 6));
}

TEST_P(SchedulerTest, SkipRecordsMissedTimesAsAnEventAndFiresNextOnTime) {
  {
    Scheduler a(*store_a_, clock_, Counting(*store_a_), DayPoll());
    ASSERT_TRUE(a.SetPipelines({Spec(MonthEndPipeline("skip"))}).ok());
    Drive({&a}, ManilaMillis(2026, 1, 15));
  }
  clock_->Set(ManilaMillis(2026, 4, 15, 9));
  store_a_ = OpenStore();
  Scheduler restarted(*store_a_, clock_, Counting(*store_a_), DayPoll());
  ASSERT_TRUE(restarted.SetPipelines({Spec(MonthEndPipeline("skip"))}).ok());
  ASSERT_TRUE(restarted.Tick().ok());
  ASSERT_EQ(Runs().size(), 1u);
  auto events = store_a_->ListEvents(0, 100);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "schedule_skipped");
  auto payload = nlohmann::json::parse((*events)[0].payload_json);
  EXPECT_EQ(payload["pipeline"], "month_end");
  EXPECT_EQ(payload["count"], 3);
  EXPECT_EQ(payload["skipped"],
            nlohmann::json::array({"2026-02-02T06:00:00+08:00", "2026-03-02T06:00:00+08:00",
                                   "2026-04-01T06:00:00+08:00"}));
  EXPECT_EQ(restarted.stats().fire_times_skipped, 3);
  Drive({&restarted}, ManilaMillis(2026, 5, 31));
  std::vector<RunRecord> runs = Runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].logical_date, "2026-05-01T06:00:00+08:00");
}

TEST_P(SchedulerTest, LatestRunsOnlyTheMostRecentMissedTime) {
  {
    Scheduler a(*store_a_, clock_, Counting(*store_a_), DayPoll());
    ASSERT_TRUE(a.SetPipelines({Spec(MonthEndPipeline("latest"))}).ok());
    Drive({&a}, ManilaMillis(2026, 1, 15));
  }
  clock_->Set(ManilaMillis(2026, 4, 15, 9));
  Scheduler restarted(*store_a_, clock_, Counting(*store_a_), DayPoll());
  ASSERT_TRUE(restarted.SetPipelines({Spec(MonthEndPipeline("latest"))}).ok());
  ASSERT_TRUE(restarted.Tick().ok());
  std::vector<RunRecord> runs = Runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].logical_date, "2026-04-01T06:00:00+08:00");
}

TEST_P(SchedulerTest, CatchUpIsBounded) {
  const std::string yaml =
      "name: hourly\nschedule: \"0 * * * *\"\ncatch_up: true\ntasks:\n"
      "  - {name: t, kind: shell, command: 'true'}\n";
  SchedulerOptions options;
  options.max_catch_up = 5;
  Scheduler a(*store_a_, clock_, Counting(*store_a_), options);
  ASSERT_TRUE(a.SetPipelines({Spec(yaml)}).ok());
  clock_->Advance(48LL * 3600 * 1000 + 1000);  // 48 fire times missed
  ASSERT_TRUE(a.Tick().ok());
  std::vector<RunRecord> runs = Runs();
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(runs[4].logical_date, "2026-01-02T16:00:00+00:00");  // the newest due hour (UTC)
  EXPECT_EQ(runs[0].logical_date, "2026-01-02T12:00:00+00:00");
  auto events = store_a_->ListEvents(0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(nlohmann::json::parse((*events)[0].payload_json)["count"], 43);
}

TEST_P(SchedulerTest, ChangedCronIsRecomputedUnchangedKept) {
  Scheduler a(*store_a_, clock_, Counting(*store_a_), DayPoll());
  ASSERT_TRUE(a.SetPipelines({Spec(MonthEndPipeline("skip"))}).ok());
  auto before = store_a_->ListSchedules();
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 1u);
  EXPECT_EQ((*before)[0].next_fire_at_ms, ManilaMillis(2026, 1, 1, 6));
  EXPECT_EQ((*before)[0].cron, "0 6 1W * *");
  EXPECT_EQ((*before)[0].timezone, "Asia/Manila");

  // Unchanged: the stored time stays even though the clock moved past it (it is due).
  clock_->Set(ManilaMillis(2026, 1, 1, 7));
  ASSERT_TRUE(a.SetPipelines({Spec(MonthEndPipeline("all"))}).ok());
  auto kept = store_a_->ListSchedules();
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ((*kept)[0].next_fire_at_ms, ManilaMillis(2026, 1, 1, 6));
  EXPECT_EQ((*kept)[0].catch_up, control::CatchUpPolicy::kCatchUp);

  // Changed cron: recomputed from now.
  std::string yaml = MonthEndPipeline("all");
  yaml.replace(yaml.find("0 6 1W"), 6, "0 9 LW");
  ASSERT_TRUE(a.SetPipelines({Spec(yaml)}).ok());
  auto changed = store_a_->ListSchedules();
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ((*changed)[0].cron, "0 9 LW * *");
  EXPECT_EQ((*changed)[0].next_fire_at_ms, ManilaMillis(2026, 1, 30, 9));
}

TEST_P(SchedulerTest, FailedLaunchIsRetriedNotLost) {
  int calls = 0;
  RunLauncher flaky = [&](const control::NewRun& run) -> Status {
    if (++calls == 1) return Status::IOError("executor unavailable");
    return store_a_->CreateRun(run);
  };
  Scheduler a(*store_a_, clock_, flaky, DayPoll());
  ASSERT_TRUE(a.SetPipelines({Spec(MonthEndPipeline("skip"))}).ok());
  clock_->Set(ManilaMillis(2026, 1, 1, 6));
  auto wake = a.Tick();
  ASSERT_TRUE(wake.ok());
  EXPECT_EQ(a.stats().launch_errors, 1);
  EXPECT_EQ(Runs().size(), 0u);
  // The failed time is retried after the poll interval, not busy-looped.
  EXPECT_EQ(*wake, clock_->NowMillis() + DayPoll().poll_interval_ms);
  clock_->Advance(1000);
  ASSERT_TRUE(a.Tick().ok());
  ASSERT_EQ(Runs().size(), 1u);
  EXPECT_EQ(Runs()[0].logical_date, "2026-01-01T06:00:00+08:00");
}

TEST_P(SchedulerTest, CrashBetweenLaunchAndAdvanceDoesNotDoubleTheRun) {
  // The first launcher creates the run and then "crashes" before the schedule advances.
  RunLauncher crashing = [&](const control::NewRun& run) -> Status {
    Status s = store_a_->CreateRun(run);
    if (!s.ok()) return s;
    return Status::IOError("process died after creating " + run.id);
  };
  {
    Scheduler a(*store_a_, clock_, crashing, DayPoll());
    ASSERT_TRUE(a.SetPipelines({Spec(MonthEndPipeline("all"))}).ok());
    clock_->Set(ManilaMillis(2026, 1, 1, 6));
    ASSERT_TRUE(a.Tick().ok());
  }
  Scheduler b(*store_b_, clock_, Counting(*store_b_), DayPoll());
  ASSERT_TRUE(b.SetPipelines({Spec(MonthEndPipeline("all"))}).ok());
  ASSERT_TRUE(b.Tick().ok());
  ASSERT_EQ(Runs().size(), 1u);
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_TRUE(launched_.empty());  // b found the run made and only advanced
  auto schedules = store_b_->ListSchedules();
  ASSERT_TRUE(schedules.ok());
  EXPECT_EQ((*schedules)[0].next_fire_at_ms, ManilaMillis(2026, 2, 2, 6));
}

TEST_P(SchedulerTest, RemovedPipelineIsNotFired) {
  Scheduler a(*store_a_, clock_, Counting(*store_a_), DayPoll());
  ASSERT_TRUE(a.SetPipelines({Spec(MonthEndPipeline("skip"))}).ok());
  ASSERT_TRUE(a.SetPipelines({}).ok());
  clock_->Set(ManilaMillis(2026, 1, 1, 6));
  ASSERT_TRUE(a.Tick().ok());
  EXPECT_EQ(Runs().size(), 0u);
}

TEST_P(SchedulerTest, LoadPipelinesReportsBrokenFilesAndKeepsOthers) {
  ASSERT_TRUE(fs_->CreateDirs(dir_ + "/pipelines").ok());
  ASSERT_TRUE(fs_->WriteFile(dir_ + "/pipelines/a.yml", MonthEndPipeline("skip")).ok());
  ASSERT_TRUE(
      fs_->WriteFile(dir_ + "/pipelines/b.yml", "name: b\nschedule: \"0 2 32 * *\"\n").ok());
  ASSERT_TRUE(fs_->WriteFile(dir_ + "/pipelines/notes.txt", "not a pipeline").ok());
  auto loaded = LoadPipelines(dir_ + "/pipelines", *fs_, SystemTimeZoneLoader(*fs_));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->specs.size(), 1u);
  EXPECT_EQ(loaded->specs[0].name, "month_end");
  ASSERT_EQ(loaded->errors.size(), 1u);
  EXPECT_NE(loaded->errors[0].message().find("b.yml:2:"), std::string::npos)
      << loaded->errors[0].message();
  auto none = LoadPipelines(dir_ + "/absent", *fs_, SystemTimeZoneLoader(*fs_));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->specs.empty());
}

}  // namespace
}  // namespace dew::orchestrator
