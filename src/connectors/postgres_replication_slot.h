// PostgresReplicationSlot: the source half of `detect_deletes: replication`. Instead of
// comparing every key of the table with the lake's on each sync, the stream follows the table's
// deletions in PostgreSQL's write-ahead log through logical decoding, as Fivetran and Airbyte
// do: a publication of the table limited to its primary-key columns and a logical replication
// slot (plugin `pgoutput`), both named after the connection and stream (Name). No replication
// connection is needed: an ordinary connection peeks at the slot's changes
// (pg_logical_slot_peek_binary_changes) and, once the sync's deletions are committed in the
// lake, advances it (pg_replication_slot_advance).
//
// The order within a sync, so that no deletion is missed or landed wrongly:
//   1. Prepare, before the read's snapshot: check the source, make the publication, find the
//      slot (or make it, which starts its window before the snapshot).
//   2. The read's REPEATABLE READ snapshot; `upto` = pg_current_wal_flush_lsn() taken after it
//      (with synchronous_commit, every commit the snapshot sees is flushed before it).
//   3. ReadWindow(upto): each key's last change in the window, to a CSV file (bounded memory).
//   4. The read lands its rows; then the keys whose last change was a deletion (and that the
//      lake holds live) land as `_deleted` rows, with the state naming `upto` (LandDeletions).
//   5. AdvanceInBackground(upto), which PostgreSQL completes while silver is updated. A sync
//      killed before it leaves the slot behind the state: the next Prepare advances it to the
//      state's LSN first; killed before step 4's commit, the next sync reads the same window
//      again.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connectors/postgres_source.h"
#include "connectors/source.h"
#include "core/status.h"

namespace dew::lake {
class Lakehouse;
}

namespace dew::connectors {

class BronzeLanding;

//! The table a slot follows.
struct ReplicationTarget {
  std::string connection;  //!< the connection's name
  std::string stream;      //!< the stream's name
  std::string schema;
  std::string table;
  //! The stream's key columns (names and lake types), which must be the table's primary key.
  std::vector<ColumnInfo> key;
};

//! What Prepare found.
struct ReplicationPlan {
  //! True: the slot's window since the last sync holds every deletion, read it (ReadWindow).
  //! False: the slot was just made (first sync, missing, lost, publication changed): this sync
  //! compares the whole key sets once (the deleted-keys digest check) instead.
  bool use_window = false;
  std::string reason;       //!< why not, for the sync's log: "the slot was lost", ...
  std::string start_lsn;    //!< the slot's confirmed position (its window's start)
  int64_t publication = 0;  //!< the publication's oid, kept in the state
};

//! The changes of one window, decoded.
struct ReplicationWindow {
  std::string csv_path;    //!< per change: the key's values, its order, 'D' or 'U'; no header
  int64_t changes = 0;     //!< row changes of the table in the window
  int64_t deletions = 0;   //!< of which deletions
  bool truncated = false;  //!< the table was truncated in the window (the file is incomplete)
  std::string upto;        //!< the window's end
};

//! Not thread-safe. Opens its own connection on first use and keeps it until destroyed.
class PostgresReplicationSlot {
 public:
  PostgresReplicationSlot(const PostgresConfig& config, ReplicationTarget target);
  ~PostgresReplicationSlot();
  PostgresReplicationSlot(const PostgresReplicationSlot&) = delete;
  PostgresReplicationSlot& operator=(const PostgresReplicationSlot&) = delete;

  //! The slot's and the publication's name: "dew_<connection>_<stream>", lower case, characters
  //! other than a-z, 0-9 and _ as _, at most 63 characters (then ending in a hash of the
  //! whole; a hash is also added when characters were replaced, so names never collide).
  static std::string Name(const std::string& connection, const std::string& stream);

  //! Checks that the source can follow the table, without changing anything: wal_level is
  //! logical, the user has REPLICATION, the table has a primary key equal to the stream's key
  //! and REPLICA IDENTITY DEFAULT, and the publication exists as it should or the user may
  //! create it. InvalidArgument (NotFound for a missing table) saying which, and what to run.
  Status Check();

  //! Step 1 (see above), to run before the read's snapshot. Runs Check's checks; creates the
  //! publication when missing (or sets its table and columns when they differ); finds the slot
  //! and makes it when missing, lost (wal_status 'lost'), made for another plugin or database,
  //! or when `state` (the stream's committed state) has no replication part or names another
  //! publication. When the slot is behind the state's LSN (a sync killed after its commit),
  //! advances it there.
  Result<ReplicationPlan> Prepare(const nlohmann::json& state);

  //! Step 3: decodes the slot's changes up to `upto` (a pg_lsn's text) into a CSV file in
  //! `temp_dir` (removed by the destructor). Stops at a TRUNCATE of the table (`truncated`).
  //! IOError naming the slot when the slot cannot be read.
  Result<ReplicationWindow> ReadWindow(const std::string& upto, const std::string& temp_dir);

  //! Adds `rows` deletions to `window`'s file: `csv` holds their lines as the file does
  //! (key values, order, 'D'), e.g. from a COPY of keys that left the stream's filter.
  Status AppendDeletions(const std::string& csv, int64_t rows, ReplicationWindow* window);

  //! Drops the slot and makes it again (after a TRUNCATE in its window). Returns the new plan
  //! (use_window false).
  Result<ReplicationPlan> Recreate(const std::string& reason);

  //! Step 5: confirms the slot's changes up to `lsn`, so PostgreSQL may recycle their WAL.
  //! A no-op when the slot is already there or beyond.
  Status Advance(const std::string& lsn);

  //! Step 5 without waiting: sends Advance's statement and returns; PostgreSQL completes it
  //! while the caller goes on (silver's update), even after this object is destroyed. The
  //! next Prepare waits for it (a slot serves one process at a time), and moves the slot to the
  //! state's position itself if it did not happen.
  Status AdvanceInBackground(const std::string& lsn);

  //! Drops the slot if it exists (`dew state reset`). The publication stays (it holds no WAL).
  Status Drop();

  //! The stream state's replication part: {"slot", "publication", "lsn"}.
  nlohmann::json State(const ReplicationPlan& plan, const std::string& lsn) const;

  const std::string& name() const { return name_; }

 private:
  class Connection;
  Status Connect();
  Status CheckSource(bool may_create);
  Result<ReplicationPlan> MakeSlot(ReplicationPlan plan, bool drop_first);
  // Waits while another process holds the slot (e.g. the previous sync's background advance).
  Status WaitUntilIdle();

  PostgresConfig config_;
  ReplicationTarget target_;
  std::string name_;
  std::unique_ptr<Connection> conn_;
  int64_t publication_ = 0;  // the publication's oid once Prepare found or made it
  bool repaired_ = false;    // Prepare found the publication changed and set it right
  std::string window_file_;
};

//! Step 4: lands as one batch of `_deleted` rows the keys whose last change in `window` was a
//! deletion and that the lake holds live (the newest row of the key among the bronze batches
//! silver has not taken in, else silver's row, is not a deletion). `state` goes with the batch.
//! Returns how many keys were landed (0: no commit). Reads silver and bronze; writes bronze.
Result<int64_t> LandReplicatedDeletions(lake::Lakehouse* lake, BronzeLanding& landing,
                                        const ReplicationTarget& target,
                                        const ReplicationWindow& window,
                                        const nlohmann::json& state);

}  // namespace dew::connectors
