#include "core/process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>

#include "core/process_outcome.h"

namespace dew {

namespace {

constexpr size_t kMaxLineBytes = 64 * 1024;
constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

int64_t MonoMillis() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string ErrnoText(int err) {
  return std::strerror(err);
}

void CloseFd(int& fd) {
  if (fd >= 0) {
    close(fd);
    fd = -1;
  }
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// Resolves argv[0] in the parent, so a missing program is a Status naming it rather than an
// exit code 127 from the child.
Result<std::string> ResolveProgram(const std::string& program, const std::string& working_dir,
                                   const std::map<std::string, std::string>& env) {
  if (program.find('/') != std::string::npos) {
    std::string path = program[0] == '/' ? program : working_dir + "/" + program;
    if (access(path.c_str(), F_OK) != 0) {
      return Status::NotFound("executable not found: '" + program + "' (" + path + ")");
    }
    return path;
  }
  auto it = env.find("PATH");
  std::string search = it != env.end() ? it->second : kDefaultPath;
  size_t start = 0;
  while (start <= search.size()) {
    size_t end = search.find(':', start);
    if (end == std::string::npos) end = search.size();
    std::string dir = search.substr(start, end - start);
    if (dir.empty()) dir = working_dir;
    std::string candidate = dir + "/" + program;
    if (IsExecutableFile(candidate)) return candidate;
    start = end + 1;
  }
  return Status::NotFound("executable not found: '" + program + "' (searched PATH=" + search + ")");
}

Result<std::string> RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("working directory not found: " + path);
    return Status::IOError("cannot resolve " + path + ": " + ErrnoText(err));
  }
  return std::string(buf);
}

// write() that turns a closed reader into EPIPE instead of a SIGPIPE killing dew: the signal is
// blocked for this thread and a SIGPIPE raised by this write is consumed before unblocking.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t n) {
  sigset_t pipe_set, old_set, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  bool already_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  ssize_t w = write(fd, data, n);
  int err = errno;
  if (w < 0 && err == EPIPE && !already_pending) {
    timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = err;
  return w;
}

// Captures one output stream: bounded text plus line splitting for the callback.
struct StreamState {
  OutputStream kind;
  int fd = -1;
  std::string captured;
  bool truncated = false;
  std::string partial;

  void Append(const char* data, size_t n, int64_t max_bytes,
              const std::function<void(OutputStream, std::string_view)>& on_line) {
    size_t room = captured.size() < static_cast<size_t>(max_bytes)
                      ? static_cast<size_t>(max_bytes) - captured.size()
                      : 0;
    captured.append(data, n < room ? n : room);
    if (n > room) truncated = true;
    if (!on_line) return;
    for (size_t i = 0; i < n; ++i) {
      if (data[i] == '\n') {
        on_line(kind, partial);
        partial.clear();
      } else {
        partial.push_back(data[i]);
        if (partial.size() >= kMaxLineBytes) {
          on_line(kind, partial);
          partial.clear();
        }
      }
    }
  }

  void Finish(const std::function<void(OutputStream, std::string_view)>& on_line) {
    if (on_line && !partial.empty()) on_line(kind, partial);
    partial.clear();
  }
};

class PosixChildProcess final : public ChildProcess {
 public:
  PosixChildProcess(pid_t pid, int stdin_fd, int stdout_fd, int stderr_fd, int pid_fd,
                    const ProcessSpec& spec, int64_t grace_ms, int64_t start_ms)
      : pid_(pid),
        supervised_(!spec.outcome_path.empty()),
        stdin_fd_(stdin_fd),
        pid_fd_(pid_fd),
        stdin_text_(spec.stdin_text.value_or("")),
        max_output_bytes_(spec.limits.max_output_bytes),
        timeout_ms_(spec.timeout_ms),
        on_line_(spec.on_line),
        grace_ms_(grace_ms),
        start_ms_(start_ms) {
    out_.kind = OutputStream::kStdout;
    out_.fd = stdout_fd;
    err_.kind = OutputStream::kStderr;
    err_.fd = stderr_fd;
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == 0) {
      wake_read_ = pipe_fds[0];
      wake_write_ = pipe_fds[1];
    }
  }

