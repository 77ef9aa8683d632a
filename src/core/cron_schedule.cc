#include "core/cron_schedule.h"

#include <bit>
#include <cctype>
#include <sstream>
#include <vector>

namespace dew {

namespace {

// The masks of a schedule, filled field by field before the schedule is built.
struct CronScheduleBits {
  uint64_t minutes = 0, hours = 0, months = 0, days = 0, weekdays = 0;
  uint32_t last_minus = 0, nearest = 0, last_of_month = 0;
  bool last_weekday = false;
  std::array<uint32_t, 7> nth = {};
};

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const char* const* names;  //!< names[i] is value min + i, or null
  int name_count;
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kWeekdayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

enum FieldIndex { kMinute, kHour, kDayOfMonth, kMonth, kDayOfWeek };
constexpr FieldSpec kFields[] = {
    {"minute", 0, 59, nullptr, 0},           {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},     {"month", 1, 12, kMonthNames, 12},
    {"day-of-week", 0, 7, kWeekdayNames, 7},
};

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// The weekday nearest to day `n` of the month without leaving it; 0 when the month has no day n.
int NearestWeekday(int64_t year, int month, int n) {
  const int dim = DaysInMonth(year, month);
  if (n > dim) return 0;
  const int weekday = WeekdayFromDays(DaysFromCivil(year, month, n));
  if (weekday == 6) return n == 1 ? n + 2 : n - 1;
  if (weekday == 0) return n == dim ? n - 2 : n + 1;
  return n;
}

int LastWeekday(int64_t year, int month) {
  const int dim = DaysInMonth(year, month);
  const int weekday = WeekdayFromDays(DaysFromCivil(year, month, dim));
  if (weekday == 6) return dim - 1;
  if (weekday == 0) return dim - 2;
  return dim;
}

// Parses one field into bit masks; every error names the expression, the field and the token.
class FieldParser {
 public:
  FieldParser(const std::string& expr, const FieldSpec& spec) : expr_(expr), spec_(spec) {}

  Status Error(const std::string& what) const {
    return Status::InvalidArgument("cron \"" + expr_ + "\": " + spec_.name + " " + what);
  }

  // A number or a name in the field's range (day-of-week accepts 7 for Sunday).
  // `item` is the list item holding `token`, quoted when the value is missing.
  Status Value(const std::string& token, const std::string& item, int* out) const {
    if (token.empty()) return Error("value missing in \"" + item + "\"");
    if (spec_.names != nullptr) {
      const std::string upper = Upper(token);
      for (int i = 0; i < spec_.name_count; ++i) {
        if (upper == spec_.names[i]) {
          *out = spec_.min + i;
          return Status::OK();
        }
      }
    }
    for (char c : token) {
      if (!std::isdigit(static_cast<unsigned char>(c))) {
        return Error("value \"" + token + "\" is not a number" +
                     (spec_.names == nullptr ? ""
                      : spec_.max == 7       ? " or a weekday name"
                                             : " or a month name"));
      }
    }
    if (token.size() > 4 || std::stoi(token) < spec_.min || std::stoi(token) > spec_.max) {
      return Error("value " + token + " out of range " + std::to_string(spec_.min) + "-" +
                   std::to_string(spec_.max));
    }
    *out = std::stoi(token);
    return Status::OK();
  }

