#include "server/http_endpoint.h"

#include <httplib.h>

#include <cmath>
#include <cstdio>
#include <thread>

namespace dew::server {

struct HttpEndpoint::Impl {
  httplib::Server server;
  std::thread thread;
  bool started = false;
};

HttpEndpoint::HttpEndpoint() : impl_(std::make_unique<Impl>()) {
  // httplib's default adds SO_REUSEPORT, which lets a second server bind a port already in use
  // and share its connections; a busy port must be an error instead.
  impl_->server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
  });
}

HttpEndpoint::~HttpEndpoint() {
  Stop();
}

void HttpEndpoint::Get(const std::string& path, std::function<HttpReply()> handler) {
  impl_->server.Get(
      path, [handler = std::move(handler)](const httplib::Request&, httplib::Response& res) {
        HttpReply reply = handler();
        res.status = reply.status;
        res.set_content(reply.body, reply.content_type.c_str());
      });
}

Result<int> HttpEndpoint::Start(const std::string& host, int port) {
  if (impl_->started) return Status::InvalidArgument("the HTTP endpoint is already started");
  int bound = -1;
  if (port == 0) {
    bound = impl_->server.bind_to_any_port(host.c_str());
  } else if (impl_->server.bind_to_port(host.c_str(), port)) {
    bound = port;
  }
  if (bound <= 0) {
    return Status::IOError("cannot listen on " + host + ":" + std::to_string(port) +
                           " (address in use or not available)");
  }
  impl_->started = true;
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  // cpp-httplib 0.11 has no wait_until_ready; a stop() before listening starts would be lost.
  while (!impl_->server.is_running()) std::this_thread::yield();
  return bound;
}

void HttpEndpoint::Stop() {
  if (!impl_->started) return;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->started = false;
}

namespace {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

}  // namespace

void MetricsText::Family(const std::string& name, const std::string& type,
                         const std::string& help) {
  text_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void MetricsText::Sample(const std::string& name, double value,
                         const std::vector<std::pair<std::string, std::string>>& labels) {
  text_ += name;
  if (!labels.empty()) {
    text_ += "{";
    for (size_t i = 0; i < labels.size(); i++) {
      text_ += (i ? "," : "") + labels[i].first + "=\"" + EscapeLabel(labels[i].second) + "\"";
    }
    text_ += "}";
  }
  text_ += " " + FormatValue(value) + "\n";
}

}  // namespace dew::server
