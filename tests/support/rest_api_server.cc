#include "support/rest_api_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace dew::testing {

namespace {

using json = nlohmann::json;

int64_t IntParam(const httplib::Request& req, const std::string& name, int64_t fallback) {
  if (!req.has_param(name.c_str())) return fallback;
  try {
    return std::stoll(req.get_param_value(name.c_str()));
  } catch (const std::exception&) {
    return fallback;
  }
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Base64Decode(const std::string& in) {
  static const std::string kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    const size_t pos = kChars.find(c);
    if (pos == std::string::npos) break;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::vector<json> Slice(const std::vector<json>& all, int64_t from, int64_t count) {
  std::vector<json> out;
  for (int64_t i = std::max<int64_t>(from, 0);
       i < static_cast<int64_t>(all.size()) && static_cast<int64_t>(out.size()) < count; ++i)
    out.push_back(all[i]);
  return out;
}

}  // namespace

RestApiServer::RestApiServer() : server_(std::make_unique<httplib::Server>()) {
  records_ = Invoices(25);
  Install();
  port_ = server_->bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // cpp-httplib 0.11 has no wait_until_ready; stop() before listening starts would be lost.
  while (!server_->is_running()) std::this_thread::yield();
}

RestApiServer::~RestApiServer() {
  server_->stop();
  thread_.join();
}

std::string RestApiServer::BaseUrl() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/api";
}

std::string RestApiServer::TokenUrl() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/oauth/token";
}

std::vector<json> RestApiServer::Invoices(int n) {
  std::vector<json> out;
  for (int id = 1; id <= n; ++id) {
    char ts[32];
    std::snprintf(ts, sizeof(ts), "2026-01-01T%02d:%02d:00Z", id / 60, id % 60);
    out.push_back(
        {{"id", id},
         {"updated_at", ts},
         {"status", id % 2 ? "paid" : "open"},
         {"amount", id * 10 + 0.5},
         {"customer", {{"name", "customer " + std::to_string(id % 3)}, {"vip", id % 5 == 0}}}});
  }
  return out;
}

void RestApiServer::SetRecords(std::vector<json> records) {
  std::lock_guard<std::mutex> lock(mu_);
  records_ = std::move(records);
}

void RestApiServer::Upsert(const json& record) {
  std::lock_guard<std::mutex> lock(mu_);
  records_.erase(std::remove_if(records_.begin(), records_.end(),
                                [&](const json& r) { return r["id"] == record["id"]; }),
                 records_.end());
  records_.push_back(record);
}

void RestApiServer::FailNext(int count, int status, const std::string& retry_after, int after) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_after_ = after;
  fail_count_ = count;
  fail_status_ = status;
  fail_retry_after_ = retry_after;
}

void RestApiServer::RequireBearer(const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  bearer_ = token;
}

void RestApiServer::RequireOAuth(const std::string& client_id, const std::string& secret,
                                 int64_t expires_in) {
  std::lock_guard<std::mutex> lock(mu_);
  client_id_ = client_id;
  client_secret_ = secret;
  expires_in_ = expires_in;
}

void RestApiServer::RevokeTokens() {
  std::lock_guard<std::mutex> lock(mu_);
  valid_tokens_.clear();
}

void RestApiServer::RequireApiKey(const std::string& name, const std::string& value,
                                  bool in_query) {
  std::lock_guard<std::mutex> lock(mu_);
  api_key_name_ = name;
  api_key_value_ = value;
  api_key_in_query_ = in_query;
}

void RestApiServer::RequireBasic(const std::string& user, const std::string& password) {
  std::lock_guard<std::mutex> lock(mu_);
  basic_ = user.empty() && password.empty() ? "" : user + ":" + password;
}

std::vector<RestApiServer::Seen> RestApiServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

size_t RestApiServer::api_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.size();
}

int RestApiServer::token_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return token_requests_;
}

bool RestApiServer::Gate(const httplib::Request& req, httplib::Response& res) {
  Seen seen;
  seen.path = req.path;
  for (const auto& [k, v] : req.params) seen.params.emplace(k, v);
  for (const auto& [k, v] : req.headers) seen.headers[Lower(k)] = v;
  auto deny = [&](int status, const std::string& error) {
    res.status = status;
    res.set_content(json{{"error", error}}.dump(), "application/json");
  };
  const std::string authorization = req.get_header_value("Authorization");
  bool fail = false;
  if (fail_count_ > 0 && fail_after_ > 0) {
    --fail_after_;
  } else if (fail_count_ > 0) {
    --fail_count_;
    fail = true;
  }
  if (fail) {
    res.status = fail_status_;
    if (!fail_retry_after_.empty()) res.set_header("Retry-After", fail_retry_after_);
    res.set_content(json{{"error", "scripted failure"}}.dump(), "application/json");
  } else if (!bearer_.empty() && authorization != "Bearer " + bearer_) {
    deny(401, "bad bearer token");
  } else if (!client_id_.empty() && (authorization.rfind("Bearer ", 0) != 0 ||
                                     std::find(valid_tokens_.begin(), valid_tokens_.end(),
                                               authorization.substr(7)) == valid_tokens_.end())) {
    deny(401, "invalid or expired token");
  } else if (!api_key_name_.empty() &&
             (api_key_in_query_ ? req.get_param_value(api_key_name_.c_str())
                                : req.get_header_value(api_key_name_.c_str())) != api_key_value_) {
    deny(403, "bad api key");
  } else if (!basic_.empty() && (authorization.rfind("Basic ", 0) != 0 ||
                                 Base64Decode(authorization.substr(6)) != basic_)) {
    deny(401, "bad basic credentials");
  }
  seen.status = res.status == -1 ? 200 : res.status;
  seen_.push_back(std::move(seen));
  return res.status != -1 && res.status != 200;
}

