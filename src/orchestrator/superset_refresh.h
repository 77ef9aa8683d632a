// SupersetRefresh: what an http task's `superset:` block asks for — refresh Apache Superset
// datasets after the tables behind them changed — and the client that does it through
// Superset's REST API (/api/v1, JWT auth):
//
//   POST /api/v1/security/login {"username", "password", "provider": "db", "refresh": true}
//   GET  /api/v1/security/csrf_token/                         (a CSRF token and session cookie)
//   GET  /api/v1/dataset/?q=(filters:!((col:table_name,opr:eq,value:NAME)))   for each dataset
//   PUT  /api/v1/dataset/<pk>/refresh                         for each id found
//
// A dataset is named by its table name, so a pipeline does not depend on Superset's ids; every
// dataset with that table name (one per database or schema) is refreshed.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/http_client.h"
#include "core/status.h"

namespace dew::orchestrator {

struct SupersetRefresh {
  std::string url;                    //!< Superset's base URL, e.g. "https://bi.example.com"
  std::string username;               //!< a database-auth (provider db) user
  std::string password;               //!< the resolved secret
  std::vector<std::string> datasets;  //!< table names, refreshed in this order
  int64_t timeout_ms = 60000;         //!< per request

  //! From the JSON the pipeline spec keeps for a `superset:` block ({"url", "username",
  //! "password": "${env:NAME}", "datasets": [...]}), the password resolved from `env`.
  //! InvalidArgument naming the key when one is missing or the variable is not set.
  static Result<SupersetRefresh> FromJson(const std::string& text,
                                          const std::map<std::string, std::string>& env);
};

//! Logs in, then looks up and refreshes each dataset, stopping at the first failure:
//! IOError naming the call, the HTTP status and Superset's message (a refused login, a dataset
//! no table name matches, a refresh answered 4xx/5xx), or the transport error; Interrupted when
//! `cancelled` turns true between calls. `log` receives one line per call.
Status RefreshSupersetDatasets(HttpClient& http, const SupersetRefresh& target,
                               const std::function<void(const std::string&)>& log,
                               const std::atomic<bool>& cancelled);

//! `text` as a Rison string: bare when it is a Rison id (letters, digits and -_./~, not starting
//! with a digit or '-'), else quoted with '…' and ! escaping ' and !.
std::string RisonString(const std::string& text);

}  // namespace dew::orchestrator
