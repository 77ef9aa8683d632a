// SilverTable: silver.<source>_<stream>, the typed, deduplicated view of a stream's bronze rows,
// upserted by primary key (DeltaTable::Merge). Each silver commit records the bronze batch and
// version it has consumed (commitInfo.operationParameters dewBronzeBatch / dewBronzeVersion),
// so an update reads only the bronze batches landed since, and a sync killed between its
// bronze and silver commits is repaired by the next update.
//
// Rules: within the new bronze rows the newest batch wins per key (then the greater `_cursor`);
// a `_deleted` bronze row keeps the key's last values with `_deleted = true` (the row is not
// removed); a full refresh (a bronze commit marked fullRefreshStart) rebuilds silver from that
// batch on and marks the keys it no longer has `_deleted`. Silver has the bronze columns except
// `_ingest_date`. Silver tables use deletion vectors (Delta reader 3 / writer 7): an upsert marks
// the rows it replaces instead of rewriting the files holding them. Each update also records
// the digest of silver's live keys (LiveKeys), for the deleted-keys check of incremental
// streams.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "connectors/key_digest.h"
#include "core/status.h"

namespace dew::lake {
class Lakehouse;
}

namespace dew::connectors {

struct SilverResult {
  std::string table;         //!< "silver.<source>_<stream>"
  int64_t version = -1;      //!< the silver version written; -1 when already up to date
  int64_t rows_written = 0;  //!< rows upserted (or written by a rebuild)
  int64_t bronze_batch = 0;  //!< the bronze batch silver has consumed after the update
  int64_t bronze_version = -1;
  bool rebuilt = false;  //!< a full refresh was applied
  //! New rows joined with silver to keep their key's last values: the deletions only, never
  //! the other rows of their update.
  int64_t last_values_read = 0;
};

//! The digest of silver's live keys as an update recorded it.
struct RecordedLiveKeys {
  KeyDigest digest;
  int64_t bronze_batch = 0;  //!< the bronze batch silver had consumed with these keys
};

//! Not thread-safe; borrows the lakehouse, which must outlive it.
class SilverTable {
 public:
  SilverTable(lake::Lakehouse* lake, std::string source, std::string stream);

  //! "silver.<source>_<stream>", sanitized as BronzeLanding::TableFor.
  static std::string TableFor(const std::string& source, const std::string& stream);
  //! Makes the views of the stream's bronze and silver tables where the lakehouse has none
  //! (Lakehouse::EnsureView), for a source's deleted-keys check that reads them by name: a
  //! lakehouse may be opened without them (dew sync's), and a check that ends without reading
  //! them (PostgreSQL's statistics or the key digests show no deletion) makes none.
  static Status EnsureViews(lake::Lakehouse* lake, const std::string& source,
                            const std::string& stream);

  const std::string& table() const { return table_; }
  const std::string& bronze_table() const { return bronze_; }

  //! Applies the bronze rows landed since the batch silver consumed last, in one silver commit
  //! (creating the table on first use; new bronze columns evolve it). `primary_key` must be
  //! columns of bronze; InvalidArgument naming the stream when empty. No bronze table or no
  //! new batch: nothing is written (version -1).
  Result<SilverResult> Update(const std::vector<std::string>& primary_key);

  //! The bronze batch and version the newest silver commit records; (0, -1) when silver does
  //! not exist.
  Result<std::pair<int64_t, int64_t>> Consumed();

  //! The KeyDigest of silver's live keys (rows not `_deleted`) by `primary_key`, as the newest
  //! update recorded it (commitInfo.operationParameters dewLiveKeys): each update records the
  //! digest after it, from the one before plus the rows it adds less the live rows it
  //! replaces, so keeping it costs in proportion to the update. nullopt when silver does not
  //! exist, when that commit recorded none (or for another key), or when anything but an
  //! update changed silver's rows since (compactions and property changes do not): the caller
  //! then scans the table.
  Result<std::optional<RecordedLiveKeys>> LiveKeys(const std::vector<std::string>& primary_key);

 private:
  lake::Lakehouse* lake_;
  std::string source_;
  std::string stream_;
  std::string table_;
  //! The operationParameters of the newest commit an update made (empty when none), and
  //! whether a commit that changed rows came after it.
  struct NewestUpdate {
    std::map<std::string, std::string> parameters;
    bool changed_since = false;
  };
  Result<NewestUpdate> FindNewestUpdate();
  //! The digest of the live keys of the rows of `sql` (a query with the key columns and
  //! `_deleted`).
  Result<KeyDigest> DigestOf(const std::string& sql, const std::vector<std::string>& primary_key,
                             bool sums);

  std::string bronze_;
};

}  // namespace dew::connectors
