// Volume anomaly detection for `row_count` tests: every run records the table's row count, and a
// count that moves more than `tolerance` (a share, 0.2 = ±20%) away from the mean of the
// `trailing` previous runs' counts is an anomaly. A table without history passes: its first
// count starts the history.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace dew::quality {

//! The volume rule of one row_count test, from its arguments.
struct VolumeRule {
  bool enabled = true;     //!< `volume_anomaly: false` turns the check off (counts still recorded)
  double tolerance = 0.2;  //!< allowed change as a share of the trailing mean
  int trailing = 5;        //!< how many previous runs make the mean
};

//! Reads `tolerance:`, `trailing:` and `volume_anomaly:` from a row_count test's arguments,
//! keeping the defaults for those absent. InvalidArgument naming the argument when tolerance is
//! not a number > 0, trailing not an integer >= 1, or volume_anomaly not a boolean.
Result<VolumeRule> ParseVolumeRule(const nlohmann::json& args);

//! The verdict on one count.
struct VolumeVerdict {
  bool anomaly = false;  //!< the count is outside the band
  bool first = false;    //!< there was no history: nothing to compare with
  double mean = 0;       //!< mean of the history
  double low = 0;        //!< mean × (1 − tolerance)
  double high = 0;       //!< mean × (1 + tolerance)
  int history = 0;       //!< counts the mean was taken over
  //! For people: the count, the mean, the band and how many runs, e.g. "row count 50 is
  //! outside 80..120 (mean 100 of the last 5 runs, ±20%)".
  std::string message;
};

//! Judges `count` against `history` (earlier runs' counts, newest first; only the first
//! rule.trailing are used). Pure: no I/O.
VolumeVerdict CheckVolume(int64_t count, const std::vector<int64_t>& history,
                          const VolumeRule& rule);

}  // namespace dew::quality
