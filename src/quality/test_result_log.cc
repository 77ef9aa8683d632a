#include "quality/test_result_log.h"

#include <cmath>
#include <limits>
#include <set>

namespace dew::quality {

void TestResultLog::Add(const CompiledTest& test, const TestOutcome& outcome, int64_t at_ms) {
  control::TestResultRecord r;
  r.run_id = run_id_;
  r.test_id = outcome.id;
  r.target = outcome.target;
  r.relation = test.relation;
  r.test_type = test.spec.name.empty() ? "singular" : test.spec.name;
  r.severity = outcome.severity.empty() ? "error" : outcome.severity;
  r.status = outcome.status;
  r.failures = outcome.failures;
  r.message = outcome.message;
  r.at_ms = at_ms;
  r.duration_ms = static_cast<int64_t>(std::llround(outcome.seconds * 1000));
  r.observed = outcome.observed;
  std::lock_guard<std::mutex> lock(mu_);
  results_.push_back(std::move(r));
}

VolumeHistory TestResultLog::History() const {
  control::ControlStore* store = store_;
  return [store](const std::string& test_id, int limit) -> Result<std::vector<int64_t>> {
    control::TestResultFilter f;
    f.test_id = test_id;
    // A run whose count could not be taken has no observation; look a little further back.
    f.limit = limit + 5;
    DEW_ASSIGN_OR_RETURN(auto earlier, store->ListTestResults(f));
    std::vector<int64_t> counts;
    for (const auto& r : earlier) {
      if (r.observed && static_cast<int>(counts.size()) < limit) counts.push_back(*r.observed);
    }
    return counts;
  };
}

Status TestResultLog::Save(const UpstreamMap& upstream, int64_t at_ms) {
  std::vector<control::TestResultRecord> results = this->results();
  if (results.empty()) return Status::OK();
  DEW_RETURN_IF_ERROR(store_->AddTestResults(results));
  // Scores cover every result of the run for the targets tested here, so a pipeline whose model
  // task and quality task both test a table gets one score from both.
  std::set<std::string> targets;
  for (const auto& r : results) targets.insert(r.target);
  control::TestResultFilter filter;
  filter.run_id = run_id_;
  filter.limit = std::numeric_limits<int>::max();
  DEW_ASSIGN_OR_RETURN(auto all, store_->ListTestResults(filter));
  std::vector<control::TestResultRecord> of_targets;
  for (auto& r : all) {
    if (targets.count(r.target)) of_targets.push_back(std::move(r));
  }
  return store_->AddQualityScores(ScoreRun(run_id_, at_ms, of_targets, upstream));
}

std::vector<control::TestResultRecord> TestResultLog::results() const {
  std::lock_guard<std::mutex> lock(mu_);
  return results_;
}

}  // namespace dew::quality
