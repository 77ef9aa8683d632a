#include "orchestrator/backfill.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>

#include "core/id_generator.h"
#include "core/time_zone.h"

namespace dew::orchestrator {

namespace {

constexpr size_t kMaxDates = 100000;

std::string FormatDate(const CivilTime& c) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02d", static_cast<long long>(c.year), c.month,
                c.day);
  return buf;
}

//! "2025-W09": the ISO 8601 week (weeks start on Monday; week 1 holds the year's first Thursday).
std::string IsoWeek(int64_t days) {
  const int wd = (WeekdayFromDays(days) + 6) % 7;  // 0 = Monday
  const int64_t thursday = days - wd + 3;
  const CivilTime t = CivilFromDays(thursday);
  const int64_t week = (thursday - DaysFromCivil(t.year, 1, 1)) / 7 + 1;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld-W%02lld", static_cast<long long>(t.year),
                static_cast<long long>(week));
  return buf;
}

}  // namespace

Result<BackfillStep> ParseBackfillStep(const std::string& text) {
  if (text == "day") return BackfillStep::kDay;
  if (text == "week") return BackfillStep::kWeek;
  if (text == "month") return BackfillStep::kMonth;
  return Status::InvalidArgument("unknown step '" + text + "' (expected day, week or month)");
}

Result<CivilDate> ParseCivilDate(const std::string& text, const std::string& what) {
  int y = 0, m = 0, d = 0;
  char extra = 0;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 ||
      text[4] != '-' || text[7] != '-') {
    return Status::InvalidArgument(what + ": bad date '" + text + "' (expected YYYY-MM-DD)");
  }
  if (m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) {
    return Status::InvalidArgument(what + ": no such date '" + text + "'");
  }
  return CivilDate{y, m, d};
}

Result<std::vector<BackfillDate>> BackfillDates(const CivilDate& from, const CivilDate& to,
                                                BackfillStep step) {
  const int64_t first = DaysFromCivil(from.year, from.month, from.day);
  const int64_t last = DaysFromCivil(to.year, to.month, to.day);
  if (first > last) {
    return Status::InvalidArgument("the range is empty: --from " +
                                   FormatDate(CivilFromDays(first)) + " is after --to " +
                                   FormatDate(CivilFromDays(last)));
  }
  std::vector<BackfillDate> out;
  auto push = [&](int64_t days, std::string period) -> Status {
    if (out.size() >= kMaxDates) {
      return Status::InvalidArgument("the range holds more than " + std::to_string(kMaxDates) +
                                     " dates");
    }
    out.push_back({FormatDate(CivilFromDays(days)), std::move(period)});
    return Status::OK();
  };
  switch (step) {
    case BackfillStep::kDay:
      for (int64_t d = first; d <= last; d++) {
        DEW_RETURN_IF_ERROR(push(d, FormatDate(CivilFromDays(d))));
      }
      break;
    case BackfillStep::kWeek:
      for (int64_t d = first; d <= last; d += 7) DEW_RETURN_IF_ERROR(push(d, IsoWeek(d)));
      break;
    case BackfillStep::kMonth: {
      int64_t y = from.year;
      int m = from.month;
      while (y < to.year || (y == to.year && m <= to.month)) {
        char period[16];
        std::snprintf(period, sizeof(period), "%04lld-%02d", static_cast<long long>(y), m);
        DEW_RETURN_IF_ERROR(push(DaysFromCivil(y, m, 1), period));
        if (++m > 12) {
          m = 1;
          y++;
        }
      }
      break;
    }
  }
  return out;
}

Result<BackfillResult> RunBackfill(const PipelineSpec& spec, const BackfillOptions& options,
                                   control::ControlStore& store, Clock& clock,
                                   const RunLauncher& launch) {
  if (options.parallel < 1) {
    return Status::InvalidArgument("backfill of " + spec.name + ": --parallel must be at least 1");
  }
  control::RunFilter filter;
  filter.pipeline = spec.name;
  filter.limit = 1 << 30;
  DEW_ASSIGN_OR_RETURN(std::vector<control::RunRecord> runs, store.ListRuns(filter));
  std::map<std::string, std::vector<control::RunRecord>> by_date;
  for (auto& r : runs) by_date[r.logical_date].push_back(std::move(r));

  BackfillResult result;
  auto report = [&](const BackfillDate& date, const std::string& outcome,
                    const std::string& run_id) {
    if (options.on_progress) options.on_progress(date, outcome, run_id);
  };
  struct InFlight {
    BackfillDate date;
    std::string run_id;
  };
  std::deque<BackfillDate> pending;
  std::vector<InFlight> in_flight;
  for (const BackfillDate& date : options.dates) {
    const std::vector<control::RunRecord>& earlier = by_date[date.logical_date];
    const control::RunRecord* active = nullptr;
    bool done = false;
    for (const control::RunRecord& r : earlier) {
      if (r.status == control::RunStatus::kSucceeded) done = true;
      if (!control::IsFinished(r.status)) active = &r;
    }
    if (done) {
      result.skipped++;
      report(date, "skipped", "");
    } else if (active != nullptr) {
      in_flight.push_back({date, active->id});
    } else {
      pending.push_back(date);
    }
  }

  IdGenerator ids;
  auto fail = [&](const BackfillDate& date, const std::string& outcome, const std::string& run_id) {
    result.failed++;
    result.failed_dates.push_back(date.logical_date);
    report(date, outcome, run_id);
  };
  while (!pending.empty() || !in_flight.empty()) {
    while ((!options.wait || static_cast<int>(in_flight.size()) < options.parallel) &&
           !pending.empty()) {
      BackfillDate date = pending.front();
      pending.pop_front();
      nlohmann::json params = nlohmann::json::object();
      for (const auto& [k, v] : spec.params) params[k] = v;
      if (spec.params.count("logical_date") > 0) params["logical_date"] = date.logical_date;
      if (spec.params.count("period") > 0) params["period"] = date.period;
      control::NewRun run;
      run.id = ids.NewUuid();
      run.pipeline = spec.name;
      run.trigger = control::TriggerKind::kBackfill;
      run.triggered_by = options.triggered_by;
      run.params_json = params.dump();
      run.logical_date = date.logical_date;
      Status s = launch(run);
      if (!s.ok()) {
        fail(date, "launch failed: " + s.ToString(), run.id);
        continue;
      }
      result.launched++;
      if (options.wait) {
        in_flight.push_back({date, run.id});
      } else {
        report(date, "queued", run.id);
      }
    }
    if (!options.wait) break;
    bool progressed = false;
    for (size_t i = 0; i < in_flight.size();) {
      DEW_ASSIGN_OR_RETURN(control::RunRecord run, store.GetRun(in_flight[i].run_id));
      if (!control::IsFinished(run.status)) {
        i++;
        continue;
      }
      progressed = true;
      if (run.status == control::RunStatus::kSucceeded) {
        result.succeeded++;
        report(in_flight[i].date, "succeeded", run.id);
      } else {
        fail(in_flight[i].date, control::RunStatusName(run.status), run.id);
      }
      in_flight.erase(in_flight.begin() + static_cast<long>(i));
    }
    if (!progressed && !in_flight.empty()) clock.SleepMillis(options.poll_interval_ms);
  }
  // Runs finish in any order (parallel, and concurrent commits on PostgreSQL); report dates in
  // calendar order, which ISO dates sort to.
  std::sort(result.failed_dates.begin(), result.failed_dates.end());
  return result;
}

}  // namespace dew::orchestrator
