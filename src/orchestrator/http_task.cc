// http tasks: one request through HttpClient (any 2xx status succeeds), or, with `superset:`,
// a refresh of Superset datasets through its REST API (orchestrator/superset_refresh.h).
#include <atomic>

#include "orchestrator/superset_refresh.h"
#include "orchestrator/task_runner.h"

namespace dew::orchestrator {

namespace {

class HttpTask final : public TaskRunner {
 public:
  HttpTask(const TaskEnv& env, TaskInvocation inv) : env_(env), inv_(std::move(inv)) {}

  Result<TaskOutcome> Run() override {
    if (!inv_.task.Field("superset").empty()) return RefreshSuperset();
    HttpRequest req;
    req.method = inv_.task.Field("method").empty() ? "GET" : inv_.task.Field("method");
    req.url = inv_.task.Field("url");
    req.body = inv_.task.Field("body");
    if (!req.body.empty()) req.headers.push_back({"Content-Type", "application/json"});
    req.headers.push_back({"X-Dew-Run", inv_.run_id});
    if (inv_.task.timeout_ms > 0) req.timeout_ms = inv_.task.timeout_ms;
    // The body is streamed so that a cancel aborts a slow download at the next chunk.
    std::string body;
    req.on_body = [this, &body](const char* data, size_t size) {
      if (body.size() < 4096) body.append(data, std::min<size_t>(size, 4096 - body.size()));
      return !cancelled_.load();
    };
    if (cancelled_.load()) return Status::Interrupted("task " + inv_.task.name + " was cancelled");
    const std::string what = "task " + inv_.task.name + ": " + req.method + " " + req.url;
    if (inv_.log != nullptr) inv_.log->Log(LogLevel::kInfo, req.method + " " + req.url);
    auto resp = env_.http->Send(req);
    if (!resp.ok()) return resp.status().WithContext("task " + inv_.task.name);
    if (inv_.log != nullptr) {
      inv_.log->Log(LogLevel::kInfo, "HTTP " + std::to_string(resp->status) +
                                         (body.empty() ? "" : ": " + body.substr(0, 500)));
    }
    if (resp->status < 200 || resp->status > 299) {
      return Status::IOError(what + " answered HTTP " + std::to_string(resp->status) +
                             " (expected 2xx)" + (body.empty() ? "" : ": " + body.substr(0, 200)));
    }
    return TaskOutcome{};
  }

  void Cancel() override { cancelled_.store(true); }

 private:
  Result<TaskOutcome> RefreshSuperset() {
    const std::string what = "task " + inv_.task.name;
    auto target = SupersetRefresh::FromJson(inv_.task.Field("superset"), env_.worker_env);
    if (!target.ok()) return target.status().WithContext(what);
    if (inv_.task.timeout_ms > 0) target->timeout_ms = inv_.task.timeout_ms;
    auto log = [this](const std::string& line) {
      if (inv_.log != nullptr) inv_.log->Log(LogLevel::kInfo, line);
    };
    Status done = RefreshSupersetDatasets(*env_.http, *target, log, cancelled_);
    if (!done.ok()) return done.WithContext(what);
    return TaskOutcome{};
  }

  const TaskEnv& env_;
  const TaskInvocation inv_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

std::unique_ptr<TaskRunner> MakeHttpTask(const TaskEnv& env, TaskInvocation inv) {
  return std::make_unique<HttpTask>(env, std::move(inv));
}

}  // namespace dew::orchestrator
