#include "core/time_zone.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/file_system.h"

namespace dew {
namespace {

constexpr char kZoneinfo[] = "/usr/share/zoneinfo";

int64_t Utc(int64_t y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return LocalSecondsFromCivil(CivilTime{y, mo, d, h, mi, s});
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dew_tz_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)FileSystem::Posix()->RemoveAll(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A TZif file built field by field, so that tests can break any one of them.
struct TzifSpec {
  char version = '2';
  std::vector<int64_t> times;
  std::vector<uint8_t> indices;
  std::vector<int32_t> offsets = {0};
  uint8_t desig = 0;
  uint32_t isstdcnt = 0;
  std::optional<std::string> footer = "";  // nullopt: no footer at all
};

void PutBig(std::string* out, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::string BuildTzif(const TzifSpec& spec) {
  const std::string chars("LMT\0", 4);
  auto header = [&](std::string* out) {
    out->append("TZif");
    out->push_back(spec.version);
    out->append(15, '\0');
    PutBig(out, 0, 4);  // isutcnt
    PutBig(out, spec.isstdcnt, 4);
    PutBig(out, 0, 4);  // leapcnt
    PutBig(out, static_cast<int64_t>(spec.times.size()), 4);
    PutBig(out, static_cast<int64_t>(spec.offsets.size()), 4);
    PutBig(out, static_cast<int64_t>(chars.size()), 4);
  };
  auto block = [&](std::string* out, int width) {
    for (int64_t t : spec.times) PutBig(out, t, width);
    for (uint8_t i : spec.indices) out->push_back(static_cast<char>(i));
    for (int32_t offset : spec.offsets) {
      PutBig(out, offset, 4);
      out->push_back('\0');
      out->push_back(static_cast<char>(spec.desig));
    }
    out->append(chars);
    out->append(spec.isstdcnt, '\0');
  };
  std::string out;
  header(&out);
  block(&out, 4);
  if (spec.version == '\0') return out;
  header(&out);
  block(&out, 8);
  if (spec.footer) out += "\n" + *spec.footer + "\n";
  return out;
}

TimeZone FooterZone(const std::string& footer) {
  TzifSpec spec;
  spec.footer = footer;
  auto tz = TimeZone::FromTzif("test", BuildTzif(spec), "test.tzif");
  EXPECT_TRUE(tz.ok()) << footer << ": " << tz.status().ToString();
  return tz.ok() ? *tz : TimeZone::Utc();
}

TimeZone LoadSystem(const std::string& name) {
  auto tz = TimeZone::Load(name, *FileSystem::Posix());
  EXPECT_TRUE(tz.ok()) << tz.status().ToString();
  return tz.ok() ? *tz : TimeZone::Utc();
}

TEST(CivilTimeTest, KnownDatesAndRoundTrip) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2026, 1, 1), 20454);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2026, 1, 32), DaysFromCivil(2026, 2, 1));  // days carry
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(2026, 1, 1)), 4);          // Thursday
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(1969, 12, 28)), 0);        // Sunday
  EXPECT_EQ(WeekdayFromDays(DaysFromCivil(1883, 11, 18)), 0);        // Sunday
  EXPECT_TRUE(IsLeapYear(2000));
  EXPECT_TRUE(IsLeapYear(2028));
  EXPECT_FALSE(IsLeapYear(1900));
  EXPECT_FALSE(IsLeapYear(2100));
  EXPECT_FALSE(IsLeapYear(2026));
  EXPECT_EQ(DaysInMonth(2028, 2), 29);
  EXPECT_EQ(DaysInMonth(2026, 2), 28);
  EXPECT_EQ(DaysInMonth(2026, 4), 30);
  EXPECT_EQ(DaysInMonth(2026, 12), 31);
  for (int64_t days = -800000; days <= 800000; days += 97) {
    const CivilTime civil = CivilFromDays(days);
    ASSERT_EQ(DaysFromCivil(civil.year, civil.month, civil.day), days);
  }
  EXPECT_EQ(CivilFromLocalSeconds(-1), (CivilTime{1969, 12, 31, 23, 59, 59}));
  EXPECT_EQ(CivilFromLocalSeconds(Utc(2028, 2, 29, 13, 4, 5)), (CivilTime{2028, 2, 29, 13, 4, 5}));
}

