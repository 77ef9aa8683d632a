#include "control/open_control_store.h"

#include <cctype>

#include "control/postgres_control_store.h"
#include "control/sqlite_control_store.h"

namespace dew::control {

namespace {

// Percent-encodes what a URL component cannot hold as is (RFC 3986 unreserved kept).
std::string PercentEncode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Replaces each ${env:NAME} in a control URL. A reference that is the whole setting gives the
// variable's value as is (a full URL kept in the environment); one inside the URL (a password)
// is percent-encoded, so characters like '@' or '/' in it cannot change the URL's meaning.
Result<std::string> ResolveEnv(const std::string& setting,
                               const std::map<std::string, std::string>& env) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    const size_t start = setting.find("${env:", pos);
    if (start == std::string::npos) break;
    const size_t end = setting.find('}', start);
    if (end == std::string::npos) {
      return Status::InvalidArgument("dew.yml: control: unterminated ${env:…} reference");
    }
    const std::string name = setting.substr(start + 6, end - start - 6);
    auto it = env.find(name);
    if (name.empty() || it == env.end()) {
      return Status::InvalidArgument("dew.yml: control: environment variable '" + name +
                                     "' is not set (referenced as ${env:" + name + "})");
    }
    const bool whole = start == 0 && end + 1 == setting.size();
    out += setting.substr(pos, start - pos);
    out += whole ? it->second : PercentEncode(it->second);
    pos = end + 1;
  }
  return out + setting.substr(pos);
}

}  // namespace

Result<std::unique_ptr<ControlStore>> OpenControlStore(
    const std::string& setting, const std::string& project_dir, std::shared_ptr<Clock> clock,
    const std::map<std::string, std::string>& env) {
  if (setting.empty() || setting == "sqlite" || setting.rfind("sqlite:", 0) == 0) {
    std::string path = SqliteControlStore::DefaultPath(project_dir);
    if (setting.size() > 7) {
      path = setting.substr(7);
      if (path[0] != '/') path = project_dir + "/" + path;
    }
    DEW_ASSIGN_OR_RETURN(auto store, SqliteControlStore::Open(path, std::move(clock)));
    return std::unique_ptr<ControlStore>(std::move(store));
  }
  if (setting.rfind("${env:", 0) == 0 || setting.rfind("postgres://", 0) == 0 ||
      setting.rfind("postgresql://", 0) == 0) {
    DEW_ASSIGN_OR_RETURN(std::string url, ResolveEnv(setting, env));
    if (url.rfind("postgres://", 0) != 0 && url.rfind("postgresql://", 0) != 0) {
      return Status::InvalidArgument("dew.yml: control: " + setting +
                                     " does not resolve to a postgres:// URL");
    }
    DEW_ASSIGN_OR_RETURN(auto store, PostgresControlStore::Open(url, std::move(clock)));
    return std::unique_ptr<ControlStore>(std::move(store));
  }
  return Status::InvalidArgument("dew.yml: control: '" + setting +
                                 "' is not a control store (use sqlite, sqlite:PATH or a "
                                 "postgres:// URL)");
}

}  // namespace dew::control
