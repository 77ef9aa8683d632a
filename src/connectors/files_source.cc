#include "connectors/files_source.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include "connectors/bronze_landing.h"
#include "connectors/local_object_store.h"
#include "connectors/s3_object_store.h"
#include "connectors/sftp_object_store.h"
#include "connectors/source_factory.h"
#include "core/file_system.h"
#include "core/id_generator.h"
#include "core/near_match.h"
#include "engine/connection.h"
#include "engine/database.h"
#include "lake/lakehouse.h"

namespace dew::connectors {
namespace {

using engine::SqlIdent;
using engine::SqlString;
using nlohmann::json;

const std::vector<std::string> kFormats = {"csv", "json", "ndjson", "parquet"};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string LowerCase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// What a landed file was: a changed size, mtime or etag lands it again.
json FileState(const ObjectEntry& e) {
  return {{"size", e.size}, {"mtime", e.mtime_millis}, {"etag", e.etag}};
}

bool Unchanged(const json& files, const ObjectEntry& e) {
  if (!files.is_object() || !files.contains(e.path)) return false;
  const json& f = files[e.path];
  return f.value("size", int64_t{-1}) == e.size &&
         f.value("mtime", int64_t{-1}) == e.mtime_millis &&
         f.value("etag", std::string()) == e.etag;
}

// "<mtime> <path>@<etag or size>", mtime as fixed-width UTC ISO text: silver keeps the row
// with the greatest cursor within a batch, and a batch may hold several versions of a record in
// different files, so cursors must sort like the files' modification times.
std::string CursorOf(const ObjectEntry& e) {
  const std::time_t seconds = static_cast<std::time_t>(e.mtime_millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(e.mtime_millis % 1000));
  return std::string(stamp) + " " + e.path + "@" +
         (e.etag.empty() ? std::to_string(e.size) : e.etag);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Spool file names keep the original's extensions so DuckDB still sees ".csv.gz" and the like.
std::string SafeName(const std::string& name) {
  std::string out;
  for (char c : name)
    out +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
  return out;
}

}  // namespace

FilesSource::FilesSource(FilesConfig config, std::unique_ptr<ObjectStore> store,
                         std::shared_ptr<FileSystem> fs)
    : config_(std::move(config)), store_(std::move(store)), fs_(std::move(fs)) {}

std::string FilesSource::FormatFromName(const std::string& path) {
  std::string name = LowerCase(BaseName(path));
  for (const char* compressed : {".gz", ".zst"}) {
    if (EndsWith(name, compressed)) name.resize(name.size() - std::string(compressed).size());
  }
  if (EndsWith(name, ".csv") || EndsWith(name, ".tsv") || EndsWith(name, ".txt")) return "csv";
  if (EndsWith(name, ".ndjson") || EndsWith(name, ".jsonl")) return "ndjson";
  if (EndsWith(name, ".json")) return "json";
  if (EndsWith(name, ".parquet") || EndsWith(name, ".pq")) return "parquet";
  return std::string();
}

std::string FilesSource::ReaderSql(const std::string& local_path, const std::string& format,
                                   const json& csv) {
  const std::string path = SqlString(local_path);
  if (format == "parquet") return "read_parquet(" + path + ")";
  if (format == "ndjson") return "read_json(" + path + ", format='newline_delimited')";
  if (format == "json") return "read_json(" + path + ", format='auto')";
  std::string options;
  auto add = [&](const std::string& key, const std::string& value) {
    options += ", " + key + "=" + value;
  };
  if (csv.contains("delimiter")) {
    add("delim", SqlString(csv["delimiter"].get<std::string>()));
  } else if (EndsWith(LowerCase(local_path), ".tsv") ||
             EndsWith(LowerCase(local_path), ".tsv.gz")) {
    add("delim", "'\t'");
  }
  if (csv.contains("header")) add("header", csv["header"].get<bool>() ? "true" : "false");
  if (csv.contains("quote")) add("quote", SqlString(csv["quote"].get<std::string>()));
  if (csv.contains("escape")) add("escape", SqlString(csv["escape"].get<std::string>()));
  if (csv.contains("skip")) add("skip", std::to_string(csv["skip"].get<int64_t>()));
  if (csv.contains("null")) add("nullstr", SqlString(csv["null"].get<std::string>()));
  if (csv.contains("all_varchar"))
    add("all_varchar", csv["all_varchar"].get<bool>() ? "true" : "false");
  if (csv.contains("date_format"))
    add("dateformat", SqlString(csv["date_format"].get<std::string>()));
  if (csv.contains("timestamp_format"))
    add("timestampformat", SqlString(csv["timestamp_format"].get<std::string>()));
  return "read_csv(" + path + options + ")";
}

nlohmann::json FilesSource::Spec() const {
  json str = {{"type", "string"}};
  json secret = {{"type", "string"}, {"secret", true}};
  return {
      {"type", "object"},
      {"required", {"files", "streams"}},
      {"properties",
       {{"files",
         {{"type", "object"},
          {"required", {"store"}},
          {"properties",
           {{"store", {{"type", "string"}, {"enum", {"local", "s3", "sftp"}}}},
            {"root", str},
            {"endpoint", str},
            {"region", {{"type", "string"}, {"default", "us-east-1"}}},
            {"bucket", str},
            {"path_style", {{"type", "boolean"}}},
            {"page_size", {{"type", "integer"}, {"default", 1000}}},
            {"host", str},
            {"port", {{"type", "integer"}, {"default", 22}}},
            {"known_hosts", str},
            {"host_key_fingerprint", str},
            {"timeout_seconds", {{"type", "integer"}, {"default", 30}}},
            {"batch_bytes", {{"type", "integer"}, {"default", 64 << 20}}},
            {"batch_files", {{"type", "integer"}, {"default", 100}}}}}}},
        {"auth",
         {{"type", "object"},
          {"properties",
           {{"access_key_id", str},
            {"secret_access_key", secret},
            {"session_token", secret},
            {"user", str},
            {"password", secret},
            {"private_key", secret},
            {"private_key_file", str},
            {"passphrase", secret}}}}},
        {"streams",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"required", {"name", "glob"}},
            {"properties",
             {{"name", str},
              {"glob", str},
              {"format", {{"type", "string"}, {"enum", kFormats}}},
              {"primary_key", {{"type", "array"}, {"items", str}}},
              {"csv", {{"type", "object"}}}}}}}}}}},
  };
}

