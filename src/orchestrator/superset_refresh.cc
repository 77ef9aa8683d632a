#include "orchestrator/superset_refresh.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace dew::orchestrator {

namespace {

using json = nlohmann::json;

// Superset answers errors as {"message": …} (Flask-AppBuilder) or {"msg": …} (JWT); the text
// of either, else the start of the body.
std::string ErrorText(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    for (const char* key : {"message", "msg", "errors"}) {
      if (!j.contains(key)) continue;
      return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
    }
  }
  return body.substr(0, 200);
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The value of cookie `name` in the response's Set-Cookie headers, as "name=value", or empty.
std::string CookieFrom(const HttpResponse& resp, const std::string& name) {
  for (const auto& [header, value] : resp.headers) {
    if (header.size() != 10) continue;
    std::string lower = header;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower != "set-cookie" || value.rfind(name + "=", 0) != 0) continue;
    return value.substr(0, value.find(';'));
  }
  return "";
}

}  // namespace

std::string RisonString(const std::string& text) {
  bool bare = !text.empty() && !std::isdigit(static_cast<unsigned char>(text[0])) && text[0] != '-';
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != '/' && c != '~') {
      bare = false;
    }
  }
  if (bare) return text;
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '!') out.push_back('!');
    out.push_back(c);
  }
  return out + "'";
}

Result<SupersetRefresh> SupersetRefresh::FromJson(const std::string& text,
                                                  const std::map<std::string, std::string>& env) {
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return Status::InvalidArgument("superset: not a mapping: " + text);
  SupersetRefresh out;
  const std::pair<const char*, std::string*> fields[] = {
      {"url", &out.url}, {"username", &out.username}, {"password", &out.password}};
  for (const auto& [key, target] : fields) {
    if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty()) {
      return Status::InvalidArgument(std::string("superset.") + key + ": missing");
    }
    *target = j[key].get<std::string>();
  }
  out.url = TrimSlash(out.url);
  const std::string& ref = out.password;
  if (ref.size() <= 7 || ref.rfind("${env:", 0) != 0 || ref.back() != '}') {
    return Status::InvalidArgument(
        "superset.password: write it as ${env:NAME} (a literal secret in a file is refused)");
  }
  const std::string var = ref.substr(6, ref.size() - 7);
  auto it = env.find(var);
  if (it == env.end()) {
    return Status::InvalidArgument("superset.password refers to ${env:" + var +
                                   "}, which is not set in the worker's environment");
  }
  out.password = it->second;
  if (!j.contains("datasets") || !j["datasets"].is_array() || j["datasets"].empty()) {
    return Status::InvalidArgument("superset.datasets: a non-empty list of table names");
  }
  for (const json& d : j["datasets"]) {
    if (!d.is_string() || d.get<std::string>().empty()) {
      return Status::InvalidArgument("superset.datasets: " + d.dump() + " is not a table name");
    }
    out.datasets.push_back(d.get<std::string>());
  }
  return out;
}

Status RefreshSupersetDatasets(HttpClient& http, const SupersetRefresh& target,
                               const std::function<void(const std::string&)>& log,
                               const std::atomic<bool>& cancelled) {
  const std::string api = target.url + "/api/v1";
  auto send = [&](HttpRequest req, const std::string& what) -> Result<HttpResponse> {
    if (cancelled.load()) return Status::Interrupted("superset: cancelled before " + what);
    req.timeout_ms = target.timeout_ms;
    req.headers.push_back({"Accept", "application/json"});
    auto resp = http.Send(req);
    if (!resp.ok()) return resp.status().WithContext("superset: " + what);
    if (log) log(what + ": HTTP " + std::to_string(resp->status));
    if (resp->status < 200 || resp->status > 299) {
      return Status::IOError("superset: " + what + " answered HTTP " +
                             std::to_string(resp->status) + ": " + ErrorText(resp->body));
    }
    return resp;
  };

  HttpRequest login;
  login.method = "POST";
  login.url = api + "/security/login";
  login.headers.push_back({"Content-Type", "application/json"});
  login.body = json{
      {"username", target.username},
      {"password", target.password},
      {"provider", "db"},
      {"refresh",
       true}}.dump();
  DEW_ASSIGN_OR_RETURN(HttpResponse logged_in,
                       send(login, "login at " + target.url + " as " + target.username));
  const json tokens = json::parse(logged_in.body, nullptr, false);
  if (!tokens.is_object() || !tokens.contains("access_token") ||
      !tokens["access_token"].is_string()) {
    return Status::IOError("superset: login at " + target.url +
                           " answered without an access_token: " + logged_in.body.substr(0, 200));
  }
  const std::string bearer = "Bearer " + tokens["access_token"].get<std::string>();

  // Superset checks CSRF on writes (PUT) unless the API is exempted: send the token and the
  // session cookie it belongs to.
  HttpRequest csrf;
  csrf.url = api + "/security/csrf_token/";
  csrf.headers.push_back({"Authorization", bearer});
  DEW_ASSIGN_OR_RETURN(HttpResponse csrf_resp, send(csrf, "csrf token"));
  const json csrf_json = json::parse(csrf_resp.body, nullptr, false);
  const std::string csrf_token =
      csrf_json.is_object() && csrf_json.contains("result") && csrf_json["result"].is_string()
          ? csrf_json["result"].get<std::string>()
          : "";
  const std::string session = CookieFrom(csrf_resp, "session");

  for (const std::string& table : target.datasets) {
    HttpRequest find;
    find.url = api + "/dataset/?q=" +
               UrlEncode("(filters:!((col:table_name,opr:eq,value:" + RisonString(table) + ")))");
    find.headers.push_back({"Authorization", bearer});
    DEW_ASSIGN_OR_RETURN(HttpResponse found, send(find, "dataset lookup of " + table));
    const json list = json::parse(found.body, nullptr, false);
    std::vector<int64_t> ids;
    if (list.is_object() && list.contains("result") && list["result"].is_array()) {
      for (const json& d : list["result"]) {
        // The filter is an exact match, but an older server may ignore it: check the name.
        if (d.is_object() && d.value("table_name", "") == table && d.contains("id") &&
            d["id"].is_number_integer()) {
          ids.push_back(d["id"].get<int64_t>());
        }
      }
    }
    if (ids.empty()) {
      return Status::NotFound("superset: no dataset with table name '" + table + "' at " +
                              target.url + " (create it in Superset, or remove it from datasets)");
    }
    for (int64_t id : ids) {
      HttpRequest refresh;
      refresh.method = "PUT";
      refresh.url = api + "/dataset/" + std::to_string(id) + "/refresh";
      refresh.headers.push_back({"Authorization", bearer});
      if (!csrf_token.empty()) refresh.headers.push_back({"X-CSRFToken", csrf_token});
      if (!session.empty()) refresh.headers.push_back({"Cookie", session});
      refresh.headers.push_back({"Referer", target.url});
      DEW_ASSIGN_OR_RETURN(
          HttpResponse done,
          send(refresh, "refresh of dataset " + std::to_string(id) + " (" + table + ")"));
      (void)done;
    }
  }
  return Status::OK();
}

}  // namespace dew::orchestrator
