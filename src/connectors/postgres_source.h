// PostgresSource: the PostgreSQL source on libpq. Discover reads the catalog; a read streams
// `COPY (SELECT …) TO STDOUT (FORMAT csv, HEADER)` (no row-by-row fetches) into DuckDB through
// a FIFO as PostgreSQL sends it, and lands it in bronze.raw_<source>_<stream> with explicit
// column types derived from the catalog, so no value is guessed by a CSV sniffer.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "connectors/source.h"

namespace dew::connectors {

struct PostgresConfig {
  std::string source;  //!< the connection's name: <source> in raw_<source>_<stream>
  std::string host = "127.0.0.1";
  int port = 5432;
  std::string database;
  std::string user;
  std::string password;                   //!< resolved secret; never logged or put in a Status
  std::string default_schema = "public";  //!< streams in it are named by table alone
  int connect_timeout_seconds = 10;
  std::string temp_dir = "/tmp";  //!< where the COPY output is staged
  //! Tests only: called at named points of a read (with `detect_deletes: replication`,
  //! "replication: before deletions" and "replication: before advance"); a failure ends the
  //! read there, as a crash would. Null: none.
  std::function<Status(const std::string& point)> TEST_stop_at;
};

//! Not thread-safe. Each call opens its own connection and closes it before returning, but for
//! DescribeStream's: the next Read of the same stream takes it over with the description (a
//! sync describes a stream for its drift check, then reads it). Prepare makes that connection
//! and description ahead, on a thread of its own.
class PostgresSource : public Source {
 public:
  explicit PostgresSource(PostgresConfig config);
  ~PostgresSource() override;

