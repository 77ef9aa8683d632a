#include "quality/quality_report.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

namespace dew::quality {
namespace {

std::vector<std::string> UpstreamOf(const control::QualityScoreRecord& score) {
  std::vector<std::string> out;
  auto parsed = nlohmann::json::parse(score.upstream_json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) return out;
  for (const auto& t : parsed) {
    if (t.is_string()) out.push_back(t.get<std::string>());
  }
  return out;
}

//! Those of `target`'s upstream targets (stored with its score, nearest first) whose own checks
//! failed in the same run.
std::vector<std::string> FailingUpstream(
    const control::QualityScoreRecord& score,
    const std::map<std::string, control::QualityScoreRecord>& run_scores) {
  std::vector<std::string> failing;
  for (const auto& up : UpstreamOf(score)) {
    auto s = run_scores.find(up);
    if (s != run_scores.end() && s->second.failed > 0) failing.push_back(up);
  }
  return failing;
}

//! The score of `wanted`, or of the model whose relation it is ("silver.x" → "x").
const control::QualityScoreRecord* FindTarget(
    const std::vector<control::QualityScoreRecord>& latest, const std::string& wanted) {
  for (const auto& s : latest) {
    if (s.target == wanted) return &s;
  }
  const size_t dot = wanted.find('.');
  if (dot == std::string::npos || wanted.rfind("source:", 0) == 0) return nullptr;
  for (const auto& s : latest) {
    if (s.target == wanted.substr(dot + 1)) return &s;
  }
  return nullptr;
}

}  // namespace

Result<QualityReport> BuildQualityReport(control::ControlStore& store,
                                         const QualityReportOptions& options) {
  DEW_ASSIGN_OR_RETURN(std::vector<control::QualityScoreRecord> latest,
                       store.LatestQualityScores());
  std::vector<control::QualityScoreRecord> chosen;
  if (options.target.empty()) {
    chosen = latest;
  } else {
    const control::QualityScoreRecord* found = FindTarget(latest, options.target);
    if (found == nullptr) {
      std::string known;
      for (const auto& s : latest) known += (known.empty() ? "" : ", ") + s.target;
      return Status::NotFound("no quality score for '" + options.target + "' (" +
                              (known.empty()
                                   ? "no test results recorded yet: run dew build or dew test"
                                   : "scored: " + known) +
                              ")");
    }
    chosen.push_back(*found);
  }
  std::sort(chosen.begin(), chosen.end(),
            [](const auto& a, const auto& b) { return a.target < b.target; });

  QualityReport report;
  std::map<std::string, std::map<std::string, control::QualityScoreRecord>> runs;  // by run id
  for (const auto& score : chosen) {
    TargetQuality tq;
    tq.latest = score;
    control::QualityScoreFilter history;
    history.target = score.target;
    history.limit = options.trend_length;
    DEW_ASSIGN_OR_RETURN(auto scores, store.ListQualityScores(history));
    for (auto it = scores.rbegin(); it != scores.rend(); ++it) tq.trend.push_back(it->score());
    report.targets.push_back(std::move(tq));
    if (score.failed == 0) continue;

    if (!runs.count(score.run_id)) {
      control::QualityScoreFilter of_run;
      of_run.run_id = score.run_id;
      of_run.limit = 1000000;
      DEW_ASSIGN_OR_RETURN(auto run_scores, store.ListQualityScores(of_run));
      auto& by_target = runs[score.run_id];
      for (auto& s : run_scores) by_target.emplace(s.target, std::move(s));
    }
    const std::vector<std::string> upstream = FailingUpstream(score, runs[score.run_id]);
    control::TestResultFilter problems;
    problems.run_id = score.run_id;
    problems.target = score.target;
    problems.problems_only = true;
    problems.limit = options.problem_limit;
    DEW_ASSIGN_OR_RETURN(auto results, store.ListTestResults(problems));
    for (auto& r : results) report.problems.push_back({std::move(r), upstream});
  }
  return report;
}

}  // namespace dew::quality
