// Helpers for tests that start a local peer (sshd, an S3 server): a free loopback port, a
// temp folder, short commands run to completion, and a long-running child in its own process
// group that is stopped with the test.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace dew::testing {

//! A port on 127.0.0.1 that was free a moment ago (a parallel test may take it: retry).
Result<int> PickLoopbackPort();

//! A new folder /tmp/<prefix>XXXXXX.
Result<std::string> MakeTempFolder(const std::string& prefix);

//! Runs `argv` (argv[0] absolute or found in PATH), stdin from /dev/null, and returns its
//! stdout. Fails with the exit code and stderr when it exits non-zero.
Result<std::string> RunCommand(const std::vector<std::string>& argv);

//! A child process in its own process group with stdout and stderr in `log_path`.
class PeerProcess {
 public:
  //! Starts `argv` with `cwd` as working folder. Fails when fork/exec fails.
  static Result<std::unique_ptr<PeerProcess>> Start(const std::vector<std::string>& argv,
                                                    const std::string& cwd,
                                                    const std::string& log_path);
  //! SIGTERM to the group, SIGKILL after 5 s, then reaps the child.
  ~PeerProcess();
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  //! Waits until 127.0.0.1:`port` accepts TCP connections. Fails with the log's text when the
  //! child exits first or `timeout_ms` passes.
  Status WaitForPort(int port, int timeout_ms);
  //! True while the child has not exited.
  bool Alive();
  std::string Log() const;
  pid_t pid() const { return pid_; }

 private:
  PeerProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
  bool reaped_ = false;
};

}  // namespace dew::testing
