#include "connectors/postgres_source.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "engine/connection.h"
#include "lake/delta_table.h"
#include "lake/lakehouse.h"
#include "lake/medallion.h"

namespace dew::connectors {
namespace {

using engine::SqlIdent;
using engine::SqlString;

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;
struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultCloser>;

std::string FirstLine(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool Contains(const std::string& haystack, const char* needle) {
  return haystack.find(needle) != std::string::npos;
}

// A PostgreSQL identifier, double-quoted.
std::string PgIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// How a column travels through the CSV file: most as text DuckDB parses with the lake type;
// arrays as JSON, bytea as hex, because DuckDB reads neither PostgreSQL format.
enum class Transport { kDirect, kArrayJson, kHex };

struct Column {
  ColumnInfo info;
  Transport transport = Transport::kDirect;
  std::string element_type;  // arrays: the element's lake type
};

// Columns of the relation, in attnum order, from the catalog.
constexpr const char* kColumnsSql =
    "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), "
    "       CASE WHEN t.typcategory = 'A' THEN et.typname ELSE t.typname END, "
    "       CASE WHEN t.typcategory = 'A' THEN format_type(t.typelem, a.atttypmod) "
    "            ELSE format_type(a.atttypid, a.atttypmod) END, "
    "       (t.typcategory = 'A')::text, (NOT a.attnotnull)::text "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
    "JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type et ON et.oid = t.typelem "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') "
    "  AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' "
    "  AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT') "
    "  AND ($1::text IS NULL OR (n.nspname = $1 AND c.relname = $2)) "
    "ORDER BY n.nspname, c.relname, a.attnum";

constexpr const char* kPrimaryKeysSql =
    "SELECT n.nspname, c.relname, a.attname "
    "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
    "WHERE i.indisprimary AND ($1::text IS NULL OR (n.nspname = $1 AND c.relname = $2)) "
    "ORDER BY n.nspname, c.relname, k.ord";

class Session {
 public:
  explicit Session(const PostgresConfig& config) : config_(config) {}

  std::string Where() const {
    return config_.host + ":" + std::to_string(config_.port) + "/" + config_.database + " as " +
           config_.user;
  }

  Status Connect(CheckProblem* problem) {
    const std::string port = std::to_string(config_.port);
    const std::string timeout = std::to_string(config_.connect_timeout_seconds);
    // UTC and ISO dates make timestamptz and date text unambiguous for DuckDB; extra float
    // digits keep float8 round-trips exact.
    const char* keys[] = {"host",     "port",
                          "dbname",   "user",
                          "password", "connect_timeout",
                          "options",  "application_name",
                          nullptr};
    const char* values[] = {config_.host.c_str(),
                            port.c_str(),
                            config_.database.c_str(),
                            config_.user.c_str(),
                            config_.password.c_str(),
                            timeout.c_str(),
                            "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3 "
                            "-c IntervalStyle=iso_8601",
                            "dew",
                            nullptr};
    conn_.reset(PQconnectdbParams(keys, values, 0));
    if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK) return Status::OK();
    const std::string error = FirstLine(conn_ ? PQerrorMessage(conn_.get()) : "out of memory");
    CheckProblem kind = CheckProblem::kUnreachable;
    std::string what = "cannot reach PostgreSQL at ";
    if (Contains(error, "password authentication failed") ||
        Contains(error, "authentication failed") || Contains(error, "no pg_hba.conf entry") ||
        Contains(error, "password") || Contains(error, "role \"")) {
      kind = CheckProblem::kAuthRefused;
      what = "PostgreSQL refused authentication at ";
    } else if (Contains(error, "database \"") && Contains(error, "does not exist")) {
      kind = CheckProblem::kMissingDatabase;
      what = "database does not exist at ";
    }
    if (problem) *problem = kind;
    Status s = Status::IOError(what + Where() + ": " + error);
    if (kind != CheckProblem::kUnreachable) s = Status::InvalidArgument(s.message());
    if (kind == CheckProblem::kMissingDatabase) s = Status::NotFound(s.message());
    return s;
  }

  Result<ResultPtr> Exec(const char* sql, const std::vector<const char*>& params) {
    ResultPtr r(PQexecParams(conn_.get(), sql, static_cast<int>(params.size()), nullptr,
                             params.data(), nullptr, nullptr, 0));
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      return Status::IOError("query on " + Where() +
                             " failed: " + FirstLine(PQerrorMessage(conn_.get())));
    }
    return r;
  }

  PGconn* conn() { return conn_.get(); }

