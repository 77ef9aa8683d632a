// dew build twice through the real binary — the second time with a volume drop and a failing
// test — then dew quality report (table and JSON) reads the stored results and scores back.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>

#include "core/file_system.h"
#include "support/dew_process.h"

namespace dew {
namespace {

using testing::RunDew;

class QualityCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_qualitycli_XXXXXX";
    dir_ = mkdtemp(tmpl);
    scratch_ = dir_ + "/.scratch";
    fs_ = FileSystem::Posix();
    ASSERT_TRUE(fs_->CreateDirs(scratch_).ok());
    auto init = Dew({"init", "shop"});
    ASSERT_EQ(init.code, 0) << init.err;
    root_ = dir_ + "/shop";
    Write("dew.yml",
          "name: shop\nmodels:\n"
          "  staging: {+materialized: view}\n  marts: {+materialized: table, +layer: gold}\n");
    Write("models/staging/stg_orders.sql", "select id, status, amount from {{ ref('orders') }}\n");
    Write("models/marts/gold_orders_by_status.sql",
          "select status, count(*) as orders from {{ ref('stg_orders') }} group by 1\n");
    Write("models/schema.yml",
          "models:\n"
          "  - name: stg_orders\n"
          "    tests:\n"
          "      - row_count: {min: 1, severity: warn}\n"
          "    columns:\n"
          "      - name: id\n"
          "        tests: [not_null]\n"
          "  - name: gold_orders_by_status\n"
          "    columns:\n"
          "      - name: status\n"
          "        tests: [{accepted_values: {values: [paid, open]}}]\n");
    Write("tests/assert_no_negative_amount.sql",
          "select * from {{ ref('stg_orders') }} where amount < 0\n");
  }
  void TearDown() override { (void)fs_->RemoveAll(dir_); }
  void Write(const std::string& rel, const std::string& text) {
    const std::string path = root_ + "/" + rel;
    ASSERT_TRUE(fs_->CreateDirs(path.substr(0, path.rfind('/'))).ok());
    ASSERT_TRUE(fs_->WriteFile(path, text).ok());
  }
  void WriteOrders(int rows, bool with_lost) {
    std::string csv = "id,status,amount\n";
    for (int i = 1; i <= rows; ++i) {
      const char* status = with_lost && i == rows ? "lost" : (i % 2 ? "paid" : "open");
      csv += std::to_string(i) + "," + status + "," + std::to_string(i * 10) + "\n";
    }
    Write("seeds/orders.csv", csv);
  }
  testing::DewRun Dew(const std::vector<std::string>& args) {
    return RunDew(root_.empty() ? dir_ : root_, args, scratch_);
  }

  std::string dir_, scratch_, root_;
  std::shared_ptr<FileSystem> fs_;
};

