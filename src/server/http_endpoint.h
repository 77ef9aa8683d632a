// HttpEndpoint: a small HTTP server (cpp-httplib) for dew serve's operational endpoints,
// /healthz and /metrics. Handlers are plain functions returning a reply, so the server part
// knows nothing about schedulers or stores; the full API is a later issue.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace dew::server {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

//! Thread-safe after Start: handlers run on the server's threads, several at once.
class HttpEndpoint {
 public:
  HttpEndpoint();
  ~HttpEndpoint();  //!< stops the server when running
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  //! Serves GET `path` with `handler`; call before Start.
  void Get(const std::string& path, std::function<HttpReply()> handler);

  //! Binds `host`:`port` (0: any free port) and serves on a thread of its own. Returns the bound
  //! port. IOError naming the address when it cannot be bound; InvalidArgument when started
  //! twice.
  Result<int> Start(const std::string& host, int port);

  //! Stops serving and joins the thread; no-op when not running.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

//! Prometheus text exposition format (version 0.0.4): one HELP/TYPE header per metric family,
//! then its samples. Not thread-safe; build one per scrape.
class MetricsText {
 public:
  //! Starts a family; `type` is "counter" or "gauge".
  void Family(const std::string& name, const std::string& type, const std::string& help);
  //! A sample of the current family, with `labels` like {{"status", "running"}} (values escaped).
  void Sample(const std::string& name, double value,
              const std::vector<std::pair<std::string, std::string>>& labels = {});
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace dew::server