TEST(TimeZoneTest, SystemDatabaseHasTheZonesSchedulesUse) {
  auto fs = FileSystem::Posix();
  EXPECT_TRUE(fs->Exists(std::string(kZoneinfo) + "/Asia/Manila"));
  EXPECT_TRUE(fs->Exists(std::string(kZoneinfo) + "/America/New_York"));
}

TEST(TimeZoneTest, ManilaIsEightHoursAhead) {
  const TimeZone tz = LoadSystem("Asia/Manila");
  EXPECT_EQ(tz.name(), "Asia/Manila");
  EXPECT_EQ(tz.OffsetSeconds(Utc(2026, 1, 1)), 8 * 3600);
  EXPECT_EQ(tz.OffsetSeconds(Utc(2026, 7, 1)), 8 * 3600);
  EXPECT_EQ(tz.OffsetSeconds(Utc(2300, 7, 1)), 8 * 3600);  // past the table: the footer
  EXPECT_EQ(tz.ToLocalSeconds(Utc(2025, 12, 31, 22)), Utc(2026, 1, 1, 6));
}

TEST(TimeZoneTest, NewYorkOffsetsAroundTransitions) {
  const TimeZone tz = LoadSystem("America/New_York");
  struct Case {
    int64_t utc;
    int64_t offset;
  } cases[] = {
      {Utc(1883, 11, 18, 16, 59, 59), -17762},  // local mean time until the railways' standard time
      {Utc(1883, 11, 18, 17), -18000},
      {Utc(2026, 1, 15), -18000},
      {Utc(2026, 3, 8, 6, 59, 59), -18000},
      {Utc(2026, 3, 8, 7), -14400},
      {Utc(2026, 7, 1), -14400},
      {Utc(2026, 11, 1, 5, 59, 59), -14400},
      {Utc(2026, 11, 1, 6), -18000},
      // Past any stored transition the POSIX footer rules.
      {Utc(2200, 1, 1), -18000},
      {Utc(2200, 3, 9, 6, 59, 59), -18000},  // second Sunday of March 2200 is the 9th
      {Utc(2200, 3, 9, 7), -14400},
      {Utc(2200, 7, 1), -14400},
      {Utc(2200, 11, 2, 5, 59, 59), -14400},  // first Sunday of November 2200 is the 2nd
      {Utc(2200, 11, 2, 6), -18000},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(tz.OffsetSeconds(c.utc), c.offset) << c.utc;
  }
}

TEST(TimeZoneTest, UtcNeedsNoFile) {
  TempDir empty;
  for (const char* name : {"UTC", "Etc/UTC"}) {
    auto tz = TimeZone::Load(name, *FileSystem::Posix(), empty.path());
    ASSERT_TRUE(tz.ok()) << tz.status().ToString();
    EXPECT_EQ(tz->name(), name);
    EXPECT_EQ(tz->OffsetSeconds(Utc(2026, 6, 1)), 0);
    EXPECT_EQ(tz->ResolveLocal(Utc(2026, 6, 1)).utc_seconds, Utc(2026, 6, 1));
  }
  EXPECT_EQ(TimeZone::Utc().OffsetSeconds(-5), 0);
}

TEST(TimeZoneTest, UnknownZoneIsNotFound) {
  auto fs = FileSystem::Posix();
  auto missing = TimeZone::Load("Mars/Olympus_Mons", *fs);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find("\"Mars/Olympus_Mons\""), std::string::npos)
      << missing.status().ToString();

  auto folder = TimeZone::Load("America", *fs);
  ASSERT_FALSE(folder.ok());
  EXPECT_TRUE(folder.status().IsNotFound());
  EXPECT_NE(folder.status().message().find("is a folder"), std::string::npos);

  TempDir empty;
  auto elsewhere = TimeZone::Load("Asia/Manila", *fs, empty.path());
  EXPECT_TRUE(elsewhere.status().IsNotFound());
}

TEST(TimeZoneTest, RejectsNamesThatLeaveTheDatabase) {
  for (const char* name :
       {"", "/etc/localtime", "..", "../etc/passwd", "Asia/../../etc/passwd", "Asia/.."}) {
    auto tz = TimeZone::Load(name, *FileSystem::Posix());
    ASSERT_FALSE(tz.ok()) << name;
    EXPECT_TRUE(tz.status().IsInvalidArgument()) << name << ": " << tz.status().ToString();
  }
}

