// Backfill: one run of a pipeline per logical date in a range, at a bounded parallelism, and
// resumable: dates that already have a succeeded run are skipped, failed ones are run again.
// Runs are found again by (pipeline, logical_date), so rerunning the same command continues
// where an interrupted one stopped. See docs/scheduling.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "control/control_store.h"
#include "core/clock.h"
#include "core/status.h"
#include "orchestrator/pipeline_spec.h"
#include "orchestrator/scheduler.h"

namespace dew::orchestrator {

enum class BackfillStep { kDay, kWeek, kMonth };

//! "day" | "week" | "month"; InvalidArgument listing them otherwise.
Result<BackfillStep> ParseBackfillStep(const std::string& text);

//! A civil date, validated.
struct CivilDate {
  int64_t year = 1970;
  int month = 1;
  int day = 1;
};
//! Parses "YYYY-MM-DD"; InvalidArgument naming `what` and the text otherwise.
Result<CivilDate> ParseCivilDate(const std::string& text, const std::string& what);

//! One logical date of a backfill.
struct BackfillDate {
  std::string logical_date;  //!< "2025-03-01"
  std::string period;        //!< "2025-03-01" (day), "2025-W09" (ISO week), "2025-03" (month)
};

//! The dates from `from` to `to` (inclusive) by `step`: each day; every 7th day starting at
//! `from`; the first day of each month from `from`'s month to `to`'s. InvalidArgument when
//! `from` is after `to` or the range has more than 100,000 dates.
Result<std::vector<BackfillDate>> BackfillDates(const CivilDate& from, const CivilDate& to,
                                                BackfillStep step);

struct BackfillOptions {
  std::string pipeline;
  std::vector<BackfillDate> dates;
  int parallel = 1;                //!< runs of this backfill running at once
  std::string triggered_by;        //!< the user who started it
  int64_t poll_interval_ms = 200;  //!< how often running runs are looked at
  //! false: launch (queue) every date still to do at once and return without waiting; the
  //! parallelism is then up to whoever executes the runs.
  bool wait = true;
  //! Called as each date is settled (skipped, succeeded, failed), for progress output.
  std::function<void(const BackfillDate& date, const std::string& outcome,
                     const std::string& run_id)>
      on_progress;
};

struct BackfillResult {
  int launched = 0;                       //!< runs launched by this call
  int skipped = 0;                        //!< dates that had a succeeded run already
  int succeeded = 0;                      //!< runs launched now (or found running) that succeeded
  int failed = 0;                         //!< failed, cancelled, or could not be launched
  std::vector<std::string> failed_dates;  //!< in date order
};

//! Runs a backfill: `launch` starts each run (trigger backfill, id a new UUID, logical_date the
//! date, params the pipeline's defaults plus `logical_date` and `period` where the pipeline
//! declares them); completion is read from `store` (runs must reach a final state, so `launch`
//! must execute them or workers must be running). Waits with `clock`. A date with a run still
//! queued or running (from an interrupted backfill) is waited for, not launched again.
//! Store errors are returned; a failed launch counts as a failed date.
Result<BackfillResult> RunBackfill(const PipelineSpec& spec, const BackfillOptions& options,
                                   control::ControlStore& store, Clock& clock,
                                   const RunLauncher& launch);

}  // namespace dew::orchestrator