  // `*`, `a`, `a-b`, each optionally with `/step`, into `mask` (bit v for value v).
  Status RangeItem(const std::string& item, uint64_t* mask) const {
    std::string base = item;
    int step = 1;
    const size_t slash = item.find('/');
    if (slash != std::string::npos) {
      base = item.substr(0, slash);
      const std::string step_text = item.substr(slash + 1);
      const int span = spec_.max == 7 ? 7 : spec_.max - spec_.min + 1;
      bool digits = !step_text.empty() && step_text.size() <= 4;
      for (char c : step_text) digits = digits && std::isdigit(static_cast<unsigned char>(c));
      if (!digits) return Error("step \"" + step_text + "\" in \"" + item + "\" is not a number");
      step = std::stoi(step_text);
      if (step < 1 || step > span) {
        return Error("step " + step_text + " in \"" + item + "\" out of range 1-" +
                     std::to_string(span));
      }
    }
    int low = spec_.min, high = spec_.max;
    if (base == "*") {
      if (spec_.max == 7) high = 6;  // Sunday once, as 0.
    } else {
      const size_t dash = base.find('-');
      if (dash == std::string::npos) {
        DEW_RETURN_IF_ERROR(Value(base, item, &low));
        // `a/n` means every n-th from a to the end of the range.
        high = slash != std::string::npos ? (spec_.max == 7 ? 6 : spec_.max) : low;
      } else {
        DEW_RETURN_IF_ERROR(Value(base.substr(0, dash), item, &low));
        DEW_RETURN_IF_ERROR(Value(base.substr(dash + 1), item, &high));
        if (low > high) return Error("range \"" + base + "\" is reversed (start after end)");
      }
    }
    const bool is_weekday = spec_.max == 7;
    for (int v = low; v <= high; v += step) *mask |= uint64_t{1} << (is_weekday && v == 7 ? 0 : v);
    return Status::OK();
  }

  // A day-of-month item: `L`, `L-n`, `LW`, `nW`, or a range item.
  Status DayOfMonthItem(const std::string& raw, CronScheduleBits* bits) const;
  // A day-of-week item: `dL`, `d#k`, or a range item.
  Status DayOfWeekItem(const std::string& raw, CronScheduleBits* bits) const;

