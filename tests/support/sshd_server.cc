#include "support/sshd_server.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace dew::testing {
namespace {

constexpr const char* kSshd = "/usr/sbin/sshd";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteText(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status::IOError("cannot write " + path);
  chmod(path.c_str(), mode);
  return Status::OK();
}

}  // namespace

bool SshdServer::Available() {
  return access(kSshd, X_OK) == 0 && access("/usr/bin/ssh-keygen", X_OK) == 0;
}

std::string SshdServer::client_key_text() const {
  return ReadText(client_key_path());
}

Result<std::unique_ptr<SshdServer>> SshdServer::Start() {
  std::unique_ptr<SshdServer> s(new SshdServer());
  DEW_ASSIGN_OR_RETURN(s->dir_, MakeTempFolder("dew_sshd_"));
  chmod(s->dir_.c_str(), 0755);
  mkdir((s->dir_ + "/data").c_str(), 0755);
  struct passwd* pw = getpwuid(geteuid());
  if (pw == nullptr) return Status::NotFound("no passwd entry for the current user");
  s->user_ = pw->pw_name;
  // sshd's privilege separation needs this folder when it runs as root.
  mkdir("/run/sshd", 0755);

  const std::string host_key = s->dir_ + "/host_ed25519";
  DEW_RETURN_IF_ERROR(
      RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host_key}).status());
  DEW_RETURN_IF_ERROR(RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dew-test",
                                  "-f", s->client_key_path()})
                          .status());
  DEW_RETURN_IF_ERROR(
      WriteText(s->dir_ + "/authorized_keys", ReadText(s->client_key_path() + ".pub"), 0600));
  DEW_ASSIGN_OR_RETURN(std::string listing,
                       RunCommand({"ssh-keygen", "-l", "-E", "sha256", "-f", host_key + ".pub"}));
  std::istringstream fields(listing);
  std::string bits;
  fields >> bits >> s->fingerprint_;
  const std::string host_pub = ReadText(host_key + ".pub");

  Status last = Status::Internal("sshd not started");
  for (int attempt = 0; attempt < 5; ++attempt) {
    DEW_ASSIGN_OR_RETURN(s->port_, PickLoopbackPort());
    const std::string port = std::to_string(s->port_);
    // The public key line is "<type> <base64> <comment>"; known_hosts wants "<host> <type>
    // <base64>".
    std::istringstream key(host_pub);
    std::string type, base64;
    key >> type >> base64;
    DEW_RETURN_IF_ERROR(WriteText(s->known_hosts_path(),
                                  "[127.0.0.1]:" + port + " " + type + " " + base64 + "\n", 0644));
    const std::string config = s->dir_ + "/sshd_config";
    DEW_RETURN_IF_ERROR(WriteText(config,
                                  "Port " + port +
                                      "\n"
                                      "ListenAddress 127.0.0.1\n"
                                      "HostKey " +
                                      host_key +
                                      "\n"
                                      "PidFile " +
                                      s->dir_ +
                                      "/sshd.pid\n"
                                      "AuthorizedKeysFile " +
                                      s->dir_ +
                                      "/authorized_keys\n"
                                      "StrictModes no\n"
                                      "PermitRootLogin yes\n"
                                      "PubkeyAuthentication yes\n"
                                      "PasswordAuthentication yes\n"
                                      "KbdInteractiveAuthentication no\n"
                                      "UsePAM no\n"
                                      "MaxStartups 50\n"
                                      "Subsystem sftp internal-sftp\n"
                                      "LogLevel VERBOSE\n",
                                  0600));
    DEW_ASSIGN_OR_RETURN(s->process_, PeerProcess::Start({kSshd, "-D", "-e", "-f", config}, s->dir_,
                                                         s->dir_ + "/sshd.log"));
    last = s->process_->WaitForPort(s->port_, 10000);
    if (last.ok()) return s;
    s->process_.reset();
  }
  return last;
}

SshdServer::~SshdServer() {
  process_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace dew::testing