TEST(TimeZoneTest, PassesOnFileSystemErrors) {
  class FailingReads : public FileSystemWrapper {
   public:
    using FileSystemWrapper::FileSystemWrapper;
    Result<std::string> ReadFile(const std::string& path) override {
      return Status::IOError("injected read failure on " + path);
    }
  };
  FailingReads fs(FileSystem::Posix());
  auto tz = TimeZone::Load("Asia/Manila", fs);
  ASSERT_FALSE(tz.ok());
  EXPECT_EQ(tz.status().code(), Status::Code::kIOError);
  EXPECT_NE(tz.status().message().find("Asia/Manila"), std::string::npos);
}

TEST(TimeZoneTest, ReadsHandBuiltFilesOfEachVersion) {
  TempDir dir;
  auto fs = FileSystem::Posix();
  // Version 1: no footer, the last offset holds forever.
  TzifSpec v1;
  v1.version = '\0';
  v1.times = {0, 1000};
  v1.indices = {1, 2};
  v1.offsets = {100, 3600, 7200};
  ASSERT_TRUE(fs->CreateDirs(dir.path() + "/Test").ok());
  ASSERT_TRUE(fs->WriteFile(dir.path() + "/Test/V1", BuildTzif(v1)).ok());
  auto tz1 = TimeZone::Load("Test/V1", *fs, dir.path());
  ASSERT_TRUE(tz1.ok()) << tz1.status().ToString();
  EXPECT_EQ(tz1->OffsetSeconds(-1), 100);  // before the first transition: type 0
  EXPECT_EQ(tz1->OffsetSeconds(0), 3600);
  EXPECT_EQ(tz1->OffsetSeconds(999), 3600);
  EXPECT_EQ(tz1->OffsetSeconds(1000), 7200);
  EXPECT_EQ(tz1->OffsetSeconds(Utc(2300, 1, 1)), 7200);

  // Versions 2 to 4 with 64-bit times before the epoch and a footer after the last one.
  for (char version : {'2', '3', '4'}) {
    TzifSpec spec;
    spec.version = version;
    spec.times = {Utc(1800, 1, 1), Utc(2000, 1, 1)};
    spec.indices = {1, 2};
    spec.offsets = {-100, 3600, 7200};
    spec.footer = "<+0530>-5:30";
    auto tz = TimeZone::FromTzif("x", BuildTzif(spec), "x.tzif");
    ASSERT_TRUE(tz.ok()) << tz.status().ToString();
    EXPECT_EQ(tz->OffsetSeconds(Utc(1700, 1, 1)), -100);
    EXPECT_EQ(tz->OffsetSeconds(Utc(1900, 1, 1)), 3600);
    EXPECT_EQ(tz->OffsetSeconds(Utc(2000, 1, 1) - 1), 3600);
    EXPECT_EQ(tz->OffsetSeconds(Utc(2000, 1, 1)), 5 * 3600 + 1800);  // footer from here on
  }

  // An empty footer keeps the last transition's offset.
  TzifSpec no_rule;
  no_rule.times = {10};
  no_rule.indices = {1};
  no_rule.offsets = {0, -3600};
  auto tz = TimeZone::FromTzif("x", BuildTzif(no_rule), "x.tzif");
  ASSERT_TRUE(tz.ok());
  EXPECT_EQ(tz->OffsetSeconds(Utc(2300, 1, 1)), -3600);
}

TEST(TimeZoneTest, FooterRuleAgreesWithStoredTransitions) {
  // New York's file stores transitions up to 2037; the footer alone must give the same answers.
  const TimeZone file = LoadSystem("America/New_York");
  const TimeZone rule = FooterZone("EST5EDT,M3.2.0,M11.1.0");
  for (int64_t t = Utc(2008, 1, 1); t < Utc(2037, 12, 31); t += 1800) {
    ASSERT_EQ(rule.OffsetSeconds(t), file.OffsetSeconds(t)) << t;
  }
  // The southern hemisphere: DST spans New Year.
  const TimeZone sydney = LoadSystem("Australia/Sydney");
  const TimeZone sydney_rule = FooterZone("AEST-10AEDT,M10.1.0,M4.1.0/3");
  for (int64_t t = Utc(2009, 1, 1); t < Utc(2037, 12, 31); t += 1800) {
    ASSERT_EQ(sydney_rule.OffsetSeconds(t), sydney.OffsetSeconds(t)) << t;
  }
}

