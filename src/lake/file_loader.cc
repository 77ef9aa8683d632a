#include "lake/file_loader.h"

#include <cstdio>
#include <memory>

#include "engine/connection.h"
#include "lake/csv_scanner.h"
#include "lake/project.h"

namespace dew::lake {
namespace {

using engine::SqlString;

constexpr char kQuote = '"';

bool IsGlob(const std::string& path) {
  return path.find_first_of("*?[{") != std::string::npos;
}

bool IsCompressed(const std::string& path) {
  auto ends = [&](const char* s) {
    std::string suffix(s);
    return path.size() > suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".gz") || ends(".zst") || ends(".bz2");
}

// Input files are read directly for diagnostics only (DuckDB reads them for the load); they
// can be far larger than memory, so they are streamed rather than read through FileSystem.
struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

std::string FirstLine(const std::string& path) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) return "";
  std::string line;
  int c;
  while ((c = std::fgetc(f.get())) != EOF && c != '\n') line += static_cast<char>(c);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string LineAt(const std::string& path, int64_t number) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) return "";
  int64_t line = 1;
  std::string out;
  int c;
  while ((c = std::fgetc(f.get())) != EOF) {
    if (c == '\n') {
      if (line == number) break;
      line++;
      continue;
    }
    if (line == number) out += static_cast<char>(c);
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return out;
}

std::optional<CsvProblem> ScanCsv(const std::string& path, char delimiter) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) return std::nullopt;
  CsvScanner scanner(delimiter, kQuote);
  std::string buf(1 << 20, '\0');
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) {
    if (!scanner.Feed(std::string_view(buf.data(), n))) return scanner.problem();
  }
  scanner.Finish();
  return scanner.problem();
}

// The text between `before` and `after` in `msg`, or empty.
std::string Between(const std::string& msg, const std::string& before, const std::string& after) {
  size_t a = msg.find(before);
  if (a == std::string::npos) return "";
  a += before.size();
  size_t b = msg.find(after, a);
  if (b == std::string::npos) return "";
  return msg.substr(a, b - a);
}

std::string FirstLineOf(const std::string& msg) {
  return msg.substr(0, msg.find('\n'));
}

}  // namespace

