// TestResultLog: the data test results of one run (dew build, dew test), collected as the tests
// finish and then saved to the control store with the run's quality scores. It also serves the
// volume history of row_count tests from the results of earlier runs.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "control/control_store.h"
#include "quality/data_tests.h"
#include "quality/quality_score.h"

namespace dew::quality {

//! Safe to share between threads (Add and History may be called while models build in
//! parallel).
class TestResultLog {
 public:
  //! `store` is borrowed and must outlive the log; the run `run_id` must exist in it before Save.
  TestResultLog(std::string run_id, control::ControlStore* store)
      : run_id_(std::move(run_id)), store_(store) {}
  TestResultLog(const TestResultLog&) = delete;
  TestResultLog& operator=(const TestResultLog&) = delete;

  const std::string& run_id() const { return run_id_; }

  //! Records the outcome of `test`, run at `at_ms`. A test without a type (a singular test,
  //! tests/*.sql) is recorded as "singular".
  void Add(const CompiledTest& test, const TestOutcome& outcome, int64_t at_ms);

  //! For RunTest: the row counts earlier runs recorded for a test, newest first.
  VolumeHistory History() const;

  //! Saves every result added, then one quality score per target (with `upstream`) over all
  //! of the run's results for that target (a run may test a table in several tasks; the last
  //! save's score replaces earlier ones), in two atomic writes. Errors from the store, naming
  //! the run.
  Status Save(const UpstreamMap& upstream, int64_t at_ms);

  //! The results added so far, in order.
  std::vector<control::TestResultRecord> results() const;

 private:
  const std::string run_id_;
  control::ControlStore* const store_;
  mutable std::mutex mu_;
  std::vector<control::TestResultRecord> results_;  // guarded by mu_
};

}  // namespace dew::quality