  ~PosixChildProcess() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!reaped_) {
        SendLocked(SIGKILL);
        int status;
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
      }
    }
    CloseFd(stdin_fd_);
    CloseFd(out_.fd);
    CloseFd(err_.fd);
    CloseFd(pid_fd_);
    CloseFd(wake_read_);
    CloseFd(wake_write_);
  }

  pid_t pid() const override { return pid_; }

  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (reaped_) return;
    cancelled_.store(true);
    SendLocked(SIGTERM);
    if (wake_write_ >= 0) {
      char c = 1;
      ssize_t ignored = write(wake_write_, &c, 1);
      (void)ignored;
    }
  }

  Result<ProcessResult> Wait() override {
    ProcessResult result;
    size_t stdin_written = 0;
    if (stdin_text_.empty()) CloseFd(stdin_fd_);
    bool exited = false;
    int status = 0;
    rusage usage{};
    int64_t term_sent_ms = -1;  // when SIGTERM went to the group (cancel or timeout)
    bool kill_sent = false;
    int64_t exit_seen_ms = -1;  // when the leader was reaped
    bool timed_out = false;

    while (true) {
      int64_t now = MonoMillis();
      bool cancelled = cancelled_.load();
      if (!exited && timeout_ms_ > 0 && !timed_out && now - start_ms_ >= timeout_ms_) {
        timed_out = true;
        Signal(SIGTERM);
        if (term_sent_ms < 0) term_sent_ms = now;
      }
      if (cancelled && term_sent_ms < 0) term_sent_ms = now;
      if (!exited && term_sent_ms >= 0 && !kill_sent && now - term_sent_ms >= grace_ms_) {
        Signal(SIGKILL);
        kill_sent = true;
      }

      if (!exited) {
        // Peek with WNOWAIT first: until the zombie leader is reaped its pid cannot be reused,
        // so killing the leftover group below cannot hit an unrelated process.
        siginfo_t info{};
        int r = waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
        if (r < 0 && errno != EINTR) {
          return Status::Internal("waitid failed for pid " + std::to_string(pid_) + ": " +
                                  ErrnoText(errno));
        }
        if (r == 0 && info.si_pid == pid_) {
          std::lock_guard<std::mutex> lock(mu_);
          // Anything left in the group (background jobs) must not outlive the task.
          kill(-pid_, SIGKILL);
          pid_t reaped;
          while ((reaped = wait4(pid_, &status, 0, &usage)) < 0 && errno == EINTR) {
          }
          if (reaped != pid_) {
            return Status::Internal("wait4 failed for pid " + std::to_string(pid_) + ": " +
                                    ErrnoText(errno));
          }
          reaped_ = true;
          exited = true;
          exit_seen_ms = now;
        }
      }
      bool streams_open = out_.fd >= 0 || err_.fd >= 0;
      // A process that left the group (setsid) may hold our pipes forever; stop after 1 s.
      if (exited && (!streams_open || now - exit_seen_ms > 1000)) break;

      pollfd fds[5];
      int n = 0;
      int out_i = -1, err_i = -1, in_i = -1, pid_i = -1, wake_i = -1;
      if (out_.fd >= 0) fds[out_i = n++] = {out_.fd, POLLIN, 0};
      if (err_.fd >= 0) fds[err_i = n++] = {err_.fd, POLLIN, 0};
      if (stdin_fd_ >= 0) fds[in_i = n++] = {stdin_fd_, POLLOUT, 0};
      if (!exited && pid_fd_ >= 0) fds[pid_i = n++] = {pid_fd_, POLLIN, 0};
      if (wake_read_ >= 0) fds[wake_i = n++] = {wake_read_, POLLIN, 0};
      // Without a pidfd the exit is noticed by this tick; deadlines likewise.
      int wait_ms = pid_fd_ >= 0 ? 1000 : 20;
      if (!exited && timeout_ms_ > 0 && !timed_out) {
        int64_t left = timeout_ms_ - (now - start_ms_);
        if (left < wait_ms) wait_ms = static_cast<int>(left < 0 ? 0 : left);
      }
      if (!exited && term_sent_ms >= 0 && !kill_sent) {
        int64_t left = grace_ms_ - (now - term_sent_ms);
        if (left < wait_ms) wait_ms = static_cast<int>(left < 0 ? 0 : left);
      }
      if (exited) wait_ms = 50;
      int pr = poll(fds, n, wait_ms);
      if (pr < 0) {
        if (errno == EINTR) continue;
        return Status::Internal("poll failed for pid " + std::to_string(pid_) + ": " +
                                ErrnoText(errno));
      }
      if (wake_i >= 0 && (fds[wake_i].revents & POLLIN)) {
        char buf[64];
        while (read(wake_read_, buf, sizeof(buf)) > 0) {
        }
      }
      if (out_i >= 0 && fds[out_i].revents) ReadSome(out_);
      if (err_i >= 0 && fds[err_i].revents) ReadSome(err_);
      if (in_i >= 0 && fds[in_i].revents) {
        if (fds[in_i].revents & (POLLERR | POLLHUP)) {
          CloseFd(stdin_fd_);
        } else {
          ssize_t w = WriteNoSigpipe(stdin_fd_, stdin_text_.data() + stdin_written,
                                     stdin_text_.size() - stdin_written);
          if (w > 0) stdin_written += static_cast<size_t>(w);
          if ((w < 0 && errno != EAGAIN && errno != EINTR) || stdin_written >= stdin_text_.size()) {
            CloseFd(stdin_fd_);
          }
        }
      }
    }
    CloseFd(stdin_fd_);
    CloseFd(out_.fd);
    CloseFd(err_.fd);
    out_.Finish(on_line_);
    err_.Finish(on_line_);

    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    result.timed_out = timed_out;
    result.cancelled = cancelled_.load();
    result.cpu_time_micros =
        static_cast<int64_t>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000 +
        usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
    result.max_rss_bytes = static_cast<int64_t>(usage.ru_maxrss) * 1024;
    result.stdout_text = std::move(out_.captured);
    result.stderr_text = std::move(err_.captured);
    result.stdout_truncated = out_.truncated;
    result.stderr_truncated = err_.truncated;
    return result;
  }

 private:
  void Signal(int sig) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!reaped_) SendLocked(sig);
  }

  // Requires mu_ and an unreaped child. A supervisor relays SIGTERM to the child's group and
  // kills it on SIGUSR1; it must not be killed itself, or the child's end would go unrecorded.
  // Its pid cannot be reused before it is reaped, so signalling it alone is safe.
  void SendLocked(int sig) {
    if (supervised_) {
      kill(pid_, sig == SIGKILL ? SIGUSR1 : sig);
    } else {
      kill(-pid_, sig);
    }
  }

  void ReadSome(StreamState& s) {
    char buf[65536];
    ssize_t r = read(s.fd, buf, sizeof(buf));
    if (r > 0) {
      s.Append(buf, static_cast<size_t>(r), max_output_bytes_, on_line_);
    } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
      CloseFd(s.fd);
    }
  }

  const pid_t pid_;
  const bool supervised_;
  int stdin_fd_;
  int pid_fd_;
  int wake_read_ = -1;
  int wake_write_ = -1;
  std::string stdin_text_;
  int64_t max_output_bytes_;
  int64_t timeout_ms_;
  std::function<void(OutputStream, std::string_view)> on_line_;
  int64_t grace_ms_;
  int64_t start_ms_;
  StreamState out_;
  StreamState err_;
  std::mutex mu_;  // guards reaped_ against kill() racing the reap
  bool reaped_ = false;
  std::atomic<bool> cancelled_{false};
};

