// KeyDigest: a summary of a set of primary keys that PostgreSQL and DuckDB compute alike, so
// that the deleted-keys check (PostgresSource) can tell two key sets apart without moving the
// keys: their count, and for a single integer key also the sum of the keys and the sum of
// their squares reduced modulo kSquareModulus (exact integer arithmetic in both engines).
// Digests add and subtract: silver keeps the digest of its live keys in each of its commits,
// updated from the rows an upsert adds and replaces instead of a scan of the table.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dew::connectors {

struct KeyDigest {
  //! Squares are reduced modulo this before they are summed, so each fits a BIGINT.
  static constexpr int64_t kSquareModulus = 1000003;

  int64_t count = 0;
  bool has_sums = false;  //!< a single integer key: `sum` and `squares` are set
  __int128 sum = 0;
  __int128 squares = 0;

  //! The SQL select items computing the digest of `key`, a BIGINT expression (PostgreSQL:
  //! `"id"::int8`, DuckDB: `CAST(id AS BIGINT)`): "count(*), sum(…), sum(…)"; with `sums`
  //! false only "count(*)". Both engines' integer `%` truncates, so the squares agree for
  //! negative keys too.
  static std::string SelectSql(const std::string& key, bool sums);

  //! The digest from the text of the SelectSql columns of one result row (NULL sums, over no
  //! rows, as 0); nullopt when a value is not an integer.
  static std::optional<KeyDigest> FromText(const std::vector<std::optional<std::string>>& values,
                                           bool sums);

  //! Whether the key columns, by their DuckDB types, get sums: one SMALLINT, INTEGER or BIGINT.
  static bool SumsKeys(const std::vector<std::string>& duckdb_types);

  //! For digests with sums: when this one exceeds `fewer` by one or two keys, all in
  //! [lo, hi), and exactly one set of that many keys there accounts for the difference of the
  //! sums, those keys (ascending); nullopt otherwise. The deleted-keys check uses it to name
  //! the keys a bucket of the lake holds and the source does not without copying the bucket's
  //! keys. The answer is the lost keys only when `fewer`'s keys are a subset of this digest's:
  //! otherwise (a key only `fewer` has) it may name any keys, so the caller checks them. Takes
  //! time in proportion to hi - lo for two keys.
  std::optional<std::vector<int64_t>> MissingKeys(const KeyDigest& fewer, int64_t lo,
                                                  int64_t hi) const;

  void Add(const KeyDigest& other);
  void Subtract(const KeyDigest& other);
  bool operator==(const KeyDigest& other) const;

  //! {"count":"…","sum":"…","squares":"…"} (sums only when has_sums), numbers as text: sums
  //! may exceed 64 bits.
  nlohmann::json ToJson() const;
  //! Inverse of ToJson; nullopt when `json` is not one.
  static std::optional<KeyDigest> FromJson(const nlohmann::json& json);
  //! "count 5, sum 15, squares 55", for messages.
  std::string ToString() const;
};

}  // namespace dew::connectors
