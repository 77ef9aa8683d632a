#include "lake/table_properties.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "lake/deletion_vector.h"

namespace dew::lake {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

Result<std::string> CheckBoolean(const std::string& key, const std::string& value) {
  const std::string v = Lower(Trim(value));
  if (v == "true" || v == "false") return v;
  return Status::InvalidArgument("table property " + key + " must be true or false, not '" + value +
                                 "'");
}

// The grammar checkpoints read (see TombstoneRetentionMillis in checkpoint.cc).
Result<std::string> CheckInterval(const std::string& key, const std::string& value) {
  std::istringstream in(Lower(Trim(value)));
  std::string word, unit, extra;
  double amount = -1;
  const bool parsed = static_cast<bool>(in >> word >> amount >> unit) && !(in >> extra);
  if (!unit.empty() && unit.back() == 's') unit.pop_back();
  static const std::vector<std::string> kUnits = {"millisecond", "second", "minute",
                                                  "hour",        "day",    "week"};
  if (!parsed || word != "interval" || amount < 0 ||
      std::find(kUnits.begin(), kUnits.end(), unit) == kUnits.end()) {
    return Status::InvalidArgument("table property " + key + " must read 'interval <n> <unit>'" +
                                   " with unit millisecond, second, minute, hour, day or week " +
                                   "(e.g. 'interval 7 days'), not '" + value + "'");
  }
  return Lower(Trim(value));
}

}  // namespace

const std::vector<std::string>& KnownTableProperties() {
  static const std::vector<std::string> kKnown = {kEnableDeletionVectorsProperty,
                                                  kDeletedFileRetentionProperty,
                                                  kTargetFileSizeProperty, kAutoCompactProperty};
  return kKnown;
}

std::string CanonicalPropertyName(const std::string& key) {
  for (const auto& known : KnownTableProperties()) {
    if (Lower(known) == Lower(key)) return known;
  }
  return key;
}

Result<int64_t> ParseByteSize(const std::string& text) {
  const std::string t = Lower(Trim(text));
  errno = 0;
  char* end = nullptr;
  const double amount = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || errno != 0 || !(amount >= 0)) {
    return Status::InvalidArgument("'" + text + "' is not a size (bytes, or e.g. 64mb, 1gb)");
  }
  std::string unit = Trim(std::string(end));
  if (unit.size() == 1 && unit != "b") unit += "b";  // 64m -> 64mb
  double scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  if (unit == "kb") scale = 1024.0;
  if (unit == "mb") scale = 1024.0 * 1024;
  if (unit == "gb") scale = 1024.0 * 1024 * 1024;
  if (scale == 0 || amount * scale > 1e15) {
    return Status::InvalidArgument("'" + text + "' is not a size (bytes, or e.g. 64mb, 1gb)");
  }
  const int64_t bytes = static_cast<int64_t>(amount * scale);
  if (bytes < 1024) {
    return Status::InvalidArgument("size '" + text + "' is under 1 KB");
  }
  return bytes;
}

Result<std::string> CheckTableProperty(const std::string& key, const std::string& value) {
  if (key == kEnableDeletionVectorsProperty || key == kAutoCompactProperty) {
    return CheckBoolean(key, value);
  }
  if (key == kDeletedFileRetentionProperty) return CheckInterval(key, value);
  if (key == kTargetFileSizeProperty) {
    auto bytes = ParseByteSize(value);
    if (!bytes.ok()) {
      return Status::InvalidArgument("table property " + key + ": " + bytes.status().message());
    }
    return Trim(value);
  }
  if (Lower(key).rfind("delta.", 0) == 0) {
    std::string known;
    for (const auto& k : KnownTableProperties()) known += (known.empty() ? "" : ", ") + k;
    return Status::InvalidArgument("unknown table property '" + key +
                                   "': the Delta properties dew understands are " + known +
                                   " (keys outside delta. are free)");
  }
  if (Trim(key).empty()) return Status::InvalidArgument("a table property needs a name");
  return value;
}

int64_t TargetFileSize(const Metadata& metadata) {
  auto it = metadata.configuration.find(kTargetFileSizeProperty);
  if (it == metadata.configuration.end()) return kDefaultTargetFileSize;
  auto bytes = ParseByteSize(it->second);
  return bytes.ok() ? *bytes : kDefaultTargetFileSize;
}

std::optional<bool> AutoCompactSetting(const Metadata& metadata) {
  auto it = metadata.configuration.find(kAutoCompactProperty);
  if (it == metadata.configuration.end()) return std::nullopt;
  return Lower(Trim(it->second)) == "true";
}

}  // namespace dew::lake
