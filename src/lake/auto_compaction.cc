#include "lake/auto_compaction.h"

#include "lake/table_properties.h"

namespace dew::lake {

Result<std::optional<OptimizeResult>> AutoCompact(DeltaTable& table, bool default_on,
                                                  const WriteOptions& options,
                                                  const AutoCompactThresholds& thresholds) {
  DEW_ASSIGN_OR_RETURN(Snapshot snapshot, table.Latest());
  if (!AutoCompactSetting(snapshot.metadata).value_or(default_on))
    return std::optional<OptimizeResult>();
  if (!AutoCompactReason(snapshot, thresholds)) return std::optional<OptimizeResult>();
  OptimizeOptions optimize;
  optimize.auto_compact = true;
  optimize.min_file_size = TargetFileSize(snapshot.metadata) / 2;
  auto result = table.Optimize(optimize, options);
  if (result.status().IsConflict()) return std::optional<OptimizeResult>();
  if (!result.ok()) return result.status().WithContext("auto compaction of " + table.root());
  return std::optional<OptimizeResult>(*result);
}

}  // namespace dew::lake
