// Starts `dew serve` as a child process for the serve, scheduler and events integration tests,
// and talks to it over loopback HTTP.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/http_client.h"
#include "support/dew_process.h"

namespace dew::testing {

//! Polls `done` every 20 ms until it is true or `seconds` pass; returns its last value. A
//! deadline for progress only: the tests assert on outcomes, never on how long they took.
inline bool WaitFor(const std::function<bool()>& done, int seconds = 60) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

//! One `dew serve --port 0` process in a project folder.
class ServeProcess {
 public:
  //! Starts it with `extra` arguments and `env` added; output goes to files in `scratch`.
  ServeProcess(const std::string& project, const std::string& scratch,
               const std::vector<std::string>& extra = {},
               const std::vector<std::pair<std::string, std::string>>& env = {})
      : out_path_(scratch + "/serve." + std::to_string(++Counter()) + ".out"),
        err_path_(out_path_ + ".err") {
    std::vector<std::string> args = {DEW_BINARY, "serve", "--port", "0", "--poll", "100"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      if (chdir(project.c_str()) != 0) _exit(126);
      const int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1);
      dup2(err, 2);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~ServeProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  //! The port from the first output line, once it is printed; 0 when the process did not get
  //! that far (its stderr then says why).
  int WaitForPort() {
    int port = 0;
    WaitFor([&] {
      const std::string out = ReadAll(out_path_);
      const size_t at = out.find("http://127.0.0.1:");
      if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
        port = std::atoi(out.c_str() + at + 17);
        return true;
      }
      return Exited();
    });
    port_ = port;
    return port;
  }

  //! GET `path`; status 0 and an empty body when nothing answered.
  std::pair<int, std::string> Get(const std::string& path) {
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(port_) + path;
    req.timeout_ms = 10000;
    auto r = NewCurlHttpClient()->Send(req);
    if (!r.ok()) return {0, ""};
    return {r->status, r->body};
  }

  //! Sends `sig` and, unless it is SIGKILL-like and `wait` is false, waits for the exit.
  //! Returns the exit code, or -signal when killed by a signal.
  int Signal(int sig) {
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  bool Exited() {
    if (reaped_) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      return true;
    }
    return false;
  }

  std::string out() const { return ReadAll(out_path_); }
  std::string err() const { return ReadAll(err_path_); }

 private:
  static int& Counter() {
    static int n = 0;
    return n;
  }

  std::string out_path_;
  std::string err_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool reaped_ = false;
};

}  // namespace dew::testing
