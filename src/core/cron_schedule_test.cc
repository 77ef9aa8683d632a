#include "core/cron_schedule.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "core/file_system.h"

namespace dew {
namespace {

int64_t Utc(int64_t y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return LocalSecondsFromCivil(CivilTime{y, mo, d, h, mi, s});
}

TimeZone Zone(const std::string& name) {
  auto tz = TimeZone::Load(name, *FileSystem::Posix());
  EXPECT_TRUE(tz.ok()) << tz.status().ToString();
  return tz.ok() ? *tz : TimeZone::Utc();
}

// "YYYY-MM-DD HH:MM" on the zone's wall clock.
std::string LocalText(const TimeZone& tz, int64_t utc) {
  const CivilTime c = CivilFromLocalSeconds(tz.ToLocalSeconds(utc));
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02d %02d:%02d", static_cast<long long>(c.year),
                c.month, c.day, c.hour, c.minute);
  return buf;
}

// The first `n` fire times after `from_utc`, as UTC seconds.
std::vector<int64_t> Fires(const CronSchedule& cron, const TimeZone& tz, int64_t from_utc,
                           size_t n) {
  std::vector<int64_t> out;
  int64_t t = from_utc;
  while (out.size() < n) {
    auto next = cron.NextAfter(t, tz);
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    if (!next.ok()) break;
    EXPECT_GT(*next, t);
    out.push_back(*next);
    t = *next;
  }
  return out;
}

std::vector<std::string> LocalFires(const std::string& expr, const TimeZone& tz, int64_t from_utc,
                                    size_t n) {
  auto cron = CronSchedule::Parse(expr);
  EXPECT_TRUE(cron.ok()) << cron.status().ToString();
  if (!cron.ok()) return {};
  std::vector<std::string> out;
  for (int64_t t : Fires(*cron, tz, from_utc, n)) out.push_back(LocalText(tz, t));
  return out;
}

struct FireCase {
  const char* expr;
  int64_t from;  // UTC seconds
  std::vector<std::string> expect;
};

TEST(CronScheduleTest, FireTimesInUtc) {
  const FireCase cases[] = {
      {"*/15 * * * *",
       Utc(2026, 1, 1, 0, 7),
       {"2026-01-01 00:15", "2026-01-01 00:30", "2026-01-01 00:45", "2026-01-01 01:00"}},
      {"1-10/2 * * * *",
       Utc(2026, 1, 1),
       {"2026-01-01 00:01", "2026-01-01 00:03", "2026-01-01 00:05", "2026-01-01 00:07",
        "2026-01-01 00:09", "2026-01-01 01:01"}},
      {"5/20 * * * *",
       Utc(2026, 1, 1),
       {"2026-01-01 00:05", "2026-01-01 00:25", "2026-01-01 00:45", "2026-01-01 01:05"}},
      {"0,30 8-9 * * *",
       Utc(2026, 1, 1),
       {"2026-01-01 08:00", "2026-01-01 08:30", "2026-01-01 09:00", "2026-01-01 09:30",
        "2026-01-02 08:00"}},
      // Strictly after: a fire time itself is not returned again.
      {"0 2 * * *", Utc(2026, 1, 1, 2), {"2026-01-02 02:00", "2026-01-03 02:00"}},
      {"0 2 * * *", Utc(2026, 1, 1, 1, 59, 59), {"2026-01-01 02:00"}},
      {"* * * * *", Utc(2026, 1, 1, 0, 0, 30), {"2026-01-01 00:01", "2026-01-01 00:02"}},
      {"59 23 31 12 *", Utc(2026, 1, 1), {"2026-12-31 23:59", "2027-12-31 23:59"}},
      {"30 23 L 12 *", Utc(2026, 1, 1), {"2026-12-31 23:30", "2027-12-31 23:30"}},
      // Names, any case; day-of-week 7 is Sunday.
      {"0 0 * JAN,jul MON",
       Utc(2026, 1, 1),
       {"2026-01-05 00:00", "2026-01-12 00:00", "2026-01-19 00:00", "2026-01-26 00:00",
        "2026-07-06 00:00"}},
      {"0 0 * * 7", Utc(2026, 1, 1), {"2026-01-04 00:00", "2026-01-11 00:00"}},
      {"0 0 * * 0", Utc(2026, 1, 1), {"2026-01-04 00:00", "2026-01-11 00:00"}},
      {"0 0 * * sun", Utc(2026, 1, 1), {"2026-01-04 00:00", "2026-01-11 00:00"}},
      {"0 0 * * 5-7",
       Utc(2026, 1, 1),
       {"2026-01-02 00:00", "2026-01-03 00:00", "2026-01-04 00:00", "2026-01-09 00:00"}},
      {"0 9 * * MON-FRI", Utc(2026, 1, 2, 9), {"2026-01-05 09:00", "2026-01-06 09:00"}},
      {"0 0 1 FEB-APR/2 *",
       Utc(2026, 1, 1),
       {"2026-02-01 00:00", "2026-04-01 00:00", "2027-02-01 00:00"}},
      // Both day fields restricted: either matches.
      {"0 0 1,15 * MON",
       Utc(2026, 1, 1),
       {"2026-01-05 00:00", "2026-01-12 00:00", "2026-01-15 00:00", "2026-01-19 00:00",
        "2026-01-26 00:00", "2026-02-01 00:00", "2026-02-02 00:00"}},
      {"0 0 L * 1", Utc(2026, 1, 20), {"2026-01-26 00:00", "2026-01-31 00:00", "2026-02-02 00:00"}},
      // Day-of-month starting with '*' counts as unrestricted: both must match (Vixie cron).
      {"0 0 */10 * MON",
       Utc(2026, 1, 1),
       {"2026-05-11 00:00", "2026-06-01 00:00", "2026-08-31 00:00", "2026-09-21 00:00"}},
      {"0 0 ? * FRI",
       Utc(2026, 1, 1),
       {"2026-01-02 00:00", "2026-01-09 00:00", "2026-01-16 00:00"}},
      {"0 0 */2 * *",
       Utc(2026, 1, 29),
       {"2026-01-31 00:00", "2026-02-01 00:00", "2026-02-03 00:00"}},
      // Last day, and n days before it.
      {"0 0 L * *",
       Utc(2026, 1, 1),
       {"2026-01-31 00:00", "2026-02-28 00:00", "2026-03-31 00:00", "2026-04-30 00:00"}},
      {"0 0 L * *", Utc(2028, 2, 1), {"2028-02-29 00:00", "2028-03-31 00:00"}},
      {"0 0 L-2 * *",
       Utc(2026, 1, 1),
       {"2026-01-29 00:00", "2026-02-26 00:00", "2026-03-29 00:00", "2026-04-28 00:00"}},
      {"0 0 L-28 * *", Utc(2026, 1, 1), {"2026-01-03 00:00", "2026-03-03 00:00"}},
      {"0 0 L,15 * *",
       Utc(2026, 1, 1),
       {"2026-01-15 00:00", "2026-01-31 00:00", "2026-02-15 00:00", "2026-02-28 00:00"}},
      // Nearest weekday, never leaving the month.
      {"0 0 15W * *",
       Utc(2026, 1, 1),
       {"2026-01-15 00:00", "2026-02-16 00:00", "2026-03-16 00:00", "2026-04-15 00:00",
        "2026-05-15 00:00", "2026-06-15 00:00", "2026-07-15 00:00", "2026-08-14 00:00"}},
      {"0 0 31W * *",
       Utc(2026, 1, 1),
       {"2026-01-30 00:00", "2026-03-31 00:00", "2026-05-29 00:00", "2026-07-31 00:00",
        "2026-08-31 00:00"}},
      {"0 0 1W * *",
       Utc(2026, 7, 31),
       {"2026-08-03 00:00", "2026-09-01 00:00", "2026-10-01 00:00", "2026-11-02 00:00"}},
      {"0 0 LW * *",
       Utc(2026, 1, 1),
       {"2026-01-30 00:00", "2026-02-27 00:00", "2026-03-31 00:00", "2026-04-30 00:00",
        "2026-05-29 00:00"}},
      // Last and n-th weekday of the month.
      {"0 0 * * 5L",
       Utc(2026, 1, 1),
       {"2026-01-30 00:00", "2026-02-27 00:00", "2026-03-27 00:00", "2026-04-24 00:00",
        "2026-05-29 00:00", "2026-06-26 00:00", "2026-07-31 00:00"}},
      {"0 0 * * 1#2",
       Utc(2026, 1, 1),
       {"2026-01-12 00:00", "2026-02-09 00:00", "2026-03-09 00:00", "2026-04-13 00:00"}},
      {"0 0 * * FRI#5",
       Utc(2026, 1, 1),
       {"2026-01-30 00:00", "2026-05-29 00:00", "2026-07-31 00:00", "2026-10-30 00:00"}},
      {"0 12 * * SUN#1,5L",
       Utc(2026, 1, 1),
       {"2026-01-04 12:00", "2026-01-30 12:00", "2026-02-01 12:00", "2026-02-27 12:00"}},
      // February 29 only in leap years, and 2100 is not one.
      {"0 0 29 2 *", Utc(2026, 1, 1), {"2028-02-29 00:00", "2032-02-29 00:00", "2036-02-29 00:00"}},
      {"0 0 29 2 *", Utc(2096, 3, 1), {"2104-02-29 00:00"}},
      // Macros.
      {"@hourly", Utc(2026, 1, 1, 0, 30), {"2026-01-01 01:00", "2026-01-01 02:00"}},
      {"@daily", Utc(2026, 1, 1, 0, 30), {"2026-01-02 00:00"}},
      {"@midnight", Utc(2026, 1, 1, 0, 30), {"2026-01-02 00:00"}},
      {"@weekly", Utc(2026, 1, 1), {"2026-01-04 00:00", "2026-01-11 00:00"}},
      {"@monthly", Utc(2026, 1, 1), {"2026-02-01 00:00", "2026-03-01 00:00"}},
      {"@yearly", Utc(2026, 1, 1), {"2027-01-01 00:00"}},
      {"@annually", Utc(2026, 1, 1), {"2027-01-01 00:00"}},
      {"@DAILY", Utc(2026, 1, 1), {"2026-01-02 00:00"}},
  };
  const TimeZone utc = TimeZone::Utc();
  for (const FireCase& c : cases) {
    EXPECT_EQ(LocalFires(c.expr, utc, c.from, c.expect.size()), c.expect) << c.expr;
  }
}

TEST(CronScheduleTest, FirstBusinessDayInManilaFor2026And2027) {
  // Hand-computed: the 1st, or Monday the 2nd/3rd when the 1st falls on a Sunday/Saturday.
  // 2026 starts on a Thursday; Feb, Mar and Nov 1 are Sundays, Aug 1 a Saturday.
  // 2027 starts on a Friday; May 1 is a Saturday, Aug 1 a Sunday.
  const std::vector<std::string> expect = {
      "2026-01-01 06:00", "2026-02-02 06:00", "2026-03-02 06:00", "2026-04-01 06:00",
      "2026-05-01 06:00", "2026-06-01 06:00", "2026-07-01 06:00", "2026-08-03 06:00",
      "2026-09-01 06:00", "2026-10-01 06:00", "2026-11-02 06:00", "2026-12-01 06:00",
      "2027-01-01 06:00", "2027-02-01 06:00", "2027-03-01 06:00", "2027-04-01 06:00",
      "2027-05-03 06:00", "2027-06-01 06:00", "2027-07-01 06:00", "2027-08-02 06:00",
      "2027-09-01 06:00", "2027-10-01 06:00", "2027-11-01 06:00", "2027-12-01 06:00",
  };
  const TimeZone manila = Zone("Asia/Manila");
  // From noon, Dec 31 2025 in Manila.
  EXPECT_EQ(LocalFires("0 6 1W * *", manila, Utc(2025, 12, 31, 4), expect.size()), expect);
  // 06:00 in Manila is 22:00 UTC the evening before.
  auto cron = CronSchedule::Parse("0 6 1W * *");
  ASSERT_TRUE(cron.ok());
  auto first = cron->NextAfter(Utc(2025, 12, 31, 4), manila);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, Utc(2025, 12, 31, 22));
  // Evaluated in UTC instead, the same schedule fires on other instants.
  auto in_utc = cron->NextAfter(Utc(2025, 12, 31, 4), TimeZone::Utc());
  ASSERT_TRUE(in_utc.ok());
  EXPECT_EQ(*in_utc, Utc(2026, 1, 1, 6));
}

