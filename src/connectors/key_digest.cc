#include "connectors/key_digest.h"

#include <algorithm>

namespace dew::connectors {
namespace {

std::optional<__int128> ParseInt128(const std::string& text) {
  if (text.empty()) return std::nullopt;
  size_t i = 0;
  const bool negative = text[0] == '-';
  if (negative || text[0] == '+') i = 1;
  if (i == text.size()) return std::nullopt;
  __int128 value = 0;
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return negative ? -value : value;
}

std::string Int128Text(__int128 value) {
  if (value == 0) return "0";
  const bool negative = value < 0;
  std::string out;
  while (value != 0) {
    const int digit = static_cast<int>(value % 10);
    out += static_cast<char>('0' + (negative ? -digit : digit));
    value /= 10;
  }
  if (negative) out += '-';
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace

std::string KeyDigest::SelectSql(const std::string& key, bool sums) {
  if (!sums) return "count(*)";
  const std::string m = std::to_string(kSquareModulus);
  return "count(*), sum(" + key + "), sum((" + key + " % " + m + ") * (" + key + " % " + m + "))";
}

std::optional<KeyDigest> KeyDigest::FromText(const std::vector<std::optional<std::string>>& values,
                                             bool sums) {
  if (values.size() < (sums ? 3u : 1u)) return std::nullopt;
  KeyDigest d;
  d.has_sums = sums;
  auto count = ParseInt128(values[0].value_or(""));
  if (!count) return std::nullopt;
  d.count = static_cast<int64_t>(*count);
  if (!sums) return d;
  // A sum over no rows is NULL (PostgreSQL prints it as the empty string).
  for (int i = 1; i <= 2; ++i) {
    const std::string text = values[static_cast<size_t>(i)].value_or("");
    __int128 v = 0;
    if (!text.empty()) {
      auto parsed = ParseInt128(text);
      if (!parsed) return std::nullopt;
      v = *parsed;
    }
    (i == 1 ? d.sum : d.squares) = v;
  }
  return d;
}

bool KeyDigest::SumsKeys(const std::vector<std::string>& duckdb_types) {
  if (duckdb_types.size() != 1) return false;
  const std::string& t = duckdb_types[0];
  return t == "SMALLINT" || t == "INTEGER" || t == "BIGINT";
}

std::optional<std::vector<int64_t>> KeyDigest::MissingKeys(const KeyDigest& fewer, int64_t lo,
                                                           int64_t hi) const {
  if (!has_sums || !fewer.has_sums || lo >= hi) return std::nullopt;
  const int64_t gone = count - fewer.count;
  const __int128 sum_gone = sum - fewer.sum;
  const __int128 squares_gone = squares - fewer.squares;
  // A key's term in `squares` (SelectSql: C++'s % truncates as both engines' does).
  auto square = [](__int128 key) {
    const __int128 r = key % kSquareModulus;
    return r * r;
  };
  if (gone == 1) {
    if (sum_gone < lo || sum_gone >= hi || square(sum_gone) != squares_gone) return std::nullopt;
    return std::vector<int64_t>{static_cast<int64_t>(sum_gone)};
  }
  if (gone != 2) return std::nullopt;
  // Keys a < b with a + b = sum_gone: a below the pair's mean, b = sum_gone - a within the
  // range. The squares' sum picks the pair; more than one pair fitting it decides nothing.
  std::optional<std::vector<int64_t>> found;
  const __int128 first = std::max<__int128>(lo, sum_gone - (static_cast<__int128>(hi) - 1));
  for (__int128 a = first; 2 * a < sum_gone && a < hi; ++a) {
    const __int128 b = sum_gone - a;
    if (square(a) + square(b) != squares_gone) continue;
    if (found) return std::nullopt;
    found = std::vector<int64_t>{static_cast<int64_t>(a), static_cast<int64_t>(b)};
  }
  return found;
}

void KeyDigest::Add(const KeyDigest& other) {
  count += other.count;
  sum += other.sum;
  squares += other.squares;
}

void KeyDigest::Subtract(const KeyDigest& other) {
  count -= other.count;
  sum -= other.sum;
  squares -= other.squares;
}

bool KeyDigest::operator==(const KeyDigest& other) const {
  return count == other.count && has_sums == other.has_sums &&
         (!has_sums || (sum == other.sum && squares == other.squares));
}

nlohmann::json KeyDigest::ToJson() const {
  nlohmann::json out = {{"count", std::to_string(count)}};
  if (has_sums) {
    out["sum"] = Int128Text(sum);
    out["squares"] = Int128Text(squares);
  }
  return out;
}

std::optional<KeyDigest> KeyDigest::FromJson(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("count") || !json["count"].is_string()) {
    return std::nullopt;
  }
  const bool sums = json.contains("sum");
  std::vector<std::optional<std::string>> values = {json["count"].get<std::string>()};
  if (sums) {
    if (!json["sum"].is_string() || !json.contains("squares") || !json["squares"].is_string()) {
      return std::nullopt;
    }
    values.push_back(json["sum"].get<std::string>());
    values.push_back(json["squares"].get<std::string>());
  }
  return FromText(values, sums);
}

std::string KeyDigest::ToString() const {
  std::string out = "count " + std::to_string(count);
  if (has_sums) out += ", sum " + Int128Text(sum) + ", squares " + Int128Text(squares);
  return out;
}

}  // namespace dew::connectors
