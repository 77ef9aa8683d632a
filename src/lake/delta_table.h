// DeltaTable: writes to one Delta table — create, append, overwrite, merge by key, delete,
// restore, vacuum — each one atomic commit with optimistic concurrency.
//
// Data files are Parquet written by DuckDB (COPY … TO) into the table folder before the commit;
// the commit (DeltaLog::WriteCommit) makes them visible. When another writer took the version,
// the transaction reads the commits it missed: a blind append retries on top of them; an
// operation that read files another writer removed, or whose predicate could match files another
// writer added, or that races a schema change, fails with a Conflict naming both versions. A
// writer killed at any moment leaves the table at its last committed version; its orphan files
// are invisible to readers and removed by Vacuum.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/file_system.h"
#include "core/id_generator.h"
#include "lake/delta_log.h"
#include "lake/schema.h"
#include "lake/snapshot.h"
#include "lake/table_optimizer.h"

namespace dew::engine {
class Connection;
}

namespace dew::lake {

//! What a table needs from its surroundings; all borrowed pointers must outlive the table.
struct TableEnv {
  std::shared_ptr<FileSystem> fs;
  std::shared_ptr<Clock> clock;
  engine::Connection* con = nullptr;  //!< not used by another thread while the table works
  IdGenerator* ids = nullptr;
  SnapshotCache* snapshots = nullptr;  //!< may be null (see DeltaLog)
};

struct CommitResult {
  int64_t version = -1;
  int64_t rows_added = 0;
  int64_t rows_removed = 0;  //!< rows deleted or replaced
  int64_t files_added = 0;
  int64_t files_removed = 0;
  int attempts = 1;  //!< commit attempts including the successful one
};

//! The commit of a write whose data files are written (see WriteOptions::defer_commit).
//! Running it makes the files and their folders durable, then commits them as the write would
//! have (a lost race retried or failed the same way, a due checkpoint written), and returns the
//! write's full result. It never touches the connection the write ran on: `con` (a connection
//! to any DuckDB, used by one thread at a time) reads and writes checkpoints, so another thread
//! may run it. Not run, it leaves the table unchanged and its files for vacuum.
using DeferredCommit = std::function<Result<CommitResult>(engine::Connection* con)>;

//! Provenance and knobs of one write.
struct WriteOptions {
  std::string run_id;  //!< recorded in commitInfo as dewRunId
  std::string user;    //!< recorded in commitInfo as userName
  //! Allow the write to add new nullable columns to the table.
  bool merge_schema = false;
  //! For a whole-table Overwrite: the table takes the query's schema (Delta's overwriteSchema),
  //! so columns may be dropped or change type. The partition columns must remain.
  bool overwrite_schema = false;
  //! Extra commitInfo.operationParameters (e.g. the source file of a load).
  std::map<std::string, std::string> parameters;
  //! Retries after losing a commit race, before giving up with Conflict.
  int max_commit_attempts = 20;
  //! For Append and CreateAs on a partitioned table: the caller guarantees that every row has
  //! these values in these partition columns (e.g. a load's `_ingest_date`). When they cover
  //! every partition column, the files are written straight into that partition's folder,
  //! skipping DuckDB's partitioned writer. The rows are not checked against them.
  PartitionValues constant_partitions;
  //! For Append and CreateAs: rows per Parquet row group; 0: DuckDB's default (122,880). DuckDB
  //! encodes and compresses a row group once it is full, so a write whose rows arrive slowly
  //! (streamed from a source) does most of that work while they arrive when its row groups are
  //! small, rather than all of it after the last row.
  int64_t row_group_rows = 0;
  //! Application transaction ids (Delta `txn` actions) committed with the write, so an
  //! idempotent writer (a connector) can tell from the snapshot what it already committed.
  std::vector<Txn> txns;
  //! The schema of the rows written, when the caller already knows it (e.g. it writes from a
  //! DuckDB table it just made): CreateAs, Append and Overwrite then take it instead of planning
  //! the query once more to learn it. It must be the query's (Schema::FromDuckDb of its types).
  std::optional<Schema> rows_schema;
  //! When set, CreateAs and a whole-table Overwrite stop once their data files are written:
  //! they store the commit still to make here instead of making it, and return rows_added and
  //! files_added with version -1. This lets a caller go on with other work while the files
  //! sync (a build worker hands the commit to its committer thread). Other writes commit as
  //! usual and leave it empty.
  DeferredCommit* defer_commit = nullptr;
  //! For Append and CreateAs: called once the data files are written, before the commit, with
  //! the rows they hold, for what the caller learns only then (a connector streaming rows from
  //! its source into the files knows the state to commit with them once the last row is in).
  //! It may change `parameters` and `txns`, and returns whether to commit: false removes the
  //! files and commits nothing (CommitResult version -1; CreateAs creates no table). Its error
  //! does the same and fails the write. Not with defer_commit.
  std::function<Result<bool>(int64_t rows, WriteOptions* options)> before_commit;
};

//! A Parquet file of another table, for DeltaTable::CreateFromFiles, OverwriteWithFiles and
//! MergeOptions::source_files.
struct ExistingFile {
  std::string path;   //!< absolute
  std::string stats;  //!< its add action's stats JSON ({"numRecords":…,…}), kept as they are
};

//! What an upsert (DeltaTable::Merge) may skip, and what it reports before committing.
struct MergeOptions {
  //! The caller promises that the source's keys are unique and that its rows stay the same
  //! however often it is read (e.g. a query over Parquet files nobody rewrites): the merge then
  //! reads it where it is instead of first copying it into a temp table, and skips its
  //! duplicate-key check. Cheap to read again only: each step reads it once more.
  bool source_unique_and_stable = false;
  //! Called once the rows the merge replaces are known, before the commit, with a query over
  //! them (the key columns and `matched_columns`, as the table holds them), so that the caller
  //! derives what it records in the commit (WriteOptions::parameters) without a lookup of its
  //! own. Its error fails the merge before anything is committed.
  std::vector<std::string> matched_columns;
  std::function<Status(const std::string& matched_sql, WriteOptions* options)> on_matched;
  //! The caller promises that the source's rows are exactly the rows of these Parquet files
  //! (e.g. another table's files holding only the new rows). When their columns are the
  //! table's after the merge (in order and of its types, from their footers), their stats
  //! count the source's rows and the table is unpartitioned, the merge links them into the
  //! table's folder (FileSystem::Link, as CreateFromFiles) instead of writing the rows again;
  //! otherwise it writes them as usual.
  std::vector<ExistingFile> source_files;
  //! The source's row count when the caller has just counted it (a silver update counts its
  //! new rows first); -1: the merge counts them, one more read of the source.
  int64_t source_rows = -1;
};

struct VacuumResult {
  std::vector<std::string> deleted;  //!< relative paths removed (or that would be, on dry run)
  int64_t bytes = 0;
};

class DeltaTable {
 public:
  //! Creates an empty table (version 0: protocol, metaData, commitInfo CREATE TABLE).
  //! AlreadyExists when `root` already holds a Delta log.
  static Result<std::unique_ptr<DeltaTable>> Create(
      const TableEnv& env, const std::string& root, const std::string& name, const Schema& schema,
      const std::vector<std::string>& partition_columns, const WriteOptions& options);
  //! Creates a table holding the rows of `select_sql`, its schema the query's, in one commit
  //! (version 0: protocol, metaData, the data files, commitInfo CREATE TABLE AS SELECT), as
  //! Delta's CTAS does. AlreadyExists when `root` already holds a Delta log (also when another
  //! writer creates it first); the files written are then removed. Fills `result` when given.
  static Result<std::unique_ptr<DeltaTable>> CreateAs(
      const TableEnv& env, const std::string& root, const std::string& name,
      const std::string& select_sql, const std::vector<std::string>& partition_columns,
      const WriteOptions& options, CommitResult* result = nullptr);
  using ExistingFile = lake::ExistingFile;
  //! Creates an unpartitioned table whose version 0 (as CreateAs: CREATE TABLE AS SELECT) holds
  //! the rows of `files`, Parquet files of another table whose columns are exactly `schema`'s,
  //! in order and of its types (InvalidArgument otherwise; only their footers are read). Each
  //! file gets a name of its own in this table's folder (FileSystem::Link: a hard link, or a
  //! copy), so the new table owns its files whatever the other table later removes, and no row
  //! is read or written again. AlreadyExists as CreateAs. Fills `result` when given.
  static Result<std::unique_ptr<DeltaTable>> CreateFromFiles(
      const TableEnv& env, const std::string& root, const std::string& name, const Schema& schema,
      const std::vector<ExistingFile>& files, const WriteOptions& options,
      CommitResult* result = nullptr);
  //! Opens an existing table; NotFound when `root` has no Delta log.
  static Result<std::unique_ptr<DeltaTable>> Open(const TableEnv& env, const std::string& root);