 private:
  const PostgresConfig& config_;
  ConnPtr conn_;
};

std::pair<std::string, std::string> SplitStream(const std::string& stream,
                                                const std::string& default_schema) {
  size_t dot = stream.find('.');
  if (dot == std::string::npos) return {default_schema, stream};
  return {stream.substr(0, dot), stream.substr(dot + 1)};
}

std::string StreamName(const std::string& schema, const std::string& table,
                       const std::string& default_schema) {
  return schema == default_schema ? table : schema + "." + table;
}

// Describes the relations matching (schema, table), or every readable one when schema is null.
Result<std::vector<std::pair<StreamInfo, std::vector<Column>>>> Describe(
    Session& session, const PostgresConfig& config, const char* schema, const char* table) {
  DEW_ASSIGN_OR_RETURN(ResultPtr cols, session.Exec(kColumnsSql, {schema, table}));
  DEW_ASSIGN_OR_RETURN(ResultPtr keys, session.Exec(kPrimaryKeysSql, {schema, table}));
  std::vector<std::pair<StreamInfo, std::vector<Column>>> out;
  for (int i = 0; i < PQntuples(cols.get()); i++) {
    std::string name = StreamName(PQgetvalue(cols.get(), i, 0), PQgetvalue(cols.get(), i, 1),
                                  config.default_schema);
    if (out.empty() || out.back().first.name != name) {
      out.emplace_back();
      out.back().first.name = name;
      out.back().first.namespace_ = PQgetvalue(cols.get(), i, 0);
    }
    Column c;
    c.info.name = PQgetvalue(cols.get(), i, 2);
    const bool is_array = std::string(PQgetvalue(cols.get(), i, 6)) == "true";
    const std::string type_name = PQgetvalue(cols.get(), i, 4);
    const std::string element_formatted = PQgetvalue(cols.get(), i, 5);
    c.info.source_type = PQgetvalue(cols.get(), i, 3);
    c.info.lake_type = LakeTypeFor(type_name, element_formatted, is_array);
    c.info.nullable = std::string(PQgetvalue(cols.get(), i, 7)) == "true";
    if (is_array) {
      c.transport = Transport::kArrayJson;
      c.element_type = LakeTypeFor(type_name, element_formatted, false);
    } else if (type_name == "bytea") {
      c.transport = Transport::kHex;
    }
    out.back().first.columns.push_back(c.info);
    out.back().second.push_back(std::move(c));
  }
  for (int i = 0; i < PQntuples(keys.get()); i++) {
    std::string name = StreamName(PQgetvalue(keys.get(), i, 0), PQgetvalue(keys.get(), i, 1),
                                  config.default_schema);
    for (auto& [info, columns] : out) {
      if (info.name == name) info.primary_key.push_back(PQgetvalue(keys.get(), i, 2));
    }
  }
  return out;
}

}  // namespace

std::string LakeTypeFor(const std::string& type_name, const std::string& formatted, bool is_array) {
  if (is_array) {
    std::string element = LakeTypeFor(type_name, formatted, false);
    return element + "[]";
  }
  static const std::pair<const char*, const char*> kTypes[] = {
      {"int2", "SMALLINT"}, {"int4", "INTEGER"},        {"int8", "BIGINT"},
      {"float4", "FLOAT"},  {"float8", "DOUBLE"},       {"bool", "BOOLEAN"},
      {"date", "DATE"},     {"timestamp", "TIMESTAMP"}, {"timestamptz", "TIMESTAMPTZ"},
      {"uuid", "UUID"},     {"bytea", "BLOB"},          {"oid", "BIGINT"},
  };
  for (const auto& [pg, lake] : kTypes) {
    if (type_name == pg) return lake;
  }
  if (type_name == "numeric") {
    int precision = 0, scale = 0;
    // numeric(p,s) fits DuckDB's DECIMAL up to 38 digits; unconstrained or wider numerics keep
    // their exact text rather than lose digits in a DOUBLE.
    if (std::sscanf(formatted.c_str(), "numeric(%d,%d)", &precision, &scale) == 2 &&
        precision <= 38) {
      return "DECIMAL(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
    }
    return "VARCHAR";
  }
  // text, varchar, char, json, jsonb (as JSON text), time, interval, enums, …
  return "VARCHAR";
}

std::string PostgresSource::Describe() const {
  return config_.host + ":" + std::to_string(config_.port) + "/" + config_.database + " as " +
         config_.user;
}

nlohmann::json PostgresSource::Spec() const {
  return {
      {"type", "object"},
      {"required", {"host", "database", "user", "password"}},
      {"properties",
       {{"host", {{"type", "string"}}},
        {"port", {{"type", "integer"}, {"default", 5432}}},
        {"database", {{"type", "string"}}},
        {"user", {{"type", "string"}}},
        {"password", {{"type", "string"}, {"secret", true}}},
        {"default_schema", {{"type", "string"}, {"default", "public"}}}}},
  };
}