TEST(CronScheduleTest, NightlyRunInNewYorkNeitherDoublesNorMisses) {
  const TimeZone ny = Zone("America/New_York");
  auto cron = CronSchedule::Parse("0 2 * * *");
  ASSERT_TRUE(cron.ok());
  const std::vector<int64_t> fires = Fires(*cron, ny, Utc(2026, 1, 1), 365);
  ASSERT_EQ(fires.size(), 365u);
  // Exactly one run per local day of 2026, at 02:00 except on the spring-forward night.
  for (size_t i = 0; i < fires.size(); ++i) {
    const CivilTime day = CivilFromDays(DaysFromCivil(2026, 1, 1) + static_cast<int64_t>(i));
    char want[64];
    const bool spring_forward = day.month == 3 && day.day == 8;
    std::snprintf(want, sizeof(want), "%04d-%02d-%02d %02d:00", static_cast<int>(day.year),
                  day.month, day.day, spring_forward ? 3 : 2);
    ASSERT_EQ(LocalText(ny, fires[i]), want) << i;
  }
  // The instants around both changes, by hand: EST is UTC-5, EDT UTC-4.
  auto at = [&](int64_t from) {
    auto next = cron->NextAfter(from, ny);
    EXPECT_TRUE(next.ok());
    return next.ok() ? *next : 0;
  };
  EXPECT_EQ(at(Utc(2026, 3, 7)), Utc(2026, 3, 7, 7));        // 02:00 EST
  EXPECT_EQ(at(Utc(2026, 3, 7, 7)), Utc(2026, 3, 8, 7));     // 02:00 does not exist: 03:00 EDT
  EXPECT_EQ(at(Utc(2026, 3, 8, 7)), Utc(2026, 3, 9, 6));     // 02:00 EDT
  EXPECT_EQ(at(Utc(2026, 10, 31)), Utc(2026, 10, 31, 6));    // 02:00 EDT
  EXPECT_EQ(at(Utc(2026, 10, 31, 6)), Utc(2026, 11, 1, 7));  // 02:00 EST, once
  EXPECT_EQ(at(Utc(2026, 11, 1, 7)), Utc(2026, 11, 2, 7));
}

