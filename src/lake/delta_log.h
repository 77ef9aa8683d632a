// DeltaLog: reads and writes one table's `_delta_log/` folder.
//
// Commits are created exclusively (FileSystem::CreateExclusive), so of two writers racing for a
// version exactly one wins and the other gets AlreadyExists; a commit file appears whole or not
// at all. Readers look only at files named <20 digits>.json / .checkpoint.parquet, so temporary
// files a killed writer left behind are invisible. Every 10th version gets a Parquet checkpoint
// and `_last_checkpoint`, so that loading a snapshot reads at most one checkpoint and nine JSON
// commits whatever the table's age. With a SnapshotCache, loading the latest snapshot again
// reads only the commits made since the last load.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/file_system.h"
#include "lake/actions.h"
#include "lake/snapshot.h"
#include "lake/snapshot_cache.h"

namespace dew::engine {
class Connection;
}

namespace dew::lake {

//! One entry of a table's history (DESCRIBE HISTORY).
struct HistoryEntry {
  int64_t version = 0;
  int64_t timestamp_millis = 0;
  CommitInfo info;
};

class DeltaLog {
 public:
  //! `con` reads and writes checkpoint Parquet files; it must outlive the DeltaLog and is not
  //! used by any other thread meanwhile. `cache` (may be null; must outlive the DeltaLog) keeps
  //! the snapshots LoadSnapshot builds, and starts later loads from them. Not thread-safe.
  DeltaLog(std::shared_ptr<FileSystem> fs, std::string table_root, engine::Connection* con,
           SnapshotCache* cache = nullptr);

  const std::string& table_root() const { return table_root_; }
  std::string log_dir() const;

  //! Whether `_delta_log/` holds at least one commit or checkpoint.
  bool Exists();

  //! The newest committed version; NotFound when the table has no log.
  Result<int64_t> LatestVersion();

  //! The snapshot at `version` (the latest when nullopt). NotFound naming the version and the
  //! range available when it does not exist or its commits were cleaned up. With a cache whose
  //! entry for this table is still in the log (its commit unchanged) and not newer than
  //! `version`, only the commits after the entry are read; the latest is then the version
  //! before the first commit file that does not exist, as without a cache.
  Result<Snapshot> LoadSnapshot(std::optional<int64_t> version = std::nullopt);

  //! The snapshot of the newest version committed at or before `timestamp_millis` (commit
  //! timestamps from commitInfo, file modification times when absent). NotFound when the
  //! timestamp is before the first commit.
  Result<Snapshot> LoadSnapshotAt(int64_t timestamp_millis);

  //! The actions of one commit file.
  Result<CommitActions> ReadCommit(int64_t version);

  //! Newest first, at most `limit` entries (all when 0).
  Result<std::vector<HistoryEntry>> History(size_t limit = 0);

  //! Writes `version`. AlreadyExists when another writer committed that version first.
  Status WriteCommit(int64_t version, const CommitActions& actions);

  //! Writes the checkpoint of `snapshot` and points `_last_checkpoint` at it.
  Status WriteCheckpoint(const Snapshot& snapshot);

  //! Every commit version present, ascending (for vacuum and history).
  Result<std::vector<int64_t>> ListCommitVersions();

 private:
  //! The snapshot from the cache's entry and the commits after it; nullopt when there is no
  //! usable entry or a commit cannot be read (LoadSnapshot then loads as without a cache,
  //! and reports what is wrong).
  std::optional<Snapshot> LoadFromCache(std::optional<int64_t> version);
  //! Keeps `snapshot` in the cache with the identity of its commit file.
  void Remember(const Snapshot& snapshot);

  std::shared_ptr<FileSystem> fs_;
  std::string table_root_;
  engine::Connection* con_;
  SnapshotCache* cache_;
};

}  // namespace dew::lake
