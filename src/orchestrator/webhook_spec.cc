#include "orchestrator/webhook_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "core/file_system.h"
#include "core/near_match.h"

namespace dew::orchestrator {

namespace {

const std::vector<std::string> kKeys = {"name",         "url",        "secret",    "events",
                                        "datasets",     "backoff",    "max_delay", "timeout",
                                        "max_attempts", "description"};

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

//! The file name without folder and extension.
std::string Stem(const std::string& path) {
  std::string base = path.substr(path.find_last_of('/') + 1);
  for (const char* ext : {".yml", ".yaml"}) {
    if (EndsWith(base, ext)) return base.substr(0, base.size() - std::string(ext).size());
  }
  return base;
}

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  Result<WebhookSpec> Run(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return Error(e.mark, "yaml", "syntax error: " + e.msg);
    }
    try {
      return Parse(root);
    } catch (const YAML::Exception& e) {
      return Error(e.mark, "yaml", e.msg);
    }
  }

 private:
  Status Error(const YAML::Mark& mark, const std::string& field, const std::string& problem) {
    return Status::InvalidArgument(file_ + ":" + std::to_string(mark.line + 1) + ":" +
                                   std::to_string(mark.column + 1) + ": " + field + ": " + problem);
  }

  Result<std::string> Scalar(const YAML::Node& n, const std::string& field) {
    if (!n.IsScalar()) return Error(n.Mark(), field, "wrong type: expected a scalar");
    return n.Scalar();
  }

  Result<std::vector<std::string>> List(const YAML::Node& n, const std::string& field) {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    if (!n.IsSequence()) return Error(n.Mark(), field, "wrong type: expected a list");
    for (const YAML::Node& item : n) {
      DEW_ASSIGN_OR_RETURN(std::string s, Scalar(item, field));
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<int64_t> Duration(const YAML::Node& n, const std::string& field) {
    DEW_ASSIGN_OR_RETURN(std::string s, Scalar(n, field));
    Status bad =
        Error(n.Mark(), field,
              "bad duration '" + s + "' (expected numbers with units ms, s, m, h, e.g. 2s)");
    int64_t total = 0;
    size_t i = 0;
    if (s.empty()) return bad;
    while (i < s.size()) {
      const size_t start = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i == start || i - start > 9) return bad;
      const int64_t number = std::stoll(s.substr(start, i - start));
      int64_t unit = 0;
      if (s.compare(i, 2, "ms") == 0) {
        unit = 1;
        i += 2;
      } else if (i < s.size() && (s[i] == 's' || s[i] == 'm' || s[i] == 'h')) {
        unit = s[i] == 's' ? 1000 : s[i] == 'm' ? 60000 : 3600000;
        ++i;
      } else {
        return bad;
      }
      total += number * unit;
      if (total > int64_t{24} * 3600000) {
        return Error(n.Mark(), field, "duration '" + s + "' is longer than a day");
      }
    }
    if (total <= 0) return Error(n.Mark(), field, "duration must be positive");
    return total;
  }

  Result<WebhookSpec> Parse(const YAML::Node& root) {
    if (!root.IsMap()) {
      return Error(root.Mark(), "webhook", "wrong type: expected a mapping (name:, url:, ...)");
    }
    WebhookSpec spec;
    spec.file = file_;
    spec.name = Stem(file_);
    std::set<std::string> seen;
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string k = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (std::find(kKeys.begin(), kKeys.end(), k) == kKeys.end()) {
        const std::string best = ClosestMatch(k, kKeys).value_or("");
        return Error(it->first.Mark(), k,
                     "unknown key '" + k + "'" +
                         (best.empty() ? " (expected one of: " + Join(kKeys) + ")"
                                       : " (did you mean '" + best + "'?)"));
      }
      if (!seen.insert(k).second) return Error(it->first.Mark(), k, "duplicate key '" + k + "'");
    }
    if (root["name"]) {
      DEW_ASSIGN_OR_RETURN(spec.name, Scalar(root["name"], "name"));
    }
    if (spec.name.empty()) return Error(root.Mark(), "name", "the name is empty");
    if (!root["url"]) return Error(root.Mark(), "url", "missing required field 'url'");
    DEW_ASSIGN_OR_RETURN(spec.url, Scalar(root["url"], "url"));
    if (spec.url.rfind("http://", 0) != 0 && spec.url.rfind("https://", 0) != 0) {
      return Error(root["url"].Mark(), "url",
                   "'" + spec.url + "' is not an http:// or https:// URL");
    }
    if (root["secret"]) {
      const YAML::Node n = root["secret"];
      DEW_ASSIGN_OR_RETURN(std::string s, Scalar(n, "secret"));
      const bool is_ref = s.size() > 7 && s.rfind("${env:", 0) == 0 && s.back() == '}' &&
                          s.find('}') == s.size() - 1;
      if (!is_ref) {
        return Error(n.Mark(), "secret",
                     "write the secret as ${env:NAME} (a literal secret in a file is refused)");
      }
      spec.secret_ref = s;
      spec.secret_line = n.Mark().line + 1;
      spec.secret_column = n.Mark().column + 1;
    }
    if (root["events"]) {
      DEW_ASSIGN_OR_RETURN(spec.events, List(root["events"], "events"));
      for (const std::string& e : spec.events) {
        const auto& kinds = WebhookEventKinds();
        if (std::find(kinds.begin(), kinds.end(), e) == kinds.end()) {
          return Error(root["events"].Mark(), "events",
                       "unknown event '" + e + "' (valid: " + Join(kinds) + ")");
        }
      }
      if (spec.events.empty()) return Error(root["events"].Mark(), "events", "the list is empty");
    }
    if (root["datasets"]) {
      DEW_ASSIGN_OR_RETURN(spec.datasets, List(root["datasets"], "datasets"));
    }
    if (root["max_attempts"]) {
      DEW_ASSIGN_OR_RETURN(std::string s, Scalar(root["max_attempts"], "max_attempts"));
      int v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || end != s.data() + s.size() || v < 1 || v > 100) {
        return Error(root["max_attempts"].Mark(), "max_attempts",
                     "expected an integer 1-100, got '" + s + "'");
      }
      spec.max_attempts = v;
    }
    if (root["backoff"]) {
      DEW_ASSIGN_OR_RETURN(spec.backoff_ms, Duration(root["backoff"], "backoff"));
      spec.max_delay_ms = std::max(spec.max_delay_ms, spec.backoff_ms);
    }
    if (root["max_delay"]) {
      DEW_ASSIGN_OR_RETURN(spec.max_delay_ms, Duration(root["max_delay"], "max_delay"));
      if (spec.max_delay_ms < spec.backoff_ms) {
        return Error(root["max_delay"].Mark(), "max_delay", "shorter than backoff");
      }
    }
    if (root["timeout"]) {
      DEW_ASSIGN_OR_RETURN(spec.timeout_ms, Duration(root["timeout"], "timeout"));
    }
    return spec;
  }

  std::string file_;
};

}  // namespace

