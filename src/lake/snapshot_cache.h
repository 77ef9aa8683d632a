// SnapshotCache: the newest snapshot of each table a process has loaded, so that loading a
// table again replays only the commits made since (by this process or another) instead of its
// checkpoint and every commit after it. A `dew sync` loaded bronze's snapshot three times and
// silver's several: each load read the checkpoint through DuckDB (15-60 ms).
//
// An entry is only a starting point. DeltaLog (delta_log.h) checks it against the log at every
// load: the entry's own commit file must be unchanged (size and modification time; a table
// dropped and made again has other commits), and the commits after it are read until the next
// one does not exist. So a commit made by another process is never hidden; the cache saves the
// checkpoint, not the look at the log.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "lake/snapshot.h"

namespace dew::lake {

class SnapshotCache {
 public:
  //! A snapshot and the identity of the commit file of its version.
  struct Entry {
    Snapshot snapshot;
    uint64_t commit_size = 0;
    int64_t commit_mtime_millis = 0;
  };

  SnapshotCache() = default;
  SnapshotCache(const SnapshotCache&) = delete;
  SnapshotCache& operator=(const SnapshotCache&) = delete;

  //! The entry of the table at `table_root`, or null. The entry never changes: a newer one
  //! replaces it.
  std::shared_ptr<const Entry> Find(const std::string& table_root) const;
  //! Keeps `entry` for `table_root`, unless the entry kept has a newer version.
  void Put(const std::string& table_root, Entry entry);
  //! Drops the entry of `table_root` (the table was dropped, or is being made anew).
  void Forget(const std::string& table_root);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Entry>> entries_;  //!< guarded by mu_
};

}  // namespace dew::lake
