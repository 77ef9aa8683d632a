// TableOptimizer: what OPTIMIZE (bin-packing compaction, as Delta's) rewrites, and what it
// reports. DeltaTable::Optimize runs the plan: one commit with operation OPTIMIZE that removes
// the input files and adds the packed ones, all with dataChange=false.
//
// Which files: within the files considered (all, or those of the partitions a WHERE on
// partition columns selects), a file is a candidate when it is small (under min_file_size) or
// its deletion vector deletes more than max_deleted_rows_ratio of its rows (or it has a DV and
// no row count), as Delta's filterCandidateFileList. Candidates are grouped by partition,
// sorted by size and packed in order into bins of at most target_file_size bytes; each bin
// becomes one new file holding the bin's live rows (deleted rows dropped). A bin of one file is
// left alone unless that file carries a deletion vector, so a compacted table has nothing more
// to do and a second OPTIMIZE commits nothing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lake/actions.h"
#include "lake/snapshot.h"

namespace dew::lake {

struct OptimizeOptions {
  //! A predicate over partition columns only; the other partitions are left alone.
  std::optional<std::string> where;
  //! Bytes a bin may hold; 0: the table's delta.targetFileSize (default 64 MB).
  int64_t target_file_size = 0;
  //! Files under this size are small; 0: target_file_size (Delta's OPTIMIZE), auto compaction
  //! passes half of it (as Databricks' auto compaction) so that its own output is left alone.
  int64_t min_file_size = 0;
  //! A file whose DV deletes more than this fraction of its rows is rewritten whatever its size
  //! (Delta's spark.databricks.delta.optimize.maxDeletedRowsRatio, default 0.05).
  double max_deleted_rows_ratio = 0.05;
  //! Recorded as operationParameters.auto: true when a writer compacted on its own.
  bool auto_compact = false;
};

//! The input files of one new file, all of one partition.
struct CompactionBin {
  //! The partition, keyed by the table's partition column names.
  PartitionValues partition;
  std::set<std::string> paths;  //!< add.path of the input files
  int64_t bytes = 0;
};

struct CompactionPlan {
  std::vector<CompactionBin> bins;
  int64_t files_considered = 0;
  int64_t target_file_size = 0;  //!< as resolved from the options and the table
};

//! The bins OPTIMIZE rewrites among the snapshot's files whose add.path is in `considered`
//! (every file when nullopt). Pure: reads no file.
CompactionPlan PlanCompaction(const Snapshot& snapshot,
                              const std::optional<std::set<std::string>>& considered,
                              const OptimizeOptions& options);

struct OptimizeResult {
  //! The OPTIMIZE commit's version; the table's current version when nothing was committed.
  int64_t version = -1;
  bool committed = false;
  int attempts = 0;
  //! operationMetrics of the commit with Spark's names: numAddedFiles, numRemovedFiles,
  //! numAddedBytes, numRemovedBytes, minFileSize, p25FileSize, p50FileSize, p75FileSize,
  //! maxFileSize, numDeletionVectorsRemoved, numDeletionVectorRowsRemoved,
  //! numDeletionVectorBytesRemoved; plus dew's numBins, numPartitionsOptimized,
  //! totalConsideredFiles and numOutputRows. Empty when nothing was committed.
  std::map<std::string, std::string> metrics;
};

//! The operationMetrics of an OPTIMIZE that rewrote `removed` into `added`.
std::map<std::string, std::string> OptimizeMetrics(const CompactionPlan& plan,
                                                   const std::vector<AddFile>& removed,
                                                   const std::vector<AddFile>& added,
                                                   int64_t output_rows);

//! The operationParameters of an OPTIMIZE, as Spark writes them: predicate (a JSON array of
//! the WHERE text), zOrderBy ("[]"), clusterBy ("[]") and auto.
std::map<std::string, std::string> OptimizeParameters(const OptimizeOptions& options);

//! When a writer compacts a table on its own (Databricks' delta.autoOptimize.autoCompact).
struct AutoCompactThresholds {
  //! Compact once a partition holds at least this many small files (under half the target
  //! size); Databricks' spark.databricks.delta.autoCompact.minNumFiles.
  int64_t min_small_files = 50;
  //! …or once deletion vectors hide more than this fraction of the table's stored rows.
  double max_deleted_fraction = 0.10;
};

//! Whether the table is due for compaction by `thresholds`; a one-line reason when it is.
std::optional<std::string> AutoCompactReason(const Snapshot& snapshot,
                                             const AutoCompactThresholds& thresholds);

}  // namespace dew::lake
