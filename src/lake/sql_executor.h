// SqlExecutor: runs a SQL script over the lakehouse — reads go to DuckDB after the rewriter has
// expanded time travel and delta_scan; writes to lake tables become DeltaTable operations (one
// commit each) followed by a refresh of the table's view.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/connection.h"
#include "engine/query_result.h"
#include "lake/lakehouse.h"
#include "lake/sql_rewriter.h"

namespace dew::lake {

//! What a statement produced: DuckDB rows (streamed) or, for lake writes, a summary table.
struct StatementOutput {
  std::unique_ptr<engine::QueryResult> stream;  //!< set for statements DuckDB ran
  engine::TextTable table;                      //!< used when `stream` is null
  //! Things the user should know that are not errors (over the whole script).
  std::vector<std::string> notes;
};

//! Borrows the lakehouse, which must outlive it. Not thread-safe.
class SqlExecutor {
 public:
  explicit SqlExecutor(Lakehouse* lake) : lake_(lake) {}

  //! Runs every statement of `script` in order and returns the last one's output; stops at the
  //! first error (earlier statements stay committed). An unknown lake table is NotFound with
  //! near matches.
  Result<StatementOutput> Run(const std::string& script);

  //! Runs one statement.
  Result<StatementOutput> RunStatement(const std::string& statement, bool stream_result);

 private:
  Result<engine::TextTable> RunWrite(const LakeStatement& st);
  Result<engine::TextTable> CreateTableAs(const LakeStatement& st, const TableName& name);
  Result<engine::TextTable> CreateTableFromDefinitions(const LakeStatement& st,
                                                       const TableName& name);
  Result<engine::TextTable> Optimize(const LakeStatement& st, const TableName& name);
  Result<engine::TextTable> AlterProperties(const LakeStatement& st, const TableName& name);
  //! `st.query` with its columns named and typed as the table's.
  Result<std::string> ConformInsert(const LakeStatement& st, const TableName& name,
                                    const Schema& table);
  //! `query` with columns that exist in the table cast to the table's types.
  Result<std::string> ConformByName(const std::string& query, const Schema& table);
  //! Turns DuckDB's "table does not exist" for a lake reference into near matches.
  Status ExplainError(const Status& error, const std::string& statement);

  Lakehouse* lake_;
  std::vector<std::string> notes_;
};

//! The summary row of a lake write: table, operation, version, rows_added, rows_removed.
engine::TextTable WriteSummary(const std::string& table, const std::string& operation,
                               int64_t version, int64_t rows_added, int64_t rows_removed);

//! What OPTIMIZE did, one row: table, version (the current one when nothing was committed),
//! committed, then its metrics (files added/removed, deletion vectors removed, bytes
//! added/removed, rows).
engine::TextTable OptimizeSummary(const std::string& table, const OptimizeResult& result);

}  // namespace dew::lake