const std::vector<std::string>& WebhookEventKinds() {
  static const std::vector<std::string> kinds = {"data_ready"};
  return kinds;
}

Result<WebhookSpec> WebhookSpec::Parse(const std::string& yaml_text, const std::string& file_name) {
  return Parser(file_name).Run(yaml_text);
}

bool WebhookSpec::Wants(const std::string& kind, const std::string& dataset) const {
  if (std::find(events.begin(), events.end(), kind) == events.end()) return false;
  return datasets.empty() || std::find(datasets.begin(), datasets.end(), dataset) != datasets.end();
}

Result<std::string> WebhookSpec::ResolveSecret(
    const std::map<std::string, std::string>& env) const {
  if (secret_ref.empty()) return std::string();
  const std::string var = secret_ref.substr(6, secret_ref.size() - 7);
  auto it = env.find(var);
  if (it == env.end() || it->second.empty()) {
    return Status::InvalidArgument(file + ":" + std::to_string(secret_line) + ":" +
                                   std::to_string(secret_column) +
                                   ": secret: environment variable " + var + " is not set");
  }
  return it->second;
}

int64_t WebhookSpec::RetryDelayMs(int attempt) const {
  int64_t delay = backoff_ms;
  for (int i = 1; i < attempt && delay < max_delay_ms; i++) delay *= 2;
  return std::min(delay, max_delay_ms);
}

Result<std::vector<WebhookSpec>> LoadWebhooks(const std::string& dir, FileSystem& fs) {
  std::vector<WebhookSpec> out;
  if (!fs.Exists(dir)) return out;
  DEW_ASSIGN_OR_RETURN(std::vector<FileInfo> files, fs.ListDir(dir));
  std::sort(files.begin(), files.end(),
            [](const FileInfo& a, const FileInfo& b) { return a.name < b.name; });
  for (const FileInfo& f : files) {
    if (f.is_dir || !(EndsWith(f.name, ".yml") || EndsWith(f.name, ".yaml"))) continue;
    const std::string path = JoinPath(dir, f.name);
    DEW_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(path));
    DEW_ASSIGN_OR_RETURN(WebhookSpec spec, WebhookSpec::Parse(text, path));
    for (const WebhookSpec& other : out) {
      if (other.name == spec.name) {
        return Status::InvalidArgument(path + ": name: duplicate webhook name '" + spec.name +
                                       "' (also in " + other.file + ")");
      }
    }
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace dew::orchestrator
