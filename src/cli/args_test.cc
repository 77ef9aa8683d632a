#include "cli/args.h"

#include <gtest/gtest.h>

namespace dew::cli {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"file", 'f', true, "FILE", ""}, {"force", 0, false, "", ""}, {"limit", 0, true, "N", ""}};

TEST(ArgsTest, ParsesOptionsFlagsAndPositionals) {
  auto p = ParseArgs({"a", "-f", "x.sql", "--force", "--limit=3", "b", "--", "--force"}, kSpecs);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->positional, (std::vector<std::string>{"a", "b", "--force"}));
  EXPECT_EQ(p->Get("file"), "x.sql");
  EXPECT_TRUE(p->Has("force"));
  EXPECT_EQ(p->Get("limit"), "3");
  EXPECT_EQ(p->Get("missing", "dflt"), "dflt");
  auto neg = ParseArgs({"-5", "-"}, kSpecs);
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(neg->positional, (std::vector<std::string>{"-5", "-"}));
}

TEST(ArgsTest, ErrorsNameTheOption) {
  auto unknown = ParseArgs({"--nope"}, kSpecs);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("--nope"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("--file"), std::string::npos);
  auto missing = ParseArgs({"--limit"}, kSpecs);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--limit needs a value"), std::string::npos);
  EXPECT_FALSE(ParseArgs({"--force=yes"}, kSpecs).ok());
  EXPECT_FALSE(ParseArgs({"-x"}, kSpecs).ok());
  EXPECT_EQ(*ParseCount("12", "--limit"), 12);
  EXPECT_FALSE(ParseCount("1x", "--limit").ok());
  EXPECT_FALSE(ParseCount("", "--limit").ok());
}

}  // namespace
}  // namespace dew::cli
