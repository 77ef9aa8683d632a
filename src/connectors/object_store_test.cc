#include "connectors/object_store.h"

#include <gtest/gtest.h>

namespace dew::connectors {
namespace {

TEST(ObjectStoreTest, StarStaysInsideOneSegment) {
  EXPECT_TRUE(GlobMatch("statements/*.csv", "statements/2026-01.csv"));
  EXPECT_FALSE(GlobMatch("statements/*.csv", "statements/old/2025-12.csv"));
  EXPECT_FALSE(GlobMatch("statements/*.csv", "statements/2026-01.csv.bak"));
  EXPECT_FALSE(GlobMatch("*.csv", "a/b.csv"));
  EXPECT_TRUE(GlobMatch("*.csv", ".csv"));
}

TEST(ObjectStoreTest, DoubleStarMatchesAnyDepth) {
  EXPECT_TRUE(GlobMatch("statements/**/*.csv", "statements/a.csv"));
  EXPECT_TRUE(GlobMatch("statements/**/*.csv", "statements/2025/12/a.csv"));
  EXPECT_TRUE(GlobMatch("**", "x/y/z"));
  EXPECT_TRUE(GlobMatch("**/*.json", "a.json"));
  EXPECT_FALSE(GlobMatch("statements/**/*.csv", "other/a.csv"));
}

TEST(ObjectStoreTest, QuestionMarkAndClasses) {
  EXPECT_TRUE(GlobMatch("m?.csv", "m1.csv"));
  EXPECT_FALSE(GlobMatch("m?.csv", "m12.csv"));
  EXPECT_TRUE(GlobMatch("m[0-9].csv", "m7.csv"));
  EXPECT_FALSE(GlobMatch("m[0-9].csv", "mx.csv"));
  EXPECT_TRUE(GlobMatch("m[!0-9].csv", "mx.csv"));
  EXPECT_FALSE(GlobMatch("m[!0-9].csv", "m1.csv"));
  EXPECT_TRUE(GlobMatch("a[bc]d", "acd"));
  EXPECT_FALSE(GlobMatch("a/?", "a//"));
}

TEST(ObjectStoreTest, LiteralPatternMatchesOnlyItself) {
  EXPECT_TRUE(GlobMatch("a/b.csv", "a/b.csv"));
  EXPECT_FALSE(GlobMatch("a/b.csv", "a/b.csvx"));
  EXPECT_FALSE(GlobMatch("a/b.csv", "x/a/b.csv"));
}

TEST(ObjectStoreTest, PrefixIsTheFolderBeforeTheFirstWildcard) {
  EXPECT_EQ(GlobPrefix("statements/*.csv"), "statements/");
  EXPECT_EQ(GlobPrefix("a/b/c*/d.csv"), "a/b/");
  EXPECT_EQ(GlobPrefix("*.csv"), "");
  EXPECT_EQ(GlobPrefix("a/b.csv"), "a/");
  EXPECT_EQ(GlobPrefix("**/x.json"), "");
}

}  // namespace
}  // namespace dew::connectors
