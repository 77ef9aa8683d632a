#include "connectors/postgres_deletion_counters.h"

#include <gtest/gtest.h>

namespace dew::connectors {
namespace {

// kSql's row: oid, file node, relkind, relhassubclass, pg_is_in_recovery, track_counts,
// n_tup_del, the database's and the cluster's stats_reset, pg_conf_load_time, version.
std::vector<std::optional<std::string>> Row(const std::string& version) {
  return {"16384",
          "16390",
          "r",
          "false",
          "false",
          "on",
          "7",
          std::nullopt,
          "2026-12-06 14:21:34.291371+00",
          "2026-12-06 14:21:36.022953+00",
          version};
}

TEST(PostgresDeletionCountersTest, TrustsPostgres15AndLaterOnly) {
  const auto counters = PostgresDeletionCounters::FromRow(Row("150004"));
  EXPECT_EQ(counters.distrust, "");
  EXPECT_EQ(counters.mark["deleted"], "7");
  EXPECT_EQ(counters.mark["filenode"], "16390");
  EXPECT_TRUE(counters.mark["database_stats_reset"].is_null());
  std::string why;
  EXPECT_TRUE(counters.Unchanged({{"deletion_counters", counters.mark}}, "public.t", &why));
  EXPECT_NE(why.find("no deleted row of public.t"), std::string::npos) << why;

  // Before 15 the collector's UDP messages may be lost: a deletion might never be counted.
  const auto old = PostgresDeletionCounters::FromRow(Row("140011"));
  EXPECT_TRUE(old.mark.is_null());
  EXPECT_NE(old.distrust.find("before 15"), std::string::npos) << old.distrust;
  EXPECT_FALSE(old.Unchanged({{"deletion_counters", counters.mark}}, "public.t", &why));
}

TEST(PostgresDeletionCountersTest, AnyChangeOfTheMarkRunsTheCheck) {
  const auto counters = PostgresDeletionCounters::FromRow(Row("150004"));
  std::string why;
  nlohmann::json last = counters.mark;
  last["deleted"] = "6";
  EXPECT_FALSE(counters.Unchanged({{"deletion_counters", last}}, "public.t", &why));
  EXPECT_NE(why.find("n_tup_del 6 then, 7 now"), std::string::npos) << why;
  last = counters.mark;
  last["filenode"] = "16385";
  EXPECT_FALSE(counters.Unchanged({{"deletion_counters", last}}, "public.t", &why));
  EXPECT_NE(why.find("truncated"), std::string::npos) << why;
  last = counters.mark;
  last["cluster_stats_reset"] = "2026-12-01 00:00:00+00";
  EXPECT_FALSE(counters.Unchanged({{"deletion_counters", last}}, "public.t", &why));
  EXPECT_NE(why.find("reset"), std::string::npos) << why;
  EXPECT_FALSE(counters.Unchanged(nlohmann::json(), "public.t", &why));
}

}  // namespace
}  // namespace dew::connectors
