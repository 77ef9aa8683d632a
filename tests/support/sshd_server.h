// SshdServer: a throwaway OpenSSH server (Debian's openssh-server) for SFTP tests. It runs from a
// temp folder with its own config, a generated ed25519 host key, and a generated client key in
// authorized_keys, on a free loopback port; internal-sftp serves the files. We run as root, so
// sshd runs as root too (login as the current user, PermitRootLogin yes). Stopped and removed
// by the destructor.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "support/peer_process.h"

namespace dew::testing {

class SshdServer {
 public:
  //! True when /usr/sbin/sshd and ssh-keygen are installed; tests skip otherwise.
  static bool Available();
  //! Generates the keys, writes sshd_config, starts `sshd -D -e` and waits for the port.
  static Result<std::unique_ptr<SshdServer>> Start();
  ~SshdServer();
  SshdServer(const SshdServer&) = delete;
  SshdServer& operator=(const SshdServer&) = delete;

  int port() const { return port_; }
  const std::string& user() const { return user_; }
  //! The temp folder (keys, config, log); files to serve go under data_dir().
  const std::string& dir() const { return dir_; }
  //! An empty folder for the test's files (absolute path on the server).
  std::string data_dir() const { return dir_ + "/data"; }
  //! The authorized client key (OpenSSH private key file) and its text.
  std::string client_key_path() const { return dir_ + "/client_ed25519"; }
  std::string client_key_text() const;
  //! A known_hosts file listing the host key for [127.0.0.1]:port.
  std::string known_hosts_path() const { return dir_ + "/known_hosts"; }
  //! "SHA256:<base64>" of the host key, as ssh-keygen -lf prints it.
  const std::string& host_key_fingerprint() const { return fingerprint_; }
  std::string Log() const { return process_ ? process_->Log() : std::string(); }

 private:
  SshdServer() = default;
  std::string dir_;
  std::string user_;
  std::string fingerprint_;
  int port_ = 0;
  std::unique_ptr<PeerProcess> process_;
};

}  // namespace dew::testing