  nlohmann::json Spec() const override;
  //! Streams are "table" (in default_schema) or "schema.table". Distinguishes unreachable host,
  //! refused authentication, missing database, missing table and missing SELECT permission.
  Status Check(const std::vector<std::string>& streams, CheckProblem* problem) override;
  //! Every table, view and materialized view the user may SELECT, outside system schemas.
  Result<std::vector<StreamInfo>> Discover() override;
  //! For each incremental stream on a table (not a view) whose cursor column leads no valid,
  //! non-partial index: every sync then scans the table to find its changed rows (an index on
  //! (cursor, key) serves the read's order too), with the CREATE INDEX to run. For each one
  //! whose deleted-keys check can never be skipped (PostgresDeletionCounters distrusts the
  //! table's statistics: a standby, track_counts off, a view, a table with children): why.
  Result<std::vector<std::string>> Advise(const std::vector<StreamRequest>& streams) override;
  //! For each stream with `deletes_by_replication`: PostgresReplicationSlot::Check (wal_level,
  //! REPLICATION, the table's primary key and replica identity, the publication or the right
  //! to create it).
  Status CheckDeletions(const std::vector<StreamRequest>& streams) override;
  //! Drops the stream's replication slot, if any.
  Status ForgetStream(const std::string& stream) override;
  //! One table's columns and key (the catalog query of Discover for that table only). The
  //! connection stays open for the next Read of the stream, which reads the columns described
  //! here instead of asking the catalog again (the drift check then saw what is read).
  Result<StreamInfo> DescribeStream(const std::string& name) override;
  //! Connects and describes `stream` (as DescribeStream does) on a thread of its own; the next
  //! DescribeStream or Read of the stream waits for it and takes the connection and the
  //! description over (or Prepare's error, for DescribeStream). A sync's connection (SCRAM
  //! authentication, 15-40 ms) and catalog queries (5-20 ms) then overlap its opening of the
  //! lake. Does nothing while an earlier Prepare is not taken over.
  void Prepare(const std::string& stream) override;
  //! full_refresh: streams `COPY (SELECT …) TO STDOUT` of every row (after `filter`) into one
  //! bronze commit marked fullRefreshStart. incremental: one COPY of the rows after the state's
  //! (cursor, key), ordered by cursor then key, landed in commits of `chunk_rows` rows (default
  //! 500000), each carrying the state {cursor_field, cursor, pk} of its last row (text as
  //! PostgreSQL prints it), so rows sharing a cursor value are never skipped; rows with a NULL
  //! cursor are not read. The batches of one read by the table's own primary key are marked
  //! unique by key (LandingBatch::unique_keys). Then, with `detect_deletes`, the keys live in the
  //! lake (silver's plus the batches it has not taken in) but gone from the table (or out of the
  //! filter) land as `_deleted` rows.
  //!
  //! The check is skipped (ReadResult::deletes_note says so) when PostgreSQL's statistics, read
  //! before the read's snapshot, count no deletion since the last check's
  //! (PostgresDeletionCounters, kept in the state as "deletion_counters") and, with a filter, no
  //! row changed since the state's cursor left it; never with `deletes_always_compared`.
  //!
  //! The deleted-keys check first compares one digest of each side's live keys (KeyDigest):
  //! count, plus sum and sum of squares for a single integer key. PostgreSQL computes its
  //! digest on a second connection in the read's snapshot while the chunks are read and
  //! landed. On the lake's side the check first updates silver with the read's batches (so a
  //! Read with `detect_deletes` also writes silver.<source>_<stream>), whose commits record the
  //! digest of its live keys (SilverTable::LiveKeys); without one, the lake's live keys are
  //! scanned. Why equal digests mean no deletion: the
  //! chunks and the check run in one REPEATABLE READ snapshot, and the chunks read every row
  //! after the state's (cursor, key); the rows at or before it were landed by earlier reads
  //! (cursors only grow, the contract of every cursor-based sync). So each key the source holds
  //! in the snapshot (after `filter`, with a cursor) is live in the lake, and keys the source
  //! lacks are the lake's surplus: equal counts leave no room for one. Rows inserted or deleted
  //! during the sync are outside the snapshot and met by the next sync. Rows with a NULL cursor
  //! are neither read nor counted. When the contract is broken (a row committed late with an
  //! older cursor, a row entering the filter without a new cursor), a row the lake missed could
  //! hide a deletion from the count; the sums catch that for integer keys, and the next full
  //! refresh repairs it for any key. Only when the digests differ are the keys compared: a
  //! single integer key in buckets (the same digest per bucket), copied only for buckets that
  //! differ, unless at least as many keys are gone as the key range has buckets (then nearly
  //! every bucket differs); other keys copied whole.
  Result<ReadResult> Read(const StreamRequest& stream, const nlohmann::json& state,
                          lake::Lakehouse* lake) override;

  //! "host:port/database as user", for messages.
  std::string Describe() const;

 private:
  struct Described;

  //! A connection to the source and the description of `stream` on it.
  static Result<std::unique_ptr<Described>> ConnectAndDescribe(const PostgresConfig& config,
                                                               const std::string& stream);
  //! Prepare's connection and description (waiting for them) when they are `stream`'s, or its
  //! error; null when nothing was prepared or it was another stream (then it is closed).
  Result<std::unique_ptr<Described>> TakePrepared(const std::string& stream);

  PostgresConfig config_;
  //! DescribeStream's connection and description, for the Read of the stream that follows: one
  //! connection (20 ms, loaded) and one catalog query (5-15 ms, loaded) per sync, not two.
  std::unique_ptr<Described> described_;
  std::string prepared_stream_;
  //! Prepare's work in progress, until taken over. Last member: its destruction waits for the
  //! thread, which reads config_.
  std::future<Result<std::unique_ptr<Described>>> prepared_;
};

//! The DuckDB type a PostgreSQL column lands as: `type_name` is pg_type.typname (the element's
//! for arrays), `formatted` format_type()'s text (for numeric precision and scale).
std::string LakeTypeFor(const std::string& type_name, const std::string& formatted, bool is_array);

}  // namespace dew::connectors
