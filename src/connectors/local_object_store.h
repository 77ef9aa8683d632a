// LocalObjectStore: a folder on this machine seen as an ObjectStore. DuckDB reads its files in
// place, so nothing is downloaded.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "connectors/object_store.h"

namespace dew {
class FileSystem;
}

namespace dew::connectors {

//! Thread-compatible: one thread at a time.
class LocalObjectStore : public ObjectStore {
 public:
  //! `root` is an absolute folder; `fs` is shared.
  LocalObjectStore(std::shared_ptr<FileSystem> fs, std::string root)
      : fs_(std::move(fs)), root_(std::move(root)) {}

  std::string Describe() const override { return root_; }
  //! kMissingDatabase when the root folder does not exist or is not a folder.
  Status Check(CheckProblem* problem) override;
  Result<std::vector<ObjectEntry>> List(const std::string& prefix) override;
  //! root/path, or empty for a name DuckDB would take for a glob (then it is copied).
  std::string LocalPath(const std::string& path) const override;
  //! Copies the file to `local_path`.
  Status Download(const std::string& path, const std::string& local_path) override;

 private:
  std::shared_ptr<FileSystem> fs_;
  const std::string root_;
};

}  // namespace dew::connectors
