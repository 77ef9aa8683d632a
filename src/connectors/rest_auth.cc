#include "connectors/rest_auth.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/clock.h"
#include "core/near_match.h"

namespace dew::connectors {

namespace {

using json = nlohmann::json;

std::string JoinNames(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

std::string Suggest(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string best = ClosestMatch(word, candidates).value_or("");
  if (best.empty()) return " (expected one of: " + JoinNames(candidates) + ")";
  return " (did you mean '" + best + "'?)";
}

const json* At(const SpecBlock& block, const std::string& pointer) {
  try {
    json::json_pointer ptr(pointer);
    if (!block.value.contains(ptr)) return nullptr;
    return &block.value.at(ptr);
  } catch (const json::exception&) {
    return nullptr;
  }
}

const std::vector<std::string> kAuthTypes = {"none", "bearer", "basic", "api_key",
                                             "oauth2_client_credentials"};

//! Refresh this long before expires_in runs out (capped at half the token's lifetime), so a
//! token never expires between Apply and the server reading it.
constexpr int64_t kRefreshMarginMillis = 60 * 1000;

}  // namespace

bool RestSpecReader::Has(const std::string& pointer) const {
  const json* v = At(block_, pointer);
  return v != nullptr && !v->is_null();
}

Status RestSpecReader::CheckKeys(const std::string& pointer,
                                 const std::vector<std::string>& allowed) const {
  const json* v = At(block_, pointer);
  if (v == nullptr) return Status::OK();
  if (!v->is_object()) return Error(pointer, "wrong type: expected a mapping");
  for (const auto& [key, value] : v->items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return Error(pointer + "/" + key, "unknown key '" + key + "'" + Suggest(key, allowed));
  }
  return Status::OK();
}

Result<std::string> RestSpecReader::String(const std::string& pointer, bool required) const {
  const json* v = At(block_, pointer);
  if (v == nullptr || v->is_null()) {
    if (required) return Error(pointer, "missing required field");
    return std::string();
  }
  if (v->is_object() || v->is_array()) return Error(pointer, "wrong type: expected a scalar");
  return block_.ResolvedString(pointer, env_);
}

Result<int64_t> RestSpecReader::Int(const std::string& pointer, int64_t fallback,
                                    int64_t min) const {
  const json* v = At(block_, pointer);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_number_integer())
    return Error(pointer, "wrong type: expected an integer, got " + v->dump());
  const int64_t i = v->get<int64_t>();
  if (i < min) return Error(pointer, "must be at least " + std::to_string(min));
  return i;
}

Result<int64_t> RestSpecReader::DurationMillis(const std::string& pointer, int64_t fallback) const {
  const json* v = At(block_, pointer);
  if (v == nullptr || v->is_null()) return fallback;
  if (v->is_number()) {
    if (v->get<double>() < 0) return Error(pointer, "must not be negative");
    return static_cast<int64_t>(v->get<double>() * 1000);
  }
  const std::string problem = "expected a duration like 500ms, 2s, 5m or 1h";
  if (!v->is_string()) return Error(pointer, problem);
  const std::string text = v->get<std::string>();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n < 0) return Error(pointer, problem + ", got '" + text + "'");
  const std::string unit(end, text.data() + text.size());
  if (unit == "ms") return n;
  if (unit == "s" || unit.empty()) return n * 1000;
  if (unit == "m") return n * 60 * 1000;
  if (unit == "h") return n * 3600 * 1000;
  return Error(pointer, problem + ", got '" + text + "'");
}

Result<std::vector<std::string>> RestSpecReader::Strings(const std::string& pointer) const {
  std::vector<std::string> out;
  const json* v = At(block_, pointer);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) {
    DEW_ASSIGN_OR_RETURN(std::string one, String(pointer));
    out.push_back(one);
    return out;
  }
  for (size_t i = 0; i < v->size(); ++i) {
    DEW_ASSIGN_OR_RETURN(std::string item, String(pointer + "/" + std::to_string(i)));
    out.push_back(item);
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> RestSpecReader::StringMap(
    const std::string& pointer) const {
  std::vector<std::pair<std::string, std::string>> out;
  const json* v = At(block_, pointer);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_object()) return Error(pointer, "wrong type: expected a mapping of names to values");
  for (const auto& [key, value] : v->items()) {
    DEW_ASSIGN_OR_RETURN(std::string text, String(pointer + "/" + key));
    out.emplace_back(key, text);
  }
  return out;
}

