#include "orchestrator/scheduler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/file_system.h"

namespace dew::orchestrator {

namespace {

bool IsYamlFile(const std::string& name) {
  auto ends = [&](const std::string& suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".yml") || ends(".yaml");
}

control::CatchUpPolicy StorePolicy(CatchUp policy) {
  return policy == CatchUp::kSkip ? control::CatchUpPolicy::kSkip
                                  : control::CatchUpPolicy::kCatchUp;
}

// The most fire times one tick enumerates for a schedule; beyond it the stretch is summarized.
constexpr size_t kMaxEnumerated = 100000;

}  // namespace

RunLauncher QueueOnlyLauncher(control::ControlStore& store) {
  return [&store](const control::NewRun& run) { return store.CreateRun(run); };
}

Result<LoadedPipelines> LoadPipelines(const std::string& dir, FileSystem& fs,
                                      const TimeZoneLoader& load_zone) {
  LoadedPipelines out;
  if (!fs.Exists(dir)) return out;
  DEW_ASSIGN_OR_RETURN(std::vector<FileInfo> files, fs.ListDir(dir));
  std::sort(files.begin(), files.end(),
            [](const FileInfo& a, const FileInfo& b) { return a.name < b.name; });
  for (const FileInfo& f : files) {
    if (f.is_dir || !IsYamlFile(f.name)) continue;
    auto spec = PipelineSpec::ParseFile(JoinPath(dir, f.name), fs, load_zone);
    if (spec.ok()) {
      out.specs.push_back(std::move(spec).value());
    } else {
      out.errors.push_back(spec.status());
    }
  }
  return out;
}

std::string FormatUtcTime(int64_t utc_seconds) {
  const CivilTime c = CivilFromLocalSeconds(utc_seconds);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02dZ",
                static_cast<long long>(c.year), c.month, c.day, c.hour, c.minute, c.second);
  return buf;
}

std::string FormatLocalTime(int64_t utc_seconds, const TimeZone& tz) {
  const int64_t offset = tz.OffsetSeconds(utc_seconds);
  const CivilTime c = CivilFromLocalSeconds(utc_seconds + offset);
  const int64_t abs = offset < 0 ? -offset : offset;
  char buf[80];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:%02d%c%02lld:%02lld",
                static_cast<long long>(c.year), c.month, c.day, c.hour, c.minute, c.second,
                offset < 0 ? '-' : '+', static_cast<long long>(abs / 3600),
                static_cast<long long>((abs % 3600) / 60));
  return buf;
}

std::string ScheduledRunId(const std::string& pipeline, int64_t fire_ms) {
  const CivilTime c = CivilFromLocalSeconds(fire_ms / 1000);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld%02d%02dT%02d%02d%02dZ", static_cast<long long>(c.year),
                c.month, c.day, c.hour, c.minute, c.second);
  return "sched-" + pipeline + "-" + buf;
}

Scheduler::Scheduler(control::ControlStore& store, std::shared_ptr<Clock> clock, RunLauncher launch,
                     SchedulerOptions options)
    : store_(store), clock_(std::move(clock)), launch_(std::move(launch)), options_(options) {}

Status Scheduler::SetPipelines(std::vector<PipelineSpec> specs) {
  std::lock_guard<std::mutex> lock(mu_);
  specs_.clear();
  for (PipelineSpec& s : specs) specs_[s.name] = std::move(s);
  DEW_ASSIGN_OR_RETURN(std::vector<control::ScheduleRecord> stored, store_.ListSchedules());
  std::map<std::string, control::ScheduleRecord> by_name;
  for (auto& r : stored) by_name[r.pipeline] = r;
  const int64_t now_s = clock_->NowMillis() / 1000;
  for (const auto& [name, spec] : specs_) {
    if (!spec.schedule) continue;
    control::ScheduleRecord want;
    want.pipeline = name;
    want.cron = spec.schedule->ToString();
    want.timezone = spec.timezone;
    want.catch_up = StorePolicy(spec.catch_up);
    auto it = by_name.find(name);
    if (it != by_name.end() && it->second.cron == want.cron &&
        it->second.timezone == want.timezone) {
      if (it->second.catch_up == want.catch_up) continue;
      want.next_fire_at_ms = it->second.next_fire_at_ms;
    } else {
      auto next = spec.schedule->NextAfter(now_s, spec.time_zone);
      if (!next.ok()) return next.status().WithContext("scheduling pipeline " + name);
      want.next_fire_at_ms = *next * 1000;
    }
    DEW_RETURN_IF_ERROR(store_.UpsertSchedule(want));
  }
  return Status::OK();
}

std::string Scheduler::RunParamsJson(const PipelineSpec& spec, int64_t fire_seconds) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [k, v] : spec.params) params[k] = v;
  if (spec.params.count("logical_date") > 0) {
    params["logical_date"] = FormatLocalTime(fire_seconds, spec.time_zone).substr(0, 10);
  }
  return params.dump();
}

bool Scheduler::Launch(const PipelineSpec& spec, int64_t fire_ms, int64_t now_ms) {
  control::NewRun run;
  run.id = ScheduledRunId(spec.name, fire_ms);
  run.pipeline = spec.name;
  run.trigger = control::TriggerKind::kSchedule;
  run.triggered_by = "schedule";
  run.params_json = RunParamsJson(spec, fire_ms / 1000);
  run.logical_date = FormatLocalTime(fire_ms / 1000, spec.time_zone);
  Status s = launch_(run);
  if (!s.ok() && !s.IsAlreadyExists()) {
    stats_.launch_errors++;
    std::fprintf(stderr, "dew: scheduler: launching run %s: %s\n", run.id.c_str(),
                 s.ToString().c_str());
    return false;
  }
  if (s.ok()) {
    stats_.runs_fired++;
    stats_.last_lag_ms = now_ms - fire_ms;
    stats_.max_lag_ms = std::max(stats_.max_lag_ms, stats_.last_lag_ms);
  }
  return true;
}

