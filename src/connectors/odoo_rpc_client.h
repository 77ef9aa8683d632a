// OdooRpcClient: Odoo's external API over XML-RPC (/xmlrpc/2/common and /xmlrpc/2/object), as
// documented at odoo.com/documentation/…/developer/reference/external_api: common.version,
// common.authenticate(db, login, password, {}) → uid, and object.execute_kw(db, uid, password,
// model, method, args, kwargs) for search_read and search_count. Failures say what went wrong
// (wrong login, unknown database, model or field, missing access, HTTP errors) and are
// classified as a CheckProblem.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connectors/source.h"
#include "connectors/xmlrpc.h"
#include "core/status.h"

namespace dew {
class HttpClient;
}

namespace dew::connectors {

struct OdooRpcConfig {
  std::string url;  //!< the server's base URL, e.g. "https://erp.example.com" (no /xmlrpc)
  std::string database;
  std::string user;      //!< the login
  std::string password;  //!< password or API key; never logged or put in a Status
  int64_t timeout_ms = 300000;
};

//! What search_read returns besides the records.
struct OdooSearchRead {
  std::vector<nlohmann::json> records;  //!< one object per record, as Odoo sends it
  int64_t bytes = 0;                    //!< size of the XML response body
};

//! The context a sync passes: {"active_test": False}, so archived records (active = False)
//! are read like the others instead of being silently left out by Odoo's default filter.
XmlRpcValue AllRecordsContext();

//! Not thread-safe (caches the uid); one client per sync.
class OdooRpcClient {
 public:
  //! `http` is shared and must be usable for the client's lifetime.
  OdooRpcClient(std::shared_ptr<HttpClient> http, OdooRpcConfig config);

  //! common.version: {"server_version": "17.0", "server_serie": …, "protocol_version": 1}.
  Result<nlohmann::json> Version();
  //! common.authenticate; the uid is cached for later calls. InvalidArgument naming URL,
  //! database and login when Odoo answers False (wrong login or password).
  Result<int64_t> Authenticate();
  //! object.execute_kw(db, uid, password, model, method, args, kwargs), authenticating first
  //! when needed. A fault becomes a Status naming the model and method and Odoo's message.
  Result<XmlRpcValue> ExecuteKw(const std::string& model, const std::string& method,
                                const std::vector<XmlRpcValue>& args, const XmlRpcValue& kwargs);
  //! search_read with a domain in Odoo's JSON form (["|", ["a", "=", 1], …]); `fields` empty:
  //! every field; `limit` 0: no limit; `order` empty: the model's default. Archived records
  //! included (AllRecordsContext), as in search_count.
  Result<OdooSearchRead> SearchRead(const std::string& model, const nlohmann::json& domain,
                                    const std::vector<std::string>& fields, int64_t limit,
                                    int64_t offset, const std::string& order);
  //! search_count over `domain`.
  Result<int64_t> SearchCount(const std::string& model, const nlohmann::json& domain);

  //! The kind of the last failure (kNone after a success).
  CheckProblem last_problem() const { return last_problem_; }
  //! "url, database db as login", for messages.
  std::string Describe() const;

 private:
  //! POSTs a methodCall to /xmlrpc/2/<service> and decodes the reply; a fault is returned as
  //! a failed Status built by FaultStatus.
  Result<XmlRpcValue> Call(const std::string& service, const std::string& method,
                           const std::vector<XmlRpcValue>& params, const std::string& what,
                           int64_t* bytes);
  Status FaultStatus(int64_t code, const std::string& fault, const std::string& what);

  std::shared_ptr<HttpClient> http_;
  OdooRpcConfig config_;
  int64_t uid_ = 0;
  CheckProblem last_problem_ = CheckProblem::kNone;
};

}  // namespace dew::connectors
