#include "connectors/postgres_deletion_counters.h"

#include <cstdlib>

namespace dew::connectors {

const char* const PostgresDeletionCounters::kSql =
    "SELECT c.oid::text, pg_relation_filenode(c.oid)::text, c.relkind::text, "
    "c.relhassubclass::text, pg_is_in_recovery()::text, current_setting('track_counts'), "
    "pg_stat_get_tuples_deleted(c.oid)::text, "
    "(SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()), "
    "(SELECT stats_reset::text FROM pg_stat_bgwriter), pg_conf_load_time()::text, "
    "current_setting('server_version_num') "
    "FROM pg_class c WHERE c.oid = to_regclass($1)";

PostgresDeletionCounters PostgresDeletionCounters::FromRow(
    const std::vector<std::optional<std::string>>& values) {
  PostgresDeletionCounters counters;
  auto text = [&](size_t i) { return i < values.size() ? values[i] : std::nullopt; };
  if (values.size() < 11 || !text(0) || !text(6) || !text(10)) {
    counters.distrust = "the table's statistics were not found";
  } else if (std::strtol(text(10)->c_str(), nullptr, 10) < 150000) {
    counters.distrust =
        "PostgreSQL before 15 sends its statistics over UDP, which may lose counts under load";
  } else if (*text(4) == "true") {
    counters.distrust = "the server is a standby, which counts none of its primary's deletions";
  } else if (*text(5) != "on") {
    counters.distrust = "track_counts is off";
  } else if (*text(2) != "r") {
    counters.distrust = "it is not a plain table (relkind " + *text(2) + ")";
  } else if (*text(3) == "true") {
    counters.distrust =
        "it has inheritance children or partitions, whose deletions are counted on them";
  }
  if (!counters.distrust.empty()) return counters;
  auto or_null = [&](size_t i) { return text(i) ? nlohmann::json(*text(i)) : nlohmann::json(); };
  counters.mark = {{"table", *text(0)},
                   {"filenode", or_null(1)},
                   {"deleted", *text(6)},
                   {"database_stats_reset", or_null(7)},
                   {"cluster_stats_reset", or_null(8)},
                   {"config_loaded", or_null(9)}};
  return counters;
}

bool PostgresDeletionCounters::Unchanged(const nlohmann::json& state, const std::string& table,
                                         std::string* why) const {
  if (mark.is_null()) {
    *why = "PostgreSQL's statistics cannot tell whether rows of " + table +
           " were deleted: " + distrust;
    return false;
  }
  const nlohmann::json last =
      state.is_object() ? state.value(kStateKey, nlohmann::json()) : nlohmann::json();
  if (!last.is_object()) {
    *why = "no earlier check of " + table + " recorded PostgreSQL's deletion counts";
    return false;
  }
  if (last == mark) {
    *why = "PostgreSQL counted no deleted row of " + table + " since the last check (n_tup_del " +
           mark["deleted"].get<std::string>() + ", no truncation or statistics reset)";
    return true;
  }
  if (last.value("table", "") != mark["table"] ||
      last.value("filenode", nlohmann::json()) != mark["filenode"]) {
    *why = table + " was truncated, rewritten or made anew since the last check";
  } else if (last.value("database_stats_reset", nlohmann::json()) != mark["database_stats_reset"] ||
             last.value("cluster_stats_reset", nlohmann::json()) != mark["cluster_stats_reset"] ||
             last.value("config_loaded", nlohmann::json()) != mark["config_loaded"]) {
    *why = "PostgreSQL's statistics were reset or its configuration reloaded since the last check";
  } else {
    *why = "PostgreSQL counted deleted rows of " + table + " since the last check (n_tup_del " +
           last.value("deleted", std::string("?")) + " then, " +
           mark["deleted"].get<std::string>() + " now)";
  }
  return false;
}

}  // namespace dew::connectors
