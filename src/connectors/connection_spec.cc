#include "connectors/connection_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "connectors/odoo_source.h"
#include "core/file_system.h"
#include "core/near_match.h"

extern char** environ;

namespace dew::connectors {

namespace {

const std::vector<std::string> kTopKeys = {"name",     "source_type", "auth",   "streams",
                                           "schedule", "tier",        "odoo",   "files",
                                           "rest",     "singer",      "airbyte"};
const std::vector<std::string> kAuthKeys = {"host", "port", "database", "user", "password", "url"};
const std::vector<std::string> kStreamKeys = {
    "name",   "sync_mode",        "cursor_field", "primary_key",   "columns",
    "filter", "on_schema_change", "chunk_rows",   "detect_deletes"};
const std::vector<std::string> kSchemaPolicies = {"evolve", "fail", "quarantine"};
const std::vector<std::string> kSourceTypes = {"postgres", "odoo",   "files",
                                               "rest",     "singer", "airbyte"};
//! Source types whose `auth:` is a database login (AuthSpec); others keep it as a SpecBlock.
bool HasDatabaseAuth(const std::string& source_type) {
  return source_type == "postgres" || source_type == "odoo";
}

//! Key names whose values are secrets: they may only be ${env:NAME} references.
bool IsSecretKey(const std::string& key) {
  for (const char* s : {"password", "token", "secret", "client_secret", "api_key", "private_key",
                        "secret_access_key", "passphrase"}) {
    if (key == s) return true;
  }
  return false;
}
const std::vector<std::string> kSyncModes = {"incremental", "full_refresh"};
const std::vector<std::string> kTiers = {"critical", "standard", "best_effort"};

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

//! " (did you mean 'x'?)" for a close candidate, else " (expected one of: ...)".
std::string Suggest(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string best = ClosestMatch(word, candidates).value_or("");
  if (best.empty()) return " (expected one of: " + Join(candidates) + ")";
  return " (did you mean '" + best + "'?)";
}

//! The NAME of "${env:NAME}", or nullopt when `text` is not exactly such a reference.
std::optional<std::string> EnvReference(const std::string& text) {
  const std::string prefix = "${env:";
  if (text.size() <= prefix.size() + 1 || text.rfind(prefix, 0) != 0 || text.back() != '}')
    return std::nullopt;
  std::string name = text.substr(prefix.size(), text.size() - prefix.size() - 1);
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return std::nullopt;
  }
  if (std::isdigit(static_cast<unsigned char>(name[0]))) return std::nullopt;
  return name;
}

//! A port number 1-65535 from its text, or nullopt.
std::optional<int> PortNumber(const std::string& text) {
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535)
    return std::nullopt;
  return port;
}

//! `text` with every `${env:NAME}` replaced from `env`; on an unset variable, nullopt with its
//! name in `*unset`.
std::optional<std::string> ExpandEnv(const std::string& text,
                                     const std::map<std::string, std::string>& env,
                                     std::string* unset) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t start = text.find("${env:", pos);
    if (start == std::string::npos) break;
    size_t end = text.find('}', start);
    if (end == std::string::npos) break;
    out += text.substr(pos, start - pos);
    std::string name = text.substr(start + 6, end - start - 6);
    auto it = env.find(name);
    if (it == env.end()) {
      *unset = name;
      return std::nullopt;
    }
    out += it->second;
    pos = end + 1;
  }
  return out + text.substr(pos);
}

class Parser {
 public:
  explicit Parser(const std::string& file) { spec_.file = file; }

  Result<ConnectionSpec> Run(const std::string& text);

 private:
  Status Error(const YAML::Mark& mark, const std::string& field, const std::string& problem) {
    return Status::InvalidArgument(spec_.file + ":" + std::to_string(mark.line + 1) + ":" +
                                   std::to_string(mark.column + 1) + ": " + field + ": " + problem);
  }

  static std::string TypeName(const YAML::Node& n) {
    if (n.IsMap()) return "a mapping";
    if (n.IsSequence()) return "a list";
    if (n.IsNull()) return "nothing";
    return "a scalar";
  }