  const std::string& root() const { return root_; }
  DeltaLog& log() { return log_; }

  //! The latest snapshot (re-reads the log).
  Result<Snapshot> Latest();

  //! Appends the rows of `select_sql` (any DuckDB query). The rows' columns must match the table
  //! by name (see Schema::Merge); missing nullable columns are written as NULL. Zero rows still
  //! make a commit (WRITE without files), so the run shows in the history. Losing the race for a
  //! version, a blind append retries on top of the winner unless that changed the schema.
  Result<CommitResult> Append(const std::string& select_sql, const WriteOptions& options);

  //! Replaces the whole table with the rows of `select_sql`, or, with `replace_where`, only the
  //! rows matching that predicate; every new row must then match it (else InvalidArgument).
  Result<CommitResult> Overwrite(const std::string& select_sql,
                                 const std::optional<std::string>& replace_where,
                                 const WriteOptions& options);

  //! As Overwrite (the whole table, one commit), with the rows of `files` besides those of
  //! `select_sql`: Parquet files of another table, linked into this table's folder as
  //! CreateFromFiles does (not read or written again), whose columns must be exactly the
  //! table's after the write (InvalidArgument otherwise; nothing is written). Unpartitioned
  //! tables only. CommitResult::rows_added counts both.
  Result<CommitResult> OverwriteWithFiles(const std::vector<ExistingFile>& files,
                                          const std::string& select_sql,
                                          const WriteOptions& options);