Status PostgresSource::Check(const std::vector<std::string>& streams, CheckProblem* problem) {
  CheckProblem local = CheckProblem::kNone;
  if (problem == nullptr) problem = &local;
  *problem = CheckProblem::kNone;
  Session session(config_);
  DEW_RETURN_IF_ERROR(session.Connect(problem));
  for (const std::string& stream : streams) {
    auto [schema, table] = SplitStream(stream, config_.default_schema);
    auto r = session.Exec(
        "SELECT has_schema_privilege(n.oid, 'USAGE')::text, "
        "       has_table_privilege(c.oid, 'SELECT')::text "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        {schema.c_str(), table.c_str()});
    if (!r.ok()) {
      *problem = CheckProblem::kOther;
      return r.status();
    }
    if (PQntuples(r->get()) == 0) {
      *problem = CheckProblem::kMissingTable;
      return Status::NotFound("table " + schema + "." + table + " does not exist at " + Describe());
    }
    if (std::string(PQgetvalue(r->get(), 0, 0)) != "true" ||
        std::string(PQgetvalue(r->get(), 0, 1)) != "true") {
      *problem = CheckProblem::kPermissionDenied;
      return Status::InvalidArgument("user " + config_.user + " may not SELECT from table " +
                                     schema + "." + table + " at " + Describe() +
                                     " (GRANT SELECT and schema USAGE to it)");
    }
  }
  return Status::OK();
}

Result<std::vector<StreamInfo>> PostgresSource::Discover() {
  Session session(config_);
  DEW_RETURN_IF_ERROR(session.Connect(nullptr));
  DEW_ASSIGN_OR_RETURN(auto described, connectors::Describe(session, config_, nullptr, nullptr));
  std::vector<StreamInfo> out;
  for (auto& [info, columns] : described) out.push_back(std::move(info));
  return out;
}

