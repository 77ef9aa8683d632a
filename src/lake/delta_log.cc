#include "lake/delta_log.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "lake/checkpoint.h"

namespace dew::lake {
namespace {

constexpr const char* kLastCheckpoint = "_last_checkpoint";
// How many versions below a past version LoadSnapshot probes for a checkpoint before listing.
constexpr int64_t kCheckpointProbes = 20;

bool AllDigits(const std::string& s, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// The version of a log file named exactly <20 digits><suffix>, or -1.
int64_t VersionOf(const std::string& name, const std::string& suffix) {
  if (name.size() != 20 + suffix.size()) return -1;
  if (name.compare(20, suffix.size(), suffix) != 0) return -1;
  if (!AllDigits(name, 0, 20)) return -1;
  return std::stoll(name.substr(0, 20));
}

// What `_delta_log/` holds; anything not named like a commit or checkpoint is ignored.
struct LogListing {
  std::map<int64_t, FileInfo> commits;
  std::map<int64_t, FileInfo> checkpoints;

  bool empty() const { return commits.empty() && checkpoints.empty(); }
  int64_t Latest() const {
    int64_t latest = -1;
    if (!commits.empty()) latest = commits.rbegin()->first;
    if (!checkpoints.empty()) latest = std::max(latest, checkpoints.rbegin()->first);
    return latest;
  }
  // The oldest version a snapshot can be built for.
  int64_t Earliest() const {
    if (commits.count(0)) return 0;
    int64_t earliest = Latest();
    if (!checkpoints.empty()) earliest = std::min(earliest, checkpoints.begin()->first);
    return earliest;
  }
};

// The table as replay builds it up, action by action.
struct ReplayState {
  std::optional<Protocol> protocol;
  std::optional<Metadata> metadata;
  std::vector<Schema> schema_history;
  std::string schema_string;                            // of schema_history.back()
  std::map<std::string, std::pair<AddFile, int>> live;  // path -> file, schema index
  std::map<std::string, RemoveFile> tombstones;
  std::map<std::string, int64_t> app_versions;

  // The state a replay had when it built `snap` (ToSnapshot backwards), to go on from there.
  static ReplayState Of(const Snapshot& snap) {
    ReplayState state;
    state.protocol = snap.protocol;
    state.metadata = snap.metadata;
    state.schema_history = snap.schema_history;
    state.schema_string = snap.metadata.schema_string;
    for (size_t i = 0; i < snap.files.size(); ++i) {
      const int index = i < snap.file_schema_index.size()
                            ? snap.file_schema_index[i]
                            : static_cast<int>(snap.schema_history.size()) - 1;
      state.live[snap.files[i].path] = {snap.files[i], index};
    }
    for (const auto& r : snap.tombstones) state.tombstones[TombstoneKey(r)] = r;
    state.app_versions = snap.app_versions;
    return state;
  }

  // Keyed with the DV too, so that re-adding the path with a new DV keeps the tombstone vacuum
  // needs to judge the old DV's file.
  static std::string TombstoneKey(const RemoveFile& r) {
    return r.deletion_vector ? r.path + '\n' + r.deletion_vector->UniqueId() : r.path;
  }

  Status Apply(const CommitActions& actions, const std::string& source) {
    if (actions.protocol) protocol = actions.protocol;
    if (actions.metadata) {
      if (actions.metadata->schema_string != schema_string || schema_history.empty()) {
        auto schema = Schema::FromDeltaJson(actions.metadata->schema_string);
        if (!schema.ok()) return schema.status().WithContext(source);
        schema_history.push_back(std::move(*schema));
        schema_string = actions.metadata->schema_string;
      }
      metadata = actions.metadata;
    }
    for (const auto& txn : actions.txns) app_versions[txn.app_id] = txn.version;
    // A file removed and added back in one commit (a new deletion vector) keeps the schema it
    // was written with.
    std::map<std::string, int> readded_schema;
    for (const auto& r : actions.removes) {
      auto it = live.find(r.path);
      if (it != live.end()) {
        readded_schema[r.path] = it->second.second;
        live.erase(it);
      }
      tombstones[TombstoneKey(r)] = r;
    }
    const int schema_index = static_cast<int>(schema_history.size()) - 1;
    for (const auto& a : actions.adds) {
      tombstones.erase(a.path);
      auto prior = readded_schema.find(a.path);
      live[a.path] = {a, prior == readded_schema.end() ? schema_index : prior->second};
    }
    return Status::OK();
  }

  // Files of a checkpoint written by dew say which prefix of the schema they were written with
  // (tag dew.numFields; dew only ever appends columns), so columns added later still read as
  // NULL after a checkpoint. Files without the tag are taken to have the current schema.
  Status ApplyCheckpoint(CommitActions actions, const std::string& source) {
    DEW_RETURN_IF_ERROR(Apply(actions, source));
    if (schema_history.empty()) return Status::OK();
    const Schema current = schema_history.back();
    std::map<size_t, int> prefix_index;  // field count -> schema index
    std::map<std::string, size_t> file_fields;
    for (auto& [path, entry] : live) {
      auto it = entry.first.tags.find(kNumFieldsTag);
      if (it == entry.first.tags.end()) continue;
      size_t n = current.fields().size();
      try {
        n = std::stoul(it->second);
      } catch (const std::exception&) {
      }
      entry.first.tags.erase(it);
      if (n >= current.fields().size()) continue;
      prefix_index[n] = 0;
      file_fields[path] = n;
    }
    if (prefix_index.empty()) return Status::OK();
    schema_history.clear();
    for (auto& [n, index] : prefix_index) {
      index = static_cast<int>(schema_history.size());
      schema_history.emplace_back(
          std::vector<Field>(current.fields().begin(), current.fields().begin() + n));
    }
    schema_history.push_back(current);
    for (auto& [path, entry] : live) {
      auto it = file_fields.find(path);
      entry.second = it == file_fields.end() ? static_cast<int>(schema_history.size()) - 1
                                             : prefix_index[it->second];
    }
    return Status::OK();
  }
};

}  // namespace

DeltaLog::DeltaLog(std::shared_ptr<FileSystem> fs, std::string table_root, engine::Connection* con,
                   SnapshotCache* cache)
    : fs_(std::move(fs)), table_root_(std::move(table_root)), con_(con), cache_(cache) {}

std::string DeltaLog::log_dir() const {
  return JoinPath(table_root_, "_delta_log");
}

namespace {

Result<LogListing> ListLog(FileSystem& fs, const std::string& log_dir) {
  LogListing listing;
  auto entries = fs.ListDir(log_dir);
  if (!entries.ok()) {
    if (entries.status().IsNotFound()) return listing;
    return entries.status();
  }
  for (const auto& e : *entries) {
    if (e.is_dir) continue;
    int64_t v = VersionOf(e.name, ".json");
    if (v >= 0) {
      listing.commits[v] = e;
      continue;
    }
    v = VersionOf(e.name, ".checkpoint.parquet");
    if (v >= 0) listing.checkpoints[v] = e;
  }
  return listing;
}

std::string RangeText(const LogListing& listing) {
  if (listing.empty()) return "the table has no versions";
  return "available versions are " + std::to_string(listing.Earliest()) + " to " +
         std::to_string(listing.Latest());
}

}  // namespace

namespace {

// Where a snapshot's replay starts (a checkpoint, or -1 for version 0) and ends.
struct ReplayPlan {
  int64_t base = -1;
  int64_t target = -1;
};

// Finds the checkpoint to start from without listing the log when `_last_checkpoint` allows:
// for the latest version or one after the hint, and for a past version with a checkpoint a few
// versions below it. Nullopt when the log must be listed.
std::optional<ReplayPlan> PlanFromHint(FileSystem& fs, const std::string& log_dir,
                                       std::optional<int64_t> version) {
  auto hint = ReadLastCheckpoint(fs, log_dir);
  if (!hint.ok()) return std::nullopt;
  if ((!version || *version >= *hint) && fs.Exists(JoinPath(log_dir, CheckpointFileName(*hint)))) {
    int64_t latest = *hint;
    while (fs.Exists(JoinPath(log_dir, CommitFileName(latest + 1)))) ++latest;
    if (version && *version > latest) return std::nullopt;
    return ReplayPlan{*hint, version.value_or(latest)};
  }
  if (version && *version >= 0 && *version < *hint) {
    for (int64_t v = *version; v >= 0 && v > *version - kCheckpointProbes; --v) {
      if (fs.Exists(JoinPath(log_dir, CheckpointFileName(v)))) return ReplayPlan{v, *version};
    }
    // A version below the first checkpoint replays from version 0 when all its commits are
    // still there; probing them by name keeps this cheap however long the log has grown.
    if (*version < kCheckpointProbes) {
      for (int64_t v = 0; v <= *version; ++v) {
        if (!fs.Exists(JoinPath(log_dir, CommitFileName(v)))) return std::nullopt;
      }
      return ReplayPlan{-1, *version};
    }
  }
  return std::nullopt;
}

// Plans from a listing of the log: NotFound naming the available range for a version that does
// not exist or can no longer be rebuilt, Corruption naming the missing commit for a gap.
Result<ReplayPlan> PlanFromListing(FileSystem& fs, const std::string& log_dir,
                                   const std::string& table_root, std::optional<int64_t> version) {
  DEW_ASSIGN_OR_RETURN(LogListing listing, ListLog(fs, log_dir));
  if (listing.empty()) {
    return Status::NotFound("no Delta table at " + table_root + " (no commits in _delta_log)");
  }
  ReplayPlan plan;
  plan.target = version.value_or(listing.Latest());
  if (plan.target < 0 || plan.target > listing.Latest()) {
    return Status::NotFound("version " + std::to_string(plan.target) + " of table " + table_root +
                            " does not exist; " + RangeText(listing));
  }
  auto cp = listing.checkpoints.upper_bound(plan.target);
  if (cp != listing.checkpoints.begin()) plan.base = std::prev(cp)->first;
  for (int64_t v = plan.base + 1; v <= plan.target; ++v) {
    if (listing.commits.count(v)) continue;
    if (listing.commits.empty() || v < listing.commits.begin()->first) {
      return Status::NotFound("version " + std::to_string(plan.target) + " of table " + table_root +
                              " can no longer be reconstructed (its commits were cleaned up); " +
                              RangeText(listing));
    }
    return Status::Corruption("the log of table " + table_root + " has a gap: commit " +
                              JoinPath(log_dir, CommitFileName(v)) + " (version " +
                              std::to_string(v) + ") is missing");
  }
  return plan;
}

Result<Snapshot> ToSnapshot(ReplayState state, const std::string& table_root, int64_t version,
                            int64_t timestamp_millis) {
  if (!state.protocol || !state.metadata) {
    return Status::Corruption("the log of table " + table_root + " up to version " +
                              std::to_string(version) + " has no " +
                              (state.protocol ? "metaData" : "protocol") + " action");
  }
  // Reader 3 names its features; dew reads the deletionVectors one (table_scan.h).
  const Protocol& p = *state.protocol;
  bool readable = p.min_reader_version <= 1;
  if (p.min_reader_version == 3 && p.reader_features) {
    readable = true;
    for (const auto& f : *p.reader_features) readable &= f == kDeletionVectorsFeature;
  }
  if (!readable) {
    return Status::NotSupported("table " + table_root + " needs Delta reader version " +
                                std::to_string(state.protocol->min_reader_version) +
                                "; dew reads version 1, and version 3 with deletion vectors");
  }
  Snapshot snap;
  snap.table_root = table_root;
  snap.version = version;
  snap.timestamp_millis = timestamp_millis;
  snap.protocol = *state.protocol;
  snap.metadata = std::move(*state.metadata);
  snap.schema = state.schema_history.back();
  snap.schema_history = std::move(state.schema_history);
  for (auto& [path, entry] : state.live) {
    snap.files.push_back(std::move(entry.first));
    snap.file_schema_index.push_back(entry.second);
  }
  for (auto& [path, r] : state.tombstones) snap.tombstones.push_back(std::move(r));
  snap.app_versions = std::move(state.app_versions);
  return snap;
}

}  // namespace

bool DeltaLog::Exists() {
  // The first commit answers without listing a log of thousands of files (a sync asked a dozen
  // times); only a table whose first commits were cleaned up is listed.
  if (fs_->Exists(JoinPath(log_dir(), CommitFileName(0)))) return true;
  auto listing = ListLog(*fs_, log_dir());
  return listing.ok() && !listing->empty();
}

Result<int64_t> DeltaLog::LatestVersion() {
  // `_last_checkpoint` lets an old table skip listing thousands of commit files.
  if (auto fast = PlanFromHint(*fs_, log_dir(), std::nullopt)) return fast->target;
  DEW_ASSIGN_OR_RETURN(LogListing listing, ListLog(*fs_, log_dir()));
  if (listing.empty()) {
    return Status::NotFound("no Delta table at " + table_root_ + " (no commits in _delta_log)");
  }
  return listing.Latest();
}

Result<CommitActions> DeltaLog::ReadCommit(int64_t version) {
  const std::string path = JoinPath(log_dir(), CommitFileName(version));
  auto text = fs_->ReadFile(path);
  if (!text.ok()) {
    if (text.status().IsNotFound()) {
      return Status::NotFound("version " + std::to_string(version) + " of table " + table_root_ +
                              " has no commit file " + path);
    }
    return text.status();
  }
  return ParseCommit(*text, path);
}

std::optional<Snapshot> DeltaLog::LoadFromCache(std::optional<int64_t> version) {
  std::shared_ptr<const SnapshotCache::Entry> entry = cache_->Find(table_root_);
  if (entry == nullptr || (version && *version < entry->snapshot.version)) return std::nullopt;
  int64_t v = entry->snapshot.version;
  auto info = fs_->Stat(JoinPath(log_dir(), CommitFileName(v)));
  if (!info.ok() || info->size != entry->commit_size ||
      info->mtime_millis != entry->commit_mtime_millis) {
    cache_->Forget(table_root_);  // another table now, or its log was cleaned up
    return std::nullopt;
  }
  std::optional<ReplayState> state;
  int64_t timestamp = -1;  // of version v, from its commitInfo; -1: not there
  while (!version || v < *version) {
    auto actions = ReadCommit(v + 1);
    if (actions.status().IsNotFound() && !version) break;  // v is the latest
    if (!actions.ok()) return std::nullopt;
    if (!state) state = ReplayState::Of(entry->snapshot);
    const std::string source = JoinPath(log_dir(), CommitFileName(v + 1));
    if (!state->Apply(*actions, source).ok()) return std::nullopt;
    ++v;
    const auto& commit_info = actions->commit_info;
    timestamp = commit_info && commit_info->timestamp ? *commit_info->timestamp : -1;
  }
  if (!state) return entry->snapshot;
  if (timestamp < 0) {
    auto stat = fs_->Stat(JoinPath(log_dir(), CommitFileName(v)));
    if (!stat.ok()) return std::nullopt;
    timestamp = stat->mtime_millis;
  }
  auto snap = ToSnapshot(std::move(*state), table_root_, v, timestamp);
  if (!snap.ok()) return std::nullopt;
  Remember(*snap);
  return std::move(*snap);
}

void DeltaLog::Remember(const Snapshot& snapshot) {
  auto info = fs_->Stat(JoinPath(log_dir(), CommitFileName(snapshot.version)));
  if (!info.ok()) return;  // only a checkpoint is left of it: nothing to recognize it by
  cache_->Put(table_root_, SnapshotCache::Entry{snapshot, info->size, info->mtime_millis});
}

Result<Snapshot> DeltaLog::LoadSnapshot(std::optional<int64_t> version) {
  if (cache_ != nullptr) {
    if (auto cached = LoadFromCache(version)) return std::move(*cached);
  }
  ReplayPlan plan;
  if (auto fast = PlanFromHint(*fs_, log_dir(), version)) {
    plan = *fast;
  } else {
    DEW_ASSIGN_OR_RETURN(plan, PlanFromListing(*fs_, log_dir(), table_root_, version));
  }

  ReplayState state;
  if (plan.base >= 0) {
    const std::string source = JoinPath(log_dir(), CheckpointFileName(plan.base));
    auto actions = ReadCheckpoint(con_, source);
    if (actions.ok()) {
      DEW_RETURN_IF_ERROR(state.ApplyCheckpoint(std::move(*actions), source));
    } else {
      // An unreadable checkpoint is only a shortcut lost when every commit before it is kept.
      for (int64_t v = 0; v <= plan.base; ++v) {
        if (!fs_->Exists(JoinPath(log_dir(), CommitFileName(v)))) return actions.status();
      }
      plan.base = -1;
    }
  }
  std::optional<int64_t> target_timestamp;
  for (int64_t v = plan.base + 1; v <= plan.target; ++v) {
    auto actions = ReadCommit(v);
    if (!actions.ok()) {
      if (actions.status().IsNotFound()) {
        return Status::Corruption("the log of table " + table_root_ + " has a gap: version " +
                                  std::to_string(v) + " is missing");
      }
      return actions.status();
    }
    DEW_RETURN_IF_ERROR(state.Apply(*actions, JoinPath(log_dir(), CommitFileName(v))));
    if (v == plan.target && actions->commit_info) {
      target_timestamp = actions->commit_info->timestamp;
    }
  }
  if (!target_timestamp) {
    // The version is the checkpoint itself, or its commit has no commitInfo.timestamp.
    auto commit = ReadCommit(plan.target);
    if (commit.ok() && commit->commit_info && commit->commit_info->timestamp) {
      target_timestamp = commit->commit_info->timestamp;
    } else {
      auto info = fs_->Stat(JoinPath(log_dir(), CommitFileName(plan.target)));
      if (!info.ok() && plan.base >= 0) {
        info = fs_->Stat(JoinPath(log_dir(), CheckpointFileName(plan.base)));
      }
      if (info.ok()) target_timestamp = info->mtime_millis;
    }
  }
  auto snap = ToSnapshot(std::move(state), table_root_, plan.target, target_timestamp.value_or(0));
  // Only the latest: a past version would make the next load of the latest replay every
  // commit since, where the checkpoint is the shorter way.
  if (cache_ != nullptr && snap.ok() && !version) Remember(*snap);
  return snap;
}

Result<Snapshot> DeltaLog::LoadSnapshotAt(int64_t timestamp_millis) {
  DEW_ASSIGN_OR_RETURN(LogListing listing, ListLog(*fs_, log_dir()));
  if (listing.empty()) {
    return Status::NotFound("no Delta table at " + table_root_ + " (no commits in _delta_log)");
  }
  std::vector<std::pair<int64_t, int64_t>> commits;  // version, mtime
  for (const auto& [v, info] : listing.commits) {
    if (v >= listing.Earliest()) commits.emplace_back(v, info.mtime_millis);
  }
  if (commits.empty()) {
    return Status::NotFound("table " + table_root_ + " keeps no commit timestamps; " +
                            RangeText(listing));
  }
  auto timestamp_of = [&](size_t i) -> int64_t {
    auto actions = ReadCommit(commits[i].first);
    if (actions.ok() && actions->commit_info && actions->commit_info->timestamp) {
      return *actions->commit_info->timestamp;
    }
    return commits[i].second;
  };
  // Commit timestamps grow with versions, so a binary search reads O(log n) commit files.
  const int64_t first_timestamp = timestamp_of(0);
  if (first_timestamp > timestamp_millis) {
    return Status::NotFound(
        "table " + table_root_ + " has no version committed at or before " +
        std::to_string(timestamp_millis) + " ms; its oldest available commit (version " +
        std::to_string(commits[0].first) + ") is at " + std::to_string(first_timestamp) + " ms");
  }
  size_t lo = 0;  // timestamp_of(lo) <= timestamp_millis
  size_t hi = commits.size();
  while (hi - lo > 1) {
    const size_t mid = lo + (hi - lo) / 2;
    if (timestamp_of(mid) <= timestamp_millis) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return LoadSnapshot(commits[lo].first);
}

Result<std::vector<HistoryEntry>> DeltaLog::History(size_t limit) {
  DEW_ASSIGN_OR_RETURN(LogListing listing, ListLog(*fs_, log_dir()));
  std::vector<HistoryEntry> out;
  for (auto it = listing.commits.rbegin(); it != listing.commits.rend(); ++it) {
    if (limit != 0 && out.size() >= limit) break;
    DEW_ASSIGN_OR_RETURN(CommitActions actions, ReadCommit(it->first));
    HistoryEntry entry;
    entry.version = it->first;
    entry.timestamp_millis = it->second.mtime_millis;
    if (actions.commit_info) {
      entry.info = std::move(*actions.commit_info);
      if (entry.info.timestamp) entry.timestamp_millis = *entry.info.timestamp;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Status DeltaLog::WriteCommit(int64_t version, const CommitActions& actions) {
  if (version < 0) return Status::InvalidArgument("commit version must be >= 0");
  DEW_RETURN_IF_ERROR(fs_->CreateDirs(log_dir()));
  if (version > 0 && !fs_->Exists(JoinPath(log_dir(), CommitFileName(version - 1))) &&
      !fs_->Exists(JoinPath(log_dir(), CheckpointFileName(version - 1)))) {
    return Status::InvalidArgument("cannot commit version " + std::to_string(version) +
                                   " of table " + table_root_ + ": version " +
                                   std::to_string(version - 1) + " does not exist");
  }
  // The commit makes its files visible, so they must be durable first: DuckDB writes Parquet
  // without fsync, and a power loss would otherwise leave a committed version naming an empty
  // file. Their folders too, up to the table root, for the new names in them.
  // A file that is not there has nothing to make durable: log-only writers (tests, tools that
  // restate a log) commit adds of files elsewhere or gone.
  auto sync = [this](const std::string& path) {
    Status s = fs_->Sync(path);
    return s.IsNotFound() ? Status::OK() : s;
  };
  std::set<std::string> dirs;
  for (const AddFile& add : actions.adds) {
    const std::string file = JoinPath(table_root_, DecodePath(add.path));
    DEW_RETURN_IF_ERROR(sync(file));
    std::string dir = file.substr(0, file.rfind('/'));
    while (dir.size() >= table_root_.size() && dirs.insert(dir).second &&
           dir.size() > table_root_.size()) {
      dir = dir.substr(0, dir.rfind('/'));
    }
  }
  // Version 0 is the table's first: its folder's entry in the layer folder, and the log
  // folder's in its own, are new too (the layer folder itself was made durably).
  if (version == 0) {
    dirs.insert(table_root_);
    const size_t slash = table_root_.rfind('/');
    if (slash != std::string::npos && slash > 0) dirs.insert(table_root_.substr(0, slash));
  }
  for (const std::string& dir : dirs) DEW_RETURN_IF_ERROR(sync(dir));
  // A table made anew where one was dropped: its first commits are not the old table's.
  if (version == 0 && cache_ != nullptr) cache_->Forget(table_root_);
  const std::string path = JoinPath(log_dir(), CommitFileName(version));
  Status status = fs_->CreateExclusive(path, SerializeCommit(actions));
  if (status.IsAlreadyExists()) {
    return Status::AlreadyExists("version " + std::to_string(version) + " of table " + table_root_ +
                                 " was committed by another writer (" + path + ")");
  }
  return status;
}

Status DeltaLog::WriteCheckpoint(const Snapshot& snapshot) {
  const std::string path = JoinPath(log_dir(), CheckpointFileName(snapshot.version));
  DEW_ASSIGN_OR_RETURN(int64_t rows, lake::WriteCheckpoint(con_, *fs_, snapshot, path));
  // `_last_checkpoint` only moves forward: a late checkpoint of an older version keeps it.
  auto current = ReadLastCheckpoint(*fs_, log_dir());
  if (current.ok() && *current > snapshot.version) return Status::OK();
  nlohmann::json last = {{"version", snapshot.version}, {"size", rows}};
  return fs_->WriteFile(JoinPath(log_dir(), kLastCheckpoint), last.dump());
}

Result<std::vector<int64_t>> DeltaLog::ListCommitVersions() {
  DEW_ASSIGN_OR_RETURN(LogListing listing, ListLog(*fs_, log_dir()));
  std::vector<int64_t> out;
  out.reserve(listing.commits.size());
  for (const auto& [v, info] : listing.commits) out.push_back(v);
  return out;
}

}  // namespace dew::lake
