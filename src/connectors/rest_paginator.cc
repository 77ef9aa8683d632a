#include "connectors/rest_paginator.h"

#include <cctype>

namespace dew::connectors {

namespace {

using json = nlohmann::json;

std::optional<int64_t> ParamInt(const PagePosition& p, const std::string& name) {
  for (const auto& [k, v] : p.params) {
    if (k == name) {
      try {
        return std::stoll(v);
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '.' || c == '[' || c == ']') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

bool IsIndex(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

json Step(const json& node, const std::string& part) {
  if (node.is_array()) {
    if (IsIndex(part)) {
      const size_t i = std::stoul(part);
      return i < node.size() ? node[i] : json();
    }
    json out = json::array();
    for (const json& item : node) {
      json v = Step(item, part);
      if (v.is_array()) {
        for (json& x : v) out.push_back(std::move(x));
      } else if (!v.is_null()) {
        out.push_back(std::move(v));
      }
    }
    return out;
  }
  if (node.is_object()) {
    auto it = node.find(part);
    return it == node.end() ? json() : *it;
  }
  return json();
}

}  // namespace

json PagePosition::ToJson() const {
  json j = json::object();
  if (!url.empty()) j["url"] = url;
  json p = json::array();
  for (const auto& [k, v] : params) p.push_back(json::array({k, v}));
  j["params"] = std::move(p);
  return j;
}

std::optional<PagePosition> PagePosition::FromJson(const json& j) {
  if (!j.is_object()) return std::nullopt;
  PagePosition p;
  if (j.contains("url")) {
    if (!j["url"].is_string()) return std::nullopt;
    p.url = j["url"].get<std::string>();
  }
  if (j.contains("params")) {
    if (!j["params"].is_array()) return std::nullopt;
    for (const json& kv : j["params"]) {
      if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string())
        return std::nullopt;
      p.params.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
    }
  }
  return p;
}

PagePosition RestPaginator::First() const {
  PagePosition p;
  const PaginationConfig& c = config_;
  const std::string size = std::to_string(c.page_size);
  if (c.type == "page") {
    p.params.emplace_back(c.page_param, std::to_string(c.start_page));
  } else if (c.type == "offset") {
    p.params.emplace_back(c.offset_param, "0");
  }
  if (c.type != "none" && !c.size_param.empty() && c.page_size > 0)
    p.params.emplace_back(c.size_param, size);
  return p;
}

std::optional<PagePosition> RestPaginator::Next(const PagePosition& current,
                                                const HttpResponse& response, const json& body,
                                                size_t records, const std::string& base_url) const {
  const PaginationConfig& c = config_;
  const bool short_page =
      records == 0 || (c.page_size > 0 && static_cast<int64_t>(records) < c.page_size);
  PagePosition next;
  if (c.type == "page" || c.type == "offset") {
    if (short_page) return std::nullopt;
    const std::string& name = c.type == "page" ? c.page_param : c.offset_param;
    const int64_t at = ParamInt(current, name).value_or(c.type == "page" ? c.start_page : 0);
    const int64_t step = c.type == "page" ? 1 : static_cast<int64_t>(records);
    next.params.emplace_back(name, std::to_string(at + step));
  } else if (c.type == "cursor") {
    const json cursor = JsonAtPath(body, c.cursor_path);
    if (records == 0 || cursor.is_null() || cursor.is_array() || cursor.is_object() ||
        (cursor.is_string() && cursor.get<std::string>().empty()) ||
        (cursor.is_boolean() && !cursor.get<bool>()))
      return std::nullopt;
    next.params.emplace_back(c.cursor_param,
                             cursor.is_string() ? cursor.get<std::string>() : cursor.dump());
  } else if (c.type == "link_header") {
    std::string link = NextLink(response.Header("Link"));
    if (link.empty()) return std::nullopt;
    if (link[0] == '/') {
      // Relative to the origin of the base URL (scheme://host:port).
      const size_t scheme = base_url.find("://");
      const size_t path =
          scheme == std::string::npos ? std::string::npos : base_url.find('/', scheme + 3);
      link = base_url.substr(0, path) + link;
    }
    next.url = link;
    return next;
  } else {
    return std::nullopt;
  }
  if (!c.size_param.empty() && c.page_size > 0)
    next.params.emplace_back(c.size_param, std::to_string(c.page_size));
  return next;
}

std::string NextLink(const std::string& link_header) {
  // Entries are `<url>; param=value; …` separated by commas; a URL may itself hold commas, so
  // an entry runs from one '<' to the next.
  size_t pos = 0;
  while ((pos = link_header.find('<', pos)) != std::string::npos) {
    const size_t close = link_header.find('>', pos);
    if (close == std::string::npos) break;
    const std::string url = link_header.substr(pos + 1, close - pos - 1);
    const size_t end = link_header.find('<', close);
    const std::string params = link_header.substr(
        close + 1, end == std::string::npos ? std::string::npos : end - close - 1);
    // rel may list several relation types: rel="prev next".
    std::string token;
    bool in_rel = false;
    for (size_t i = 0; i <= params.size(); ++i) {
      const char ch = i < params.size()
                          ? static_cast<char>(std::tolower(static_cast<unsigned char>(params[i])))
                          : ';';
      if (ch == ' ' || ch == ';' || ch == ',' || ch == '"' || ch == '=') {
        if (ch == '=')
          in_rel = token == "rel";
        else if (in_rel && token == "next")
          return url;
        if (ch == ';' || ch == ',') in_rel = false;
        token.clear();
      } else {
        token += ch;
      }
    }
    pos = close + 1;
  }
  return std::string();
}

json JsonAtPath(const json& root, const std::string& path) {
  json node = root;
  for (const std::string& part : SplitPath(path)) {
    node = Step(node, part);
    if (node.is_null()) break;
  }
  return node;
}

}  // namespace dew::connectors