Result<ReadResult> PostgresSource::Read(const StreamRequest& stream, const nlohmann::json& state,
                                        lake::Lakehouse* lake) {
  (void)state;  // a full refresh reads everything whatever the previous state
  if (stream.sync_mode != "full_refresh") {
    return Status::NotSupported("sync_mode " + stream.sync_mode + " of stream " + stream.name +
                                " is not supported yet (full_refresh only)");
  }
  Session session(config_);
  DEW_RETURN_IF_ERROR(session.Connect(nullptr));
  auto [schema, table] = SplitStream(stream.name, config_.default_schema);
  DEW_ASSIGN_OR_RETURN(auto described,
                       connectors::Describe(session, config_, schema.c_str(), table.c_str()));
  if (described.empty()) {
    return Status::NotFound("table " + schema + "." + table +
                            " does not exist or is not readable at " + Describe());
  }
  std::vector<Column> columns;
  for (auto& c : described.front().second) {
    if (stream.columns.empty() || std::find(stream.columns.begin(), stream.columns.end(),
                                            c.info.name) != stream.columns.end()) {
      columns.push_back(c);
    }
  }
  if (columns.empty()) {
    return Status::InvalidArgument("stream " + stream.name + " selects no existing column");
  }

  // COPY in PostgreSQL, CSV text in between, typed SELECT in DuckDB.
  std::string pg_select, csv_columns, lake_select;
  for (size_t i = 0; i < columns.size(); i++) {
    const Column& c = columns[i];
    const std::string pq = PgIdent(c.info.name);
    const std::string lq = SqlIdent(c.info.name);
    const std::string sep = i ? ", " : "";
    std::string csv_type = c.info.lake_type;
    switch (c.transport) {
      case Transport::kArrayJson:
        pg_select += sep + "array_to_json(" + pq + ")::text";
        csv_type = "VARCHAR";
        lake_select += sep + "CAST(from_json(" + lq + ", " +
                       SqlString("[\"" + c.element_type + "\"]") + ") AS " + c.info.lake_type +
                       ") AS " + lq;
        break;
      case Transport::kHex:
        pg_select += sep + "encode(" + pq + ", 'hex')";
        csv_type = "VARCHAR";
        lake_select += sep + "unhex(" + lq + ") AS " + lq;
        break;
      case Transport::kDirect:
        pg_select += sep + pq + (c.info.lake_type == "BOOLEAN" ? "::text" : "");
        lake_select += sep + lq;
        break;
    }
    csv_columns += sep + SqlString(c.info.name) + ": " + SqlString(csv_type);
    pg_select += " AS " + pq;
  }
  const std::string copy = "COPY (SELECT " + pg_select + " FROM " + PgIdent(schema) + "." +
                           PgIdent(table) + ") TO STDOUT (FORMAT csv, HEADER)";

  std::string tmpl = config_.temp_dir + "/dew_pg_copy_XXXXXX";
  int fd = mkstemp(tmpl.data());
  if (fd < 0) return Status::IOError("cannot create a temp file in " + config_.temp_dir);
  struct Remover {
    std::string path;
    ~Remover() { unlink(path.c_str()); }
  } remover{tmpl};
  std::FILE* out = fdopen(fd, "wb");
  ResultPtr started(PQexec(session.conn(), copy.c_str()));
  if (!started || PQresultStatus(started.get()) != PGRES_COPY_OUT) {
    std::fclose(out);
    return Status::IOError("COPY of " + schema + "." + table + " at " + Describe() +
                           " failed: " + FirstLine(PQerrorMessage(session.conn())));
  }
  ReadResult result;
  bool write_failed = false;
  for (;;) {
    char* buffer = nullptr;
    int n = PQgetCopyData(session.conn(), &buffer, 0);
    if (n < 0) break;
    result.bytes_read += n;
    if (std::fwrite(buffer, 1, static_cast<size_t>(n), out) != static_cast<size_t>(n)) {
      write_failed = true;
    }
    PQfreemem(buffer);
  }
  const bool closed = std::fclose(out) == 0;
  ResultPtr finished(PQgetResult(session.conn()));
  if (!finished || PQresultStatus(finished.get()) != PGRES_COMMAND_OK) {
    return Status::IOError("COPY of " + schema + "." + table + " at " + Describe() +
                           " failed: " + FirstLine(PQerrorMessage(session.conn())));
  }
  while (PGresult* rest = PQgetResult(session.conn())) PQclear(rest);
  if (write_failed || !closed) return Status::IOError("cannot write COPY output to " + tmpl);

  // Lineage, as FileLoader lands files.
  std::string stream_part = stream.name;
  for (char& ch : stream_part) {
    if (ch == '.') ch = '_';
  }
  DEW_ASSIGN_OR_RETURN(lake::TableName bronze,
                       lake::ParseTableName("bronze.raw_" + config_.source + "_" + stream_part));
  const int64_t now = lake->clock().NowMillis();
  const std::string ts = lake::FormatTimestampMillis(now);
  const std::string cursor = stream.cursor_field.empty()
                                 ? "CAST(NULL AS VARCHAR)"
                                 : "CAST(" + SqlIdent(stream.cursor_field) + " AS VARCHAR)";
  const std::string reader = "read_csv(" + SqlString(tmpl) +
                             ", header=true, delim=',', quote='\"', escape='\"', "
                             "auto_detect=false, allow_quoted_nulls=false, columns={" +
                             csv_columns + "})";
  const std::string select = "SELECT " + lake_select + ", CAST(" + SqlString(ts + "+00") +
                             " AS TIMESTAMPTZ) AS _emitted_at, " + SqlString(config_.source) +
                             " AS _source, " + SqlString(stream.name) + " AS _stream, " + cursor +
                             " AS _cursor, CAST(" + SqlString(ts.substr(0, 10)) +
                             " AS DATE) AS _ingest_date, " + SqlString(lake->run_id()) +
                             " AS _run_id FROM " + reader;
  lake::WriteOptions w = lake->NewWriteOptions();
  w.parameters["source"] = config_.source;
  w.parameters["stream"] = stream.name;
  w.parameters["mode"] = "full_refresh";
  w.constant_partitions["_ingest_date"] = ts.substr(0, 10);
  Result<lake::CommitResult> commit = Status::Internal("no write");
  if (lake->Exists(bronze)) {
    DEW_ASSIGN_OR_RETURN(auto delta, lake->OpenTable(bronze));
    commit = delta->Append(select, w);
  } else {
    commit = lake->CreateTableAs(bronze, select, {"_ingest_date"}, w);
  }
  if (!commit.ok()) {
    return commit.status().WithContext("landing " + schema + "." + table + " from " + Describe() +
                                       " in " + bronze.ToString());
  }
  DEW_RETURN_IF_ERROR(lake->RefreshView(bronze));
  result.table = bronze.ToString();
  result.rows = commit->rows_added;
  result.state = {{"sync_mode", "full_refresh"},
                  {"last_run_id", lake->run_id()},
                  {"emitted_at", ts},
                  {"rows", result.rows}};
  return result;
}

}  // namespace dew::connectors