Status Scheduler::FireDue(const PipelineSpec& spec, const control::ScheduleRecord& record,
                          int64_t now_ms) {
  const CronSchedule& cron = *spec.schedule;
  auto next_of = [&](int64_t fire_ms) -> Result<int64_t> {
    DEW_ASSIGN_OR_RETURN(int64_t s, cron.NextAfter(fire_ms / 1000, spec.time_zone));
    return s * 1000;
  };
  // Every due fire time, oldest first, and the first one after now.
  std::vector<int64_t> due;
  int64_t t = record.next_fire_at_ms;
  while (t <= now_ms && due.size() < kMaxEnumerated) {
    due.push_back(t);
    DEW_ASSIGN_OR_RETURN(t, next_of(t));
  }
  if (t <= now_ms) {
    DEW_ASSIGN_OR_RETURN(t, next_of(now_ms));
  }
  const int64_t first_future = t;
  if (due.empty()) return Status::OK();

  // Which of them run: a suffix of `due`; the prefix before it is skipped.
  size_t fire_from = due.size();
  switch (spec.catch_up) {
    case CatchUp::kSkip:
      if (now_ms - due.back() <= options_.misfire_grace_ms) fire_from = due.size() - 1;
      break;
    case CatchUp::kLatest:
      fire_from = due.size() - 1;
      break;
    case CatchUp::kAll: {
      const size_t cap = static_cast<size_t>(std::max(1, options_.max_catch_up));
      fire_from = due.size() > cap ? due.size() - cap : 0;
      break;
    }
  }
  int64_t current = record.next_fire_at_ms;
  if (fire_from > 0) {
    const int64_t resume = fire_from < due.size() ? due[fire_from] : first_future;
    DEW_ASSIGN_OR_RETURN(bool moved, store_.AdvanceSchedule(spec.name, current, resume));
    if (!moved) return Status::OK();  // another scheduler owns these times
    stats_.fire_times_skipped += static_cast<int64_t>(fire_from);
    nlohmann::json event = {{"pipeline", spec.name},
                            {"policy", CatchUpName(spec.catch_up)},
                            {"count", fire_from},
                            {"first", FormatLocalTime(due.front() / 1000, spec.time_zone)},
                            {"last", FormatLocalTime(due[fire_from - 1] / 1000, spec.time_zone)},
                            {"next", FormatLocalTime(resume / 1000, spec.time_zone)}};
    nlohmann::json times = nlohmann::json::array();
    for (size_t i = 0; i < fire_from && i < 1000; i++) {
      times.push_back(FormatLocalTime(due[i] / 1000, spec.time_zone));
    }
    event["skipped"] = std::move(times);
    DEW_RETURN_IF_ERROR(store_.AppendEvent("schedule_skipped", event.dump()).status());
    current = resume;
  }
  for (size_t i = fire_from; i < due.size(); i++) {
    // Launch first, then advance: a crash in between relaunches the same run id, which the
    // store refuses (AlreadyExists), so the fire time is neither lost nor doubled.
    if (!Launch(spec, due[i], now_ms)) return Status::OK();
    const int64_t next = i + 1 < due.size() ? due[i + 1] : first_future;
    DEW_ASSIGN_OR_RETURN(bool moved, store_.AdvanceSchedule(spec.name, current, next));
    if (!moved) return Status::OK();
    current = next;
  }
  return Status::OK();
}

Result<int64_t> Scheduler::Tick() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_->NowMillis();
  stats_.ticks++;
  stats_.last_tick_ms = now;
  DEW_ASSIGN_OR_RETURN(std::vector<control::ScheduleRecord> due, store_.DueSchedules(now));
  Status first_error;
  for (const control::ScheduleRecord& record : due) {
    auto it = specs_.find(record.pipeline);
    // A schedule whose pipeline file is gone, or lost its schedule, or differs from the file
    // (SetPipelines has not run since it changed) is not fired.
    if (it == specs_.end() || !it->second.schedule) continue;
    if (it->second.schedule->ToString() != record.cron || it->second.timezone != record.timezone) {
      continue;
    }
    Status s = FireDue(it->second, record, now);
    if (!s.ok() && first_error.ok()) {
      first_error = s.WithContext("scheduling pipeline " + record.pipeline);
    }
  }
  DEW_RETURN_IF_ERROR(first_error);
  int64_t wake = now + options_.poll_interval_ms;
  DEW_ASSIGN_OR_RETURN(std::vector<control::ScheduleRecord> all, store_.ListSchedules());
  for (const control::ScheduleRecord& r : all) {
    auto it = specs_.find(r.pipeline);
    // A time still due here failed to launch: it is retried after the poll interval.
    if (it == specs_.end() || !it->second.schedule || r.next_fire_at_ms <= now) continue;
    wake = std::min(wake, r.next_fire_at_ms);
  }
  return wake;
}

void Scheduler::Run(const std::function<void(const Status&)>& on_error) {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      if (stop_) return;
    }
    auto wake = Tick();
    int64_t wait_ms = options_.poll_interval_ms;
    if (wake.ok()) {
      wait_ms = std::clamp<int64_t>(*wake - clock_->NowMillis(), 0, options_.poll_interval_ms);
    } else if (on_error) {
      on_error(wake.status());
    }
    std::unique_lock<std::mutex> lock(stop_mu_);
    stop_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return stop_; });
    if (stop_) return;
  }
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace dew::orchestrator
