// FileSystem: the operating system's files behind one interface, as LevelDB's Env.
//
// The lake reads and writes its log through this interface so that tests can inject faults
// (a FaultInjectingFileSystem wrapper) and so that no logic calls std::filesystem directly.
// Data files are written by DuckDB itself; only the metadata path goes through here.
// Implementations are safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace dew {

struct FileInfo {
  std::string name;          //!< base name, or path relative to the listed folder when recursive
  uint64_t size = 0;         //!< bytes
  int64_t mtime_millis = 0;  //!< modification time, ms since the Unix epoch
  bool is_dir = false;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  //! The whole file. NotFound when it does not exist; IOError naming the path otherwise.
  virtual Result<std::string> ReadFile(const std::string& path) = 0;

  //! Replaces `path` with `contents` atomically (temporary file, fsync, rename).
  virtual Status WriteFile(const std::string& path, const std::string& contents) = 0;

  //! Creates `path` holding `contents` only if it does not exist yet; the file appears complete
  //! or not at all. AlreadyExists when another writer created it first. This is the primitive
  //! behind Delta's mutual exclusion of commits.
  virtual Status CreateExclusive(const std::string& path, const std::string& contents) = 0;

  //! Entries of a folder (not recursive, no "." or ".."). NotFound when it does not exist.
  virtual Result<std::vector<FileInfo>> ListDir(const std::string& path) = 0;

  //! Every regular file under `path`, names relative to it.
  virtual Result<std::vector<FileInfo>> ListRecursive(const std::string& path) = 0;

  //! Metadata of one file or folder; NotFound when absent.
  virtual Result<FileInfo> Stat(const std::string& path) = 0;

  virtual bool Exists(const std::string& path) = 0;

  //! Creates the folder and its parents; OK when it exists already.
  virtual Status CreateDirs(const std::string& path) = 0;

  //! Removes one file; NotFound when absent.
  virtual Status RemoveFile(const std::string& path) = 0;

  //! Removes a folder when it is empty; OK (and nothing done) when it is not.
  virtual Status RemoveEmptyDir(const std::string& path) = 0;

  //! Removes a folder and everything inside it.
  virtual Status RemoveAll(const std::string& path) = 0;

  //! Makes a file's data, or a folder's entries, durable (fsync) when written by someone else
  //! (DuckDB writes a table's Parquet files). IOError naming the path when that fails.
  virtual Status Sync(const std::string& path) = 0;

  //! Gives the file `from` a second name `to` (a hard link: both names hold the same bytes, and
  //! removing either leaves the other), or where the file system cannot link the two (another
  //! device, no hard links), writes `to` as a durable copy of `from`. AlreadyExists when `to`
  //! exists. Meant for immutable files (a table's Parquet files), which nobody rewrites in place.
  virtual Status Link(const std::string& from, const std::string& to) = 0;

  //! The POSIX implementation.
  static std::shared_ptr<FileSystem> Posix();
};

//! Forwards every call to a target; tests override one method to inject a fault.
class FileSystemWrapper : public FileSystem {
 public:
  explicit FileSystemWrapper(std::shared_ptr<FileSystem> target) : target_(std::move(target)) {}

  Result<std::string> ReadFile(const std::string& path) override { return target_->ReadFile(path); }
  Status WriteFile(const std::string& path, const std::string& contents) override {
    return target_->WriteFile(path, contents);
  }
  Status CreateExclusive(const std::string& path, const std::string& contents) override {
    return target_->CreateExclusive(path, contents);
  }
  Result<std::vector<FileInfo>> ListDir(const std::string& path) override {
    return target_->ListDir(path);
  }
  Result<std::vector<FileInfo>> ListRecursive(const std::string& path) override {
    return target_->ListRecursive(path);
  }
  Result<FileInfo> Stat(const std::string& path) override { return target_->Stat(path); }
  bool Exists(const std::string& path) override { return target_->Exists(path); }
  Status CreateDirs(const std::string& path) override { return target_->CreateDirs(path); }
  Status RemoveFile(const std::string& path) override { return target_->RemoveFile(path); }
  Status RemoveEmptyDir(const std::string& path) override { return target_->RemoveEmptyDir(path); }
  Status RemoveAll(const std::string& path) override { return target_->RemoveAll(path); }
  Status Sync(const std::string& path) override { return target_->Sync(path); }
  Status Link(const std::string& from, const std::string& to) override {
    return target_->Link(from, to);
  }

 protected:
  FileSystem& target() { return *target_; }

 private:
  std::shared_ptr<FileSystem> target_;
};

//! Joins two path parts with exactly one '/'.
std::string JoinPath(const std::string& a, const std::string& b);

}  // namespace dew
