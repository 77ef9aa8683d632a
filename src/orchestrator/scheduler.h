// Scheduler: fires each scheduled pipeline at its cron times, durably.
//
// The next fire time of every schedule lives in the control store, never only in memory: a
// restarted scheduler reads it back and handles the times it missed by the pipeline's catch_up
// policy. A fire time is owned by whoever moves it forward with ControlStore::AdvanceSchedule (a
// compare-and-set), and its run has an id derived from (pipeline, fire time), so two schedulers
// on one store, or one that crashed between launching a run and advancing, never start a fire
// time twice. See docs/scheduling.md.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/control_store.h"
#include "core/clock.h"
#include "core/status.h"
#include "orchestrator/pipeline_spec.h"

namespace dew {

class FileSystem;

namespace orchestrator {

//! Starts a run the scheduler or a backfill decided on. It must create the run with exactly
//! `run.id` (AlreadyExists when that id exists: someone launched it already, which callers
//! treat as done) and start executing it, or leave it queued for workers. Called from the
//! scheduler's thread; must be thread-safe when shared.
using RunLauncher = std::function<Status(const control::NewRun& run)>;

//! A launcher that only records the run as queued in `store` (which must outlive it), for
//! workers (`dew worker`) to execute.
RunLauncher QueueOnlyLauncher(control::ControlStore& store);

//! The pipelines of a folder: those that parsed, and the errors of those that did not.
struct LoadedPipelines {
  std::vector<PipelineSpec> specs;  //!< by file name
  std::vector<Status> errors;       //!< one per broken file, naming it
};

//! Parses every *.yml / *.yaml file of `dir` (absent: none). A broken file does not hide the
//! others: its error goes to `errors`. IOError only when `dir` cannot be listed.
Result<LoadedPipelines> LoadPipelines(const std::string& dir, FileSystem& fs,
                                      const TimeZoneLoader& load_zone);

//! "2026-03-02T06:00:00+08:00": `utc_seconds` as a wall-clock time in `tz`, with its offset.
std::string FormatLocalTime(int64_t utc_seconds, const TimeZone& tz);
//! "2026-03-01T22:00:00Z".
std::string FormatUtcTime(int64_t utc_seconds);
//! The id of the run of `pipeline` for fire time `fire_ms`: "sched-<pipeline>-20260301T220000Z".
std::string ScheduledRunId(const std::string& pipeline, int64_t fire_ms);

struct SchedulerOptions {
  //! Longest sleep between ticks, so new or changed schedules are seen without a restart.
  int64_t poll_interval_ms = 5000;
  //! With catch_up: skip, a fire time still runs when the scheduler sees it at most this late
  //! (a tick's own delay is not downtime); older ones count as missed.
  int64_t misfire_grace_ms = 5 * 60 * 1000;
  //! With catch_up: all, the most runs one stretch of missed times produces: the newest ones
  //! are run, oldest first; older ones are skipped (recorded as an event).
  int max_catch_up = 100;
};

//! What the scheduler has done since it was created (for /metrics and /healthz).
struct SchedulerStats {
  int64_t ticks = 0;
  int64_t last_tick_ms = 0;  //!< clock time of the last tick; 0 before the first
  int64_t runs_fired = 0;
  int64_t fire_times_skipped = 0;
  int64_t launch_errors = 0;
  int64_t last_lag_ms = 0;  //!< how late the last fired run was launched after its fire time
  int64_t max_lag_ms = 0;
};

//! Thread-safe: Tick, SetPipelines and stats may be called from different threads (calls are
//! serialized); Stop from any thread, including a signal-watching one.
class Scheduler {
 public:
  //! `store` must outlive the scheduler. `launch` starts the runs it fires.
  Scheduler(control::ControlStore& store, std::shared_ptr<Clock> clock, RunLauncher launch,
            SchedulerOptions options = {});
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  //! Replaces the pipelines it knows and brings the store's schedules in line with them: a
  //! schedule that is new, or whose cron or time zone changed, gets the first fire time after
  //! now; one that is unchanged keeps its stored next fire time (so missed times survive a
  //! restart); a changed catch_up policy is stored as is. Pipelines without a schedule are
  //! kept (for their params) but never fired. Errors from the store, naming the pipeline.
  Status SetPipelines(std::vector<PipelineSpec> specs);

  //! Fires every due schedule once (see the file comment and docs/scheduling.md), then returns
  //! the clock time at which the next tick is due: the earliest next fire time of a known
  //! schedule, capped at now + poll_interval. A failing launch leaves its fire time due (retried
  //! next tick) and counts in launch_errors; store errors are returned.
  Result<int64_t> Tick();

  //! Ticks until Stop(), sleeping (in real time) until the next tick is due. Errors of a tick
  //! are reported through `on_error` (may be empty) and do not end the loop.
  void Run(const std::function<void(const Status&)>& on_error);
  //! Makes Run return soon (at once when it is sleeping).
  void Stop();

  SchedulerStats stats() const;

  //! The params of a run of `spec` fired at `fire_seconds`: the defaults, with `logical_date`
  //! (the fire time's local date, YYYY-MM-DD) when the pipeline declares that param; as JSON.
  static std::string RunParamsJson(const PipelineSpec& spec, int64_t fire_seconds);

 private:
  //! Handles one due schedule; requires mu_.
  Status FireDue(const PipelineSpec& spec, const control::ScheduleRecord& record, int64_t now_ms);
  //! Launches the run of fire time `fire_ms`; false when the launch failed (error recorded).
  bool Launch(const PipelineSpec& spec, int64_t fire_ms, int64_t now_ms);

  control::ControlStore& store_;
  const std::shared_ptr<Clock> clock_;
  const RunLauncher launch_;
  const SchedulerOptions options_;

  mutable std::mutex mu_;
  std::map<std::string, PipelineSpec> specs_;  // guarded by mu_, by name
  SchedulerStats stats_;                       // guarded by mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_
};

}  // namespace orchestrator
}  // namespace dew
