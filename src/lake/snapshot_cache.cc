#include "lake/snapshot_cache.h"

namespace dew::lake {

std::shared_ptr<const SnapshotCache::Entry> SnapshotCache::Find(
    const std::string& table_root) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(table_root);
  return it == entries_.end() ? nullptr : it->second;
}

void SnapshotCache::Put(const std::string& table_root, Entry entry) {
  auto kept = std::make_shared<const Entry>(std::move(entry));
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = entries_[table_root];
  // Two threads may load one table; the newer snapshot is the better starting point.
  if (slot && slot->snapshot.version > kept->snapshot.version) return;
  slot = std::move(kept);
}

void SnapshotCache::Forget(const std::string& table_root) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(table_root);
}

}  // namespace dew::lake
