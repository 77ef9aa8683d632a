#include "quality/volume_anomaly.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace dew::quality {
namespace {

//! 100, 96.4, 0.5: at most one decimal, none when it is .0.
std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

}  // namespace

Result<VolumeRule> ParseVolumeRule(const nlohmann::json& args) {
  VolumeRule rule;
  if (!args.is_object()) return rule;
  if (args.contains("volume_anomaly")) {
    if (!args["volume_anomaly"].is_boolean())
      return Status::InvalidArgument("volume_anomaly: expected true or false");
    rule.enabled = args["volume_anomaly"].get<bool>();
  }
  if (args.contains("tolerance")) {
    const nlohmann::json& t = args["tolerance"];
    if (!t.is_number() || !(t.get<double>() > 0))
      return Status::InvalidArgument("tolerance: expected a number > 0 (0.2 allows ±20%), got " +
                                     t.dump());
    rule.tolerance = t.get<double>();
  }
  if (args.contains("trailing")) {
    const nlohmann::json& n = args["trailing"];
    if (!n.is_number_integer() || n.get<int64_t>() < 1 || n.get<int64_t>() > 1000)
      return Status::InvalidArgument("trailing: expected a number of runs from 1 to 1000, got " +
                                     n.dump());
    rule.trailing = static_cast<int>(n.get<int64_t>());
  }
  return rule;
}

VolumeVerdict CheckVolume(int64_t count, const std::vector<int64_t>& history,
                          const VolumeRule& rule) {
  VolumeVerdict v;
  const size_t n = std::min(history.size(), static_cast<size_t>(std::max(rule.trailing, 0)));
  v.history = static_cast<int>(n);
  if (n == 0) {
    v.first = true;
    v.message = "row count " + std::to_string(count) + " recorded; no earlier run to compare with";
    return v;
  }
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += static_cast<double>(history[i]);
  v.mean = sum / static_cast<double>(n);
  v.low = v.mean * (1 - rule.tolerance);
  v.high = v.mean * (1 + rule.tolerance);
  // Compare the deviation with the allowed one rather than the count with the band's ends, so
  // a count exactly on an end (80 of 100 at ±20%) is inside despite rounding in 1 ± 0.2.
  const double allowed = rule.tolerance * v.mean;
  const double deviation = std::fabs(static_cast<double>(count) - v.mean);
  v.anomaly = deviation > allowed * (1 + 1e-12);
  v.message = "row count " + std::to_string(count) + (v.anomaly ? " is outside " : " is within ") +
              Number(v.low) + ".." + Number(v.high) + " (mean " + Number(v.mean) + " of the last " +
              std::to_string(n) + (n == 1 ? " run" : " runs") + ", ±" +
              Number(rule.tolerance * 100) + "%)";
  return v;
}

}  // namespace dew::quality