void SetLimit(int resource, int64_t soft, int64_t hard) {
  rlimit rl;
  rl.rlim_cur = static_cast<rlim_t>(soft);
  rl.rlim_max = static_cast<rlim_t>(hard);
  setrlimit(resource, &rl);
}

// What a forked child needs to exec, prepared before fork: after fork in a threaded process
// only async-signal-safe calls are allowed.
struct ExecPlan {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* working_dir = nullptr;
  ProcessLimits limits;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int report_fd = -1;  //!< close-on-exec; gets errno when exec fails
};

// Sent on the report pipe by a supervisor that refuses to start the child.
constexpr int kTakenOver = -1;

struct SupervisorPlan {
  const char* outcome_path = nullptr;
  const char* lock_path = nullptr;
  const char* tmp_path = nullptr;
  const char* dir_path = nullptr;
  pid_t parent = 0;
  bool die_with_parent = false;
};

// In a forked child: stdio, limits, working directory, exec. Never returns.
[[noreturn]] void ExecChild(const ExecPlan& plan) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  dup2(plan.stdin_fd, 0);
  dup2(plan.stdout_fd, 1);
  dup2(plan.stderr_fd, 2);
  int report = dup2(plan.report_fd, 3);
  fcntl(report, F_SETFD, FD_CLOEXEC);
  syscall(SYS_close_range, 4u, ~0u, 0u);
  const ProcessLimits& lim = plan.limits;
  if (lim.cpu_seconds > 0) SetLimit(RLIMIT_CPU, lim.cpu_seconds, lim.cpu_seconds + 1);
  if (lim.memory_bytes > 0) SetLimit(RLIMIT_AS, lim.memory_bytes, lim.memory_bytes);
  if (lim.open_files > 0) SetLimit(RLIMIT_NOFILE, lim.open_files, lim.open_files);
  int err = 0;
  if (chdir(plan.working_dir) != 0) {
    err = errno;
  } else {
    execve(plan.path, plan.argv, plan.envp);
    err = errno;
  }
  ssize_t ignored = write(3, &err, sizeof(err));
  (void)ignored;
  _exit(127);
}

