#include "engine/connection.h"

#include <cstdlib>

#include "engine/appender.h"
#include "engine/engine_internal.h"
#include "engine/prepared_statement.h"
#include "engine/query_result.h"

namespace dew::engine {
namespace internal {

LogicalType ReadLogicalType(duckdb_logical_type type) {
  LogicalType out;
  out.id = static_cast<TypeId>(duckdb_get_type_id(type));
  auto child = [&](duckdb_logical_type t) {
    LogicalType c = ReadLogicalType(t);
    duckdb_destroy_logical_type(&t);
    return c;
  };
  switch (out.id) {
    case TypeId::kDecimal:
      out.width = duckdb_decimal_width(type);
      out.scale = duckdb_decimal_scale(type);
      out.physical = static_cast<TypeId>(duckdb_decimal_internal_type(type));
      break;
    case TypeId::kEnum: {
      out.physical = static_cast<TypeId>(duckdb_enum_internal_type(type));
      idx_t n = duckdb_enum_dictionary_size(type);
      for (idx_t i = 0; i < n; i++) {
        char* v = duckdb_enum_dictionary_value(type, i);
        out.enum_values.emplace_back(v ? v : "");
        duckdb_free(v);
      }
      break;
    }
    case TypeId::kList:
      out.children.push_back(child(duckdb_list_type_child_type(type)));
      break;
    case TypeId::kArray:
      out.array_size = duckdb_array_type_array_size(type);
      out.children.push_back(child(duckdb_array_type_child_type(type)));
      break;
    case TypeId::kMap:
      out.children.push_back(child(duckdb_map_type_key_type(type)));
      out.children.push_back(child(duckdb_map_type_value_type(type)));
      break;
    case TypeId::kStruct: {
      idx_t n = duckdb_struct_type_child_count(type);
      for (idx_t i = 0; i < n; i++) {
        char* name = duckdb_struct_type_child_name(type, i);
        out.child_names.emplace_back(name ? name : "");
        duckdb_free(name);
        out.children.push_back(child(duckdb_struct_type_child_type(type, i)));
      }
      break;
    }
    default:
      break;
  }
  return out;
}

Status ErrorStatus(const char* message, const std::string& fallback) {
  std::string msg = message ? message : fallback;
  if (msg.find("INTERRUPT") != std::string::npos || msg.find("Interrupted") != std::string::npos) {
    return Status::Interrupted(msg);
  }
  if (msg.find("Catalog Error") != std::string::npos) return Status::NotFound(msg);
  if (msg.find("IO Error") != std::string::npos) return Status::IOError(msg);
  return Status::InvalidArgument(msg);
}

}  // namespace internal

using internal::ErrorStatus;

Connection::~Connection() {
  duckdb_connection con = con_;
  duckdb_disconnect(&con);
}

namespace {

// Runs a prepared statement and returns a heap duckdb_result. Streaming results keep memory flat
// for large outputs; statements other than the last are materialized (and dropped).
Result<duckdb_result*> RunPrepared(duckdb_prepared_statement stmt, bool streaming) {
  duckdb_pending_result pending = nullptr;
  duckdb_state state = streaming ? duckdb_pending_prepared_streaming(stmt, &pending)
                                 : duckdb_pending_prepared(stmt, &pending);
  if (state != DuckDBSuccess) {
    Status s = ErrorStatus(pending ? duckdb_pending_error(pending) : nullptr, "cannot start query");
    duckdb_destroy_pending(&pending);
    return s;
  }
  auto* result = new duckdb_result();
  state = duckdb_execute_pending(pending, result);
  duckdb_destroy_pending(&pending);
  if (state != DuckDBSuccess) {
    Status s = ErrorStatus(duckdb_result_error(result), "query failed");
    duckdb_destroy_result(result);
    delete result;
    return s;
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<QueryResult>> Connection::Query(const std::string& sql) {
  duckdb_extracted_statements extracted = nullptr;
  idx_t count = duckdb_extract_statements(con_, sql.c_str(), &extracted);
  if (count == 0) {
    const char* err = extracted ? duckdb_extract_statements_error(extracted) : nullptr;
    Status s = err ? ErrorStatus(err, "") : Status::InvalidArgument("no SQL statement given");
    duckdb_destroy_extracted(&extracted);
    return s;
  }
  for (idx_t i = 0; i < count; i++) {
    duckdb_prepared_statement stmt = nullptr;
    if (duckdb_prepare_extracted_statement(con_, extracted, i, &stmt) != DuckDBSuccess) {
      Status s = ErrorStatus(duckdb_prepare_error(stmt), "cannot prepare statement");
      duckdb_destroy_prepare(&stmt);
      duckdb_destroy_extracted(&extracted);
      return s;
    }
    bool last = i + 1 == count;
    auto result = RunPrepared(stmt, /*streaming=*/last);
    duckdb_destroy_prepare(&stmt);
    if (!result.ok()) {
      duckdb_destroy_extracted(&extracted);
      return result.status();
    }
    if (last) {
      duckdb_destroy_extracted(&extracted);
      return std::unique_ptr<QueryResult>(new QueryResult(*result));
    }
    duckdb_destroy_result(*result);
    delete *result;
  }
  duckdb_destroy_extracted(&extracted);
  return Status::Internal("unreachable");
}

Result<std::unique_ptr<QueryResult>> Connection::QueryMaterialized(const std::string& sql) {
  auto* result = new duckdb_result();
  if (duckdb_query(con_, sql.c_str(), result) != DuckDBSuccess) {
    Status s = ErrorStatus(duckdb_result_error(result), "query failed");
    duckdb_destroy_result(result);
    delete result;
    return s;
  }
  return std::unique_ptr<QueryResult>(new QueryResult(result));
}

Status Connection::Execute(const std::string& sql) {
  DEW_ASSIGN_OR_RETURN(auto result, QueryMaterialized(sql));
  return Status::OK();
}

Result<TextTable> Connection::QueryText(const std::string& sql) {
  DEW_ASSIGN_OR_RETURN(auto result, QueryMaterialized(sql));
  TextTable table;
  table.names = result->names();
  table.types = result->types();
  while (true) {
    DEW_ASSIGN_OR_RETURN(auto chunk, result->Fetch());
    if (!chunk) break;
    uint64_t n = chunk->size();
    std::vector<VectorView> cols;
    for (uint64_t c = 0; c < chunk->column_count(); c++) cols.push_back(chunk->column(c));
    for (uint64_t r = 0; r < n; r++) {
      std::vector<std::optional<std::string>> row;
      row.reserve(cols.size());
      for (const auto& col : cols) {
        if (col.IsNull(r)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(col.Format(r));
        }
      }
      table.rows.push_back(std::move(row));
    }
  }
  return table;
}

Result<TextTable> Connection::DescribeTable(const std::string& schema, const std::string& table) {
  duckdb_table_description description = nullptr;
  // Destroyed whether or not creation succeeded, as the C API requires.
  struct Destroyer {
    duckdb_table_description* d;
    ~Destroyer() { duckdb_table_description_destroy(d); }
  } destroyer{&description};
  if (duckdb_table_description_create_ext(con_, nullptr, schema.c_str(), table.c_str(),
                                          &description) != DuckDBSuccess) {
    const char* error =
        description != nullptr ? duckdb_table_description_error(description) : nullptr;
    return Status::NotFound("table " + schema + "." + table + ": " +
                            (error != nullptr ? std::string(error) : "cannot be described"));
  }
  TextTable out;
  const idx_t n = duckdb_table_description_get_column_count(description);
  for (idx_t i = 0; i < n; ++i) {
    char* name = duckdb_table_description_get_column_name(description, i);
    out.names.emplace_back(name != nullptr ? name : "");
    duckdb_free(name);
    duckdb_logical_type type = duckdb_table_description_get_column_type(description, i);
    out.types.push_back(internal::ReadLogicalType(type));
    duckdb_destroy_logical_type(&type);
  }
  return out;
}

Result<std::optional<std::string>> Connection::QueryScalar(const std::string& sql) {
  DEW_ASSIGN_OR_RETURN(auto table, QueryText(sql));
  if (table.rows.empty() || table.rows[0].empty()) {
    return Status::NotFound("query returned no rows: " + sql.substr(0, 200));
  }
  return table.rows[0][0];
}

Result<std::unique_ptr<PreparedStatement>> Connection::Prepare(const std::string& sql) {
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(con_, sql.c_str(), &stmt) != DuckDBSuccess) {
    Status s = ErrorStatus(duckdb_prepare_error(stmt), "cannot prepare statement");
    duckdb_destroy_prepare(&stmt);
    return s;
  }
  return std::unique_ptr<PreparedStatement>(new PreparedStatement(stmt));
}

Result<std::unique_ptr<Appender>> Connection::CreateAppender(const std::string& schema,
                                                             const std::string& table) {
  duckdb_appender app = nullptr;
  if (duckdb_appender_create_ext(con_, nullptr, schema.c_str(), table.c_str(), &app) !=
      DuckDBSuccess) {
    Status s = ErrorStatus(app ? duckdb_appender_error(app) : nullptr,
                           "cannot create appender for " + schema + "." + table);
    duckdb_appender_destroy(&app);
    return s;
  }
  return std::unique_ptr<Appender>(new Appender(app, schema + "." + table));
}

void Connection::Interrupt() {
  duckdb_interrupt(con_);
}

Status Connection::TrackProgress() {
  return Execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false;");
}

QueryProgress Connection::progress() {
  duckdb_query_progress_type p = duckdb_query_progress(con_);
  return QueryProgress{p.percentage, p.rows_processed, p.total_rows_to_process};
}

std::string SqlString(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string SqlIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace dew::engine
