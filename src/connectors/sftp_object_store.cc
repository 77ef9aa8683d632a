#include "connectors/sftp_object_store.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include <cstdio>

namespace dew::connectors {

struct SftpObjectStore::Connection {
  ssh_session ssh = nullptr;
  sftp_session sftp = nullptr;
  ~Connection() {
    if (sftp) sftp_free(sftp);
    if (ssh) {
      if (ssh_is_connected(ssh)) ssh_disconnect(ssh);
      ssh_free(ssh);
    }
  }
};

namespace {

struct KeyFree {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
using KeyPtr = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyFree>;

struct AttrFree {
  void operator()(sftp_attributes a) const { sftp_attributes_free(a); }
};
using AttrPtr = std::unique_ptr<sftp_attributes_struct, AttrFree>;

std::string SshError(ssh_session s) {
  const char* e = ssh_get_error(s);
  return e && *e ? e : "unknown error";
}

const char* SftpErrorName(int code) {
  switch (code) {
    case SSH_FX_NO_SUCH_FILE:
      return "no such file";
    case SSH_FX_PERMISSION_DENIED:
      return "permission denied";
    case SSH_FX_NO_SUCH_PATH:
      return "no such path";
    case SSH_FX_FAILURE:
      return "failure";
    default:
      return "error";
  }
}

// The server key's SHA-256 fingerprint as ssh-keygen -l prints it ("SHA256:<base64>").
Result<std::string> Fingerprint(ssh_session s) {
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(s, &raw) != SSH_OK)
    return Status::IOError("cannot read the server's host key: " + SshError(s));
  KeyPtr key(raw);
  unsigned char* hash = nullptr;
  size_t size = 0;
  if (ssh_get_publickey_hash(key.get(), SSH_PUBLICKEY_HASH_SHA256, &hash, &size) != 0)
    return Status::IOError("cannot hash the server's host key");
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, size);
  ssh_clean_pubkey_hash(&hash);
  if (text == nullptr) return Status::IOError("cannot format the server's host key fingerprint");
  std::string out = text;
  ssh_string_free_char(text);
  return out;
}

// Fingerprints compare without base64 padding, which ssh-keygen omits and users may add.
std::string Unpadded(std::string s) {
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

}  // namespace

SftpObjectStore::SftpObjectStore(SftpConfig config) : config_(std::move(config)) {}
SftpObjectStore::~SftpObjectStore() = default;

std::string SftpObjectStore::Describe() const {
  return "sftp://" + config_.user + "@" + config_.host + ":" + std::to_string(config_.port) +
         (config_.root.empty() || config_.root[0] != '/' ? "/" : "") + config_.root;
}

std::string SftpObjectStore::RemotePath(const std::string& path) const {
  std::string root = config_.root.empty() ? "." : config_.root;
  if (path.empty()) return root;
  return root.back() == '/' ? root + path : root + "/" + path;
}

void SftpObjectStore::Disconnect() {
  connection_.reset();
}

Status SftpObjectStore::Connect(CheckProblem* problem) {
  CheckProblem local = CheckProblem::kNone;
  if (problem == nullptr) problem = &local;
  if (connection_) return Status::OK();
  auto c = std::make_unique<Connection>();
  c->ssh = ssh_new();
  if (c->ssh == nullptr) return Status::Internal("ssh_new failed");
  const std::string where = config_.user + "@" + config_.host + ":" + std::to_string(config_.port);
  long timeout = config_.timeout_seconds;
  unsigned int port = static_cast<unsigned int>(config_.port);
  int no = 0;
  ssh_options_set(c->ssh, SSH_OPTIONS_HOST, config_.host.c_str());
  ssh_options_set(c->ssh, SSH_OPTIONS_PORT, &port);
  ssh_options_set(c->ssh, SSH_OPTIONS_USER, config_.user.c_str());
  ssh_options_set(c->ssh, SSH_OPTIONS_TIMEOUT, &timeout);
  // The user's ~/.ssh/config must not change where or how dew connects.
  ssh_options_set(c->ssh, SSH_OPTIONS_PROCESS_CONFIG, &no);
  if (!config_.known_hosts.empty())
    ssh_options_set(c->ssh, SSH_OPTIONS_KNOWNHOSTS, config_.known_hosts.c_str());
  if (ssh_connect(c->ssh) != SSH_OK) {
    *problem = CheckProblem::kUnreachable;
    return Status::IOError("cannot reach the SFTP server " + where + ": " + SshError(c->ssh));
  }

  if (!config_.host_key_fingerprint.empty()) {
    DEW_ASSIGN_OR_RETURN(std::string actual, Fingerprint(c->ssh));
    if (Unpadded(actual) != Unpadded(config_.host_key_fingerprint)) {
      *problem = CheckProblem::kOther;
      return Status::InvalidArgument("the host key of " + where + " is " + actual +
                                     ", not the pinned " + config_.host_key_fingerprint +
                                     " (host_key_fingerprint): refusing to connect");
    }
  } else {
    const ssh_known_hosts_e known = ssh_session_is_known_server(c->ssh);
    if (known != SSH_KNOWN_HOSTS_OK) {
      *problem = CheckProblem::kOther;
      Result<std::string> fp = Fingerprint(c->ssh);
      const std::string file =
          config_.known_hosts.empty() ? "~/.ssh/known_hosts" : config_.known_hosts;
      std::string why = known == SSH_KNOWN_HOSTS_CHANGED ? "has CHANGED from the one in "
                        : known == SSH_KNOWN_HOSTS_OTHER ? "is of another type than the one in "
                                                         : "is not listed in ";
      return Status::InvalidArgument("the host key of " + where + " (" +
                                     (fp.ok() ? *fp : std::string("unknown")) + ") " + why + file +
                                     ": refusing to connect (add it with ssh-keyscan, or pin "
                                     "files.host_key_fingerprint)");
    }
  }

  int rc = SSH_AUTH_DENIED;
  std::string method;
  if (!config_.private_key.empty() || !config_.private_key_file.empty()) {
    method = "private key";
    ssh_key raw = nullptr;
    const char* passphrase = config_.passphrase.empty() ? nullptr : config_.passphrase.c_str();
    int imported = config_.private_key.empty()
                       ? ssh_pki_import_privkey_file(config_.private_key_file.c_str(), passphrase,
                                                     nullptr, nullptr, &raw)
                       : ssh_pki_import_privkey_base64(config_.private_key.c_str(), passphrase,
                                                       nullptr, nullptr, &raw);
    if (imported != SSH_OK) {
      *problem = CheckProblem::kOther;
      return Status::InvalidArgument("cannot read the private key " +
                                     (config_.private_key.empty()
                                          ? config_.private_key_file
                                          : std::string("(auth.private_key)")) +
                                     " for " + where + " (wrong format or passphrase)");
    }
    KeyPtr key(raw);
    rc = ssh_userauth_publickey(c->ssh, nullptr, key.get());
  } else if (!config_.password.empty()) {
    method = "password";
    rc = ssh_userauth_password(c->ssh, nullptr, config_.password.c_str());
  } else {
    *problem = CheckProblem::kOther;
    return Status::InvalidArgument("no password or private key for " + where);
  }
  if (rc != SSH_AUTH_SUCCESS) {
    *problem = CheckProblem::kAuthRefused;
    return Status::InvalidArgument("the SFTP server " + where + " refused the " + method +
                                   " of user " + config_.user + ": " + SshError(c->ssh));
  }
  c->sftp = sftp_new(c->ssh);
  if (c->sftp == nullptr || sftp_init(c->sftp) != SSH_OK) {
    *problem = CheckProblem::kOther;
    return Status::IOError("the SSH server " + where +
                           " does not offer the sftp subsystem: " + SshError(c->ssh));
  }
  connection_ = std::move(c);
  return Status::OK();
}

Status SftpObjectStore::Check(CheckProblem* problem) {
  CheckProblem local = CheckProblem::kNone;
  if (problem == nullptr) problem = &local;
  *problem = CheckProblem::kNone;
  Disconnect();  // a check always makes a fresh connection
  DEW_RETURN_IF_ERROR(Connect(problem));
  const std::string root = RemotePath("");
  AttrPtr attr(sftp_stat(connection_->sftp, root.c_str()));
  if (!attr || attr->type != SSH_FILEXFER_TYPE_DIRECTORY) {
    const int code = attr ? SSH_FX_NO_SUCH_FILE : sftp_get_error(connection_->sftp);
    *problem = code == SSH_FX_PERMISSION_DENIED ? CheckProblem::kPermissionDenied
                                                : CheckProblem::kMissingDatabase;
    return Status::NotFound("folder " + root + " on " + Describe() + ": " +
                            (attr ? "not a folder" : SftpErrorName(code)));
  }
  return Status::OK();
}

Status SftpObjectStore::Walk(const std::string& relative, std::vector<ObjectEntry>* out,
                             int depth) {
  if (depth > 64) return Status::IOError("folders nested too deep under " + Describe());
  const std::string dir = RemotePath(relative);
  sftp_dir handle = sftp_opendir(connection_->sftp, dir.c_str());
  if (handle == nullptr) {
    const int code = sftp_get_error(connection_->sftp);
    if (code == SSH_FX_NO_SUCH_FILE || code == SSH_FX_NO_SUCH_PATH)
      return Status::NotFound("folder " + dir + " does not exist on " + Describe());
    return Status::IOError("cannot list " + dir + " on " + Describe() + ": " + SftpErrorName(code));
  }
  std::vector<std::string> folders;
  while (AttrPtr attr{sftp_readdir(connection_->sftp, handle)}) {
    const std::string name = attr->name ? attr->name : "";
    if (name.empty() || name == "." || name == "..") continue;
    const std::string rel = relative + name;
    uint8_t type = attr->type;
    uint64_t size = attr->size;
    uint32_t mtime = attr->mtime;
    if (type == SSH_FILEXFER_TYPE_SYMLINK) {
      AttrPtr target(sftp_stat(connection_->sftp, RemotePath(rel).c_str()));
      if (!target) continue;  // a dangling link is not a file
      type = target->type;
      size = target->size;
      mtime = target->mtime;
    }
    if (type == SSH_FILEXFER_TYPE_DIRECTORY) {
      folders.push_back(rel + "/");
    } else if (type == SSH_FILEXFER_TYPE_REGULAR) {
      ObjectEntry e;
      e.path = rel;
      e.size = static_cast<int64_t>(size);
      e.mtime_millis = static_cast<int64_t>(mtime) * 1000;
      out->push_back(std::move(e));
    }
  }
  const bool complete = sftp_dir_eof(handle) != 0;
  sftp_closedir(handle);
  if (!complete) return Status::IOError("listing " + dir + " on " + Describe() + " was cut short");
  for (const std::string& folder : folders) DEW_RETURN_IF_ERROR(Walk(folder, out, depth + 1));
  return Status::OK();
}

Result<std::vector<ObjectEntry>> SftpObjectStore::List(const std::string& prefix) {
  DEW_RETURN_IF_ERROR(Connect(nullptr));
  std::vector<ObjectEntry> out;
  Status s = Walk(prefix, &out, 0);
  if (!s.ok()) {
    // A prefix folder that does not exist matches nothing; a missing root is an error.
    if (s.code() == Status::Code::kNotFound && !prefix.empty()) {
      AttrPtr root(sftp_stat(connection_->sftp, RemotePath("").c_str()));
      if (root) return std::vector<ObjectEntry>();
    }
    if (s.code() != Status::Code::kNotFound) Disconnect();
    return s;
  }
  return out;
}

Status SftpObjectStore::Download(const std::string& path, const std::string& local_path) {
  DEW_RETURN_IF_ERROR(Connect(nullptr));
  const std::string remote = RemotePath(path);
  sftp_file file = sftp_open(connection_->sftp, remote.c_str(), O_RDONLY, 0);
  if (file == nullptr) {
    const int code = sftp_get_error(connection_->sftp);
    Status s =
        Status::IOError("cannot open " + remote + " on " + Describe() + ": " + SftpErrorName(code));
    if (code == SSH_FX_NO_SUCH_FILE) return Status::NotFound(s.message());
    return s;
  }
  std::FILE* out = std::fopen(local_path.c_str(), "wb");
  if (out == nullptr) {
    sftp_close(file);
    return Status::IOError("cannot create " + local_path);
  }
  std::vector<char> buffer(1 << 16);
  bool read_failed = false, write_failed = false;
  while (true) {
    ssize_t n = sftp_read(file, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      read_failed = true;
      break;
    }
    if (std::fwrite(buffer.data(), 1, static_cast<size_t>(n), out) != static_cast<size_t>(n)) {
      write_failed = true;
      break;
    }
  }
  sftp_close(file);
  const bool closed = std::fclose(out) == 0;
  if (read_failed) {
    const std::string error = SshError(connection_->ssh);
    Disconnect();
    return Status::IOError("reading " + remote + " on " + Describe() + " failed: " + error);
  }
  if (write_failed || !closed) return Status::IOError("cannot write " + local_path);
  return Status::OK();
}

}  // namespace dew::connectors
