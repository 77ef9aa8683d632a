#include "connectors/postgres_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>

#include "connectors/bronze_landing.h"
#include "connectors/key_digest.h"
#include "connectors/postgres_deletion_counters.h"
#include "connectors/postgres_replication_slot.h"
#include "connectors/silver_table.h"
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

  // Exec in two halves, so that the caller works while PostgreSQL runs the query: Send
  // returns once the query is sent, Receive waits for its rows.
  Status Send(const std::string& sql) {
    if (PQsendQueryParams(conn_.get(), sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) !=
        1) {
      return Status::IOError("query on " + Where() +
                             " failed: " + FirstLine(PQerrorMessage(conn_.get())));
    }
    return Status::OK();
  }
  Result<ResultPtr> Receive() {
    ResultPtr r(PQgetResult(conn_.get()));
    while (PGresult* rest = PQgetResult(conn_.get())) PQclear(rest);
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      return Status::IOError("query on " + Where() +
                             " failed: " + FirstLine(PQerrorMessage(conn_.get())));
    }
    return r;
  }

  // A statement without rows (BEGIN, COMMIT, SET).
  Status Command(const char* sql) {
    ResultPtr r(PQexec(conn_.get(), sql));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      return Status::IOError(std::string(sql) + " on " + Where() +
                             " failed: " + FirstLine(PQerrorMessage(conn_.get())));
    }
    return Status::OK();
  }

  // Asks the server to stop the query in progress (if any); the connection stays usable.
  void Cancel() {
    if (!conn_) return;
    if (PGcancel* cancel = PQgetCancel(conn_.get())) {
      char error[256];
      (void)PQcancel(cancel, error, sizeof(error));
      PQfreeCancel(cancel);
    }
  }

  PGconn* conn() { return conn_.get(); }
  //! Hands the connection over (it is no longer this session's to close).
  PGconn* Release() { return conn_.release(); }
  //! Takes over a connection opened with the same configuration.
  void Adopt(PGconn* conn) { conn_.reset(conn); }

 private:
  const PostgresConfig& config_;
  ConnPtr conn_;
};

// The text of a result's only row, NULL as nullopt; empty without exactly one row.
std::vector<std::optional<std::string>> OnlyRow(PGresult* r) {
  std::vector<std::optional<std::string>> values;
  for (int i = 0; PQntuples(r) == 1 && i < PQnfields(r); i++) {
    values.emplace_back(PQgetisnull(r, 0, i) ? std::nullopt
                                             : std::optional<std::string>(PQgetvalue(r, 0, i)));
  }
  return values;
}

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

Result<std::vector<std::string>> PostgresSource::Advise(const std::vector<StreamRequest>& streams) {
  std::vector<std::string> advice;
  Session session(config_);
  for (const StreamRequest& stream : streams) {
    if (stream.sync_mode != "incremental" || stream.cursor_field.empty()) continue;
    if (session.conn() == nullptr) DEW_RETURN_IF_ERROR(session.Connect(nullptr));
    auto [schema, table] = SplitStream(stream.name, config_.default_schema);
    if (stream.detect_deletes && !stream.deletes_by_replication &&
        !stream.deletes_always_compared) {
      const std::string relation = PgIdent(schema) + "." + PgIdent(table);
      DEW_ASSIGN_OR_RETURN(ResultPtr row,
                           session.Exec(PostgresDeletionCounters::kSql, {relation.c_str()}));
      const auto counters = PostgresDeletionCounters::FromRow(OnlyRow(row.get()));
      if (PQntuples(row.get()) == 1 && !counters.distrust.empty()) {
        advice.push_back("stream " + stream.name + ": the deleted-keys check reads every key of " +
                         schema + "." + table +
                         " on every sync: PostgreSQL's statistics cannot tell whether rows "
                         "were deleted (" +
                         counters.distrust + ")");
      }
    }
    // Missing tables and views are left to Check; an index helps when it leads with the cursor.
    DEW_ASSIGN_OR_RETURN(
        ResultPtr r,
        session.Exec(
            "SELECT count(i.indexrelid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisvalid AND i.indpred IS NULL "
            "  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid "
            "              AND a.attnum = i.indkey[0] AND a.attname = $3) "
            "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'm') "
            "GROUP BY c.oid",
            {schema.c_str(), table.c_str(), stream.cursor_field.c_str()}));
    if (PQntuples(r.get()) != 1 || std::string(PQgetvalue(r.get(), 0, 0)) != "0") continue;
    std::string columns = PgIdent(stream.cursor_field);
    for (const std::string& k : stream.primary_key) columns += ", " + PgIdent(k);
    advice.push_back("stream " + stream.name + ": cursor column " + stream.cursor_field + " of " +
                     schema + "." + table +
                     " has no index, so every incremental sync reads the whole table to find "
                     "the changed rows; create one: CREATE INDEX ON " +
                     PgIdent(schema) + "." + PgIdent(table) + " (" + columns + ")");
  }
  return advice;
}

