// TimeZone: UTC offsets of an IANA zone read from the system tz database (TZif files), and the
// civil-calendar arithmetic that schedules need to work in local time.
//
// All instants are seconds since the Unix epoch (UTC, no leap seconds). "Local seconds" are the
// seconds since 1970-01-01 00:00 of a local wall clock, as if that wall clock were UTC: they let
// civil times be compared and stepped without a calendar object.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace dew {

class FileSystem;

//! A proleptic Gregorian date and wall-clock time, without a zone.
struct CivilTime {
  int64_t year = 1970;
  int month = 1;   //!< 1..12
  int day = 1;     //!< 1..31
  int hour = 0;    //!< 0..23
  int minute = 0;  //!< 0..59
  int second = 0;  //!< 0..59

  bool operator==(const CivilTime&) const = default;
};

//! Days since 1970-01-01 of a civil date; month 1..12, day may exceed the month (it carries).
int64_t DaysFromCivil(int64_t year, int month, int day);
//! The civil date (time fields zero) of a day count since 1970-01-01.
CivilTime CivilFromDays(int64_t days);
//! Local seconds of a civil time (see the file comment).
int64_t LocalSecondsFromCivil(const CivilTime& civil);
//! The civil time of local seconds; also turns UTC seconds into a UTC civil time.
CivilTime CivilFromLocalSeconds(int64_t local_seconds);
//! 0 = Sunday .. 6 = Saturday.
int WeekdayFromDays(int64_t days);
bool IsLeapYear(int64_t year);
//! 28..31; month 1..12.
int DaysInMonth(int64_t year, int month);

//! How a local wall-clock time maps to an instant, see TimeZone::ResolveLocal.
struct LocalResolution {
  enum class Kind {
    kUnique,    //!< the local time occurs exactly once
    kSkipped,   //!< the local time falls in a gap (clocks jumped forward over it)
    kRepeated,  //!< the local time occurs twice (clocks were turned back over it)
  };
  Kind kind = Kind::kUnique;
  int64_t utc_seconds = 0;  //!< the chosen instant, by the rules of ResolveLocal
};

//! One zone's offsets over all time (instants beyond +-kMaxSeconds, about 35 million years, are
//! clamped to it). A value: cheap enough to copy, immutable after loading,
//! safe to share between threads for reading.
class TimeZone {
 public:
  static constexpr int64_t kMaxSeconds = int64_t{1} << 50;

  //! Loads zone `name` (e.g. "Asia/Manila") from `zoneinfo_dir/name`, a TZif file of version 1
  //! to 4. "UTC" and "Etc/UTC" need no file. Times after the file's last transition follow its
  //! POSIX TZ footer (versions 2 and later); a version 1 file keeps its last offset.
  //! NotFound naming the zone when there is no such file; InvalidArgument for a name that is
  //! not a zone name (empty, absolute, or with ".."); Corruption naming the file when it is not
  //! a well-formed TZif file; IOError from `fs` otherwise. `fs` is used only during the call.
  static Result<TimeZone> Load(const std::string& name, FileSystem& fs,
                               const std::string& zoneinfo_dir = "/usr/share/zoneinfo");

  //! Parses the bytes of a TZif file; `name` is the zone's name and `file` names it in errors.
  //! Corruption naming `file` when the bytes are not a well-formed TZif file.
  static Result<TimeZone> FromTzif(const std::string& name, const std::string& bytes,
                                   const std::string& file);

  //! Coordinated Universal Time.
  static TimeZone Utc();

  //! The name it was loaded under.
  const std::string& name() const { return name_; }

  //! Local time minus UTC, in seconds, at instant `utc_seconds` (e.g. +28800 in Manila).
  int64_t OffsetSeconds(int64_t utc_seconds) const;

  //! Local seconds at instant `utc_seconds`.
  int64_t ToLocalSeconds(int64_t utc_seconds) const {
    return utc_seconds + OffsetSeconds(utc_seconds);
  }

  //! The instant of a local wall-clock time, with the ambiguity made explicit:
  //! - kUnique: the one instant.
  //! - kSkipped (DST gap, e.g. 02:30 on a spring-forward night in New York): skips forward to
  //!   the first instant after the gap, i.e. the transition itself (03:00 EDT). Every local
  //!   time inside one gap resolves to the same instant.
  //! - kRepeated (DST overlap, e.g. 01:30 on a fall-back night): the earliest instant, i.e. the
  //!   reading before the clocks were turned back (01:30 EDT).
  //! Assumes at most one offset change within a day of the local time, which every zone in the
  //! tz database satisfies since 1900.
  LocalResolution ResolveLocal(int64_t local_seconds) const;

  //! ResolveLocal(...).utc_seconds for a civil time.
  int64_t LocalToUtc(const CivilTime& civil) const {
    return ResolveLocal(LocalSecondsFromCivil(civil)).utc_seconds;
  }

  //! A POSIX TZ rule ("EST5EDT,M3.2.0,M11.1.0"), as found in TZif footers.
  struct PosixRule {
    int64_t std_offset = 0;  //!< local minus UTC, seconds
    int64_t dst_offset = 0;
    bool has_dst = false;
    //! One end of the DST period: a day rule and the local time of day it happens at.
    struct Date {
      enum class Kind { kJulianNoLeap, kZeroBasedDay, kMonthWeekDay } kind = Kind::kMonthWeekDay;
      int day = 0;          //!< Jn: 1..365; n: 0..365; Mm.w.d: weekday 0..6
      int month = 0;        //!< Mm.w.d only
      int week = 0;         //!< Mm.w.d only, 1..5 (5 = last)
      int64_t time = 7200;  //!< seconds after local midnight, may be negative or past 24h
    };
    Date start;  //!< given in standard time
    Date end;    //!< given in daylight time
  };

 private:
  TimeZone() = default;

  struct Transition {
    int64_t at;  //!< UTC seconds
    int64_t offset;
  };

  int64_t RuleOffset(int64_t utc_seconds) const;

  std::string name_;
  std::vector<Transition> transitions_;  //!< ascending by `at`
  int64_t initial_offset_ = 0;           //!< before the first transition
  bool has_rule_ = false;                //!< times past the last transition follow rule_
  PosixRule rule_;
};

}  // namespace dew
