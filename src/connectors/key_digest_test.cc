#include "connectors/key_digest.h"

#include <gtest/gtest.h>

namespace dew::connectors {
namespace {

TEST(KeyDigestTest, ParsesAddsAndPrintsBeyondSixtyFourBits) {
  auto a = KeyDigest::FromText({"3", "-170141183460469231731687303715884105", std::nullopt}, true);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->ToString(), "count 3, sum -170141183460469231731687303715884105, squares 0");
  auto b = KeyDigest::FromText({"2", "18446744073709551616", "7"}, true);
  ASSERT_TRUE(b.has_value());
  KeyDigest sum = *a;
  sum.Add(*b);
  sum.Subtract(*b);
  EXPECT_TRUE(sum == *a);
  EXPECT_FALSE(sum == *b);
  auto round_trip = KeyDigest::FromJson(b->ToJson());
  ASSERT_TRUE(round_trip.has_value());
  EXPECT_TRUE(*round_trip == *b);
  EXPECT_EQ(b->ToJson().dump(), R"({"count":"2","squares":"7","sum":"18446744073709551616"})");
}

TEST(KeyDigestTest, CountOnlyWithoutASingleIntegerKey) {
  EXPECT_TRUE(KeyDigest::SumsKeys({"INTEGER"}));
  EXPECT_TRUE(KeyDigest::SumsKeys({"BIGINT"}));
  EXPECT_FALSE(KeyDigest::SumsKeys({"VARCHAR"}));
  EXPECT_FALSE(KeyDigest::SumsKeys({"INTEGER", "INTEGER"}));
  EXPECT_EQ(KeyDigest::SelectSql("k", false), "count(*)");
  auto d = KeyDigest::FromText({"5"}, false);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->ToString(), "count 5");
  EXPECT_EQ(d->ToJson().dump(), R"({"count":"5"})");
  // Not numbers, or missing values.
  EXPECT_FALSE(KeyDigest::FromText({"x"}, false).has_value());
  EXPECT_FALSE(KeyDigest::FromText({"1", "2"}, true).has_value());
  EXPECT_FALSE(KeyDigest::FromText({"1", "2", "3a"}, true).has_value());
  EXPECT_FALSE(KeyDigest::FromJson(nlohmann::json::object()).has_value());
  EXPECT_FALSE(KeyDigest::FromJson({{"count", "1"}, {"sum", "2"}}).has_value());
}

}  // namespace
}  // namespace dew::connectors