  Status WrongType(const YAML::Node& n, const std::string& field, const std::string& expected) {
    return Error(n.Mark(), field, "wrong type: expected " + expected + ", got " + TypeName(n));
  }

  Status CheckKeys(const YAML::Node& map, const std::string& field,
                   const std::vector<std::string>& allowed) {
    if (!map.IsMap()) return WrongType(map, field, "a mapping");
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      std::string k = key.IsScalar() ? key.Scalar() : "?";
      std::string path = field.empty() ? k : field + "." + k;
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        return Error(key.Mark(), path, "unknown key '" + k + "'" + Suggest(k, allowed));
      }
      if (!seen.insert(k).second) return Error(key.Mark(), path, "duplicate key '" + k + "'");
    }
    return Status::OK();
  }

  //! Where `key` itself is written in `map` (a block's own Mark is its first entry's).
  static YAML::Mark KeyMark(const YAML::Node& map, const std::string& key) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->first.Mark();
    }
    return map.Mark();
  }

  Status Missing(const YAML::Node& parent, const std::string& field) {
    return Error(parent.Mark(), field, "missing required field");
  }

  Result<std::string> Scalar(const YAML::Node& n, const std::string& field) {
    if (!n.IsScalar()) return WrongType(n, field, "a scalar");
    return n.Scalar();
  }

  Result<std::string> Choice(const YAML::Node& n, const std::string& field,
                             const std::vector<std::string>& allowed, const std::string& what) {
    DEW_ASSIGN_OR_RETURN(std::string v, Scalar(n, field));
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
      return Error(n.Mark(), field, "unknown " + what + " '" + v + "'" + Suggest(v, allowed));
    return v;
  }

  //! A list of names; a single scalar is accepted as a one-item list.
  Result<std::vector<std::string>> Names(const YAML::Node& n, const std::string& field) {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    if (!n.IsSequence()) return WrongType(n, field, "a list of names");
    for (size_t i = 0; i < n.size(); ++i) {
      DEW_ASSIGN_OR_RETURN(std::string v, Scalar(n[i], field + "[" + std::to_string(i) + "]"));
      out.push_back(v);
    }
    return out;
  }

  Status ParseAuth(const YAML::Node& n);
  //! Converts a YAML subtree to a SpecBlock, refusing literal secrets.
  Status ToBlock(const YAML::Node& n, const std::string& field, SpecBlock* block);
  Status ToJson(const YAML::Node& n, const std::string& field, const std::string& pointer,
                SpecBlock* block, nlohmann::json* out);
  std::string Position(const YAML::Mark& mark) const {
    return spec_.file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }
  Status ParseStream(const YAML::Node& n, size_t index);

  ConnectionSpec spec_;
};

Status Parser::ParseAuth(const YAML::Node& n) {
  DEW_RETURN_IF_ERROR(CheckKeys(n, "auth", kAuthKeys));
  if (n["host"]) {
    DEW_ASSIGN_OR_RETURN(spec_.auth.host, Scalar(n["host"], "auth.host"));
    spec_.auth.host_position = Position(n["host"].Mark());
  }
  if (n["port"]) {
    DEW_ASSIGN_OR_RETURN(std::string text, Scalar(n["port"], "auth.port"));
    spec_.auth.port_position = Position(n["port"].Mark());
    if (EnvReference(text)) {
      spec_.auth.port_ref = text;
      spec_.auth.port = 0;
    } else if (std::optional<int> port = PortNumber(text)) {
      spec_.auth.port = *port;
    } else {
      return Error(n["port"].Mark(), "auth.port",
                   "wrong type: expected a port number 1-65535 or ${env:NAME}, got '" + text + "'");
    }
  }
  if (n["url"]) {
    DEW_ASSIGN_OR_RETURN(spec_.auth.url, Scalar(n["url"], "auth.url"));
  }
  for (const char* key : {"database", "user"}) {
    if (!n[key]) return Missing(n, std::string("auth.") + key);
  }
  DEW_ASSIGN_OR_RETURN(spec_.auth.database, Scalar(n["database"], "auth.database"));
  DEW_ASSIGN_OR_RETURN(spec_.auth.user, Scalar(n["user"], "auth.user"));
  if (n["password"]) {
    DEW_ASSIGN_OR_RETURN(std::string password, Scalar(n["password"], "auth.password"));
    if (!EnvReference(password))
      return Error(n["password"].Mark(), "auth.password",
                   "a literal password is not allowed in a connection file; write "
                   "${env:NAME} and set the variable NAME where dew runs");
    spec_.auth.password_ref = password;
  }
  return Status::OK();
}

