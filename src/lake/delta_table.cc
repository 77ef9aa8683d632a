#include "lake/delta_table.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <utility>

#include "engine/connection.h"
#include "engine/query_result.h"
#include "lake/deletion_vector.h"
#include "lake/table_properties.h"
#include "lake/table_scan.h"

namespace dew::lake {
namespace {

using engine::Connection;
using engine::SqlIdent;
using engine::SqlString;
using nlohmann::json;

constexpr const char* kEngineInfo = "dew/0.1.0";
constexpr const char* kHiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__";
// Marker of the error() a replaceWhere overwrite raises on a row outside its predicate.
constexpr const char* kReplaceWhereMarker = "dew_replace_where_violation";
constexpr double kDefaultRetentionHours = 168;
// Unpartitioned writes roll over to a new file past this size; large enough that DuckDB keeps
// writing in parallel, small enough that rewrites by merge/delete stay bounded.
constexpr const char* kTargetFileSize = "256MB";
constexpr int64_t kCheckpointInterval = 10;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string JsonArray(const std::vector<std::string>& values) {
  json a = json::array();
  for (const auto& v : values) a.push_back(v);
  return a.dump(-1, ' ', false, json::error_handler_t::replace);  // never throws
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// DuckDB's hive partition folders percent-encode values; this undoes it.
// A partition folder name as DuckDB writes it: col=value with the value percent-encoded, and
// null as Hive's default partition.
std::string PartitionFolderName(const std::string& column,
                                const std::optional<std::string>& value) {
  if (!value.has_value()) return column + "=" + kHiveDefaultPartition;
  static const char* kHex = "0123456789ABCDEF";
  std::string out = column + "=";
  for (unsigned char c : *value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string NormalizeRoot(std::string root) {
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

// The schema of a query's rows, without running it (LIMIT 0 only binds and plans).
Result<Schema> QuerySchema(Connection* con, const std::string& sql) {
  DEW_ASSIGN_OR_RETURN(auto result, con->Query("SELECT * FROM (" + sql + ") LIMIT 0"));
  return Schema::FromDuckDb(result->names(), result->types());
}

// The schema of the rows a write's query yields: the caller's, when it knows it.
Result<Schema> RowsSchema(Connection* con, const std::string& sql, const WriteOptions& options) {
  if (options.rows_schema.has_value()) return *options.rows_schema;
  return QuerySchema(con, sql);
}

// The options a write commits with once its files hold `rows` rows: `options` themselves, or
// the copy WriteOptions::before_commit amended (in `amended`); null when it chose not to commit
// (the files in `written` are then removed, as on its error).
Result<const WriteOptions*> OptionsToCommit(const WriteOptions& options, int64_t rows,
                                            const std::vector<std::string>& written, FileSystem& fs,
                                            WriteOptions* amended) {
  if (!options.before_commit) return &options;
  *amended = options;
  amended->before_commit = nullptr;
  Result<bool> commit = options.before_commit(rows, amended);
  if (commit.ok() && *commit) return static_cast<const WriteOptions*>(amended);
  for (const auto& path : written) (void)fs.RemoveFile(path);  // best effort: vacuum's otherwise
  if (!commit.ok()) return commit.status();
  return static_cast<const WriteOptions*>(nullptr);
}

// SELECT over `inner_sql` (whose columns are `inner`) giving exactly `target`'s columns, in
// order, cast to the table's types; columns the rows lack are NULL.
Result<std::string> AlignedSelect(const std::string& inner_sql, const Schema& inner,
                                  const Schema& target) {
  std::string sql = "SELECT ";
  bool first = true;
  for (const auto& field : target.fields()) {
    DEW_ASSIGN_OR_RETURN(std::string type, DuckDbTypeOf(field));
    if (!first) sql += ", ";
    first = false;
    const Field* in = inner.Find(field.name);
    if (in == nullptr) {
      if (!field.nullable) {
        return Status::InvalidArgument(
            "column '" + field.name +
            "' is NOT NULL in the table but missing from the rows written");
      }
      sql += "CAST(NULL AS " + type + ")";
    } else {
      sql += "CAST(_dew_src." + SqlIdent(in->name) + " AS " + type + ")";
    }
    sql += " AS " + SqlIdent(field.name);
  }
  return sql + " FROM (" + inner_sql + ") AS _dew_src";
}

// The rows of the files of `snapshot` listed in `paths` (add.path values).
Snapshot SubSnapshot(const Snapshot& snapshot, const std::set<std::string>& paths) {
  Snapshot sub = snapshot;
  sub.files.clear();
  sub.file_schema_index.clear();
  for (size_t i = 0; i < snapshot.files.size(); ++i) {
    if (paths.count(snapshot.files[i].path) == 0) continue;
    sub.files.push_back(snapshot.files[i]);
    if (i < snapshot.file_schema_index.size()) {
      sub.file_schema_index.push_back(snapshot.file_schema_index[i]);
    }
  }
  return sub;
}

const AddFile* FindFile(const Snapshot& snapshot, const std::string& path) {
  auto it = std::lower_bound(snapshot.files.begin(), snapshot.files.end(), path,
                             [](const AddFile& f, const std::string& p) { return f.path < p; });
  if (it != snapshot.files.end() && it->path == path) return &*it;
  for (const auto& f : snapshot.files) {  // in case a foreign snapshot is not sorted
    if (f.path == path) return &f;
  }
  return nullptr;
}

// A count DuckDB printed; 0 when absent (NULL sum) or not a number.
// Rows of a file not deleted by its deletion vector; -1 when numRecords is unknown.
int64_t LiveRecords(const AddFile& file) {
  const int64_t n = file.NumRecords();
  if (n < 0 || !file.deletion_vector) return n;
  return n - file.deletion_vector->cardinality;
}

int64_t ParseInt(const std::optional<std::string>& text) {
  if (!text.has_value() || text->empty()) return 0;
  return std::strtoll(text->c_str(), nullptr, 10);
}

// Whether the table's column can carry min/max statistics that Delta readers compare safely.
bool MinMaxStatsType(const std::string& delta_type) {
  static const std::set<std::string> kTypes = {"byte", "short", "integer",
                                               "long", "date",  "string"};
  if (kTypes.count(delta_type) > 0) return true;
  // Statistics travel as JSON numbers, read back as doubles: only decimals of up to 15 digits
  // survive that exactly (a rounded minimum could make a reader skip a file it needs).
  int precision = 0, scale = 0;
  return std::sscanf(delta_type.c_str(), "decimal(%d,%d)", &precision, &scale) == 2 &&
         precision <= 15;
}

bool IsPrimitive(const std::string& delta_type) {
  return !delta_type.empty() && delta_type[0] != '{';
}

// One commit in the making and what it read, for conflict detection.
// kCompaction reads only the files it removes: files others add never conflict with it.
enum class TxnKind { kBlindAppend, kReadWrite, kRestore, kCompaction };

struct PendingCommit {
  int64_t read_version = -1;
  TxnKind kind = TxnKind::kReadWrite;
  CommitActions actions;
  //! Decoded paths of the files this commit removes: a winner removing one of them conflicts.
  std::set<std::string> removed_paths;
  //! Absolute paths of the data files written for this commit, deleted when it cannot commit.
  std::vector<std::string> written_files;
  //! The snapshot the operation read, and for operations that read rows through a predicate,
  //! the SQL counting the rows of a scan (its argument) that the predicate would have touched.
  //! Files a winner added conflict only when that count is not 0; without it any added file
  //! conflicts.
  const Snapshot* read_snapshot = nullptr;
  std::function<std::string(const std::string& scan)> count_matching;
  //! Commit time of the newest version known: ours must be later, so that timestamps grow with
  //! versions (time travel by timestamp searches them) even across writers' clocks.
  int64_t last_timestamp = 0;
};

// A transaction that read `snapshot`. When the write changes the table's schema to `schema`,
// the commit carries the new metaData too.
PendingCommit StartPending(const Snapshot& snapshot, TxnKind kind, const Schema& schema) {
  PendingCommit pending;
  pending.read_version = snapshot.version;
  pending.last_timestamp = snapshot.timestamp_millis;
  pending.kind = kind;
  if (schema.ToDeltaJson() != snapshot.schema.ToDeltaJson()) {
    Metadata metadata = snapshot.metadata;
    metadata.schema_string = schema.ToDeltaJson();
    pending.actions.metadata = metadata;
  }
  return pending;
}

// What COPY … (RETURN_STATS) reports of one file it wrote: its absolute path, rows, size in
// bytes, and per column (keyed by its quoted path, e.g. "id" or "s"."x") the bounds and nulls.
struct ColumnStats {
  std::optional<std::string> min;  //!< absent when every value is NULL
  std::optional<std::string> max;
  std::optional<int64_t> null_count;
};
struct WrittenFile {
  std::string path;
  int64_t rows = 0;
  int64_t size = 0;
  std::map<std::string, ColumnStats> columns;
};

// Reads COPY … (RETURN_STATS)'s rows: filename, count, file_size_bytes, footer_size_bytes,
// column_statistics MAP(VARCHAR, MAP(VARCHAR, VARCHAR)), partition_keys.
Result<std::vector<WrittenFile>> ReadWrittenFiles(engine::QueryResult* result) {
  const std::vector<std::string>& names = result->names();
  auto column = [&](const std::string& name) -> Result<uint64_t> {
    for (uint64_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return i;
    }
    return Status::Internal("COPY … (RETURN_STATS) returned no column " + name);
  };
  DEW_ASSIGN_OR_RETURN(uint64_t filename, column("filename"));
  DEW_ASSIGN_OR_RETURN(uint64_t count, column("count"));
  DEW_ASSIGN_OR_RETURN(uint64_t bytes, column("file_size_bytes"));
  DEW_ASSIGN_OR_RETURN(uint64_t statistics, column("column_statistics"));
  if (result->types()[statistics].id != engine::TypeId::kMap ||
      result->types()[statistics].children[1].id != engine::TypeId::kMap) {
    return Status::Internal("COPY … (RETURN_STATS) returned column_statistics of type " +
                            result->types()[statistics].ToSql() + ", not a map of maps");
  }
  std::vector<WrittenFile> out;
  while (true) {
    DEW_ASSIGN_OR_RETURN(auto chunk, result->Fetch());
    if (!chunk) break;
    const engine::VectorView stats = chunk->column(statistics);
    const engine::VectorView keys = stats.MapKeys(), per_column = stats.MapValues();
    const engine::VectorView stat_names = per_column.MapKeys(), values = per_column.MapValues();
    for (uint64_t row = 0; row < chunk->size(); ++row) {
      WrittenFile f;
      f.path = chunk->column(filename).GetString(row);
      f.rows = chunk->column(count).GetInt64(row);
      f.size = chunk->column(bytes).GetInt64(row);
      if (stats.IsNull(row)) {
        out.push_back(std::move(f));
        continue;
      }
      const auto columns = stats.GetListRange(row);
      for (uint64_t c = columns.offset; c < columns.offset + columns.length; ++c) {
        ColumnStats& cs = f.columns[keys.GetString(c)];
        if (per_column.IsNull(c)) continue;
        const auto entries = per_column.GetListRange(c);
        for (uint64_t e = entries.offset; e < entries.offset + entries.length; ++e) {
          if (values.IsNull(e)) continue;
          const std::string_view name = stat_names.GetStringView(e);
          if (name == "min") {
            cs.min = values.GetString(e);
          } else if (name == "max") {
            cs.max = values.GetString(e);
          } else if (name == "null_count") {
            cs.null_count = std::strtoll(values.GetString(e).c_str(), nullptr, 10);
          }
        }
      }
      out.push_back(std::move(f));
    }
  }
  return out;
}

struct WrittenFiles {
  std::vector<AddFile> adds;
  std::vector<std::string> abs_paths;
  int64_t rows = 0;
};

// The environment one operation runs in.
class TableWriter {
 public:
  TableWriter(const TableEnv& env, const std::string& root, DeltaLog& log)
      : env_(env), root_(root), log_(log) {}

  //! Writes the rows of `select_sql` as data files. `constant`, when it gives a value for every
  //! partition column, names the single partition all rows belong to.
  //! `row_group_rows` as WriteOptions::row_group_rows.
  Result<WrittenFiles> WriteFiles(const std::string& select_sql, const Snapshot& snapshot,
                                  const Schema& schema, const PartitionValues* constant = nullptr,
                                  int64_t row_group_rows = 0);
  Result<CommitResult> Commit(PendingCommit* pending, const WriteOptions& options);
  CommitInfo NewCommitInfo(const std::string& operation, const WriteOptions& options,
                           int64_t read_version, bool blind_append);
  RemoveFile RemoveOf(const AddFile& add, int64_t now);
  //! add.path of the files whose partition values satisfy `predicate`, or nullopt when the
  //! predicate reads more than partition columns (or the table has none).
  Result<std::optional<std::set<std::string>>> PartitionMatches(const Snapshot& snapshot,
                                                                const std::string& predicate);
  //! add.path -> rows matching `predicate` in that file (only files with matches).
  Result<std::map<std::string, int64_t>> FilesMatching(const Snapshot& snapshot,
                                                       const std::string& predicate);
  void DeleteWritten(const std::vector<std::string>& abs_paths);

  Connection* con() { return env_.con; }
  const std::string& root() const { return root_; }
  int64_t Now() { return env_.clock->NowMillis(); }

 private:
  Status CheckWinner(const PendingCommit& pending, int64_t version, int64_t* winner_timestamp);

  const TableEnv& env_;
  const std::string& root_;
  DeltaLog& log_;
};

Result<WrittenFiles> TableWriter::WriteFiles(const std::string& select_sql,
                                             const Snapshot& snapshot, const Schema& schema,
                                             const PartitionValues* constant,
                                             int64_t row_group_rows) {
  const auto& partition_columns = snapshot.metadata.partition_columns;
  // Every file of this write carries the same prefix, so that a COPY failing half-way (bad
  // input, interrupt) can remove the files it already wrote.
  const std::string write_id = env_.ids->NewUuid().substr(0, 8);
  // One known partition: write plainly into its folder, which is cheaper than DuckDB's
  // partitioned writer and lets files be split by size.
  std::string single_partition_dir;
  if (!partition_columns.empty() && constant != nullptr) {
    for (const auto& p : partition_columns) {
      auto it = constant->find(p);
      if (it == constant->end()) {
        single_partition_dir.clear();
        break;
      }
      single_partition_dir +=
          (single_partition_dir.empty() ? "" : "/") + PartitionFolderName(p, it->second);
    }
  }
  std::string target = root_;
  std::string query = select_sql;
  if (!single_partition_dir.empty()) {
    target = JoinPath(root_, single_partition_dir);
    DEW_RETURN_IF_ERROR(env_.fs->CreateDirs(target));
    query = "SELECT * EXCLUDE (";
    for (size_t i = 0; i < partition_columns.size(); ++i) {
      query += (i > 0 ? ", " : "") + SqlIdent(partition_columns[i]);
    }
    query += ") FROM (" + select_sql + ") AS _dew_rows";
  }
  std::string sql = "COPY (" + query + ") TO " + SqlString(target) +
                    " (FORMAT parquet, RETURN_STATS true, FILENAME_PATTERN 'part-" + write_id +
                    "-{uuid}', "
                    "OVERWRITE_OR_IGNORE";
  if (partition_columns.empty() || !single_partition_dir.empty()) {
    sql += std::string(", FILE_SIZE_BYTES '") + kTargetFileSize + "'";
  } else {
    sql += ", PARTITION_BY (";
    for (size_t i = 0; i < partition_columns.size(); ++i) {
      if (i > 0) sql += ", ";
      sql += SqlIdent(partition_columns[i]);
    }
    sql += ")";
  }
  if (row_group_rows > 0) sql += ", ROW_GROUP_SIZE " + std::to_string(row_group_rows);
  sql += ")";
  auto copied = con()->QueryMaterialized(sql);
  if (!copied.ok()) {
    auto files = env_.fs->ListRecursive(root_);
    if (files.ok()) {
      const std::string marker = "part-" + write_id + "-";
      for (const auto& f : *files) {
        const size_t slash = f.name.rfind('/');
        const std::string base = slash == std::string::npos ? f.name : f.name.substr(slash + 1);
        if (base.rfind(marker, 0) == 0) DeleteWritten({JoinPath(root_, f.name)});
      }
    }
    return copied.status();
  }
  auto written = ReadWrittenFiles(copied->get());
  copied->reset();
  if (!written.ok()) return written.status();
  WrittenFiles out;
  for (const auto& f : *written) {
    out.rows += f.rows;
    out.abs_paths.push_back(f.path);
  }
  const std::string prefix = root_ + "/";
  for (const auto& f : *written) {
    if (f.path.rfind(prefix, 0) != 0) {
      DeleteWritten(out.abs_paths);
      return Status::Internal("COPY wrote outside the table " + root_ + ": " + f.path);
    }
  }

  // The statistics Delta readers skip files by: numRecords, and per primitive column that is
  // not a partition column its nullCount and, for types whose values compare safely as JSON
  // (MinMaxStatsType), minValues and maxValues. DuckDB truncates long strings' bounds; they are
  // left out past 64 characters.
  std::vector<const Field*> stat_fields;
  for (const auto& field : schema.fields()) {
    bool is_partition = false;
    for (const auto& p : partition_columns) is_partition |= Lower(p) == Lower(field.name);
    if (!is_partition && IsPrimitive(field.type)) stat_fields.push_back(&field);
  }
  const int64_t now = Now();
  std::vector<std::string> kept;
  for (const auto& f : *written) {
    if (f.rows == 0) {
      // An empty query still makes one empty file in an unpartitioned write.
      Status removed = env_.fs->RemoveFile(f.path);
      (void)removed;
      continue;
    }
    const std::string relative = f.path.substr(prefix.size());
    AddFile add;
    add.path = EncodePath(relative);
    add.modification_time = now;
    add.data_change = true;
    add.size = f.size;
    // Folders between the root and the file are the partition values: col=value.
    size_t start = 0;
    while (true) {
      size_t slash = relative.find('/', start);
      if (slash == std::string::npos) break;
      std::string part = relative.substr(start, slash - start);
      start = slash + 1;
      size_t eq = part.find('=');
      if (eq == std::string::npos) continue;
      std::string column = UrlDecode(part.substr(0, eq));
      std::string value = UrlDecode(part.substr(eq + 1));
      for (const auto& p : partition_columns) {
        if (Lower(p) == Lower(column)) column = p;
      }
      add.partition_values[column] =
          value == kHiveDefaultPartition ? std::nullopt : std::optional<std::string>(value);
    }
    for (const auto& p : partition_columns) {
      if (add.partition_values.count(p) == 0) add.partition_values[p] = std::nullopt;
    }
    json s = {{"numRecords", f.rows}};
    json mins = json::object(), maxs = json::object(), nulls = json::object();
    for (const Field* field : stat_fields) {
      auto it = f.columns.find(SqlIdent(field->name));
      if (it == f.columns.end()) continue;
      const ColumnStats& c = it->second;
      if (MinMaxStatsType(field->type) && c.min.has_value() && c.max.has_value()) {
        const bool quoted = field->type == "string" || field->type == "date";
        if (!quoted) {
          json min = json::parse(*c.min, nullptr, false);
          json max = json::parse(*c.max, nullptr, false);
          if (!min.is_discarded() && !max.is_discarded()) {
            mins[field->name] = std::move(min);
            maxs[field->name] = std::move(max);
          }
        } else if (field->type != "string" || (c.min->size() <= 64 && c.max->size() <= 64)) {
          mins[field->name] = *c.min;
          maxs[field->name] = *c.max;
        }
      }
      if (c.null_count.has_value()) nulls[field->name] = *c.null_count;
    }
    if (!mins.empty()) s["minValues"] = mins;
    if (!maxs.empty()) s["maxValues"] = maxs;
    if (!nulls.empty()) s["nullCount"] = nulls;
    add.stats = s.dump(-1, ' ', false, json::error_handler_t::replace);
    out.adds.push_back(std::move(add));
    kept.push_back(f.path);
  }
  out.abs_paths = std::move(kept);
  return out;
}

void TableWriter::DeleteWritten(const std::vector<std::string>& abs_paths) {
  for (const auto& path : abs_paths) {
    Status s = env_.fs->RemoveFile(path);
    (void)s;  // best effort: vacuum removes what is left
  }
}

CommitInfo TableWriter::NewCommitInfo(const std::string& operation, const WriteOptions& options,
                                      int64_t read_version, bool blind_append) {
  CommitInfo info;
  info.timestamp = Now();
  info.operation = operation;
  info.operation_parameters = options.parameters;
  if (read_version >= 0) info.read_version = read_version;
  info.isolation_level = "Serializable";
  info.is_blind_append = blind_append;
  info.engine_info = kEngineInfo;
  info.user_name = options.user;
  info.run_id = options.run_id;
  return info;
}

RemoveFile TableWriter::RemoveOf(const AddFile& add, int64_t now) {
  RemoveFile remove;
  remove.path = add.path;
  remove.deletion_timestamp = now;
  remove.data_change = true;
  remove.extended_file_metadata = true;
  remove.partition_values = add.partition_values;
  remove.size = add.size;
  remove.deletion_vector = add.deletion_vector;
  return remove;
}

Status TableWriter::CheckWinner(const PendingCommit& pending, int64_t version,
                                int64_t* winner_timestamp) {
  DEW_ASSIGN_OR_RETURN(CommitActions winner, log_.ReadCommit(version));
  if (winner.commit_info.has_value() && winner.commit_info->timestamp.has_value()) {
    *winner_timestamp = std::max(*winner_timestamp, *winner.commit_info->timestamp);
  }
  auto conflict = [&](const std::string& reason) {
    return Status::Conflict("table " + root_ + ": this write read version " +
                            std::to_string(pending.read_version) + " but version " +
                            std::to_string(version) + ", committed meanwhile, " + reason +
                            "; retry the operation");
  };
  if (winner.protocol.has_value()) return conflict("changed the protocol");
  if (winner.metadata.has_value()) return conflict("changed the table's metadata or schema");
  if (pending.kind == TxnKind::kBlindAppend) return Status::OK();
  std::vector<AddFile> added;
  for (const auto& add : winner.adds) {
    if (add.data_change) added.push_back(add);
  }
  if (!added.empty() && pending.kind != TxnKind::kCompaction) {
    const std::string reason =
        "added file " + added[0].path + " holding rows this operation would have had to read";
    if (!pending.count_matching || pending.read_snapshot == nullptr) return conflict(reason);
    // Would our predicate have matched any row the winner added? Scan just those files.
    Snapshot theirs = *pending.read_snapshot;
    theirs.files = added;
    theirs.file_schema_index.clear();  // the schema is unchanged, or metadata conflicted above
    auto scan = ScanSql(*env_.fs, theirs);
    if (!scan.ok()) return conflict(reason);
    auto count = con()->QueryScalar(pending.count_matching(*scan));
    if (!count.ok() || ParseInt(*count) != 0) return conflict(reason);
  }
  for (const auto& remove : winner.removes) {
    // Also a compaction's (dataChange=false) removes: the files a restore re-adds would
    // then hold rows the compacted files hold too.
    if (pending.kind == TxnKind::kRestore) {
      return conflict("removed file " + remove.path);
    }
    if (pending.removed_paths.count(DecodePath(remove.path)) > 0) {
      return conflict("removed file " + remove.path + " that this operation also rewrites");
    }
  }
  return Status::OK();
}

Result<CommitResult> TableWriter::Commit(PendingCommit* pending, const WriteOptions& options) {
  CommitResult result;
  int64_t version = pending->read_version + 1;
  pending->actions.txns.insert(pending->actions.txns.end(), options.txns.begin(),
                               options.txns.end());
  const int max_attempts = std::max(1, options.max_commit_attempts);
  for (int attempt = 1;; ++attempt) {
    if (pending->actions.commit_info.has_value()) {
      pending->actions.commit_info->timestamp = std::max(Now(), pending->last_timestamp + 1);
    }
    Status s = log_.WriteCommit(version, pending->actions);
    if (s.ok()) {
      result.version = version;
      result.attempts = attempt;
      break;
    }
    if (!s.IsAlreadyExists()) {
      // The commit may or may not have landed; the files stay for vacuum to judge.
      return s.WithContext("committing version " + std::to_string(version) + " of " + root_);
    }
    if (attempt >= max_attempts) {
      DeleteWritten(pending->written_files);
      return Status::Conflict("table " + root_ + ": gave up after " + std::to_string(attempt) +
                              " commit attempts, other writers kept taking the next version "
                              "(last tried " +
                              std::to_string(version) + ")");
    }
    // Read every commit we missed; rebase on top of them when none collides with ours.
    while (true) {
      Status check = CheckWinner(*pending, version, &pending->last_timestamp);
      if (check.IsNotFound()) break;
      if (!check.ok()) {
        DeleteWritten(pending->written_files);
        return check;
      }
      ++version;
    }
  }
  if (result.version > 0 && result.version % kCheckpointInterval == 0) {
    // The commit stands whatever happens here: a missing checkpoint only slows readers down.
    auto snapshot = log_.LoadSnapshot(result.version);
    if (snapshot.ok()) {
      Status s = log_.WriteCheckpoint(*snapshot);
      (void)s;
    }
  }
  result.files_added = static_cast<int64_t>(pending->actions.adds.size());
  result.files_removed = static_cast<int64_t>(pending->actions.removes.size());
  return result;
}

// The rest of a write once its files are written, `commit` run on `pending`, as a
// DeferredCommit: it owns what it needs and works through the connection it is given.
using CommitStep = std::function<Result<CommitResult>(TableWriter& writer, PendingCommit* pending)>;
DeferredCommit DeferCommit(TableEnv env, std::string root, PendingCommit pending,
                           CommitStep commit) {
  env.ids = nullptr;  // the write's id generator stays with its thread; a commit makes no ids
  auto state = std::make_shared<PendingCommit>(std::move(pending));
  return [env = std::move(env), root = std::move(root), state,
          commit = std::move(commit)](Connection* con) -> Result<CommitResult> {
    TableEnv here = env;
    here.con = con;
    DeltaLog log(here.fs, root, con, here.snapshots);
    TableWriter writer(here, root, log);
    return commit(writer, state.get());
  };
}

Result<std::optional<std::set<std::string>>> TableWriter::PartitionMatches(
    const Snapshot& snapshot, const std::string& predicate) {
  const auto& partition_columns = snapshot.metadata.partition_columns;
  if (partition_columns.empty()) return std::optional<std::set<std::string>>();
  std::vector<std::string> types;
  for (const auto& p : partition_columns) {
    const Field* field = snapshot.schema.Find(p);
    if (field == nullptr) {
      return Status::Corruption("partition column '" + p + "' is not in the schema of " + root_);
    }
    DEW_ASSIGN_OR_RETURN(std::string type, DuckDbTypeOf(*field));
    types.push_back(type);
  }
  // A relation holding only the partition columns: the predicate binds to it only when it reads
  // nothing else, and then decides whole files from their partition values.
  std::string rows;
  for (size_t i = 0; i < snapshot.files.size(); ++i) {
    rows += i == 0 ? "(" : ", (";
    rows += SqlString(snapshot.files[i].path);
    for (size_t c = 0; c < partition_columns.size(); ++c) {
      rows += ", ";
      auto it = snapshot.files[i].partition_values.find(partition_columns[c]);
      if (it == snapshot.files[i].partition_values.end() || !it->second.has_value()) {
        rows += "CAST(NULL AS " + types[c] + ")";
      } else {
        rows += "CAST(" + SqlString(*it->second) + " AS " + types[c] + ")";
      }
    }
    rows += ")";
  }
  std::string names = "_dew_file";
  std::string empty = "SELECT CAST(NULL AS VARCHAR) AS _dew_file";
  for (size_t c = 0; c < partition_columns.size(); ++c) {
    names += ", " + SqlIdent(partition_columns[c]);
    empty += ", CAST(NULL AS " + types[c] + ") AS " + SqlIdent(partition_columns[c]);
  }
  // Bind first against an empty relation so that a predicate over other columns is told apart
  // from a predicate that fails on some values.
  auto probe = con()->QueryText("SELECT count(*) FROM (" + empty + ") WHERE " + predicate);
  if (!probe.ok()) return std::optional<std::set<std::string>>();
  std::set<std::string> matched;
  if (snapshot.files.empty()) return std::optional<std::set<std::string>>(matched);
  DEW_ASSIGN_OR_RETURN(auto table, con()->QueryText("SELECT _dew_file FROM (VALUES " + rows +
                                                    ") AS t(" + names + ") WHERE " + predicate));
  for (const auto& row : table.rows) {
    if (row[0].has_value()) matched.insert(*row[0]);
  }
  return std::optional<std::set<std::string>>(matched);
}

Result<std::map<std::string, int64_t>> TableWriter::FilesMatching(const Snapshot& snapshot,
                                                                  const std::string& predicate) {
  std::map<std::string, int64_t> out;
  if (snapshot.files.empty()) return out;
  DEW_ASSIGN_OR_RETURN(std::string scan, ScanSql(*env_.fs, snapshot, /*with_file_name=*/true));
  DEW_ASSIGN_OR_RETURN(auto table, con()->QueryText("SELECT _dew_file, count(*) FROM (" + scan +
                                                    ") WHERE " + predicate + " GROUP BY 1"));
  for (const auto& row : table.rows) {
    if (row[0].has_value()) out[*row[0]] = ParseInt(row[1]);
  }
  return out;
}

// Compares a statistics value (JSON) with a value printed by DuckDB, for a column of a type
// MinMaxStatsType accepts. nullopt when they cannot be compared.
std::optional<int> CompareStat(const json& stat, const std::string& value,
                               const std::string& delta_type) {
  if (delta_type == "string" || delta_type == "date") {
    if (!stat.is_string()) return std::nullopt;
    const int c = stat.get<std::string>().compare(value);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (!stat.is_number()) return std::nullopt;
  if (stat.is_number_integer() && value.find_first_of(".eE") == std::string::npos) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(value.c_str(), &end, 10);
    if (errno != 0 || end == value.c_str() || *end != '\0') return std::nullopt;
    const long long st = stat.get<long long>();
    return st < v ? -1 : (st > v ? 1 : 0);
  }
  char* end = nullptr;
  const long double v = std::strtold(value.c_str(), &end);
  if (end == value.c_str() || *end != '\0') return std::nullopt;
  const long double st = stat.get<double>();
  return st < v ? -1 : (st > v ? 1 : 0);
}

// The add.path of the files a merge must scan for the source's keys: with one key column,
// files whose min/max statistics exclude every source key are skipped; files without usable
// statistics are always scanned.
Result<std::set<std::string>> FilesInKeyRange(Connection* con, const Snapshot& snapshot,
                                              const std::vector<std::string>& keys,
                                              const std::string& source) {
  std::set<std::string> all;
  for (const auto& f : snapshot.files) all.insert(f.path);
  if (keys.size() != 1 || all.empty()) return all;
  const Field* field = snapshot.schema.Find(keys[0]);
  if (field == nullptr || !MinMaxStatsType(field->type)) return all;
  DEW_ASSIGN_OR_RETURN(auto range, con->QueryText("SELECT CAST(min(" + SqlIdent(keys[0]) +
                                                  ") AS VARCHAR), CAST(max(" + SqlIdent(keys[0]) +
                                                  ") AS VARCHAR) FROM " + source + " AS _dew_s"));
  if (range.rows.size() != 1) return all;
  const auto& low = range.rows[0][0];
  const auto& high = range.rows[0][1];
  if (!low.has_value() || !high.has_value()) return std::set<std::string>();  // only NULL keys
  std::set<std::string> out;
  for (const auto& f : snapshot.files) {
    json stats = json::parse(f.stats, nullptr, /*allow_exceptions=*/false);
    const json* file_min = nullptr;
    const json* file_max = nullptr;
    if (stats.is_object() && stats.contains("minValues") && stats.contains("maxValues") &&
        stats["minValues"].is_object() && stats["maxValues"].is_object()) {
      auto mn = stats["minValues"].find(field->name);
      auto mx = stats["maxValues"].find(field->name);
      if (mn != stats["minValues"].end()) file_min = &*mn;
      if (mx != stats["maxValues"].end()) file_max = &*mx;
    }
    if (file_min != nullptr && file_max != nullptr) {
      auto max_below = CompareStat(*file_max, *low, field->type);
      auto min_above = CompareStat(*file_min, *high, field->type);
      if (max_below.has_value() && min_above.has_value() && (*max_below < 0 || *min_above > 0)) {
        continue;  // every key of this file lies outside the source's range
      }
    }
    out.insert(f.path);
  }
  return out;
}

// Checks `predicate` is a valid boolean expression over the table's columns.
Status CheckPredicate(Connection* con, const Schema& schema, const std::string& predicate,
                      const std::string& root) {
  if (predicate.find_first_not_of(" \t\n\r") == std::string::npos) {
    return Status::InvalidArgument("empty predicate for table " + root);
  }
  std::string sql = "SELECT ";
  bool first = true;
  for (const auto& field : schema.fields()) {
    DEW_ASSIGN_OR_RETURN(std::string type, DuckDbTypeOf(field));
    if (!first) sql += ", ";
    first = false;
    sql += "CAST(NULL AS " + type + ") AS " + SqlIdent(field.name);
  }
  auto probe =
      con->QueryText("SELECT count(*) FROM (" + sql + " WHERE false) WHERE (" + predicate + ")");
  if (!probe.ok()) {
    return Status::InvalidArgument("invalid predicate '" + predicate + "' for table " + root +
                                   ": " + probe.status().message());
  }
  return Status::OK();
}

// Whether merge and delete mark rows in deletion vectors instead of rewriting files: the table
// supports the feature and its property enables it, as the protocol requires.
bool WritesDeletionVectors(const Snapshot& snapshot) {
  auto it = snapshot.metadata.configuration.find(kEnableDeletionVectorsProperty);
  return snapshot.protocol.HasWriterFeature(kDeletionVectorsFeature) &&
         it != snapshot.metadata.configuration.end() && it->second == "true";
}

// add.path -> positions of rows to delete in that file, from a query returning one row
// (add.path VARCHAR, position BIGINT) per row to delete. The positions come as chunks of
// integers: a string_agg of them per file, parsed back, cost 6-7 ms of CPU more for 50,000 rows.
Result<std::map<std::string, RoaringBitmapArray>> PositionsByFile(Connection* con,
                                                                  const std::string& sql) {
  std::map<std::string, std::vector<uint64_t>> positions;
  DEW_ASSIGN_OR_RETURN(auto result, con->Query("SELECT CAST(_dew_f AS VARCHAR), CAST(_dew_p AS "
                                               "BIGINT) FROM (" +
                                               sql + ") AS _dew_q(_dew_f, _dew_p)"));
  std::vector<uint64_t>* file = nullptr;  // the last row's file's positions
  std::string file_name;
  while (true) {
    DEW_ASSIGN_OR_RETURN(auto chunk, result->Fetch());
    if (!chunk) break;
    const engine::VectorView paths = chunk->column(0), rows = chunk->column(1);
    for (uint64_t i = 0; i < chunk->size(); ++i) {
      if (paths.IsNull(i) || rows.IsNull(i)) continue;
      const std::string_view path = paths.GetStringView(i);
      if (file == nullptr || path != file_name) {
        file_name = std::string(path);
        file = &positions[file_name];
      }
      file->push_back(static_cast<uint64_t>(rows.GetInt64(i)));
    }
  }
  std::map<std::string, RoaringBitmapArray> out;
  for (auto& [path, values] : positions) out[path] = RoaringBitmapArray(std::move(values));
  return out;
}

// Marks `deleted` rows of the snapshot's files in deletion vectors (a union with each file's
// old DV), adding to `pending` a remove of each file's old add and an add of the same path with
// the new DV, or only the remove when no row of the file is left. One DV file holds the commit's
// DVs. Returns the rows newly deleted.
Result<int64_t> MarkDeleted(const TableEnv& env, const std::string& root, TableWriter& writer,
                            const Snapshot& snapshot,
                            const std::map<std::string, RoaringBitmapArray>& deleted,
                            PendingCommit* pending) {
  const int64_t now = writer.Now();
  int64_t rows = 0;
  std::vector<const AddFile*> kept;
  std::vector<int64_t> record_counts;
  std::vector<RoaringBitmapArray> bitmaps;
  for (const auto& [path, positions] : deleted) {
    const AddFile* f = FindFile(snapshot, path);
    if (f == nullptr) continue;
    RoaringBitmapArray bitmap;
    if (f->deletion_vector) {
      auto old = ReadDeletionVector(*env.fs, root, *f->deletion_vector);
      if (!old.ok()) return old.status().WithContext("reading the deletion vector of " + path);
      bitmap = std::move(*old);
    }
    int64_t records = f->NumRecords();
    if (records < 0) {
      // The protocol wants numRecords on a file with a DV; the Parquet footer knows it.
      DEW_ASSIGN_OR_RETURN(auto count,
                           env.con->QueryScalar("SELECT count(*) FROM read_parquet(" +
                                                SqlString(JoinPath(root, DecodePath(path))) + ")"));
      records = ParseInt(count);
    }
    const uint64_t before = bitmap.Cardinality();
    bitmap.Union(positions);
    rows += static_cast<int64_t>(bitmap.Cardinality() - before);
    pending->actions.removes.push_back(writer.RemoveOf(*f, now));
    pending->removed_paths.insert(DecodePath(path));
    if (static_cast<int64_t>(bitmap.Cardinality()) >= records) continue;  // all gone
    kept.push_back(f);
    record_counts.push_back(records);
    bitmaps.push_back(std::move(bitmap));
  }
  if (kept.empty()) return rows;
  const std::string uuid = env.ids->NewUuid();
  DEW_ASSIGN_OR_RETURN(auto descriptors, WriteDeletionVectors(*env.fs, root, uuid, bitmaps));
  DEW_ASSIGN_OR_RETURN(std::string dv_path, DeletionVectorPath(root, descriptors[0]));
  pending->written_files.push_back(dv_path);
  for (size_t i = 0; i < kept.size(); ++i) {
    AddFile add = *kept[i];
    add.deletion_vector = descriptors[i];
    add.data_change = true;
    if (add.NumRecords() < 0) {
      json stats = json::parse(add.stats, nullptr, /*allow_exceptions=*/false);
      if (!stats.is_object()) stats = json::object();
      stats["numRecords"] = record_counts[i];
      add.stats = stats.dump();
    }
    pending->actions.adds.push_back(std::move(add));
  }
  return rows;
}

// The table's files touched by a predicate: whole files to drop and files to rewrite.
struct Affected {
  std::set<std::string> dropped;    // add.path of files whose every row matches
  std::set<std::string> rewritten;  // add.path of files with some matching rows
  int64_t rows_matched = 0;
};

Result<Affected> FindAffected(TableWriter& writer, const Snapshot& snapshot,
                              const std::string& predicate) {
  Affected affected;
  DEW_ASSIGN_OR_RETURN(auto by_partition, writer.PartitionMatches(snapshot, predicate));
  if (by_partition.has_value()) {
    affected.dropped = std::move(*by_partition);
    for (const auto& path : affected.dropped) {
      const AddFile* f = FindFile(snapshot, path);
      if (f != nullptr && f->NumRecords() > 0) affected.rows_matched += LiveRecords(*f);
    }
    return affected;
  }
  DEW_ASSIGN_OR_RETURN(auto matching, writer.FilesMatching(snapshot, predicate));
  for (const auto& [path, count] : matching) {
    const AddFile* f = FindFile(snapshot, path);
    if (f == nullptr) continue;
    affected.rows_matched += count;
    if (LiveRecords(*f) == count) {
      affected.dropped.insert(path);
    } else {
      affected.rewritten.insert(path);
    }
  }
  return affected;
}

// Whether every listed table feature is one dew supports (deletion vectors).
bool OnlyDeletionVectors(const std::optional<std::vector<std::string>>& features) {
  if (!features) return false;
  for (const auto& f : *features) {
    if (f != kDeletionVectorsFeature) return false;
  }
  return true;
}

// dew writes protocol reader 1 / writer 2, and reader 3 / writer 7 with deletion vectors as the
// only feature; a table needing more (column mapping, change data feed…) would be corrupted by a
// writer that ignores those features.
Status CheckWritable(const Snapshot& snapshot) {
  const Protocol& p = snapshot.protocol;
  if (p.min_reader_version == 3 && p.min_writer_version == 7 &&
      OnlyDeletionVectors(p.reader_features) && OnlyDeletionVectors(p.writer_features)) {
    return Status::OK();
  }
  if (snapshot.protocol.min_writer_version > 2 || snapshot.protocol.min_reader_version > 1) {
    return Status::NotSupported("table " + snapshot.table_root + " needs Delta reader version " +
                                std::to_string(snapshot.protocol.min_reader_version) +
                                " / writer version " +
                                std::to_string(snapshot.protocol.min_writer_version) +
                                "; dew writes only tables of reader version 1 / writer version 2");
  }
  return Status::OK();
}

// Checks that `files` (Parquet files of another table) hold exactly `schema`'s columns, in
// order and of its types, from their footers: a scan reads a file's columns by name and casts
// them, so a file of other types would not fail but silently change values. InvalidArgument
// naming the table `name` otherwise.
Status CheckFilesColumns(Connection* con, const std::string& name, const Schema& schema,
                         const std::vector<DeltaTable::ExistingFile>& files) {
  if (files.empty()) return Status::OK();
  std::string list;
  for (const auto& f : files) list += (list.empty() ? "" : ", ") + SqlString(f.path);
  DEW_ASSIGN_OR_RETURN(Schema found, QuerySchema(con, "SELECT * FROM read_parquet([" + list +
                                                          "], hive_partitioning = false)"));
  if (found.Names() != schema.Names()) {
    return Status::InvalidArgument("the files given for table " + name +
                                   " do not hold its columns in order");
  }
  for (const auto& field : schema.fields()) {
    DEW_ASSIGN_OR_RETURN(std::string want, DuckDbTypeOf(field));
    DEW_ASSIGN_OR_RETURN(std::string have, DuckDbTypeOf(*found.Find(field.name)));
    if (have != want) {
      return Status::InvalidArgument("column '" + field.name + "' of the files given for table " +
                                     name + " is " + have + ", not " + want);
    }
  }
  return Status::OK();
}

// Whether a merge may link `files` (MergeOptions::source_files) as its new rows instead of
// writing them: there are some, the table is unpartitioned, their stats count `source_rows`
// (-1: the merge writes other rows besides the source's) and their columns are `schema`'s.
Result<bool> CanLinkSource(Connection* con, const std::string& root, const Snapshot& snapshot,
                           const Schema& schema, const std::vector<ExistingFile>& files,
                           int64_t source_rows) {
  if (files.empty() || source_rows < 0 || !snapshot.metadata.partition_columns.empty()) {
    return false;
  }
  int64_t rows = 0;
  for (const auto& f : files) {
    AddFile add;
    add.stats = f.stats;
    if (add.NumRecords() < 0) return false;
    rows += add.NumRecords();
  }
  if (rows != source_rows) return false;
  Status columns = CheckFilesColumns(con, root, schema, files);
  if (columns.IsInvalidArgument()) return false;
  DEW_RETURN_IF_ERROR(columns);
  return true;
}

// Gives each of `files` a name of its own in the table's folder `root` (FileSystem::Link: a
// hard link, or a copy) and adds it to `pending` (its written_files and adds, stats kept).
// Returns the rows they hold. On failure the links made so far are removed.
Result<int64_t> LinkFiles(const TableEnv& env, TableWriter& writer, const std::string& root,
                          const std::string& name,
                          const std::vector<DeltaTable::ExistingFile>& files,
                          PendingCommit* pending) {
  // Names of this write's own, so that a second attempt after a kill never meets the first's.
  const std::string write_id = env.ids->NewUuid().substr(0, 8);
  const int64_t now = writer.Now();
  int64_t rows = 0;
  std::vector<std::string> linked;
  for (const auto& f : files) {
    std::string base = f.path.substr(f.path.rfind('/') + 1);
    if (base.rfind("part-", 0) == 0) base = base.substr(5);
    base = "part-" + write_id + "-" + base;
    const std::string target = JoinPath(root, base);
    Status link = env.fs->Link(f.path, target);
    if (!link.ok()) {
      writer.DeleteWritten(linked);
      return link.WithContext("linking files into table " + name);
    }
    linked.push_back(target);
    auto info = env.fs->Stat(target);
    if (!info.ok()) {
      writer.DeleteWritten(linked);
      return info.status();
    }
    AddFile add;
    add.path = EncodePath(base);
    add.size = static_cast<int64_t>(info->size);
    add.modification_time = now;
    add.data_change = true;
    add.stats = f.stats;
    rows += std::max<int64_t>(0, add.NumRecords());
    pending->actions.adds.push_back(std::move(add));
  }
  pending->written_files.insert(pending->written_files.end(), linked.begin(), linked.end());
  return rows;
}

}  // namespace

namespace {

// The metaData of a new table, after checking its columns and partition columns.
Result<Metadata> NewTableMetadata(const TableEnv& env, const std::string& name,
                                  const Schema& schema,
                                  const std::vector<std::string>& partition_columns) {
  if (schema.fields().empty()) {
    return Status::InvalidArgument("table " + name + " needs at least one column");
  }
  std::set<std::string> seen;
  for (const auto& field : schema.fields()) {
    if (!seen.insert(Lower(field.name)).second) {
      return Status::InvalidArgument("column '" + field.name + "' appears twice in table " + name);
    }
    DEW_ASSIGN_OR_RETURN(std::string type, DuckDbTypeOf(field));
    (void)type;
  }
  Metadata metadata;
  std::set<std::string> partitions;
  for (const auto& p : partition_columns) {
    const Field* field = schema.Find(p);
    if (field == nullptr) {
      return Status::InvalidArgument("partition column '" + p + "' is not a column of table " +
                                     name);
    }
    if (!IsPrimitive(field->type)) {
      return Status::InvalidArgument("partition column '" + p + "' of table " + name +
                                     " must have a primitive type, not " + field->type);
    }
    if (!partitions.insert(Lower(p)).second) {
      return Status::InvalidArgument("partition column '" + p + "' is listed twice");
    }
    metadata.partition_columns.push_back(field->name);
  }
  if (partitions.size() == schema.fields().size()) {
    return Status::InvalidArgument("table " + name +
                                   " needs at least one column that is not a partition column");
  }
  metadata.id = env.ids->NewUuid();
  metadata.name = name;
  metadata.schema_string = schema.ToDeltaJson();
  metadata.created_time = env.clock->NowMillis();
  return metadata;
}

}  // namespace

DeltaTable::DeltaTable(TableEnv env, std::string root)
    : env_(std::move(env)),
      root_(NormalizeRoot(std::move(root))),
      log_(env_.fs, root_, env_.con, env_.snapshots) {}

Result<std::unique_ptr<DeltaTable>> DeltaTable::Create(
    const TableEnv& env, const std::string& root, const std::string& name, const Schema& schema,
    const std::vector<std::string>& partition_columns, const WriteOptions& options) {
  std::unique_ptr<DeltaTable> table(new DeltaTable(env, root));
  if (table->log_.Exists()) {
    return Status::AlreadyExists("a Delta table already exists at " + table->root_);
  }
  DEW_ASSIGN_OR_RETURN(Metadata metadata, NewTableMetadata(env, name, schema, partition_columns));

  CommitActions actions;
  actions.protocol = Protocol{1, 2};
  actions.metadata = metadata;
  TableWriter writer(table->env_, table->root_, table->log_);
  CommitInfo info = writer.NewCommitInfo("CREATE TABLE", options, -1, /*blind_append=*/true);
  info.operation_parameters["isManaged"] = "false";
  info.operation_parameters["partitionBy"] = JsonArray(metadata.partition_columns);
  info.operation_parameters["properties"] = "{}";
  actions.commit_info = info;
  DEW_RETURN_IF_ERROR(env.fs->CreateDirs(table->log_.log_dir()));
  Status s = table->log_.WriteCommit(0, actions);
  if (s.IsAlreadyExists()) {
    return Status::AlreadyExists("a Delta table already exists at " + table->root_);
  }
  DEW_RETURN_IF_ERROR(s);
  return table;
}

Result<std::unique_ptr<DeltaTable>> DeltaTable::Open(const TableEnv& env, const std::string& root) {
  std::unique_ptr<DeltaTable> table(new DeltaTable(env, root));
  if (!table->log_.Exists()) return Status::NotFound("no Delta table at " + table->root_);
  return table;
}

Result<Snapshot> DeltaTable::Latest() {
  return log_.LoadSnapshot();
}

Result<CommitResult> DeltaTable::Append(const std::string& select_sql,
                                        const WriteOptions& options) {
  TableWriter writer(env_, root_, log_);
  DEW_ASSIGN_OR_RETURN(Snapshot snapshot, Latest());
  DEW_RETURN_IF_ERROR(CheckWritable(snapshot));
  DEW_ASSIGN_OR_RETURN(Schema incoming, RowsSchema(env_.con, select_sql, options));
  auto merged = snapshot.schema.Merge(incoming, options.merge_schema);
  if (!merged.ok()) return merged.status().WithContext("appending to " + root_);
  DEW_ASSIGN_OR_RETURN(std::string aligned, AlignedSelect(select_sql, incoming, *merged));

  PendingCommit pending = StartPending(snapshot, TxnKind::kBlindAppend, *merged);
  DEW_ASSIGN_OR_RETURN(WrittenFiles written,
                       writer.WriteFiles(aligned, snapshot, *merged, &options.constant_partitions,
                                         options.row_group_rows));
  WriteOptions amended;
  DEW_ASSIGN_OR_RETURN(
      const WriteOptions* committing,
      OptionsToCommit(options, written.rows, written.abs_paths, *env_.fs, &amended));
  if (committing == nullptr) return CommitResult();
  pending.written_files = written.abs_paths;
  pending.actions.adds = std::move(written.adds);
  CommitInfo info = writer.NewCommitInfo("WRITE", *committing, snapshot.version, true);
  info.operation_parameters["mode"] = "Append";
  info.operation_parameters["partitionBy"] = JsonArray(snapshot.metadata.partition_columns);
  info.operation_metrics["numFiles"] = std::to_string(pending.actions.adds.size());
  info.operation_metrics["numOutputRows"] = std::to_string(written.rows);
  int64_t bytes = 0;
  for (const auto& a : pending.actions.adds) bytes += a.size;
  info.operation_metrics["numOutputBytes"] = std::to_string(bytes);
  pending.actions.commit_info = info;
  DEW_ASSIGN_OR_RETURN(CommitResult result, writer.Commit(&pending, *committing));
  result.rows_added = written.rows;
  return result;
}

Result<CommitResult> DeltaTable::Overwrite(const std::string& select_sql,
                                           const std::optional<std::string>& replace_where,
                                           const WriteOptions& options) {
  TableWriter writer(env_, root_, log_);
  DEW_ASSIGN_OR_RETURN(Snapshot snapshot, Latest());
  DEW_RETURN_IF_ERROR(CheckWritable(snapshot));
  DEW_ASSIGN_OR_RETURN(Schema incoming, RowsSchema(env_.con, select_sql, options));
  Result<Schema> merged = Status::Internal("no schema");
  if (options.overwrite_schema && !replace_where.has_value()) {
    for (const std::string& p : snapshot.metadata.partition_columns) {
      if (incoming.Find(p) == nullptr)
        return Status::InvalidArgument("overwriting " + root_ +
                                       " with a new schema: partition column '" + p +
                                       "' is missing from the new rows");
    }
    merged = incoming;
  } else {
    merged = snapshot.schema.Merge(incoming, options.merge_schema);
  }
  if (!merged.ok()) return merged.status().WithContext("overwriting " + root_);
  DEW_ASSIGN_OR_RETURN(std::string aligned, AlignedSelect(select_sql, incoming, *merged));

  PendingCommit pending = StartPending(snapshot, TxnKind::kReadWrite, *merged);
  const int64_t now = writer.Now();
  std::set<std::string> removed;
  int64_t rows_removed = 0;
  std::string to_write = aligned;
  if (!replace_where.has_value()) {
    for (const auto& f : snapshot.files) removed.insert(f.path);
    rows_removed = snapshot.NumRecords();
  } else {
    const std::string& predicate = *replace_where;
    DEW_RETURN_IF_ERROR(CheckPredicate(env_.con, *merged, predicate, root_));
    pending.read_snapshot = &snapshot;
    pending.count_matching = [predicate](const std::string& scan) {
      return "SELECT count(*) FROM (" + scan + ") AS _dew_t WHERE (" + predicate + ")";
    };
    DEW_ASSIGN_OR_RETURN(Affected affected, FindAffected(writer, snapshot, predicate));
    rows_removed = affected.rows_matched;
    removed = affected.dropped;
    removed.insert(affected.rewritten.begin(), affected.rewritten.end());
    // error() stops the write at the first row outside the predicate without a second pass.
    to_write = "SELECT * FROM (" + aligned + ") AS _dew_new WHERE CASE WHEN coalesce((" +
               predicate + "), false) THEN true ELSE error('" + kReplaceWhereMarker + "') END";
    if (!affected.rewritten.empty()) {
      DEW_ASSIGN_OR_RETURN(std::string kept_scan,
                           ScanSql(*env_.fs, SubSnapshot(snapshot, affected.rewritten)));
      DEW_ASSIGN_OR_RETURN(
          std::string kept,
          AlignedSelect("SELECT * FROM (" + kept_scan + ") AS _dew_old WHERE NOT coalesce((" +
                            predicate + "), false)",
                        snapshot.schema, *merged));
      to_write += " UNION ALL " + kept;
    }
  }
  auto written = writer.WriteFiles(to_write, snapshot, *merged);
  if (!written.ok()) {
    if (replace_where.has_value() &&
        written.status().message().find(kReplaceWhereMarker) != std::string::npos) {
      auto count = env_.con->QueryScalar("SELECT count(*) FROM (" + aligned +
                                         ") AS _dew_new WHERE NOT coalesce((" + *replace_where +
                                         "), false)");
      return Status::InvalidArgument(
          (count.ok() && count->has_value() ? **count : std::string("some")) + " rows written to " +
          root_ + " do not match the replace_where predicate '" + *replace_where +
          "'; nothing was written");
    }
    return written.status();
  }
  for (const auto& path : removed) {
    const AddFile* f = FindFile(snapshot, path);
    if (f == nullptr) continue;
    pending.actions.removes.push_back(writer.RemoveOf(*f, now));
    pending.removed_paths.insert(DecodePath(path));
  }
  pending.written_files = written->abs_paths;
  pending.actions.adds = std::move(written->adds);
  CommitInfo info = writer.NewCommitInfo("WRITE", options, snapshot.version, false);
  info.operation_parameters["mode"] = "Overwrite";
  info.operation_parameters["partitionBy"] = JsonArray(snapshot.metadata.partition_columns);
  if (replace_where.has_value()) {
    info.operation_parameters["predicate"] = JsonArray({*replace_where});
  }
  info.operation_metrics["numFiles"] = std::to_string(pending.actions.adds.size());
  info.operation_metrics["numOutputRows"] = std::to_string(written->rows);
  info.operation_metrics["numRemovedFiles"] = std::to_string(pending.actions.removes.size());
  info.operation_metrics["numDeletedRows"] = std::to_string(std::max<int64_t>(rows_removed, 0));
  pending.actions.commit_info = info;
  WriteOptions committing = options;
  committing.defer_commit = nullptr;  // the caller's, gone by the time a deferred commit runs
  CommitStep commit = [rows_added = written->rows,
                       rows_removed = std::max<int64_t>(rows_removed, 0),
                       committing](TableWriter& w, PendingCommit* p) -> Result<CommitResult> {
    DEW_ASSIGN_OR_RETURN(CommitResult result, w.Commit(p, committing));
    result.rows_added = rows_added;
    result.rows_removed = rows_removed;
    return result;
  };
  if (options.defer_commit != nullptr && !replace_where.has_value()) {
    CommitResult staged;
    staged.version = -1;
    staged.rows_added = written->rows;
    staged.rows_removed = std::max<int64_t>(rows_removed, 0);
    staged.files_added = static_cast<int64_t>(pending.actions.adds.size());
    staged.files_removed = static_cast<int64_t>(pending.actions.removes.size());
    *options.defer_commit = DeferCommit(env_, root_, std::move(pending), std::move(commit));
    return staged;
  }
  return commit(writer, &pending);
}

Result<CommitResult> DeltaTable::Merge(const std::string& source_sql,
                                       const std::vector<std::string>& keys,
                                       const WriteOptions& options) {
  return Merge(source_sql, keys, options, MergeOptions());
}

Result<CommitResult> DeltaTable::Merge(const std::string& source_sql,
                                       const std::vector<std::string>& keys,
                                       const WriteOptions& write_options,
                                       const MergeOptions& merge) {
  WriteOptions options = write_options;  // MergeOptions::on_matched may add parameters
  TableWriter writer(env_, root_, log_);
  if (keys.empty()) return Status::InvalidArgument("merge into " + root_ + " needs key columns");
  DEW_ASSIGN_OR_RETURN(Snapshot snapshot, Latest());
  DEW_RETURN_IF_ERROR(CheckWritable(snapshot));
  DEW_ASSIGN_OR_RETURN(Schema incoming, QuerySchema(env_.con, source_sql));
  auto merged = snapshot.schema.Merge(incoming, options.merge_schema);
  if (!merged.ok()) return merged.status().WithContext("merging into " + root_);
  std::vector<std::string> key_names;
  for (const auto& k : keys) {
    const Field* field = snapshot.schema.Find(k);
    if (field == nullptr) {
      return Status::InvalidArgument("merge key '" + k + "' is not a column of " + root_);
    }
    if (incoming.Find(k) == nullptr) {
      return Status::InvalidArgument("merge key '" + k + "' is missing from the merge source");
    }
    key_names.push_back(field->name);
  }
  DEW_ASSIGN_OR_RETURN(std::string aligned, AlignedSelect(source_sql, incoming, *merged));

  for (const auto& c : merge.matched_columns) {
    if (snapshot.schema.Find(c) == nullptr) {
      return Status::InvalidArgument("merge into " + root_ + ": matched column '" + c +
                                     "' is not a column of the table");
    }
  }
  // The source is read several times (duplicates, matches, the write): materialise it once so
  // that every step sees the same rows, unless the caller promised they stay the same.
  std::string temp = "_dew_merge_source_" + env_.ids->NewUuid();
  std::replace(temp.begin(), temp.end(), '-', '_');
  struct DropTemp {
    Connection* con;
    std::string name;  // empty: nothing to drop
    ~DropTemp() {
      if (name.empty()) return;
      Status s = con->Execute("DROP TABLE IF EXISTS " + SqlIdent(name));
      (void)s;
    }
  };
  std::string source = "(" + aligned + ")";  // a relation: the source, or its copy
  DropTemp drop_temp{env_.con, ""};
  if (!merge.source_unique_and_stable) {
    DEW_RETURN_IF_ERROR(
        env_.con->Execute("CREATE TEMP TABLE " + SqlIdent(temp) + " AS " + aligned));
    drop_temp.name = temp;
    source = SqlIdent(temp);
  }

  std::string key_list, not_null, on;
  for (size_t i = 0; i < key_names.size(); ++i) {
    const std::string k = SqlIdent(key_names[i]);
    if (i > 0) {
      key_list += ", ";
      not_null += " AND ";
      on += " AND ";
    }
    key_list += k;
    not_null += k + " IS NOT NULL";
    on += "_dew_t." + k + " = _dew_s." + k;
  }
  std::string duplicates_sql = "SELECT ";
  for (size_t i = 0; i < key_names.size(); ++i) {
    if (i > 0) duplicates_sql += " || ', ' || ";
    duplicates_sql +=
        SqlString(key_names[i] + "=") + " || CAST(" + SqlIdent(key_names[i]) + " AS VARCHAR)";
  }
  duplicates_sql += " FROM " + source + " AS _dew_s WHERE " + not_null + " GROUP BY " + key_list +
                    " HAVING count(*) > 1 LIMIT 1";
  if (!merge.source_unique_and_stable) {
    DEW_ASSIGN_OR_RETURN(auto duplicate, env_.con->QueryText(duplicates_sql));
    if (!duplicate.rows.empty()) {
      return Status::InvalidArgument("merge source for " + root_ + " has duplicate key (" +
                                     duplicate.rows[0][0].value_or("NULL") +
                                     "): each key may appear once");
    }
  }
  int64_t source_rows = merge.source_rows;
  if (source_rows < 0) {
    DEW_ASSIGN_OR_RETURN(auto source_count,
                         env_.con->QueryScalar("SELECT count(*) FROM " + source + " AS _dew_s"));
    source_rows = ParseInt(source_count);
  }

  // The replaced rows' columns the caller asked for (MergeOptions::on_matched).
  std::string matched_select;
  for (const auto& k : key_names) matched_select += ", _dew_t." + SqlIdent(k);
  for (const auto& c : merge.matched_columns) {
    if (std::find(key_names.begin(), key_names.end(), c) == key_names.end()) {
      matched_select += ", _dew_t." + SqlIdent(c);
    }
  }
  bool reported = !merge.on_matched;

  std::set<std::string> touched;
  int64_t target_matched = 0;
  int64_t source_matched = 0;
  std::string to_write = "SELECT * FROM " + source + " AS _dew_s";
  DEW_ASSIGN_OR_RETURN(std::set<std::string> candidates,
                       FilesInKeyRange(env_.con, snapshot, key_names, source));
  // With deletion vectors the matched rows are found by their position (reading only the key
  // columns) and marked deleted; the files holding them are not rewritten.
  const bool use_dv = WritesDeletionVectors(snapshot);
  std::map<std::string, RoaringBitmapArray> deleted;
  if (!candidates.empty() && use_dv) {
    // The lookup reads the candidate files whole; the matches at positions their deletion
    // vectors already delete (rows replaced before, whose key lives on in a newer file) are
    // then found in C++ and dropped from the matches only. Filtering the scan by the DVs tested
    // every row of the table (5M rows, 1% upserted: 0.27 of the lookup's 0.87 s, loaded); an
    // anti join of the matches with every deleted position grew with the DVs (1% spread
    // upserts: about 40 ms of CPU more per 50,000 deleted positions).
    Snapshot whole = SubSnapshot(snapshot, candidates);
    std::map<std::string, RoaringBitmapArray> old_dvs;  // add.path -> its DV's positions
    for (AddFile& f : whole.files) {
      if (!f.deletion_vector) continue;
      auto bitmap = ReadDeletionVector(*env_.fs, snapshot.table_root, *f.deletion_vector);
      if (!bitmap.ok()) return bitmap.status().WithContext("reading " + f.path);
      old_dvs[f.path] = std::move(*bitmap);
      f.deletion_vector.reset();
    }
    DEW_ASSIGN_OR_RETURN(std::string scan, ScanSql(*env_.fs, whole, /*with_file_name=*/true,
                                                   /*with_row_number=*/true));
    const std::string lookup = "SELECT _dew_t._dew_file, _dew_t._dew_row" + matched_select +
                               " FROM (" + scan + ") AS _dew_t SEMI JOIN " + source +
                               " AS _dew_s ON " + on;
    const std::string matches = temp + "_matches";
    DEW_RETURN_IF_ERROR(
        env_.con->Execute("CREATE TEMP TABLE " + SqlIdent(matches) + " AS " + lookup));
    DropTemp drop_matches{env_.con, matches};
    DEW_ASSIGN_OR_RETURN(
        deleted, PositionsByFile(env_.con, "SELECT _dew_file, _dew_row FROM " + SqlIdent(matches)));
    // Files all of whose matches are stale (e.g. the file a recent-rows upsert replaced the
    // same keys in before) lose their matches by name; others by position.
    std::string stale_files;  // add.path, SQL strings
    std::string stale;        // VALUES of (add.path, matched positions its DV already deletes)
    for (auto it = deleted.begin(); it != deleted.end();) {
      auto old = old_dvs.find(it->first);
      if (old == old_dvs.end()) {
        ++it;
        continue;
      }
      std::vector<uint64_t> live;
      std::string gone;
      for (uint64_t v : it->second.Values()) {
        if (!old->second.Contains(v)) {
          live.push_back(v);
        } else {
          gone += (gone.empty() ? "" : ",") + std::to_string(v);
        }
      }
      if (live.empty()) {
        stale_files += (stale_files.empty() ? "" : ", ") + SqlString(it->first);
        it = deleted.erase(it);
        continue;
      }
      if (!gone.empty()) {
        stale += std::string(stale.empty() ? "" : ", ") + "(" + SqlString(it->first) + ", " +
                 SqlString(gone) + ")";
        it->second = RoaringBitmapArray(std::move(live));
      }
      ++it;
    }
    if (!stale_files.empty()) {
      DEW_RETURN_IF_ERROR(env_.con->Execute("DELETE FROM " + SqlIdent(matches) +
                                            " WHERE _dew_file IN (" + stale_files + ")"));
    }
    if (!stale.empty()) {
      DEW_RETURN_IF_ERROR(env_.con->Execute(
          "DELETE FROM " + SqlIdent(matches) +
          " AS _dew_m USING (SELECT _dew_f, CAST(unnest(string_split(_dew_p, ',')) AS BIGINT) AS "
          "_dew_r FROM (VALUES " +
          stale +
          ") AS _dew_v(_dew_f, _dew_p)) AS _dew_d WHERE _dew_m._dew_file = _dew_d._dew_f AND "
          "_dew_m._dew_row = _dew_d._dew_r"));
    }
    if (!reported) {
      DEW_RETURN_IF_ERROR(merge.on_matched(
          "SELECT * EXCLUDE (_dew_file, _dew_row) FROM " + SqlIdent(matches), &options));
      reported = true;
    }
    DEW_ASSIGN_OR_RETURN(auto counts,
                         env_.con->QueryText("SELECT count(*), (SELECT count(*) FROM (SELECT "
                                             "DISTINCT " +
                                             key_list + " FROM " + SqlIdent(matches) + ")) FROM " +
                                             SqlIdent(matches)));
    target_matched = ParseInt(counts.rows[0][0]);
    source_matched = ParseInt(counts.rows[0][1]);
  } else if (!candidates.empty()) {
    DEW_ASSIGN_OR_RETURN(std::string scan, ScanSql(*env_.fs, SubSnapshot(snapshot, candidates),
                                                   /*with_file_name=*/true));
    DEW_ASSIGN_OR_RETURN(auto matches,
                         env_.con->QueryText("SELECT _dew_t._dew_file, count(*) FROM (" + scan +
                                             ") AS _dew_t SEMI JOIN " + source + " AS _dew_s ON " +
                                             on + " GROUP BY 1"));
    for (const auto& row : matches.rows) {
      if (!row[0].has_value()) continue;
      touched.insert(*row[0]);
      target_matched += ParseInt(row[1]);
    }
    if (!touched.empty()) {
      DEW_ASSIGN_OR_RETURN(std::string old_scan, ScanSql(*env_.fs, SubSnapshot(snapshot, touched)));
      DEW_ASSIGN_OR_RETURN(auto matched, env_.con->QueryScalar("SELECT count(*) FROM " + source +
                                                               " AS _dew_s SEMI JOIN (" + old_scan +
                                                               ") AS _dew_t ON " + on));
      source_matched = ParseInt(matched);
      DEW_ASSIGN_OR_RETURN(std::string kept, AlignedSelect("SELECT _dew_t.* FROM (" + old_scan +
                                                               ") AS _dew_t ANTI JOIN " + source +
                                                               " AS _dew_s ON " + on,
                                                           snapshot.schema, *merged));
      to_write += " UNION ALL " + kept;
    }
  }

  if (!reported) {
    // No replaced row was located above: they are read here (none when no file may hold one).
    DEW_ASSIGN_OR_RETURN(std::string scan, ScanSql(*env_.fs, SubSnapshot(snapshot, candidates)));
    DEW_RETURN_IF_ERROR(merge.on_matched("SELECT " + matched_select.substr(2) + " FROM (" + scan +
                                             ") AS _dew_t SEMI JOIN " + source + " AS _dew_s ON " +
                                             on,
                                         &options));
  }

  PendingCommit pending = StartPending(snapshot, TxnKind::kReadWrite, *merged);
  // A winner's new rows matter only when they hold one of our keys (the source table still
  // exists while we commit).
  pending.read_snapshot = &snapshot;
  pending.count_matching = [source, on](const std::string& scan) {
    return "SELECT count(*) FROM (" + scan + ") AS _dew_t SEMI JOIN " + source + " AS _dew_s ON " +
           on;
  };
  // The source's rows are new files: links to the caller's own files when they hold exactly
  // them (MergeOptions::source_files), otherwise written.
  WrittenFiles written;
  DEW_ASSIGN_OR_RETURN(bool link_source,
                       CanLinkSource(env_.con, root_, snapshot, *merged, merge.source_files,
                                     touched.empty() ? source_rows : -1));
  if (link_source) {
    PendingCommit linked;
    DEW_ASSIGN_OR_RETURN(written.rows,
                         LinkFiles(env_, writer, root_, root_, merge.source_files, &linked));
    written.adds = std::move(linked.actions.adds);
    written.abs_paths = std::move(linked.written_files);
  } else {
    DEW_ASSIGN_OR_RETURN(written, writer.WriteFiles(to_write, snapshot, *merged));
  }
  const int64_t now = writer.Now();
  for (const auto& path : touched) {
    const AddFile* f = FindFile(snapshot, path);
    if (f == nullptr) continue;
    pending.actions.removes.push_back(writer.RemoveOf(*f, now));
    pending.removed_paths.insert(DecodePath(path));
  }
  pending.written_files = written.abs_paths;
  pending.actions.adds = std::move(written.adds);
  if (!deleted.empty()) {
    auto marked = MarkDeleted(env_, root_, writer, snapshot, deleted, &pending);
    if (!marked.ok()) {
      writer.DeleteWritten(pending.written_files);
      return marked.status().WithContext("merging into " + root_);
    }
  }
  CommitInfo info = writer.NewCommitInfo("MERGE", options, snapshot.version, false);
  std::string predicate;
  for (size_t i = 0; i < key_names.size(); ++i) {
    if (i > 0) predicate += " AND ";
    predicate += "target." + key_names[i] + " = source." + key_names[i];
  }
  info.operation_parameters["predicate"] = JsonArray({predicate});
  info.operation_parameters["keys"] = JsonArray(key_names);
  info.operation_parameters["matchedPredicates"] = R"([{"actionType":"update"}])";
  info.operation_parameters["notMatchedPredicates"] = R"([{"actionType":"insert"}])";
  const int64_t copied = written.rows - source_rows;
  info.operation_metrics["numSourceRows"] = std::to_string(source_rows);
  info.operation_metrics["numTargetRowsInserted"] = std::to_string(source_rows - source_matched);
  info.operation_metrics["numTargetRowsUpdated"] = std::to_string(source_matched);
  info.operation_metrics["numTargetRowsDeleted"] = std::to_string(target_matched - source_matched);
  info.operation_metrics["numTargetRowsCopied"] = std::to_string(copied);
  info.operation_metrics["numOutputRows"] = std::to_string(written.rows);
  info.operation_metrics["numTargetFilesAdded"] = std::to_string(pending.actions.adds.size());
  info.operation_metrics["numTargetFilesRemoved"] = std::to_string(pending.actions.removes.size());
  pending.actions.commit_info = info;
  DEW_ASSIGN_OR_RETURN(CommitResult result, writer.Commit(&pending, options));
  result.rows_added = source_rows;
  result.rows_removed = target_matched;
  return result;
}

Result<CommitResult> DeltaTable::DeleteWhere(const std::string& predicate_sql,
                                             const WriteOptions& options) {
  TableWriter writer(env_, root_, log_);
  DEW_ASSIGN_OR_RETURN(Snapshot snapshot, Latest());
  DEW_RETURN_IF_ERROR(CheckWritable(snapshot));
  DEW_RETURN_IF_ERROR(CheckPredicate(env_.con, snapshot.schema, predicate_sql, root_));
  DEW_ASSIGN_OR_RETURN(Affected affected, FindAffected(writer, snapshot, predicate_sql));
  if (affected.dropped.empty() && affected.rewritten.empty()) {
    CommitResult unchanged;
    unchanged.version = snapshot.version;
    unchanged.attempts = 0;
    return unchanged;
  }
  PendingCommit pending = StartPending(snapshot, TxnKind::kReadWrite, snapshot.schema);
  pending.read_snapshot = &snapshot;
  pending.count_matching = [predicate_sql](const std::string& scan) {
    return "SELECT count(*) FROM (" + scan + ") AS _dew_t WHERE (" + predicate_sql + ")";
  };
  int64_t copied = 0;
  std::map<std::string, RoaringBitmapArray> deleted;
  if (!affected.rewritten.empty() && WritesDeletionVectors(snapshot)) {
    // The matching rows' positions go to deletion vectors; the files stay as they are.
    DEW_ASSIGN_OR_RETURN(std::string scan,
                         ScanSql(*env_.fs, SubSnapshot(snapshot, affected.rewritten),
                                 /*with_file_name=*/true,
                                 /*with_row_number=*/true));
    DEW_ASSIGN_OR_RETURN(
        deleted, PositionsByFile(env_.con, "SELECT _dew_file, _dew_row FROM (" + scan +
                                               ") AS _dew_t WHERE coalesce((" + predicate_sql +
                                               "), false)"));
    affected.rewritten.clear();
  } else if (!affected.rewritten.empty()) {
    DEW_ASSIGN_OR_RETURN(std::string scan,
                         ScanSql(*env_.fs, SubSnapshot(snapshot, affected.rewritten)));
    DEW_ASSIGN_OR_RETURN(
        WrittenFiles written,
        writer.WriteFiles("SELECT * FROM (" + scan + ") AS _dew_old WHERE NOT coalesce((" +
                              predicate_sql + "), false)",
                          snapshot, snapshot.schema));
    copied = written.rows;
    pending.written_files = written.abs_paths;
    pending.actions.adds = std::move(written.adds);
  }
  const int64_t now = writer.Now();
  for (const auto* set : {&affected.dropped, &affected.rewritten}) {
    for (const auto& path : *set) {
      const AddFile* f = FindFile(snapshot, path);
      if (f == nullptr) continue;
      pending.actions.removes.push_back(writer.RemoveOf(*f, now));
      pending.removed_paths.insert(DecodePath(path));
    }
  }
  if (!deleted.empty()) {
    auto marked = MarkDeleted(env_, root_, writer, snapshot, deleted, &pending);
    if (!marked.ok()) {
      writer.DeleteWritten(pending.written_files);
      return marked.status().WithContext("deleting from " + root_);
    }
  }
  CommitInfo info = writer.NewCommitInfo("DELETE", options, snapshot.version, false);
  info.operation_parameters["predicate"] = JsonArray({predicate_sql});
  info.operation_metrics["numRemovedFiles"] = std::to_string(pending.actions.removes.size());
  info.operation_metrics["numAddedFiles"] = std::to_string(pending.actions.adds.size());
  info.operation_metrics["numDeletedRows"] = std::to_string(affected.rows_matched);
  info.operation_metrics["numCopiedRows"] = std::to_string(copied);
  info.operation_metrics["numDeletionVectorsAdded"] = std::to_string(deleted.size());
  pending.actions.commit_info = info;
  DEW_ASSIGN_OR_RETURN(CommitResult result, writer.Commit(&pending, options));
  result.rows_added = 0;
  result.rows_removed = affected.rows_matched;
  return result;
}

Result<CommitResult> DeltaTable::EnableDeletionVectors(const WriteOptions& options) {
  return SetProperties({{kEnableDeletionVectorsProperty, "true"}}, {}, false, options);
}

Result<CommitResult> DeltaTable::SetProperties(const std::map<std::string, std::string>& set,
                                               const std::vector<std::string>& unset,
                                               bool if_exists, const WriteOptions& options) {
  TableWriter writer(env_, root_, log_);
  DEW_ASSIGN_OR_RETURN(Snapshot snapshot, Latest());
  DEW_RETURN_IF_ERROR(CheckWritable(snapshot));
  Metadata metadata = snapshot.metadata;
  json changed = json::object();
  for (const auto& [key, value] : set) {
    auto checked = CheckTableProperty(key, value);
    if (!checked.ok()) return checked.status().WithContext("table " + root_);
    metadata.configuration[key] = *checked;
    changed[key] = *checked;
  }
  for (const auto& key : unset) {
    if (metadata.configuration.erase(key) == 0 && !if_exists) {
      return Status::InvalidArgument("table " + root_ + " has no property '" + key +
                                     "' to unset (use IF EXISTS)");
    }
  }
  std::optional<Protocol> protocol;
  // Writers may write DVs only with the table feature, so enabling them upgrades the protocol.
  auto dv = metadata.configuration.find(kEnableDeletionVectorsProperty);
  if (dv != metadata.configuration.end() && dv->second == "true" &&
      !snapshot.protocol.HasWriterFeature(kDeletionVectorsFeature)) {
    const std::vector<std::string> features = {kDeletionVectorsFeature};
    protocol = Protocol(3, 7);
    protocol->reader_features = features;
    protocol->writer_features = features;
  }
  if (metadata.configuration == snapshot.metadata.configuration && !protocol) {
    CommitResult unchanged;
    unchanged.version = snapshot.version;
    unchanged.attempts = 0;
    return unchanged;
  }
  PendingCommit pending = StartPending(snapshot, TxnKind::kReadWrite, snapshot.schema);
  // Only a concurrent protocol or metadata change collides with a property change.
  pending.kind = TxnKind::kBlindAppend;
  pending.actions.protocol = protocol;
  pending.actions.metadata = metadata;
  const bool only_unset = set.empty() && !unset.empty();
  CommitInfo info = writer.NewCommitInfo(only_unset ? "UNSET TBLPROPERTIES" : "SET TBLPROPERTIES",
                                         options, snapshot.version, false);
  if (only_unset) {
    info.operation_parameters["properties"] = JsonArray(unset);
    info.operation_parameters["ifExists"] = if_exists ? "true" : "false";
  } else {
    info.operation_parameters["properties"] = changed.dump();
  }
  pending.actions.commit_info = info;
  return writer.Commit(&pending, options);
}

Result<OptimizeResult> DeltaTable::Optimize(const OptimizeOptions& optimize,
                                            const WriteOptions& options) {
  TableWriter writer(env_, root_, log_);
  DEW_ASSIGN_OR_RETURN(Snapshot snapshot, Latest());
  DEW_RETURN_IF_ERROR(CheckWritable(snapshot));
  std::optional<std::set<std::string>> considered;
  if (optimize.where) {
    DEW_RETURN_IF_ERROR(CheckPredicate(env_.con, snapshot.schema, *optimize.where, root_));
    DEW_ASSIGN_OR_RETURN(considered, writer.PartitionMatches(snapshot, *optimize.where));
    if (!considered) {
      return Status::InvalidArgument("OPTIMIZE " + root_ + " WHERE " + *optimize.where +
                                     ": the predicate may only use partition columns (" +
                                     JsonArray(snapshot.metadata.partition_columns) + ")");
    }
  }
  const CompactionPlan plan = PlanCompaction(snapshot, considered, optimize);
  OptimizeResult result;
  result.version = snapshot.version;
  if (plan.bins.empty()) return result;

  PendingCommit pending = StartPending(snapshot, TxnKind::kCompaction, snapshot.schema);
  const int64_t now = writer.Now();
  std::vector<AddFile> removed;
  int64_t rows = 0, expected_rows = 0;
  bool rows_known = true;  // false when a file has no numRecords (foreign writers)
  for (const CompactionBin& bin : plan.bins) {
    const Snapshot inputs = SubSnapshot(snapshot, bin.paths);
    auto scan = ScanSql(*env_.fs, inputs);
    auto written = scan.ok() ? writer.WriteFiles(*scan, snapshot, snapshot.schema, &bin.partition)
                             : Result<WrittenFiles>(scan.status());
    if (!written.ok()) {
      writer.DeleteWritten(pending.written_files);
      return written.status().WithContext("optimizing " + root_);
    }
    pending.written_files.insert(pending.written_files.end(), written->abs_paths.begin(),
                                 written->abs_paths.end());
    rows += written->rows;
    const int64_t live = inputs.NumRecords();
    rows_known = rows_known && live >= 0;
    expected_rows += std::max<int64_t>(live, 0);
    for (auto& add : written->adds) {
      add.data_change = false;
      pending.actions.adds.push_back(std::move(add));
    }
    for (const AddFile& f : inputs.files) {
      RemoveFile remove = writer.RemoveOf(f, now);
      remove.data_change = false;
      pending.actions.removes.push_back(std::move(remove));
      pending.removed_paths.insert(DecodePath(f.path));
      removed.push_back(f);
    }
  }
  if (rows_known && rows != expected_rows) {
    writer.DeleteWritten(pending.written_files);
    return Status::Internal("optimizing " + root_ + ": wrote " + std::to_string(rows) +
                            " rows from files holding " + std::to_string(expected_rows));
  }
  CommitInfo info = writer.NewCommitInfo("OPTIMIZE", options, snapshot.version, false);
  for (const auto& [k, v] : OptimizeParameters(optimize)) info.operation_parameters[k] = v;
  info.operation_metrics = OptimizeMetrics(plan, removed, pending.actions.adds, rows);
  pending.actions.commit_info = info;
  DEW_ASSIGN_OR_RETURN(CommitResult committed, writer.Commit(&pending, options));
  result.version = committed.version;
  result.committed = true;
  result.attempts = committed.attempts;
  result.metrics = info.operation_metrics;
  return result;
}

Result<CommitResult> DeltaTable::Restore(int64_t version, const WriteOptions& options) {
  TableWriter writer(env_, root_, log_);
  DEW_ASSIGN_OR_RETURN(Snapshot current, Latest());
  DEW_RETURN_IF_ERROR(CheckWritable(current));
  if (version < 0 || version > current.version) {
    return Status::InvalidArgument("cannot restore " + root_ + " to version " +
                                   std::to_string(version) + ": versions run from 0 to " +
                                   std::to_string(current.version));
  }
  auto target = log_.LoadSnapshot(version);
  if (!target.ok()) return target.status().WithContext("restoring " + root_);
  const int64_t now = writer.Now();

  PendingCommit pending;
  pending.read_version = current.version;
  pending.last_timestamp = current.timestamp_millis;
  pending.kind = TxnKind::kRestore;
  // A file is the same logical file only with the same deletion vector too.
  auto logical = [](const AddFile& f) {
    return DecodePath(f.path) + '\n' + (f.deletion_vector ? f.deletion_vector->UniqueId() : "");
  };
  std::set<std::string> target_paths, current_paths;
  for (const auto& f : target->files) target_paths.insert(logical(f));
  for (const auto& f : current.files) current_paths.insert(logical(f));
  int64_t removed_bytes = 0, restored_bytes = 0, size_after = 0;
  for (const auto& f : current.files) {
    if (target_paths.count(logical(f)) > 0) continue;
    pending.actions.removes.push_back(writer.RemoveOf(f, now));
    pending.removed_paths.insert(DecodePath(f.path));
    removed_bytes += f.size;
  }
  for (const auto& f : target->files) {
    size_after += f.size;
    if (current_paths.count(logical(f)) > 0) continue;
    const std::string abs = JoinPath(root_, DecodePath(f.path));
    if (!env_.fs->Exists(abs)) {
      return Status::NotFound("cannot restore " + root_ + " to version " + std::to_string(version) +
                              ": its data file " + f.path +
                              " no longer exists (removed by vacuum?)");
    }
    if (f.deletion_vector && f.deletion_vector->storage_type != "i") {
      auto dv = DeletionVectorPath(root_, *f.deletion_vector);
      if (!dv.ok() || !env_.fs->Exists(*dv)) {
        return Status::NotFound("cannot restore " + root_ + " to version " +
                                std::to_string(version) + ": the deletion vector file of " +
                                f.path + " no longer exists (removed by vacuum?)");
      }
    }
    AddFile add = f;
    add.data_change = true;
    pending.actions.adds.push_back(std::move(add));
    restored_bytes += f.size;
  }
  const Metadata& tm = target->metadata;
  const Metadata& cm = current.metadata;
  if (tm.schema_string != cm.schema_string || tm.partition_columns != cm.partition_columns ||
      tm.configuration != cm.configuration || tm.name != cm.name ||
      tm.description != cm.description) {
    pending.actions.metadata = tm;
  }
  if (target->protocol.min_reader_version > current.protocol.min_reader_version ||
      target->protocol.min_writer_version > current.protocol.min_writer_version) {
    pending.actions.protocol = target->protocol;
  }
  CommitInfo info = writer.NewCommitInfo("RESTORE", options, current.version, false);
  info.operation_parameters["version"] = std::to_string(version);
  info.operation_parameters["timestamp"] = "null";
  info.operation_metrics["numRestoredFiles"] = std::to_string(pending.actions.adds.size());
  info.operation_metrics["numRemovedFiles"] = std::to_string(pending.actions.removes.size());
  info.operation_metrics["restoredFilesSize"] = std::to_string(restored_bytes);
  info.operation_metrics["removedFilesSize"] = std::to_string(removed_bytes);
  info.operation_metrics["numOfFilesAfterRestore"] = std::to_string(target->files.size());
  info.operation_metrics["tableSizeAfterRestore"] = std::to_string(size_after);
  pending.actions.commit_info = info;
  // Files re-added by a restore belong to older commits: never delete them on a conflict.
  DEW_ASSIGN_OR_RETURN(CommitResult result, writer.Commit(&pending, options));
  int64_t added_rows = 0, removed_rows = 0;
  for (const auto& a : pending.actions.adds) added_rows += std::max<int64_t>(LiveRecords(a), 0);
  for (const auto& f : current.files) {
    if (pending.removed_paths.count(DecodePath(f.path)) > 0) {
      removed_rows += std::max<int64_t>(LiveRecords(f), 0);
    }
  }
  result.rows_added = added_rows;
  result.rows_removed = removed_rows;
  return result;
}

Result<VacuumResult> DeltaTable::Vacuum(double retention_hours, bool force, bool dry_run) {
  if (!(retention_hours >= 0)) {  // also NaN
    return Status::InvalidArgument("vacuum retention must not be negative (got " +
                                   std::to_string(retention_hours) + " hours)");
  }
  if (retention_hours < kDefaultRetentionHours && !force) {
    return Status::InvalidArgument(
        "vacuum of " + root_ + " with a retention of " + std::to_string(retention_hours) +
        " hours refused: under 168 hours (7 days) it can delete files that readers of recent "
        "versions or running writers still need; force it to proceed");
  }
  DEW_ASSIGN_OR_RETURN(Snapshot snapshot, Latest());
  DEW_RETURN_IF_ERROR(CheckWritable(snapshot));
  const int64_t now = env_.clock->NowMillis();
  // Beyond a century nothing is old enough; the clamp keeps the conversion defined.
  const double retention_ms = std::min(retention_hours, 1e6) * 3600.0 * 1000.0;
  const int64_t cutoff = now - static_cast<int64_t>(retention_ms);

  // Paths relative to the root; deletion vector files count as the files that reference them.
  auto relative = [this](const std::string& abs) {
    const std::string prefix = root_ + "/";
    return abs.rfind(prefix, 0) == 0 ? abs.substr(prefix.size()) : abs;
  };
  std::set<std::string> live;
  for (const auto& f : snapshot.files) {
    live.insert(DecodePath(f.path));
    if (f.deletion_vector && f.deletion_vector->storage_type != "i") {
      auto dv = DeletionVectorPath(root_, *f.deletion_vector);
      if (dv.ok()) live.insert(relative(*dv));
    }
  }
  std::map<std::string, std::optional<int64_t>> tombstones;
  auto tombstone = [&tombstones](const std::string& name, std::optional<int64_t> stamp) {
    auto [it, fresh] = tombstones.emplace(name, stamp);
    if (!fresh && stamp && (!it->second || *it->second < *stamp)) it->second = stamp;
  };
  for (const auto& t : snapshot.tombstones) {
    tombstone(DecodePath(t.path), t.deletion_timestamp);
    if (t.deletion_vector && t.deletion_vector->storage_type != "i") {
      // A DV file goes once the newest remove still naming it is past the retention.
      auto dv = DeletionVectorPath(root_, *t.deletion_vector);
      if (dv.ok()) tombstone(relative(*dv), t.deletion_timestamp);
    }
  }

  // Walk the table folder ourselves: we need the folders too, to drop emptied partitions.
  std::vector<FileInfo> files;
  std::vector<std::string> dirs;
  std::vector<std::string> pending_dirs = {""};
  while (!pending_dirs.empty()) {
    std::string rel = pending_dirs.back();
    pending_dirs.pop_back();
    auto entries = env_.fs->ListDir(rel.empty() ? root_ : JoinPath(root_, rel));
    if (!entries.ok()) {
      if (entries.status().IsNotFound()) continue;  // removed meanwhile
      return entries.status();
    }
    for (auto& e : *entries) {
      std::string child = rel.empty() ? e.name : rel + "/" + e.name;
      // As Delta's vacuum: names starting with '_' or '.' are not data (the log, _SUCCESS,
      // .crc checksums), except partition folders, whose column name may start so, and the
      // hidden ".<name>.<random>.tmp" files of FileSystem's atomic writes that a killed writer
      // left (e.g. a deletion vector's): never read, so removed once older than the retention.
      const bool leftover_temp = !e.is_dir && e.name[0] == '.' && e.name.size() > 4 &&
                                 e.name.compare(e.name.size() - 4, 4, ".tmp") == 0;
      if ((e.name[0] == '_' || e.name[0] == '.') && !leftover_temp &&
          !(e.is_dir && e.name.find('=') != std::string::npos)) {
        continue;
      }
      if (e.is_dir) {
        dirs.push_back(child);
        pending_dirs.push_back(child);
      } else {
        e.name = child;
        files.push_back(std::move(e));
      }
    }
  }

  VacuumResult result;
  for (const auto& f : files) {
    if (live.count(f.name) > 0) continue;
    int64_t stamp = f.mtime_millis;
    auto t = tombstones.find(f.name);
    if (t != tombstones.end() && t->second.has_value()) stamp = *t->second;
    if (stamp >= cutoff) continue;  // not older than the retention
    if (!dry_run) {
      Status s = env_.fs->RemoveFile(JoinPath(root_, f.name));
      if (!s.ok() && !s.IsNotFound()) return s.WithContext("vacuum of " + root_);
    }
    result.deleted.push_back(f.name);
    result.bytes += static_cast<int64_t>(f.size);
  }
  std::sort(result.deleted.begin(), result.deleted.end());
  if (!dry_run) {
    // Deepest first so a parent empties after its children go. A folder still holding a file
    // (or just refilled by a writer) is kept by RemoveEmptyDir.
    std::sort(dirs.begin(), dirs.end(), [](const std::string& a, const std::string& b) {
      return std::count(a.begin(), a.end(), '/') > std::count(b.begin(), b.end(), '/');
    });
    // A young empty folder may be a writer's partition about to receive its file: only the
    // folders this vacuum emptied, or older than the retention, go.
    std::set<std::string> emptied;
    for (const auto& name : result.deleted) {
      for (size_t slash = name.find('/'); slash != std::string::npos;
           slash = name.find('/', slash + 1)) {
        emptied.insert(name.substr(0, slash));
      }
    }
    for (const auto& d : dirs) {
      auto info = env_.fs->Stat(JoinPath(root_, d));
      if (!info.ok()) continue;
      if (emptied.count(d) == 0 && info->mtime_millis >= cutoff) continue;
      Status s = env_.fs->RemoveEmptyDir(JoinPath(root_, d));
      (void)s;
    }
    // Temporary files killed writers left in the log folder (never read) go as well.
    auto log_entries = env_.fs->ListDir(log_.log_dir());
    if (log_entries.ok()) {
      for (const auto& e : *log_entries) {
        if (e.is_dir || e.name.size() < 4 || e.name.compare(e.name.size() - 4, 4, ".tmp") != 0 ||
            e.mtime_millis >= cutoff) {
          continue;
        }
        Status s = env_.fs->RemoveFile(JoinPath(log_.log_dir(), e.name));
        (void)s;
      }
    }
  }
  return result;
}

namespace {

// Commits version 0 of a new table at `root` adding `pending`'s files (`rows` rows), as Delta's
// CREATE TABLE AS SELECT does. AlreadyExists when another writer created it first.
Status CommitNewTable(TableWriter& writer, PendingCommit* pending, const Metadata& metadata,
                      const WriteOptions& options, int64_t rows, const std::string& root,
                      CommitResult* result) {
  pending->actions.protocol = Protocol{1, 2};
  pending->actions.metadata = metadata;
  CommitInfo info = writer.NewCommitInfo("CREATE TABLE AS SELECT", options, -1, false);
  info.operation_parameters["isManaged"] = "false";
  info.operation_parameters["partitionBy"] = JsonArray(metadata.partition_columns);
  info.operation_parameters["properties"] = "{}";
  info.operation_metrics["numFiles"] = std::to_string(pending->actions.adds.size());
  info.operation_metrics["numOutputRows"] = std::to_string(rows);
  int64_t bytes = 0;
  for (const auto& a : pending->actions.adds) bytes += a.size;
  info.operation_metrics["numOutputBytes"] = std::to_string(bytes);
  pending->actions.commit_info = info;
  WriteOptions once = options;
  once.max_commit_attempts = 1;  // a lost race for version 0 means the table exists
  auto committed = writer.Commit(pending, once);
  if (!committed.ok()) {
    if (committed.status().IsConflict()) {
      return Status::AlreadyExists("a Delta table already exists at " + root);
    }
    return committed.status();
  }
  if (result != nullptr) {
    *result = *committed;
    result->rows_added = rows;
  }
  return Status::OK();
}

}  // namespace

// CREATE TABLE AS SELECT in one commit (added for the lakehouse's SQL, which must match Delta's
// CTAS: version 0 holds the rows).
Result<std::unique_ptr<DeltaTable>> DeltaTable::CreateAs(
    const TableEnv& env, const std::string& root, const std::string& name,
    const std::string& select_sql, const std::vector<std::string>& partition_columns,
    const WriteOptions& options, CommitResult* result) {
  if (options.before_commit && options.defer_commit != nullptr) {
    return Status::InvalidArgument("a write cannot both defer its commit and decide it");
  }
  std::unique_ptr<DeltaTable> table(new DeltaTable(env, root));
  if (table->log_.Exists()) {
    return Status::AlreadyExists("a Delta table already exists at " + table->root_);
  }
  DEW_ASSIGN_OR_RETURN(Schema schema, RowsSchema(env.con, select_sql, options));
  DEW_ASSIGN_OR_RETURN(Metadata metadata, NewTableMetadata(env, name, schema, partition_columns));

  Snapshot empty;
  empty.table_root = table->root_;
  empty.metadata = metadata;
  empty.schema = schema;
  TableWriter writer(table->env_, table->root_, table->log_);
  DEW_ASSIGN_OR_RETURN(std::string aligned, AlignedSelect(select_sql, schema, schema));
  DEW_RETURN_IF_ERROR(env.fs->CreateDirs(table->log_.log_dir()));
  DEW_ASSIGN_OR_RETURN(WrittenFiles written,
                       writer.WriteFiles(aligned, empty, schema, &options.constant_partitions,
                                         options.row_group_rows));
  WriteOptions amended;
  DEW_ASSIGN_OR_RETURN(
      const WriteOptions* committing,
      OptionsToCommit(options, written.rows, written.abs_paths, *env.fs, &amended));
  if (committing == nullptr) {
    if (result != nullptr) *result = CommitResult();
    return table;
  }
  PendingCommit pending;
  pending.read_version = -1;
  pending.written_files = written.abs_paths;
  pending.actions.adds = std::move(written.adds);
  if (options.defer_commit != nullptr) {
    if (result != nullptr) {
      *result = CommitResult();
      result->version = -1;
      result->rows_added = written.rows;
      result->files_added = static_cast<int64_t>(pending.actions.adds.size());
    }
    const int64_t rows = written.rows;
    WriteOptions committing = options;
    committing.defer_commit = nullptr;  // the caller's, gone by the time the commit runs
    *options.defer_commit = DeferCommit(
        env, table->root_, std::move(pending),
        [metadata, committing, rows](TableWriter& w, PendingCommit* p) -> Result<CommitResult> {
          CommitResult committed;
          DEW_RETURN_IF_ERROR(
              CommitNewTable(w, p, metadata, committing, rows, w.root(), &committed));
          return committed;
        });
    return table;
  }
  DEW_RETURN_IF_ERROR(
      CommitNewTable(writer, &pending, metadata, *committing, written.rows, table->root_, result));
  return table;
}

Result<std::unique_ptr<DeltaTable>> DeltaTable::CreateFromFiles(
    const TableEnv& env, const std::string& root, const std::string& name, const Schema& schema,
    const std::vector<ExistingFile>& files, const WriteOptions& options, CommitResult* result) {
  std::unique_ptr<DeltaTable> table(new DeltaTable(env, root));
  if (table->log_.Exists()) {
    return Status::AlreadyExists("a Delta table already exists at " + table->root_);
  }
  DEW_ASSIGN_OR_RETURN(Metadata metadata, NewTableMetadata(env, name, schema, {}));
  DEW_RETURN_IF_ERROR(CheckFilesColumns(env.con, name, schema, files));

  TableWriter writer(table->env_, table->root_, table->log_);
  PendingCommit pending;
  pending.read_version = -1;
  DEW_RETURN_IF_ERROR(env.fs->CreateDirs(table->log_.log_dir()));
  DEW_ASSIGN_OR_RETURN(int64_t rows, LinkFiles(env, writer, table->root_, name, files, &pending));
  DEW_RETURN_IF_ERROR(
      CommitNewTable(writer, &pending, metadata, options, rows, table->root_, result));
  return table;
}

Result<CommitResult> DeltaTable::OverwriteWithFiles(const std::vector<ExistingFile>& files,
                                                    const std::string& select_sql,
                                                    const WriteOptions& options) {
  TableWriter writer(env_, root_, log_);
  DEW_ASSIGN_OR_RETURN(Snapshot snapshot, Latest());
  DEW_RETURN_IF_ERROR(CheckWritable(snapshot));
  if (!snapshot.metadata.partition_columns.empty()) {
    return Status::InvalidArgument("overwriting " + root_ +
                                   " with files: the table is partitioned");
  }
  DEW_ASSIGN_OR_RETURN(Schema incoming, RowsSchema(env_.con, select_sql, options));
  auto merged = snapshot.schema.Merge(incoming, options.merge_schema);
  if (!merged.ok()) return merged.status().WithContext("overwriting " + root_);
  DEW_RETURN_IF_ERROR(CheckFilesColumns(env_.con, root_, *merged, files));
  DEW_ASSIGN_OR_RETURN(std::string aligned, AlignedSelect(select_sql, incoming, *merged));

  PendingCommit pending = StartPending(snapshot, TxnKind::kReadWrite, *merged);
  auto written = writer.WriteFiles(aligned, snapshot, *merged);
  if (!written.ok()) return written.status();
  pending.written_files = written->abs_paths;
  pending.actions.adds = std::move(written->adds);
  auto linked = LinkFiles(env_, writer, root_, root_, files, &pending);
  if (!linked.ok()) {
    writer.DeleteWritten(written->abs_paths);
    return linked.status();
  }
  const int64_t now = writer.Now();
  for (const auto& f : snapshot.files) {
    pending.actions.removes.push_back(writer.RemoveOf(f, now));
    pending.removed_paths.insert(DecodePath(f.path));
  }
  const int64_t rows_removed = std::max<int64_t>(snapshot.NumRecords(), 0);
  CommitInfo info = writer.NewCommitInfo("WRITE", options, snapshot.version, false);
  info.operation_parameters["mode"] = "Overwrite";
  info.operation_parameters["partitionBy"] = JsonArray(snapshot.metadata.partition_columns);
  info.operation_metrics["numFiles"] = std::to_string(pending.actions.adds.size());
  info.operation_metrics["numOutputRows"] = std::to_string(written->rows + *linked);
  info.operation_metrics["numLinkedRows"] = std::to_string(*linked);
  info.operation_metrics["numRemovedFiles"] = std::to_string(pending.actions.removes.size());
  info.operation_metrics["numDeletedRows"] = std::to_string(rows_removed);
  pending.actions.commit_info = info;
  DEW_ASSIGN_OR_RETURN(CommitResult result, writer.Commit(&pending, options));
  result.rows_added = written->rows + *linked;
  result.rows_removed = rows_removed;
  return result;
}

}  // namespace dew::lake
