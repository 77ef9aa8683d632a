// SftpObjectStore: a folder on an SFTP server, through libssh's sftp API. The server's host
// key must be trusted before anything is sent: either it matches a pinned fingerprint
// ("SHA256:…", as `ssh-keygen -lf` prints it) or a known_hosts file lists it. Authentication
// by password or private key (the key's text, or a file).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "connectors/object_store.h"

namespace dew::connectors {

struct SftpConfig {
  std::string host;
  int port = 22;
  std::string user;
  std::string password;              //!< resolved secret, or empty
  std::string private_key;           //!< resolved secret: the key's text (OpenSSH/PEM), or empty
  std::string private_key_file;      //!< a key file, or empty
  std::string passphrase;            //!< of the private key, or empty
  std::string known_hosts;           //!< a known_hosts file; empty: ~/.ssh/known_hosts
  std::string host_key_fingerprint;  //!< "SHA256:<base64>"; when set, known_hosts is not used
  std::string root;                  //!< folder on the server (absolute, or from the login dir)
  int timeout_seconds = 30;
};

//! Keeps one SSH connection open between calls (made on first use, remade after a failure).
//! Not thread-safe: one thread at a time.
class SftpObjectStore : public ObjectStore {
 public:
  explicit SftpObjectStore(SftpConfig config);
  ~SftpObjectStore() override;
  SftpObjectStore(const SftpObjectStore&) = delete;
  SftpObjectStore& operator=(const SftpObjectStore&) = delete;

  std::string Describe() const override;
  //! kUnreachable (no SSH answer), kOther (untrusted or changed host key), kAuthRefused (user,
  //! password or key refused), kMissingDatabase (root folder missing).
  Status Check(CheckProblem* problem) override;
  Result<std::vector<ObjectEntry>> List(const std::string& prefix) override;
  std::string LocalPath(const std::string&) const override { return std::string(); }
  Status Download(const std::string& path, const std::string& local_path) override;

 private:
  struct Connection;
  Status Connect(CheckProblem* problem);
  void Disconnect();
  std::string RemotePath(const std::string& path) const;
  Status Walk(const std::string& relative, std::vector<ObjectEntry>* out, int depth);

  const SftpConfig config_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace dew::connectors