TEST(TimeZoneTest, FooterRuleForms) {
  struct Case {
    const char* footer;
    int64_t utc;
    int64_t offset;
  } cases[] = {
      {"UTC0", Utc(2026, 6, 1), 0},
      {"<+08>-8", Utc(2026, 6, 1), 28800},
      {"<-03>3", Utc(2026, 6, 1), -10800},
      {"<+0545>-5:45", Utc(2026, 6, 1), 20700},
      {"LMT+0:30:15", Utc(2026, 6, 1), -1815},
      // DST without a rule follows the US rules, an hour ahead by default.
      {"EST5EDT", Utc(2026, 3, 8, 6, 59, 59), -18000},
      {"EST5EDT", Utc(2026, 3, 8, 7), -14400},
      {"EST5EDT", Utc(2026, 11, 1, 6), -18000},
      // Explicit DST offset and times.
      {"AAA3BBB1,M3.5.0/-2,M10.5.0/-1", Utc(2026, 3, 29, 0, 59, 59), -10800},  // last Sunday
      {"AAA3BBB1,M3.5.0/-2,M10.5.0/-1", Utc(2026, 3, 29, 1), -3600},  // -2:00 local = 01:00Z
      // -1:00 daylight local on Sunday the 25th is 23:00 on the 24th, 00:00Z.
      {"AAA3BBB1,M3.5.0/-2,M10.5.0/-1", Utc(2026, 10, 24, 23, 59, 59), -3600},
      {"AAA3BBB1,M3.5.0/-2,M10.5.0/-1", Utc(2026, 10, 25), -10800},
      // Jn never counts February 29; n does.
      {"AAA0BBB,J59/0,J300/0", Utc(2028, 2, 28) - 1, 0},
      {"AAA0BBB,J59/0,J300/0", Utc(2028, 2, 28), 3600},
      {"AAA0BBB,J60/0,J300/0", Utc(2028, 3, 1) - 1, 0},
      {"AAA0BBB,J60/0,J300/0", Utc(2028, 3, 1), 3600},
      {"AAA0BBB,59/0,300/0", Utc(2028, 2, 29) - 1, 0},
      {"AAA0BBB,59/0,300/0", Utc(2028, 2, 29), 3600},
      {"AAA0BBB,59/0,300/0", Utc(2027, 3, 1), 3600},
      {"AAA0BBB,59/0,300/0", Utc(2027, 3, 1) - 1, 0},
      // DST all year (version 3 allows hours past 24): daylight time around New Year too.
      {"EST5EDT,0/0,J365/25", Utc(2026, 1, 1, 0, 30), -14400},
      {"EST5EDT,0/0,J365/25", Utc(2026, 1, 1, 5, 30), -14400},
      {"EST5EDT,0/0,J365/25", Utc(2026, 7, 1), -14400},
      {"EST5EDT,0/0,J365/25", Utc(2026, 12, 31, 23), -14400},
      // Week 5 means the last such weekday, even when the month has only four.
      {"AAA0BBB,M2.5.1/0,M11.1.0/0", Utc(2027, 2, 22) - 1, 0},
      {"AAA0BBB,M2.5.1/0,M11.1.0/0", Utc(2027, 2, 22), 3600},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FooterZone(c.footer).OffsetSeconds(c.utc), c.offset) << c.footer << " at " << c.utc;
  }
}

