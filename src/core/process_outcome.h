// ProcessOutcome: how a supervised child ended, as its supervisor recorded it on disk.
//
// A child started with ProcessSpec::outcome_path runs under a small supervisor process (see
// process_runner.h). Before it starts the child, the supervisor takes an exclusive flock on
// `<outcome_path>.lock` and keeps it until the child has ended and its outcome is durable in
// `<outcome_path>` (written to a temp file, fsynced, renamed, directory fsynced). So whoever
// takes that lock afterwards reads the final word on the child: either an outcome, or none,
// meaning that no child ran to its end under that path (the supervisor killed it, or never
// started it). WriteAbandonedOutcome marks a path so that no supervisor ever starts a child
// under it later. The files must be on a filesystem with working flock (local, or NFSv4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"

namespace dew {

struct ProcessOutcome {
  //! Written by WriteAbandonedOutcome: no child ran or will run under this path.
  bool abandoned = false;
  //! Exit status when the child exited normally, else -1.
  int exit_code = -1;
  //! The signal that ended the child, else 0.
  int signal = 0;
  //! Wall-clock time (CLOCK_REALTIME, ms since the epoch) when it was recorded.
  int64_t ended_at_ms = 0;

  //! True when the child exited with status 0.
  bool Succeeded() const { return !abandoned && exit_code == 0 && signal == 0; }
  //! "exit 3", "signal 9 (Killed)", "abandoned", for messages.
  std::string Describe() const;
};

//! An exclusive flock on `<outcome_path>.lock`, released by the destructor.
class ProcessOutcomeLock {
 public:
  //! Takes the lock without waiting. Conflict when a supervisor holds it (its child still runs,
  //! or its outcome is being written); IOError naming the file when it cannot be opened. The
  //! lock file is created when missing; its directory must exist.
  static Result<std::unique_ptr<ProcessOutcomeLock>> TryLock(const std::string& outcome_path);
  ~ProcessOutcomeLock();
  ProcessOutcomeLock(const ProcessOutcomeLock&) = delete;
  ProcessOutcomeLock& operator=(const ProcessOutcomeLock&) = delete;

 private:
  explicit ProcessOutcomeLock(int fd) : fd_(fd) {}
  int fd_;
};

//! The outcome recorded at `outcome_path`, nullopt when there is none. Corruption naming the
//! file when it cannot be parsed. Hold the lock to read a final answer.
Result<std::optional<ProcessOutcome>> ReadProcessOutcome(const std::string& outcome_path);

//! Durably records "abandoned" at `outcome_path` (hold the lock), so that a supervisor that
//! would start a child under it later refuses to.
Status WriteAbandonedOutcome(const std::string& outcome_path, int64_t now_ms);

//! Removes the outcome and its lock file (missing files are fine): the result was recorded
//! elsewhere and nobody will look again.
void RemoveProcessOutcome(const std::string& outcome_path);

//! Formats an outcome line into `buf` without allocating (the supervisor calls it after fork,
//! where only async-signal-safe code may run). Returns its length, or 0 when `size` is too small.
size_t FormatProcessOutcome(char* buf, size_t size, const ProcessOutcome& outcome);

//! Writes `text` to `path` durably (temp file `tmp_path`, fsync, rename, fsync of `dir_path`)
//! with async-signal-safe calls only. false on any failure (errno is left set).
bool WriteFileDurably(const char* path, const char* tmp_path, const char* dir_path,
                      const char* text, size_t size);

}  // namespace dew