 private:
  const std::string& expr_;
  const FieldSpec& spec_;
};

Status FieldParser::DayOfMonthItem(const std::string& raw, CronScheduleBits* bits) const {
  const std::string item = Upper(raw);
  if (item == "L") {
    bits->last_minus |= 1u;
    return Status::OK();
  }
  if (item == "LW") {
    bits->last_weekday = true;
    return Status::OK();
  }
  if (item.rfind("L-", 0) == 0) {
    const std::string n = item.substr(2);
    bool digits = !n.empty() && n.size() <= 4;
    for (char c : n) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (!digits) return Error("value \"" + raw + "\" is not L-n with a number n");
    if (std::stoi(n) > 30) return Error("value " + raw + " out of range L-0 to L-30");
    bits->last_minus |= 1u << std::stoi(n);
    return Status::OK();
  }
  if (!item.empty() && item.back() == 'W') {
    const std::string n = item.substr(0, item.size() - 1);
    if (n.find_first_of("-/*,") != std::string::npos) {
      return Error("value \"" + raw + "\": W takes a single day, as in 15W");
    }
    int day = 0;
    DEW_RETURN_IF_ERROR(Value(n, raw, &day));
    bits->nearest |= 1u << day;
    return Status::OK();
  }
  return RangeItem(raw, &bits->days);
}

Status FieldParser::DayOfWeekItem(const std::string& raw, CronScheduleBits* bits) const {
  const std::string item = Upper(raw);
  if (item == "L") return Error("value \"L\" needs a weekday before it, as in 5L (last Friday)");
  if (item.size() > 1 && item.back() == 'L') {
    int weekday = 0;
    const std::string prefix = item.substr(0, item.size() - 1);
    Status status = Value(prefix, raw, &weekday);
    if (!status.ok()) {
      // Not a weekday followed by L (e.g. "JUL"): report the whole token.
      const bool numeric = prefix.find_first_not_of("0123456789") == std::string::npos;
      return numeric ? status : Value(raw, raw, &weekday);
    }
    bits->last_of_month |= 1u << (weekday % 7);
    return Status::OK();
  }
  const size_t hash = item.find('#');
  if (hash != std::string::npos) {
    int weekday = 0;
    DEW_RETURN_IF_ERROR(Value(item.substr(0, hash), raw, &weekday));
    const std::string k = item.substr(hash + 1);
    if (k.size() != 1 || k[0] < '1' || k[0] > '5') {
      return Error("occurrence \"" + k + "\" in \"" + raw + "\" out of range 1-5");
    }
    bits->nth[weekday % 7] |= 1u << (k[0] - '0');
    return Status::OK();
  }
  return RangeItem(raw, &bits->weekdays);
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(const std::string& expr) {
  const std::string prefix = "cron \"" + expr + "\": ";
  std::vector<std::string> fields;
  {
    std::istringstream in(expr);
    std::string field;
    while (in >> field) fields.push_back(field);
  }
  if (fields.empty()) return Status::InvalidArgument(prefix + "empty expression");

  std::string canonical;
  if (fields.size() == 1 && fields[0][0] == '@') {
    static const std::pair<const char*, const char*> kMacros[] = {
        {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
    };
    canonical = Lower(fields[0]);
    fields.clear();
    for (const auto& [macro, expansion] : kMacros) {
      if (canonical == macro) {
        std::istringstream in(expansion);
        std::string field;
        while (in >> field) fields.push_back(field);
      }
    }
    if (fields.empty()) {
      return Status::InvalidArgument(prefix + "unknown macro " + canonical +
                                     " (use @hourly, @daily, @weekly, @monthly or @yearly)");
    }
  } else if (fields.size() != 5) {
    return Status::InvalidArgument(
        prefix + "expected 5 fields (minute hour day-of-month month day-of-week), found " +
        std::to_string(fields.size()));
  } else {
    for (const std::string& field : fields) {
      canonical += (canonical.empty() ? "" : " ") + field;
    }
  }

  CronScheduleBits bits;
  CronSchedule schedule;
  schedule.text_ = canonical;
  for (int f = 0; f < 5; ++f) {
    const FieldParser parser(expr, kFields[f]);
    const std::string& field = fields[f];
    if (field == "?") {
      if (f != kDayOfMonth && f != kDayOfWeek) return parser.Error("does not allow \"?\"");
      (f == kDayOfMonth ? schedule.dom_star_ : schedule.dow_star_) = true;
      (f == kDayOfMonth ? bits.days : bits.weekdays) = ~uint64_t{0};
      continue;
    }
    if (f == kDayOfMonth) schedule.dom_star_ = field[0] == '*';
    if (f == kDayOfWeek) schedule.dow_star_ = field[0] == '*';
    size_t begin = 0;
    while (true) {
      const size_t comma = field.find(',', begin);
      const std::string item =
          field.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
      if (item.empty()) return parser.Error("has an empty list item in \"" + field + "\"");
      if (item == "?") return parser.Error("\"?\" must stand alone, found \"" + field + "\"");
      switch (f) {
        case kMinute:
          DEW_RETURN_IF_ERROR(parser.RangeItem(item, &bits.minutes));
          break;
        case kHour:
          DEW_RETURN_IF_ERROR(parser.RangeItem(item, &bits.hours));
          break;
        case kDayOfMonth:
          DEW_RETURN_IF_ERROR(parser.DayOfMonthItem(item, &bits));
          break;
        case kMonth:
          DEW_RETURN_IF_ERROR(parser.RangeItem(item, &bits.months));
          break;
        case kDayOfWeek:
          DEW_RETURN_IF_ERROR(parser.DayOfWeekItem(item, &bits));
          break;
      }
      if (comma == std::string::npos) break;
      begin = comma + 1;
    }
  }
  schedule.minutes_ = bits.minutes;
  schedule.hours_ = static_cast<uint32_t>(bits.hours);
  schedule.months_ = static_cast<uint32_t>(bits.months);
  schedule.days_ = static_cast<uint32_t>(bits.days);
  schedule.last_minus_ = bits.last_minus;
  schedule.nearest_ = bits.nearest;
  schedule.last_weekday_ = bits.last_weekday;
  schedule.weekdays_ = static_cast<uint32_t>(bits.weekdays & 0x7f);
  schedule.last_of_month_ = bits.last_of_month;
  schedule.nth_ = bits.nth;

  // The Gregorian calendar repeats every 400 years, so a date that never comes in one cycle
  // never comes at all.
  int64_t ignored = 0;
  if (!schedule.NextLocalMatch(CivilTime{2000, 1, 1, 0, 0, 0}, &ignored)) {
    return Status::InvalidArgument(prefix +
                                   "never fires (no date matches day-of-month, month and "
                                   "day-of-week)");
  }
  return schedule;
}

bool CronSchedule::MatchesDate(int64_t year, int month, int day) const {
  if (!((months_ >> month) & 1)) return false;
  const int dim = DaysInMonth(year, month);
  bool dom = ((days_ >> day) & 1) || ((last_minus_ >> (dim - day)) & 1) ||
             (last_weekday_ && day == LastWeekday(year, month));
  for (uint32_t rest = nearest_; !dom && rest != 0; rest &= rest - 1) {
    dom = NearestWeekday(year, month, std::countr_zero(rest)) == day;
  }
  const int weekday = WeekdayFromDays(DaysFromCivil(year, month, day));
  const bool dow = ((weekdays_ >> weekday) & 1) ||
                   (((last_of_month_ >> weekday) & 1) && day + 7 > dim) ||
                   ((nth_[weekday] >> ((day - 1) / 7 + 1)) & 1);
  if (dom_star_ || dow_star_) return dom && dow;
  return dom || dow;
}

bool CronSchedule::NextLocalMatch(const CivilTime& from, int64_t* local_seconds) const {
  int64_t year = from.year;
  int month = from.month, day = from.day, hour = from.hour, minute = from.minute;
  const int64_t limit = from.year + 401;
  auto next_day = [&] {
    hour = 0;
    minute = 0;
    if (++day > DaysInMonth(year, month)) {
      day = 1;
      if (++month > 12) {
        month = 1;
        ++year;
      }
    }
  };
  while (year < limit) {
    if (!((months_ >> month) & 1)) {
      day = DaysInMonth(year, month);  // next_day() moves to the 1st of the next month
      next_day();
      continue;
    }
    if (!MatchesDate(year, month, day)) {
      next_day();
      continue;
    }
    const uint32_t hours_left = hours_ >> hour;
    if (hours_left == 0) {
      next_day();
      continue;
    }
    if ((hours_left & 1) == 0) {
      hour += std::countr_zero(hours_left);
      minute = 0;
    }
    const uint64_t minutes_left = minutes_ >> minute;
    if (minutes_left == 0) {
      minute = 0;
      if (++hour > 23) next_day();
      continue;
    }
    minute += std::countr_zero(minutes_left);
    *local_seconds = LocalSecondsFromCivil(CivilTime{year, month, day, hour, minute, 0});
    return true;
  }
  return false;
}

Result<int64_t> CronSchedule::NextAfter(int64_t utc_seconds, const TimeZone& tz) const {
  // Far enough from the int64 limits that local-time arithmetic cannot overflow.
  if (utc_seconds < -TimeZone::kMaxSeconds || utc_seconds > TimeZone::kMaxSeconds) {
    return Status::InvalidArgument("cron \"" + text_ + "\": time " + std::to_string(utc_seconds) +
                                   " out of range");
  }
  int64_t local = (FloorDiv(tz.ToLocalSeconds(utc_seconds), 60) + 1) * 60;
  // Local minutes that resolve to instants at or before `utc_seconds` were fired already (the
  // first pass of a repeated hour); skipping them is what makes an overlap fire once. A
  // repeated stretch is at most a day long, so the bound is never reached in practice.
  for (int skipped = 0; skipped <= 24 * 60 + 1; ++skipped) {
    int64_t match = 0;
    if (!NextLocalMatch(CivilFromLocalSeconds(local), &match)) break;
    const LocalResolution resolved = tz.ResolveLocal(match);
    if (resolved.utc_seconds > utc_seconds) return resolved.utc_seconds;
    local = match + 60;
  }
  return Status::NotFound("cron \"" + text_ + "\": no fire time within 400 years after " +
                          std::to_string(utc_seconds) + " in " + tz.name());
}

}  // namespace dew
