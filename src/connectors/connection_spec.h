// ConnectionSpec: one connection YAML file (connections/<name>.yml), parsed and validated.
//
// Every error names `file:line:column: field: problem` (1-based). Secrets are references only:
// `${env:NAME}` is kept as written and resolved at use time (ResolvePassword), so a parsed spec
// never holds a secret; a literal password in the file is refused. `auth.host` and `auth.port`
// may be `${env:NAME}` too (resolved by ResolveEndpoint), so one file serves databases whose
// address is only known where dew runs (a test's or a demo's throwaway server).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/cron_schedule.h"
#include "core/status.h"

namespace dew {
class FileSystem;
}

namespace dew::connectors {

enum class Tier { kCritical, kStandard, kBestEffort };

//! "critical", "standard", "best_effort".
const char* TierName(Tier tier);
//! Retries a sync of this tier gets after the first attempt: critical 5, standard 3,
//! best_effort 2.
int RetryCount(Tier tier);

//! A source-specific part of a connection file (the `rest:`, `files:`, `singer:`, `airbyte:`,
//! `odoo:` block, a non-postgres `auth:` block, or a stream's source-specific keys) as JSON,
//! with where each value was written, so the source's own validation names file:line:column.
struct SpecBlock {
  nlohmann::json value = nlohmann::json::object();  //!< scalars typed as YAML plain scalars
  std::string field;  //!< the block's field path, e.g. "rest" or "streams[2]"
  //! JSON pointer ("/pagination/type") → "file:line:column".
  std::map<std::string, std::string> positions;

  bool empty() const { return value.empty(); }
  //! InvalidArgument "file:line:column: <field>.<path>: <problem>" for the value at `pointer`
  //! (the block's own position when the pointer was not written).
  Status Error(const std::string& pointer, const std::string& problem) const;
  //! The string at `pointer` with `${env:NAME}` references replaced from `env`; empty when
  //! absent. InvalidArgument naming the field and variable when one is unset.
  Result<std::string> ResolvedString(const std::string& pointer,
                                     const std::map<std::string, std::string>& env) const;
};

struct StreamSpec {
  std::string name;
  std::string sync_mode = "full_refresh";  //!< "incremental" or "full_refresh"
  std::string cursor_field;                //!< required for incremental
  std::vector<std::string> primary_key;
  std::vector<std::string> columns;  //!< empty: every column
  std::string filter;                //!< a SQL predicate, empty: none
  //! What a sync does when a column disappears or changes type: "evolve" (land on, alert),
  //! "fail" (stop the stream, alert) or "quarantine" (land in the __quarantine table, silver
  //! unchanged, alert). A new column always evolves the tables and alerts.
  std::string on_schema_change = "evolve";
  int64_t chunk_rows = 0;      //!< rows per bronze commit; 0: the source's default
  bool detect_deletes = true;  //!< land source deletions as `_deleted` rows (postgres, odoo)
  //! Check for deletions on every N-th sync only (`detect_deletes: every N syncs`; 1: every
  //! sync): the check reads every key of the table, which a huge table may not want hourly.
  int64_t detect_deletes_every = 1;
  //! `detect_deletes: replication`: deletions come from PostgreSQL's write-ahead log through a
  //! logical replication slot instead of a comparison of every key (postgres, odoo).
  bool detect_deletes_by_replication = false;
  //! `detect_deletes: digest`: compare the keys on every sync, even when PostgreSQL's
  //! statistics count no deletion since the last check (postgres, odoo).
  bool detect_deletes_always_compared = false;
  //! Keys the common parser does not know, for sources other than postgres (e.g. a REST
  //! stream's `path`, `records_path`); validated by the source.
  SpecBlock options;
};

struct AuthSpec {
  //! As written: a host name or address, possibly with `${env:NAME}` references in it.
  std::string host = "127.0.0.1";
  //! The port when written as a number; 0 when written as `${env:NAME}` (port_ref).
  int port = 5432;
  std::string port_ref;       //!< "${env:NAME}" as written for the port, or empty
  std::string host_position;  //!< "file:line:column" of auth.host; empty when not written
  std::string port_position;  //!< "file:line:column" of auth.port; empty when not written
  std::string database;
  std::string user;
  std::string password_ref;  //!< "${env:NAME}" as written, or empty (no password)
  std::string url;           //!< odoo over its external API: the server URL
};

//! Where a database connection goes once `${env:NAME}` references are resolved.
struct Endpoint {
  std::string host;
  int port = 5432;
};

struct ConnectionSpec {
  std::string file;  //!< as given to Parse, for messages
  std::string name;
  //! "postgres", "odoo", "files", "rest", "singer" or "airbyte".
  std::string source_type;
  //! The database login (postgres, odoo); `auth:` of other sources is in auth_options.
  AuthSpec auth;
  SpecBlock auth_options;
  //! The block named after the source type (`rest:`, `files:` …), empty when absent.
  SpecBlock options;
  std::vector<StreamSpec> streams;
  std::optional<CronSchedule> schedule;
  std::string schedule_text;
  Tier tier = Tier::kStandard;

  //! Parses and validates `yaml_text`; `file_name` is used only in messages. InvalidArgument
  //! `file:line:column: field: problem` on any error.
  static Result<ConnectionSpec> Parse(const std::string& yaml_text, const std::string& file_name);
  //! Reads `path` through `fs` and parses it. NotFound/IOError from `fs`, else as Parse.
  static Result<ConnectionSpec> ParseFile(const std::string& path, FileSystem& fs);

  //! The password from `env` (the process environment, or a test's map). Empty when the spec
  //! has no password; InvalidArgument naming the variable and the file when it is unset.
  Result<std::string> ResolvePassword(const std::map<std::string, std::string>& env) const;

  //! auth.host and auth.port with their `${env:NAME}` references resolved from `env`.
  //! InvalidArgument "file:line:column: auth.host: environment variable NAME is not set …" when
  //! a variable is unset, and "… auth.port: … is not a port number 1-65535" when the port's
  //! variable holds something else.
  Result<Endpoint> ResolveEndpoint(const std::map<std::string, std::string>& env) const;

  //! The stream named `stream`, or nullptr.
  const StreamSpec* FindStream(const std::string& stream) const;

  //! "sync_<source>_<stream>_<mode>", the job name of one stream's sync.
  std::string JobName(const StreamSpec& stream) const;
};

//! The process environment as a map, for ResolvePassword.
std::map<std::string, std::string> ProcessEnvironment();

}  // namespace dew::connectors
