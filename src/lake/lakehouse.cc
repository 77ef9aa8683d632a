#include "lake/lakehouse.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <tuple>

#include "engine/query_result.h"
#include "lake/delta_log.h"
#include "lake/project.h"
#include "lake/table_scan.h"

namespace dew::lake {
namespace {

using engine::SqlIdent;

std::string ViewName(const TableName& t) {
  return SqlIdent(std::string(LayerName(t.layer))) + "." + SqlIdent(t.name);
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

std::string VersionRange(DeltaLog& log) {
  auto versions = log.ListCommitVersions();
  auto latest = log.LatestVersion();
  if (!latest.ok()) return "none";
  int64_t first = versions.ok() && !versions->empty() ? versions->front() : 0;
  if (first == *latest) return std::to_string(first);
  return std::to_string(first) + " to " + std::to_string(*latest);
}

}  // namespace

Result<int64_t> ParseTimestampMillis(std::string_view text) {
  auto bad = [&]() {
    return Status::InvalidArgument("cannot read '" + std::string(text) +
                                   "' as a timestamp: expected YYYY-MM-DD[ HH:MM[:SS[.fff]]]"
                                   "[Z|±HH:MM]");
  };
  size_t i = 0;
  auto number = [&](size_t digits, int64_t* out) {
    if (i + digits > text.size()) return false;
    int64_t v = 0;
    for (size_t k = 0; k < digits; k++) {
      char c = text[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += digits;
    *out = v;
    return true;
  };
  int64_t y, mo, d, h = 0, mi = 0, s = 0, ms = 0;
  if (!number(4, &y) || i >= text.size() || text[i++] != '-' || !number(2, &mo) ||
      i >= text.size() || text[i++] != '-' || !number(2, &d)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return bad();
  if (i < text.size() && (text[i] == ' ' || text[i] == 'T')) {
    i++;
    if (!number(2, &h) || i >= text.size() || text[i++] != ':' || !number(2, &mi)) return bad();
    if (i < text.size() && text[i] == ':') {
      i++;
      if (!number(2, &s)) return bad();
      if (i < text.size() && text[i] == '.') {
        i++;
        int64_t scale = 100;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
          ms += (text[i] - '0') * scale;
          scale /= 10;
          i++;
        }
      }
    }
  }
  int64_t offset_minutes = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    i++;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int sign = text[i++] == '-' ? -1 : 1;
    int64_t oh = 0, om = 0;
    if (!number(2, &oh)) return bad();
    if (i < text.size() && text[i] == ':') i++;
    if (i < text.size() && !number(2, &om)) return bad();
    offset_minutes = sign * (oh * 60 + om);
  }
  if (i != text.size() || h > 23 || mi > 59 || s > 60) return bad();
  int64_t seconds = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_minutes * 60;
  return seconds * 1000 + ms;
}

std::string FormatTimestampMillis(int64_t millis) {
  int64_t days = millis >= 0 ? millis / 86400000 : -((-millis + 86399999) / 86400000);
  int64_t rest = millis - days * 86400000;
  int64_t y;
  int m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  int64_t ms = rest % 1000;
  int64_t secs = rest / 1000;
  if (ms == 0) {
    std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02d %02lld:%02lld:%02lld",
                  static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02d %02lld:%02lld:%02lld.%03lld",
                  static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60),
                  static_cast<long long>(ms));
  }
  return buf;
}

Lakehouse::Lakehouse(LakehouseOptions options, std::shared_ptr<FileSystem> fs,
                     std::shared_ptr<Clock> clock)
    : options_(std::move(options)),
      fs_(std::move(fs)),
      clock_(std::move(clock)),
      snapshots_(std::make_shared<SnapshotCache>()) {}

Lakehouse::~Lakehouse() {
  con_.reset();  // every connection goes before its database
  db_.reset();
}

Result<std::unique_ptr<Lakehouse>> Lakehouse::Open(LakehouseOptions options,
                                                   std::shared_ptr<FileSystem> fs,
                                                   std::shared_ptr<Clock> clock) {
  std::unique_ptr<Lakehouse> lake(
      new Lakehouse(std::move(options), std::move(fs), std::move(clock)));
  if (lake->options_.run_id.empty()) lake->options_.run_id = lake->ids_.NewUuid();
  DEW_ASSIGN_OR_RETURN(lake->db_, engine::Database::Open(lake->options_.database));
  DEW_ASSIGN_OR_RETURN(lake->con_, lake->db_->Connect());
  std::string schemas;
  for (Layer layer : AllLayers()) {
    schemas += "CREATE SCHEMA IF NOT EXISTS " + SqlIdent(std::string(LayerName(layer))) + ";";
  }
  DEW_RETURN_IF_ERROR(lake->con_->Execute(schemas));
  DEW_RETURN_IF_ERROR(lake->RegisterViews());
  return lake;
}

Result<std::unique_ptr<engine::Connection>> Lakehouse::Connect() {
  return db_->Connect();
}

Result<std::unique_ptr<Lakehouse>> Lakehouse::Share() {
  std::unique_ptr<Lakehouse> lake(new Lakehouse(options_, fs_, clock_));
  lake->db_ = db_;
  lake->snapshots_ = snapshots_;
  DEW_ASSIGN_OR_RETURN(lake->con_, db_->Connect());
  lake->broken_ = broken_;  // the views are the same ones
  return lake;
}

Status Lakehouse::CreateLayerFolder(const TableName& table) {
  const std::string layer = JoinPath(options_.lake_root, std::string(LayerName(table.layer)));
  if (fs_->Exists(layer)) return Status::OK();
  // The folders about to be made, deepest first; each one's parent gets a new entry to sync.
  std::vector<std::string> made;
  for (std::string dir = layer; !dir.empty() && dir != "/" && !fs_->Exists(dir);) {
    made.push_back(dir);
    const size_t slash = dir.rfind('/');
    if (slash == std::string::npos) break;
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
  DEW_RETURN_IF_ERROR(fs_->CreateDirs(layer));
  for (auto it = made.rbegin(); it != made.rend(); ++it) {
    const size_t slash = it->rfind('/');
    if (slash == std::string::npos) continue;
    DEW_RETURN_IF_ERROR(fs_->Sync(slash == 0 ? "/" : it->substr(0, slash)));
  }
  return Status::OK();
}

TableEnv Lakehouse::Env() {
  TableEnv env;
  env.fs = fs_;
  env.clock = clock_;
  env.con = con_.get();
  env.ids = &ids_;
  env.snapshots = snapshots_.get();
  return env;
}

WriteOptions Lakehouse::NewWriteOptions() const {
  WriteOptions w;
  w.run_id = options_.run_id;
  w.user = options_.user;
  return w;
}

std::string Lakehouse::TableRoot(const TableName& table) const {
  return JoinPath(JoinPath(options_.lake_root, std::string(LayerName(table.layer))), table.name);
}

bool Lakehouse::Exists(const TableName& table) {
  DeltaLog log(fs_, TableRoot(table), con_.get(), snapshots_.get());
  return log.Exists();
}

Result<std::vector<TableName>> Lakehouse::ListTables() {
  std::vector<TableName> out;
  for (Layer layer : AllLayers()) {
    const std::string dir = JoinPath(options_.lake_root, std::string(LayerName(layer)));
    auto entries = fs_->ListDir(dir);
    if (!entries.ok()) {
      if (entries.status().IsNotFound()) continue;
      return entries.status();
    }
    std::vector<std::string> names;
    for (const FileInfo& e : *entries) {
      if (!e.is_dir) continue;
      TableName t{layer, e.name};
      if (Exists(t)) names.push_back(e.name);
    }
    std::sort(names.begin(), names.end());
    for (auto& n : names) out.push_back(TableName{layer, std::move(n)});
  }
  return out;
}

Result<std::vector<TableSummary>> Lakehouse::Summaries() {
  DEW_ASSIGN_OR_RETURN(auto tables, ListTables());
  std::vector<TableSummary> out;
  for (const TableName& t : tables) {
    DeltaLog log(fs_, TableRoot(t), con_.get(), snapshots_.get());
    auto snap = log.LoadSnapshot();
    if (!snap.ok()) return snap.status().WithContext("table " + t.ToString());
    TableSummary s;
    s.name = t;
    s.version = snap->version;
    s.files = static_cast<int64_t>(snap->files.size());
    s.rows = snap->NumRecords();
    s.size_bytes = snap->SizeBytes();
    s.modified_millis = snap->timestamp_millis;
    out.push_back(std::move(s));
  }
  return out;
}

std::string Lakehouse::UnknownTableMessage(const std::string& requested) {
  std::string msg = "unknown table '" + requested + "'";
  auto tables = ListTables();
  if (!tables.ok() || tables->empty()) {
    return msg +
           ": the lake has no tables yet (create one with `dew load` or CREATE TABLE "
           "layer.name AS …)";
  }
  const std::string bare = requested.substr(requested.find('.') + 1);
  // Closest by name first; among equals, the one whose layer also matches.
  std::vector<std::tuple<size_t, size_t, std::string>> scored;
  for (const TableName& t : *tables) {
    std::string q = t.ToString();
    size_t full = EditDistance(requested, q);
    size_t d = std::min(full, EditDistance(bare, t.name));
    size_t limit = std::max<size_t>(2, bare.size() / 3);
    bool contains = bare.size() >= 3 && t.name.find(bare) != std::string::npos;
    if (d <= limit || contains) scored.emplace_back(contains ? std::min<size_t>(d, 1) : d, full, q);
  }
  std::sort(scored.begin(), scored.end());
  if (!scored.empty()) {
    msg += "; did you mean ";
    for (size_t i = 0; i < scored.size() && i < 5; i++) {
      msg += (i ? ", " : "") + std::get<2>(scored[i]);
    }
    return msg + "?";
  }
  msg += "; lake tables:";
  size_t shown = 0;
  for (const TableName& t : *tables) {
    if (shown++ == 10) {
      msg += " …";
      break;
    }
    msg += " " + t.ToString();
  }
  return msg;
}

Result<TableName> Lakehouse::Resolve(const std::string& name) {
  if (name.find('.') != std::string::npos) {
    auto parsed = ParseTableName(name);
    if (!parsed.ok()) {
      if (ParseLayer(name.substr(0, name.find('.'))).ok()) return parsed.status();
      return Status::NotFound(UnknownTableMessage(name));
    }
    if (!Exists(*parsed)) return Status::NotFound(UnknownTableMessage(name));
    return *parsed;
  }
  std::vector<TableName> found;
  for (Layer layer : AllLayers()) {
    TableName t{layer, name};
    if (Exists(t)) found.push_back(t);
  }
  if (found.size() == 1) return found[0];
  if (found.empty()) return Status::NotFound(UnknownTableMessage(name));
  std::string msg = "table name '" + name + "' is ambiguous: write one of";
  for (const auto& t : found) msg += " " + t.ToString();
  return Status::InvalidArgument(msg);
}

Result<std::unique_ptr<DeltaTable>> Lakehouse::OpenTable(const TableName& table) {
  if (!Exists(table)) return Status::NotFound(UnknownTableMessage(table.ToString()));
  return DeltaTable::Open(Env(), TableRoot(table));
}

Result<std::unique_ptr<DeltaTable>> Lakehouse::CreateTable(
    const TableName& table, const Schema& schema, const std::vector<std::string>& partitions) {
  DEW_RETURN_IF_ERROR(CheckNamingConvention(table));
  if (Exists(table)) return Status::AlreadyExists("table " + table.ToString() + " already exists");
  std::vector<std::string> canonical;
  for (const std::string& p : partitions) {
    const Field* f = schema.Find(p);
    if (f == nullptr) {
      std::string cols;
      for (const auto& n : schema.Names()) cols += (cols.empty() ? "" : ", ") + n;
      return Status::InvalidArgument("table " + table.ToString() + ": partition column '" + p +
                                     "' is not among its columns (" + cols + ")");
    }
    canonical.push_back(f->name);
  }
  DEW_RETURN_IF_ERROR(CreateLayerFolder(table));
  WriteOptions w = NewWriteOptions();
  return DeltaTable::Create(Env(), TableRoot(table), table.name, schema, canonical, w);
}

Result<CommitResult> Lakehouse::CreateTableAs(const TableName& table, const std::string& select_sql,
                                              const std::vector<std::string>& partitions,
                                              const WriteOptions& options, ViewAfterWrite view) {
  DEW_RETURN_IF_ERROR(CheckNamingConvention(table));
  if (Exists(table)) return Status::AlreadyExists("table " + table.ToString() + " already exists");
  if (options.defer_commit != nullptr && view == ViewAfterWrite::kRefresh)
    return Status::InvalidArgument(
        "creating table " + table.ToString() +
        ": a deferred commit leaves no version to refresh the view over");
  DEW_RETURN_IF_ERROR(CreateLayerFolder(table));
  CommitResult result;
  auto created = DeltaTable::CreateAs(Env(), TableRoot(table), table.name, select_sql, partitions,
                                      options, &result);
  if (!created.ok()) return created.status().WithContext("creating table " + table.ToString());
  created->reset();
  if (view == ViewAfterWrite::kRefresh) DEW_RETURN_IF_ERROR(RefreshView(table));
  return result;
}

Result<CommitResult> Lakehouse::CreateTableFromFiles(
    const TableName& table, const Schema& schema,
    const std::vector<DeltaTable::ExistingFile>& files, const WriteOptions& options) {
  DEW_RETURN_IF_ERROR(CheckNamingConvention(table));
  if (Exists(table)) return Status::AlreadyExists("table " + table.ToString() + " already exists");
  DEW_RETURN_IF_ERROR(CreateLayerFolder(table));
  CommitResult result;
  auto created = DeltaTable::CreateFromFiles(Env(), TableRoot(table), table.name, schema, files,
                                             options, &result);
  if (!created.ok()) return created.status().WithContext("creating table " + table.ToString());
  created->reset();
  DEW_RETURN_IF_ERROR(RefreshView(table));
  return result;
}

Status Lakehouse::DropTable(const TableName& table) {
  if (!Exists(table)) return Status::NotFound(UnknownTableMessage(table.ToString()));
  DEW_RETURN_IF_ERROR(con_->Execute("DROP VIEW IF EXISTS " + ViewName(table)));
  broken_.erase(table.ToString());
  snapshots_->Forget(TableRoot(table));
  return fs_->RemoveAll(TableRoot(table));
}

Status Lakehouse::RefreshView(const TableName& table) {
  if (!Exists(table)) {
    if (SqlViewExists(table)) {
      DEW_ASSIGN_OR_RETURN(std::string select_sql, fs_->ReadFile(SqlViewPath(table)));
      return con_->Execute("CREATE OR REPLACE VIEW " + ViewName(table) + " AS " + select_sql);
    }
    return con_->Execute("DROP VIEW IF EXISTS " + ViewName(table));
  }
  DeltaLog log(fs_, TableRoot(table), con_.get(), snapshots_.get());
  DEW_ASSIGN_OR_RETURN(Snapshot snap, log.LoadSnapshot());
  DEW_ASSIGN_OR_RETURN(std::string scan, ScanSql(*fs_, snap));
  broken_.erase(table.ToString());
  return con_->Execute("CREATE OR REPLACE VIEW " + ViewName(table) + " AS " + scan);
}

Result<bool> Lakehouse::HasView(const TableName& table) {
  DEW_ASSIGN_OR_RETURN(
      auto n, con_->QueryScalar("SELECT count(*) FROM duckdb_views() WHERE schema_name = " +
                                engine::SqlString(std::string(LayerName(table.layer))) +
                                " AND view_name = " + engine::SqlString(table.name)));
  return n.value_or("0") != "0";
}

Status Lakehouse::EnsureView(const TableName& table) {
  DEW_ASSIGN_OR_RETURN(bool has, HasView(table));
  return has ? Status::OK() : RefreshView(table);
}

Status Lakehouse::RefreshExistingView(const TableName& table) {
  DEW_ASSIGN_OR_RETURN(bool has, HasView(table));
  return has ? RefreshView(table) : Status::OK();
}

Status Lakehouse::RegisterViews() {
  DEW_ASSIGN_OR_RETURN(auto tables, ListTables());
  for (const TableName& t : tables) {
    if (options_.views_at_open && !options_.views_at_open(t)) continue;
    Status s = RefreshView(t);
    if (!s.ok()) broken_[t.ToString()] = s.WithContext("table " + t.ToString());
  }
  if (options_.views_at_open) return Status::OK();  // SQL views may read any table
  // SQL views may read each other: create them in rounds until none is left or a round makes
  // no progress (then the remaining ones are broken, with DuckDB's reason).
  const std::string dir = JoinPath(options_.lake_root, "_views");
  if (!fs_->Exists(dir)) return Status::OK();
  DEW_ASSIGN_OR_RETURN(std::vector<FileInfo> files, fs_->ListDir(dir));
  std::map<std::string, std::string> pending;  // "layer.name" -> select
  for (const FileInfo& f : files) {
    if (f.is_dir || f.name.size() < 5 || f.name.substr(f.name.size() - 4) != ".sql") continue;
    const std::string qualified = f.name.substr(0, f.name.size() - 4);
    if (!ParseTableName(qualified).ok()) continue;
    DEW_ASSIGN_OR_RETURN(pending[qualified], fs_->ReadFile(JoinPath(dir, f.name)));
  }
  while (!pending.empty()) {
    std::map<std::string, Status> failed;
    for (auto it = pending.begin(); it != pending.end();) {
      TableName view = *ParseTableName(it->first);
      Status s = con_->Execute("CREATE OR REPLACE VIEW " + ViewName(view) + " AS " + it->second);
      if (s.ok()) {
        broken_.erase(it->first);
        it = pending.erase(it);
      } else {
        failed[it->first] = s;
        ++it;
      }
    }
    if (failed.size() == pending.size()) {
      for (auto& [name, s] : failed) broken_[name] = s.WithContext("view " + name);
      break;
    }
  }
  return Status::OK();
}

std::string Lakehouse::SqlViewPath(const TableName& view) const {
  return JoinPath(JoinPath(options_.lake_root, "_views"), view.ToString() + ".sql");
}

bool Lakehouse::SqlViewExists(const TableName& view) {
  return fs_->Exists(SqlViewPath(view));
}

Status Lakehouse::CreateSqlView(const TableName& view, const std::string& select_sql) {
  if (Exists(view)) {
    return Status::InvalidArgument("cannot create view " + view.ToString() +
                                   ": a table has that name (drop it first)");
  }
  Status s = con_->Execute("CREATE OR REPLACE VIEW " + ViewName(view) + " AS " + select_sql);
  if (!s.ok()) return Status::InvalidArgument("view " + view.ToString() + ": " + s.message());
  DEW_RETURN_IF_ERROR(fs_->CreateDirs(JoinPath(options_.lake_root, "_views")));
  return fs_->WriteFile(SqlViewPath(view), select_sql);  // atomic: never half a definition
}

Status Lakehouse::DropSqlView(const TableName& view) {
  if (fs_->Exists(SqlViewPath(view))) DEW_RETURN_IF_ERROR(fs_->RemoveFile(SqlViewPath(view)));
  if (!Exists(view)) return con_->Execute("DROP VIEW IF EXISTS " + ViewName(view));
  return Status::OK();
}

Result<Snapshot> Lakehouse::LoadAt(DeltaLog& log, const std::string& label, const TimeTravel& at) {
  if (at.version) {
    auto latest = log.LatestVersion();
    if (latest.ok() && *at.version > *latest) {
      return Status::NotFound(label + " has no version " + std::to_string(*at.version) +
                              ": available versions are " + VersionRange(log));
    }
    auto snap = log.LoadSnapshot(*at.version);
    if (!snap.ok() && snap.status().IsNotFound()) {
      return Status::NotFound(label + " has no version " + std::to_string(*at.version) +
                              " (available versions: " + VersionRange(log) +
                              "): " + snap.status().message());
    }
    return snap;
  }
  if (at.timestamp) {
    DEW_ASSIGN_OR_RETURN(int64_t millis, ParseTimestampMillis(*at.timestamp));
    auto snap = log.LoadSnapshotAt(millis);
    if (!snap.ok() && snap.status().IsNotFound()) {
      std::string first;
      auto history = log.History();
      if (history.ok() && !history->empty()) {
        first = ", the oldest committed at " +
                FormatTimestampMillis(history->back().timestamp_millis) + " UTC";
      }
      return Status::NotFound(label + " has no version at or before '" + *at.timestamp +
                              "' (UTC): available versions are " + VersionRange(log) + first);
    }
    return snap;
  }
  return log.LoadSnapshot();
}

Result<Snapshot> Lakehouse::LoadSnapshot(const TableName& table, const TimeTravel& at) {
  auto broken = broken_.find(table.ToString());
  if (broken != broken_.end() && !at.version && !at.timestamp) return broken->second;
  if (!Exists(table)) return Status::NotFound(UnknownTableMessage(table.ToString()));
  DeltaLog log(fs_, TableRoot(table), con_.get(), snapshots_.get());
  return LoadAt(log, "table " + table.ToString(), at);
}

Result<Schema> Lakehouse::QuerySchema(const std::string& select_sql) {
  DEW_ASSIGN_OR_RETURN(auto result,
                       con_->Query("SELECT * FROM (\n" + select_sql + "\n) AS _dew_q LIMIT 0"));
  return Schema::FromDuckDb(result->names(), result->types());
}

Result<std::string> Lakehouse::ScanTable(const std::string& table, const TimeTravel& at) {
  DEW_ASSIGN_OR_RETURN(TableName name, Resolve(table));
  DEW_ASSIGN_OR_RETURN(Snapshot snap, LoadSnapshot(name, at));
  return ScanSql(*fs_, snap);
}

Result<std::string> Lakehouse::ScanPath(const std::string& path, const TimeTravel& at) {
  std::string local = path;
  if (local.rfind("file://", 0) == 0) local = local.substr(7);  // file:///abs/path
  std::string root = AbsolutePath(local, options_.cwd);
  DeltaLog log(fs_, root, con_.get(), snapshots_.get());
  if (!log.Exists()) {
    return Status::NotFound("delta_scan('" + path + "'): no Delta table at " + root +
                            " (no commits in " + log.log_dir() + ")");
  }
  DEW_ASSIGN_OR_RETURN(Snapshot snap, LoadAt(log, "delta_scan('" + path + "')", at));
  return ScanSql(*fs_, snap);
}

}  // namespace dew::lake
