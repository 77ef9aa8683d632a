// Database: one DuckDB instance opened through the C API.
//
// DuckDB is dew's engine, not its store (DESIGN decision 1): each dew process opens its own
// database, in memory by default, and sees the lake through views the lake registers.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

struct _duckdb_database;

namespace dew::engine {

class Connection;

struct DatabaseOptions {
  //! Empty: in memory. Otherwise a disposable cache file.
  std::string path;
  //! Worker threads; 0 lets DuckDB choose (one per core).
  int threads = 0;
  //! e.g. "4GB"; empty lets DuckDB choose.
  std::string memory_limit;
  //! Where DuckDB spills; empty lets DuckDB choose.
  std::string temp_directory;
};

//! Owns a duckdb_database. Thread-safe: connections may be made from any thread. Every
//! Connection must be destroyed before its Database.
class Database {
 public:
  //! Opens the database; the Status carries DuckDB's message on failure.
  static Result<std::unique_ptr<Database>> Open(const DatabaseOptions& options);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  //! A new connection with DuckDB's defaults: no progress tracking (Connection::TrackProgress).
  Result<std::unique_ptr<Connection>> Connect();

  //! The DuckDB library version, e.g. "v1.5.6".
  static std::string LibraryVersion();

 private:
  explicit Database(_duckdb_database* db) : db_(db) {}
  _duckdb_database* db_;
};

}  // namespace dew::engine
