// The report read back from a real SQLite control store.
#include "quality/quality_report.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "control/sqlite_control_store.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "quality/quality_score.h"

namespace dew::quality {
namespace {

class QualityReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_quality_report_XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto store = control::SqliteControlStore::Open(dir_ + "/control.db",
                                                   std::make_shared<ManualClock>(1000));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    (void)FileSystem::Posix()->RemoveAll(dir_);
  }

  //! Records one run: `results` as (target, status) error checks, scored with `upstream`.
  void RecordRun(const std::string& run_id, int64_t at,
                 const std::vector<std::pair<std::string, std::string>>& results) {
    control::NewRun run;
    run.id = run_id;
    run.pipeline = "build";
    ASSERT_TRUE(store_->CreateRun(run).ok());
    std::vector<control::TestResultRecord> records;
    for (const auto& [target, status] : results) {
      control::TestResultRecord r;
      r.run_id = run_id;
      r.target = target;
      r.test_id = "not_null_" + target;
      r.test_type = "not_null";
      r.severity = "error";
      r.status = status;
      r.failures = status == "pass" ? 0 : 1;
      r.message = status == "pass" ? "" : "1 failing row in silver." + target + "\n    id=NULL";
      r.at_ms = at;
      records.push_back(r);
    }
    ASSERT_TRUE(store_->AddTestResults(records).ok());
    const UpstreamMap up = {{"gold", {"mid"}}, {"mid", {"stg"}}, {"stg", {"source:erp.orders"}}};
    ASSERT_TRUE(store_->AddQualityScores(ScoreRun(run_id, at, records, up)).ok());
  }

  std::string dir_;
  std::unique_ptr<control::SqliteControlStore> store_;
};

TEST_F(QualityReportTest, NothingRecordedIsAnEmptyReport) {
  auto report = BuildQualityReport(*store_, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->targets.empty());
  EXPECT_TRUE(report->problems.empty());
  QualityReportOptions one;
  one.target = "gold";
  EXPECT_EQ(BuildQualityReport(*store_, one).status().message(),
            "no quality score for 'gold' (no test results recorded yet: run dew build or dew "
            "test)");
}

TEST_F(QualityReportTest, ScoresTrendsProblemsAndFailingUpstream) {
  RecordRun("r1", 10, {{"source:erp.orders", "pass"}, {"stg", "pass"}, {"gold", "pass"}});
  // r2: the source fails, stg passes, mid is not tested, gold fails: gold's failing upstream is
  // the source (through mid and stg), not stg.
  RecordRun("r2", 20,
            {{"source:erp.orders", "fail"}, {"stg", "pass"}, {"gold", "fail"}, {"gold", "pass"}});
  auto report = BuildQualityReport(*store_, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->targets.size(), 3u);
  EXPECT_EQ(report->targets[0].latest.target, "gold");
  EXPECT_DOUBLE_EQ(report->targets[0].latest.score(), 0.5);
  EXPECT_EQ(report->targets[0].trend, (std::vector<double>{1.0, 0.5}));
  EXPECT_EQ(report->targets[1].latest.target, "source:erp.orders");
  EXPECT_EQ(report->targets[1].trend, (std::vector<double>{1.0, 0.0}));
  EXPECT_EQ(report->targets[2].latest.target, "stg");
  ASSERT_EQ(report->problems.size(), 2u);
  EXPECT_EQ(report->problems[0].result.target, "gold");
  EXPECT_EQ(report->problems[0].result.run_id, "r2");
  EXPECT_EQ(report->problems[0].failing_upstream, (std::vector<std::string>{"source:erp.orders"}));
  EXPECT_EQ(report->problems[1].result.target, "source:erp.orders");
  EXPECT_TRUE(report->problems[1].failing_upstream.empty());

  QualityReportOptions one;
  one.target = "silver.stg";  // a model's relation names it too
  one.trend_length = 1;
  auto stg = BuildQualityReport(*store_, one);
  ASSERT_TRUE(stg.ok()) << stg.status().ToString();
  ASSERT_EQ(stg->targets.size(), 1u);
  EXPECT_EQ(stg->targets[0].latest.target, "stg");
  EXPECT_EQ(stg->targets[0].trend, (std::vector<double>{1.0}));
  EXPECT_TRUE(stg->problems.empty());

  one.target = "nope";
  auto missing = BuildQualityReport(*store_, one);
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_EQ(missing.status().message(),
            "no quality score for 'nope' (scored: gold, source:erp.orders, stg)");
}

}  // namespace
}  // namespace dew::quality
