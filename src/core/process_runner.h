// ProcessRunner: how dew runs user code (Python, shell, external connectors) in a child process
// (DESIGN decision 5). Runners are passed in, so tests and the executor can control them.
//
// A child runs in its own session and process group, with resource limits set before exec, a
// working directory inside a root, and only the environment the spec lists. Cancel and timeouts
// kill the whole group, grandchildren included. See docs/sandbox.md.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dew {

enum class OutputStream { kStdout, kStderr };

//! Limits applied with setrlimit in the child before exec. 0 means "no limit set by dew".
struct ProcessLimits {
  //! RLIMIT_CPU: SIGXCPU at this many CPU seconds, SIGKILL one second later.
  int64_t cpu_seconds = 0;
  //! RLIMIT_AS: address space in bytes; allocations beyond it fail in the child.
  int64_t memory_bytes = 0;
  //! RLIMIT_NOFILE: highest file descriptor number + 1 the child may open.
  int64_t open_files = 0;
  //! Bytes of stdout and of stderr (each) kept in ProcessResult; the rest is read and dropped.
  int64_t max_output_bytes = 1 << 20;
};

struct ProcessSpec {
  //! argv[0] is the program: a path (relative ones are taken from working_dir) or a name looked
  //! up in the PATH of `env`.
  std::vector<std::string> argv;
  //! Must resolve inside the runner's root; empty means the root itself.
  std::string working_dir;
  //! The complete environment of the child; nothing is inherited from dew. Build it with
  //! ChildEnvironment() to get dew's PATH/HOME/LANG defaults.
  std::map<std::string, std::string> env;
  //! Written to the child's stdin, which is then closed. Without it stdin is empty (EOF).
  std::optional<std::string> stdin_text;
  ProcessLimits limits;
  //! Wall-clock limit in milliseconds from Start; 0 means none. On expiry the group is killed.
  int64_t timeout_ms = 0;
  //! SIGKILL the child when the thread that started it dies (PR_SET_PDEATHSIG), so a worker
  //! killed with kill -9 leaves no task running that a new worker would run again. Only the
  //! group leader gets the signal; its own children are orphaned but keep running.
  bool die_with_parent = false;
  //! When set, the child runs under a supervisor so that its end is recorded even when the
  //! process that started it dies (the executor records each attempt exactly once). The
  //! supervisor is a fork of the caller (no exec) in its own session; it takes the flock of
  //! `<outcome_path>.lock` without waiting (Start fails with Conflict when it is held or an
  //! outcome already exists: another process took the attempt over), starts the child in a
  //! process group of its own, relays Cancel and the timeout to that group, and when the child
  //! has ended kills what is left of the group and writes the ProcessOutcome durably (see
  //! process_outcome.h) before it exits with the child's status. With die_with_parent, when the
  //! starting thread dies while the child runs, the supervisor kills the child's group and
  //! records nothing, unless the child had already exited on its own. The directory of
  //! `outcome_path` must exist.
  std::string outcome_path;
  //! Called from the thread inside Wait() for each complete output line (without the '\n'),
  //! and for a final unterminated line. Lines longer than 64 KiB are delivered in pieces.
  //! Every line is delivered, including those past max_output_bytes.
  std::function<void(OutputStream, std::string_view)> on_line;
};

struct ProcessResult {
  //! Exit status when the child exited normally, else -1.
  int exit_code = -1;
  //! The signal that ended the child (e.g. SIGKILL, SIGXCPU), else 0.
  int signal = 0;
  bool timed_out = false;
  bool cancelled = false;
  //! User + system CPU time of the child (not of grandchildren left unreaped).
  int64_t cpu_time_micros = 0;
  int64_t max_rss_bytes = 0;
  std::string stdout_text;
  std::string stderr_text;
  bool stdout_truncated = false;
  bool stderr_truncated = false;

  //! True when the child exited with status 0 and was neither cancelled nor timed out.
  bool Succeeded() const { return exit_code == 0 && !timed_out && !cancelled; }
  //! "exit 3", "signal 9 (Killed)", "timed out after ...", for messages.
  std::string Describe() const;
};

//! A started child. Destroying it before Wait() returned kills the group and reaps the child.
class ChildProcess {
 public:
  virtual ~ChildProcess() = default;
  //! The child's pid, which is also its process group id; for a supervised child
  //! (ProcessSpec::outcome_path) the supervisor's.
  virtual pid_t pid() const = 0;
  //! Feeds stdin, reads output, enforces the timeout and blocks until the child has exited and
  //! its output is drained. Call once, from one thread. Fails only on an internal error
  //! (poll/wait failing); a non-zero exit is a successful Wait with that exit_code.
  virtual Result<ProcessResult> Wait() = 0;
  //! Thread-safe, callable any number of times, also before or after Wait: sends SIGTERM to the
  //! whole group, and Wait sends SIGKILL after the runner's grace period. No-op once reaped.
  virtual void Cancel() = 0;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  //! Starts the child. Returns once exec succeeded. Fails with InvalidArgument (empty argv,
  //! working_dir outside the root), NotFound (program not found, naming it and the PATH
  //! searched) or IOError (fork/exec failed, naming the program and errno text).
  virtual Result<std::unique_ptr<ChildProcess>> Start(const ProcessSpec& spec) = 0;
};

//! fork/exec on Linux/POSIX. Thread-safe: Start may be called from several threads.
class PosixProcessRunner final : public ProcessRunner {
 public:
  //! `root` bounds working directories (resolved with realpath, so symlinks cannot escape).
  //! `kill_grace_ms` is the time between SIGTERM and SIGKILL on cancel and timeout; the
  //! default keeps `dew run cancel` within a second even for children ignoring SIGTERM.
  explicit PosixProcessRunner(std::string root, int64_t kill_grace_ms = 500);

  Result<std::unique_ptr<ChildProcess>> Start(const ProcessSpec& spec) override;

 private:
  std::string root_;
  int64_t kill_grace_ms_;
};

//! dew's defaults under the task's declared variables: PATH=/usr/local/bin:/usr/bin:/bin,
//! HOME=`home`, LANG=C.UTF-8. A declared variable of the same name wins.
std::map<std::string, std::string> ChildEnvironment(
    const std::map<std::string, std::string>& declared, const std::string& home);

}  // namespace dew