  //! Upserts the rows of `source_sql` by `keys`: rows whose key exists are replaced, others are
  //! inserted. Duplicate keys in the source are InvalidArgument naming a duplicate key. On a
  //! table with deletion vectors enabled, the replaced rows are marked in deletion vectors (only
  //! the key columns of the candidate files are read) and only the source rows are written (or
  //! linked: MergeOptions::source_files); otherwise the files holding replaced rows are
  //! rewritten.
  Result<CommitResult> Merge(const std::string& source_sql, const std::vector<std::string>& keys,
                             const WriteOptions& options);
  Result<CommitResult> Merge(const std::string& source_sql, const std::vector<std::string>& keys,
                             const WriteOptions& options, const MergeOptions& merge);

  //! Deletes the rows matching `predicate_sql` (a SQL boolean expression over the columns).
  //! Only files holding matching rows are rewritten, or, with deletion vectors enabled, get a
  //! deletion vector marking the rows. When no row matches, nothing is committed
  //! and the result carries the current version with `attempts` 0.
  Result<CommitResult> DeleteWhere(const std::string& predicate_sql, const WriteOptions& options);

  //! Upgrades the protocol to reader 3 / writer 7 with the `deletionVectors` feature and sets
  //! the table property delta.enableDeletionVectors=true (one commit, SET TBLPROPERTIES), so
  //! that merge and delete write deletion vectors. Readers that do not support the feature can no
  //! longer read the table. Already enabled: nothing is committed (result version = current,
  //! attempts 0).
  Result<CommitResult> EnableDeletionVectors(const WriteOptions& options);

  //! Sets the table properties `set` and removes those in `unset` (metaData.configuration), in
  //! one commit, operation SET TBLPROPERTIES (UNSET TBLPROPERTIES when only unsetting). Each
  //! pair is checked by CheckTableProperty (InvalidArgument naming the property); setting
  //! delta.enableDeletionVectors=true also upgrades the protocol as EnableDeletionVectors does.
  //! Unsetting a property the table does not have is InvalidArgument unless `if_exists`. When
  //! nothing changes, nothing is committed (result version = current, attempts 0).
  Result<CommitResult> SetProperties(const std::map<std::string, std::string>& set,
                                     const std::vector<std::string>& unset, bool if_exists,
                                     const WriteOptions& options);

  //! Compacts the table as Delta's OPTIMIZE (see table_optimizer.h for which files and how
  //! they are packed): one commit, operation OPTIMIZE, removing the input files and adding the
  //! packed ones with their deleted rows dropped, all dataChange=false; the rows are unchanged.
  //! `optimize.where` may only read partition columns (else InvalidArgument). Nothing to do:
  //! no commit (`committed` false). A concurrent commit that removed one of the input files (a
  //! merge or delete marking rows in it, an overwrite, another OPTIMIZE) makes it fail with
  //! Conflict; concurrent appends do not. The old files stay for time travel until vacuum.
  Result<OptimizeResult> Optimize(const OptimizeOptions& optimize, const WriteOptions& options);

  //! Makes the table's content equal to `version` again, as a new commit (history is kept).
  Result<CommitResult> Restore(int64_t version, const WriteOptions& options);

  //! Deletes files no longer referenced by any version newer than the retention window, and
  //! files never committed (left by killed writers) once older than it. Retention under 168 hours
  //! is refused with InvalidArgument unless `force`. Names starting with '_' or '.' (the log,
  //! _SUCCESS, checksums) are never deleted; emptied partition folders are. Writes no commit.
  Result<VacuumResult> Vacuum(double retention_hours, bool force, bool dry_run);

 private:
  DeltaTable(TableEnv env, std::string root);

  TableEnv env_;
  std::string root_;
  DeltaLog log_;
};

}  // namespace dew::lake
