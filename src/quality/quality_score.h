// Quality scores: per target (a model, a source table, a singular test), the share of its
// checks that passed in one run, each check weighted by its severity. An error-severity check
// stops a build when it fails, so it weighs three times a warning:
//
//   score = sum(weight of passing checks) / sum(weight of all checks),  error = 3, warn = 1
//
// A check passes only with status "pass": a warning, a failure, a quarantine (rows moved) and a
// test that could not run all count against the score.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "control/control_store.h"

namespace dew::quality {

constexpr int kErrorWeight = 3;
constexpr int kWarnWeight = 1;

//! kWarnWeight for "warn", kErrorWeight for anything else (error is the default severity).
int SeverityWeight(const std::string& severity);

//! The targets each target reads directly: a model's refs and sources ("source:erp.orders").
using UpstreamMap = std::map<std::string, std::vector<std::string>>;

//! Every target `target` reads, directly or not, nearest first (breadth-first over `upstream`;
//! each once, even in a diamond or a cycle).
std::vector<std::string> Ancestors(const std::string& target, const UpstreamMap& upstream);

//! One score per target among `results` (one run's results), by target name, each with its
//! Ancestors as upstream list. Pure: no I/O.
std::vector<control::QualityScoreRecord> ScoreRun(
    const std::string& run_id, int64_t at_ms, const std::vector<control::TestResultRecord>& results,
    const UpstreamMap& upstream);

}  // namespace dew::quality