Status Parser::ToJson(const YAML::Node& n, const std::string& field, const std::string& pointer,
                      SpecBlock* block, nlohmann::json* out) {
  block->positions[pointer] = Position(n.Mark());
  if (n.IsMap()) {
    *out = nlohmann::json::object();
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar()) return Error(it->first.Mark(), field, "keys must be scalars");
      const std::string key = it->first.Scalar();
      if (out->contains(key)) return Error(it->first.Mark(), field + "." + key, "duplicate key");
      if (IsSecretKey(key) && (!it->second.IsScalar() || !EnvReference(it->second.Scalar())))
        return Error(it->second.Mark(), field + "." + key,
                     "a literal secret is not allowed in a connection file; write ${env:NAME} "
                     "and set the variable NAME where dew runs");
      std::string escaped;
      for (char c : key) escaped += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
      DEW_RETURN_IF_ERROR(
          ToJson(it->second, field + "." + key, pointer + "/" + escaped, block, &(*out)[key]));
    }
    return Status::OK();
  }
  if (n.IsSequence()) {
    *out = nlohmann::json::array();
    for (size_t i = 0; i < n.size(); ++i) {
      nlohmann::json item;
      DEW_RETURN_IF_ERROR(ToJson(n[i], field + "[" + std::to_string(i) + "]",
                                 pointer + "/" + std::to_string(i), block, &item));
      out->push_back(std::move(item));
    }
    return Status::OK();
  }
  if (n.IsNull()) {
    *out = nullptr;
    return Status::OK();
  }
  const std::string text = n.Scalar();
  // A quoted scalar stays a string; a plain one is typed the way YAML 1.2's core schema does.
  if (n.Tag() == "?") {
    if (text == "true" || text == "false") {
      *out = text == "true";
      return Status::OK();
    }
    int64_t i = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
    if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) {
      *out = i;
      return Status::OK();
    }
    char* dend = nullptr;
    double d = std::strtod(text.c_str(), &dend);
    if (!text.empty() && dend == text.c_str() + text.size() &&
        text.find_first_of("0123456789") != std::string::npos &&
        text.find_first_not_of("0123456789.eE+-") == std::string::npos) {
      *out = d;
      return Status::OK();
    }
  }
  *out = text;
  return Status::OK();
}

Status Parser::ToBlock(const YAML::Node& n, const std::string& field, SpecBlock* block) {
  block->field = field;
  block->positions.clear();
  return ToJson(n, field, "", block, &block->value);
}

