#include "lake/table_optimizer.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "lake/table_properties.h"

namespace dew::lake {
namespace {

bool SameName(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The file's partition keyed by the table's partition column names (writers differ in case).
PartitionValues PartitionOf(const AddFile& file, const std::vector<std::string>& columns) {
  PartitionValues out;
  for (const auto& column : columns) {
    out[column] = std::nullopt;
    for (const auto& [k, v] : file.partition_values) {
      if (SameName(k, column)) out[column] = v;
    }
  }
  return out;
}

bool IsCandidate(const AddFile& file, int64_t min_file_size, double max_deleted_rows_ratio) {
  if (file.size < min_file_size) return true;
  if (!file.deletion_vector) return false;
  const int64_t records = file.NumRecords();
  if (records <= 0) return true;  // a DV without a row count: rewrite, so stats come back
  return static_cast<double>(file.deletion_vector->cardinality) / static_cast<double>(records) >
         max_deleted_rows_ratio;
}

}  // namespace

CompactionPlan PlanCompaction(const Snapshot& snapshot,
                              const std::optional<std::set<std::string>>& considered,
                              const OptimizeOptions& options) {
  CompactionPlan plan;
  plan.target_file_size =
      options.target_file_size > 0 ? options.target_file_size : TargetFileSize(snapshot.metadata);
  const int64_t min_file_size =
      options.min_file_size > 0 ? options.min_file_size : plan.target_file_size;
  std::map<PartitionValues, std::vector<const AddFile*>> by_partition;
  for (const auto& file : snapshot.files) {
    if (considered && considered->count(file.path) == 0) continue;
    ++plan.files_considered;
    if (!IsCandidate(file, min_file_size, options.max_deleted_rows_ratio)) continue;
    by_partition[PartitionOf(file, snapshot.metadata.partition_columns)].push_back(&file);
  }
  for (auto& [partition, files] : by_partition) {
    std::stable_sort(files.begin(), files.end(),
                     [](const AddFile* a, const AddFile* b) { return a->size < b->size; });
    std::vector<CompactionBin> bins;
    std::vector<bool> has_dv;
    for (const AddFile* f : files) {
      if (bins.empty() ||
          (bins.back().bytes + f->size > plan.target_file_size && !bins.back().paths.empty())) {
        bins.push_back(CompactionBin{partition, {}, 0});
        has_dv.push_back(false);
      }
      bins.back().paths.insert(f->path);
      bins.back().bytes += f->size;
      if (f->deletion_vector) has_dv.back() = true;
    }
    for (size_t i = 0; i < bins.size(); ++i) {
      // One file alone gains nothing from a rewrite unless it drops deleted rows.
      if (bins[i].paths.size() > 1 || has_dv[i]) plan.bins.push_back(std::move(bins[i]));
    }
  }
  return plan;
}

std::map<std::string, std::string> OptimizeMetrics(const CompactionPlan& plan,
                                                   const std::vector<AddFile>& removed,
                                                   const std::vector<AddFile>& added,
                                                   int64_t output_rows) {
  std::map<std::string, std::string> m;
  auto put = [&m](const char* key, int64_t value) { m[key] = std::to_string(value); };
  std::vector<int64_t> sizes;
  int64_t added_bytes = 0, removed_bytes = 0;
  for (const auto& a : added) {
    sizes.push_back(a.size);
    added_bytes += a.size;
  }
  std::sort(sizes.begin(), sizes.end());
  auto percentile = [&sizes](double p) {
    if (sizes.empty()) return int64_t{0};
    return sizes[static_cast<size_t>(p * static_cast<double>(sizes.size() - 1))];
  };
  int64_t dvs = 0, dv_rows = 0, dv_bytes = 0;
  for (const auto& r : removed) {
    removed_bytes += r.size;
    if (!r.deletion_vector) continue;
    ++dvs;
    dv_rows += r.deletion_vector->cardinality;
    dv_bytes += r.deletion_vector->size_in_bytes;
  }
  std::set<PartitionValues> partitions;
  for (const auto& bin : plan.bins) partitions.insert(bin.partition);
  put("numAddedFiles", static_cast<int64_t>(added.size()));
  put("numRemovedFiles", static_cast<int64_t>(removed.size()));
  put("numAddedBytes", added_bytes);
  put("numRemovedBytes", removed_bytes);
  put("minFileSize", sizes.empty() ? 0 : sizes.front());
  put("p25FileSize", percentile(0.25));
  put("p50FileSize", percentile(0.5));
  put("p75FileSize", percentile(0.75));
  put("maxFileSize", sizes.empty() ? 0 : sizes.back());
  put("numDeletionVectorsRemoved", dvs);
  put("numDeletionVectorRowsRemoved", dv_rows);
  put("numDeletionVectorBytesRemoved", dv_bytes);
  put("numBins", static_cast<int64_t>(plan.bins.size()));
  put("numPartitionsOptimized", static_cast<int64_t>(partitions.size()));
  put("totalConsideredFiles", plan.files_considered);
  put("numOutputRows", output_rows);
  return m;
}

std::map<std::string, std::string> OptimizeParameters(const OptimizeOptions& options) {
  nlohmann::json predicate = nlohmann::json::array();
  if (options.where) predicate.push_back(*options.where);
  return {{"predicate", predicate.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)},
          {"zOrderBy", "[]"},
          {"clusterBy", "[]"},
          {"auto", options.auto_compact ? "true" : "false"}};
}

std::optional<std::string> AutoCompactReason(const Snapshot& snapshot,
                                             const AutoCompactThresholds& thresholds) {
  const int64_t small = TargetFileSize(snapshot.metadata) / 2;
  std::map<PartitionValues, int64_t> small_files;
  int64_t stored = 0, deleted = 0;
  for (const auto& f : snapshot.files) {
    if (f.size < small) {
      const int64_t n = ++small_files[PartitionOf(f, snapshot.metadata.partition_columns)];
      if (n >= thresholds.min_small_files) {
        return "a partition holds " + std::to_string(n) + " files under " + std::to_string(small) +
               " bytes";
      }
    }
    stored += std::max<int64_t>(f.NumRecords(), 0);
    if (f.deletion_vector) deleted += f.deletion_vector->cardinality;
  }
  if (stored > 0 && static_cast<double>(deleted) >
                        thresholds.max_deleted_fraction * static_cast<double>(stored)) {
    return "deletion vectors hide " + std::to_string(deleted) + " of " + std::to_string(stored) +
           " stored rows";
  }
  return std::nullopt;
}

}  // namespace dew::lake
