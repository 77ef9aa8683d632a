#include "support/peer_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace dew::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<char*> CArgv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<int> PickLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::IOError(std::string("socket: ") + strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return Status::IOError(std::string("bind 127.0.0.1:0: ") + strerror(errno));
  }
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

Result<std::string> MakeTempFolder(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    return Status::IOError("mkdtemp " + tmpl + ": " + strerror(errno));
  return tmpl;
}

Result<std::string> RunCommand(const std::vector<std::string>& argv) {
  DEW_ASSIGN_OR_RETURN(std::string dir, MakeTempFolder("dew_cmd_"));
  const std::string out_path = dir + "/out", err_path = dir + "/err";
  std::vector<char*> cargv = CArgv(argv);
  pid_t pid = fork();
  if (pid < 0) return Status::IOError(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string out = ReadAll(out_path), err = ReadAll(err_path);
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  rmdir(dir.c_str());
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code != 0)
    return Status::IOError(argv[0] + " exited with " + std::to_string(code) + ": " + err + out);
  return out;
}

Result<std::unique_ptr<PeerProcess>> PeerProcess::Start(const std::vector<std::string>& argv,
                                                        const std::string& cwd,
                                                        const std::string& log_path) {
  std::vector<char*> cargv = CArgv(argv);
  pid_t pid = fork();
  if (pid < 0) return Status::IOError(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || log < 0) _exit(126);
    dup2(in, 0);
    dup2(log, 1);
    dup2(log, 2);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execvp(cargv[0], cargv.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so a kill right after Start reaches the group
  return std::unique_ptr<PeerProcess>(new PeerProcess(pid, log_path));
}

bool PeerProcess::Alive() {
  if (reaped_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) reaped_ = true;
  return !reaped_;
}

std::string PeerProcess::Log() const {
  return ReadAll(log_path_);
}

Status PeerProcess::WaitForPort(int port, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (!Alive()) return Status::IOError("the peer exited before listening: " + Log());
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (ok) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::IOError("the peer did not listen on port " + std::to_string(port) + " within " +
                         std::to_string(timeout_ms) + " ms: " + Log());
}

PeerProcess::~PeerProcess() {
  if (reaped_) return;
  kill(-pid_, SIGTERM);
  for (int i = 0; i < 100 && Alive(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (Alive()) {
    kill(-pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
  }
  // Children the peer forked (sshd's per-connection processes) share the group.
  kill(-pid_, SIGKILL);
}

}  // namespace dew::testing