TEST(TimeZoneTest, ResolvesLocalTimesInGapsAndOverlaps) {
  using Kind = LocalResolution::Kind;
  const TimeZone ny = LoadSystem("America/New_York");
  const TimeZone sydney = LoadSystem("Australia/Sydney");
  const TimeZone apia = LoadSystem("Pacific/Apia");
  const TimeZone manila = LoadSystem("Asia/Manila");
  struct Case {
    const TimeZone* tz;
    CivilTime local;
    Kind kind;
    int64_t utc;
  } cases[] = {
      {&ny, {2026, 7, 1, 12, 0, 0}, Kind::kUnique, Utc(2026, 7, 1, 16)},
      {&ny, {2026, 1, 1, 0, 0, 0}, Kind::kUnique, Utc(2026, 1, 1, 5)},
      // Spring forward at 02:00 EST: 02:00-02:59 do not exist; all skip to 03:00 EDT.
      {&ny, {2026, 3, 8, 1, 59, 59}, Kind::kUnique, Utc(2026, 3, 8, 6, 59, 59)},
      {&ny, {2026, 3, 8, 2, 0, 0}, Kind::kSkipped, Utc(2026, 3, 8, 7)},
      {&ny, {2026, 3, 8, 2, 30, 0}, Kind::kSkipped, Utc(2026, 3, 8, 7)},
      {&ny, {2026, 3, 8, 2, 59, 59}, Kind::kSkipped, Utc(2026, 3, 8, 7)},
      {&ny, {2026, 3, 8, 3, 0, 0}, Kind::kUnique, Utc(2026, 3, 8, 7)},
      // Fall back at 02:00 EDT: 01:00-01:59 happen twice; the earliest (EDT) wins.
      {&ny, {2026, 11, 1, 0, 59, 59}, Kind::kUnique, Utc(2026, 11, 1, 4, 59, 59)},
      {&ny, {2026, 11, 1, 1, 0, 0}, Kind::kRepeated, Utc(2026, 11, 1, 5)},
      {&ny, {2026, 11, 1, 1, 30, 0}, Kind::kRepeated, Utc(2026, 11, 1, 5, 30)},
      {&ny, {2026, 11, 1, 2, 0, 0}, Kind::kUnique, Utc(2026, 11, 1, 7)},
      // Southern hemisphere.
      {&sydney, {2026, 10, 4, 2, 30, 0}, Kind::kSkipped, Utc(2026, 10, 3, 16)},
      {&sydney, {2026, 4, 5, 2, 30, 0}, Kind::kRepeated, Utc(2026, 4, 4, 15, 30)},
      // Samoa skipped all of 2011-12-30 when it crossed the date line.
      {&apia, {2011, 12, 30, 12, 0, 0}, Kind::kSkipped, Utc(2011, 12, 30, 10)},
      {&apia, {2011, 12, 31, 0, 0, 0}, Kind::kUnique, Utc(2011, 12, 30, 10)},
      {&manila, {2026, 1, 1, 6, 0, 0}, Kind::kUnique, Utc(2025, 12, 31, 22)},
  };
  for (const Case& c : cases) {
    const LocalResolution r = c.tz->ResolveLocal(LocalSecondsFromCivil(c.local));
    EXPECT_EQ(r.kind, c.kind) << c.tz->name() << " " << c.local.year << "-" << c.local.month << "-"
                              << c.local.day << " " << c.local.hour << ":" << c.local.minute;
    EXPECT_EQ(r.utc_seconds, c.utc)
        << c.tz->name() << " " << c.local.year << "-" << c.local.month << "-" << c.local.day << " "
        << c.local.hour << ":" << c.local.minute;
    EXPECT_EQ(c.tz->LocalToUtc(c.local), c.utc);
  }
}

TEST(TimeZoneTest, LocalRoundTripOutsideTransitions) {
  const TimeZone ny = LoadSystem("America/New_York");
  for (int64_t t = Utc(2026, 1, 1); t < Utc(2027, 1, 1); t += 3607) {
    const int64_t local = ny.ToLocalSeconds(t);
    const LocalResolution r = ny.ResolveLocal(local);
    if (r.kind == LocalResolution::Kind::kUnique) {
      ASSERT_EQ(r.utc_seconds, t);
    } else {
      ASSERT_EQ(r.kind, LocalResolution::Kind::kRepeated);  // an existing reading is never a gap
      ASSERT_LE(r.utc_seconds, t);
      ASSERT_EQ(ny.ToLocalSeconds(r.utc_seconds), local);
    }
  }
}