namespace {

// PostgreSQL string literal (standard_conforming_strings is on since 9.1).
std::string PgString(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// The first `n` fields of one row of PostgreSQL's COPY csv output: fields quoted with '"' and
// quotes doubled; an unquoted empty field is NULL.
std::vector<std::optional<std::string>> CsvFields(const char* data, int len, size_t n) {
  std::vector<std::optional<std::string>> out;
  int i = 0;
  while (out.size() < n && i <= len) {
    if (i < len && data[i] == '"') {
      std::string v;
      ++i;
      while (i < len) {
        if (data[i] == '"') {
          if (i + 1 < len && data[i + 1] == '"') {
            v += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        v += data[i++];
      }
      out.emplace_back(std::move(v));
    } else {
      int start = i;
      while (i < len && data[i] != ',' && data[i] != '\n' && data[i] != '\r') ++i;
      if (i == start) {
        out.emplace_back(std::nullopt);
      } else {
        out.emplace_back(std::string(data + start, static_cast<size_t>(i - start)));
      }
    }
    ++i;  // the ',' (or the end)
  }
  return out;
}

// The COPY output of a sync in progress lies in `dir` as files or folders named
// kCopyOutputPrefix + a random suffix, each under an exclusive flock held by the process that
// made it (LockCopyOutput) until it removes it. A kill leaves them behind; the next sync in the
// same folder removes those no process holds (RemoveAbandonedCopyOutput).
constexpr const char* kCopyOutputPrefix = "dew_pg_copy_";
// Spares copy output younger than this: its maker locks it right after making it.
constexpr int64_t kCopyOutputGraceMillis = 60 * 1000;

// Locks `path` (a file or folder) for as long as the returned descriptor stays open; -1 when
// it cannot be opened or locked.
int LockCopyOutput(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Removes the copy output in `dir` that a killed sync left: entries named kCopyOutputPrefix…,
// older than the grace period, that no live process holds locked (the lock dies with its
// process). A folder is a CopyPipe's: its FIFO goes first. Best effort: what cannot be removed
// (another user's, say) stays.
void RemoveAbandonedCopyOutput(const std::string& dir, int64_t now_millis) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  const size_t prefix = std::strlen(kCopyOutputPrefix);
  while (const dirent* e = readdir(d)) {
    if (std::strncmp(e->d_name, kCopyOutputPrefix, prefix) != 0) continue;
    const std::string path = dir + "/" + e->d_name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;
    const int64_t mtime_millis =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    if (now_millis - mtime_millis < kCopyOutputGraceMillis) continue;
    const int lock = LockCopyOutput(path);
    if (lock < 0) continue;  // a live sync's
    if (S_ISDIR(st.st_mode)) {
      (void)unlink((path + "/copy.csv").c_str());
      (void)rmdir(path.c_str());
    } else {
      (void)unlink(path.c_str());
    }
    close(lock);
  }
  closedir(d);
}

// A temp CSV file one chunk of COPY output is written to; removed on destruction.
class ChunkFile {
 public:
  ~ChunkFile() { Close(); }
  Status Open(const std::string& dir, const std::string& header) {
    Close();
    path_ = dir + "/" + kCopyOutputPrefix + "XXXXXX";
    int fd = mkstemp(path_.data());
    if (fd < 0) {
      path_.clear();
      return Status::IOError("cannot create a temp file in " + dir);
    }
    // A descriptor of its own holds the lock after fclose, while DuckDB reads the file.
    lock_ = dup(fd);
    if (lock_ < 0 || flock(lock_, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      Close();
      return Status::IOError("cannot lock a temp file in " + dir);
    }
    file_ = fdopen(fd, "wb");
    if (file_ == nullptr) {
      close(fd);
      unlink(path_.c_str());
      path_.clear();
      return Status::IOError("cannot open a temp file in " + dir);
    }
    // COPY hands over one row at a time: a large buffer writes the file in 1 MiB system calls
    // rather than 4 KiB ones (175,000 of them for 700 MB).
    // (glibc ignores the size unless given the buffer.)
    if (!buffer_) buffer_ = std::make_unique<char[]>(kBufferBytes);
    std::setvbuf(file_, buffer_.get(), _IOFBF, kBufferBytes);
    rows_ = 0;
    failed_ = false;
    return Write(header.data(), static_cast<int>(header.size()), false);
  }
  Status Write(const char* data, int n, bool row = true) {
    if (std::fwrite(data, 1, static_cast<size_t>(n), file_) != static_cast<size_t>(n)) {
      failed_ = true;
    }
    if (row) ++rows_;
    return Status::OK();
  }
  // Flushes the file for reading; the path stays until Close.
  Status Finish() {
    if (file_ == nullptr) return Status::IOError("chunk file " + path_ + " is not open");
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (failed_ || !closed) return Status::IOError("cannot write COPY output to " + path_);
    return Status::OK();
  }
  void Close() {
    if (file_) std::fclose(file_);
    file_ = nullptr;
    if (!path_.empty()) unlink(path_.c_str());
    path_.clear();
    if (lock_ >= 0) close(lock_);
    lock_ = -1;
  }
  bool open() const { return !path_.empty(); }
  int64_t rows() const { return rows_; }
  const std::string& path() const { return path_; }

 private:
  static constexpr size_t kBufferBytes = 1 << 20;
  std::string path_;
  std::unique_ptr<char[]> buffer_;  // the stdio buffer of file_; outlives it
  std::FILE* file_ = nullptr;
  int lock_ = -1;  // holds the flock that tells a live chunk from a killed sync's
  int64_t rows_ = 0;
  bool failed_ = false;
};

// Sends `copy` (a COPY … TO STDOUT); its rows then come from PQgetCopyData.
Status StartCopy(Session& session, const std::string& copy, const std::string& what) {
  ResultPtr started(PQexec(session.conn(), copy.c_str()));
  if (!started || PQresultStatus(started.get()) != PGRES_COPY_OUT) {
    return Status::IOError("COPY of " + what + " at " + session.Where() +
                           " failed: " + FirstLine(PQerrorMessage(session.conn())));
  }
  return Status::OK();
}

// After PQgetCopyData returned -1 or -2: whether the COPY ended well.
Status FinishCopy(Session& session, const std::string& what) {
  ResultPtr finished(PQgetResult(session.conn()));
  if (!finished || PQresultStatus(finished.get()) != PGRES_COMMAND_OK) {
    return Status::IOError("COPY of " + what + " at " + session.Where() +
                           " failed: " + FirstLine(PQerrorMessage(session.conn())));
  }
  while (PGresult* rest = PQgetResult(session.conn())) PQclear(rest);
  return Status::OK();
}

// The COPY output handed to DuckDB through a FIFO as it arrives, up to `max_rows` rows:
// PostgreSQL formats rows on one core while DuckDB parses them on another, where a temp file made
// them take turns. A thread of its own moves the rows from libpq into the FIFO while the caller's
// thread runs DuckDB's read of it (`path()`), one read of one open. A full refresh puts every row
// through; an incremental read one chunk per pipe (each committed, once written, with the state
// of its last row), the COPY going on in the next pipe.
//
// A COPY that fails must fail DuckDB's read, never end it early (a short full refresh would
// mark the missing keys deleted in silver; a short chunk would commit a state past rows it
// lacks): the pipe then ends inside an unterminated quoted value, after whole rows, which
// DuckDB's strict CSV reader refuses. Only whole rows up to `max_rows`, or a COPY that
// PostgreSQL reports complete, end the pipe cleanly.
class CopyPipe {
 public:
  //! What the thread put through the FIFO.
  struct Chunk {
    int64_t rows = 0;
    std::string last_row;     // the last data row as COPY sent it; empty without rows
    bool copy_ended = false;  // the COPY is over; otherwise the caller reads on after Finish
  };

  ~CopyPipe() { (void)Finish(); }

  // A FIFO in a new private folder under `dir`, locked while this object lives.
  Status Create(const std::string& dir) {
    std::string folder = dir + "/" + kCopyOutputPrefix + "XXXXXX";
    if (mkdtemp(folder.data()) == nullptr) {
      return Status::IOError("cannot create a temp folder in " + dir);
    }
    folder_ = folder;
    lock_ = LockCopyOutput(folder);
    if (lock_ < 0) {
      Remove();
      return Status::IOError("cannot lock a temp folder in " + dir);
    }
    path_ = folder + "/copy.csv";
    if (mkfifo(path_.c_str(), 0600) != 0) {
      const std::string error = std::strerror(errno);
      Remove();
      return Status::IOError("cannot create a FIFO in " + dir + ": " + error);
    }
    return Status::OK();
  }
  const std::string& path() const { return path_; }

  // Moves the header and up to `max_rows` rows of the session's started COPY (StartCopy) into
  // the FIFO, on a thread of its own: the session is the thread's until Finish. `header`, for a
  // COPY that goes on after an earlier pipe's rows: the header that pipe read, written first
  // (the COPY sends it once), so every pipe reads as a whole CSV file.
  void Start(Session* session, const std::string& what,
             int64_t max_rows = std::numeric_limits<int64_t>::max(), std::string header = {}) {
    max_rows_ = max_rows;
    header_ = std::move(header);
    thread_ = std::thread([this, session, what] { status_ = Run(*session, what); });
  }

  // Waits for the thread and returns how the COPY ended. Called once DuckDB's read is over (or
  // never began): the thread then stops waiting for a reader or for room in the FIFO.
  Status Finish() {
    if (thread_.joinable()) {
      done_reading_ = true;
      thread_.join();
    }
    Remove();
    return status_;
  }
  //! After Finish: what went through when the thread ended it cleanly.
  const Chunk& chunk() const { return chunk_; }
  //! The COPY's header line (with its newline), once the thread has read it.
  const std::string& header() const { return header_; }
  int64_t bytes() const { return bytes_; }
  //! Whether PostgreSQL ended the COPY with an error (rather than DuckDB ending its read).
  bool source_failed() const { return source_failed_; }

 private:
  // Opens the FIFO for writing once DuckDB's read has opened it; -1 when the read is over.
  int OpenForWriting() {
    // Non-blocking, so that the thread never waits on a reader that is gone or never came.
    int fd = -1;
    while ((fd = open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0 && errno == ENXIO &&
           !done_reading_) {
      usleep(1000);  // no reader yet: DuckDB opens it when its read starts
    }
    if (fd < 0) return -1;
      // A pipe of 1 MiB (Linux's default limit for unprivileged users) rather than 64 KiB: fewer
      // wake-ups of either side, and DuckDB's reads return more bytes each. Best effort.
#ifdef F_SETPIPE_SZ
    (void)fcntl(fd, F_SETPIPE_SZ, kPipeBytes);
#endif
    return fd;
  }

  Status Run(Session& session, const std::string& what) {
    // A reader that stops early (DuckDB failing on a value) makes writes fail with EPIPE; the
    // SIGPIPE they raise stays pending on this thread and ends with it.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    const int fd = OpenForWriting();
    if (fd < 0) return Status::IOError("DuckDB did not read the COPY output in " + path_);
    std::string buffer;
    buffer.reserve(kBufferBytes + 65536);
    Chunk chunk;
    Status status;
    bool header = header_.empty();
    buffer.append(header_);
    while (chunk.rows < max_rows_) {
      char* line = nullptr;
      const int n = PQgetCopyData(session.conn(), &line, 0);
      if (n < 0) {
        chunk.copy_ended = true;
        break;
      }
      if (header) {
        header_.assign(line, static_cast<size_t>(n));
        header = false;
      } else {
        chunk.last_row.assign(line, static_cast<size_t>(n));
        ++chunk.rows;
      }
      buffer.append(line, static_cast<size_t>(n));
      PQfreemem(line);
      bytes_ += n;
      if (buffer.size() >= kBufferBytes) {
        status = WriteAll(fd, buffer);
        buffer.clear();
        if (!status.ok()) break;
      }
    }
    if (status.ok() && chunk.copy_ended) {
      status = FinishCopy(session, what);
      source_failed_ = !status.ok();
    }
    if (status.ok()) {
      status = WriteAll(fd, buffer);
    } else {
      // After the whole rows written so far, a line that opens a quote and never closes it.
      (void)WriteAll(fd, "\"");
    }
    close(fd);
    if (status.ok()) chunk_ = std::move(chunk);
    return status;
  }

  // Waits while the FIFO is full, up to the end of DuckDB's read.
  Status WriteAll(int fd, std::string_view data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t w = write(fd, data.data() + done, data.size() - done);
      if (w >= 0) {
        done += static_cast<size_t>(w);
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN || done_reading_) {
        return Status::IOError("DuckDB stopped reading the COPY output in " + path_);
      }
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 100);
    }
    return Status::OK();
  }

  void Remove() {
    if (!path_.empty()) unlink(path_.c_str());
    if (!folder_.empty()) rmdir(folder_.c_str());
    path_.clear();
    folder_.clear();
    if (lock_ >= 0) close(lock_);
    lock_ = -1;
  }

  static constexpr size_t kBufferBytes = 1 << 18;
  static constexpr int kPipeBytes = 1 << 20;
  std::string folder_, path_;
  int lock_ = -1;  // holds the folder's flock (LockCopyOutput)
  std::thread thread_;
  int64_t max_rows_ = std::numeric_limits<int64_t>::max();
  std::atomic<bool> done_reading_{false};
  Chunk chunk_;
  std::string header_;
  Status status_;
  bool source_failed_ = false;
  int64_t bytes_ = 0;
};

// Rows per Parquet row group of the chunk that streams into bronze as PostgreSQL sends it (an
// incremental read's first): DuckDB encodes a row group once it is full, so with small ones it
// does so while the next rows arrive, and only the last is left after PostgreSQL's last row.
constexpr int64_t kStreamedRowGroupRows = 16384;

// Rows per chunk of an incremental read when the stream does not say (`chunk_rows`).
constexpr int64_t kChunkRows = 500000;

// Reads the rest of a started COPY, calling `row` with each row (`header` with the first when
// `with_header`) until PostgreSQL reports the COPY complete.
Status ReceiveCopy(Session& session, const std::string& what, bool with_header,
                   const std::function<Status(const std::string&)>& header,
                   const std::function<Status(const char*, int)>& row, int64_t* bytes) {
  bool first = with_header;
  Status failed;
  for (;;) {
    char* buffer = nullptr;
    int n = PQgetCopyData(session.conn(), &buffer, 0);
    if (n < 0) break;
    *bytes += n;
    failed = first ? header(std::string(buffer, static_cast<size_t>(n))) : row(buffer, n);
    first = false;
    PQfreemem(buffer);
    // On a landing failure the caller closes the connection, which ends the COPY on the server.
    if (!failed.ok()) return failed;
  }
  DEW_RETURN_IF_ERROR(FinishCopy(session, what));
  return failed;
}

// Runs `copy` (a COPY … TO STDOUT (FORMAT csv, HEADER)) and calls `row` with each data row after
// `header` with the header line.
Status StreamCopy(Session& session, const std::string& copy, const std::string& what,
                  const std::function<Status(const std::string&)>& header,
                  const std::function<Status(const char*, int)>& row, int64_t* bytes) {
  DEW_RETURN_IF_ERROR(StartCopy(session, copy, what));
  return ReceiveCopy(session, what, true, header, row, bytes);
}

// DuckDB's read_csv of PostgreSQL's COPY csv output. `pipe`: the path is a FIFO (CopyPipe),
// read once from start to end; DuckDB's default 32 MiB read buffers then come fresh from the
// allocator for every buffer, and their first touch (page faults) cost a quarter of DuckDB's
// time in the full refresh's profile. 4 MiB buffers are reused, and still hold DuckDB's
// default longest line (2 MiB), which a buffer must.
std::string CsvReader(const std::string& path, const std::string& csv_columns, bool header,
                      bool pipe = false) {
  return "read_csv(" + SqlString(path) + ", header=" + (header ? "true" : "false") +
         ", delim=',', quote='\"', escape='\"', auto_detect=false, allow_quoted_nulls=false, "
         "strict_mode=true, " +
         (pipe ? "buffer_size=4194304, " : "") + "columns={" + csv_columns + "})";
}

const Column* FindColumn(const std::vector<Column>& columns, const std::string& name) {
  for (const auto& c : columns) {
    if (c.info.name == name) return &c;
  }
  return nullptr;
}

// Copies the source's keys (rows matching `where`) and leaves in the temp table
// `_dew_deleted_keys` the rows of `lake_keys` (a query of the key columns) the source lacks.
Status CopyKeysAndCompare(Session& session, const std::string& schema, const std::string& table,
                          const std::string& pg_keys, const std::string& csv_columns,
                          const std::string& key_list, const std::vector<std::string>& where,
                          const std::string& lake_keys, engine::Connection& con,
                          const std::string& temp_dir, int64_t* copied) {
  std::string where_sql;
  for (size_t i = 0; i < where.size(); i++) where_sql += (i ? " AND " : " WHERE ") + where[i];
  const std::string copy = "COPY (SELECT " + pg_keys + " FROM " + PgIdent(schema) + "." +
                           PgIdent(table) + where_sql + ") TO STDOUT (FORMAT csv, HEADER)";
  ChunkFile file;
  int64_t bytes = 0;
  DEW_RETURN_IF_ERROR(StreamCopy(
      session, copy, "the keys of " + schema + "." + table,
      [&](const std::string& header) { return file.Open(temp_dir, header); },
      [&](const char* data, int n) { return file.Write(data, n); }, &bytes));
  DEW_RETURN_IF_ERROR(file.Finish());
  *copied += file.rows();
  return con.Execute("CREATE OR REPLACE TEMP TABLE _dew_deleted_keys AS " + lake_keys +
                     " EXCEPT SELECT " + key_list + " FROM " +
                     CsvReader(file.path(), csv_columns, true));
}

// Keys per bucket when live keys are compared by bucket (LandDeletes): the widest, with few keys
// gone, and the narrowest, with many. Powers of two up to 4096 (BucketDigestSql).
constexpr int64_t kMaxKeyBucketWidth = 4096;
constexpr int64_t kMinKeyBucketWidth = 64;

// At most this many runs of adjacent differing buckets have their keys copied by index ranges.
constexpr size_t kMaxIndexedKeyRanges = 32;

// The bucket width for `gone` keys lost over `range` keys: a power of two with about four
// buckets per lost key, so that nearly every bucket that differs lost one or two keys, which
// its digest names (KeyDigest::MissingKeys).
int64_t KeyBucketWidth(int64_t gone, int64_t range) {
  int64_t width = kMaxKeyBucketWidth;
  while (width > kMinKeyBucketWidth && range / width < 4 * gone) width /= 2;
  return width;
}

// A key's bucket, floor(key / width), for a power of two `width`, alike in PostgreSQL and
// DuckDB (an arithmetic shift of a BIGINT expression `key`; both are two's complement).
std::string BucketOf(const std::string& key, int64_t width) {
  int shift = 0;
  while ((int64_t{1} << shift) < width) ++shift;
  return "(" + key + " >> " + std::to_string(shift) + ")";
}

// The select items of a bucket and the KeyDigest of its keys' offsets in it (key & (width - 1),
// below 4096: the squares need no reduction and all sums are of INTEGERs, which PostgreSQL adds
// far faster than the BIGINT sums of a whole-table digest), alike in both engines.
std::string BucketDigestSql(const std::string& key, int64_t width) {
  const std::string offset = "CAST((" + key + " & " + std::to_string(width - 1) + ") AS INTEGER)";
  return BucketOf(key, width) + ", count(*), sum(" + offset + "), sum(" + offset + " * " + offset +
         ")";
}

// Whether the key is a single integer column, whose digest also sums the keys and their squares.
bool IntegerKey(const std::vector<const Column*>& keys) {
  if (keys.size() != 1) return false;
  const std::string& type = keys.front()->info.lake_type;
  return type == "SMALLINT" || type == "INTEGER" || type == "BIGINT";
}

// count, sum and sum of (reduced) squares of `key` (a BIGINT expression), as SQL select items.
std::string KeyDigestSql(const std::string& key) {
  return KeyDigest::SelectSql(key, /*sums=*/true);
}

// The source's half of the deleted-keys check's first step: the digest of the table's live
// keys, computed on a second connection in the read's own snapshot (exported by the read's
// REPEATABLE READ transaction and imported here), so that PostgreSQL scans the table while the
// read's chunks are copied and landed instead of after them. When no second connection can be
// had (a role's CONNECTION LIMIT, a full server), the read's own connection computes it once
// its chunks are in, in the same snapshot.
class SourceDigest {
 public:
  // The digest is one plain aggregate over every row: compiling it (once per parallel worker)
  // cost more than it saved (5M rows: 2.2-2.9 s with JIT, 1.6-2.4 s without). And a
  // sequential scan reads only the key's column of each row, while PostgreSQL 15 would
  // otherwise plan an index-only scan of the primary key, which after an update and before
  // autovacuum fetches nearly every heap page again (5M rows, 1% updated: 3.0-3.6 s against
  // 1.1-1.2 s).
  static constexpr const char* kDigestSettings =
      "SET LOCAL jit = off; SET LOCAL enable_indexonlyscan = off; "
      "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off";

  explicit SourceDigest(const PostgresConfig& config) : session_(config) {}
  ~SourceDigest() {
    // A digest nobody waits for (the read failed, or had nothing to compare) is not left
    // running on the server.
    if (pending_) session_.Cancel();
  }

  // Starts `sql` in the snapshot of `read`, which must be inside a REPEATABLE READ
  // transaction and stay in it until Finish.
  Status Start(Session& read, const std::string& sql) {
    read_ = &read;
    sql_ = sql;
    DEW_ASSIGN_OR_RETURN(ResultPtr exported, read.Exec("SELECT pg_export_snapshot()", {}));
    if (PQntuples(exported.get()) != 1) {
      return Status::Corruption("pg_export_snapshot() on " + read.Where() + " returned no row");
    }
    const std::string import =
        "SET TRANSACTION SNAPSHOT " + PgString(PQgetvalue(exported.get(), 0, 0));
    Status started = session_.Connect(nullptr);
    if (started.ok())
      started = session_.Command("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    if (started.ok()) started = session_.Command(import.c_str());
    if (started.ok()) started = session_.Command(kDigestSettings);
    if (started.ok()) started = session_.Send(sql);
    pending_ = started.ok();
    return Status::OK();
  }
  // Waits for the digest's one row (or, without a second connection, computes it on the
  // read's connection, which must be idle).
  Result<ResultPtr> Finish() {
    if (!pending_) {
      // The read's chunks are in: what follows on its connection are the digest and the key
      // copies, whole-table scans that want the same plan.
      DEW_RETURN_IF_ERROR(read_->Command(kDigestSettings));
      return read_->Exec(sql_.c_str(), {});
    }
    pending_ = false;
    return session_.Receive();
  }

 private:
  Session session_;
  Session* read_ = nullptr;
  std::string sql_;
  bool pending_ = false;
};

// The digest of the source's live keys (rows matching `where`), as one SELECT.
std::string SourceDigestSql(const std::string& schema, const std::string& table,
                            const std::vector<const Column*>& keys,
                            const std::vector<std::string>& where) {
  std::string where_sql;
  for (size_t i = 0; i < where.size(); i++) where_sql += (i ? " AND " : " WHERE ") + where[i];
  const bool integer_key = IntegerKey(keys);
  // For an integer key also the key range, which chooses how differing keys are compared.
  const std::string pk = PgIdent(keys.front()->info.name) + "::int8";
  return "SELECT " +
         (integer_key ? KeyDigestSql(pk) + ", min(" + pk + "), max(" + pk + ")"
                      : std::string("count(*)")) +
         " FROM " + PgIdent(schema) + "." + PgIdent(table) + where_sql;
}

// The keys live in the lake (their newest row not a deletion), as a query over one column
// `_dew_k`. LandDeletes calls it once silver has taken in every bronze batch: silver then holds
// each key's newest row, and its live rows are the lake's live keys, read from one row per key
// without bronze (a query of bronze's batches beyond silver's, even when there are none, cost
// 0.35 s of CPU beside silver's 0.35 s on 5M rows), nor bronze's view. Without silver all of
// bronze is read.
Result<std::string> LiveKeysSql(lake::Lakehouse* lake, const std::string& source,
                                const std::string& stream, const std::string& bronze,
                                const std::string& key) {
  SilverTable silver(lake, source, stream);
  DEW_ASSIGN_OR_RETURN(lake::TableName silver_name, lake::ParseTableName(silver.table()));
  if (lake->Exists(silver_name)) {
    DEW_RETURN_IF_ERROR(lake->EnsureView(silver_name));
    return "SELECT " + key + " AS _dew_k FROM " + silver.table() + " WHERE NOT _deleted";
  }
  DEW_ASSIGN_OR_RETURN(lake::TableName bronze_name, lake::ParseTableName(bronze));
  DEW_RETURN_IF_ERROR(lake->EnsureView(bronze_name));
  return "SELECT _dew_k FROM (SELECT " + key +
         " AS _dew_k, arg_max(_deleted, _batch) AS _dew_gone FROM " + bronze +
         " GROUP BY 1) WHERE NOT _dew_gone";
}

// Lands `_dew_deleted_keys` (a temp table of key columns) as one deletion batch; returns how
// many keys it holds.
Result<int64_t> LandDeletedKeys(lake::Lakehouse* lake, BronzeLanding& landing,
                                const nlohmann::json& state, const std::string& what) {
  engine::Connection& con = lake->connection();
  DEW_ASSIGN_OR_RETURN(auto count, con.QueryScalar("SELECT count(*) FROM _dew_deleted_keys"));
  const int64_t n = std::strtoll(count.value_or("0").c_str(), nullptr, 10);
  if (n > 0) {
    LandingBatch batch;
    batch.select_sql = "SELECT * FROM _dew_deleted_keys";
    batch.deletes = true;
    batch.state = state;
    auto landed = landing.Land(batch);
    if (!landed.ok()) return landed.status().WithContext("landing the deletions of " + what);
  }
  DEW_RETURN_IF_ERROR(con.Execute("DROP TABLE IF EXISTS _dew_deleted_keys"));
  return n;
}

// Lands as `_deleted` rows the keys live in the lake that the source no longer has (or that
// left the filter). Returns how many. Runs in the read's snapshot, after its last chunk landed.
// First the whole key sets are compared by one digest per side (count, and for a single integer
// key also sum and sum of squares): equal digests end the check, the common case, at the cost
// of one plain aggregate in PostgreSQL and one over the lake's live keys. Otherwise a single
// integer key is compared by buckets (the same digest per bucket; KeyBucketWidth): a bucket that
// lost one or two keys has them named by the digests, and the source's keys are copied only
// for the other buckets that differ, unless at least as many keys are gone as the key range has
// buckets; other keys are all copied.
Result<int64_t> LandDeletes(Session& session, const std::string& source, const std::string& stream,
                            const std::string& schema, const std::string& table,
                            const std::vector<const Column*>& keys,
                            const std::vector<std::string>& live_where, SourceDigest& digest,
                            lake::Lakehouse* lake, BronzeLanding& landing,
                            const nlohmann::json& state, const std::string& temp_dir,
                            ReadResult* result) {
  DEW_ASSIGN_OR_RETURN(lake::TableName bronze, lake::ParseTableName(landing.table()));
  if (!lake->Exists(bronze)) return 0;
  const std::string what = schema + "." + table;
  std::string pg_keys, csv_columns, key_list;
  for (size_t i = 0; i < keys.size(); i++) {
    const std::string sep = i ? ", " : "";
    pg_keys += sep + PgIdent(keys[i]->info.name);
    csv_columns += sep + SqlString(keys[i]->info.name) + ": " + SqlString(keys[i]->info.lake_type);
    key_list += sep + SqlIdent(keys[i]->info.name);
  }
  std::vector<std::string> where = live_where;
  engine::Connection& con = lake->connection();
  const bool integer_key = IntegerKey(keys);
  const std::string pk = PgIdent(keys.front()->info.name) + "::int8";
  const std::string lake_k = "CAST(_dew_k AS BIGINT)";

  // Silver first takes in the batches it lacks (this read's chunks): the digest of its live
  // keys that each of its updates records (SilverTable::LiveKeys) is then the lake's, with no
  // scan of the lake. Every live row of the source has been landed (see LandDeletes in the
  // header): when both sides hold as many keys, with the same sum and sum of squares for an
  // integer key, no key was deleted, and neither side's keys need to be grouped or copied.
  std::vector<std::string> key_names;
  for (const Column* k : keys) key_names.push_back(k->info.name);
  SilverTable silver(lake, source, stream);
  auto updated = silver.Update(key_names);
  if (!updated.ok()) {
    return updated.status().WithContext("updating " + silver.table() +
                                        " for the deleted-keys check of " + what);
  }
  result->rows_silver += updated->rows_written;
  DEW_ASSIGN_OR_RETURN(std::optional<RecordedLiveKeys> recorded, silver.LiveKeys(key_names));
  ResultPtr source_total;
  std::optional<int64_t> lake_count;
  if (recorded.has_value() && recorded->digest.has_sums == integer_key) {
    DEW_ASSIGN_OR_RETURN(source_total, digest.Finish());
    std::vector<std::optional<std::string>> values;
    for (int i = 0; PQntuples(source_total.get()) == 1 && i < PQnfields(source_total.get()); i++) {
      values.emplace_back(PQgetvalue(source_total.get(), 0, i));
    }
    auto theirs = KeyDigest::FromText(values, integer_key);
    if (!theirs) return Status::Corruption("the key digest of " + what + " returned no row");
    if (*theirs == recorded->digest) return 0;
    // They differ: the keys are compared below, which finds the deleted ones whatever the
    // record says (a wrong one costs a comparison, never a deletion), so the lake's keys are
    // not counted again.
    lake_count = recorded->digest.count;
  }

  // The lake's live keys: for an integer key as one column `_dew_k` (silver's, now up to date),
  // otherwise as the key columns, from all of bronze.
  std::string live;
  if (integer_key) {
    DEW_ASSIGN_OR_RETURN(live, LiveKeysSql(lake, source, stream, landing.table(), key_list));
  } else {
    DEW_RETURN_IF_ERROR(lake->EnsureView(bronze));
    live = "SELECT " + key_list + " FROM (SELECT " + key_list +
           ", arg_max(_deleted, _batch) AS _dew_gone FROM " + landing.table() +
           " GROUP BY ALL) WHERE NOT _dew_gone";
  }

  std::string where_sql;
  for (size_t i = 0; i < where.size(); i++) where_sql += (i ? " AND " : " WHERE ") + where[i];
  const int digest_fields = integer_key ? 3 : 1;
  if (!lake_count.has_value()) {
    // No recorded digest: DuckDB sums up the lake while PostgreSQL (started before the read's
    // chunks) scans the table.
    auto lake_total =
        con.QueryText("SELECT " + (integer_key ? KeyDigestSql(lake_k) : std::string("count(*)")) +
                      " FROM (" + live + ") AS _dew_l");
    if (!source_total) {
      DEW_ASSIGN_OR_RETURN(source_total, digest.Finish());
    }
    DEW_RETURN_IF_ERROR(lake_total.status());
    if (PQntuples(source_total.get()) != 1 || lake_total->rows.size() != 1 ||
        PQnfields(source_total.get()) < digest_fields) {
      return Status::Corruption("the key digests of " + what + " returned no row");
    }
    const auto& lake_digest = lake_total->rows[0];
    bool same = true;
    for (int i = 0; i < digest_fields; i++) {
      same = same && lake_digest[static_cast<size_t>(i)].value_or("") ==
                         PQgetvalue(source_total.get(), 0, i);
    }
    if (same) return 0;
    lake_count = std::strtoll(lake_digest[0].value_or("0").c_str(), nullptr, 10);
  }

  // At least this many keys are gone. They are compared by buckets whose width leaves about
  // four buckets per lost key (KeyBucketWidth): a bucket that lost one key or two gets them
  // named by the digests (KeyDigest::MissingKeys), and only the other differing buckets' keys
  // are copied. Spread over the key range, as many deletions as buckets of the narrowest width
  // leave few buckets equal (with d deletions in b buckets about e^(-d/b) of them), so the
  // bucket pass would cost a scan and still copy nearly every key: all are copied at once.
  // (The source's key range stands for the lake's: at most the deleted keys lie beyond it.)
  bool copy_all = !integer_key;
  int64_t width = kMaxKeyBucketWidth;
  if (integer_key) {
    auto number = [&](int field) {
      return std::strtoll(PQgetvalue(source_total.get(), 0, field), nullptr, 10);
    };
    const int64_t gone = *lake_count - number(0);
    const int64_t range = number(4) - number(3);
    width = KeyBucketWidth(gone, range);
    copy_all = gone >= range / width + 1;
    if (copy_all) live = "SELECT _dew_k AS " + key_list + " FROM (" + live + ") AS _dew_l";
  }
  if (copy_all) {
    DEW_RETURN_IF_ERROR(CopyKeysAndCompare(session, schema, table, pg_keys, csv_columns, key_list,
                                           where, live, con, temp_dir, &result->keys_copied));
    return LandDeletedKeys(lake, landing, state, what);
  }
  // PostgreSQL groups the source's keys while DuckDB groups the lake's. The scan is planned as
  // the digest's (whose settings the read's connection has only when it computed the digest).
  DEW_RETURN_IF_ERROR(session.Command(SourceDigest::kDigestSettings));
  DEW_RETURN_IF_ERROR(session.Send("SELECT " + BucketDigestSql(pk, width) + " FROM " +
                                   PgIdent(schema) + "." + PgIdent(table) + where_sql +
                                   " GROUP BY 1"));
  struct PendingBuckets {
    Session& session;
    bool pending = true;
    ~PendingBuckets() {
      if (!pending) return;
      session.Cancel();  // the lake's side failed: the connection is left idle for its closing
      (void)session.Receive();
    }
  } pending{session};
  DEW_RETURN_IF_ERROR(con.Execute("CREATE OR REPLACE TEMP TABLE _dew_live_keys AS SELECT _dew_k, " +
                                  BucketOf(lake_k, width) + " AS _dew_b FROM (" + live +
                                  ") AS _dew_l"));
  struct DropTemp {
    engine::Connection& con;
    ~DropTemp() { (void)con.Execute("DROP TABLE IF EXISTS _dew_live_keys"); }
  } drop_temp{con};
  DEW_ASSIGN_OR_RETURN(auto mine, con.QueryText("SELECT " + BucketDigestSql(lake_k, width) +
                                                " FROM _dew_live_keys GROUP BY 1"));
  pending.pending = false;
  DEW_ASSIGN_OR_RETURN(ResultPtr theirs, session.Receive());
  std::map<int64_t, KeyDigest> source_digest;
  for (int r = 0; r < PQntuples(theirs.get()); r++) {
    std::vector<std::optional<std::string>> values;
    for (int i = 1; i <= 3; i++) values.emplace_back(PQgetvalue(theirs.get(), r, i));
    auto digest = KeyDigest::FromText(values, /*sums=*/true);
    if (!digest) return Status::Corruption("a bucket digest of " + what + " is not a number");
    source_digest[std::strtoll(PQgetvalue(theirs.get(), r, 0), nullptr, 10)] = *digest;
  }
  // Buckets the source lacks or holds differently may have lost keys; buckets only the source
  // has hold keys not landed yet, which are no deletions. A differing bucket's lost keys are
  // named by the digests when it lost one or two (`named`), otherwise its keys are copied
  // (`copied`).
  std::map<int64_t, std::vector<int64_t>> named;
  std::set<int64_t> copied;
  for (const auto& row : mine.rows) {
    if (!row[0]) continue;
    auto digest = KeyDigest::FromText({row[1], row[2], row[3]}, /*sums=*/true);
    if (!digest) return Status::Corruption("a bucket digest of the lake's keys is not a number");
    const int64_t bucket = std::strtoll(row[0]->c_str(), nullptr, 10);
    KeyDigest source_bucket;
    source_bucket.has_sums = true;
    auto it = source_digest.find(bucket);
    if (it != source_digest.end()) source_bucket = it->second;
    if (*digest == source_bucket) continue;
    auto offsets = digest->MissingKeys(source_bucket, 0, width);
    if (offsets) {
      for (int64_t& k : *offsets) k += bucket * width;
      named[bucket] = std::move(*offsets);
    } else {
      copied.insert(bucket);
    }
  }
  // The named keys are lost only when the source's keys of their bucket are all the lake's too
  // (see MissingKeys): a named key the source has, or the lake does not, has its bucket copied.
  auto name_list = [&] {
    std::string list;
    for (const auto& [bucket, keys] : named) {
      for (int64_t k : keys) list += (list.empty() ? "" : ",") + std::to_string(k);
    }
    return list;
  };
  auto copy_bucket_of = [&](int64_t key) {
    const int64_t bucket = (key - (key & (width - 1))) / width;
    named.erase(bucket);
    copied.insert(bucket);
  };
  if (!named.empty()) {
    // A lookup of a few keys by the primary key's index, which the digest's settings forbid.
    DEW_RETURN_IF_ERROR(
        session.Command("SET LOCAL enable_indexscan = on; SET LOCAL enable_bitmapscan = on"));
    std::string present_where = where_sql + (where_sql.empty() ? " WHERE " : " AND ") +
                                PgIdent(keys.front()->info.name) + " = ANY('{" + name_list() +
                                "}'::int8[])";
    DEW_ASSIGN_OR_RETURN(ResultPtr present,
                         session.Exec(("SELECT " + pk + " FROM " + PgIdent(schema) + "." +
                                       PgIdent(table) + present_where)
                                          .c_str(),
                                      {}));
    DEW_RETURN_IF_ERROR(session.Command(SourceDigest::kDigestSettings));
    for (int r = 0; r < PQntuples(present.get()); r++) {
      copy_bucket_of(std::strtoll(PQgetvalue(present.get(), r, 0), nullptr, 10));
    }
  }
  std::string named_keys;  // a query of the named keys that the lake holds, as `_dew_k`
  if (!named.empty()) {
    named_keys = "SELECT _dew_k FROM _dew_live_keys WHERE " + lake_k + " IN (" + name_list() + ")";
    DEW_ASSIGN_OR_RETURN(
        auto held, con.QueryText("SELECT " + lake_k + " FROM (" + named_keys + ") AS _dew_h"));
    std::set<int64_t> in_lake;
    for (const auto& row : held.rows) {
      if (row[0]) in_lake.insert(std::strtoll(row[0]->c_str(), nullptr, 10));
    }
    std::vector<int64_t> missing;
    for (const auto& [bucket, keys] : named) {
      for (int64_t k : keys) {
        if (!in_lake.count(k)) missing.push_back(k);
      }
    }
    for (int64_t k : missing) copy_bucket_of(k);
    named_keys = named.empty() ? ""
                               : "SELECT _dew_k AS " + key_list + " FROM _dew_live_keys " +
                                     "WHERE " + lake_k + " IN (" + name_list() + ")";
  }
  result->keys_named += [&] {
    int64_t n = 0;
    for (const auto& [bucket, keys] : named) n += static_cast<int64_t>(keys.size());
    return n;
  }();
  if (copied.empty() && named.empty()) return 0;
  if (copied.empty()) {
    DEW_RETURN_IF_ERROR(
        con.Execute("CREATE OR REPLACE TEMP TABLE _dew_deleted_keys AS " + named_keys));
    return LandDeletedKeys(lake, landing, state, what);
  }
  std::string differing;
  for (int64_t bucket : copied)
    differing += (differing.empty() ? "" : ",") + std::to_string(bucket);
  // Few runs of adjacent buckets (deletions among the newest rows, say) are copied by the
  // primary key's index as key ranges; many, by a scan testing each key's bucket.
  std::vector<std::pair<int64_t, int64_t>> runs;  // first and last bucket
  for (int64_t bucket : copied) {
    if (!runs.empty() && runs.back().second + 1 == bucket) {
      runs.back().second = bucket;
    } else {
      runs.emplace_back(bucket, bucket);
    }
  }
  if (runs.size() <= kMaxIndexedKeyRanges) {
    std::string ranges;
    for (const auto& [first, last] : runs) {
      ranges += (ranges.empty() ? "" : " OR ") + PgIdent(keys.front()->info.name) + " BETWEEN " +
                std::to_string(first * width) + " AND " + std::to_string(last * width + width - 1);
    }
    where.push_back("(" + ranges + ")");
    DEW_RETURN_IF_ERROR(
        session.Command("SET LOCAL enable_indexscan = on; SET LOCAL enable_bitmapscan = on"));
    result->key_ranges_copied += static_cast<int64_t>(runs.size());
  } else {
    where.push_back(BucketOf(pk, width) + " = ANY('{" + differing + "}'::int8[])");
  }
  const std::string lake_keys =
      "SELECT _dew_k AS " + key_list + " FROM _dew_live_keys WHERE _dew_b IN (" + differing + ")";
  DEW_RETURN_IF_ERROR(CopyKeysAndCompare(session, schema, table, pg_keys, csv_columns, key_list,
                                         where, lake_keys, con, temp_dir, &result->keys_copied));
  if (!named_keys.empty()) {
    DEW_RETURN_IF_ERROR(con.Execute("INSERT INTO _dew_deleted_keys " + named_keys));
  }
  return LandDeletedKeys(lake, landing, state, what);
}

// Commits `state` with no rows when the stream's last commit carries another `state[key]`
// (what a read learned without landing a row); not before the stream's first commit. Returns
// whether it committed.
Result<bool> CommitStateAlone(BronzeLanding& landing, const std::vector<const Column*>& keys,
                              const nlohmann::json& state, const std::string& key,
                              const std::string& what) {
  DEW_ASSIGN_OR_RETURN(CommittedState committed, landing.LastCommitted());
  const auto value = [&](const nlohmann::json& s) {
    return s.is_object() ? s.value(key, nlohmann::json()) : nlohmann::json();
  };
  if (committed.version < 0 ||
      (committed.state.is_object() && value(committed.state) == value(state))) {
    return false;
  }
  LandingBatch batch;
  batch.deletes = true;
  batch.state = state;
  std::string none;
  for (const Column* k : keys) {
    none += std::string(none.empty() ? "" : ", ") + "CAST(NULL AS " + k->info.lake_type + ") AS " +
            SqlIdent(k->info.name);
  }
  batch.select_sql = "SELECT " + none + " WHERE false";
  auto landed = landing.Land(batch);
  if (!landed.ok()) return landed.status().WithContext("committing the state of " + what);
  return landed->commit.version >= 0;
}

}  // namespace

struct PostgresSource::Described {
  std::string stream;
  ConnPtr conn;
  std::vector<std::pair<StreamInfo, std::vector<Column>>> relations;  // one
};

PostgresSource::PostgresSource(PostgresConfig config) : config_(std::move(config)) {}
PostgresSource::~PostgresSource() = default;

Result<std::unique_ptr<PostgresSource::Described>> PostgresSource::ConnectAndDescribe(
    const PostgresConfig& config, const std::string& stream) {
  Session session(config);
  DEW_RETURN_IF_ERROR(session.Connect(nullptr));
  auto [schema, table] = SplitStream(stream, config.default_schema);
  DEW_ASSIGN_OR_RETURN(auto relations,
                       connectors::Describe(session, config, schema.c_str(), table.c_str()));
  auto described = std::make_unique<Described>();
  described->stream = stream;
  described->conn.reset(session.Release());
  described->relations = std::move(relations);
  return described;
}

void PostgresSource::Prepare(const std::string& stream) {
  if (prepared_.valid()) return;
  try {
    prepared_ = std::async(std::launch::async,
                           [this, stream] { return ConnectAndDescribe(config_, stream); });
    prepared_stream_ = stream;
  } catch (const std::system_error&) {
    // No thread to spare: the stream's description connects when it comes.
  }
}

Result<std::unique_ptr<PostgresSource::Described>> PostgresSource::TakePrepared(
    const std::string& stream) {
  if (!prepared_.valid()) return std::unique_ptr<Described>();
  Result<std::unique_ptr<Described>> prepared = prepared_.get();
  if (prepared_stream_ != stream) return std::unique_ptr<Described>();
  return prepared;
}

Result<StreamInfo> PostgresSource::DescribeStream(const std::string& name) {
  described_.reset();
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<Described> described, TakePrepared(name));
  if (!described) {
    DEW_ASSIGN_OR_RETURN(described, ConnectAndDescribe(config_, name));
  }
  if (described->relations.empty()) {
    auto [schema, table] = SplitStream(name, config_.default_schema);
    return Status::NotFound("table " + schema + "." + table +
                            " does not exist or is not readable at " + Describe());
  }
  StreamInfo info = described->relations.front().first;
  described_ = std::move(described);
  return info;
}

Status PostgresSource::CheckDeletions(const std::vector<StreamRequest>& streams) {
  for (const StreamRequest& stream : streams) {
    if (!stream.detect_deletes || !stream.deletes_by_replication) continue;
    DEW_ASSIGN_OR_RETURN(StreamInfo info, DescribeStream(stream.name));
    auto [schema, table] = SplitStream(stream.name, config_.default_schema);
    ReplicationTarget target{config_.source, stream.name, schema, table, {}};
    for (const std::string& k :
         stream.primary_key.empty() ? info.primary_key : stream.primary_key) {
      auto column = std::find_if(info.columns.begin(), info.columns.end(),
                                 [&](const ColumnInfo& c) { return c.name == k; });
      if (column == info.columns.end()) {
        return Status::InvalidArgument("stream " + stream.name + ": primary key column " + k +
                                       " does not exist in " + schema + "." + table);
      }
      target.key.push_back(*column);
    }
    if (target.key.empty()) {
      return Status::InvalidArgument("stream " + stream.name +
                                     ": detect_deletes: replication: table " + schema + "." +
                                     table + " has no primary key");
    }
    DEW_RETURN_IF_ERROR(PostgresReplicationSlot(config_, target).Check());
  }
  return Status::OK();
}

Status PostgresSource::ForgetStream(const std::string& stream) {
  auto [schema, table] = SplitStream(stream, config_.default_schema);
  return PostgresReplicationSlot(config_,
                                 ReplicationTarget{config_.source, stream, schema, table, {}})
      .Drop();
}

Result<ReadResult> PostgresSource::Read(const StreamRequest& stream, const nlohmann::json& state,
                                        lake::Lakehouse* lake) {
  const bool incremental = stream.sync_mode == "incremental";
  if (!incremental && stream.sync_mode != "full_refresh") {
    return Status::NotSupported("sync_mode " + stream.sync_mode + " of stream " + stream.name +
                                " is not supported (full_refresh or incremental)");
  }
  RemoveAbandonedCopyOutput(config_.temp_dir, lake->clock().NowMillis());
  if (!described_) {
    // Prepare's connection, if any (on its error, the read connects and reports its own).
    auto prepared = TakePrepared(stream.name);
    if (prepared.ok()) described_ = std::move(*prepared);
  }
  Session session(config_);
  auto [schema, table] = SplitStream(stream.name, config_.default_schema);
  std::vector<std::pair<StreamInfo, std::vector<Column>>> described;
  if (described_ && described_->stream == stream.name &&
      PQstatus(described_->conn.get()) == CONNECTION_OK) {
    session.Adopt(described_->conn.release());
    described = std::move(described_->relations);
    described_.reset();
  } else {
    described_.reset();
    DEW_RETURN_IF_ERROR(session.Connect(nullptr));
    DEW_ASSIGN_OR_RETURN(described,
                         connectors::Describe(session, config_, schema.c_str(), table.c_str()));
  }
  if (described.empty()) {
    return Status::NotFound("table " + schema + "." + table +
                            " does not exist or is not readable at " + Describe());
  }
  const StreamInfo& info = described.front().first;
  const std::vector<Column>& all = described.front().second;
  const std::vector<std::string> pk =
      stream.primary_key.empty() ? info.primary_key : stream.primary_key;
  for (const std::string& name : stream.columns) {
    if (!FindColumn(all, name)) {
      return Status::InvalidArgument("stream " + stream.name + ": column " + name +
                                     " does not exist in " + schema + "." + table);
    }
  }
  std::vector<const Column*> keys;
  for (const std::string& k : pk) {
    const Column* c = FindColumn(all, k);
    if (!c) {
      return Status::InvalidArgument("stream " + stream.name + ": primary key column " + k +
                                     " does not exist in " + schema + "." + table);
    }
    keys.push_back(c);
  }
  const Column* cursor_column = nullptr;
  if (!stream.cursor_field.empty()) {
    cursor_column = FindColumn(all, stream.cursor_field);
    if (!cursor_column) {
      return Status::InvalidArgument("stream " + stream.name + ": cursor_field " +
                                     stream.cursor_field + " does not exist in " + schema + "." +
                                     table);
    }
  }
  if (incremental && (!cursor_column || keys.empty())) {
    return Status::InvalidArgument(
        "stream " + stream.name + ": incremental sync needs a cursor_field and a primary_key (" +
        schema + "." + table + (info.primary_key.empty() ? " has no primary key)" : ")"));
  }
  auto wanted = [&](const std::string& name) {
    if (stream.columns.empty()) return true;
    if (std::find(stream.columns.begin(), stream.columns.end(), name) != stream.columns.end()) {
      return true;
    }
    if (std::find(pk.begin(), pk.end(), name) != pk.end()) return true;
    return name == stream.cursor_field;
  };
  std::vector<Column> columns;
  for (const auto& c : all) {
    if (wanted(c.info.name)) columns.push_back(c);
  }

  // COPY in PostgreSQL, CSV text in between, typed SELECT in DuckDB. Incremental reads put the
  // cursor and key as text first, so each chunk's last row gives its checkpoint.
  std::string pg_select, csv_columns, lake_select;
  size_t state_fields = 0;
  if (incremental) {
    pg_select = PgIdent(cursor_column->info.name) + "::text AS \"_dew_c\"";
    csv_columns = "'_dew_c': 'VARCHAR'";
    for (size_t i = 0; i < keys.size(); i++) {
      const std::string alias = "_dew_k" + std::to_string(i);
      pg_select += ", " + PgIdent(keys[i]->info.name) + "::text AS " + PgIdent(alias);
      csv_columns += ", " + SqlString(alias) + ": 'VARCHAR'";
    }
    state_fields = 1 + keys.size();
  }
  for (size_t i = 0; i < columns.size(); i++) {
    const Column& c = columns[i];
    const std::string pq = PgIdent(c.info.name);
    const std::string lq = SqlIdent(c.info.name);
    const std::string sep = pg_select.empty() ? "" : ", ";
    const std::string lsep = i ? ", " : "";
    std::string csv_type = c.info.lake_type;
    switch (c.transport) {
      case Transport::kArrayJson:
        pg_select += sep + "array_to_json(" + pq + ")::text";
        csv_type = "VARCHAR";
        lake_select += lsep + "CAST(from_json(" + lq + ", " +
                       SqlString("[\"" + c.element_type + "\"]") + ") AS " + c.info.lake_type +
                       ") AS " + lq;
        break;
      case Transport::kHex:
        pg_select += sep + "encode(" + pq + ", 'hex')";
        csv_type = "VARCHAR";
        lake_select += lsep + "unhex(" + lq + ") AS " + lq;
        break;
      case Transport::kDirect:
        pg_select += sep + pq + (c.info.lake_type == "BOOLEAN" ? "::text" : "");
        lake_select += lsep + lq;
        break;
    }
    csv_columns +=
        (csv_columns.empty() ? "" : ", ") + SqlString(c.info.name) + ": " + SqlString(csv_type);
    pg_select += " AS " + pq;
  }
  const std::string relation = PgIdent(schema) + "." + PgIdent(table);
  std::vector<std::string> where;
  if (!stream.filter.empty()) where.push_back("(" + stream.filter + ")");
  std::string order;
  bool resumes = false;  // `where` ends with the row comparison to the state's (cursor, key)
  if (incremental) {
    const std::string cq = PgIdent(cursor_column->info.name);
    // Rows without a cursor value cannot be ordered into chunks: incremental reads skip them.
    where.push_back(cq + " IS NOT NULL");
  }
  const std::vector<std::string> live_where = where;  // the rows that exist, for deletes
  // The same rows for the deleted-keys digest, without the test of a NOT NULL cursor column:
  // testing the row's last columns makes PostgreSQL decode every column of every row, where
  // the digest needs only the key (5M rows: 1.05-1.20 s against 1.31-1.72 s).
  std::vector<std::string> digest_where = live_where;
  if (incremental && !cursor_column->info.nullable) digest_where.pop_back();
  if (incremental) {
    const std::string cq = PgIdent(cursor_column->info.name);
    std::string row = cq, last;
    order = " ORDER BY " + cq;
    for (const Column* k : keys) {
      row += ", " + PgIdent(k->info.name);
      order += ", " + PgIdent(k->info.name);
    }
    if (state.is_object() && state.contains("cursor") && state["cursor"].is_string() &&
        state.contains("pk") && state["pk"].is_array() && state["pk"].size() == keys.size()) {
      last = PgString(state["cursor"].get<std::string>()) + "::" + cursor_column->info.source_type;
      for (size_t i = 0; i < keys.size(); i++) {
        if (!state["pk"][i].is_string()) {
          return Status::InvalidArgument("stream " + stream.name +
                                         ": the state's pk is not text: " + state.dump());
        }
        last +=
            ", " + PgString(state["pk"][i].get<std::string>()) + "::" + keys[i]->info.source_type;
      }
      // Row comparison: rows sharing the last cursor value but with a greater key still come.
      where.push_back("(" + row + ") > (" + last + ")");
      resumes = true;
    }
  }
  std::string where_sql;
  for (size_t i = 0; i < where.size(); i++) where_sql += (i ? " AND " : " WHERE ") + where[i];
  const std::string copy = "COPY (SELECT " + pg_select + " FROM " + relation + where_sql + order +
                           ") TO STDOUT (FORMAT csv, HEADER)";

  // `detect_deletes: replication` (postgres_replication_slot.h): the slot is found or made
  // before the read's snapshot, and its window read up to a position taken after it.
  const bool by_replication =
      incremental && stream.detect_deletes && stream.deletes_by_replication && !stream.quarantine;
  ReplicationTarget target{config_.source, stream.name, schema, table, {}};
  for (const Column* k : keys) target.key.push_back(k->info);
  PostgresReplicationSlot slot(config_, target);
  ReplicationPlan plan;
  ReplicationWindow window;
  if (by_replication) {
    DEW_ASSIGN_OR_RETURN(plan, slot.Prepare(state));
  }
  // PostgreSQL's deletion counts (postgres_deletion_counters.h), read before the snapshot: a
  // deletion they count was committed before it, so the check in it finds the deletion.
  const bool checks_deletes = incremental && stream.detect_deletes && !stream.quarantine;
  std::optional<PostgresDeletionCounters> counters;
  if (checks_deletes && !by_replication) {
    DEW_ASSIGN_OR_RETURN(ResultPtr row,
                         session.Exec(PostgresDeletionCounters::kSql, {relation.c_str()}));
    counters = PostgresDeletionCounters::FromRow(OnlyRow(row.get()));
  }
  if (incremental) {
    // One snapshot for the chunks and the deleted-keys check: the check then compares the lake
    // with exactly the rows the read has seen (LandDeletes relies on it). Closing the session
    // on failure rolls it back.
    DEW_RETURN_IF_ERROR(session.Command("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
  }
  if (by_replication && plan.use_window) {
    // The window ends where the WAL is flushed once the snapshot is taken: past every commit
    // the snapshot sees (with synchronous_commit, the default, a commit is flushed before it
    // is visible), and no further than logical decoding can read now.
    DEW_ASSIGN_OR_RETURN(ResultPtr upto,
                         session.Exec("SELECT pg_current_wal_flush_lsn()::text", {}));
    DEW_ASSIGN_OR_RETURN(window, slot.ReadWindow(PQgetvalue(upto.get(), 0, 0), config_.temp_dir));
    if (window.truncated) {
      // The window cannot say which keys a TRUNCATE removed: a new slot, then a snapshot
      // after it, in which the keys are compared.
      DEW_RETURN_IF_ERROR(session.Command("COMMIT"));
      DEW_ASSIGN_OR_RETURN(plan, slot.Recreate("the table was truncated"));
      DEW_RETURN_IF_ERROR(session.Command("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
    }
  }
  const bool by_window = by_replication && plan.use_window;
  // Chunks carry the window's start: their commits do not cover its deletions yet.
  const nlohmann::json replication_state =
      by_replication ? slot.State(plan, plan.start_lsn) : nlohmann::json();

  // The deleted-keys check is skipped when PostgreSQL counted no deletion since the last one
  // and, with a filter, no row changed since the last sync left it (an UPDATE for PostgreSQL,
  // a deletion for the stream). Otherwise its source digest runs while the chunks are read.
  bool check_deletes = checks_deletes && !by_window;
  BronzeLanding landing(lake, config_.source, stream.name);
  nlohmann::json chunk_mark =
      state.is_object() ? state.value(PostgresDeletionCounters::kStateKey, nlohmann::json())
                        : nlohmann::json();
  if (counters && !counters->mark.is_null()) {
    // The chunks land before the check, and carry the mark of the last one; but where the lake
    // holds none of the stream's keys yet, every key it will hold is in this read's snapshot,
    // which sees every deletion the new mark counts: they carry the new mark, and the first
    // sync makes no extra commit for it.
    const SilverTable silver(lake, config_.source, stream.name);
    DEW_ASSIGN_OR_RETURN(lake::TableName bronze_name, lake::ParseTableName(landing.table()));
    DEW_ASSIGN_OR_RETURN(lake::TableName silver_name, lake::ParseTableName(silver.table()));
    if (!lake->Exists(bronze_name) && !lake->Exists(silver_name)) chunk_mark = counters->mark;
  }
  std::string deletes_note;  // for the sync's log
  if (check_deletes && counters && !stream.deletes_always_compared) {
    std::string why;
    bool unchanged = counters->Unchanged(state, schema + "." + table, &why);
    if (unchanged && !stream.filter.empty()) {
      // The rows after the state's (cursor, key) that no longer match the filter, in the
      // read's snapshot (a row leaving it earlier was met by an earlier sync).
      unchanged = resumes;
      if (resumes) {
        std::vector<std::string> left = where;
        left[0] = "(" + stream.filter + ") IS NOT TRUE";
        std::string left_sql;
        for (size_t i = 0; i < left.size(); i++) left_sql += (i ? " AND " : " WHERE ") + left[i];
        DEW_ASSIGN_OR_RETURN(
            ResultPtr any,
            session.Exec(("SELECT EXISTS (SELECT FROM " + relation + left_sql + ")::text").c_str(),
                         {}));
        unchanged =
            PQntuples(any.get()) == 1 && std::string(PQgetvalue(any.get(), 0, 0)) == "false";
      }
      if (!unchanged) why = "a row changed since the last sync may have left the filter";
    }
    if (unchanged) {
      deletes_note = "deleted-keys check skipped: " + why;
    } else if (counters->mark.is_null()) {
      deletes_note = "deleted-keys check not skippable: " + why;
    }
    check_deletes = !unchanged;
  }
  SourceDigest digest(config_);
  if (check_deletes) {
    DEW_RETURN_IF_ERROR(digest.Start(session, SourceDigestSql(schema, table, keys, digest_where)));
  }

  const std::string cursor_sql =
      stream.cursor_field.empty() ? "" : "CAST(" + SqlIdent(stream.cursor_field) + " AS VARCHAR)";
  // Each chunk is a bronze commit (a checkpoint) with its file, fsyncs and commit: a first sync
  // of 5M rows took 10.9-12.1 s in chunks of 100,000 rows and 9.8-10.8 s in chunks of 500,000
  // (idle, alternated), which a kill costs at most ~1 s of work to read again.
  const int64_t chunk_rows =
      incremental ? (stream.chunk_rows > 0 ? stream.chunk_rows : kChunkRows) : INT64_MAX;
  ReadResult result;
  result.table = landing.table();
  result.state = state;
  result.deletes_note = deletes_note;
  std::string header;
  ChunkFile chunk;
  std::vector<std::optional<std::string>> last_fields;
  std::string last_row;
  bool landed_any = false;
  // One COPY reads one snapshot: by the table's own primary key, no key appears twice among
  // this read's chunks, which spares silver its per-key dedup.
  std::vector<std::string> sorted_pk = pk, table_pk = info.primary_key;
  std::sort(sorted_pk.begin(), sorted_pk.end());
  std::sort(table_pk.begin(), table_pk.end());
  const bool unique_keys = !sorted_pk.empty() && sorted_pk == table_pk;
  int64_t unique_since_batch = 0;
  // The state after the last row read (`last_fields`), which an incremental read's batch
  // commits with.
  auto incremental_state = [&]() -> Result<nlohmann::json> {
    if (last_fields.size() < state_fields || !last_fields[0].has_value()) {
      return Status::Corruption("COPY of " + schema + "." + table +
                                " returned a row without its cursor or key");
    }
    nlohmann::json pk_text = nlohmann::json::array();
    for (size_t i = 1; i < last_fields.size(); i++) pk_text.push_back(*last_fields[i]);
    nlohmann::json state = {
        {"cursor_field", stream.cursor_field}, {"cursor", *last_fields[0]}, {"pk", pk_text}};
    if (by_replication) state["replication"] = replication_state;
    if (!chunk_mark.is_null()) state[PostgresDeletionCounters::kStateKey] = chunk_mark;
    return state;
  };
  // Lands the rows of `from` (a relation of the CSV columns: read_csv of a file or FIFO) as one
  // batch. `streamed_state`, for rows that stream into bronze as they arrive (an incremental
  // read's first chunk through the FIFO): called once they are written, with how many, it
  // returns the state after the last of them.
  auto land_rows = [&](const std::string& from,
                       const std::function<Result<nlohmann::json>(int64_t rows)>& streamed_state =
                           nullptr) -> Status {
    LandingBatch batch;
    batch.select_sql = "SELECT " + lake_select + " FROM " + from;
    batch.cursor_sql = cursor_sql;
    batch.quarantine = stream.quarantine;
    batch.unique_keys = unique_keys;
    batch.unique_since_batch = unique_since_batch;
    if (incremental) {
      batch.mode = "incremental";
      if (streamed_state) {
        batch.row_group_rows = kStreamedRowGroupRows;
        batch.state_after = [&](int64_t rows) -> Result<nlohmann::json> {
          DEW_ASSIGN_OR_RETURN(result.state, streamed_state(rows));
          return result.state;
        };
      } else {
        DEW_ASSIGN_OR_RETURN(result.state, incremental_state());
      }
    } else {
      result.state = {{"sync_mode", "full_refresh"},
                      {"emitted_at", lake::FormatTimestampMillis(lake->clock().NowMillis())}};
      batch.mode = "full_refresh";
      batch.full_refresh_start = true;
    }
    if (!batch.state_after) batch.state = result.state;
    auto landed = landing.Land(batch);
    if (!landed.ok()) {
      return landed.status().WithContext("landing " + schema + "." + table + " from " + Describe());
    }
    result.rows += landed->commit.rows_added;
    if (landed->commit.version >= 0) result.commits++;
    if (landed->commit.version >= 0 && unique_since_batch == 0) unique_since_batch = landed->batch;
    landed_any = true;
    if (stream.cancel && stream.cancel->load()) {
      return Status::Interrupted("sync of stream " + stream.name + " cancelled after " +
                                 std::to_string(result.rows) +
                                 " rows; the next sync resumes from the committed state");
    }
    return Status::OK();
  };
  auto land = [&]() -> Status {
    DEW_RETURN_IF_ERROR(chunk.Finish());
    DEW_RETURN_IF_ERROR(land_rows(CsvReader(chunk.path(), csv_columns, true)));
    chunk.Close();
    return Status::OK();
  };
  // A full refresh is one batch: DuckDB lands it while it arrives (CopyPipe). So is each chunk of
  // an incremental read, through a FIFO of its own. Where no FIFO can be made, and for
  // quarantine (which reads the rows twice), the rows go through temp files.
  const std::string what = schema + "." + table;
  bool piped = false;  // the COPY is started, and its first chunks went through FIFOs
  bool copy_goes_on = false;
  for (bool first = true; incremental && !stream.quarantine && (first || copy_goes_on);
       first = false) {
    // Each chunk streams into bronze's file while PostgreSQL sends it: DuckDB parses it and
    // writes the Parquet file as the rows arrive, and the commit, once the last row is in,
    // carries that row's state. (Parsing it into a temp table first, to know the state before
    // the write, left 50,000 rows 0.33-0.47 s from PostgreSQL's last row to silver's start,
    // loaded; streamed, 0.16-0.25 s. Through a temp file, PostgreSQL and DuckDB took turns.)
    CopyPipe pipe;
    if (!pipe.Create(config_.temp_dir).ok()) break;
    if (first) DEW_RETURN_IF_ERROR(StartCopy(session, copy, what));
    pipe.Start(&session, what, chunk_rows, header);
    Status copied;
    bool pipe_done = false;
    auto finish_pipe = [&]() -> Status {
      if (!pipe_done) {
        copied = pipe.Finish();
        pipe_done = true;
        result.bytes_read += pipe.bytes();
      }
      return copied;
    };
    Status landed = land_rows(
        CsvReader(pipe.path(), csv_columns, true, true),
        [&](int64_t rows) -> Result<nlohmann::json> {
          // DuckDB has read the FIFO to its end: the thread is done.
          DEW_RETURN_IF_ERROR(finish_pipe());
          if (pipe.chunk().rows != rows) {
            return Status::Corruption("COPY of " + what + " sent " +
                                      std::to_string(pipe.chunk().rows) + " rows but " +
                                      std::to_string(rows) + " were landed");
          }
          last_fields = CsvFields(pipe.chunk().last_row.data(),
                                  static_cast<int>(pipe.chunk().last_row.size()), state_fields);
          if (config_.TEST_stop_at) {
            DEW_RETURN_IF_ERROR(config_.TEST_stop_at("incremental: chunk streamed"));
          }
          return incremental_state();
        });
    (void)finish_pipe();
    // As for a full refresh: a failed COPY fails DuckDB's read, and says why itself.
    if (pipe.source_failed()) return copied.WithContext("landing " + what + " from " + Describe());
    DEW_RETURN_IF_ERROR(landed);
    DEW_RETURN_IF_ERROR(copied.WithContext("landing " + what + " from " + Describe()));
    piped = true;
    copy_goes_on = !pipe.chunk().copy_ended;
    header = pipe.header();
  }
  CopyPipe pipe;
  if (!incremental && !stream.quarantine && pipe.Create(config_.temp_dir).ok()) {
    DEW_RETURN_IF_ERROR(StartCopy(session, copy, what));
    pipe.Start(&session, what);
    Status landed = land_rows(CsvReader(pipe.path(), csv_columns, true, true));
    Status copied = pipe.Finish();
    result.bytes_read = pipe.bytes();
    // A failed COPY fails DuckDB's read too, and its own error says why; a read DuckDB ended
    // (a value it refused) makes the writing fail, and DuckDB's error says why.
    if (pipe.source_failed()) return copied.WithContext("landing " + what + " from " + Describe());
    DEW_RETURN_IF_ERROR(landed);
    DEW_RETURN_IF_ERROR(copied.WithContext("landing " + what + " from " + Describe()));
    return result;
  }
  if (!piped || copy_goes_on) {
    auto on_header = [&](const std::string& line) {
      header = line;
      return Status::OK();
    };
    auto on_row = [&](const char* data, int n) -> Status {
      if (!chunk.open()) DEW_RETURN_IF_ERROR(chunk.Open(config_.temp_dir, header));
      DEW_RETURN_IF_ERROR(chunk.Write(data, n));
      if (incremental) last_row.assign(data, static_cast<size_t>(n));
      if (chunk.rows() < chunk_rows) return Status::OK();
      if (incremental) last_fields = CsvFields(data, n, state_fields);
      return land();
    };
    Status copied = piped ? ReceiveCopy(session, what, /*with_header=*/false, on_header, on_row,
                                        &result.bytes_read)
                          : StreamCopy(session, copy, what, on_header, on_row, &result.bytes_read);
    if (copied.ok() && chunk.open() && chunk.rows() > 0) {
      if (incremental)
        last_fields = CsvFields(last_row.data(), static_cast<int>(last_row.size()), state_fields);
      copied = land();
    } else if (copied.ok() && !incremental && !landed_any) {
      // An empty table: a full refresh still commits, so silver learns that every key is gone.
      DEW_RETURN_IF_ERROR(chunk.Open(config_.temp_dir, header));
      copied = land();
    }
    DEW_RETURN_IF_ERROR(copied);
  }

  if (by_replication && !by_window) {
    if (!result.state.is_object()) result.state = nlohmann::json::object();
    result.state["replication"] = replication_state;
  }
  if (by_window) {
    if (!stream.filter.empty()) {
      // Rows that left the filter are updates in the log, not deletions: the changed rows
      // (after the state's cursor, as the read's own) no longer matching it, in the read's
      // snapshot, are.
      std::vector<std::string> left = where;
      left[0] = "(" + stream.filter + ") IS NOT TRUE";
      std::string left_sql, key_text;
      for (size_t i = 0; i < left.size(); i++) left_sql += (i ? " AND " : " WHERE ") + left[i];
      for (const Column* k : keys) key_text += PgIdent(k->info.name) + "::text, ";
      std::string rows;
      int64_t n = 0;
      DEW_RETURN_IF_ERROR(StreamCopy(
          session,
          "COPY (SELECT " + key_text + "9223372036854775807::int8, 'D' FROM " + relation +
              left_sql + ") TO STDOUT (FORMAT csv, HEADER)",
          "the keys that left the filter of " + schema + "." + table,
          [](const std::string&) { return Status::OK(); },
          [&](const char* data, int size) -> Status {
            rows.append(data, static_cast<size_t>(size));
            n++;
            if (rows.size() < (1u << 20)) return Status::OK();
            Status appended = slot.AppendDeletions(rows, n, &window);
            rows.clear();
            n = 0;
            return appended;
          },
          &result.bytes_read));
      DEW_RETURN_IF_ERROR(slot.AppendDeletions(rows, n, &window));
    }
    if (config_.TEST_stop_at) {
      DEW_RETURN_IF_ERROR(config_.TEST_stop_at("replication: before deletions"));
    }
    // The deletions' commit covers the window: its state names the window's end.
    if (!result.state.is_object()) result.state = nlohmann::json::object();
    result.state["replication"] = slot.State(plan, window.upto);
    DEW_RETURN_IF_ERROR(SilverTable::EnsureViews(lake, config_.source, stream.name));
    DEW_ASSIGN_OR_RETURN(int64_t deleted,
                         LandReplicatedDeletions(lake, landing, target, window, result.state));
    result.rows_deleted = deleted;
    if (deleted > 0) result.commits++;
    if (config_.TEST_stop_at) {
      DEW_RETURN_IF_ERROR(config_.TEST_stop_at("replication: before advance"));
    }
  }
  if (check_deletes) {
    // The check's commit carries the counts read before its snapshot (none when they cannot
    // be trusted), so that the next sync may skip it.
    const nlohmann::json mark = counters ? counters->mark : nlohmann::json();
    if (result.state.is_object()) {
      if (mark.is_null()) {
        result.state.erase(PostgresDeletionCounters::kStateKey);
      } else {
        result.state[PostgresDeletionCounters::kStateKey] = mark;
      }
    }
    DEW_ASSIGN_OR_RETURN(
        int64_t deleted,
        LandDeletes(session, config_.source, stream.name, schema, table, keys, live_where, digest,
                    lake, landing, result.state, config_.temp_dir, &result));
    result.rows_deleted = deleted;
    if (deleted > 0) result.commits++;
    if (deleted == 0 && mark != chunk_mark) {
      DEW_ASSIGN_OR_RETURN(bool committed,
                           CommitStateAlone(landing, keys, result.state,
                                            PostgresDeletionCounters::kStateKey, relation));
      if (committed) result.commits++;
    }
  }
  if (by_replication && !by_window) {
    // The slot was just made: once a commit records it, later syncs read its window. (A sync
    // that landed nothing commits the state alone; with no table yet, the next sync makes the
    // slot again.)
    DEW_ASSIGN_OR_RETURN(bool committed,
                         CommitStateAlone(landing, keys, result.state, "replication", relation));
    if (committed) result.commits++;
  }
  if (incremental) DEW_RETURN_IF_ERROR(session.Command("COMMIT"));
  // PostgreSQL decodes the window once more to advance the slot: it does so while the caller
  // updates silver.
  if (by_window) DEW_RETURN_IF_ERROR(slot.AdvanceInBackground(window.upto));
  return result;
}

}  // namespace dew::connectors
