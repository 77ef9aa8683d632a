// RunWrites: which lake tables a pipeline run wrote, read from the tables' Delta logs. Every
// commit names the run that made it (commitInfo.dewRunId): sql and model tasks write in-process
// with the run id, sync tasks pass it to the `dew sync` child (--run-id). So the logs, not what
// one worker remembers, say what a run did, whichever workers ran its tasks.
//
// Used for the run's `data_ready` events (one per table, when it succeeds) and by
// `dew run rollback` (each table back to its version before the run).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "lake/medallion.h"
#include "orchestrator/event_dispatcher.h"

namespace dew::lake {
class Lakehouse;
}

namespace dew::orchestrator {

struct TableWrite {
  lake::TableName table;
  std::vector<int64_t> versions;  //!< the run's commits, ascending
  //! The version before the run's first commit; -1 when the run created the table.
  int64_t version_before = -1;
  int64_t latest_version = -1;
  //! Commits after the run's first one that other writers made (undoing the run would undo
  //! them too): "version:run_id", the run id empty when the writer recorded none; oldest first.
  std::vector<std::string> later_writes;
};

//! Every table of `lake` with at least one commit by `run_id`, in the lake's table order. Only
//! commits made at or after `since_millis` (less a minute of clock skew between machines) are
//! read: pass the run's creation time, so the cost is the run's commits and those after it, not
//! each table's whole history. Log read errors name the table.
Result<std::vector<TableWrite>> FindRunWrites(lake::Lakehouse& lake, const std::string& run_id,
                                              int64_t since_millis);

//! One data_ready entry per written table: the table's rows and version at the run's last commit.
Result<std::vector<DatasetReady>> DatasetsWritten(lake::Lakehouse& lake,
                                                  const std::vector<TableWrite>& writes);

}  // namespace dew::orchestrator
