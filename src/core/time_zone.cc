#include "core/time_zone.h"

#include <algorithm>
#include <cstring>

#include "core/file_system.h"

namespace dew {

namespace {

constexpr int64_t kSecondsPerDay = 86400;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

// Civil-calendar algorithms after Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms":
// exact for the whole proleptic Gregorian calendar, no tables, no loops.
int64_t DaysFromCivil(int64_t year, int month, int day) {
  const int64_t y = year - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = month > 2 ? month - 3 : month + 9;
  const int64_t doy = (153 * mp + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilTime CivilFromDays(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  CivilTime civil;
  civil.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  civil.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  civil.year = yoe + era * 400 + (civil.month <= 2 ? 1 : 0);
  return civil;
}

int64_t LocalSecondsFromCivil(const CivilTime& civil) {
  return DaysFromCivil(civil.year, civil.month, civil.day) * kSecondsPerDay + civil.hour * 3600 +
         civil.minute * 60 + civil.second;
}

CivilTime CivilFromLocalSeconds(int64_t local_seconds) {
  const int64_t days = FloorDiv(local_seconds, kSecondsPerDay);
  const int64_t rest = local_seconds - days * kSecondsPerDay;
  CivilTime civil = CivilFromDays(days);
  civil.hour = static_cast<int>(rest / 3600);
  civil.minute = static_cast<int>(rest % 3600 / 60);
  civil.second = static_cast<int>(rest % 60);
  return civil;
}

int WeekdayFromDays(int64_t days) {
  // 1970-01-01 was a Thursday (4).
  return static_cast<int>(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
}

bool IsLeapYear(int64_t year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

namespace {

// A cursor over a POSIX TZ string (POSIX.1-2017 section 8.3 with the RFC 8536 extensions:
// rule times from -167 to 167 hours). Each method returns false on malformed input.
class PosixTzParser {
 public:
  explicit PosixTzParser(const std::string& text) : s_(text) {}

  bool Parse(TimeZone::PosixRule* rule) {
    if (!Name()) return false;
    int64_t std_west = 0;
    if (!Time(24, &std_west)) return false;
    rule->std_offset = -std_west;
    rule->dst_offset = rule->std_offset;
    if (AtEnd()) return true;
    if (!Name()) return false;
    rule->has_dst = true;
    rule->dst_offset = rule->std_offset + 3600;
    if (!AtEnd() && Peek() != ',') {
      int64_t dst_west = 0;
      if (!Time(24, &dst_west)) return false;
      rule->dst_offset = -dst_west;
    }
    if (AtEnd()) {
      // POSIX leaves the rule to the implementation; glibc and tzcode use the US rules.
      rule->start = {TimeZone::PosixRule::Date::Kind::kMonthWeekDay, 0, 3, 2, 7200};
      rule->end = {TimeZone::PosixRule::Date::Kind::kMonthWeekDay, 0, 11, 1, 7200};
      return true;
    }
    if (!Consume(',') || !DateAndTime(&rule->start)) return false;
    if (!Consume(',') || !DateAndTime(&rule->end)) return false;
    return AtEnd();
  }

 private:
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }
  static bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

  // A zone abbreviation: three or more letters, or anything alphanumeric or signed in <...>.
  bool Name() {
    if (Consume('<')) {
      const size_t begin = pos_;
      while (!AtEnd() && (IsAlpha(Peek()) || IsDigit(Peek()) || Peek() == '+' || Peek() == '-')) {
        ++pos_;
      }
      return pos_ > begin && Consume('>');
    }
    const size_t begin = pos_;
    while (!AtEnd() && IsAlpha(Peek())) ++pos_;
    return pos_ - begin >= 3;
  }

  bool Number(int64_t max, int64_t* out) {
    if (!IsDigit(Peek())) return false;
    int64_t value = 0;
    while (IsDigit(Peek())) {
      value = value * 10 + (s_[pos_++] - '0');
      if (value > max) return false;
    }
    *out = value;
    return true;
  }

  // [+-]hh[:mm[:ss]] in seconds.
  bool Time(int64_t max_hours, int64_t* seconds) {
    int64_t sign = 1;
    if (Consume('-')) {
      sign = -1;
    } else {
      Consume('+');
    }
    int64_t hours = 0, minutes = 0, secs = 0;
    if (!Number(max_hours, &hours)) return false;
    if (Consume(':')) {
      if (!Number(59, &minutes)) return false;
      if (Consume(':') && !Number(59, &secs)) return false;
    }
    *seconds = sign * (hours * 3600 + minutes * 60 + secs);
    return true;
  }

  bool DateAndTime(TimeZone::PosixRule::Date* date) {
    using Kind = TimeZone::PosixRule::Date::Kind;
    int64_t n = 0;
    if (Consume('J')) {
      if (!Number(365, &n) || n < 1) return false;
      date->kind = Kind::kJulianNoLeap;
      date->day = static_cast<int>(n);
    } else if (Consume('M')) {
      int64_t month = 0, week = 0, weekday = 0;
      if (!Number(12, &month) || month < 1 || !Consume('.')) return false;
      if (!Number(5, &week) || week < 1 || !Consume('.')) return false;
      if (!Number(6, &weekday)) return false;
      date->kind = Kind::kMonthWeekDay;
      date->month = static_cast<int>(month);
      date->week = static_cast<int>(week);
      date->day = static_cast<int>(weekday);
    } else {
      if (!Number(365, &n)) return false;
      date->kind = Kind::kZeroBasedDay;
      date->day = static_cast<int>(n);
    }
    date->time = 7200;
    if (Consume('/')) return Time(167, &date->time);
    return true;
  }

  const std::string& s_;
  size_t pos_ = 0;
};

// UTC instant of one end of a DST period in `year`; `offset` is the offset in force before it.
int64_t RuleTransition(const TimeZone::PosixRule::Date& date, int64_t year, int64_t offset) {
  using Kind = TimeZone::PosixRule::Date::Kind;
  int64_t day = 0;
  switch (date.kind) {
    case Kind::kJulianNoLeap:
      day = DaysFromCivil(year, 1, 1) + date.day - 1 + (IsLeapYear(year) && date.day >= 60 ? 1 : 0);
      break;
    case Kind::kZeroBasedDay:
      day = DaysFromCivil(year, 1, 1) + date.day;
      break;
    case Kind::kMonthWeekDay: {
      const int64_t first = DaysFromCivil(year, date.month, 1);
      int mday = 1 + (date.day - WeekdayFromDays(first) + 7) % 7 + (date.week - 1) * 7;
      while (mday > DaysInMonth(year, date.month)) mday -= 7;
      day = first + mday - 1;
      break;
    }
  }
  return day * kSecondsPerDay + date.time - offset;
}

// Big-endian reads over the TZif bytes, bounds-checked by the caller's size check.
int64_t ReadBigEndian(const std::string& bytes, size_t pos, int width) {
  uint64_t value = 0;
  for (int i = 0; i < width; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[pos + i]);
  }
  if (width == 4) return static_cast<int32_t>(static_cast<uint32_t>(value));
  return static_cast<int64_t>(value);
}

struct TzifCounts {
  uint64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
  // Bytes of the data block that follows the header, with `time_width`-byte times.
  uint64_t DataSize(int time_width) const {
    return timecnt * time_width + timecnt + typecnt * 6 + charcnt + leapcnt * (time_width + 4) +
           isstdcnt + isutcnt;
  }
};

constexpr size_t kTzifHeaderSize = 44;

}  // namespace

Result<TimeZone> TimeZone::FromTzif(const std::string& name, const std::string& bytes,
                                    const std::string& file) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("time zone file " + file + ": " + why);
  };
  auto read_header = [&](size_t at, char* version, TzifCounts* counts) -> Status {
    if (bytes.size() < at + kTzifHeaderSize) {
      return corrupt("truncated header at byte " + std::to_string(at));
    }
    if (bytes.compare(at, 4, "TZif") != 0) return corrupt("not a TZif file (bad magic)");
    *version = bytes[at + 4];
    if (*version != '\0' && *version != '2' && *version != '3' && *version != '4') {
      return corrupt("unsupported TZif version byte " +
                     std::to_string(static_cast<unsigned char>(*version)));
    }
    uint64_t* fields[] = {&counts->isutcnt, &counts->isstdcnt, &counts->leapcnt,
                          &counts->timecnt, &counts->typecnt,  &counts->charcnt};
    for (int i = 0; i < 6; ++i) {
      *fields[i] = static_cast<uint32_t>(ReadBigEndian(bytes, at + 20 + 4 * i, 4));
    }
    return Status::OK();
  };

  char version = 0;
  TzifCounts counts{};
  DEW_RETURN_IF_ERROR(read_header(0, &version, &counts));
  size_t data = kTzifHeaderSize;
  int width = 4;
  if (version != '\0') {
    // Version 2+ repeats the data with 64-bit times; the 32-bit block is only for old readers.
    const uint64_t v1_size = counts.DataSize(4);
    if (v1_size > bytes.size() - data) return corrupt("truncated version 1 data block");
    char version2 = 0;
    DEW_RETURN_IF_ERROR(read_header(data + v1_size, &version2, &counts));
    data += v1_size + kTzifHeaderSize;
    width = 8;
  }
  // Only the block in use is checked: version 2+ writers may leave the 32-bit block minimal.
  if (counts.typecnt == 0) return corrupt("no local time types");
  if ((counts.isstdcnt != 0 && counts.isstdcnt != counts.typecnt) ||
      (counts.isutcnt != 0 && counts.isutcnt != counts.typecnt)) {
    return corrupt("standard/UT indicator counts do not match the type count");
  }
  if (counts.DataSize(width) > bytes.size() - data) return corrupt("truncated data block");

  const size_t times_at = data;
  const size_t indices_at = times_at + counts.timecnt * width;
  const size_t types_at = indices_at + counts.timecnt;
  std::vector<int64_t> type_offsets;
  for (uint64_t i = 0; i < counts.typecnt; ++i) {
    const int64_t utoff = ReadBigEndian(bytes, types_at + 6 * i, 4);
    // RFC 8536 bounds offsets to (-25h, +26h).
    if (utoff < -89999 || utoff > 93599) {
      return corrupt("local time type " + std::to_string(i) + " has offset " +
                     std::to_string(utoff) + "s out of range");
    }
    const unsigned char desig = static_cast<unsigned char>(bytes[types_at + 6 * i + 5]);
    if (desig >= counts.charcnt) {
      return corrupt("local time type " + std::to_string(i) + " has abbreviation index " +
                     std::to_string(desig) + " past the abbreviations");
    }
    type_offsets.push_back(utoff);
  }

  TimeZone tz;
  tz.name_ = name;
  tz.initial_offset_ = type_offsets[0];
  for (uint64_t i = 0; i < counts.timecnt; ++i) {
    const int64_t at = ReadBigEndian(bytes, times_at + width * i, width);
    const unsigned char type = static_cast<unsigned char>(bytes[indices_at + i]);
    if (type >= counts.typecnt) {
      return corrupt("transition " + std::to_string(i) + " names local time type " +
                     std::to_string(type) + " of " + std::to_string(counts.typecnt));
    }
    if (!tz.transitions_.empty() && at <= tz.transitions_.back().at) {
      return corrupt("transition times are not ascending at transition " + std::to_string(i));
    }
    tz.transitions_.push_back({at, type_offsets[type]});
  }

  if (version != '\0') {
    const size_t footer_at = data + counts.DataSize(width);
    if (footer_at >= bytes.size() || bytes[footer_at] != '\n') {
      return corrupt("missing TZ string footer");
    }
    const size_t footer_end = bytes.find('\n', footer_at + 1);
    if (footer_end == std::string::npos) return corrupt("unterminated TZ string footer");
    const std::string footer = bytes.substr(footer_at + 1, footer_end - footer_at - 1);
    if (!footer.empty()) {
      PosixTzParser parser(footer);
      if (!parser.Parse(&tz.rule_)) return corrupt("malformed TZ string footer \"" + footer + "\"");
      tz.has_rule_ = true;
    }
  }
  return tz;
}

Result<TimeZone> TimeZone::Load(const std::string& name, FileSystem& fs,
                                const std::string& zoneinfo_dir) {
  if (name == "UTC" || name == "Etc/UTC") {
    TimeZone tz = Utc();
    tz.name_ = name;
    return tz;
  }
  const bool escapes = name.empty() || name.front() == '/' ||
                       name.find('\0') != std::string::npos || name == ".." ||
                       name.rfind("../", 0) == 0 || name.find("/../") != std::string::npos ||
                       (name.size() >= 3 && name.compare(name.size() - 3, 3, "/..") == 0);
  if (escapes) {
    return Status::InvalidArgument("\"" + name + "\" is not a time zone name");
  }
  const std::string path = JoinPath(zoneinfo_dir, name);
  auto info = fs.Stat(path);
  if (!info.ok()) {
    if (info.status().IsNotFound()) {
      return Status::NotFound("unknown time zone \"" + name + "\" (no file " + path + ")");
    }
    return info.status();
  }
  if (info->is_dir) {
    return Status::NotFound("unknown time zone \"" + name + "\" (" + path + " is a folder)");
  }
  auto bytes = fs.ReadFile(path);
  if (!bytes.ok()) {
    if (bytes.status().IsNotFound()) {
      return Status::NotFound("unknown time zone \"" + name + "\" (no file " + path + ")");
    }
    return bytes.status();
  }
  return FromTzif(name, *bytes, path);
}

TimeZone TimeZone::Utc() {
  TimeZone tz;
  tz.name_ = "UTC";
  return tz;
}

int64_t TimeZone::OffsetSeconds(int64_t utc_seconds) const {
  utc_seconds = std::clamp(utc_seconds, -kMaxSeconds, kMaxSeconds);
  if (transitions_.empty()) return has_rule_ ? RuleOffset(utc_seconds) : initial_offset_;
  if (utc_seconds < transitions_.front().at) return initial_offset_;
  if (has_rule_ && utc_seconds >= transitions_.back().at) return RuleOffset(utc_seconds);
  auto it =
      std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds,
                       [](int64_t t, const Transition& transition) { return t < transition.at; });
  return std::prev(it)->offset;
}

int64_t TimeZone::RuleOffset(int64_t utc_seconds) const {
  if (!rule_.has_dst) return rule_.std_offset;
  // A DST period may straddle New Year (southern hemisphere, or DST all year), so the periods
  // that begin in the neighbouring years are checked too.
  const int64_t year = CivilFromLocalSeconds(utc_seconds + rule_.std_offset).year;
  for (int64_t y = year - 1; y <= year + 1; ++y) {
    const int64_t start = RuleTransition(rule_.start, y, rule_.std_offset);
    int64_t end = RuleTransition(rule_.end, y, rule_.dst_offset);
    if (end < start) end = RuleTransition(rule_.end, y + 1, rule_.dst_offset);
    if (start <= utc_seconds && utc_seconds < end) return rule_.dst_offset;
  }
  return rule_.std_offset;
}

LocalResolution TimeZone::ResolveLocal(int64_t local_seconds) const {
  local_seconds = std::clamp(local_seconds, -kMaxSeconds, kMaxSeconds);
  // The offsets a day either side bracket the (at most one) change that can affect this local
  // time; each is a candidate when the instant it implies really has that offset.
  const int64_t before = OffsetSeconds(local_seconds - kSecondsPerDay);
  const int64_t after = OffsetSeconds(local_seconds + kSecondsPerDay);
  const bool before_valid = OffsetSeconds(local_seconds - before) == before;
  const bool after_valid = OffsetSeconds(local_seconds - after) == after;
  LocalResolution out;
  if (before_valid && after_valid && before != after) {
    out.kind = LocalResolution::Kind::kRepeated;
    out.utc_seconds = local_seconds - std::max(before, after);
    return out;
  }
  if (before_valid || after_valid) {
    out.kind = LocalResolution::Kind::kUnique;
    out.utc_seconds = local_seconds - (before_valid ? before : after);
    return out;
  }
  // A gap: the transition lies between the two candidate instants; find it by bisection.
  int64_t lo = std::min(local_seconds - before, local_seconds - after);
  int64_t hi = std::max(local_seconds - before, local_seconds - after);
  const int64_t lo_offset = OffsetSeconds(lo);
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (OffsetSeconds(mid) == lo_offset) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  out.kind = LocalResolution::Kind::kSkipped;
  out.utc_seconds = hi;
  return out;
}

}  // namespace dew
