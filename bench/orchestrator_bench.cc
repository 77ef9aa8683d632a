// Benchmark 5: the executor's own cost. 10 runs of a 1,000-task DAG (10,000 no-op tasks) on a
// SQLite control store (a PostgreSQL URL in DEW_BENCH_CONTROL runs it there): tasks per second,
// the overhead against calling the same no-op bodies in a plain loop, and the schedule-to-start
// latency of every task in two parts, both measured per task by the executor's on_dispatch hook:
//  - dispatch latency: from the moment the task was ready (enqueued, or its retry backoff over)
//    AND the pool thread that took it was free, to that thread holding the claim. This is the
//    scheduler's own latency, the one the goal (p99 < 50 ms on SQLite) is about;
//  - queue wait: from ready to claimed, including the wait for a free thread (1,000 roots are
//    ready at once for 4 threads, so most of it is queueing, not scheduling).
// A 200-task chain measures both with threads always free. Then cancel latency: `CancelRun` of a
// run whose shell task sleeps, to the attempt recorded cancelled. Prints one JSON object.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/open_control_store.h"
#include "control/sqlite_control_store.h"
#include "core/file_system.h"
#include "orchestrator/executor.h"
#include "orchestrator/run_coordinator.h"

namespace dew::orchestrator {
namespace {

class NoopTask final : public TaskRunner {
 public:
  Result<TaskOutcome> Run() override { return TaskOutcome{1, 0}; }
  void Cancel() override {}
};

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int64_t Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

//! 1,000 tasks in 10 layers of 100; each task after the first layer depends on 3 random tasks of
//! the layer above.
std::string DagYaml(int nodes) {
  std::mt19937 rng(42);
  const int width = 100;
  std::string y = "name: bench_dag\nconcurrency: 10\ntasks:\n";
  for (int i = 0; i < nodes; ++i) {
    y += "  - name: t" + std::to_string(i) + "\n    kind: shell\n    command: \"true\"\n";
    const int layer = i / width;
    if (layer == 0) continue;
    std::set<int> deps;
    while (deps.size() < 3) deps.insert((layer - 1) * width + static_cast<int>(rng() % width));
    y += "    depends_on: [";
    bool first = true;
    for (int d : deps) {
      y += (first ? "t" : ", t") + std::to_string(d);
      first = false;
    }
    y += "]\n";
  }
  return y;
}

//! Per-task latencies from Executor's on_dispatch, in milliseconds.
class DispatchRecorder {
 public:
  void Record(const DispatchSample& s) {
    const int64_t ready = std::max(s.attempt.created_at_ms, s.attempt.not_before_ms);
    std::lock_guard<std::mutex> lock(mu_);
    dispatch_.push_back(s.claimed_ms - std::max(ready, s.slot_free_ms));
    queue_.push_back(s.claimed_ms - ready);
  }
  //! Takes the samples recorded so far (dispatch, queue wait) and starts afresh.
  std::pair<std::vector<int64_t>, std::vector<int64_t>> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    auto out = std::make_pair(std::move(dispatch_), std::move(queue_));
    dispatch_.clear();
    queue_.clear();
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<int64_t> dispatch_;
  std::vector<int64_t> queue_;
};

int Main() {
  char tmpl[] = "/tmp/dew_orch_bench_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = tmpl;
  mkdir((dir + "/.dew").c_str(), 0755);
  auto clock = Clock::System();
  const char* control = std::getenv("DEW_BENCH_CONTROL");
  const std::string setting = control != nullptr ? control : "";
  auto store_or = control::OpenControlStore(setting, dir, clock, {});
  if (!store_or.ok()) {
    std::fprintf(stderr, "%s\n", store_or.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<control::ControlStore> store = std::move(store_or).value();
  const int runs = std::getenv("BENCH_RUNS") ? std::atoi(std::getenv("BENCH_RUNS")) : 10;
  const int nodes = 1000;
  const int threads = std::getenv("BENCH_THREADS") ? std::atoi(std::getenv("BENCH_THREADS")) : 4;
  auto spec_or = PipelineSpec::Parse(
      DagYaml(nodes), "pipelines/bench_dag.yml",
      [](const std::string& n) -> Result<TimeZone> { return Status::NotFound(n); });
  if (!spec_or.ok()) {
    std::fprintf(stderr, "%s\n", spec_or.status().ToString().c_str());
    return 1;
  }
  const PipelineSpec spec = *spec_or;
  std::string sleeper_yaml =
      "name: sleeper\nconcurrency: 100\ntasks:\n  - {name: s, kind: shell, command: \"sleep "
      "30\"}\n";
  const PipelineSpec sleeper = *PipelineSpec::Parse(
      sleeper_yaml, "pipelines/sleeper.yml",
      [](const std::string& n) { return Result<TimeZone>(Status::NotFound(n)); });
  PipelineSpec chain;
  RunCoordinator coord(
      store.get(),
      [&](const std::string& name) -> Result<PipelineSpec> {
        if (name == spec.name) return spec;
        if (name == chain.name) return chain;
        if (name == sleeper.name) return sleeper;
        return Status::NotFound(name);
      },
      clock);
  TaskEnv env;
  env.project_dir = dir;
  env.fs = FileSystem::Posix();
  env.clock = clock;
  env.processes = std::make_shared<PosixProcessRunner>(dir, 200);
  bool noop = true;
  env.make_runner = [&noop,
                     &env](const TaskInvocation& inv) -> Result<std::unique_ptr<TaskRunner>> {
    if (noop) return std::unique_ptr<TaskRunner>(new NoopTask());
    return MakeProcessTask(env, inv);
  };
  ExecutorOptions o;
  o.worker_id = "bench";
  o.concurrency = threads;
  o.logs_dir = dir + "/.dew/logs";
  DispatchRecorder recorder;
  o.on_dispatch = [&recorder](const DispatchSample& sample) { recorder.Record(sample); };
  Executor executor(store.get(), &coord, env, o);

  // Baseline: the same bodies in one loop.
  const int total = runs * nodes;
  const auto l0 = std::chrono::steady_clock::now();
  for (int i = 0; i < total; ++i) {
    NoopTask t;
    (void)t.Run();
  }
  const double loop_s = Seconds(l0, std::chrono::steady_clock::now());

  if (!executor.Start().ok()) return 1;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> ids;
  for (int r = 0; r < runs; ++r) {
    auto id = coord.StartRun(spec, {});
    if (!id.ok()) {
      std::fprintf(stderr, "%s\n", id.status().ToString().c_str());
      return 1;
    }
    ids.push_back(*id);
  }
  executor.Wake();
  for (const std::string& id : ids) {
    for (;;) {
      auto run = store->GetRun(id);
      if (run.ok() && control::IsFinished(run->status)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  const double exec_s = Seconds(t0, std::chrono::steady_clock::now());
  const auto [dag_dispatch, dag_queue] = recorder.Take();
  int succeeded = 0;
  for (const std::string& id : ids) {
    auto attempts = store->ListAttempts(id);
    if (!attempts.ok()) return 1;
    for (const auto& a : *attempts) succeeded += a.status == control::RunStatus::kSucceeded;
  }

  // Dispatch latency with free threads: a 200-task chain, each task enqueued when the previous
  // finished, so the latency is the executor's own (no queueing behind busy threads).
  std::string chain_yaml = "name: chain\ntasks:\n";
  for (int i = 0; i < 200; ++i) {
    chain_yaml += "  - {name: c" + std::to_string(i) + ", kind: shell, command: \"true\"" +
                  (i == 0 ? std::string() : ", depends_on: [c" + std::to_string(i - 1) + "]") +
                  "}\n";
  }
  chain = *PipelineSpec::Parse(chain_yaml, "pipelines/chain.yml", [](const std::string& n) {
    return Result<TimeZone>(Status::NotFound(n));
  });
  {
    auto id = coord.StartRun(chain, {});
    if (!id.ok()) return 1;
    executor.Wake();
    for (;;) {
      auto run = store->GetRun(*id);
      if (run.ok() && control::IsFinished(run->status)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  const auto [chain_dispatch, chain_queue] = recorder.Take();

  // Cancel latency: a running shell task, cancelled, until its attempt is recorded cancelled.
  noop = false;
  std::vector<int64_t> cancel_ms;
  for (int i = 0; i < 5; ++i) {
    auto id = coord.StartRun(sleeper, {});
    if (!id.ok()) return 1;
    executor.Wake();
    int64_t attempt_id = 0;
    while (attempt_id == 0) {
      auto attempts = store->ListAttempts(*id);
      if (attempts.ok() && !attempts->empty() &&
          (*attempts)[0].status == control::RunStatus::kRunning) {
        attempt_id = (*attempts)[0].id;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto c0 = std::chrono::steady_clock::now();
    if (!coord.CancelRun(*id, "bench").ok()) return 1;
    for (;;) {
      auto a = store->GetAttempt(attempt_id);
      if (a.ok() && control::IsFinished(a->status)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    cancel_ms.push_back(static_cast<int64_t>(Seconds(c0, std::chrono::steady_clock::now()) * 1000));
  }
  executor.Stop();
  const ExecutorStats st = executor.stats();
  auto p = [](const std::vector<int64_t>& v, double q) {
    return static_cast<long long>(Percentile(v, q));
  };
  std::printf(
      "{\"store\": \"%s\", \"threads\": %d, \"tasks\": %d, \"succeeded\": %d, \"seconds\": %.3f, "
      "\"tasks_per_second\": %.1f, \"dispatch_latency_ms_p50\": %lld, "
      "\"dispatch_latency_ms_p99\": %lld, \"dispatch_latency_ms_max\": %lld, "
      "\"queue_wait_ms_p50\": %lld, \"queue_wait_ms_p99\": %lld, \"samples\": %zu, "
      "\"loop_seconds\": %.6f, \"overhead_ms_per_task\": %.3f, \"claimed\": %lld, "
      "\"cancel_latency_ms_median\": %lld, \"cancel_latency_ms_max\": %lld, "
      "\"chain_dispatch_latency_ms_p50\": %lld, \"chain_dispatch_latency_ms_p99\": %lld, "
      "\"chain_queue_wait_ms_p99\": %lld}\n",
      setting.empty() ? "sqlite" : "postgres", threads, total, succeeded, exec_s,
      static_cast<double>(total) / exec_s, p(dag_dispatch, 0.5), p(dag_dispatch, 0.99),
      p(dag_dispatch, 1.0), p(dag_queue, 0.5), p(dag_queue, 0.99), dag_dispatch.size(), loop_s,
      (exec_s - loop_s) * 1000.0 / total, static_cast<long long>(st.claimed), p(cancel_ms, 0.5),
      p(cancel_ms, 1.0), p(chain_dispatch, 0.5), p(chain_dispatch, 0.99), p(chain_queue, 0.99));
  (void)std::system(("rm -rf " + dir).c_str());
  return 0;
}

}  // namespace
}  // namespace dew::orchestrator

int main() {
  return dew::orchestrator::Main();
}