[[noreturn]] void Refuse(int report_fd, int code) {
  ssize_t ignored = write(report_fd, &code, sizeof(code));
  (void)ignored;
  _exit(127);
}

// Ends the supervisor the way `status` ended its child, so the caller's wait sees the child's
// exit code or signal (its rusage includes the reaped child's).
[[noreturn]] void ExitLike(int status) {
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  const int sig = WTERMSIG(status);
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(sig, SIG_DFL);
  kill(getpid(), sig);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  sigprocmask(SIG_UNBLOCK, &one, nullptr);
  _exit(128 + sig);
}

// The supervisor of ProcessSpec::outcome_path, in the forked child (all signals blocked).
// Async-signal-safe calls only. Never returns.
[[noreturn]] void Supervise(const SupervisorPlan& sup, const ExecPlan& plan) {
  setsid();
  sigset_t watched;
  sigemptyset(&watched);
  for (int sig : {SIGCHLD, SIGHUP, SIGTERM, SIGUSR1, SIGINT}) sigaddset(&watched, sig);
  sigprocmask(SIG_SETMASK, &watched, nullptr);
  if (sup.die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGHUP);
    if (getppid() != sup.parent) _exit(127);  // the starter died before prctl took effect
  }
  const int lock = open(sup.lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) Refuse(plan.report_fd, errno);
  if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
    Refuse(plan.report_fd, errno == EWOULDBLOCK ? kTakenOver : errno);
  }
  if (access(sup.outcome_path, F_OK) == 0) Refuse(plan.report_fd, kTakenOver);
  const pid_t self = getpid();
  const pid_t body = fork();
  if (body < 0) Refuse(plan.report_fd, errno);
  if (body == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != self) _exit(127);
    ExecChild(plan);
  }
  setpgid(body, body);  // also here, so the group exists before any signal below
  // Keep only the lock (at fd 0): the caller's pipes must close when the child's do.
  dup2(lock, 0);
  syscall(SYS_close_range, 1u, ~0u, 0u);
  bool starter_gone = false;
  for (;;) {
    siginfo_t info;
    timespec tick{0, 100 * 1000 * 1000};
    const int sig = sigtimedwait(&watched, &info, &tick);
    if (sig == SIGTERM) kill(-body, SIGTERM);
    if (sig == SIGUSR1) kill(-body, SIGKILL);
    if (sup.die_with_parent && (sig == SIGHUP || getppid() != sup.parent)) starter_gone = true;
    // Peek first: until the leader is reaped its pid, and so the group id, cannot be reused.
    siginfo_t ended{};
    if (waitid(P_PID, static_cast<id_t>(body), &ended, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        ended.si_pid == body) {
      break;
    }
    if (starter_gone) break;
  }
  kill(-body, SIGKILL);  // what is left of the group (background jobs), or all of it
  int status = 0;
  while (waitpid(body, &status, 0) < 0 && errno == EINTR) {
  }
  // Killed here for the starter's death: no end to record (a SIGKILL from elsewhere looks the
  // same and is treated alike). Anything else, the child ended on its own: record it.
  if (!(starter_gone && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
    ProcessOutcome outcome;
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    outcome.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    outcome.ended_at_ms = static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
    char text[128];
    const size_t n = FormatProcessOutcome(text, sizeof(text), outcome);
    WriteFileDurably(sup.outcome_path, sup.tmp_path, sup.dir_path, text, n);
  }
  close(0);  // the lock, only now that the outcome is durable
  ExitLike(status);
}

}  // namespace

std::string ProcessResult::Describe() const {
  std::string s;
  if (signal != 0) {
    s = "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  } else {
    s = "exit " + std::to_string(exit_code);
  }
  if (timed_out) s += ", timed out";
  if (cancelled) s += ", cancelled";
  return s;
}

std::map<std::string, std::string> ChildEnvironment(
    const std::map<std::string, std::string>& declared, const std::string& home) {
  std::map<std::string, std::string> env = {
      {"PATH", kDefaultPath}, {"HOME", home}, {"LANG", "C.UTF-8"}};
  for (const auto& [k, v] : declared) env[k] = v;
  return env;
}