TEST(CronScheduleTest, RepeatedHourFiresOnce) {
  const TimeZone ny = Zone("America/New_York");
  auto daily = CronSchedule::Parse("30 1 * * *");
  ASSERT_TRUE(daily.ok());
  // 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST) on Nov 1; only the first fires.
  EXPECT_EQ(Fires(*daily, ny, Utc(2026, 10, 31), 3),
            (std::vector<int64_t>{Utc(2026, 10, 31, 5, 30), Utc(2026, 11, 1, 5, 30),
                                  Utc(2026, 11, 2, 6, 30)}));
  // Asked from inside the second pass, before its 01:30, it still does not fire again.
  auto next = daily->NextAfter(Utc(2026, 11, 1, 6, 10), ny);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, Utc(2026, 11, 2, 6, 30));

  auto half_hourly = CronSchedule::Parse("*/30 * * * *");
  ASSERT_TRUE(half_hourly.ok());
  EXPECT_EQ(Fires(*half_hourly, ny, Utc(2026, 11, 1, 4, 45), 4),
            (std::vector<int64_t>{Utc(2026, 11, 1, 5), Utc(2026, 11, 1, 5, 30), Utc(2026, 11, 1, 7),
                                  Utc(2026, 11, 1, 7, 30)}));
}

TEST(CronScheduleTest, SkippedHourFiresOnceAtItsEnd) {
  const TimeZone ny = Zone("America/New_York");
  auto half_hourly = CronSchedule::Parse("*/30 * * * *");
  ASSERT_TRUE(half_hourly.ok());
  // 02:00 and 02:30 do not exist on Mar 8; both collapse into 03:00 EDT (07:00Z).
  EXPECT_EQ(
      Fires(*half_hourly, ny, Utc(2026, 3, 8, 6, 15), 3),
      (std::vector<int64_t>{Utc(2026, 3, 8, 6, 30), Utc(2026, 3, 8, 7), Utc(2026, 3, 8, 7, 30)}));
  const TimeZone sydney = Zone("Australia/Sydney");
  auto nightly = CronSchedule::Parse("30 2 * * *");
  ASSERT_TRUE(nightly.ok());
  // Sydney springs forward at 02:00 AEST on Oct 4 2026.
  EXPECT_EQ(Fires(*nightly, sydney, Utc(2026, 10, 2), 3),
            (std::vector<int64_t>{Utc(2026, 10, 2, 16, 30), Utc(2026, 10, 3, 16),
                                  Utc(2026, 10, 4, 15, 30)}));
}

