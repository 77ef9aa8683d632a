#include "quality/volume_anomaly.h"

#include <gtest/gtest.h>

namespace dew::quality {
namespace {

TEST(VolumeAnomalyTest, AHalfDropIsAnAnomaly) {
  VolumeVerdict v = CheckVolume(50, {100, 100, 100, 100, 100}, VolumeRule{});
  EXPECT_TRUE(v.anomaly);
  EXPECT_FALSE(v.first);
  EXPECT_DOUBLE_EQ(v.mean, 100);
  EXPECT_DOUBLE_EQ(v.low, 80);
  EXPECT_DOUBLE_EQ(v.high, 120);
  EXPECT_EQ(v.history, 5);
  EXPECT_EQ(v.message, "row count 50 is outside 80..120 (mean 100 of the last 5 runs, ±20%)");
}

TEST(VolumeAnomalyTest, TheBandsEndsAreInside) {
  EXPECT_FALSE(CheckVolume(80, {100}, VolumeRule{}).anomaly);
  EXPECT_FALSE(CheckVolume(120, {100}, VolumeRule{}).anomaly);
  EXPECT_TRUE(CheckVolume(79, {100}, VolumeRule{}).anomaly);
  EXPECT_TRUE(CheckVolume(121, {100}, VolumeRule{}).anomaly);
  EXPECT_EQ(CheckVolume(121, {100}, VolumeRule{}).message,
            "row count 121 is outside 80..120 (mean 100 of the last 1 run, ±20%)");
}

TEST(VolumeAnomalyTest, OnlyTheTrailingRunsCount) {
  VolumeRule rule;
  rule.trailing = 2;
  // Newest first: the mean of 10 and 12 is 11; the old 1000 is beyond the window.
  VolumeVerdict v = CheckVolume(12, {10, 12, 1000}, rule);
  EXPECT_DOUBLE_EQ(v.mean, 11);
  EXPECT_EQ(v.history, 2);
  EXPECT_FALSE(v.anomaly);
  rule.tolerance = 0.05;
  EXPECT_TRUE(CheckVolume(12, {10, 12, 1000}, rule).anomaly);  // 12 > 11.55
}

TEST(VolumeAnomalyTest, NoHistoryPassesWithANote) {
  VolumeVerdict v = CheckVolume(7, {}, VolumeRule{});
  EXPECT_FALSE(v.anomaly);
  EXPECT_TRUE(v.first);
  EXPECT_EQ(v.message, "row count 7 recorded; no earlier run to compare with");
}

TEST(VolumeAnomalyTest, AnEmptyHistoryMeanAllowsOnlyEmpty) {
  EXPECT_FALSE(CheckVolume(0, {0, 0}, VolumeRule{}).anomaly);
  EXPECT_TRUE(CheckVolume(1, {0, 0}, VolumeRule{}).anomaly);
}

TEST(VolumeAnomalyTest, RuleArguments) {
  auto defaults = ParseVolumeRule({{"min", 1}});
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->enabled);
  EXPECT_DOUBLE_EQ(defaults->tolerance, 0.2);
  EXPECT_EQ(defaults->trailing, 5);
  auto set = ParseVolumeRule({{"tolerance", 0.5}, {"trailing", 3}, {"volume_anomaly", false}});
  ASSERT_TRUE(set.ok());
  EXPECT_FALSE(set->enabled);
  EXPECT_DOUBLE_EQ(set->tolerance, 0.5);
  EXPECT_EQ(set->trailing, 3);
  EXPECT_EQ(ParseVolumeRule({{"tolerance", 0}}).status().message(),
            "tolerance: expected a number > 0 (0.2 allows ±20%), got 0");
  EXPECT_EQ(ParseVolumeRule({{"tolerance", "20%"}}).status().message(),
            "tolerance: expected a number > 0 (0.2 allows ±20%), got \"20%\"");
  EXPECT_EQ(ParseVolumeRule({{"trailing", 2.5}}).status().message(),
            "trailing: expected a number of runs from 1 to 1000, got 2.5");
  EXPECT_EQ(ParseVolumeRule({{"volume_anomaly", "no"}}).status().message(),
            "volume_anomaly: expected true or false");
}

}  // namespace
}  // namespace dew::quality