TEST_F(QualityCliTest, TwoBuildsThenTheReportShowsScoresTrendsAndTheVolumeDrop) {
  auto empty = Dew({"quality", "report"});
  ASSERT_EQ(empty.code, 0) << empty.err;
  EXPECT_EQ(empty.out, "no test results recorded yet: run dew build or dew test\n");

  WriteOrders(10, false);
  auto first = Dew({"build"});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("PASS  row_count_stg_orders"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("row count 10 recorded; no earlier run to compare with"),
            std::string::npos)
      << first.out;

  // Half the orders, one with a status the gold model's test does not accept.
  WriteOrders(5, true);
  auto second = Dew({"build"});
  EXPECT_EQ(second.code, 1) << second.out << second.err;
  EXPECT_NE(second.out.find("WARN  row_count_stg_orders"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("volume anomaly in silver.stg_orders: row count 5 is outside 8..12 "
                            "(mean 10 of the last 1 run, ±20%)"),
            std::string::npos)
      << second.out;
  EXPECT_NE(second.out.find("FAIL  accepted_values_gold_orders_by_status_status"),
            std::string::npos)
      << second.out;

  auto report = Dew({"quality", "report"});
  ASSERT_EQ(report.code, 0) << report.err;
  const std::string& text = report.out;
  EXPECT_NE(text.find("quality scores (error checks weigh 3, warnings 1):"), std::string::npos)
      << text;
  // gold: its one error check failed (0/3); stg_orders: not_null passed, the row_count warning
  // did not ((3 + 0) / (3 + 1)); the singular test passed both times.
  EXPECT_NE(text.find("gold_orders_by_status"), std::string::npos) << text;
  EXPECT_NE(text.find("1.00 0.00"), std::string::npos) << text;
  EXPECT_NE(text.find("1.00 0.75"), std::string::npos) << text;
  EXPECT_NE(text.find("1.00 1.00"), std::string::npos) << text;
  EXPECT_NE(text.find("problems in the latest runs:"), std::string::npos) << text;
  EXPECT_NE(text.find("row count 5 is outside 8..12"), std::string::npos) << text;

  auto json = Dew({"--format", "json", "quality", "report"});
  ASSERT_EQ(json.code, 0) << json.err;
  auto doc = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << json.out;
  std::map<std::string, nlohmann::json> scores;
  for (const auto& s : doc["scores"]) scores[s["target"].get<std::string>()] = s;
  ASSERT_EQ(scores.size(), 3u) << json.out;
  EXPECT_DOUBLE_EQ(scores["gold_orders_by_status"]["score"].get<double>(), 0.0);
  EXPECT_EQ(scores["gold_orders_by_status"]["trend"], "1.00 0.00");
  EXPECT_DOUBLE_EQ(scores["stg_orders"]["score"].get<double>(), 0.75);
  EXPECT_EQ(scores["stg_orders"]["checks"], 2);
  EXPECT_EQ(scores["stg_orders"]["failed"], 1);
  EXPECT_DOUBLE_EQ(scores["tests/assert_no_negative_amount.sql"]["score"].get<double>(), 1.0);
  ASSERT_EQ(doc["problems"].size(), 2u) << json.out;
  const auto& gold = doc["problems"][0];
  EXPECT_EQ(gold["target"], "gold_orders_by_status");
  EXPECT_EQ(gold["status"], "fail");
  EXPECT_EQ(gold["severity"], "error");
  EXPECT_EQ(gold["failures"], 1);
  EXPECT_NE(gold["message"].get<std::string>().find("status=lost"), std::string::npos) << json.out;
  // The gold model's failure has a failing upstream table in the same run: stg_orders.
  EXPECT_EQ(gold["failing_upstream"], "stg_orders");
  const auto& stg = doc["problems"][1];
  EXPECT_EQ(stg["test"], "row_count_stg_orders");
  EXPECT_EQ(stg["type"], "row_count");
  EXPECT_EQ(stg["status"], "warn");
  EXPECT_EQ(stg["failing_upstream"], "");
  EXPECT_EQ(stg["run_id"], gold["run_id"]);

  auto one = Dew({"--format", "json", "quality", "report", "silver.stg_orders", "--trend", "1"});
  ASSERT_EQ(one.code, 0) << one.err;
  auto one_doc = nlohmann::json::parse(one.out, nullptr, false);
  ASSERT_EQ(one_doc["scores"].size(), 1u) << one.out;
  EXPECT_EQ(one_doc["scores"][0]["trend"], "0.75");
  EXPECT_EQ(one_doc["problems"].size(), 1u);

  auto unknown = Dew({"quality", "report", "nope"});
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.err.find("no quality score for 'nope'"), std::string::npos) << unknown.err;

  // Each build is a run in the control store, the second one failed.
  auto runs = Dew({"--format", "csv", "runs"});
  ASSERT_EQ(runs.code, 0) << runs.err;
  EXPECT_NE(runs.out.find(stg["run_id"].get<std::string>()), std::string::npos) << runs.out;
  EXPECT_NE(runs.out.find("failed"), std::string::npos) << runs.out;
}

TEST_F(QualityCliTest, DewTestRecordsARunToo) {
  WriteOrders(4, false);
  ASSERT_EQ(Dew({"build"}).code, 0);
  auto tested = Dew({"test"});
  ASSERT_EQ(tested.code, 0) << tested.out << tested.err;
  auto csv = Dew({"--format", "csv", "quality", "report", "stg_orders"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_NE(
      csv.out.find("target,score,checks,failed,trend,run_id\nstg_orders,1.000,2,0,1.00 1.00,"),
      std::string::npos)
      << csv.out;
}

}  // namespace
}  // namespace dew
