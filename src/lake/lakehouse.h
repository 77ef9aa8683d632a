// Lakehouse: a project's lake seen through one in-memory DuckDB.
//
// Every Delta table under `<lake>/<layer>/<name>/` appears in SQL as the view `<layer>.<name>`
// over its latest snapshot (DuckDB schemas bronze, silver, gold, platinum). The lakehouse opens
// and creates DeltaTable objects, refreshes a table's view after each write made through it,
// resolves time travel and delta_scan for the SQL rewriter, and stamps every write with the
// user and run id of the invocation. Not thread-safe: one lakehouse per thread of work.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/file_system.h"
#include "core/id_generator.h"
#include "core/near_match.h"
#include "core/status.h"
#include "engine/connection.h"
#include "engine/database.h"
#include "lake/delta_table.h"
#include "lake/medallion.h"
#include "lake/snapshot.h"
#include "lake/snapshot_cache.h"
#include "lake/sql_rewriter.h"

namespace dew::lake {

struct LakehouseOptions {
  std::string lake_root;  //!< absolute folder holding <layer>/<table>/
  std::string cwd;        //!< absolute; relative delta_scan paths resolve against it
  std::string user;       //!< recorded in every commit
  std::string run_id;     //!< recorded in every commit; a new UUID when empty
  engine::DatabaseOptions database;
  //! Which tables get their view when the lakehouse opens; null: every table, and the SQL views
  //! after them. Otherwise only the tables it accepts and no SQL view: a command that reads a
  //! few known tables (a sync, its connection's) need not load every table's log and bind a
  //! view of its files. Any other table's view is made by RefreshView or EnsureView; writes
  //! through BronzeLanding and SilverTable refresh a view only where there is one.
  std::function<bool(const TableName&)> views_at_open;
};

//! What a write through the lakehouse does to the table's view: re-create it over the new
//! snapshot, or leave it for the caller, who points it elsewhere right after (a build worker,
//! at the rows it keeps in memory); re-creating it would bind the new files for nothing.
enum class ViewAfterWrite { kRefresh, kLeave };

//! One lake table, as `dew table list` shows it.
struct TableSummary {
  TableName name;
  int64_t version = -1;
  int64_t files = 0;
  int64_t rows = -1;  //!< -1 when a file lacks statistics
  int64_t size_bytes = 0;
  int64_t modified_millis = 0;  //!< commit time of the latest version
};

class Lakehouse : public TableResolver {
 public:
  //! Opens the lake (the folder need not exist yet), starts DuckDB and registers a view per
  //! table (those `options.views_at_open` accepts). A table whose log cannot be read gets no
  //! view; the error is kept and reported when the table is used. The FileSystem and Clock are
  //! shared; nothing else is borrowed.
  static Result<std::unique_ptr<Lakehouse>> Open(LakehouseOptions options,
                                                 std::shared_ptr<FileSystem> fs,
                                                 std::shared_ptr<Clock> clock);
  ~Lakehouse() override;
  Lakehouse(const Lakehouse&) = delete;
  Lakehouse& operator=(const Lakehouse&) = delete;

  //! The connection all lake SQL runs on; valid while the lakehouse lives.
  engine::Connection& connection() { return *con_; }
  //! Another connection to this lakehouse's DuckDB, for work on a second thread that reads
  //! no views (a build worker's committer writes checkpoints through it). Destroy it before
  //! the lakehouse.
  Result<std::unique_ptr<engine::Connection>> Connect();
  //! Another lakehouse over this one's DuckDB, with a connection of its own, for another
  //! thread: the tables and views either makes are the other's too (a build's workers read
  //! the rows their models keep in memory without views over each other's files). Both must
  //! only write what the other does not read meanwhile; the DuckDB closes with the last one.
  Result<std::unique_ptr<Lakehouse>> Share();
  //! The file system and clock the lakehouse was opened with.
  FileSystem& fs() { return *fs_; }
  Clock& clock() { return *clock_; }
  const LakehouseOptions& options() const { return options_; }
  //! This invocation's run id (given, or the UUID made at Open).
  const std::string& run_id() const { return options_.run_id; }

  //! Provenance for one write: this invocation's user and run id.
  WriteOptions NewWriteOptions() const;

  //! Every table in the lake, sorted by layer then name.
  Result<std::vector<TableName>> ListTables();
  //! Version, files, rows, size and time of each table's latest snapshot.
  Result<std::vector<TableSummary>> Summaries();

  //! The folder of `table` (whether or not it exists).
  std::string TableRoot(const TableName& table) const;
  bool Exists(const TableName& table);

  //! A table the user named: "layer.name", or a bare name when only one layer has it. NotFound
  //! listing near matches (by edit distance) among the lake's tables.
  Result<TableName> Resolve(const std::string& name);
  //! The message for an unknown table `requested`, with near matches.
  std::string UnknownTableMessage(const std::string& requested);