Status Parser::ParseStream(const YAML::Node& n, size_t index) {
  const std::string field = "streams[" + std::to_string(index) + "]";
  StreamSpec s;
  if (HasDatabaseAuth(spec_.source_type)) {
    DEW_RETURN_IF_ERROR(CheckKeys(n, field, kStreamKeys));
  } else {
    // Other sources take their own stream keys (a REST path, a file glob); the common ones are
    // still checked here, the rest by the source.
    if (!n.IsMap()) return WrongType(n, field, "a mapping");
    YAML::Node extra(YAML::NodeType::Map);
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string k = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (std::find(kStreamKeys.begin(), kStreamKeys.end(), k) == kStreamKeys.end())
        extra[it->first] = it->second;
    }
    DEW_RETURN_IF_ERROR(ToBlock(extra, field, &s.options));
    s.options.positions[""] = Position(n.Mark());
  }
  if (!n["name"]) return Missing(n, field + ".name");
  DEW_ASSIGN_OR_RETURN(s.name, Scalar(n["name"], field + ".name"));
  for (const StreamSpec& other : spec_.streams) {
    if (other.name == s.name)
      return Error(n["name"].Mark(), field + ".name", "stream '" + s.name + "' is listed twice");
  }
  if (n["sync_mode"]) {
    DEW_ASSIGN_OR_RETURN(s.sync_mode,
                         Choice(n["sync_mode"], field + ".sync_mode", kSyncModes, "sync_mode"));
  }
  if (n["cursor_field"]) {
    DEW_ASSIGN_OR_RETURN(s.cursor_field, Scalar(n["cursor_field"], field + ".cursor_field"));
  }
  // An odoo stream takes the preset's defaults (odoo_source.h) for what it leaves unsaid; its
  // own keys parsed below still override them.
  if (spec_.source_type == "odoo")
    ApplyOdooPreset(&s, static_cast<bool>(n["sync_mode"]), static_cast<bool>(n["filter"]));
  if (s.sync_mode == "incremental" && s.cursor_field.empty())
    return Error(n.Mark(), field + ".cursor_field",
                 "missing required field (incremental sync needs a cursor_field)");
  if (n["primary_key"]) {
    DEW_ASSIGN_OR_RETURN(s.primary_key, Names(n["primary_key"], field + ".primary_key"));
  }
  if (n["columns"]) {
    DEW_ASSIGN_OR_RETURN(s.columns, Names(n["columns"], field + ".columns"));
  }
  if (n["filter"]) {
    DEW_ASSIGN_OR_RETURN(s.filter, Scalar(n["filter"], field + ".filter"));
  }
  if (n["on_schema_change"]) {
    DEW_ASSIGN_OR_RETURN(s.on_schema_change,
                         Choice(n["on_schema_change"], field + ".on_schema_change", kSchemaPolicies,
                                "on_schema_change policy"));
  }
  if (n["chunk_rows"]) {
    DEW_ASSIGN_OR_RETURN(std::string text, Scalar(n["chunk_rows"], field + ".chunk_rows"));
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v <= 0)
      return Error(n["chunk_rows"].Mark(), field + ".chunk_rows",
                   "expected a positive number of rows, got '" + text + "'");
    s.chunk_rows = v;
  }
  if (n["detect_deletes"]) {
    // true | false | digest | replication | "every N syncs"
    DEW_ASSIGN_OR_RETURN(std::string v, Scalar(n["detect_deletes"], field + ".detect_deletes"));
    long long every = 0;
    int used = 0;
    if (std::sscanf(v.c_str(), "every %lld syncs%n", &every, &used) == 1 &&
        used == static_cast<int>(v.size()) && every >= 1) {
      s.detect_deletes_every = every;
    } else if (v == "true" || v == "false") {
      s.detect_deletes = v == "true";
    } else if (v == "replication") {
      s.detect_deletes_by_replication = true;
    } else if (v == "digest") {
      s.detect_deletes_always_compared = true;
    } else {
      return Error(
          n["detect_deletes"].Mark(), field + ".detect_deletes",
          "expected true, false, digest, replication or 'every N syncs' (N >= 1), got '" + v + "'");
    }
  }
  if (s.detect_deletes_by_replication) {
    if (!HasDatabaseAuth(spec_.source_type))
      return Error(n["detect_deletes"].Mark(), field + ".detect_deletes",
                   "replication needs source_type postgres or odoo (PostgreSQL's logical "
                   "replication), not " +
                       spec_.source_type);
    if (s.sync_mode != "incremental")
      return Error(n["detect_deletes"].Mark(), field + ".detect_deletes",
                   "replication is for incremental streams (a full refresh finds deletions by "
                   "reading every row)");
  }
  spec_.streams.push_back(std::move(s));
  return Status::OK();
}