TEST(CronScheduleTest, AgreesWithMinuteByMinuteScan) {
  // NextAfter jumps field by field; a plain scan over every minute with Matches() must agree.
  const char* exprs[] = {"*/7 */5 * * *",    "0 0 L-3,15W * *", "15 10 LW * *", "0 * * * 2L",
                         "0 12 * * 3#3,SAT", "45 23 1-7 * MON", "0 0 29 2 *",   "0 6 1W * *"};
  const TimeZone utc = TimeZone::Utc();
  for (const char* expr : exprs) {
    auto cron = CronSchedule::Parse(expr);
    ASSERT_TRUE(cron.ok()) << expr;
    const int64_t begin = Utc(2027, 12, 1), end = Utc(2028, 4, 1);
    std::vector<int64_t> scanned;
    for (int64_t t = begin + 60; t < end; t += 60) {
      if (cron->Matches(CivilFromLocalSeconds(t))) scanned.push_back(t);
    }
    std::vector<int64_t> jumped;
    for (int64_t t = begin;;) {
      auto next = cron->NextAfter(t, utc);
      ASSERT_TRUE(next.ok());
      if (*next >= end) break;
      jumped.push_back(*next);
      t = *next;
    }
    EXPECT_EQ(jumped, scanned) << expr;
    EXPECT_FALSE(scanned.empty()) << expr;
  }
}