const FilesStreamConfig* FilesSource::FindStream(const std::string& name) const {
  for (const FilesStreamConfig& s : config_.streams) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Result<std::vector<ObjectEntry>> FilesSource::Matching(const FilesStreamConfig& stream) {
  DEW_ASSIGN_OR_RETURN(std::vector<ObjectEntry> all, store_->List(GlobPrefix(stream.glob)));
  std::vector<ObjectEntry> out;
  for (ObjectEntry& e : all) {
    if (GlobMatch(stream.glob, e.path)) out.push_back(std::move(e));
  }
  // Oldest first, so a later version of a record lands after an earlier one.
  std::sort(out.begin(), out.end(), [](const ObjectEntry& a, const ObjectEntry& b) {
    return a.mtime_millis != b.mtime_millis ? a.mtime_millis < b.mtime_millis : a.path < b.path;
  });
  return out;
}

Status FilesSource::Check(const std::vector<std::string>& streams, CheckProblem* problem) {
  CheckProblem local = CheckProblem::kNone;
  if (problem == nullptr) problem = &local;
  *problem = CheckProblem::kNone;
  DEW_RETURN_IF_ERROR(store_->Check(problem));
  for (const std::string& name : streams) {
    const FilesStreamConfig* stream = FindStream(name);
    if (stream == nullptr) {
      *problem = CheckProblem::kMissingTable;
      return Status::NotFound("stream " + name + " is not configured in connection " +
                              config_.source);
    }
    Result<std::vector<ObjectEntry>> files = Matching(*stream);
    if (!files.ok()) {
      *problem = CheckProblem::kOther;
      return files.status();
    }
    if (files->empty()) {
      *problem = CheckProblem::kMissingTable;
      return Status::NotFound("no file matches glob '" + stream->glob + "' of stream " + name +
                              " in " + store_->Describe());
    }
  }
  return Status::OK();
}

Result<StreamInfo> FilesSource::DescribeOne(const FilesStreamConfig& stream,
                                            engine::Connection& con) {
  StreamInfo info;
  info.name = stream.name;
  info.namespace_ = store_->Describe();
  info.primary_key = stream.primary_key;
  DEW_ASSIGN_OR_RETURN(std::vector<ObjectEntry> files, Matching(stream));
  if (files.empty()) return info;
  const ObjectEntry& newest = files.back();
  const std::string format = stream.format.empty() ? FormatFromName(newest.path) : stream.format;
  if (format.empty())
    return Status::InvalidArgument("cannot tell the format of " + newest.path + " in " +
                                   store_->Describe() + " (set format: in stream " + stream.name +
                                   ")");
  std::string local = store_->LocalPath(newest.path);
  std::string spooled;
  if (local.empty()) {
    DEW_RETURN_IF_ERROR(fs_->CreateDirs(config_.spool_dir));
    IdGenerator ids;
    spooled = JoinPath(config_.spool_dir,
                       "discover_" + ids.NewUuid() + "_" + SafeName(BaseName(newest.path)));
    Status s = store_->Download(newest.path, spooled);
    if (!s.ok()) {
      (void)fs_->RemoveFile(spooled);
      return s;
    }
    local = spooled;
  }
  Result<engine::TextTable> described =
      con.QueryText("DESCRIBE SELECT * FROM " + ReaderSql(local, format, stream.csv));
  if (!spooled.empty()) (void)fs_->RemoveFile(spooled);
  if (!described.ok())
    return described.status().WithContext("reading " + newest.path + " in " + store_->Describe());
  for (const auto& row : described->rows) {
    ColumnInfo c;
    c.name = row[0].value_or("");
    c.lake_type = row[1].value_or("");
    c.source_type = format + ":" + c.lake_type;
    info.columns.push_back(std::move(c));
  }
  // Every landed row carries the file it came from.
  info.columns.push_back({"_source_file", "path", "VARCHAR", false});
  return info;
}

Result<std::vector<StreamInfo>> FilesSource::Discover() {
  DEW_ASSIGN_OR_RETURN(auto db, engine::Database::Open(engine::DatabaseOptions{}));
  DEW_ASSIGN_OR_RETURN(auto con, db->Connect());
  std::vector<StreamInfo> out;
  for (const FilesStreamConfig& stream : config_.streams) {
    DEW_ASSIGN_OR_RETURN(StreamInfo info, DescribeOne(stream, *con));
    out.push_back(std::move(info));
  }
  return out;
}

Result<StreamInfo> FilesSource::DescribeStream(const std::string& name) {
  const FilesStreamConfig* stream = FindStream(name);
  if (stream == nullptr)
    return Status::NotFound("stream " + name + " is not configured in connection " +
                            config_.source);
  DEW_ASSIGN_OR_RETURN(auto db, engine::Database::Open(engine::DatabaseOptions{}));
  DEW_ASSIGN_OR_RETURN(auto con, db->Connect());
  return DescribeOne(*stream, *con);
}

Result<ReadResult> FilesSource::Read(const StreamRequest& request, const nlohmann::json& state,
                                     lake::Lakehouse* lake) {
  const FilesStreamConfig* stream = FindStream(request.name);
  if (stream == nullptr)
    return Status::NotFound("stream " + request.name + " is not configured in connection " +
                            config_.source);
  BronzeLanding landing(lake, config_.source, stream->name);
  DEW_ASSIGN_OR_RETURN(CommittedState committed, landing.LastCommitted());
  const bool full = request.sync_mode == "full_refresh";
  json files = json::object();
  if (!full) {
    // The state committed with the data is the truth (a kill may have lost the caller's copy);
    // after a reset nothing counts as landed.
    const json& current = !committed.state.is_null() ? committed.state
                          : committed.reset          ? json()
                                                     : state;
    if (current.is_object() && current.contains("files") && current["files"].is_object())
      files = current["files"];
  }

  DEW_ASSIGN_OR_RETURN(std::vector<ObjectEntry> matching, Matching(*stream));
  std::vector<ObjectEntry> pending;
  // Files gone from the source leave the state, so it stays as large as the folder.
  json present = json::object();
  for (const ObjectEntry& e : matching) {
    if (Unchanged(files, e)) {
      present[e.path] = files[e.path];
    } else {
      pending.push_back(e);
    }
  }
  files = std::move(present);

  ReadResult result;
  result.table = landing.table();
  result.state = {{"files", files}};
  if (pending.empty()) return result;

  // Group consecutive small files of one format into batches.
  std::vector<std::vector<ObjectEntry>> batches;
  std::vector<std::string> batch_formats;
  int64_t batch_size = 0;
  for (const ObjectEntry& e : pending) {
    const std::string format = stream->format.empty() ? FormatFromName(e.path) : stream->format;
    if (format.empty())
      return Status::InvalidArgument("cannot tell the format of " + e.path + " in " +
                                     store_->Describe() + " (set format: in stream " +
                                     stream->name + ", or narrow its glob)");
    if (batches.empty() || batch_formats.back() != format ||
        batch_size + e.size > config_.batch_bytes ||
        static_cast<int>(batches.back().size()) >= config_.batch_files) {
      batches.emplace_back();
      batch_formats.push_back(format);
      batch_size = 0;
    }
    batches.back().push_back(e);
    batch_size += e.size;
  }

  // Downloads go to a folder of this sync's own, made on first use and removed at the end.
  std::string spool;
  struct SpoolRemover {
    FileSystem* fs;
    const std::string& dir;
    ~SpoolRemover() {
      if (!dir.empty()) (void)fs->RemoveAll(dir);
    }
  } remover{fs_.get(), spool};

  for (size_t b = 0; b < batches.size(); ++b) {
    // Between batches only: what is committed stays, and the next sync starts at this batch.
    if (request.cancel != nullptr && request.cancel->load())
      return Status::Interrupted("sync of stream " + stream->name + " of " + config_.source +
                                 " cancelled after " + std::to_string(b) + " of " +
                                 std::to_string(batches.size()) + " batches");
    const std::vector<ObjectEntry>& batch = batches[b];
    std::string select, cursor = "CASE _source_file";
    std::vector<std::string> downloaded;
    for (size_t i = 0; i < batch.size(); ++i) {
      const ObjectEntry& e = batch[i];
      std::string local = store_->LocalPath(e.path);
      if (local.empty()) {
        if (spool.empty()) {
          IdGenerator ids;
          const std::string dir =
              JoinPath(config_.spool_dir, "files_" + config_.source + "_" + ids.NewUuid());
          DEW_RETURN_IF_ERROR(fs_->CreateDirs(dir));
          spool = dir;
        }
        local = JoinPath(spool, std::to_string(i) + "_" + SafeName(BaseName(e.path)));
        Status s = store_->Download(e.path, local);
        downloaded.push_back(local);
        if (!s.ok()) {
          for (const std::string& d : downloaded) (void)fs_->RemoveFile(d);
          return s;
        }
      }
      result.bytes_read += e.size;
      std::string columns = "*";
      if (!request.columns.empty()) {
        columns.clear();
        for (const std::string& c : request.columns)
          columns += (columns.empty() ? "" : ", ") + SqlIdent(c);
      }
      if (i) select += " UNION ALL BY NAME ";
      select += "SELECT " + columns + ", " + SqlString(e.path) + " AS _source_file FROM " +
                ReaderSql(local, batch_formats[b], stream->csv);
      cursor += " WHEN " + SqlString(e.path) + " THEN " + SqlString(CursorOf(e));
      files[e.path] = FileState(e);
    }
    LandingBatch landing_batch;
    landing_batch.select_sql = batch.size() == 1 ? select : "SELECT * FROM (" + select + ")";
    landing_batch.cursor_sql = cursor + " END";
    landing_batch.state = {{"files", files}};
    landing_batch.mode = full ? "full_refresh" : "incremental";
    landing_batch.full_refresh_start = full && b == 0;
    landing_batch.quarantine = request.quarantine;
    Result<LandingResult> landed = landing.Land(landing_batch);
    for (const std::string& d : downloaded) (void)fs_->RemoveFile(d);
    if (!landed.ok()) {
      std::string names;
      for (const ObjectEntry& e : batch) names += (names.empty() ? "" : ", ") + e.path;
      return landed.status().WithContext("landing " + names + " from " + store_->Describe() +
                                         " in " + landing.table());
    }
    if (landed->commit.version >= 0) {
      result.rows += landed->commit.rows_added;
      result.commits++;
    }
    result.state = landing_batch.state;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// MakeFilesSource: the connection file's files:, auth: and stream blocks, validated.

namespace {

const std::vector<std::string> kFilesKeys = {"store",
                                             "root",
                                             "endpoint",
                                             "region",
                                             "bucket",
                                             "path_style",
                                             "page_size",
                                             "host",
                                             "port",
                                             "known_hosts",
                                             "host_key_fingerprint",
                                             "timeout_seconds",
                                             "batch_bytes",
                                             "batch_files"};
const std::vector<std::string> kS3Keys = {"endpoint", "region", "bucket", "path_style",
                                          "page_size"};
const std::vector<std::string> kSftpKeys = {"host", "port", "known_hosts", "host_key_fingerprint",
                                            "timeout_seconds"};
const std::vector<std::string> kS3AuthKeys = {"access_key_id", "secret_access_key",
                                              "session_token"};
const std::vector<std::string> kSftpAuthKeys = {"user", "password", "private_key",
                                                "private_key_file", "passphrase"};
const std::vector<std::string> kStreamKeys = {"glob", "format", "csv"};
const std::vector<std::string> kCsvKeys = {"delimiter",   "header",      "quote",
                                           "escape",      "skip",        "null",
                                           "all_varchar", "date_format", "timestamp_format"};

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string Escape(const std::string& key) {
  std::string out;
  for (char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

std::string Suggestion(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best = ClosestMatch(word, candidates);
  if (best) return " (did you mean '" + *best + "'?)";
  std::string all;
  for (const std::string& c : candidates) all += (all.empty() ? "" : ", ") + c;
  return " (expected one of: " + all + ")";
}

Status CheckKeys(const SpecBlock& block, const std::string& pointer, const json& value,
                 const std::vector<std::string>& allowed) {
  if (!value.is_object()) return block.Error(pointer, "wrong type: expected a mapping");
  for (const auto& [key, v] : value.items()) {
    if (!Contains(allowed, key))
      return block.Error(pointer + "/" + Escape(key), "unknown key" + Suggestion(key, allowed));
  }
  return Status::OK();
}

Result<std::string> String(const SpecBlock& block, const std::string& pointer, bool required) {
  json::json_pointer ptr(pointer);
  if (!block.value.contains(ptr) || block.value.at(ptr).is_null()) {
    if (required)
      return block.Error(pointer.substr(0, pointer.rfind('/')),
                         "missing required field " + pointer.substr(pointer.rfind('/') + 1));
    return std::string();
  }
  const json& v = block.value.at(ptr);
  if (!v.is_string()) return block.Error(pointer, "wrong type: expected a string, got " + v.dump());
  if (v.get<std::string>().empty()) return block.Error(pointer, "must not be empty");
  return v.get<std::string>();
}

Result<int64_t> Integer(const SpecBlock& block, const std::string& pointer, int64_t fallback,
                        int64_t min, int64_t max) {
  json::json_pointer ptr(pointer);
  if (!block.value.contains(ptr)) return fallback;
  const json& v = block.value.at(ptr);
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max)
    return block.Error(pointer, "wrong type: expected a whole number " + std::to_string(min) + "-" +
                                    std::to_string(max) + ", got " + v.dump());
  return v.get<int64_t>();
}

Result<bool> Boolean(const SpecBlock& block, const std::string& pointer, bool fallback) {
  json::json_pointer ptr(pointer);
  if (!block.value.contains(ptr)) return fallback;
  const json& v = block.value.at(ptr);
  if (!v.is_boolean())
    return block.Error(pointer, "wrong type: expected true or false, got " + v.dump());
  return v.get<bool>();
}

// A secret must come from the environment; ResolvedString then reads it.
Result<std::string> Secret(const SpecBlock& block, const std::string& pointer,
                           const std::map<std::string, std::string>& env) {
  json::json_pointer ptr(pointer);
  if (!block.value.contains(ptr)) return std::string();
  const json& v = block.value.at(ptr);
  if (!v.is_string() || v.get<std::string>().rfind("${env:", 0) != 0)
    return block.Error(pointer,
                       "a literal secret is not allowed in a connection file; write "
                       "${env:NAME} and set the variable NAME where dew runs");
  return block.ResolvedString(pointer, env);
}

std::string Absolute(const std::string& path, const std::string& base) {
  if (path.empty() || path[0] == '/' || base.empty()) return path;
  return JoinPath(base, path);
}

Result<FilesStreamConfig> ParseStream(const StreamSpec& spec) {
  const SpecBlock& b = spec.options;
  FilesStreamConfig s;
  s.name = spec.name;
  s.primary_key = spec.primary_key;
  DEW_RETURN_IF_ERROR(CheckKeys(b, "", b.value, kStreamKeys));
  DEW_ASSIGN_OR_RETURN(s.glob, String(b, "/glob", false));
  if (s.glob.empty())
    return b.Error("", "missing required field glob (e.g. glob: \"statements/*.csv\")");
  if (s.glob[0] == '/')
    return b.Error("/glob", "must be relative to files.root, got '" + s.glob + "'");
  DEW_ASSIGN_OR_RETURN(s.format, String(b, "/format", false));
  if (!s.format.empty() && !Contains(kFormats, s.format))
    return b.Error("/format",
                   "'" + s.format + "' is not a format" + Suggestion(s.format, kFormats));
  if (b.value.contains("csv")) {
    const json& csv = b.value["csv"];
    DEW_RETURN_IF_ERROR(CheckKeys(b, "/csv", csv, kCsvKeys));
    for (const auto& [key, v] : csv.items()) {
      const std::string ptr = "/csv/" + Escape(key);
      if (key == "header" || key == "all_varchar") {
        if (!v.is_boolean())
          return b.Error(ptr, "wrong type: expected true or false, got " + v.dump());
      } else if (key == "skip") {
        if (!v.is_number_integer() || v.get<int64_t>() < 0)
          return b.Error(ptr, "wrong type: expected a whole number >= 0, got " + v.dump());
      } else if (!v.is_string()) {
        return b.Error(ptr, "wrong type: expected a string, got " + v.dump());
      } else if ((key == "delimiter" || key == "quote" || key == "escape") &&
                 v.get<std::string>().empty()) {
        return b.Error(ptr, "must not be empty");
      }
    }
    s.csv = csv;
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<Source>> MakeFilesSource(const ConnectionSpec& spec, const SourceEnv& env) {
  const SpecBlock& f = spec.options;
  if (f.value.empty() || !f.value.is_object())
    return Status::InvalidArgument(
        spec.file + ": files: missing required block (files: {store: local|s3|sftp, root: …})");
  DEW_RETURN_IF_ERROR(CheckKeys(f, "", f.value, kFilesKeys));
  DEW_ASSIGN_OR_RETURN(std::string store, String(f, "/store", true));
  const std::vector<std::string> stores = {"local", "s3", "sftp"};
  if (!Contains(stores, store))
    return f.Error("/store", "'" + store + "' is not a store" + Suggestion(store, stores));
  for (const auto& [key, v] : f.value.items()) {
    if ((Contains(kS3Keys, key) && store != "s3") || (Contains(kSftpKeys, key) && store != "sftp"))
      return f.Error("/" + Escape(key), "does not apply to store " + store);
  }
  const SpecBlock& a = spec.auth_options;
  const std::vector<std::string>& auth_keys = store == "s3" ? kS3AuthKeys : kSftpAuthKeys;
  if (!a.value.empty()) {
    if (store == "local") return a.Error("", "store local takes no auth: block");
    DEW_RETURN_IF_ERROR(CheckKeys(a, "", a.value, auth_keys));
  }

  FilesConfig config;
  config.source = spec.name;
  config.spool_dir = env.spool_dir.empty() ? "/tmp" : env.spool_dir;
  DEW_ASSIGN_OR_RETURN(config.batch_bytes,
                       Integer(f, "/batch_bytes", config.batch_bytes, 1, int64_t{1} << 40));
  DEW_ASSIGN_OR_RETURN(int64_t batch_files,
                       Integer(f, "/batch_files", config.batch_files, 1, 100000));
  config.batch_files = static_cast<int>(batch_files);
  DEW_ASSIGN_OR_RETURN(std::string root, String(f, "/root", store == "local"));
  for (const StreamSpec& s : spec.streams) {
    DEW_ASSIGN_OR_RETURN(FilesStreamConfig stream, ParseStream(s));
    config.streams.push_back(std::move(stream));
  }

  std::unique_ptr<ObjectStore> object_store;
  if (store == "local") {
    object_store = std::make_unique<LocalObjectStore>(env.fs, Absolute(root, env.project_dir));
  } else if (store == "s3") {
    S3Config s3;
    DEW_ASSIGN_OR_RETURN(s3.bucket, String(f, "/bucket", true));
    DEW_ASSIGN_OR_RETURN(s3.endpoint, String(f, "/endpoint", false));
    if (!s3.endpoint.empty() && s3.endpoint.rfind("http://", 0) != 0 &&
        s3.endpoint.rfind("https://", 0) != 0)
      return f.Error("/endpoint", "must start with http:// or https://, got '" + s3.endpoint + "'");
    DEW_ASSIGN_OR_RETURN(std::string region, String(f, "/region", false));
    if (!region.empty()) s3.region = region;
    DEW_ASSIGN_OR_RETURN(s3.path_style, Boolean(f, "/path_style", !s3.endpoint.empty()));
    DEW_ASSIGN_OR_RETURN(int64_t page_size, Integer(f, "/page_size", 1000, 1, 1000));
    s3.page_size = static_cast<int>(page_size);
    while (!root.empty() && root[0] == '/') root.erase(0, 1);
    if (!root.empty() && root.back() != '/') root += '/';
    s3.root = root;
    if (a.value.empty())
      return Status::InvalidArgument(
          spec.file +
          ": auth: missing required block (access_key_id, secret_access_key) for store s3");
    if (!a.value.contains("access_key_id"))
      return a.Error("", "missing required field access_key_id");
    if (!a.value.contains("secret_access_key"))
      return a.Error("", "missing required field secret_access_key");
    DEW_ASSIGN_OR_RETURN(s3.credentials.access_key_id, a.ResolvedString("/access_key_id", env.env));
    DEW_ASSIGN_OR_RETURN(s3.credentials.secret_access_key,
                         Secret(a, "/secret_access_key", env.env));
    DEW_ASSIGN_OR_RETURN(s3.credentials.session_token, Secret(a, "/session_token", env.env));
    if (!env.http) return Status::Internal("files source: no HttpClient in the SourceEnv");
    object_store = std::make_unique<S3ObjectStore>(std::move(s3), env.http, env.clock);
  } else {
    SftpConfig sftp;
    DEW_ASSIGN_OR_RETURN(sftp.host, String(f, "/host", true));
    DEW_ASSIGN_OR_RETURN(int64_t port, Integer(f, "/port", 22, 1, 65535));
    sftp.port = static_cast<int>(port);
    DEW_ASSIGN_OR_RETURN(int64_t timeout, Integer(f, "/timeout_seconds", 30, 1, 3600));
    sftp.timeout_seconds = static_cast<int>(timeout);
    DEW_ASSIGN_OR_RETURN(std::string known_hosts, String(f, "/known_hosts", false));
    sftp.known_hosts = Absolute(known_hosts, env.project_dir);
    DEW_ASSIGN_OR_RETURN(sftp.host_key_fingerprint, String(f, "/host_key_fingerprint", false));
    if (!sftp.host_key_fingerprint.empty() && sftp.host_key_fingerprint.rfind("SHA256:", 0) != 0)
      return f.Error("/host_key_fingerprint",
                     "expected a SHA256 fingerprint as ssh-keygen -lf prints it (SHA256:…)");
    sftp.root = root;
    if (a.value.empty())
      return Status::InvalidArgument(
          spec.file +
          ": auth: missing required block (user, password or private_key) for store sftp");
    DEW_ASSIGN_OR_RETURN(sftp.user, String(a, "/user", true));
    DEW_ASSIGN_OR_RETURN(sftp.password, Secret(a, "/password", env.env));
    DEW_ASSIGN_OR_RETURN(sftp.private_key, Secret(a, "/private_key", env.env));
    DEW_ASSIGN_OR_RETURN(std::string key_file, String(a, "/private_key_file", false));
    sftp.private_key_file = Absolute(key_file, env.project_dir);
    DEW_ASSIGN_OR_RETURN(sftp.passphrase, Secret(a, "/passphrase", env.env));
    const int methods = (a.value.contains("password") ? 1 : 0) +
                        (a.value.contains("private_key") ? 1 : 0) +
                        (a.value.contains("private_key_file") ? 1 : 0);
    if (methods != 1)
      return a.Error("", "needs exactly one of password, private_key, private_key_file");
    object_store = std::make_unique<SftpObjectStore>(std::move(sftp));
  }
  std::unique_ptr<Source> source =
      std::make_unique<FilesSource>(std::move(config), std::move(object_store), env.fs);
  return source;
}

}  // namespace dew::connectors