Result<ConnectionSpec> Parser::Run(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Error(e.mark, "yaml", "syntax error: " + e.msg);
  }
  try {
    if (!root.IsMap())
      return Error(root.Mark(), "connection",
                   "wrong type: expected a mapping (name:, source_type:, auth:, streams:), got " +
                       TypeName(root));
    DEW_RETURN_IF_ERROR(CheckKeys(root, "", kTopKeys));
    for (const char* key : {"name", "source_type", "streams"}) {
      // An odoo connection without streams syncs the finance preset (odoo_source.h).
      const bool preset = std::string(key) == "streams" && root["source_type"] &&
                          root["source_type"].IsScalar() && root["source_type"].Scalar() == "odoo";
      if (!root[key] && !preset) return Missing(root, key);
    }
    DEW_ASSIGN_OR_RETURN(spec_.name, Scalar(root["name"], "name"));
    for (char c : spec_.name) {
      if (!(std::islower(static_cast<unsigned char>(c)) ||
            std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
        return Error(root["name"].Mark(), "name",
                     "'" + spec_.name + "' is not a valid name (use a-z, 0-9 and _)");
    }
    if (spec_.name.empty()) return Error(root["name"].Mark(), "name", "must not be empty");
    DEW_ASSIGN_OR_RETURN(spec_.source_type,
                         Choice(root["source_type"], "source_type", kSourceTypes, "source_type"));
    if (HasDatabaseAuth(spec_.source_type)) {
      if (!root["auth"]) return Missing(root, "auth");
      DEW_RETURN_IF_ERROR(ParseAuth(root["auth"]));
    } else if (root["auth"]) {
      DEW_RETURN_IF_ERROR(ToBlock(root["auth"], "auth", &spec_.auth_options));
    }
    for (const char* block : {"odoo", "files", "rest", "singer", "airbyte"}) {
      if (!root[block]) continue;
      if (spec_.source_type != block)
        return Error(KeyMark(root, block), block,
                     "a '" + std::string(block) + ":' block belongs to source_type " + block +
                         ", not " + spec_.source_type);
      DEW_RETURN_IF_ERROR(ToBlock(root[block], block, &spec_.options));
    }
    const YAML::Node streams = root["streams"];
    if (!streams) spec_.streams = OdooPresetStreams();  // odoo only, checked above
    if (streams && !streams.IsSequence()) return WrongType(streams, "streams", "a list of streams");
    if (streams && streams.size() == 0)
      return Error(streams.Mark(), "streams", "needs at least one stream");
    for (size_t i = 0; streams && i < streams.size(); ++i)
      DEW_RETURN_IF_ERROR(ParseStream(streams[i], i));
    if (root["schedule"]) {
      DEW_ASSIGN_OR_RETURN(spec_.schedule_text, Scalar(root["schedule"], "schedule"));
      auto cron = CronSchedule::Parse(spec_.schedule_text);
      if (!cron.ok()) return Error(root["schedule"].Mark(), "schedule", cron.status().message());
      spec_.schedule = std::move(*cron);
    }
    if (root["tier"]) {
      DEW_ASSIGN_OR_RETURN(std::string tier, Choice(root["tier"], "tier", kTiers, "tier"));
      spec_.tier = tier == "critical"   ? Tier::kCritical
                   : tier == "standard" ? Tier::kStandard
                                        : Tier::kBestEffort;
    }
  } catch (const YAML::Exception& e) {
    return Error(e.mark, "yaml", e.msg);
  }
  return std::move(spec_);
}

}  // namespace

const char* TierName(Tier tier) {
  switch (tier) {
    case Tier::kCritical:
      return "critical";
    case Tier::kStandard:
      return "standard";
    case Tier::kBestEffort:
      return "best_effort";
  }
  return "standard";
}

int RetryCount(Tier tier) {
  switch (tier) {
    case Tier::kCritical:
      return 5;
    case Tier::kStandard:
      return 3;
    case Tier::kBestEffort:
      return 2;
  }
  return 3;
}

