// SqlRewriter: turns dew's SQL additions into plain DuckDB SQL, and recognises the statements
// that write to lake tables so the caller can route them to DeltaTable.
//
// Reads: `layer.table VERSION AS OF 3`, `table TIMESTAMP AS OF '2026-01-31 23:59:59'`,
// `layer.table@v3`, `delta_scan('path')`, `delta_scan('path', version => 3)` and
// `delta_scan('path', timestamp => '…')` become parenthesised subqueries (the resolver supplies
// the SELECT of the snapshot); a reference without an alias gets the table's name as alias.
// Everything else — strings, quoted identifiers, comments, spacing — is kept byte for byte.
//
// Writes to a `bronze|silver|gold|platinum.<name>` target: CREATE [OR REPLACE] TABLE … [AS …],
// INSERT INTO / INSERT OVERWRITE, DELETE FROM, TRUNCATE, MERGE INTO … USING … ON … (Databricks
// form with UPDATE SET * / INSERT *), DROP TABLE, OPTIMIZE … [WHERE …] and ALTER TABLE … SET |
// UNSET TBLPROPERTIES come back parsed; other statements on lake targets (UPDATE, other ALTER
// forms, OPTIMIZE … ZORDER BY) are NotSupported; statements on other schemas pass through.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dew::lake {

//! A point in a table's history; neither set means the latest version.
struct TimeTravel {
  std::optional<int64_t> version;
  std::optional<std::string> timestamp;  //!< the literal's text, e.g. "2026-01-31 23:59:59"
};

//! Supplies the SQL that reads a Delta table. Implemented by the lakehouse (and by tests).
class TableResolver {
 public:
  virtual ~TableResolver() = default;
  //! A SELECT (no semicolon) of lake table `table` — "layer.name" or a bare name — at `at`.
  //! NotFound (with near matches) for an unknown table, or a version out of range.
  virtual Result<std::string> ScanTable(const std::string& table, const TimeTravel& at) = 0;
  //! A SELECT of the Delta table in folder `path` (as written, maybe relative) at `at`.
  virtual Result<std::string> ScanPath(const std::string& path, const TimeTravel& at) = 0;
};

enum class StatementKind {
  kPassThrough,      //!< run on DuckDB as `sql`
  kCreateTableAs,    //!< CREATE [OR REPLACE] TABLE t [PARTITIONED BY (…)] AS query
  kCreateTable,      //!< CREATE TABLE t (column definitions) [PARTITIONED BY (…)]
  kInsert,           //!< INSERT INTO t [(cols)] query
  kInsertOverwrite,  //!< INSERT OVERWRITE [TABLE] t [(cols)] query
  kDelete,           //!< DELETE FROM t [WHERE predicate], TRUNCATE t
  kMerge,            //!< MERGE INTO t USING source ON keys … UPDATE SET * … INSERT *
  kDropTable,        //!< DROP TABLE [IF EXISTS] t
  kOptimize,         //!< OPTIMIZE t [WHERE partition predicate]
  kSetProperties,    //!< ALTER TABLE t SET TBLPROPERTIES ('k' = 'v', …)
  kUnsetProperties,  //!< ALTER TABLE t UNSET TBLPROPERTIES [IF EXISTS] ('k', …)
};

//! One statement, parsed. Query texts already have their reads rewritten.
struct LakeStatement {
  StatementKind kind = StatementKind::kPassThrough;
  std::string sql;    //!< kPassThrough: the statement to run
  std::string table;  //!< the lake target, "layer.name" (identifiers lower-cased unless quoted)
  bool or_replace = false;
  bool if_not_exists = false;
  bool if_exists = false;
  bool by_name = false;                   //!< INSERT … BY NAME
  std::vector<std::string> partition_by;  //!< CREATE … PARTITIONED BY
  std::vector<std::string> columns;       //!< INSERT column list, empty when absent
  std::vector<std::string> merge_keys;    //!< MERGE: the target columns of the ON equalities
  std::string query;                      //!< CTAS / INSERT / MERGE source
  std::string column_defs;                //!< kCreateTable: text inside the parentheses
  std::string predicate;                  //!< DELETE, OPTIMIZE: the WHERE text; empty for all rows
  std::map<std::string, std::string> properties;  //!< kSetProperties: key -> value as written
  std::vector<std::string> unset_properties;      //!< kUnsetProperties: the keys
  //! kPassThrough CREATE TABLE outside the lake: the (non-temporary) DuckDB table it makes,
  //! which lives only as long as the session.
  std::string session_table;
};

//! Rewrites the time-travel spellings and delta_scan calls in `sql` (one or more statements).
//! InvalidArgument naming the problem for a malformed spelling; the resolver's errors as is.
Result<std::string> RewriteReads(std::string_view sql, TableResolver& resolver);

//! Parses one statement (no trailing semicolon needed). NotSupported for write forms on lake
//! tables that dew does not handle, saying what is supported.
Result<LakeStatement> ParseStatement(std::string_view statement, TableResolver& resolver);

//! Every `layer.name` written in `sql` where layer is a medallion layer ("gold.x"), in order of
//! appearance and without duplicates; used to explain "table does not exist" errors.
std::vector<std::string> LakeTableReferences(std::string_view sql);

}  // namespace dew::lake
