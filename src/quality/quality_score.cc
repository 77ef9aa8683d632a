#include "quality/quality_score.h"

#include <deque>
#include <nlohmann/json.hpp>
#include <set>

namespace dew::quality {

int SeverityWeight(const std::string& severity) {
  return severity == "warn" ? kWarnWeight : kErrorWeight;
}

std::vector<std::string> Ancestors(const std::string& target, const UpstreamMap& upstream) {
  std::vector<std::string> out;
  std::set<std::string> seen = {target};
  std::deque<std::string> queue = {target};
  while (!queue.empty()) {
    auto it = upstream.find(queue.front());
    queue.pop_front();
    if (it == upstream.end()) continue;
    for (const auto& parent : it->second) {
      if (!seen.insert(parent).second) continue;
      out.push_back(parent);
      queue.push_back(parent);
    }
  }
  return out;
}

std::vector<control::QualityScoreRecord> ScoreRun(
    const std::string& run_id, int64_t at_ms, const std::vector<control::TestResultRecord>& results,
    const UpstreamMap& upstream) {
  std::map<std::string, control::QualityScoreRecord> by_target;
  for (const control::TestResultRecord& r : results) {
    control::QualityScoreRecord& q = by_target[r.target];
    const int weight = SeverityWeight(r.severity);
    q.total_weight += weight;
    ++q.checks;
    if (r.status == "pass") {
      q.passed_weight += weight;
    } else {
      ++q.failed;
    }
  }
  std::vector<control::QualityScoreRecord> out;
  for (auto& [target, q] : by_target) {
    q.run_id = run_id;
    q.target = target;
    q.at_ms = at_ms;
    q.upstream_json = nlohmann::json(Ancestors(target, upstream)).dump();
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace dew::quality
