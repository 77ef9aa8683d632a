// The source contract every connector implements, after the Airbyte protocol's four verbs:
// Spec (which configuration it takes), Check (can it connect and read), Discover (which streams
// and columns exist) and Read (land one stream in bronze, state in, state out). A source is
// configured at construction; the sync engine owns retries, schedules and the state store.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace dew::lake {
class Lakehouse;
}

namespace dew::connectors {

//! Why Check failed, so callers can react (alert on auth, retry on unreachable) without
//! parsing messages.
enum class CheckProblem {
  kNone,
  kUnreachable,       //!< host/port does not answer or refuses the connection
  kAuthRefused,       //!< the server rejected the user or password
  kMissingDatabase,   //!< the database does not exist
  kMissingTable,      //!< a configured stream's table does not exist
  kPermissionDenied,  //!< the user may not read a configured stream's table
  kOther,
};

struct ColumnInfo {
  std::string name;
  std::string source_type;  //!< as the source names it, e.g. "numeric(12,2)", "_int4"
  std::string lake_type;    //!< the DuckDB type it lands as, e.g. "DECIMAL(12,2)", "INTEGER[]"
  bool nullable = true;
};

struct StreamInfo {
  std::string name;        //!< the stream name ("<schema>.<table>" outside the default schema)
  std::string namespace_;  //!< e.g. the PostgreSQL schema
  std::vector<ColumnInfo> columns;
  std::vector<std::string> primary_key;
};

struct StreamRequest {
  std::string name;                        //!< a StreamInfo::name
  std::string sync_mode = "full_refresh";  //!< "full_refresh" or "incremental"
  std::string cursor_field;                //!< recorded in _cursor when set
  std::vector<std::string> columns;        //!< empty: every column
  //! The stream's primary key (empty: the source's own, e.g. the table's primary key).
  std::vector<std::string> primary_key;
  std::string filter;  //!< a predicate in the source's language (SQL for postgres); empty: none
  //! Rows per bronze commit (one chunk, one state checkpoint); 0: the source's default.
  int64_t chunk_rows = 0;
  //! Land the rows in the quarantine table (LandingBatch::quarantine): schema drift policy.
  bool quarantine = false;
  //! Sources that can list the current keys land the missing ones as `_deleted` rows.
  bool detect_deletes = true;
  //! With detect_deletes: follow the source's change log for deletions (PostgreSQL logical
  //! replication, `detect_deletes: replication`) instead of comparing every key.
  bool deletes_by_replication = false;
  //! With detect_deletes: compare the keys on every check, even where the source's own
  //! statistics say that nothing was deleted since the last one (`detect_deletes: digest`).
  bool deletes_always_compared = false;
  //! Set by another thread to stop the read at the next checkpoint (Status Interrupted);
  //! what was committed before stays. May be null.
  const std::atomic<bool>* cancel = nullptr;
};

struct ReadResult {
  std::string table;         //!< the bronze table written, "bronze.raw_<source>_<stream>"
  int64_t rows = 0;          //!< rows landed
  int64_t bytes_read = 0;    //!< bytes received from the source
  nlohmann::json state;      //!< the state to pass to the next Read of this stream
  int64_t rows_deleted = 0;  //!< keys landed as `_deleted` rows
  //! Keys the deleted-keys check copied from the source to compare one by one (0 when the
  //! whole-table digests matched; sources that compare otherwise leave it 0).
  int64_t keys_copied = 0;
  //! Deleted keys the check named from digests of key ranges that lost one or two keys,
  //! without copying those ranges' keys (postgres, single integer key).
  int64_t keys_named = 0;
  //! Key ranges (runs of adjacent buckets) whose keys the check copied by the primary key's
  //! index rather than by a scan of the table (postgres, single integer key).
  int64_t key_ranges_copied = 0;
  int64_t commits = 0;  //!< bronze commits made (chunks, deletions)
  //! Rows the source itself upserted into silver (the postgres deleted-keys check brings silver
  //! up to date before comparing); the caller's own silver update then adds the rest.
  int64_t rows_silver = 0;
  //! For the sync's log: why the deleted-keys check was skipped (or could not be); empty when
  //! there is nothing to say.
  std::string deletes_note;
};

class Source {
 public:
  virtual ~Source() = default;

  //! A JSON Schema of the configuration this source takes. Never fails.
  virtual nlohmann::json Spec() const = 0;

  //! Connects and verifies that every stream in `streams` (may be empty) can be read. OK when
  //! all is well; otherwise a Status naming host, port, database, user and table, with the
  //! kind of failure in `*problem` when not null.
  virtual Status Check(const std::vector<std::string>& streams, CheckProblem* problem) = 0;

  //! Lists the readable streams with their columns, types and primary keys.
  virtual Result<std::vector<StreamInfo>> Discover() = 0;

  //! A hint that `stream` is about to be described and read: the source may start what that
  //! takes (PostgreSQL: its connection and catalog query) on a thread of its own, so that it
  //! overlaps the caller's own start (a sync opens the lake meanwhile). Never fails: an error
  //! shows when the stream is described or read. The default does nothing.
  virtual void Prepare(const std::string& stream) { (void)stream; }

  //! One stream's columns and key as Discover reports them (the sync engine compares them with
  //! bronze to detect schema drift). NotFound when the source has no such stream. The default
  //! runs Discover; sources with a cheaper way override it.
  virtual Result<StreamInfo> DescribeStream(const std::string& name) {
    DEW_ASSIGN_OR_RETURN(std::vector<StreamInfo> streams, Discover());
    for (auto& s : streams) {
      if (s.name == name) return std::move(s);
    }
    return Status::NotFound("stream " + name + " is not among the source's streams");
  }

  //! Advice on how `streams` read from this source, one sentence each, e.g. that an
  //! incremental stream's cursor column has no index, so each sync scans the whole table.
  //! `dew connection test` and `dew discover` print them as warnings. The default has none.
  virtual Result<std::vector<std::string>> Advise(const std::vector<StreamRequest>& streams) {
    (void)streams;
    return std::vector<std::string>{};
  }

  //! Checks that the source can find each stream's deletions as `streams` ask (e.g. PostgreSQL
  //! logical replication for `deletes_by_replication`), without changing the source. OK when
  //! all is well or nothing is asked; otherwise a Status naming the stream and what to fix.
  //! The default has nothing to check.
  virtual Status CheckDeletions(const std::vector<StreamRequest>& streams) {
    (void)streams;
    return Status::OK();
  }

  //! Releases what the source keeps for one stream between syncs (PostgreSQL: the stream's
  //! replication slot, which holds WAL on the server until it is read) when the stream's state
  //! is reset: the next sync starts over. OK when there is nothing to release.
  virtual Status ForgetStream(const std::string& stream) {
    (void)stream;
    return Status::OK();
  }

  //! Reads one stream and lands it in bronze through `lake` (borrowed for the call), with the
  //! lineage columns. `lake` may lack the views of the stream's tables: code that reads them by
  //! name (a deleted-keys check) makes them first (SilverTable::EnsureViews). `state` is what the
  //! previous Read returned (null the first time). On failure nothing is committed.
  virtual Result<ReadResult> Read(const StreamRequest& stream, const nlohmann::json& state,
                                  lake::Lakehouse* lake) = 0;
};

}  // namespace dew::connectors
