#include "connectors/key_digest.h"

#include <gtest/gtest.h>

#include <algorithm>

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

KeyDigest DigestOfKeys(const std::vector<int64_t>& keys) {
  KeyDigest d;
  d.has_sums = true;
  for (int64_t k : keys) {
    const __int128 r = k % KeyDigest::kSquareModulus;
    d.count += 1;
    d.sum += k;
    d.squares += r * r;
  }
  return d;
}

// One or two keys gone from a range are named from the digests alone; more, or a difference
// that is not keys of the range, name none.
TEST(KeyDigestTest, MissingKeysNamesOneOrTwoKeysOfARange) {
  std::vector<int64_t> all;
  for (int64_t k = 4096; k < 8192; ++k) all.push_back(k);
  auto without = [&](std::vector<int64_t> gone) {
    std::vector<int64_t> kept;
    for (int64_t k : all) {
      if (std::find(gone.begin(), gone.end(), k) == gone.end()) kept.push_back(k);
    }
    return DigestOfKeys(kept);
  };
  const KeyDigest lake = DigestOfKeys(all);
  auto keys = [](std::vector<int64_t> k) { return std::optional<std::vector<int64_t>>(k); };
  EXPECT_EQ(lake.MissingKeys(without({5000}), 4096, 8192), keys({5000}));
  EXPECT_EQ(lake.MissingKeys(without({4096, 8191}), 4096, 8192), keys({4096, 8191}));
  EXPECT_EQ(lake.MissingKeys(without({6000, 6001}), 4096, 8192), keys({6000, 6001}));
  EXPECT_EQ(lake.MissingKeys(without({5000, 6000, 7000}), 4096, 8192), std::nullopt);
  EXPECT_EQ(lake.MissingKeys(lake, 4096, 8192), std::nullopt);
  // The key lies outside the range asked about.
  EXPECT_EQ(lake.MissingKeys(without({5000}), 0, 4096), std::nullopt);
  // The source holds a key the lake lacks besides two it lost: the sums fit no key.
  KeyDigest odd = without({5000, 6000});
  odd.Add(DigestOfKeys({9000}));
  EXPECT_EQ(lake.MissingKeys(odd, 4096, 8192), std::nullopt);
  // Negative keys and keys beyond the squares' modulus, around zero and around a multiple of it.
  const std::vector<int64_t> around = {-3, -2, -1, 0, 1, 2};
  EXPECT_EQ(DigestOfKeys(around).MissingKeys(DigestOfKeys({-3, 0, 1, 2}), -4, 4), keys({-2, -1}));
  const int64_t m = KeyDigest::kSquareModulus;
  const std::vector<int64_t> wide = {5 * m - 2, 5 * m - 1, 5 * m, 5 * m + 1};
  EXPECT_EQ(
      DigestOfKeys(wide).MissingKeys(DigestOfKeys({5 * m - 2, 5 * m + 1}), 5 * m - 64, 5 * m + 64),
      keys({5 * m - 1, 5 * m}));
  // Without sums nothing is named.
  EXPECT_EQ(KeyDigest().MissingKeys(KeyDigest(), 0, 10), std::nullopt);
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
