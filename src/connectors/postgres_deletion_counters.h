// PostgresDeletionCounters: whether a PostgreSQL table can have lost a row since the stream's
// last deleted-keys check, from the server's cumulative statistics, so that an incremental sync
// skips the check (a scan of every key) when nothing was deleted, the common case.
//
// The mark is read before the read's snapshot and kept in the stream's state, committed with
// the rows the check covered. It holds the table's oid and file node (TRUNCATE, VACUUM FULL,
// CLUSTER and rewriting ALTERs give a new one; TRUNCATE counts no deleted row), its count of
// deleted rows (pg_stat_all_tables.n_tup_del: every DELETE, committed or not, once the
// deleting backend has flushed its counts, at most a second after it goes idle and within
// 60 s under load), and what changes when counts are lost or reset: the database's
// stats_reset (pg_stat_reset(), pg_stat_reset_single_table_counters()), the cluster's
// (pg_stat_bgwriter.stats_reset, set again when crash recovery or an immediate shutdown
// discards every count, and on a promoted standby), and pg_conf_load_time() (a reload or
// restart, which may have turned track_counts off and on).
//
// Why an equal mark means no deletion to find: each mark was read before the snapshot of a
// check (or is equal to one that was), and a deletion counted in it was committed before it
// was counted, so before that snapshot, and found by that check. A deletion not counted yet
// moves the count later, and the sync after that finds it.
//
// The counts cannot be trusted (the check always runs) before PostgreSQL 15 (its statistics
// collector receives the counts over UDP and may drop them under load), on a standby (it counts
// none of its primary's changes), with track_counts off, for anything but a plain table, and for a
// table with inheritance children or partitions (their deletions are counted on them).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dew::connectors {

struct PostgresDeletionCounters {
  //! The state's key for the mark.
  static constexpr const char* kStateKey = "deletion_counters";
  //! One SELECT returning one row of text columns, FromRow's input; $1 is the table as
  //! `"schema"."table"` (for to_regclass).
  static const char* const kSql;

  //! The mark to keep in the state; null when the counts cannot be trusted.
  nlohmann::json mark;
  //! Why they cannot, for the sync's log ("the server is a standby …"); empty when they can.
  std::string distrust;

  //! From kSql's row (no row: nullopt values, distrusted).
  static PostgresDeletionCounters FromRow(const std::vector<std::optional<std::string>>& values);

  //! Whether the deleted-keys check may be skipped: the counts are trusted and the mark equals
  //! the one in `state` (what the stream's last check saw). `*why` says why it may or may not,
  //! e.g. "PostgreSQL counted 3 deleted rows of public.t since the last check".
  bool Unchanged(const nlohmann::json& state, const std::string& table, std::string* why) const;
};

}  // namespace dew::connectors
