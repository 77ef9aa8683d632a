// FilesSource: CSV, JSON, NDJSON and Parquet files from a local folder, an S3-compatible bucket
// or an SFTP server (an ObjectStore), landed in bronze.raw_<source>_<stream> incrementally by
// file. The stream state lists every file already landed with its size, mtime and etag; a sync
// lands only new or changed files, one BronzeLanding commit per file (or per group of small
// files), so a sync killed at any moment resumes at the next file. Remote files are downloaded
// to the spool folder, read by DuckDB (read_csv/read_json/read_parquet), landed and deleted.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connectors/object_store.h"
#include "connectors/source.h"

namespace dew {
class FileSystem;
}
namespace dew::engine {
class Connection;
}

namespace dew::connectors {

struct FilesStreamConfig {
  std::string name;
  std::string glob;    //!< relative to the store's root; `*`, `?`, `[..]`, `**`
  std::string format;  //!< "csv", "json", "ndjson", "parquet"; empty: by each file's extension
  std::vector<std::string> primary_key;
  //! CSV reader options as validated: delimiter, header, quote, escape, skip, null,
  //! all_varchar, date_format, timestamp_format (absent keys: DuckDB's detection).
  nlohmann::json csv = nlohmann::json::object();
};

struct FilesConfig {
  std::string source;     //!< the connection's name
  std::string spool_dir;  //!< where remote files are downloaded (created when missing)
  std::vector<FilesStreamConfig> streams;
  //! Small files are landed together while a group stays under both limits; a file larger
  //! than batch_bytes is a batch of its own.
  int64_t batch_bytes = 64 << 20;
  int batch_files = 100;
};

//! Not thread-safe: one call at a time (the store may keep a connection).
class FilesSource : public Source {
 public:
  //! `store` is owned; `fs` is shared (spool files).
  FilesSource(FilesConfig config, std::unique_ptr<ObjectStore> store,
              std::shared_ptr<FileSystem> fs);

  nlohmann::json Spec() const override;
  //! The store's Check (unreachable endpoint, refused credentials, missing bucket or folder),
  //! then for each named stream: kMissingTable when no file matches its glob.
  Status Check(const std::vector<std::string>& streams, CheckProblem* problem) override;
  //! Each configured stream with the columns DuckDB detects in its newest matching file (no
  //! columns when nothing matches yet).
  Result<std::vector<StreamInfo>> Discover() override;
  //! As Discover, for one stream (only its newest file is read). NotFound for an unknown
  //! stream.
  Result<StreamInfo> DescribeStream(const std::string& name) override;
  //! Lands the new and changed files of one stream (all files when sync_mode is full_refresh),
  //! oldest first, each row with `_source_file` (the path under the root) and `_cursor`
  //! ("<mtime as 2026-01-31T08:00:00.000Z> <path>@<etag, or size when the store has no etag>",
  //! so cursors sort like the files' times). The state of the last committed batch in
  //! bronze wins over `state` (it is the truth after a kill). On failure the batches committed
  //! before it stay, with their state. `cancel` is checked between batches (Interrupted);
  //! `quarantine` lands the rows in the quarantine table.
  Result<ReadResult> Read(const StreamRequest& stream, const nlohmann::json& state,
                          lake::Lakehouse* lake) override;

  //! The DuckDB table function reading `local_path` as `format` with the stream's CSV options.
  static std::string ReaderSql(const std::string& local_path, const std::string& format,
                               const nlohmann::json& csv);
  //! The format a file's name implies ("csv", "json", "ndjson", "parquet"), or empty.
  static std::string FormatFromName(const std::string& path);

 private:
  const FilesStreamConfig* FindStream(const std::string& name) const;
  Result<StreamInfo> DescribeOne(const FilesStreamConfig& stream, engine::Connection& con);
  Result<std::vector<ObjectEntry>> Matching(const FilesStreamConfig& stream);

  const FilesConfig config_;
  std::unique_ptr<ObjectStore> store_;
  std::shared_ptr<FileSystem> fs_;
};

}  // namespace dew::connectors
