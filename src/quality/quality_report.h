// QualityReport: what `dew quality report` shows, read from the control store alone: each
// target's newest quality score with its trend, the problems (failed, warned or broken checks)
// of its newest run, and for each problem the upstream targets whose own checks failed in that
// same run, found by walking the upstream lists stored with the scores (the model DAG's refs
// and sources as it was when the run recorded them).
#pragma once

#include <string>
#include <vector>

#include "control/control_store.h"
#include "core/status.h"

namespace dew::quality {

struct TargetQuality {
  control::QualityScoreRecord latest;  //!< the newest score
  std::vector<double> trend;           //!< scores oldest first, the newest last
};

struct QualityProblem {
  control::TestResultRecord result;  //!< status fail, warn or error
  //! Upstream targets (direct or not) with failing checks in the same run, nearest first.
  std::vector<std::string> failing_upstream;
};

struct QualityReport {
  std::vector<TargetQuality> targets;    //!< by target name
  std::vector<QualityProblem> problems;  //!< by target, then newest first
};

struct QualityReportOptions {
  //! One target (a model, "source:s.t", a singular test's path, or a model's relation such as
  //! "silver.stg_orders"); empty: every target.
  std::string target;
  int trend_length = 10;   //!< scores in each trend
  int problem_limit = 20;  //!< problems shown per target
};

//! Reads the report from `store`. NotFound naming the target (and the known ones) when a target
//! was asked for and has no score; an empty report when nothing was recorded yet.
Result<QualityReport> BuildQualityReport(control::ControlStore& store,
                                         const QualityReportOptions& options);

}  // namespace dew::quality
