#include "orchestrator/run_coordinator.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "core/file_system.h"
#include "support/test_control_database.h"

namespace dew::orchestrator {
namespace {

using control::AttemptRecord;
using control::AttemptStatus;
using control::RunStatus;

constexpr int64_t kT0 = 1'800'000'000'000;

TimeZoneLoader UtcOnly() {
  return [](const std::string& name) -> Result<TimeZone> {
    return Status::NotFound("no zone " + name);
  };
}

PipelineSpec MustParse(const std::string& yaml) {
  auto spec = PipelineSpec::Parse(yaml, "pipelines/p.yml", UtcOnly());
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? *spec : PipelineSpec{};
}

const char* kDiamond = R"(name: diamond
params: {day: "2026-01-01"}
tasks:
  - {name: a, kind: shell, command: "echo ${params.day}"}
  - {name: b, kind: shell, command: "true", depends_on: [a]}
  - {name: c, kind: shell, command: "true", depends_on: [a]}
  - {name: d, kind: shell, command: "true", depends_on: [b, c]}
)";

const char* kRetry = R"(name: flaky
tasks:
  - name: x
    kind: shell
    command: "false"
    retries: {count: 2, backoff: 1s, max_delay: 10s}
    on_failure: tell
  - {name: y, kind: shell, command: "true", depends_on: [x]}
  - {name: z, kind: shell, command: "true", depends_on: [y]}
  - {name: other, kind: shell, command: "true"}
  - {name: tell, kind: shell, command: "true"}
)";

