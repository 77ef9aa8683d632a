#include "support/superset_server.h"

#include <httplib.h>

#include <cctype>
#include <nlohmann/json.hpp>

namespace dew::testing {

namespace {

using json = nlohmann::json;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A Rison (https://github.com/Nanonid/rison) reader, enough for Superset's `q` parameter:
// objects (a:1,b:x), arrays !(…), strings bare or '…' with ! escapes, numbers, !t !f !n.
class RisonReader {
 public:
  explicit RisonReader(const std::string& text) : s_(text) {}

  // Reads the whole text into `out`; false when it is not (entirely) Rison.
  bool Read(json* out) {
    if (!Value(out)) return false;
    return i_ == s_.size();
  }

 private:
  static bool IdChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == '/' || c == '~';
  }
  bool Value(json* out) {
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '(') return Object(out);
    if (c == '\'') return Quoted(out);
    if (c == '!') {
      if (i_ + 1 >= s_.size()) return false;
      const char k = s_[i_ + 1];
      i_ += 2;
      if (k == 't') *out = true;
      if (k == 'f') *out = false;
      if (k == 'n') *out = nullptr;
      if (k == '(') return ArrayRest(out);
      return k == 't' || k == 'f' || k == 'n';
    }
    const size_t start = i_;
    while (i_ < s_.size() && IdChar(s_[i_])) ++i_;
    if (i_ == start) return false;
    const std::string token = s_.substr(start, i_ - start);
    if (std::isdigit(static_cast<unsigned char>(token[0])) || token[0] == '-') {
      try {
        size_t used = 0;
        const double d = std::stod(token, &used);
        if (used == token.size()) {
          *out = d;
          return true;
        }
      } catch (const std::exception&) {
      }
      return false;
    }
    *out = token;
    return true;
  }
  bool Quoted(json* out) {
    std::string v;
    for (++i_; i_ < s_.size(); ++i_) {
      if (s_[i_] == '\'') {
        ++i_;
        *out = v;
        return true;
      }
      if (s_[i_] == '!') {
        if (++i_ >= s_.size() || (s_[i_] != '!' && s_[i_] != '\'')) return false;
      }
      v.push_back(s_[i_]);
    }
    return false;
  }
  bool Object(json* out) {
    *out = json::object();
    ++i_;
    if (i_ < s_.size() && s_[i_] == ')') return ++i_, true;
    while (true) {
      json key;
      if (!Value(&key) || !key.is_string() || i_ >= s_.size() || s_[i_] != ':') return false;
      ++i_;
      json value;
      if (!Value(&value)) return false;
      (*out)[key.get<std::string>()] = value;
      if (i_ >= s_.size()) return false;
      if (s_[i_++] == ')') return true;
      if (s_[i_ - 1] != ',') return false;
    }
  }
  bool ArrayRest(json* out) {
    *out = json::array();
    if (i_ < s_.size() && s_[i_] == ')') return ++i_, true;
    while (true) {
      json value;
      if (!Value(&value)) return false;
      out->push_back(value);
      if (i_ >= s_.size()) return false;
      if (s_[i_++] == ')') return true;
      if (s_[i_ - 1] != ',') return false;
    }
  }

  const std::string& s_;
  size_t i_ = 0;
};

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

}  // namespace

SupersetServer::SupersetServer(std::string username, std::string password)
    : server_(std::make_unique<httplib::Server>()),
      username_(std::move(username)),
      password_(std::move(password)) {
  Install();
  port_ = server_->bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // cpp-httplib 0.11 has no wait_until_ready; stop() before listening starts would be lost.
  while (!server_->is_running()) std::this_thread::yield();
}

SupersetServer::~SupersetServer() {
  server_->stop();
  thread_.join();
}

std::string SupersetServer::BaseUrl() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void SupersetServer::AddDataset(int id, const std::string& table_name, const std::string& schema) {
  std::lock_guard<std::mutex> lock(mu_);
  datasets_.push_back({id, table_name, schema});
}

void SupersetServer::RevokeTokens() {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_.clear();
}

std::vector<SupersetServer::Call> SupersetServer::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

std::vector<int> SupersetServer::refreshed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return refreshed_;
}

void SupersetServer::Record(const httplib::Request& req, const httplib::Response& res) {
  Call call;
  call.method = req.method;
  call.path = req.path;
  call.query = req.has_param("q") ? req.get_param_value("q") : "";
  for (const auto& [name, value] : req.headers) call.headers[Lower(name)] = value;
  call.status = res.status;
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back(std::move(call));
}