PosixProcessRunner::PosixProcessRunner(std::string root, int64_t kill_grace_ms)
    : root_(std::move(root)), kill_grace_ms_(kill_grace_ms) {}

Result<std::unique_ptr<ChildProcess>> PosixProcessRunner::Start(const ProcessSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Status::InvalidArgument("process spec has no program (empty argv)");
  }
  const std::string& program = spec.argv[0];
  DEW_ASSIGN_OR_RETURN(std::string root, RealPath(root_));
  std::string wanted = spec.working_dir.empty() ? root : spec.working_dir;
  if (wanted[0] != '/') wanted = root + "/" + wanted;
  DEW_ASSIGN_OR_RETURN(std::string wd, RealPath(wanted));
  if (wd != root && wd.compare(0, root.size() + 1, root + "/") != 0) {
    return Status::InvalidArgument("working directory " + spec.working_dir + " of '" + program +
                                   "' is outside " + root);
  }
  DEW_ASSIGN_OR_RETURN(std::string path, ResolveProgram(program, wd, spec.env));

  // Everything the child needs is built before fork: after fork in a threaded process only
  // async-signal-safe calls are allowed.
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = spec.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1},
      exec_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in_pipe, out_pipe, err_pipe, exec_pipe}) {
      CloseFd(p[0]);
      CloseFd(p[1]);
    }
  };
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(exec_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    close_all();
    return Status::IOError("cannot create pipes for '" + program + "': " + ErrnoText(err));
  }
  ExecPlan plan;
  plan.path = path.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.working_dir = wd.c_str();
  plan.limits = spec.limits;
  plan.stdin_fd = in_pipe[0];
  plan.stdout_fd = out_pipe[1];
  plan.stderr_fd = err_pipe[1];
  plan.report_fd = exec_pipe[1];
  const bool supervised = !spec.outcome_path.empty();
  const std::string lock_path = spec.outcome_path + ".lock";
  const std::string tmp_path = spec.outcome_path + ".tmp";
  const size_t slash = spec.outcome_path.rfind('/');
  const std::string dir_path =
      slash == std::string::npos ? "." : spec.outcome_path.substr(0, slash + 1);
  SupervisorPlan sup;
  sup.outcome_path = spec.outcome_path.c_str();
  sup.lock_path = lock_path.c_str();
  sup.tmp_path = tmp_path.c_str();
  sup.dir_path = dir_path.c_str();
  sup.parent = getpid();
  sup.die_with_parent = spec.die_with_parent;

  // Every signal stays blocked across fork, so a Cancel racing Start cannot kill a supervisor
  // before it set up its own mask; each child sets its mask itself.
  sigset_t all, old_mask;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  pid_t pid = fork();
  if (pid == 0) {
    if (supervised) Supervise(sup, plan);
    // Own session => own process group, so kill(-pid) reaches every descendant that does not
    // escape with setsid itself.
    setsid();
    if (spec.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != sup.parent) _exit(127);  // the parent died before prctl took effect
    }
    ExecChild(plan);
  }
  const int fork_err = errno;
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (pid < 0) {
    close_all();
    return Status::IOError("cannot fork for '" + program + "': " + ErrnoText(fork_err));
  }

  CloseFd(in_pipe[0]);
  CloseFd(out_pipe[1]);
  CloseFd(err_pipe[1]);
  CloseFd(exec_pipe[1]);
  // EOF on the report pipe means exec succeeded (it is close-on-exec); an int means it failed.
  int child_err = 0;
  ssize_t got;
  do {
    got = read(exec_pipe[0], &child_err, sizeof(child_err));
  } while (got < 0 && errno == EINTR);
  CloseFd(exec_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof(child_err))) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    close_all();
    if (child_err == kTakenOver) {
      return Status::Conflict("'" + program + "' not started: " + spec.outcome_path +
                              " already has an outcome or its lock is held (taken over)");
    }
    return Status::IOError("cannot execute '" + program + "' (" + path +
                           "): " + ErrnoText(child_err));
  }
  for (int fd : {in_pipe[1], out_pipe[0], err_pipe[0]}) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  int pid_fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pid_fd < 0) pid_fd = -1;
  auto child = std::make_unique<PosixChildProcess>(pid, in_pipe[1], out_pipe[0], err_pipe[0],
                                                   pid_fd, spec, kill_grace_ms_, MonoMillis());
  return std::unique_ptr<ChildProcess>(std::move(child));
}

}  // namespace dew
