// HttpClient: outbound HTTP(S) passed in like the FileSystem and the Clock, so connectors,
// webhooks and the S3 reader are tested against real servers on loopback and never call a
// global. CurlHttpClient is the implementation over libcurl.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace dew {

//! Header names compare case-insensitively (HTTP rules); order and repeats are kept.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  //!< GET, POST, PUT, DELETE, HEAD, PATCH
  std::string url;             //!< absolute http:// or https:// URL, query string included
  HttpHeaders headers;
  std::string body;
  int64_t timeout_ms = 60000;  //!< whole request, connect included
  int64_t connect_timeout_ms = 10000;
  bool follow_redirects = false;
  //! When set, the response body is streamed to this callback (returning false aborts the
  //! transfer with Status::Interrupted) and HttpResponse::body stays empty; for large downloads.
  std::function<bool(const char* data, size_t size)> on_body;
};

struct HttpResponse {
  int status = 0;  //!< the HTTP status code, e.g. 200, 429
  HttpHeaders headers;
  std::string body;
  //! The first header of that name (case-insensitive), or empty.
  std::string Header(const std::string& name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  //! Sends one request and waits for the whole response. Any HTTP status, including 4xx and
  //! 5xx, is a successful Result: callers decide what a status means. Fails only when no
  //! response arrived: IOError naming the method, URL (without credentials) and the transport
  //! error (DNS, refused, TLS, reset), Timeout-like IOError naming the limit when it ran out.
  //! Thread-safe: one client may serve several threads.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

//! The libcurl client (TLS verified with the system CA store).
std::shared_ptr<HttpClient> NewCurlHttpClient();

//! Percent-encodes `text` for a URL query value or path segment (RFC 3986 unreserved kept).
std::string UrlEncode(const std::string& text);

}  // namespace dew
