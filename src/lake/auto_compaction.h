// AutoCompaction: a writer compacting the table it just wrote, as Databricks'
// delta.autoOptimize.autoCompact, when the table is due (AutoCompactReason in
// table_optimizer.h: many small files in a partition, or many rows hidden by deletion vectors).
#pragma once

#include <optional>

#include "core/status.h"
#include "lake/delta_table.h"
#include "lake/table_optimizer.h"

namespace dew::lake {

//! Runs OPTIMIZE on `table` (files under half the target size count as small; operationParameters
//! auto=true) when its delta.autoOptimize.autoCompact is on — `default_on` when the table does
//! not set it — and `thresholds` say it is due. Returns the OPTIMIZE's result, or nullopt when
//! compaction is off or not due. A Conflict with a concurrent writer is not an error (nullopt):
//! the next write tries again. Other errors are returned; the table is then unchanged.
Result<std::optional<OptimizeResult>> AutoCompact(DeltaTable& table, bool default_on,
                                                  const WriteOptions& options,
                                                  const AutoCompactThresholds& thresholds = {});

}  // namespace dew::lake
