#include "orchestrator/run_writes.h"

#include <algorithm>

#include "lake/delta_table.h"
#include "lake/lakehouse.h"

namespace dew::orchestrator {

namespace {

constexpr int64_t kClockSkewMillis = 60000;

}  // namespace

Result<std::vector<TableWrite>> FindRunWrites(lake::Lakehouse& lake, const std::string& run_id,
                                              int64_t since_millis) {
  DEW_ASSIGN_OR_RETURN(std::vector<lake::TableName> tables, lake.ListTables());
  std::vector<TableWrite> out;
  for (const lake::TableName& name : tables) {
    auto table = lake.OpenTable(name);
    if (!table.ok()) return table.status().WithContext("reading the log of " + name.ToString());
    lake::DeltaLog& log = (*table)->log();
    auto versions = log.ListCommitVersions();
    if (!versions.ok()) return versions.status().WithContext("listing " + name.ToString());
    TableWrite w;
    w.table = name;
    std::vector<std::pair<int64_t, std::string>> read;  // (version, run id), newest first
    for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
      auto commit = log.ReadCommit(*it);
      if (!commit.ok()) {
        return commit.status().WithContext("reading version " + std::to_string(*it) + " of " +
                                           name.ToString());
      }
      const lake::CommitInfo info = commit->commit_info.value_or(lake::CommitInfo{});
      if (w.latest_version < 0) w.latest_version = *it;
      read.emplace_back(*it, info.run_id);
      if (info.run_id == run_id) w.versions.push_back(*it);
      if (info.timestamp && *info.timestamp < since_millis - kClockSkewMillis) break;
    }
    if (w.versions.empty()) continue;
    std::reverse(w.versions.begin(), w.versions.end());
    w.version_before = w.versions.front() - 1;
    // Other writers after the run's first commit: undoing the run would undo them too.
    for (auto it = read.rbegin(); it != read.rend(); ++it) {
      if (it->first > w.versions.front() && it->second != run_id) {
        w.later_writes.push_back(std::to_string(it->first) + ":" + it->second);
      }
    }
    out.push_back(std::move(w));
  }
  return out;
}

Result<std::vector<DatasetReady>> DatasetsWritten(lake::Lakehouse& lake,
                                                  const std::vector<TableWrite>& writes) {
  std::vector<DatasetReady> out;
  for (const TableWrite& w : writes) {
    DatasetReady d;
    d.dataset = w.table.ToString();
    d.schema_version = w.versions.back();
    DEW_ASSIGN_OR_RETURN(lake::Snapshot snap,
                         lake.LoadSnapshot(w.table, lake::TimeTravel{w.versions.back(), {}}));
    d.row_count = snap.NumRecords();
    if (d.row_count < 0) {
      // A file without statistics (written by another engine): count the rows.
      DEW_ASSIGN_OR_RETURN(std::string scan,
                           lake.ScanTable(d.dataset, lake::TimeTravel{w.versions.back(), {}}));
      DEW_ASSIGN_OR_RETURN(auto t, lake.connection().QueryText("SELECT count(*) FROM " + scan));
      d.row_count = t.rows.empty() ? 0 : std::stoll(t.rows[0][0].value_or("0"));
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace dew::orchestrator
