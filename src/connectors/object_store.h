// ObjectStore: where the files source finds its files. One interface over a local folder, an
// S3-compatible bucket and an SFTP server, so listing, change detection and downloading are
// written once in FilesSource. Paths are relative to the store's root and use '/'.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "connectors/source.h"
#include "core/status.h"

namespace dew::connectors {

struct ObjectEntry {
  std::string path;          //!< relative to the store's root, '/'-separated, no leading '/'
  int64_t size = 0;          //!< bytes
  int64_t mtime_millis = 0;  //!< last modification, ms since the epoch (0 when unknown)
  std::string etag;          //!< the server's content tag (S3 ETag without quotes), or empty
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  //! "s3://bucket/prefix at http://host:port", "sftp://user@host:port/root", "/abs/folder":
  //! for messages and `_source_file`. Never contains a secret.
  virtual std::string Describe() const = 0;

  //! Verifies that the store answers, accepts the credentials and that its root (bucket,
  //! folder) exists. OK, or a Status naming the store with the kind of failure in `*problem`
  //! (kUnreachable, kAuthRefused, kMissingDatabase for a missing bucket or root folder).
  virtual Status Check(CheckProblem* problem) = 0;

  //! Every file under `prefix` (a '/'-ended folder path relative to the root, or empty for the
  //! whole root), recursively. NotFound when the root itself does not exist; IOError naming the
  //! store otherwise.
  virtual Result<std::vector<ObjectEntry>> List(const std::string& prefix) = 0;

  //! The local path DuckDB can read `path` from in place, or empty when the file must be
  //! downloaded first (remote stores).
  virtual std::string LocalPath(const std::string& path) const = 0;

  //! Copies the file at `path` to the local file `local_path` (created or replaced). On failure
  //! `local_path` may hold part of the file; the caller removes it.
  virtual Status Download(const std::string& path, const std::string& local_path) = 0;
};

//! True when `path` matches the glob `pattern`: `*` and `?` stay inside one path segment,
//! `**` as a whole segment matches zero or more segments, `[abc]`/`[a-z]`/`[!a]` one character.
bool GlobMatch(const std::string& pattern, const std::string& path);

//! The folder part of `pattern` before its first wildcard, '/'-ended or empty ("a/b/*.csv" →
//! "a/b/"), so a listing can start there.
std::string GlobPrefix(const std::string& pattern);

}  // namespace dew::connectors