Status SpecBlock::Error(const std::string& pointer, const std::string& problem) const {
  auto it = positions.find(pointer);
  if (it == positions.end()) it = positions.find("");
  std::string where = it == positions.end() ? std::string() : it->second + ": ";
  std::string path = field;
  for (size_t i = 1; i <= pointer.size() && !pointer.empty(); ++i) {
    size_t next = pointer.find('/', i);
    std::string part = pointer.substr(i, next == std::string::npos ? std::string::npos : next - i);
    bool index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    path += index ? "[" + part + "]" : (path.empty() ? "" : ".") + part;
    if (next == std::string::npos) break;
    i = next;
  }
  return Status::InvalidArgument(where + path + ": " + problem);
}

Result<std::string> SpecBlock::ResolvedString(const std::string& pointer,
                                              const std::map<std::string, std::string>& env) const {
  nlohmann::json::json_pointer ptr(pointer);
  if (!value.contains(ptr)) return std::string();
  const nlohmann::json& v = value.at(ptr);
  if (!v.is_string()) return v.is_null() ? std::string() : v.dump();
  std::string unset;
  std::optional<std::string> out = ExpandEnv(v.get<std::string>(), env, &unset);
  if (!out)
    return Error(pointer, "environment variable " + unset +
                              " is not set (referenced as ${env:" + unset + "})");
  return *out;
}

Result<ConnectionSpec> ConnectionSpec::Parse(const std::string& yaml_text,
                                             const std::string& file_name) {
  return Parser(file_name).Run(yaml_text);
}

Result<ConnectionSpec> ConnectionSpec::ParseFile(const std::string& path, FileSystem& fs) {
  DEW_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(path));
  return Parse(text, path);
}

Result<std::string> ConnectionSpec::ResolvePassword(
    const std::map<std::string, std::string>& env) const {
  if (auth.password_ref.empty()) return std::string();
  std::optional<std::string> name = EnvReference(auth.password_ref);
  if (!name) return Status::InvalidArgument(file + ": auth.password: not an ${env:NAME} reference");
  auto it = env.find(*name);
  if (it == env.end())
    return Status::InvalidArgument(file + ": auth.password: environment variable " + *name +
                                   " is not set (the connection '" + this->name +
                                   "' reads its password from ${env:" + *name + "})");
  return it->second;
}

Result<Endpoint> ConnectionSpec::ResolveEndpoint(
    const std::map<std::string, std::string>& env) const {
  auto where = [&](const std::string& position) {
    return (position.empty() ? file : position) + ": ";
  };
  auto unset_error = [&](const std::string& position, const char* field, const std::string& var) {
    return Status::InvalidArgument(where(position) + field + ": environment variable " + var +
                                   " is not set (the connection '" + name +
                                   "' reads it from ${env:" + var + "})");
  };
  Endpoint out;
  std::string unset;
  std::optional<std::string> host = ExpandEnv(auth.host, env, &unset);
  if (!host) return unset_error(auth.host_position, "auth.host", unset);
  out.host = *host;
  out.port = auth.port;
  if (!auth.port_ref.empty()) {
    std::optional<std::string> text = ExpandEnv(auth.port_ref, env, &unset);
    if (!text) return unset_error(auth.port_position, "auth.port", unset);
    std::optional<int> port = PortNumber(*text);
    if (!port)
      return Status::InvalidArgument(where(auth.port_position) + "auth.port: " + auth.port_ref +
                                     " is '" + *text + "', not a port number 1-65535");
    out.port = *port;
  }
  return out;
}

const StreamSpec* ConnectionSpec::FindStream(const std::string& stream) const {
  for (const StreamSpec& s : streams) {
    if (s.name == stream) return &s;
  }
  return nullptr;
}

std::string ConnectionSpec::JobName(const StreamSpec& stream) const {
  std::string s = stream.name;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return "sync_" + name + "_" + s + "_" + stream.sync_mode;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

}  // namespace dew::connectors
