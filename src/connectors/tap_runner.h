// What the Singer and Airbyte sources share: running a connector executable as a child process
// with its configuration in a private temp folder (RunTap, PrivateDir), and landing the JSON
// records it prints per stream in bronze batches whose state moves with them (RecordLander).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/bronze_landing.h"
#include "connectors/connection_spec.h"
#include "connectors/json_records.h"
#include "core/status.h"

namespace dew {
class ProcessRunner;
}

namespace dew::connectors {

//! How to run a connector executable; built from the connection's `singer:`/`airbyte:` block.
struct TapOptions {
  std::string connection;         //!< the connection name, for messages
  std::string executable;         //!< absolute path, or a name looked up on the child's PATH
  std::vector<std::string> args;  //!< put before dew's arguments
  std::map<std::string, std::string> env;  //!< the declared, resolved variables only
  std::string working_dir;                 //!< the project folder
  std::string spool_dir;                   //!< where private temp folders and spools go
  int64_t timeout_ms = 0;                  //!< 0: no limit
  int64_t batch_records = 50000;           //!< records landed without waiting for a STATE
  //! Where the connector's stderr lines and log messages go; null: dew's stderr.
  std::function<void(const std::string&)> log;
};

//! Parses the keys the `singer:` and `airbyte:` blocks share: executable (required, relative
//! to the project), args, config (object; string values may be `${env:NAME}`, resolved now),
//! env (map of variables passed to the child, values may be `${env:NAME}`), timeout_seconds,
//! batch_records. InvalidArgument `file:line:col: field: problem` otherwise. `known` lists the
//! further keys the caller accepts; other keys are refused.
Result<TapOptions> ParseTapOptions(const ConnectionSpec& spec, const std::string& project_dir,
                                   const std::string& spool_dir,
                                   const std::map<std::string, std::string>& env,
                                   const std::vector<std::string>& known);
//! The block's `config` with `${env:NAME}` resolved in every string (nested too).
Result<nlohmann::json> ResolveTapConfig(const SpecBlock& block,
                                        const std::map<std::string, std::string>& env);

//! A folder only the dew user can read (0700), whose files are written 0600, removed with its
//! contents on destruction: config, catalog and state files for one run of a connector. Named
//! tap_<pid>_XXXXXX, so that Create removes the folders a killed dew process left behind.
class PrivateDir {
 public:
  //! Creates a new folder under `parent` (created when missing). IOError naming it.
  static Result<std::unique_ptr<PrivateDir>> Create(const std::string& parent);
  ~PrivateDir();
  PrivateDir(const PrivateDir&) = delete;
  PrivateDir& operator=(const PrivateDir&) = delete;

  //! Writes `value` as JSON to `name` in the folder (mode 0600); returns its path.
  Result<std::string> Write(const std::string& name, const nlohmann::json& value);
  const std::string& path() const { return path_; }

 private:
  explicit PrivateDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

//! Sends one line of the connector's diagnostics to options.log (dew's stderr when unset).
void LogLine(const TapOptions& options, const std::string& line);

//! Runs `options.executable options.args… args…` in `options.working_dir` with only the
//! declared environment (HOME is `home`), calling `on_line` for each stdout line with its
//! 1-based number. The first error `on_line` returns cancels the child and becomes the result
//! (prefixed with the connection and program). Otherwise OK when the child exits 0; a non-zero
//! exit, signal or timeout is an IOError naming the program, how it ended and its last stderr
//! lines. Each stderr line goes to options.log.
Status RunTap(ProcessRunner& runner, const TapOptions& options,
              const std::vector<std::string>& args, const std::string& home,
              const std::function<Status(std::string_view, int64_t)>& on_line);

//! Lands one stream's records in bronze in batches: a batch is committed when the connector
//! sends a state (with that state: the records before a state are covered by it) or when
//! batch_records records are pending (with the last state seen, so a resume may re-read them:
//! at least once). Records after the last state are landed by Finish() only when the
//! connector succeeded; otherwise they are dropped with the spool. Not thread-safe.
class RecordLander {
 public:
  //! `landing` is borrowed. `mode` "incremental" or "full_refresh" (the first landed batch of
  //! a full refresh is marked full_refresh_start). `state` is the state the run started from.
  //! `quarantine`: batches land in the stream's quarantine table (schema drift policy).
  RecordLander(BronzeLanding* landing, std::string spool_dir, std::string mode,
               int64_t batch_records, nlohmann::json state, bool quarantine = false);

  //! Columns for the stream's records (from its schema), narrowed to `selected` when that is
  //! not empty; `cursor_field` (may be empty) fills `_cursor` when it is a column.
  void SetSchema(std::vector<JsonColumn> columns, const std::vector<std::string>& selected,
                 const std::string& cursor_field);
  //! Spools one record; lands a batch when batch_records are pending.
  Status AddRecord(const nlohmann::json& record);
  //! Lands the pending records with `state`.
  Status Commit(nlohmann::json state);
  //! Lands what is pending with the last state (the end of a successful run).
  Status Finish();

  int64_t rows() const { return rows_; }
  int64_t bytes() const { return bytes_; }
  int64_t commits() const { return commits_; }  //!< bronze commits made
  const nlohmann::json& state() const { return state_; }

 private:
  Status Land();

  BronzeLanding* landing_;
  JsonRecordBuffer buffer_;
  std::string mode_;
  int64_t batch_records_;
  nlohmann::json state_;
  std::string cursor_sql_;
  bool full_refresh_start_;
  bool quarantine_;
  int64_t commits_ = 0;
  int64_t rows_ = 0;
  int64_t bytes_ = 0;
};

//! The type a JsonColumn has once landed, for StreamInfo (schema drift compares it with
//! bronze): JSON values are stored as their text (Delta has no JSON type), so JSON → VARCHAR.
std::string LandedType(const std::string& lake_type);

//! Last lines of a text, for error messages.
class LineTail {
 public:
  explicit LineTail(size_t max_lines) : max_lines_(max_lines) {}
  void Add(std::string_view line);
  std::string Join() const;  //!< lines joined by " | "

 private:
  size_t max_lines_;
  std::deque<std::string> lines_;
};

}  // namespace dew::connectors
