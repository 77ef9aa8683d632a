#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <random>

#include "core/file_system.h"

namespace dew {
namespace {

Status ErrnoStatus(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  if (err == EEXIST) return Status::AlreadyExists(msg);
  return Status::IOError(msg);
}

std::string ParentOf(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, const std::string& contents, const std::string& path) {
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return ErrnoStatus("cannot sync", path, errno);
  return Status::OK();
}

class PosixFileSystem final : public FileSystem {
 public:
  PosixFileSystem() : rng_(std::random_device{}()) {}

  Result<std::string> ReadFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("cannot open", path, errno);
    std::string out;
    char buf[65536];
    while (true) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return ErrnoStatus("cannot read", path, err);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  Status WriteFile(const std::string& path, const std::string& contents) override {
    std::string tmp = TempNameFor(path);
    DEW_RETURN_IF_ERROR(WriteNew(tmp, contents));
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return ErrnoStatus("cannot rename into", path, err);
    }
    return SyncDir(ParentOf(path));
  }

  Status CreateExclusive(const std::string& path, const std::string& contents) override {
    // Write the whole file under a temporary name, then link() it into place: link fails with
    // EEXIST when the name is taken, and a reader never sees a partial file.
    std::string tmp = TempNameFor(path);
    DEW_RETURN_IF_ERROR(WriteNew(tmp, contents));
    int rc = ::link(tmp.c_str(), path.c_str());
    int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) return ErrnoStatus("cannot create", path, err);
    return SyncDir(ParentOf(path));
  }

  Result<std::vector<FileInfo>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return ErrnoStatus("cannot list", path, errno);
    std::vector<FileInfo> out;
    while (struct dirent* entry = ::readdir(dir)) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      auto info = Stat(JoinPath(path, name));
      if (!info.ok()) continue;  // removed while listing
      info->name = name;
      out.push_back(std::move(*info));
    }
    ::closedir(dir);
    return out;
  }

  Result<std::vector<FileInfo>> ListRecursive(const std::string& path) override {
    std::vector<FileInfo> out;
    DEW_RETURN_IF_ERROR(Walk(path, "", &out));
    return out;
  }

  Result<FileInfo> Stat(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("cannot stat", path, errno);
    FileInfo info;
    info.name = path;
    info.size = static_cast<uint64_t>(st.st_size);
    info.mtime_millis =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    info.is_dir = S_ISDIR(st.st_mode);
    return info;
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  Status CreateDirs(const std::string& path) override {
    if (path.empty()) return Status::OK();
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return Status::OK();
      return Status::IOError("not a folder: " + path);
    }
    std::string parent = ParentOf(path);
    if (parent != path) DEW_RETURN_IF_ERROR(CreateDirs(parent));
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus("cannot create folder", path, errno);
    }
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("cannot remove", path, errno);
    return Status::OK();
  }

  Status RemoveEmptyDir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) {
      if (errno == ENOTEMPTY || errno == EEXIST) return Status::OK();
      return ErrnoStatus("cannot remove folder", path, errno);
    }
    return Status::OK();
  }

  Status RemoveAll(const std::string& path) override {
    auto info = Stat(path);
    if (!info.ok()) return info.status().IsNotFound() ? Status::OK() : info.status();
    if (info->is_dir) {
      DEW_ASSIGN_OR_RETURN(auto entries, ListDir(path));
      for (const auto& e : entries) DEW_RETURN_IF_ERROR(RemoveAll(JoinPath(path, e.name)));
      if (::rmdir(path.c_str()) != 0) return ErrnoStatus("cannot remove folder", path, errno);
      return Status::OK();
    }
    return RemoveFile(path);
  }

 private:
  std::string TempNameFor(const std::string& path) {
    uint64_t r;
    {
      std::lock_guard<std::mutex> lock(mu_);
      r = rng_();
    }
    char suffix[32];
    std::snprintf(suffix, sizeof(suffix), ".%016llx.tmp", static_cast<unsigned long long>(r));
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    // A leading '.' keeps the temporary file hidden from readers that list the folder.
    return dir + "." + base + suffix;
  }

  Status WriteNew(const std::string& path, const std::string& contents) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("cannot create", path, errno);
    Status s = WriteAll(fd, contents, path);
    ::close(fd);
    if (!s.ok()) ::unlink(path.c_str());
    return s;
  }

  Status Sync(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("cannot open", path, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus("cannot sync", path, err);
    return Status::OK();
  }

  Status Link(const std::string& from, const std::string& to) override {
    if (::link(from.c_str(), to.c_str()) == 0) return Status::OK();
    const int err = errno;
    if (err != EXDEV && err != EPERM && err != EMLINK && err != ENOTSUP && err != ENOSYS) {
      return ErrnoStatus("cannot link " + from + " as", to, err);
    }
    return Copy(from, to);
  }

  // `to` as a new file with the bytes of `from`, synced; removed again on failure.
  Status Copy(const std::string& from, const std::string& to) {
    int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return ErrnoStatus("cannot open", from, errno);
    int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
      const int err = errno;
      ::close(in);
      return ErrnoStatus("cannot create", to, err);
    }
    Status s;
    char buf[1 << 16];
    while (s.ok()) {
      ssize_t n = ::read(in, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) s = ErrnoStatus("cannot read", from, errno);
      if (n <= 0) break;
      size_t done = 0;
      while (s.ok() && done < static_cast<size_t>(n)) {
        ssize_t w = ::write(out, buf + done, static_cast<size_t>(n) - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) s = ErrnoStatus("cannot write", to, errno);
        if (w > 0) done += static_cast<size_t>(w);
      }
    }
    if (s.ok() && ::fsync(out) != 0) s = ErrnoStatus("cannot sync", to, errno);
    ::close(in);
    ::close(out);
    if (!s.ok()) ::unlink(to.c_str());
    return s;
  }

  Status SyncDir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("cannot open folder", dir, errno);
    ::fsync(fd);
    ::close(fd);
    return Status::OK();
  }

  Status Walk(const std::string& root, const std::string& rel, std::vector<FileInfo>* out) {
    std::string dir = rel.empty() ? root : JoinPath(root, rel);
    DEW_ASSIGN_OR_RETURN(auto entries, ListDir(dir));
    for (auto& e : entries) {
      std::string child = rel.empty() ? e.name : JoinPath(rel, e.name);
      if (e.is_dir) {
        DEW_RETURN_IF_ERROR(Walk(root, child, out));
      } else {
        e.name = child;
        out->push_back(std::move(e));
      }
    }
    return Status::OK();
  }

  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

}  // namespace

std::shared_ptr<FileSystem> FileSystem::Posix() {
  return std::make_shared<PosixFileSystem>();
}

std::string JoinPath(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  if (a.back() == '/') return b.front() == '/' ? a + b.substr(1) : a + b;
  return b.front() == '/' ? a + b : a + "/" + b;
}

}  // namespace dew
