// BronzeLanding: lands batches of one stream in bronze.raw_<source>_<stream>, each batch one
// Delta commit that also carries the stream's state (cursor) after the batch. Data and state
// therefore move together: a sync killed at any moment resumes from the state of the last
// committed batch, with nothing lost and nothing landed twice. Every source (postgres, odoo,
// files, rest, singer, airbyte) lands through this one class.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "lake/delta_table.h"

namespace dew::lake {
class Lakehouse;
}

namespace dew::connectors {

struct LandingBatch {
  //! A DuckDB query returning the batch's source columns, already typed (no lineage columns).
  std::string select_sql;
  //! A SQL expression over those columns giving each row's `_cursor` text (e.g.
  //! "CAST(write_date AS VARCHAR)"); empty: `_cursor` is NULL.
  std::string cursor_sql;
  //! The stream's state once this batch is committed; stored in the same commit.
  nlohmann::json state;
  //! Recorded in commitInfo.operationParameters.mode: "full_refresh" or "incremental".
  std::string mode = "incremental";
  //! Marks the first batch of a full refresh (operationParameters.fullRefreshStart): bronze
  //! stays append-only, silver rebuilds from this batch on and marks missing keys `_deleted`.
  bool full_refresh_start = false;
  //! The rows are deletions of their keys (the select needs only the key columns): they land
  //! with `_deleted = true`. Other batches land with `_deleted = false`.
  bool deletes = false;
  //! Schema drift quarantine (StreamRequest::quarantine): the rows land in
  //! `<table>__quarantine` instead, and the state moves on in a state-only commit of the
  //! stream's table (a kill between the two may quarantine the rows twice, never lose them).
  bool quarantine = false;
  //! The source promises each key appears at most once in this batch and in the batches of the
  //! same set (e.g. the chunks of one COPY of a table by its primary key: one snapshot). The
  //! set is named by its first batch: recorded as operationParameters.dewUniqueKeys =
  //! `unique_since_batch`, or this batch's own sequence when 0, so silver can skip its per-key
  //! dedup when all the batches it applies belong to one set. Ignored for deletions.
  bool unique_keys = false;
  int64_t unique_since_batch = 0;
  //! When set, `state` is known only once the rows are read (e.g. they stream from the source
  //! into bronze's files as they arrive, and the state is that of the last row): called once
  //! they are written, before the commit, with how many, it returns the state to commit with
  //! them. A batch of no rows then commits nothing, and it is not called. Not with quarantine.
  std::function<Result<nlohmann::json>(int64_t rows)> state_after;
  //! Rows per Parquet row group (lake::WriteOptions::row_group_rows); 0: the lake's default.
  int64_t row_group_rows = 0;
};

struct LandingResult {
  lake::CommitResult commit;  //!< version -1 and no rows when the batch was empty and skipped
  std::string table;          //!< "bronze.raw_<source>_<stream>"
  int64_t batch = 0;          //!< the batch sequence (`_batch`, Delta txn version) it got
};

//! The newest state-carrying commit of a stream.
struct CommittedState {
  nlohmann::json state;  //!< null when none or after a reset
  int64_t version = -1;  //!< the bronze version carrying it; -1 when the table does not exist
  int64_t batch = 0;     //!< its batch sequence; 0 when none
  bool reset = false;    //!< the newest state commit is a reset (`dew state reset`)
};

class BronzeLanding {
 public:
  //! `lake` is borrowed and must outlive this object. `source` is the connection name,
  //! `stream` the stream name (dots become underscores in the table name).
  BronzeLanding(lake::Lakehouse* lake, std::string source, std::string stream);

  //! The bronze table name for this stream.
  const std::string& table() const;

  //! Appends the batch with the lineage columns `_emitted_at`, `_source`, `_stream`,
  //! `_cursor`, `_ingest_date` (partition), `_run_id`, `_deleted` and `_batch` (the batch
  //! sequence, increasing per stream), and the state, in one commit (creating the table on
  //! first use, evolving it with new nullable columns). The commit carries the state as
  //! commitInfo.operationParameters.dewState and a Delta `txn` action (appId
  //! "dew:<source>.<stream>", version = the batch sequence). An empty batch with a changed
  //! state still commits the state; an empty batch whose state equals the last committed one
  //! is skipped (unless it starts a full refresh), as is an empty batch with `state_after`.
  //! Outside quarantine `select_sql` is run once only, so it may read a stream. On failure
  //! nothing is committed.
  Result<LandingResult> Land(const LandingBatch& batch);

  //! The state stored with the newest commit of this stream that carries one, or null when
  //! the table does not exist or has none (or a reset came after it).
  Result<nlohmann::json> LastCommittedState();
  //! As LastCommittedState, with the version and batch that carry it. Reads commits newest
  //! first and stops at the first that carries a state (normally the newest).
  Result<CommittedState> LastCommitted();

  //! Makes the next sync start from scratch: a state-only commit whose state is null (durable
  //! in the table's history like any other state). No-op when the table does not exist.
  Status ResetState(const std::string& reason);

  //! "dew:<source>.<stream>", the Delta txn appId of this stream.
  std::string app_id() const;
  //! The table name for (source, stream): lower-cased, characters other than [a-z0-9_]
  //! replaced by '_'.
  static std::string TableFor(const std::string& source, const std::string& stream);

 private:
  lake::Lakehouse* lake_;
  std::string source_;
  std::string stream_;
  std::string table_;
};

}  // namespace dew::connectors
