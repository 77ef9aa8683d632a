// Connection: runs SQL on one DuckDB connection.
//
// Not thread-safe except Interrupt() and progress(), which another thread may call while a query
// runs (that is how a run is cancelled within a second).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/logical_type.h"

struct _duckdb_connection;

namespace dew::engine {

class QueryResult;
class PreparedStatement;
class Appender;

struct QueryProgress {
  double percentage = -1;  //!< 0–100, or -1 when unknown
  uint64_t rows_processed = 0;
  uint64_t total_rows = 0;
};

//! A small result held in memory as text, for metadata queries and tests. NULL is nullopt.
struct TextTable {
  std::vector<std::string> names;
  std::vector<LogicalType> types;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  //! Runs one or more statements and discards their results. Like QueryText, binds each
  //! statement once (see QueryMaterialized).
  Status Execute(const std::string& sql);

  //! Runs one or more statements; returns the last one's result, streamed chunk by chunk. The
  //! result must be destroyed before the next query on this connection.
  Result<std::unique_ptr<QueryResult>> Query(const std::string& sql);

  //! Runs `sql` and reads its whole result as text.
  Result<TextTable> QueryText(const std::string& sql);

  //! Runs one or more statements; returns the last one's result, held whole in memory. For
  //! small results: unlike Query, which prepares each statement and then executes it, DuckDB
  //! binds each statement once here. (A statement that reads Parquet files, e.g. through a
  //! lake table's view, cannot keep its prepared plan: DuckDB binds it again on execution,
  //! opening every file twice.)
  Result<std::unique_ptr<QueryResult>> QueryMaterialized(const std::string& sql);

  //! Runs `sql` and returns the first column of the first row as text; NotFound when empty,
  //! nullopt when NULL.
  Result<std::optional<std::string>> QueryScalar(const std::string& sql);

  //! The columns of the table `schema`.`table` in the default catalog, read from DuckDB's
  //! catalog without parsing or running a query (a build reads each new table's schema this
  //! way instead of a `LIMIT 0` query). `rows` is empty. NotFound when there is no such table,
  //! with DuckDB's message.
  Result<TextTable> DescribeTable(const std::string& schema, const std::string& table);

  //! Prepares one statement for typed binds.
  Result<std::unique_ptr<PreparedStatement>> Prepare(const std::string& sql);

  //! An appender for bulk rows into an existing table.
  Result<std::unique_ptr<Appender>> CreateAppender(const std::string& schema,
                                                   const std::string& table);

  //! Asks the running query to stop; it then fails with an Interrupted status. Thread-safe.
  void Interrupt();

  //! Has DuckDB track the progress of this connection's queries (never printing it), so that
  //! progress() reports it. Off by default: the bookkeeping costs CPU in every query (9% of
  //! dew's samples in an incremental sync), and only callers that show progress want it.
  Status TrackProgress();

  //! Progress of the running query; percentage -1 unless TrackProgress() was called (and
  //! until DuckDB's progress_bar_time has passed). Thread-safe.
  QueryProgress progress();

 private:
  friend class Database;
  explicit Connection(_duckdb_connection* con) : con_(con) {}
  _duckdb_connection* con_;
};

//! Wraps a literal as a SQL string: 'it''s'.
std::string SqlString(const std::string& value);
//! Quotes an identifier: "my ""col""".
std::string SqlIdent(const std::string& name);

}  // namespace dew::engine