TEST(CronScheduleTest, ToStringIsCanonical) {
  struct Case {
    const char* expr;
    const char* canonical;
  } cases[] = {
      {"0 2 * * *", "0 2 * * *"},
      {"  0\t2  *  * *  ", "0 2 * * *"},
      {"@Daily", "@daily"},
      {"0 6 1W * *", "0 6 1W * *"},
  };
  for (const Case& c : cases) {
    auto cron = CronSchedule::Parse(c.expr);
    ASSERT_TRUE(cron.ok()) << c.expr;
    EXPECT_EQ(cron->ToString(), c.canonical);
    auto again = CronSchedule::Parse(cron->ToString());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(Fires(*again, TimeZone::Utc(), Utc(2026, 1, 1), 5),
              Fires(*cron, TimeZone::Utc(), Utc(2026, 1, 1), 5));
  }
}

TEST(CronScheduleTest, ErrorsNameFieldAndToken) {
  struct Case {
    const char* expr;
    const char* message;
  } cases[] = {
      {"", "empty expression"},
      {"   ", "empty expression"},
      {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4"},
      {"0 0 * * * 2026", "expected 5 fields (minute hour day-of-month month day-of-week), found 6"},
      {"@reboot", "unknown macro @reboot (use @hourly, @daily, @weekly, @monthly or @yearly)"},
      {"60 * * * *", "minute value 60 out of range 0-59"},
      {"* 24 * * *", "hour value 24 out of range 0-23"},
      {"0 2 32 * *", "day-of-month value 32 out of range 1-31"},
      {"* * 0 * *", "day-of-month value 0 out of range 1-31"},
      {"* * * 13 *", "month value 13 out of range 1-12"},
      {"* * * 0 *", "month value 0 out of range 1-12"},
      {"* * * * 8", "day-of-week value 8 out of range 0-7"},
      {"99999999999 * * * *", "minute value 99999999999 out of range 0-59"},
      {"x * * * *", "minute value \"x\" is not a number"},
      {"L * * * *", "minute value \"L\" is not a number"},
      {"* * * FOO *", "month value \"FOO\" is not a number or a month name"},
      {"* * * * fry", "day-of-week value \"fry\" is not a number or a weekday name"},
      {"* * * * JUL", "day-of-week value \"JUL\" is not a number or a weekday name"},
      {"* * * MON *", "month value \"MON\" is not a number or a month name"},
      {"*/0 * * * *", "minute step 0 in \"*/0\" out of range 1-60"},
      {"*/61 * * * *", "minute step 61 in \"*/61\" out of range 1-60"},
      {"* * * * */8", "day-of-week step 8 in \"*/8\" out of range 1-7"},
      {"*/x * * * *", "minute step \"x\" in \"*/x\" is not a number"},
      {"*/ * * * *", "minute step \"\" in \"*/\" is not a number"},
      {"10-5 * * * *", "minute range \"10-5\" is reversed (start after end)"},
      {"1- * * * *", "minute value missing in \"1-\""},
      {"-1 * * * *", "minute value missing in \"-1\""},
      {"1-2-3 * * * *", "minute value \"2-3\" is not a number"},
      {"1,,2 * * * *", "minute has an empty list item in \"1,,2\""},
      {"1, * * * *", "minute has an empty list item in \"1,\""},
      {"? * * * *", "minute does not allow \"?\""},
      {"* * * ? *", "month does not allow \"?\""},
      {"* * ?,1 * *", "day-of-month \"?\" must stand alone, found \"?,1\""},
      {"* * L-31 * *", "day-of-month value L-31 out of range L-0 to L-30"},
      {"* * L-x * *", "day-of-month value \"L-x\" is not L-n with a number n"},
      {"* * L- * *", "day-of-month value \"L-\" is not L-n with a number n"},
      {"* * 1-5W * *", "day-of-month value \"1-5W\": W takes a single day, as in 15W"},
      {"* * 32W * *", "day-of-month value 32 out of range 1-31"},
      {"* * W * *", "day-of-month value missing in \"W\""},
      {"* * * * L", "day-of-week value \"L\" needs a weekday before it, as in 5L (last Friday)"},
      {"* * * * 8L", "day-of-week value 8 out of range 0-7"},
      {"* * * * 1#6", "day-of-week occurrence \"6\" in \"1#6\" out of range 1-5"},
      {"* * * * 1#", "day-of-week occurrence \"\" in \"1#\" out of range 1-5"},
      {"* * * * #2", "day-of-week value missing in \"#2\""},
      {"* * * * 9#2", "day-of-week value 9 out of range 0-7"},
      {"0 0 30 2 *", "never fires (no date matches day-of-month, month and day-of-week)"},
      {"0 0 31 4,6,9,11 *", "never fires (no date matches day-of-month, month and day-of-week)"},
      {"0 0 L-29 2 *", "never fires (no date matches day-of-month, month and day-of-week)"},
  };
  for (const Case& c : cases) {
    auto cron = CronSchedule::Parse(c.expr);
    ASSERT_FALSE(cron.ok()) << c.expr;
    EXPECT_TRUE(cron.status().IsInvalidArgument()) << c.expr;
    EXPECT_EQ(cron.status().message(), "cron \"" + std::string(c.expr) + "\": " + c.message);
  }
}

TEST(CronScheduleTest, RejectsInstantsOutOfRange) {
  auto cron = CronSchedule::Parse("0 2 * * *");
  ASSERT_TRUE(cron.ok());
  const TimeZone ny = Zone("America/New_York");
  for (int64_t t : {INT64_MAX, INT64_MIN, TimeZone::kMaxSeconds + 1}) {
    auto next = cron->NextAfter(t, ny);
    ASSERT_FALSE(next.ok());
    EXPECT_TRUE(next.status().IsInvalidArgument());
    EXPECT_NE(next.status().message().find("out of range"), std::string::npos);
  }
  EXPECT_TRUE(cron->NextAfter(-TimeZone::kMaxSeconds, ny).ok());
  EXPECT_TRUE(cron->NextAfter(TimeZone::kMaxSeconds - 86400 * 2, ny).ok());
  // Offsets at the extremes are clamped, not overflowed.
  EXPECT_EQ(ny.OffsetSeconds(INT64_MAX), ny.OffsetSeconds(TimeZone::kMaxSeconds));
  EXPECT_EQ(ny.OffsetSeconds(INT64_MIN), -17762);
}

TEST(CronScheduleTest, RareButPossibleDatesParse) {
  // These fire only some years; Parse must not call them impossible.
  for (const char* expr : {"0 0 29 2 *", "0 0 29W 2 *", "0 0 * 2 1#5", "0 0 L-28 2 *"}) {
    auto cron = CronSchedule::Parse(expr);
    ASSERT_TRUE(cron.ok()) << expr << ": " << cron.status().ToString();
    auto next = cron->NextAfter(Utc(2026, 1, 1), TimeZone::Utc());
    ASSERT_TRUE(next.ok()) << expr;
  }
  // A fifth Monday in February needs a leap year whose February starts on a Monday: 2044.
  auto fifth_monday = CronSchedule::Parse("0 0 * 2 1#5");
  ASSERT_TRUE(fifth_monday.ok());
  auto next = fifth_monday->NextAfter(Utc(2026, 1, 1), TimeZone::Utc());
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, Utc(2044, 2, 29));
}

}  // namespace
}  // namespace dew