Result<std::string> RestSpecReader::Choice(const std::string& pointer,
                                           const std::vector<std::string>& allowed,
                                           const std::string& fallback) const {
  if (!Has(pointer)) return fallback;
  DEW_ASSIGN_OR_RETURN(std::string v, String(pointer));
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
    return Error(pointer, "unknown value '" + v + "'" + Suggest(v, allowed));
  return v;
}

std::string Base64(const std::string& data) {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t n =
        (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += {kChars[n >> 18], kChars[(n >> 12) & 63], kChars[(n >> 6) & 63], kChars[n & 63]};
  }
  if (i + 1 == data.size()) {
    const uint32_t n = uint8_t(data[i]) << 16;
    out += {kChars[n >> 18], kChars[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == data.size()) {
    const uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += {kChars[n >> 18], kChars[(n >> 12) & 63], kChars[(n >> 6) & 63], '='};
  }
  return out;
}

Result<std::unique_ptr<RestAuth>> RestAuth::FromSpec(const SpecBlock& auth,
                                                     const std::map<std::string, std::string>& env,
                                                     HttpClient* http, Clock* clock) {
  RestAuthConfig c;
  RestSpecReader r(auth, env);
  if (!auth.empty()) {
    if (!r.Has("/type")) return r.Error("", "missing required field 'type'");
    DEW_ASSIGN_OR_RETURN(c.type, r.Choice("/type", kAuthTypes, "none"));
  }
  if (c.type == "none") {
    DEW_RETURN_IF_ERROR(r.CheckKeys("", {"type"}));
  } else if (c.type == "bearer") {
    DEW_RETURN_IF_ERROR(r.CheckKeys("", {"type", "token"}));
    DEW_ASSIGN_OR_RETURN(c.token, r.String("/token", true));
  } else if (c.type == "basic") {
    DEW_RETURN_IF_ERROR(r.CheckKeys("", {"type", "username", "password"}));
    DEW_ASSIGN_OR_RETURN(c.username, r.String("/username", true));
    DEW_ASSIGN_OR_RETURN(c.password, r.String("/password"));
  } else if (c.type == "api_key") {
    DEW_RETURN_IF_ERROR(r.CheckKeys("", {"type", "name", "api_key", "in"}));
    DEW_ASSIGN_OR_RETURN(c.api_key, r.String("/api_key", true));
    if (r.Has("/name")) {
      DEW_ASSIGN_OR_RETURN(c.key_name, r.String("/name"));
    }
    DEW_ASSIGN_OR_RETURN(std::string in, r.Choice("/in", {"header", "query"}, "header"));
    c.key_in_query = in == "query";
  } else {
    DEW_RETURN_IF_ERROR(r.CheckKeys("", {"type", "token_url", "client_id", "client_secret",
                                         "scopes", "audience", "credentials_in"}));
    DEW_ASSIGN_OR_RETURN(c.token_url, r.String("/token_url", true));
    if (c.token_url.rfind("http://", 0) != 0 && c.token_url.rfind("https://", 0) != 0)
      return r.Error("/token_url", "expected an http:// or https:// URL");
    DEW_ASSIGN_OR_RETURN(c.client_id, r.String("/client_id", true));
    DEW_ASSIGN_OR_RETURN(c.client_secret, r.String("/client_secret", true));
    DEW_ASSIGN_OR_RETURN(c.scopes, r.Strings("/scopes"));
    DEW_ASSIGN_OR_RETURN(c.audience, r.String("/audience"));
    DEW_ASSIGN_OR_RETURN(std::string in, r.Choice("/credentials_in", {"body", "basic"}, "body"));
    c.credentials_in_basic = in == "basic";
  }
  return std::make_unique<RestAuth>(std::move(c), http, clock);
}

RestAuth::RestAuth(RestAuthConfig config, HttpClient* http, Clock* clock)
    : config_(std::move(config)), http_(http), clock_(clock) {}

Status RestAuth::Apply(HttpRequest* request) {
  refused_ = false;
  const RestAuthConfig& c = config_;
  if (c.type == "bearer") {
    request->headers.emplace_back("Authorization", "Bearer " + c.token);
  } else if (c.type == "basic") {
    request->headers.emplace_back("Authorization",
                                  "Basic " + Base64(c.username + ":" + c.password));
  } else if (c.type == "api_key") {
    if (c.key_in_query) {
      request->url += (request->url.find('?') == std::string::npos ? "?" : "&") +
                      UrlEncode(c.key_name) + "=" + UrlEncode(c.api_key);
    } else {
      request->headers.emplace_back(c.key_name, c.api_key);
    }
  } else if (c.type == "oauth2_client_credentials") {
    if (access_token_.empty() ||
        (refresh_at_millis_ >= 0 && clock_->NowMillis() >= refresh_at_millis_)) {
      DEW_RETURN_IF_ERROR(FetchToken());
    }
    request->headers.emplace_back("Authorization", "Bearer " + access_token_);
  }
  return Status::OK();
}

bool RestAuth::Invalidate() {
  if (config_.type != "oauth2_client_credentials" || access_token_.empty()) return false;
  access_token_.clear();
  return true;
}

Status RestAuth::FetchToken() {
  const RestAuthConfig& c = config_;
  access_token_.clear();
  HttpRequest req;
  req.method = "POST";
  req.url = c.token_url;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  req.body = "grant_type=client_credentials";
  if (c.credentials_in_basic) {
    req.headers.emplace_back("Authorization", "Basic " + Base64(UrlEncode(c.client_id) + ":" +
                                                                UrlEncode(c.client_secret)));
  } else {
    req.body +=
        "&client_id=" + UrlEncode(c.client_id) + "&client_secret=" + UrlEncode(c.client_secret);
  }
  if (!c.scopes.empty()) {
    std::string scope;
    for (const std::string& s : c.scopes) scope += (scope.empty() ? "" : " ") + s;
    req.body += "&scope=" + UrlEncode(scope);
  }
  if (!c.audience.empty()) req.body += "&audience=" + UrlEncode(c.audience);
  const std::string who =
      "OAuth2 token endpoint " + Redact(c.token_url) + " (client_id '" + c.client_id + "')";
  Result<HttpResponse> sent = http_->Send(req);
  if (!sent.ok()) return Status::IOError(who + ": " + Redact(sent.status().message()));
  ++token_fetches_;
  const HttpResponse& res = *sent;
  std::string detail;
  json body;
  try {
    body = json::parse(res.body);
  } catch (const json::exception&) {
    body = nullptr;
  }
  if (body.is_object()) {
    for (const char* key : {"error", "error_description"}) {
      if (body.contains(key) && body[key].is_string())
        detail += (detail.empty() ? "" : ": ") + body[key].get<std::string>();
    }
  }
  if (res.status == 400 || res.status == 401 || res.status == 403) {
    refused_ = true;
    return Status::InvalidArgument(who + " refused the client credentials: HTTP " +
                                   std::to_string(res.status) +
                                   (detail.empty() ? "" : " (" + Redact(detail) + ")"));
  }
  if (res.status < 200 || res.status >= 300)
    return Status::IOError(who + " answered HTTP " + std::to_string(res.status) +
                           (detail.empty() ? "" : " (" + Redact(detail) + ")"));
  if (!body.is_object() || !body.contains("access_token") || !body["access_token"].is_string() ||
      body["access_token"].get<std::string>().empty())
    return Status::IOError(who + " answered without an access_token");
  access_token_ = body["access_token"].get<std::string>();
  refresh_at_millis_ = -1;
  if (body.contains("expires_in") &&
      (body["expires_in"].is_number() || body["expires_in"].is_string())) {
    int64_t seconds = 0;
    if (body["expires_in"].is_number()) {
      seconds = static_cast<int64_t>(body["expires_in"].get<double>());
    } else {
      const std::string s = body["expires_in"].get<std::string>();
      std::from_chars(s.data(), s.data() + s.size(), seconds);
    }
    const int64_t lifetime = std::max<int64_t>(0, seconds) * 1000;
    refresh_at_millis_ =
        clock_->NowMillis() + lifetime - std::min(kRefreshMarginMillis, lifetime / 2);
  }
  return Status::OK();
}

std::string RestAuth::Redact(std::string text) const {
  std::vector<std::string> secrets = {config_.token, config_.password, config_.api_key,
                                      config_.client_secret, access_token_};
  if (config_.key_in_query && !config_.api_key.empty())
    secrets.push_back(UrlEncode(config_.api_key));
  if (!config_.client_secret.empty()) secrets.push_back(UrlEncode(config_.client_secret));
  for (const std::string& s : extra_secrets_) {
    secrets.push_back(s);
    secrets.push_back(UrlEncode(s));
  }
  if (!config_.password.empty() || !config_.username.empty())
    secrets.push_back(Base64(config_.username + ":" + config_.password));
  for (const std::string& s : secrets) {
    if (s.size() < 3) continue;  // too short to tell apart from ordinary text
    for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 3))
      text.replace(pos, s.size(), "***");
  }
  return text;
}

}  // namespace dew::connectors
