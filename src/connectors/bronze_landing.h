// BronzeLanding: lands batches of one stream in bronze.raw_<source>_<stream>, each batch one
// Delta commit that also carries the stream's state (cursor) after the batch. Data and state
// therefore move together: a sync killed at any moment resumes from the state of the last
// committed batch, with nothing lost and nothing landed twice. Every source (postgres, odoo,
// files, rest, singer, airbyte) lands through this one class.
#pragma once

#include <cstdint>
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
};

struct LandingResult {
  lake::CommitResult commit;  //!< version -1 and no rows when the batch was empty and skipped
  std::string table;          //!< "bronze.raw_<source>_<stream>"
};

class BronzeLanding {
 public:
  //! `lake` is borrowed and must outlive this object. `source` is the connection name,
  //! `stream` the stream name (dots become underscores in the table name).
  BronzeLanding(lake::Lakehouse* lake, std::string source, std::string stream);

  //! The bronze table name for this stream.
  const std::string& table() const;

  //! Appends the batch with the lineage columns `_emitted_at`, `_source`, `_stream`,
  //! `_cursor`, `_ingest_date` (partition), `_run_id`, and the state, in one commit (creating
  //! the table on first use, evolving it with new nullable columns). An empty batch with a
  //! changed state still commits the state. On failure nothing is committed.
  Result<LandingResult> Land(const LandingBatch& batch);

  //! The state stored with the newest commit of this stream that carries one, or null when
  //! the table does not exist or has none (or a reset came after it).
  Result<nlohmann::json> LastCommittedState();

 private:
  lake::Lakehouse* lake_;
  std::string source_;
  std::string stream_;
  std::string table_;
};

}  // namespace dew::connectors