TEST(TimeZoneTest, RejectsMalformedFiles) {
  TzifSpec good;
  good.times = {100};
  good.indices = {1};
  good.offsets = {0, 3600};
  good.footer = "UTC0";
  const std::string valid = BuildTzif(good);
  ASSERT_TRUE(TimeZone::FromTzif("x", valid, "x.tzif").ok());

  auto with = [&](auto change) {
    TzifSpec spec = good;
    change(spec);
    return BuildTzif(spec);
  };
  std::string bad_version = valid;
  bad_version[4] = '9';
  const size_t v1_end = valid.find("TZif", 4);
  struct Case {
    std::string bytes;
    const char* expect;
  } cases[] = {
      {"", "truncated header"},
      {valid.substr(0, 30), "truncated header"},
      {"TZxf" + valid.substr(4), "bad magic"},
      {bad_version, "unsupported TZif version byte 57"},
      {valid.substr(0, 50), "truncated version 1 data block"},
      {valid.substr(0, v1_end + 20), "truncated header"},
      {valid.substr(0, v1_end + 50), "truncated data block"},
      {with([](TzifSpec& s) { s.footer.reset(); }), "missing TZ string footer"},
      {valid.substr(0, valid.size() - 1), "unterminated TZ string footer"},
      {with([](TzifSpec& s) { s.footer = "EST"; }), "malformed TZ string footer \"EST\""},
      {with([](TzifSpec& s) { s.footer = "5"; }), "malformed TZ string footer"},
      {with([](TzifSpec& s) { s.footer = "EST25"; }), "malformed TZ string footer"},
      {with([](TzifSpec& s) { s.footer = "<+08-8"; }), "malformed TZ string footer"},
      {with([](TzifSpec& s) { s.footer = "EST5EDT,M3.2.0"; }), "malformed TZ string footer"},
      {with([](TzifSpec& s) { s.footer = "EST5EDT,M13.2.0,M11.1.0"; }), "malformed"},
      {with([](TzifSpec& s) { s.footer = "EST5EDT,M3.6.0,M11.1.0"; }), "malformed"},
      {with([](TzifSpec& s) { s.footer = "EST5EDT,M3.2.7,M11.1.0"; }), "malformed"},
      {with([](TzifSpec& s) { s.footer = "EST5EDT,J0,J100"; }), "malformed"},
      {with([](TzifSpec& s) { s.footer = "EST5EDT,366,100"; }), "malformed"},
      {with([](TzifSpec& s) { s.footer = "EST5EDT,M3.2.0/168,M11.1.0"; }), "malformed"},
      {with([](TzifSpec& s) { s.footer = "EST5EDT,M3.2.0,M11.1.0x"; }), "malformed"},
      {with([](TzifSpec& s) { s.footer = "EST5:60"; }), "malformed"},
      {with([](TzifSpec& s) { s.offsets.clear(); }), "no local time types"},
      {with([](TzifSpec& s) { s.isstdcnt = 1; }), "indicator counts"},
      {with([](TzifSpec& s) { s.indices = {2}; }), "names local time type 2 of 2"},
      {with([](TzifSpec& s) {
         s.times = {100, 50};
         s.indices = {1, 0};
       }),
       "not ascending at transition 1"},
      {with([](TzifSpec& s) {
         s.offsets = {0, 93600};
       }),
       "offset 93600s out of range"},
      {with([](TzifSpec& s) {
         s.offsets = {0, -90000};
       }),
       "offset -90000s out of range"},
      {with([](TzifSpec& s) { s.desig = 4; }), "abbreviation index 4"},
  };
  for (const Case& c : cases) {
    auto tz = TimeZone::FromTzif("Bad/Zone", c.bytes, "/zi/Bad/Zone");
    ASSERT_FALSE(tz.ok()) << c.expect;
    EXPECT_EQ(tz.status().code(), Status::Code::kCorruption) << tz.status().ToString();
    EXPECT_NE(tz.status().message().find("/zi/Bad/Zone"), std::string::npos)
        << tz.status().ToString();
    EXPECT_NE(tz.status().message().find(c.expect), std::string::npos)
        << "expected \"" << c.expect << "\" in " << tz.status().ToString();
  }
}

TEST(TimeZoneTest, LoadNamesTheMalformedFile) {
  TempDir dir;
  auto fs = FileSystem::Posix();
  ASSERT_TRUE(fs->WriteFile(dir.path() + "/Broken", "not a zone").ok());
  auto tz = TimeZone::Load("Broken", *fs, dir.path());
  ASSERT_FALSE(tz.ok());
  EXPECT_EQ(tz.status().code(), Status::Code::kCorruption);
  EXPECT_NE(tz.status().message().find(dir.path() + "/Broken"), std::string::npos)
      << tz.status().ToString();
}

TEST(TimeZoneTest, LoadsEverySystemZoneWithoutError) {
  // Every TZif file the system ships must parse: a broad check of the reader and footer parser.
  auto fs = FileSystem::Posix();
  auto files = fs->ListRecursive(kZoneinfo);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  int loaded = 0;
  for (const FileInfo& file : *files) {
    auto bytes = fs->ReadFile(std::string(kZoneinfo) + "/" + file.name);
    ASSERT_TRUE(bytes.ok());
    if (bytes->compare(0, 4, "TZif") != 0) continue;  // tables like zone1970.tab
    auto tz = TimeZone::Load(file.name, *fs);
    ASSERT_TRUE(tz.ok()) << tz.status().ToString();
    EXPECT_LE(std::abs(tz->OffsetSeconds(Utc(2026, 6, 1))), 14 * 3600) << file.name;
    ++loaded;
  }
  EXPECT_GT(loaded, 300);
}

}  // namespace
}  // namespace dew