std::string FormatFromExtension(const std::string& path) {
  std::string p = path;
  for (const char* z : {".gz", ".zst", ".bz2"}) {
    std::string s(z);
    if (p.size() > s.size() && p.compare(p.size() - s.size(), s.size(), s) == 0) {
      p.resize(p.size() - s.size());
    }
  }
  size_t dot = p.find_last_of('.');
  size_t slash = p.find_last_of('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = p.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "csv" || ext == "tsv" || ext == "txt") return "csv";
  if (ext == "json" || ext == "ndjson" || ext == "jsonl") return "json";
  if (ext == "parquet" || ext == "parq") return "parquet";
  return "";
}

Result<LoadResult> FileLoader::Load(const LoadRequest& request) {
  std::string qualified = request.table;
  if (qualified.find('.') == std::string::npos) qualified = "bronze." + qualified;
  DEW_ASSIGN_OR_RETURN(TableName table, ParseTableName(qualified));
  if (table.layer != Layer::kBronze) {
    return Status::InvalidArgument("dew load lands data in bronze; '" + request.table + "' is in " +
                                   std::string(LayerName(table.layer)) +
                                   " (use dew sql to build later layers)");
  }
  DEW_RETURN_IF_ERROR(CheckNamingConvention(table));

  const std::string path = AbsolutePath(request.path, lake_->options().cwd);
  if (!IsGlob(path)) {
    auto info = lake_->fs().Stat(path);
    if (!info.ok()) {
      if (info.status().IsNotFound()) {
        return Status::NotFound("input file not found: " + request.path +
                                (request.path == path ? "" : " (" + path + ")"));
      }
      return info.status();
    }
    if (info->is_dir) {
      return Status::InvalidArgument(request.path + " is a folder; give a file or a glob such as " +
                                     request.path + "/*.csv");
    }
  }
  std::string format = request.format.empty() ? FormatFromExtension(path) : request.format;
  if (format.empty()) {
    return Status::InvalidArgument("cannot tell the format of " + request.path +
                                   " from its extension; pass --format csv|json|parquet");
  }

  // Derive _source and _stream from raw_<source>_<stream>.
  const std::string rest = table.name.substr(4);
  std::string source = request.source.empty() ? rest.substr(0, rest.find('_')) : request.source;
  std::string stream = request.stream.empty() ? rest.substr(rest.find('_') + 1) : request.stream;

  char delimiter = ',';
  std::string reader, cursor = "CAST(NULL AS VARCHAR)";
  // Input columns named like a lineage column are replaced by this load's lineage.
  std::string dropped = "'_emitted_at', '_source', '_stream', '_cursor', '_ingest_date', '_run_id'";
  if (format == "csv") {
    // The dialect comes from the header of the (first) file, not from DuckDB's sniffer, which
    // would rather skip malformed leading rows or read them as one column than fail.
    std::string first = path;
    if (IsGlob(path)) {
      auto listed = lake_->connection().QueryScalar("SELECT file FROM glob(" + SqlString(path) +
                                                    ") ORDER BY file LIMIT 1");
      if (!listed.ok() || !listed->has_value()) {
        return Status::NotFound("no input files match " + request.path);
      }
      first = **listed;
    }
    if (IsCompressed(first)) {
      reader = "read_csv(" + SqlString(path) + ", header=true)";
    } else {
      delimiter = GuessCsvDelimiter(FirstLine(first), kQuote);
      reader = "read_csv(" + SqlString(path) + ", delim=" + SqlString(std::string(1, delimiter)) +
               ", quote='\"', escape='\"', header=true, skip=0)";
    }
  } else if (format == "json") {
    reader = "read_json_auto(" + SqlString(path) + ")";
  } else if (format == "parquet") {
    reader = "read_parquet(" + SqlString(path) + ", filename=true, file_row_number=true)";
    cursor = "filename || ':' || CAST(file_row_number + 1 AS VARCHAR)";
    dropped += ", 'filename', 'file_row_number'";
  } else {
    return Status::InvalidArgument("unknown format '" + format +
                                   "': expected csv, json or parquet");
  }

  const int64_t now = lake_->clock().NowMillis();
  const std::string ts = FormatTimestampMillis(now);
  const std::string select = "SELECT COLUMNS(c -> c NOT IN (" + dropped + ")), CAST(" +
                             SqlString(ts + "+00") + " AS TIMESTAMPTZ) AS _emitted_at, " +
                             SqlString(source) + " AS _source, " + SqlString(stream) +
                             " AS _stream, " + cursor + " AS _cursor, CAST(" +
                             SqlString(ts.substr(0, 10)) + " AS DATE) AS _ingest_date, " +
                             SqlString(lake_->run_id()) + " AS _run_id FROM " + reader;

  auto explain = [&](const Status& error) -> Status {
    const std::string& msg = error.message();
    if (msg.find("No files found that match the pattern") != std::string::npos) {
      return Status::NotFound("no input files match " + request.path);
    }
    // Reader failures get a position; others (a schema that does not fit the table, a lost
    // commit race) are not the file's fault and keep their own message.
    const bool reader_error = msg.find("CSV") != std::string::npos ||
                              msg.find("sniff") != std::string::npos ||
                              msg.find("Conversion Error") != std::string::npos;
    if (format == "csv" && reader_error) {
      return DiagnoseCsv(error, path, request.path, delimiter);
    }
    return Status(error).WithContext("loading " + request.path + " into " + table.ToString());
  };

  LoadResult result;
  result.table = table;
  result.format = format;
  WriteOptions w = lake_->NewWriteOptions();
  w.merge_schema = request.merge_schema;
  w.parameters["source_file"] = request.path;
  w.parameters["format"] = format;
  w.parameters["mode"] = request.overwrite ? "overwrite" : "append";
  // Every row of a load has the same _ingest_date, so the write needs no partitioned writer.
  w.constant_partitions["_ingest_date"] = ts.substr(0, 10);
  Result<CommitResult> commit = Status::Internal("no write");
  if (lake_->Exists(table)) {
    DEW_ASSIGN_OR_RETURN(auto delta, lake_->OpenTable(table));
    commit =
        request.overwrite ? delta->Overwrite(select, std::nullopt, w) : delta->Append(select, w);
  } else {
    // The first load creates the table and its rows in one commit; a failure leaves nothing.
    result.created = true;
    commit = lake_->CreateTableAs(table, select, {"_ingest_date"}, w);
  }
  if (!commit.ok()) return explain(commit.status());
  result.commit = *commit;
  DEW_RETURN_IF_ERROR(lake_->RefreshView(table));
  return result;
}

Status FileLoader::DiagnoseCsv(const Status& error, const std::string& path,
                               const std::string& shown, char delimiter) {
  const std::string& msg = error.message();
  std::vector<std::string> files;
  if (IsGlob(path)) {
    auto listed = lake_->connection().QueryText("SELECT file FROM glob(" + SqlString(path) +
                                                ") ORDER BY file");
    if (listed.ok()) {
      for (const auto& row : listed->rows) {
        if (row[0]) files.push_back(*row[0]);
      }
    }
  } else {
    files.push_back(path);
  }
  auto display = [&](const std::string& file) {
    if (!IsGlob(path)) return shown;
    return file;
  };
  for (const std::string& file : files) {
    if (IsCompressed(file)) continue;
    auto problem = ScanCsv(file, delimiter);
    if (problem) {
      return Status::InvalidArgument(display(file) + ":" + std::to_string(problem->line) + ":" +
                                     std::to_string(problem->column) + ": " + problem->message);
    }
  }
  // A value the sniffer typed from a sample: DuckDB names the line and column.
  std::string line = Between(msg, "CSV Error on Line: ", "\n");
  std::string column = Between(msg, "converting column \"", "\"");
  if (!line.empty() && !column.empty()) {
    std::string file = Between(msg, "file = ", "\n");
    std::string full = file.empty() || files.size() == 1 ? files.front()
                                                         : AbsolutePath(file, lake_->options().cwd);
    int64_t line_no = std::atoll(line.c_str());
    CsvScanner header(delimiter, kQuote);
    (void)header.Feed(FirstLine(full) + "\n");
    int64_t col = 1;
    for (size_t i = 0; i < header.header().size(); i++) {
      if (header.header()[i] == column) {
        col = CsvFieldColumn(LineAt(full, line_no), i, delimiter, kQuote);
      }
    }
    std::string value = Between(msg, "Could not convert string \"", "\" to ");
    std::string type = Between(msg, "\" to '", "'");
    return Status::InvalidArgument(display(full) + ":" + line + ":" + std::to_string(col) +
                                   ": value \"" + value + "\" does not fit column " + column +
                                   " (expected " + (type.empty() ? "another type" : type) +
                                   ", the type detected from the first rows of the file)");
  }
  return Status::InvalidArgument("cannot read " + shown + " as CSV: " + FirstLineOf(msg));
}

}  // namespace dew::lake