std::vector<json> RestApiServer::Select(const httplib::Request& req) const {
  std::vector<json> out;
  const std::string since = req.get_param_value("updated_since");
  const std::string status = req.get_param_value("status");
  for (const json& r : records_) {
    if (!since.empty() && r.value("updated_at", "") < since) continue;
    if (!status.empty() && r.value("status", "") != status) continue;
    out.push_back(r);
  }
  return out;
}

void RestApiServer::Install() {
  httplib::Server& s = *server_;
  auto reply = [](httplib::Response& res, const json& body) {
    res.status = 200;
    res.set_content(body.dump(), "application/json");
  };
  s.Get("/api/page/invoices", [this, reply](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Gate(req, res)) return;
    const int64_t page = IntParam(req, "page", 1), size = IntParam(req, "per_page", 10);
    reply(res, {{"data", Slice(Select(req), (page - 1) * size, size)}, {"meta", {{"page", page}}}});
  });
  s.Get("/api/offset/invoices", [this, reply](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Gate(req, res)) return;
    reply(res,
          {{"data", Slice(Select(req), IntParam(req, "offset", 0), IntParam(req, "limit", 10))}});
  });
  s.Get("/api/cursor/invoices", [this, reply](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Gate(req, res)) return;
    const std::vector<json> all = Select(req);
    const std::string after = req.get_param_value("after");
    size_t from = 0;
    if (!after.empty()) {
      // The cursor is opaque to clients: "c" + the last id served.
      while (from < all.size() && "c" + all[from]["id"].dump() != after) ++from;
      ++from;
    }
    const std::vector<json> page =
        Slice(all, static_cast<int64_t>(from), IntParam(req, "limit", 10));
    json next = nullptr;
    if (!page.empty() && from + page.size() < all.size()) next = "c" + page.back()["id"].dump();
    reply(res, {{"data", page}, {"meta", {{"next_cursor", next}}}});
  });
  s.Get("/api/link/invoices", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Gate(req, res)) return;
    const std::vector<json> all = Select(req);
    const int64_t page = IntParam(req, "page", 1), size = IntParam(req, "per_page", 10);
    if (page * size < static_cast<int64_t>(all.size())) {
      std::string next = "/api/link/invoices?page=" + std::to_string(page + 1) +
                         "&per_page=" + std::to_string(size);
      if (req.has_param("updated_since"))
        next += "&updated_since=" +
                httplib::detail::encode_query_param(req.get_param_value("updated_since"));
      // Absolute for odd pages, relative for even ones: clients must handle both.
      if (page % 2) next = "http://127.0.0.1:" + std::to_string(port_) + next;
      res.set_header("Link", "<" + BaseUrl() + "/link/invoices?page=1>; rel=\"first\", <" + next +
                                 ">; rel=\"next\"");
    }
    res.status = 200;
    res.set_content(json(Slice(all, (page - 1) * size, size)).dump(), "application/json");
  });
  s.Get("/api/nested/invoices", [this, reply](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Gate(req, res)) return;
    const std::vector<json> all = Select(req);
    const size_t half = all.size() / 2;
    json batches =
        json::array({{{"items", Slice(all, 0, half)}}, {{"items", Slice(all, half, all.size())}}});
    reply(res, {{"result", {{"batches", batches}, {"count", all.size()}}}});
  });
  s.Post("/oauth/token", [this, reply](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    ++token_requests_;
    std::string id = req.get_param_value("client_id");
    std::string secret = req.get_param_value("client_secret");
    const std::string authorization = req.get_header_value("Authorization");
    if (authorization.rfind("Basic ", 0) == 0) {
      const std::string pair = Base64Decode(authorization.substr(6));
      id = pair.substr(0, pair.find(':'));
      secret = pair.find(':') == std::string::npos ? "" : pair.substr(pair.find(':') + 1);
    }
    if (req.get_param_value("grant_type") != "client_credentials" || id != client_id_ ||
        secret != client_secret_ || client_id_.empty()) {
      res.status = 401;
      res.set_content(
          json{{"error", "invalid_client"}, {"error_description", "client authentication failed"}}
              .dump(),
          "application/json");
      return;
    }
    const std::string token = "tok-" + std::to_string(token_requests_);
    valid_tokens_.push_back(token);
    reply(res, {{"access_token", token}, {"token_type", "bearer"}, {"expires_in", expires_in_}});
  });
}

}  // namespace dew::testing