//! Every test runs on SQLite and on PostgreSQL.
class RunCoordinatorTest : public ::testing::TestWithParam<testing::StoreBackend> {
 protected:
  void SetUp() override {
    if (!testing::StoreBackendAvailable(GetParam()))
      GTEST_SKIP() << "PostgreSQL 15 is not installed";
    char tmpl[] = "/tmp/dew_coord_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    clock_ = std::make_shared<ManualClock>(kT0);
    auto db = testing::TestControlDatabase::Create(GetParam(), dir_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto store = db_.Open(clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    coord_ = std::make_unique<RunCoordinator>(store_.get(), Resolver(), clock_);
  }

  PipelineResolver Resolver() {
    return [this](const std::string& name) -> Result<PipelineSpec> {
      auto it = specs_.find(name);
      if (it == specs_.end()) return Status::NotFound("no pipeline " + name);
      return it->second;
    };
  }

  std::string Start(const std::string& yaml, std::map<std::string, std::string> params = {}) {
    PipelineSpec spec = MustParse(yaml);
    specs_[spec.name] = spec;
    StartRunRequest req;
    req.params = std::move(params);
    req.triggered_by = "alice";
    auto id = coord_->StartRun(spec, req);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }

  //! Claims every claimable attempt, in claim order.
  std::vector<AttemptRecord> ClaimAll() {
    std::vector<AttemptRecord> out;
    for (;;) {
      auto a = store_->ClaimNextAttempt("w1");
      EXPECT_TRUE(a.ok()) << a.status().ToString();
      if (!a.ok() || !a->has_value()) return out;
      out.push_back(**a);
    }
  }

  void Finish(const AttemptRecord& a, AttemptStatus status, const std::string& error = "") {
    ASSERT_TRUE(store_->FinishAttempt(a.id, status, 1, 2, error).ok());
    Status s = coord_->Advance(a.run_id);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::map<std::string, AttemptRecord> Latest(const std::string& run) {
    std::map<std::string, AttemptRecord> out;
    auto all = store_->ListAttempts(run);
    EXPECT_TRUE(all.ok());
    for (const AttemptRecord& a : *all) {
      if (out.count(a.task) == 0 || out[a.task].attempt < a.attempt) out[a.task] = a;
    }
    return out;
  }

  static std::vector<std::string> Tasks(const std::vector<AttemptRecord>& as) {
    std::vector<std::string> out;
    for (const auto& a : as) out.push_back(a.task);
    return out;
  }

  std::string dir_;
  testing::TestControlDatabase db_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<control::ControlStore> store_;
  std::map<std::string, PipelineSpec> specs_;
  std::unique_ptr<RunCoordinator> coord_;

  void TearDown() override {
    s1_.reset();
    s2_.reset();
    store_.reset();
    if (!dir_.empty()) (void)FileSystem::Posix()->RemoveAll(dir_);
  }
  // Two workers (store and coordinator each) on one database, as two processes have them.
  void OpenTwoWorkers() {
    ASSERT_EQ(mkdir((dir_ + "/shared").c_str(), 0755), 0);
    auto db = testing::TestControlDatabase::Create(GetParam(), dir_ + "/shared");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto clock = Clock::System();
    for (auto* s : {&s1_, &s2_}) {
      auto store = db->Open(clock);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      *s = std::move(store).value();
    }
    diamond_ = MustParse(kDiamond);
    specs_[diamond_.name] = diamond_;
    c1_ = std::make_unique<RunCoordinator>(s1_.get(), Resolver(), clock);
    c2_ = std::make_unique<RunCoordinator>(s2_.get(), Resolver(), clock);
  }
  //! Starts a diamond run on worker 1, runs a (advancing with AdvanceAfterSuccess when
  //! `incremental`) and claims b and c.
  void RunUpToSiblings(bool incremental, std::string* run, AttemptRecord* b, AttemptRecord* c) {
    auto id = c1_->StartRun(diamond_, {});
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    *run = *id;
    auto a = s1_->ClaimNextAttempt("w");
    ASSERT_TRUE(a.ok() && a->has_value());
    ASSERT_TRUE(s1_->FinishAttempt((*a)->id, AttemptStatus::kSucceeded, 0, 0).ok());
    ASSERT_TRUE((incremental ? c1_->AdvanceAfterSuccess(**a) : c1_->Advance(*id)).ok());
    auto first = s1_->ClaimNextAttempt("w");
    auto second = s1_->ClaimNextAttempt("w");
    ASSERT_TRUE(first.ok() && first->has_value() && second.ok() && second->has_value());
    *b = **first;
    *c = **second;
  }
  PipelineSpec diamond_;
  std::unique_ptr<control::ControlStore> s1_, s2_;
  std::unique_ptr<RunCoordinator> c1_, c2_;
};

INSTANTIATE_TEST_SUITE_P(Stores, RunCoordinatorTest, testing::BothStores(),
                         testing::StoreBackendName);

TEST_P(RunCoordinatorTest, FanOutFanInRunsInOrder) {
  const std::string run = Start(kDiamond, {{"day", "2026-02-01"}});
  auto r = store_->GetRun(run);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, RunStatus::kRunning);
  EXPECT_EQ(r->triggered_by, "alice");
  EXPECT_EQ(r->params_json, R"({"day":"2026-02-01"})");
  EXPECT_FALSE(store_->GetPipeline("diamond")->spec_hash.empty());

  auto first = ClaimAll();
  ASSERT_EQ(Tasks(first), std::vector<std::string>({"a"}));
  Finish(first[0], AttemptStatus::kSucceeded);
  auto second = ClaimAll();
  ASSERT_EQ(Tasks(second), std::vector<std::string>({"b", "c"}));
  Finish(second[0], AttemptStatus::kSucceeded);
  EXPECT_TRUE(ClaimAll().empty());  // d waits for c
  Finish(second[1], AttemptStatus::kSucceeded);
  auto third = ClaimAll();
  ASSERT_EQ(Tasks(third), std::vector<std::string>({"d"}));
  EXPECT_EQ(store_->GetRun(run)->status, RunStatus::kRunning);
  Finish(third[0], AttemptStatus::kSucceeded);
  EXPECT_EQ(store_->GetRun(run)->status, RunStatus::kSucceeded);
  // Advancing a finished run again changes nothing.
  ASSERT_TRUE(coord_->Advance(run).ok());
  EXPECT_EQ(store_->ListAttempts(run)->size(), 4u);
  // The params reached the tasks.
  auto graph = coord_->GraphFor(*store_->GetRun(run));
  ASSERT_TRUE(graph.ok());
  EXPECT_EQ((*graph)->Find("a")->Field("command"), "echo 2026-02-01");
}

TEST_P(RunCoordinatorTest, RetriesWithBackoffThenSkipsDownstreamAndRunsTheHandler) {
  const std::string run = Start(kRetry);
  auto first = ClaimAll();
  ASSERT_EQ(Tasks(first), std::vector<std::string>({"other", "x"}));
  Finish(first[0], AttemptStatus::kSucceeded);
  Finish(first[1], AttemptStatus::kFailed, "exit 1");
  // Attempt 2 exists but is claimable only after its jittered delay (at most 1 s).
  auto latest = Latest(run);
  ASSERT_EQ(latest["x"].attempt, 2);
  EXPECT_EQ(latest["x"].status, RunStatus::kQueued);
  EXPECT_GE(latest["x"].not_before_ms, kT0);
  EXPECT_LE(latest["x"].not_before_ms, kT0 + 1000);
  if (latest["x"].not_before_ms > kT0) {
    EXPECT_TRUE(ClaimAll().empty());
  }
  clock_->Advance(1000);
  auto second = ClaimAll();
  ASSERT_EQ(Tasks(second), std::vector<std::string>({"x"}));
  EXPECT_EQ(second[0].attempt, 2);
  Finish(second[0], AttemptStatus::kFailed, "exit 1");
  latest = Latest(run);
  ASSERT_EQ(latest["x"].attempt, 3);
  EXPECT_LE(latest["x"].not_before_ms, clock_->NowMillis() + 2000);  // the cap doubled
  clock_->Advance(2000);
  auto third = ClaimAll();
  ASSERT_EQ(Tasks(third), std::vector<std::string>({"x"}));
  Finish(third[0], AttemptStatus::kFailed, "exit 1 again");
  // Out of retries: y and z are skipped, the handler runs, and the run waits for it.
  latest = Latest(run);
  EXPECT_EQ(latest["y"].status, RunStatus::kSkipped);
  EXPECT_EQ(latest["z"].status, RunStatus::kSkipped);
  EXPECT_NE(latest["z"].error.find("upstream task x failed"), std::string::npos);
  EXPECT_EQ(store_->GetRun(run)->status, RunStatus::kRunning);
  auto handler = ClaimAll();
  ASSERT_EQ(Tasks(handler), std::vector<std::string>({"tell"}));
  Finish(handler[0], AttemptStatus::kSucceeded);
  auto r = store_->GetRun(run);
  EXPECT_EQ(r->status, RunStatus::kFailed);
  EXPECT_EQ(r->error, "task x failed: exit 1 again");
}

TEST_P(RunCoordinatorTest, ConcurrentAdvancesEnqueueEachTaskOnce) {
  OpenTwoWorkers();
  for (int round = 0; round < 10; ++round) {
    std::string run;
    AttemptRecord b, c;
    RunUpToSiblings(false, &run, &b, &c);
    // Both siblings finish at once on two "workers", each advancing the run several times.
    ASSERT_TRUE(s1_->FinishAttempt(b.id, AttemptStatus::kSucceeded, 0, 0).ok());
    ASSERT_TRUE(s2_->FinishAttempt(c.id, AttemptStatus::kSucceeded, 0, 0).ok());
    std::atomic<int> errors{0};
    std::thread t1([&] {
      for (int i = 0; i < 5; ++i) errors += !c1_->Advance(run).ok();
    });
    std::thread t2([&] {
      for (int i = 0; i < 5; ++i) errors += !c2_->Advance(run).ok();
    });
    t1.join();
    t2.join();
    EXPECT_EQ(errors.load(), 0);
    auto attempts = s1_->ListAttempts(run);
    ASSERT_TRUE(attempts.ok());
    int d = 0;
    for (const auto& at : *attempts) d += at.task == "d";
    EXPECT_EQ(d, 1) << "round " << round;
    auto last = s2_->ClaimNextAttempt("w");
    ASSERT_TRUE(last.ok() && last->has_value());
    ASSERT_TRUE(s2_->FinishAttempt((*last)->id, AttemptStatus::kSucceeded, 0, 0).ok());
    std::thread f1([&] { errors += !c1_->Advance(run).ok(); });
    std::thread f2([&] { errors += !c2_->Advance(run).ok(); });
    f1.join();
    f2.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(s1_->GetRun(run)->status, RunStatus::kSucceeded);
  }
}

//! Two workers finish the two parents of d at the same moment, each advancing with
//! AdvanceAfterSuccess (which reads only d's parents): d is enqueued, and only once. c2 never
//! started a run, so it also takes the fallback through Advance.
TEST_P(RunCoordinatorTest, AdvanceAfterSuccessEnqueuesAJoinOnceWhenItsParentsFinishTogether) {
  OpenTwoWorkers();
  for (int round = 0; round < 20; ++round) {
    std::string run;
    AttemptRecord b, c;
    RunUpToSiblings(true, &run, &b, &c);
    EXPECT_FALSE(s1_->ClaimNextAttempt("w")->has_value()) << "d ran before b and c";
    std::atomic<int> errors{0};
    auto finish = [&](control::ControlStore* store, RunCoordinator* coord,
                      const AttemptRecord& at) {
      errors += !store->FinishAttempt(at.id, AttemptStatus::kSucceeded, 0, 0).ok();
      errors += !coord->AdvanceAfterSuccess(at).ok();
    };
    std::thread t1(finish, s1_.get(), c1_.get(), b);
    std::thread t2(finish, s2_.get(), c2_.get(), c);
    t1.join();
    t2.join();
    EXPECT_EQ(errors.load(), 0);
    auto attempts = s1_->ListAttempts(run);
    ASSERT_TRUE(attempts.ok());
    int d = 0;
    for (const auto& at : *attempts) d += at.task == "d";
    ASSERT_EQ(d, 1) << "round " << round;
    // d is a sink: its success ends the run through the full Advance.
    auto last = s2_->ClaimNextAttempt("w");
    ASSERT_TRUE(last.ok() && last->has_value());
    ASSERT_TRUE(s2_->FinishAttempt((*last)->id, AttemptStatus::kSucceeded, 0, 0).ok());
    ASSERT_TRUE(c2_->AdvanceAfterSuccess(**last).ok());
    EXPECT_EQ(s1_->GetRun(run)->status, RunStatus::kSucceeded);
  }
}

//! A success next to a failed sibling leaves the join to Advance: retry first, no join yet.
TEST_P(RunCoordinatorTest, AdvanceAfterSuccessLeavesFailuresToAdvance) {
  const std::string run = Start(kDiamond);
  auto first = ClaimAll();
  ASSERT_EQ(first.size(), 1u);
  Finish(first[0], AttemptStatus::kSucceeded);
  auto second = ClaimAll();
  ASSERT_EQ(Tasks(second), std::vector<std::string>({"b", "c"}));
  ASSERT_TRUE(store_->FinishAttempt(second[1].id, AttemptStatus::kFailed, 0, 0, "boom").ok());
  ASSERT_TRUE(store_->FinishAttempt(second[0].id, AttemptStatus::kSucceeded, 0, 0).ok());
  ASSERT_TRUE(coord_->AdvanceAfterSuccess(second[0]).ok());
  auto latest = Latest(run);
  EXPECT_EQ(latest.count("d"), 1u);
  EXPECT_EQ(latest["d"].status, RunStatus::kSkipped);
  EXPECT_EQ(store_->GetRun(run)->status, RunStatus::kFailed);
}

TEST_P(RunCoordinatorTest, CancelSkipsWhatHasNotStarted) {
  const std::string run = Start(kDiamond);
  auto a = ClaimAll();
  ASSERT_EQ(a.size(), 1u);
  Finish(a[0], AttemptStatus::kSucceeded);
  auto bc = ClaimAll();  // b and c running
  ASSERT_EQ(bc.size(), 2u);
  ASSERT_TRUE(coord_->CancelRun(run, "bob").ok());
  auto r = store_->GetRun(run);
  EXPECT_EQ(r->status, RunStatus::kCancelled);
  EXPECT_EQ(r->error, "cancelled by bob");
  auto latest = Latest(run);
  EXPECT_EQ(latest["d"].status, RunStatus::kSkipped);
  EXPECT_EQ(latest["b"].status, RunStatus::kRunning);  // its worker stops it
  Finish(bc[0], AttemptStatus::kCancelled, "run cancelled");
  Finish(bc[1], AttemptStatus::kSucceeded);
  EXPECT_EQ(store_->GetRun(run)->status, RunStatus::kCancelled);
  EXPECT_TRUE(coord_->CancelRun(run, "bob").IsInvalidArgument());
}

TEST_P(RunCoordinatorTest, PipelineConcurrencyQueuesRuns) {
  const char* yaml = R"(name: one_at_a_time
concurrency: 1
tasks:
  - {name: t, kind: shell, command: "true"}
)";
  const std::string r1 = Start(yaml);
  const std::string r2 = Start(yaml);
  EXPECT_EQ(store_->GetRun(r1)->status, RunStatus::kRunning);
  EXPECT_EQ(store_->GetRun(r2)->status, RunStatus::kQueued);
  auto first = ClaimAll();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].run_id, r1);
  Finish(first[0], AttemptStatus::kSucceeded);
  EXPECT_EQ(store_->GetRun(r1)->status, RunStatus::kSucceeded);
  EXPECT_EQ(store_->GetRun(r2)->status, RunStatus::kRunning);
  auto second = ClaimAll();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].run_id, r2);
}

TEST_P(RunCoordinatorTest, RefusesUnknownParams) {
  PipelineSpec ok = MustParse(kDiamond);
  StartRunRequest req;
  req.params = {{"dya", "x"}};
  EXPECT_TRUE(coord_->StartRun(ok, req).status().IsInvalidArgument());
}

TEST_P(RunCoordinatorTest, PriorityOrdersClaims) {
  const char* low = R"(name: low
tasks:
  - {name: t, kind: shell, command: "true"}
)";
  const char* high = R"(name: high
priority: 5
tasks:
  - {name: t, kind: shell, command: "true"}
  - {name: u, kind: shell, command: "true", priority: 3}
)";
  Start(low);
  Start(high);
  auto all = ClaimAll();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].task, "u");
  EXPECT_EQ(all[1].task, "t");
  EXPECT_EQ(store_->GetRun(all[1].run_id)->pipeline, "high");
  EXPECT_EQ(store_->GetRun(all[2].run_id)->pipeline, "low");
}

}  // namespace
}  // namespace dew::orchestrator
