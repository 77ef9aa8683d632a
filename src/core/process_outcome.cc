#include "core/process_outcome.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace dew {

namespace {

// Appends `s` at buf[*at] when it fits; false otherwise.
bool Put(char* buf, size_t size, size_t* at, const char* s) {
  const size_t n = std::strlen(s);
  if (*at + n >= size) return false;
  std::memcpy(buf + *at, s, n);
  *at += n;
  return true;
}

bool PutInt(char* buf, size_t size, size_t* at, int64_t v) {
  char digits[24];
  int n = 0;
  const bool negative = v < 0;
  uint64_t u = negative ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
  do {
    digits[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (negative) digits[n++] = '-';
  char text[24];
  for (int i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
  text[n] = '\0';
  return Put(buf, size, at, text);
}

}  // namespace

std::string ProcessOutcome::Describe() const {
  if (abandoned) return "abandoned";
  if (signal != 0) return "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit " + std::to_string(exit_code);
}

Result<std::unique_ptr<ProcessOutcomeLock>> ProcessOutcomeLock::TryLock(
    const std::string& outcome_path) {
  const std::string path = outcome_path + ".lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError("cannot open the lock file " + path + ": " + std::strerror(errno));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Conflict(path + " is locked by the supervisor of a running child");
    }
    return Status::IOError("cannot lock " + path + ": " + std::strerror(err));
  }
  return std::unique_ptr<ProcessOutcomeLock>(new ProcessOutcomeLock(fd));
}

ProcessOutcomeLock::~ProcessOutcomeLock() {
  close(fd_);  // releases the flock
}

size_t FormatProcessOutcome(char* buf, size_t size, const ProcessOutcome& outcome) {
  size_t at = 0;
  bool ok = true;
  if (outcome.abandoned) {
    ok = Put(buf, size, &at, "abandoned");
  } else {
    ok = Put(buf, size, &at, "exit ") && PutInt(buf, size, &at, outcome.exit_code) &&
         Put(buf, size, &at, " signal ") && PutInt(buf, size, &at, outcome.signal);
  }
  ok = ok && Put(buf, size, &at, " ended_ms ") && PutInt(buf, size, &at, outcome.ended_at_ms) &&
       Put(buf, size, &at, "\n");
  if (!ok) return 0;
  buf[at] = '\0';
  return at;
}

bool WriteFileDurably(const char* path, const char* tmp_path, const char* dir_path,
                      const char* text, size_t size) {
  const int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < size) {
    const ssize_t w = write(fd, text + done, size - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      close(fd);
      return false;
    }
    done += static_cast<size_t>(w);
  }
  if (fsync(fd) != 0) {
    close(fd);
    return false;
  }
  close(fd);
  if (rename(tmp_path, path) != 0) return false;
  const int dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  const bool synced = fsync(dir) == 0;
  close(dir);
  return synced;
}

Result<std::optional<ProcessOutcome>> ReadProcessOutcome(const std::string& outcome_path) {
  const int fd = open(outcome_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<ProcessOutcome>();
    return Status::IOError("cannot read " + outcome_path + ": " + std::strerror(errno));
  }
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf) - 1)) < 0 && errno == EINTR) {
  }
  close(fd);
  std::string line(buf, n > 0 ? static_cast<size_t>(n) : 0);
  line = line.substr(0, line.find('\n'));
  std::istringstream fields(line);
  std::string word;
  ProcessOutcome outcome;
  fields >> word;
  bool ok = true;
  if (word == "abandoned") {
    outcome.abandoned = true;
  } else {
    std::string signal_word;
    ok = word == "exit" && (fields >> outcome.exit_code >> signal_word >> outcome.signal) &&
         signal_word == "signal";
  }
  std::string ended_word;
  ok = ok && (fields >> ended_word >> outcome.ended_at_ms) && ended_word == "ended_ms";
  if (!ok) {
    return Status::Corruption(outcome_path + ", line 1: not a process outcome: '" + line + "'");
  }
  return std::optional<ProcessOutcome>(outcome);
}

Status WriteAbandonedOutcome(const std::string& outcome_path, int64_t now_ms) {
  ProcessOutcome outcome;
  outcome.abandoned = true;
  outcome.ended_at_ms = now_ms;
  char text[128];
  const size_t n = FormatProcessOutcome(text, sizeof(text), outcome);
  const std::string tmp = outcome_path + ".tmp";
  const size_t slash = outcome_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : outcome_path.substr(0, slash + 1);
  if (!WriteFileDurably(outcome_path.c_str(), tmp.c_str(), dir.c_str(), text, n)) {
    return Status::IOError("cannot write " + outcome_path + ": " + std::strerror(errno));
  }
  return Status::OK();
}

void RemoveProcessOutcome(const std::string& outcome_path) {
  unlink(outcome_path.c_str());
  unlink((outcome_path + ".lock").c_str());
}

}  // namespace dew
