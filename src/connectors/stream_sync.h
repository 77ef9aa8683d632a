// StreamSync: the sync engine behind `dew sync` and pipeline `sync` tasks. For each stream of a
// connection it resumes from the state committed in bronze, checks the source's columns against
// bronze (schema drift, per the stream's on_schema_change policy), has the source land its rows
// (Source::Read through BronzeLanding: each chunk one commit carrying its state), upserts silver
// (SilverTable), and mirrors the state into the control store for `dew state show`. A stream
// with `detect_deletes: every N syncs` has the source check for deletions on every N-th sync
// only, counted in that mirror (without a store, or when the count is lost, it checks). A failed
// attempt is retried per the connection's tier with exponential backoff and jitter (through
// Clock::SleepMillis); a retry resumes from the last committed state, so nothing is read twice
// into bronze and nothing is lost.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connectors/connection_spec.h"
#include "connectors/source.h"
#include "core/clock.h"
#include "core/status.h"

namespace dew::lake {
class Lakehouse;
}
namespace dew::control {
class ControlStore;
}

namespace dew::connectors {

struct SyncOptions {
  //! Reload every row: full_refresh streams always do; an incremental stream's state is reset
  //! first (a durable state-only commit), so it reads from the start and then lands deletions.
  bool full_refresh = false;
  std::vector<std::string> streams;  //!< empty: every stream of the connection
  //! The control-store run id (a run named sync_<connection>); empty: the lakehouse's run id.
  std::string run_id;
  //! Set by another thread to stop at the next checkpoint; streams not started are cancelled.
  const std::atomic<bool>* cancel = nullptr;
  //! Create the run and its attempts in the control store (off when a pipeline run owns them).
  bool record_run = true;
  int64_t chunk_rows = 0;          //!< overrides the streams' chunk_rows when > 0
  int64_t backoff_base_ms = 1000;  //!< first retry waits about this long, doubling each time
  int64_t backoff_max_ms = 60000;
};

enum class StreamStatus { kSucceeded, kFailed, kCancelled };
const char* StreamStatusName(StreamStatus status);

struct StreamSyncResult {
  std::string stream;
  std::string job;  //!< sync_<source>_<stream>_<mode>
  StreamStatus status = StreamStatus::kSucceeded;
  std::string
      error;  //!< the last attempt's error, without a leading "stream NAME: "; empty: success
  int attempts = 0;          //!< attempts made (1 + retries used)
  int64_t rows_read = 0;     //!< rows read from the source, over all attempts
  int64_t rows_bronze = 0;   //!< rows landed in bronze (including `_deleted` rows)
  int64_t rows_deleted = 0;  //!< keys landed as deletions
  int64_t rows_silver = 0;   //!< rows upserted into silver
  int64_t bytes_read = 0;
  int64_t duration_ms = 0;
  std::string bronze_table;
  std::string silver_table;         //!< empty when the stream has no primary key
  std::vector<std::string> alerts;  //!< schema drift messages
  bool quarantined = false;
  //! The source was asked to check for deletions (detect_deletes, on this sync of every N).
  bool deletes_checked = false;
  nlohmann::json state;  //!< the committed state after the sync
};

struct SyncResult {
  std::string run_id;
  std::vector<StreamSyncResult> streams;
  bool ok() const;
  //! "stream a: error; stream b: error" for the failed streams.
  std::string ErrorSummary() const;
};

//! What the engine uses; pointers are borrowed and must outlive the StreamSync.
struct SyncEnv {
  lake::Lakehouse* lake = nullptr;
  Source* source = nullptr;
  control::ControlStore* store = nullptr;  //!< may be null: nothing is recorded
  std::shared_ptr<Clock> clock;            //!< backoff sleeps and durations
  //! Receives alerts and retry notices as they happen (e.g. printed to stderr); may be empty.
  std::function<void(const std::string&)> notify;
  uint64_t jitter_seed = 0;  //!< 0: seeded from the clock
};

//! Not thread-safe: one sync at a time per object (and per stream: two concurrent syncs of one
//! stream would both land the same rows).
class StreamSync {
 public:
  StreamSync(const ConnectionSpec& spec, SyncEnv env);

  //! Syncs the selected streams one after another. Per-stream failures are in the result (the
  //! other streams still run); the Status fails only for a bad request (unknown stream, no
  //! lakehouse) or when the control store cannot record the run.
  Result<SyncResult> Run(const SyncOptions& options);

  //! The backoff before retry `retry` (1-based): base * 2^(retry-1), capped, plus up to half
  //! of it as jitter.
  int64_t BackoffMillis(int retry, const SyncOptions& options);

 private:
  Status SyncOnce(const StreamSpec& stream, const SyncOptions& options, StreamSyncResult* out);
  //! Whether this sync of `stream` checks for deletions (`detect_deletes: every N syncs`), and
  //! the count of syncs without a check so far (kept in the control store's state mirror).
  bool ChecksDeletes(const StreamSpec& stream, int64_t* syncs_without);
  Result<std::vector<std::string>> CheckDrift(const StreamSpec& stream, const StreamInfo& info,
                                              std::vector<std::string>* breaking);
  void Notify(const std::string& message);
  std::string CanonicalType(const std::string& type);
  //! Asks DuckDB for the spelling of each of `types` not yet known in one query, not one each
  //! (a stream's drift check compares every column's type). CanonicalType asks for the rest.
  void LearnCanonicalTypes(const std::vector<std::string>& types);

  const ConnectionSpec& spec_;
  SyncEnv env_;
  uint64_t rng_;
  std::map<std::string, std::string> canonical_types_;
};

}  // namespace dew::connectors
