#include "connectors/local_object_store.h"

#include "core/file_system.h"

namespace dew::connectors {

Status LocalObjectStore::Check(CheckProblem* problem) {
  Result<FileInfo> info = fs_->Stat(root_);
  if (!info.ok() || !info->is_dir) {
    if (problem) *problem = CheckProblem::kMissingDatabase;
    return Status::NotFound("folder " + root_ + " does not exist");
  }
  if (problem) *problem = CheckProblem::kNone;
  return Status::OK();
}

Result<std::vector<ObjectEntry>> LocalObjectStore::List(const std::string& prefix) {
  if (!fs_->Exists(root_)) return Status::NotFound("folder " + root_ + " does not exist");
  const std::string folder = prefix.empty() ? root_ : JoinPath(root_, prefix);
  std::vector<ObjectEntry> out;
  // A glob whose fixed folder does not exist matches nothing; that is not an error.
  if (!fs_->Exists(folder)) return out;
  DEW_ASSIGN_OR_RETURN(std::vector<FileInfo> files, fs_->ListRecursive(folder));
  for (const FileInfo& f : files) {
    ObjectEntry e;
    e.path = prefix + f.name;
    e.size = static_cast<int64_t>(f.size);
    e.mtime_millis = f.mtime_millis;
    out.push_back(std::move(e));
  }
  return out;
}

std::string LocalObjectStore::LocalPath(const std::string& path) const {
  // DuckDB's readers expand * ? [ in a path as a glob; such a file is read from a copy.
  if (path.find_first_of("*?[") != std::string::npos) return std::string();
  return JoinPath(root_, path);
}

Status LocalObjectStore::Download(const std::string& path, const std::string& local_path) {
  DEW_ASSIGN_OR_RETURN(std::string data, fs_->ReadFile(JoinPath(root_, path)));
  return fs_->WriteFile(local_path, data);
}

}  // namespace dew::connectors