bool SupersetServer::Authorized(const httplib::Request& req, httplib::Response& res) {
  const std::string authorization = req.get_header_value("Authorization");
  if (authorization.rfind("Bearer ", 0) != 0) {
    Reply(res, 401, {{"msg", "Missing Authorization Header"}});
    return false;
  }
  const std::string token = authorization.substr(7);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& t : tokens_) {
    if (t == token) return true;
  }
  Reply(res, 401, {{"msg", "Token has been revoked"}});
  return false;
}

void SupersetServer::Install() {
  httplib::Server& s = *server_;
  // Recorded before the answer is sent, so a test sees every call its client got an answer to.
  s.set_post_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { Record(req, res); });

  s.Post("/api/v1/security/login", [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("username") || !body.contains("password") ||
        !body["username"].is_string() || !body["password"].is_string()) {
      Reply(res, 400, {{"message", {{"username", {"Missing data for required field."}}}}});
      return;
    }
    if (body.value("provider", "") != "db" && body.value("provider", "") != "ldap") {
      Reply(res, 400, {{"message", {{"provider", {"Must be one of: db, ldap."}}}}});
      return;
    }
    if (body["username"] != username_ || body["password"] != password_) {
      Reply(res, 401, {{"message", "Not authorized"}});
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    const std::string token = "access-" + std::to_string(++issued_) + "-" + username_;
    tokens_.push_back(token);
    json answer = {{"access_token", token}};
    if (body.value("refresh", false)) answer["refresh_token"] = "refresh-" + token;
    Reply(res, 200, answer);
  });

  s.Get("/api/v1/security/csrf_token/",
        [this](const httplib::Request& req, httplib::Response& res) {
          if (!Authorized(req, res)) return;
          std::lock_guard<std::mutex> lock(mu_);
          const std::string session = "session-" + std::to_string(++issued_);
          const std::string csrf = "csrf-" + std::to_string(issued_);
          csrf_by_session_[session] = csrf;
          res.set_header("Set-Cookie", "session=" + session + "; HttpOnly; Path=/; SameSite=Lax");
          Reply(res, 200, {{"result", csrf}});
        });

  s.Get("/api/v1/dataset/", [this](const httplib::Request& req, httplib::Response& res) {
    if (!Authorized(req, res)) return;
    json q = json::object();
    if (req.has_param("q") && !RisonReader(req.get_param_value("q")).Read(&q)) {
      Reply(res, 400, {{"message", "Not a valid rison argument"}});
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    json ids = json::array(), result = json::array();
    for (const auto& d : datasets_) {
      bool keep = true;
      for (const auto& f : q.value("filters", json::array())) {
        if (!f.is_object() || f.value("opr", "") != "eq") {
          keep = false;  // only the equality filter is served
          continue;
        }
        const std::string col = f.value("col", "");
        const json value = f.value("value", json());
        if ((col == "table_name" && value != d.table_name) ||
            (col == "schema" && value != d.schema) || (col == "id" && value != d.id)) {
          keep = false;
        }
      }
      if (!keep) continue;
      ids.push_back(d.id);
      result.push_back({{"id", d.id}, {"table_name", d.table_name}, {"schema", d.schema}});
    }
    Reply(res, 200, {{"count", ids.size()}, {"ids", ids}, {"result", result}});
  });

  s.Put(R"(/api/v1/dataset/(\d+)/refresh)",
        [this](const httplib::Request& req, httplib::Response& res) {
          if (!Authorized(req, res)) return;
          const int pk = std::stoi(req.matches[1].str());
          std::lock_guard<std::mutex> lock(mu_);
          const std::string cookie = req.get_header_value("Cookie");
          const std::string csrf = req.get_header_value("X-CSRFToken");
          bool csrf_ok = false;
          for (const auto& [session, token] : csrf_by_session_) {
            if (cookie.find("session=" + session) != std::string::npos && csrf == token)
              csrf_ok = true;
          }
          if (!csrf_ok) {
            Reply(res, 400, {{"message", "400 Bad Request: The CSRF token is missing."}});
            return;
          }
          for (const auto& d : datasets_) {
            if (d.id == pk) {
              refreshed_.push_back(pk);
              Reply(res, 200, {{"message", "OK"}});
              return;
            }
          }
          Reply(res, 404, {{"message", "Not found"}});
        });
}

}  // namespace dew::testing
