#include "quality/declared_tests.h"

#include <gtest/gtest.h>

#include "support/scratch_lake.h"

namespace dew::quality {
namespace {

// RunTestsTogether against RunTest on a real lake: the same outcome for every test, whether it
// passes, fails with a sample, errors, warns or is not a plain count.
class RunTestsTogetherTest : public testing::ScratchLakeTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenLake("run-t"));
    Create("silver.orders",
           "SELECT * FROM (VALUES (1, 'paid'), (2, 'open'), (2, 'lost'), (4, NULL)) t(id, status)");
  }
  void Add(const std::string& name, const std::string& column, nlohmann::json args = {},
           const std::string& severity = "error") {
    transform::TestSpec spec;
    spec.name = name;
    spec.column = column;
    if (!args.is_null()) spec.args = std::move(args);
    spec.severity = severity;
    spec.position = "models/schema.yml:3:9";
    auto none = [](const std::string& e) -> Result<std::string> {
      return Status::InvalidArgument("no relation " + e);
    };
    auto t = CompileTest(spec, "orders", "silver.orders", none, 1767225600000);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tests_.push_back(std::move(*t));
  }
  //! id, status, failures and message of each outcome, one line each.
  static std::string Show(const std::vector<TestOutcome>& outcomes) {
    std::string out;
    for (const auto& o : outcomes)
      out += o.id + " " + o.status + " " + std::to_string(o.failures) + " " + o.severity + " " +
             o.message + "\n";
    return out;
  }
  std::vector<TestOutcome> OneByOne() {
    std::vector<TestOutcome> out;
    for (const auto& t : tests_) out.push_back(RunTest(t, lake_.get()));
    return out;
  }

  std::vector<CompiledTest> tests_;
};

TEST_F(RunTestsTogetherTest, PassingFailingAndWarningTestsGetRunTestsOutcomes) {
  Add("not_null", "id");
  Add("unique", "id");  // fails: id 2 twice
  Add("not_null", "status", {}, "warn");
  Add("accepted_values", "status", {{"values", {"paid", "open", "lost"}}});
  Add("row_count", "", {{"min", 1}});  // not a plain count: runs alone
  const std::vector<TestOutcome> together = RunTestsTogether(tests_, lake_.get());
  ASSERT_EQ(together.size(), tests_.size());
  EXPECT_EQ(Show(together), Show(OneByOne()));
  EXPECT_EQ(together[0].status, "pass");
  EXPECT_EQ(together[1].status, "fail");
  EXPECT_NE(together[1].message.find("id=2"), std::string::npos) << together[1].message;
  EXPECT_EQ(together[2].status, "warn");
  EXPECT_EQ(together[3].status, "pass");
  EXPECT_EQ(together[4].status, "pass");
}

TEST_F(RunTestsTogetherTest, ATestThatCannotRunErrorsAloneWhileTheOthersStillPass) {
  Add("not_null", "id");
  Add("not_null", "no_such_column");  // the shared query fails: each runs alone
  Add("unique", "id", {}, "warn");
  const std::vector<TestOutcome> together = RunTestsTogether(tests_, lake_.get());
  EXPECT_EQ(Show(together), Show(OneByOne()));
  EXPECT_EQ(together[0].status, "pass");
  EXPECT_EQ(together[1].status, "error");
  EXPECT_NE(together[1].message.find("no_such_column"), std::string::npos) << together[1].message;
  EXPECT_EQ(together[2].status, "warn");
}

}  // namespace
}  // namespace dew::quality