  //! Opens an existing table; NotFound with near matches otherwise.
  Result<std::unique_ptr<DeltaTable>> OpenTable(const TableName& table);
  //! Creates a table after checking the layer's naming convention and that the partition
  //! columns exist. AlreadyExists when it exists.
  Result<std::unique_ptr<DeltaTable>> CreateTable(const TableName& table, const Schema& schema,
                                                  const std::vector<std::string>& partitions);
  //! Creates a table holding the rows of `select_sql` in one commit (DeltaTable::CreateAs)
  //! after checking the layer's naming convention; refreshes its view unless `view` is kLeave.
  //! AlreadyExists when it exists. `options` carries the provenance (see NewWriteOptions). With
  //! `options.defer_commit` (and kLeave: there is no version to show yet), the table exists
  //! once the caller runs the commit.
  Result<CommitResult> CreateTableAs(const TableName& table, const std::string& select_sql,
                                     const std::vector<std::string>& partitions,
                                     const WriteOptions& options,
                                     ViewAfterWrite view = ViewAfterWrite::kRefresh);
  //! As CreateTableAs for DeltaTable::CreateFromFiles: an unpartitioned table whose first
  //! version holds `files`, Parquet files of another table with exactly `schema`'s columns,
  //! linked (or copied) into its own folder rather than read and written again.
  Result<CommitResult> CreateTableFromFiles(const TableName& table, const Schema& schema,
                                            const std::vector<DeltaTable::ExistingFile>& files,
                                            const WriteOptions& options);
  //! Deletes the table's folder (data and history) and its view.
  Status DropTable(const TableName& table);

  //! Re-creates the table's view over its latest snapshot, or a SQL view from its stored
  //! definition (see CreateSqlView); drops it when neither exists.
  Status RefreshView(const TableName& table);

  //! Whether DuckDB holds a view named as `table` in this lakehouse (made at open, by
  //! RefreshView or EnsureView). A table left out by LakehouseOptions::views_at_open has none.
  Result<bool> HasView(const TableName& table);
  //! RefreshView unless the table has a view: for code that reads a table by name in a
  //! lakehouse that may have been opened without its view (a sync's).
  Status EnsureView(const TableName& table);
  //! RefreshView where the table has a view, after a write; OK and nothing made otherwise. A
  //! sync writes bronze and silver without reading them by name: their views (binding every
  //! file and deletion vector, 10-20 ms for a large table) are made only when read (EnsureView).
  Status RefreshExistingView(const TableName& table);

  //! A SQL view kept in the lake (`<lake>/_views/<layer>.<name>.sql`, a dbt `view` model):
  //! created now and by every later Open, after the table views, so it may read tables and
  //! other SQL views. Replaces an existing one. InvalidArgument when a table has the name or the
  //! SQL does not plan (DuckDB's message); nothing is written then.
  Status CreateSqlView(const TableName& view, const std::string& select_sql);
  //! Removes a SQL view (file and DuckDB view); OK when there is none.
  Status DropSqlView(const TableName& view);
  bool SqlViewExists(const TableName& view);

  //! The snapshot of `table` at `at`. NotFound naming the table and the versions available when
  //! the version or timestamp is out of range.
  Result<Snapshot> LoadSnapshot(const TableName& table, const TimeTravel& at);

  //! The column names and types `select_sql` produces (it is planned, and run with LIMIT 0).
  Result<Schema> QuerySchema(const std::string& select_sql);

  // TableResolver
  Result<std::string> ScanTable(const std::string& table, const TimeTravel& at) override;
  Result<std::string> ScanPath(const std::string& path, const TimeTravel& at) override;

 private:
  Lakehouse(LakehouseOptions options, std::shared_ptr<FileSystem> fs, std::shared_ptr<Clock> clock);
  TableEnv Env();
  Result<Snapshot> LoadAt(DeltaLog& log, const std::string& label, const TimeTravel& at);
  Status RegisterViews();
  //! Creates the folder of `table`'s layer when missing, durably (the folders above it are
  //! synced for the new entries), once per folder: a new table's own folder entry is made
  //! durable by its first commit (DeltaLog::WriteCommit).
  Status CreateLayerFolder(const TableName& table);
  std::string SqlViewPath(const TableName& view) const;

  LakehouseOptions options_;
  std::shared_ptr<FileSystem> fs_;
  std::shared_ptr<Clock> clock_;
  IdGenerator ids_;
  std::shared_ptr<engine::Database> db_;  //!< shared by the lakehouses Share makes
  std::unique_ptr<engine::Connection> con_;
  //! The snapshots its tables' logs load, shared by the lakehouses Share makes.
  std::shared_ptr<SnapshotCache> snapshots_;
  //! Tables whose view could not be made, with the reason.
  std::map<std::string, Status> broken_;
};

//! Parses '2026-01-31', '2026-01-31 23:59:59[.123]' or with 'T', and an optional 'Z' or
//! ±HH[:MM] offset, as milliseconds since the epoch; no offset means UTC. InvalidArgument
//! naming the text otherwise.
Result<int64_t> ParseTimestampMillis(std::string_view text);
//! "2026-01-31 23:59:59.123" (UTC; milliseconds shown only when not zero).
std::string FormatTimestampMillis(int64_t millis);
//! Levenshtein distance, for near-match suggestions (defined in core).
using ::dew::EditDistance;

}  // namespace dew::lake
