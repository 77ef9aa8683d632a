#include "lake/sql_executor.h"

#include <algorithm>

#include "lake/sql_tokenizer.h"
#include "lake/table_properties.h"

namespace dew::lake {
namespace {

using engine::LogicalType;
using engine::SqlIdent;
using engine::TypeId;

LogicalType TypeOf(TypeId id) {
  LogicalType t;
  t.id = id;
  return t;
}

struct Columns {
  std::vector<std::string> names;
  std::vector<LogicalType> types;
};

Result<Columns> QueryColumns(engine::Connection& con, const std::string& query) {
  DEW_ASSIGN_OR_RETURN(auto result,
                       con.Query("SELECT * FROM (\n" + query + "\n) AS _dew_q LIMIT 0"));
  return Columns{result->names(), result->types()};
}

// DuckDB's 128-bit integers (what SUM over integers returns) have no Delta type; BIGINT holds
// every realistic sum and overflows loudly otherwise.
bool NeedsNarrowing(const LogicalType& t) {
  return t.id == TypeId::kHugeInt || t.id == TypeId::kUHugeInt;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string ColumnList(const Schema& schema) {
  std::string out;
  for (const auto& n : schema.Names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// DuckDB's "LINE 1: …" excerpt points into the SQL dew generated for a write, not the user's.
Status WithoutSqlContext(const Status& s) {
  size_t at = s.message().find("\n\nLINE ");
  if (at == std::string::npos) return s;
  std::string msg = s.message().substr(0, at);
  switch (s.code()) {
    case Status::Code::kNotFound:
      return Status::NotFound(msg);
    case Status::Code::kIOError:
      return Status::IOError(msg);
    case Status::Code::kInterrupted:
      return Status::Interrupted(msg);
    case Status::Code::kConflict:
      return Status::Conflict(msg);
    default:
      return Status::InvalidArgument(msg);
  }
}

}  // namespace

engine::TextTable WriteSummary(const std::string& table, const std::string& operation,
                               int64_t version, int64_t rows_added, int64_t rows_removed) {
  engine::TextTable t;
  t.names = {"table", "operation", "version", "rows_added", "rows_removed"};
  LogicalType text = TypeOf(TypeId::kVarchar);
  LogicalType number = TypeOf(TypeId::kBigInt);
  t.types = {text, text, number, number, number};
  t.rows.push_back({table, operation, std::to_string(version), std::to_string(rows_added),
                    std::to_string(rows_removed)});
  return t;
}

Result<StatementOutput> SqlExecutor::Run(const std::string& script) {
  DEW_ASSIGN_OR_RETURN(auto statements, SplitStatements(script));
  if (statements.empty()) return Status::InvalidArgument("no SQL statement given");
  for (size_t i = 0; i + 1 < statements.size(); i++) {
    auto out = RunStatement(statements[i], /*stream_result=*/false);
    if (!out.ok()) return out.status().WithContext("statement " + std::to_string(i + 1));
  }
  auto last = RunStatement(statements.back(), /*stream_result=*/true);
  if (!last.ok() && statements.size() > 1) {
    return last.status().WithContext("statement " + std::to_string(statements.size()));
  }
  if (last.ok()) last->notes = std::move(notes_);
  notes_.clear();
  return last;
}

Result<StatementOutput> SqlExecutor::RunStatement(const std::string& statement,
                                                  bool stream_result) {
  DEW_ASSIGN_OR_RETURN(LakeStatement st, ParseStatement(statement, *lake_));
  StatementOutput out;
  if (st.kind != StatementKind::kPassThrough) {
    auto table = RunWrite(st);
    if (!table.ok()) return ExplainError(WithoutSqlContext(table.status()), statement);
    out.table = std::move(*table);
    return out;
  }
  if (!st.session_table.empty()) {
    notes_.push_back("table " + st.session_table +
                     " lives in this session's in-memory database and is gone when dew exits; "
                     "name it <layer>.<name> (e.g. silver." +
                     st.session_table.substr(st.session_table.rfind('.') + 1) +
                     ") to make it a lake table");
  }
  engine::Connection& con = lake_->connection();
  if (!stream_result) {
    Status s = con.Execute(st.sql);
    if (!s.ok()) return ExplainError(s, statement);
    return out;
  }
  auto result = con.Query(st.sql);
  if (!result.ok()) return ExplainError(result.status(), statement);
  out.stream = std::move(*result);
  return out;
}

Status SqlExecutor::ExplainError(const Status& error, const std::string& statement) {
  const std::string& msg = error.message();
  const std::string marker = "Table with name ";
  size_t at = msg.find(marker);
  size_t end = msg.find(" does not exist", at == std::string::npos ? 0 : at);
  if (at == std::string::npos || end == std::string::npos) return error;
  std::string missing = Lower(msg.substr(at + marker.size(), end - at - marker.size()));
  for (const std::string& ref : LakeTableReferences(statement)) {
    if (ref.substr(ref.find('.') + 1) != missing) continue;
    auto name = ParseTableName(ref);
    if (name.ok() && lake_->Exists(*name)) {
      auto snap = lake_->LoadSnapshot(*name, TimeTravel{});
      if (!snap.ok()) return snap.status();
      continue;
    }
    return Status::NotFound(lake_->UnknownTableMessage(ref));
  }
  std::string hint = lake_->UnknownTableMessage(missing);
  size_t mean = hint.find("did you mean");
  if (mean == std::string::npos) return error;
  return Status::NotFound(msg.substr(0, msg.find('\n')) + "; " + hint.substr(mean));
}

Result<engine::TextTable> SqlExecutor::RunWrite(const LakeStatement& st) {
  DEW_ASSIGN_OR_RETURN(TableName name, ParseTableName(st.table));
  const std::string label = name.ToString();
  WriteOptions w = lake_->NewWriteOptions();
  switch (st.kind) {
    case StatementKind::kCreateTableAs:
      return CreateTableAs(st, name);
    case StatementKind::kCreateTable:
      return CreateTableFromDefinitions(st, name);
    case StatementKind::kOptimize:
      return Optimize(st, name);
    case StatementKind::kSetProperties:
    case StatementKind::kUnsetProperties:
      return AlterProperties(st, name);
    case StatementKind::kDropTable: {
      if (!lake_->Exists(name)) {
        if (st.if_exists) return WriteSummary(label, "DROP TABLE (absent)", -1, 0, 0);
        return Status::NotFound(lake_->UnknownTableMessage(label));
      }
      DEW_ASSIGN_OR_RETURN(auto table, lake_->OpenTable(name));
      DEW_ASSIGN_OR_RETURN(Snapshot snap, table->Latest());
      table.reset();
      DEW_RETURN_IF_ERROR(lake_->DropTable(name));
      return WriteSummary(label, "DROP TABLE", snap.version, 0,
                          std::max<int64_t>(0, snap.NumRecords()));
    }
    default:
      break;
  }
  DEW_ASSIGN_OR_RETURN(auto table, lake_->OpenTable(name));
  DEW_ASSIGN_OR_RETURN(Snapshot snap, table->Latest());
  CommitResult r;
  std::string op;
  switch (st.kind) {
    case StatementKind::kInsert:
    case StatementKind::kInsertOverwrite: {
      DEW_ASSIGN_OR_RETURN(std::string query, ConformInsert(st, name, snap.schema));
      if (st.kind == StatementKind::kInsert) {
        op = "INSERT";
        DEW_ASSIGN_OR_RETURN(r, table->Append(query, w));
      } else {
        op = "INSERT OVERWRITE";
        DEW_ASSIGN_OR_RETURN(r, table->Overwrite(query, std::nullopt, w));
      }
      break;
    }
    case StatementKind::kDelete: {
      op = "DELETE";
      DEW_ASSIGN_OR_RETURN(r, table->DeleteWhere(st.predicate.empty() ? "true" : st.predicate, w));
      break;
    }
    case StatementKind::kMerge: {
      op = "MERGE";
      for (const std::string& key : st.merge_keys) {
        if (snap.schema.Find(key) == nullptr) {
          return Status::InvalidArgument("MERGE INTO " + label + ": merge key '" + key +
                                         "' is not a column of the table (" +
                                         ColumnList(snap.schema) + ")");
        }
      }
      DEW_ASSIGN_OR_RETURN(std::string query, ConformByName(st.query, snap.schema));
      DEW_ASSIGN_OR_RETURN(r, table->Merge(query, st.merge_keys, w));
      break;
    }
    default:
      return Status::Internal("unexpected statement kind for " + label);
  }
  table.reset();
  DEW_RETURN_IF_ERROR(lake_->RefreshView(name));
  return WriteSummary(label, op, r.version, r.rows_added, r.rows_removed);
}

Result<engine::TextTable> SqlExecutor::Optimize(const LakeStatement& st, const TableName& name) {
  DEW_ASSIGN_OR_RETURN(auto table, lake_->OpenTable(name));
  OptimizeOptions optimize;
  if (!st.predicate.empty()) optimize.where = st.predicate;
  DEW_ASSIGN_OR_RETURN(OptimizeResult r, table->Optimize(optimize, lake_->NewWriteOptions()));
  table.reset();
  if (r.committed) DEW_RETURN_IF_ERROR(lake_->RefreshView(name));
  return OptimizeSummary(name.ToString(), r);
}

Result<engine::TextTable> SqlExecutor::AlterProperties(const LakeStatement& st,
                                                       const TableName& name) {
  DEW_ASSIGN_OR_RETURN(auto table, lake_->OpenTable(name));
  std::map<std::string, std::string> set;
  for (const auto& [k, v] : st.properties) set[CanonicalPropertyName(k)] = v;
  std::vector<std::string> unset;
  for (const auto& k : st.unset_properties) unset.push_back(CanonicalPropertyName(k));
  DEW_ASSIGN_OR_RETURN(CommitResult r,
                       table->SetProperties(set, unset, st.if_exists, lake_->NewWriteOptions()));
  const std::string op =
      st.kind == StatementKind::kSetProperties ? "SET TBLPROPERTIES" : "UNSET TBLPROPERTIES";
  return WriteSummary(name.ToString(), r.attempts == 0 ? op + " (unchanged)" : op, r.version, 0, 0);
}

engine::TextTable OptimizeSummary(const std::string& table, const OptimizeResult& result) {
  engine::TextTable t;
  t.names = {"table", "version", "committed"};
  LogicalType text = TypeOf(TypeId::kVarchar);
  LogicalType number = TypeOf(TypeId::kBigInt);
  t.types = {text, number, TypeOf(TypeId::kBoolean)};
  std::vector<std::optional<std::string>> row = {table, std::to_string(result.version),
                                                 result.committed ? "true" : "false"};
  for (const char* metric :
       {"numAddedFiles", "numRemovedFiles", "numDeletionVectorsRemoved",
        "numDeletionVectorRowsRemoved", "numAddedBytes", "numRemovedBytes", "numOutputRows"}) {
    t.names.push_back(metric);
    t.types.push_back(number);
    auto it = result.metrics.find(metric);
    row.push_back(it == result.metrics.end() ? "0" : it->second);
  }
  t.rows.push_back(std::move(row));
  return t;
}

Result<engine::TextTable> SqlExecutor::CreateTableAs(const LakeStatement& st,
                                                     const TableName& name) {
  const std::string label = name.ToString();
  DEW_RETURN_IF_ERROR(CheckNamingConvention(name));
  bool exists = lake_->Exists(name);
  if (exists && st.if_not_exists) return WriteSummary(label, "CREATE TABLE (exists)", -1, 0, 0);
  if (exists && !st.or_replace) {
    return Status::AlreadyExists("table " + label +
                                 " already exists; use CREATE OR REPLACE TABLE to overwrite it "
                                 "or INSERT INTO to add rows");
  }
  DEW_ASSIGN_OR_RETURN(Columns cols, QueryColumns(lake_->connection(), st.query));
  std::string query = st.query;
  std::string replace;
  for (size_t i = 0; i < cols.types.size(); i++) {
    if (!NeedsNarrowing(cols.types[i])) continue;
    replace += (replace.empty() ? "" : ", ") + std::string("CAST(") + SqlIdent(cols.names[i]) +
               " AS BIGINT) AS " + SqlIdent(cols.names[i]);
    cols.types[i] = TypeOf(TypeId::kBigInt);
  }
  if (!replace.empty()) query = "SELECT * REPLACE (" + replace + ") FROM (\n" + query + "\n)";
  WriteOptions w = lake_->NewWriteOptions();
  CommitResult r;
  if (exists) {
    DEW_ASSIGN_OR_RETURN(auto table, lake_->OpenTable(name));
    w.merge_schema = true;
    auto over = table->Overwrite(query, std::nullopt, w);
    if (!over.ok()) {
      return over.status().WithContext(
          "CREATE OR REPLACE TABLE " + label +
          " (the new rows must keep the types of the existing columns; DROP TABLE first to "
          "change them)");
    }
    r = *over;
  } else {
    auto schema = Schema::FromDuckDb(cols.names, cols.types);
    if (!schema.ok()) return schema.status().WithContext("CREATE TABLE " + label);
    DEW_ASSIGN_OR_RETURN(r, lake_->CreateTableAs(name, query, st.partition_by, w));
  }
  DEW_RETURN_IF_ERROR(lake_->RefreshView(name));
  return WriteSummary(label, exists ? "CREATE OR REPLACE TABLE" : "CREATE TABLE", r.version,
                      r.rows_added, r.rows_removed);
}

Result<engine::TextTable> SqlExecutor::CreateTableFromDefinitions(const LakeStatement& st,
                                                                  const TableName& name) {
  const std::string label = name.ToString();
  DEW_RETURN_IF_ERROR(CheckNamingConvention(name));
  if (lake_->Exists(name)) {
    if (st.if_not_exists) return WriteSummary(label, "CREATE TABLE (exists)", -1, 0, 0);
    if (!st.or_replace) return Status::AlreadyExists("table " + label + " already exists");
    DEW_RETURN_IF_ERROR(lake_->DropTable(name));
  }
  engine::Connection& con = lake_->connection();
  DEW_RETURN_IF_ERROR(
      con.Execute("CREATE OR REPLACE TEMP TABLE _dew_definitions (" + st.column_defs + "\n)"));
  auto cols = QueryColumns(con, "SELECT * FROM _dew_definitions");
  (void)con.Execute("DROP TABLE IF EXISTS _dew_definitions");
  if (!cols.ok()) return cols.status();
  auto schema = Schema::FromDuckDb(cols->names, cols->types);
  if (!schema.ok()) return schema.status().WithContext("CREATE TABLE " + label);
  DEW_ASSIGN_OR_RETURN(auto table, lake_->CreateTable(name, *schema, st.partition_by));
  DEW_ASSIGN_OR_RETURN(Snapshot snap, table->Latest());
  table.reset();
  DEW_RETURN_IF_ERROR(lake_->RefreshView(name));
  return WriteSummary(label, "CREATE TABLE", snap.version, 0, 0);
}

Result<std::string> SqlExecutor::ConformInsert(const LakeStatement& st, const TableName& name,
                                               const Schema& table) {
  if (st.by_name) return ConformByName(st.query, table);
  const std::string ctx = "INSERT INTO " + name.ToString();
  DEW_ASSIGN_OR_RETURN(Columns cols, QueryColumns(lake_->connection(), st.query));
  std::vector<const Field*> targets;
  if (!st.columns.empty()) {
    for (const std::string& c : st.columns) {
      const Field* f = table.Find(c);
      if (f == nullptr) {
        return Status::InvalidArgument(ctx + ": no column '" + c +
                                       "' (columns: " + ColumnList(table) + ")");
      }
      targets.push_back(f);
    }
  } else {
    for (const Field& f : table.fields()) targets.push_back(&f);
  }
  if (cols.names.size() != targets.size() &&
      (!st.columns.empty() || cols.names.size() > targets.size())) {
    return Status::InvalidArgument(
        ctx + ": the query gives " + std::to_string(cols.names.size()) + " columns but " +
        std::to_string(targets.size()) +
        (st.columns.empty() ? " table columns exist (" + ColumnList(table) + ")" : " were named"));
  }
  std::string aliases, select;
  for (size_t i = 0; i < cols.names.size(); i++) {
    // Naming the positional columns after their targets makes cast errors name the column.
    std::string src = SqlIdent(targets[i]->name);
    aliases += (i ? ", " : "") + src;
    DEW_ASSIGN_OR_RETURN(std::string type, DuckDbTypeOf(*targets[i]));
    select += (i ? ", " : "") + std::string("CAST(") + src + " AS " + type + ") AS " +
              SqlIdent(targets[i]->name);
  }
  return "SELECT " + select + " FROM (\n" + st.query + "\n) AS _dew_src(" + aliases + ")";
}

Result<std::string> SqlExecutor::ConformByName(const std::string& query, const Schema& table) {
  DEW_ASSIGN_OR_RETURN(Columns cols, QueryColumns(lake_->connection(), query));
  std::string select;
  bool changed = false;
  for (size_t i = 0; i < cols.names.size(); i++) {
    const Field* f = table.Find(cols.names[i]);
    std::string col = SqlIdent(cols.names[i]);
    std::string expr = col;
    if (f != nullptr) {
      DEW_ASSIGN_OR_RETURN(std::string type, DuckDbTypeOf(*f));
      if (type != cols.types[i].ToSql()) {
        expr = "CAST(" + col + " AS " + type + ") AS " + SqlIdent(f->name);
        changed = true;
      }
    } else if (NeedsNarrowing(cols.types[i])) {
      expr = "CAST(" + col + " AS BIGINT) AS " + col;
      changed = true;
    }
    select += (i ? ", " : "") + expr;
  }
  if (!changed) return query;
  return "SELECT " + select + " FROM (\n" + query + "\n) AS _dew_src";
}

}  // namespace dew::lake
