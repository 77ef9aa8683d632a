// CronSchedule: a parsed 5-field cron expression and the fire times it implies in a time zone.
//
// Grammar (fields separated by blanks; names and letters case-insensitive):
//   minute 0-59 | hour 0-23 | day-of-month 1-31 | month 1-12 or JAN-DEC | day-of-week 0-7 or
//   SUN-SAT (0 and 7 are Sunday). Each field is `*` or a comma list of items; an item is a value,
//   a range `a-b`, or either followed by a step `/n` (`*/15`, `1-10/2`; `5/15` means `5-max/15`).
//   Day-of-month and day-of-week also take `?` (no restriction), and the Quartz extensions:
//   day-of-month `L` (last day), `L-n` (n days before the last day; skipped in months too short),
//   `nW` (the weekday nearest to day n without leaving the month: Saturday moves back to Friday,
//   Sunday forward to Monday, except that 1W on a Saturday is Monday the 3rd and nW on a Sunday
//   that ends the month is the Friday before; skipped in months without day n), `LW` (the last
//   weekday); day-of-week `dL` (the last weekday d of the month, e.g. `5L` = last Friday) and
//   `d#k` (the k-th weekday d, k 1-5, e.g. `1#2` = second Monday).
//   Macros: @hourly, @daily (@midnight), @weekly, @monthly, @yearly (@annually).
// Day-of-month and day-of-week combine as in Vixie cron: when either field starts with `*` (or
// is `?`) a day must match both; when both are restricted a day matching either one fires.
// Expressions that can never fire (`0 0 30 2 *`) are rejected when parsed.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/status.h"
#include "core/time_zone.h"

namespace dew {

//! An immutable value; safe to share between threads.
class CronSchedule {
 public:
  //! Parses `expr`. InvalidArgument naming the expression, the field and the bad token on any
  //! error, e.g. `cron "0 2 32 * *": day-of-month value 32 out of range 1-31`.
  static Result<CronSchedule> Parse(const std::string& expr);

  //! The first fire time strictly after `utc_seconds`, in UTC seconds. Fields are matched
  //! against the wall clock of `tz`. A fire time that falls in a DST gap runs at the first
  //! instant after the gap (TimeZone::ResolveLocal's kSkipped; several such times collapse into
  //! one run); one that falls in a DST overlap runs once, at its first occurrence (so a
  //! minute-wise schedule pauses while the repeated hour replays). InvalidArgument when
  //! `utc_seconds` is beyond +-TimeZone::kMaxSeconds; NotFound if nothing fires within 400
  //! years (Parse rejects schedules that never fire, so only a zone's odd history could).
  Result<int64_t> NextAfter(int64_t utc_seconds, const TimeZone& tz) const;

  //! The expression in canonical spelling: fields separated by one space, macros lower-case.
  //! Parse(ToString()) gives an equal schedule.
  std::string ToString() const { return text_; }

  //! Whether the local civil date `year-month-day` is a firing day (month and day fields).
  bool MatchesDate(int64_t year, int month, int day) const;

  //! Whether the local civil minute `local` (seconds ignored) matches all five fields.
  bool Matches(const CivilTime& local) const {
    return ((minutes_ >> local.minute) & 1) && ((hours_ >> local.hour) & 1) &&
           MatchesDate(local.year, local.month, local.day);
  }

 private:
  CronSchedule() = default;

  //! The first local civil minute at or after `from` whose fields all match, as local
  //! seconds; false when there is none before year from.year + 400.
  bool NextLocalMatch(const CivilTime& from, int64_t* local_seconds) const;

  std::string text_;
  uint64_t minutes_ = 0;  //!< bit m: minute m
  uint32_t hours_ = 0;    //!< bit h: hour h
  uint32_t months_ = 0;   //!< bit m: month m (1..12)
  // Day-of-month items.
  bool dom_star_ = false;      //!< the field starts with `*` or is `?`
  uint32_t days_ = 0;          //!< bit d: day d (1..31)
  uint32_t last_minus_ = 0;    //!< bit n: `L-n` (`L` is n = 0)
  uint32_t nearest_ = 0;       //!< bit d: `dW`
  bool last_weekday_ = false;  //!< `LW`
  // Day-of-week items.
  bool dow_star_ = false;
  uint32_t weekdays_ = 0;             //!< bit w: weekday w (0 = Sunday)
  uint32_t last_of_month_ = 0;        //!< bit w: `wL`
  std::array<uint32_t, 7> nth_ = {};  //!< nth_[w] bit k: `w#k`
};

}  // namespace dew
