// SupersetServer: a stand-in for Apache Superset (which cannot run in the test environment) on a
// loopback port, speaking the part of Superset's documented REST API (/api/v1, Flask-AppBuilder
// security with JWT) that a dataset refresh uses:
//
//   POST /api/v1/security/login        {"username", "password", "provider": "db", "refresh"}
//                                      → {"access_token", "refresh_token"}; 401 on bad credentials
//   GET  /api/v1/security/csrf_token/  → {"result": "<csrf token>"} and a `session` cookie
//   GET  /api/v1/dataset/?q=(filters:!((col:table_name,opr:eq,value:NAME)))    (Rison)
//                                      → {"count", "ids": [...], "result": [{"id", "table_name",
//                                        "schema"}]}; 400 when q is not Rison it understands
//   PUT  /api/v1/dataset/<pk>/refresh  → {"message": "OK"}; 404 for an unknown pk; 400 without
//                                        the X-CSRFToken header and the session cookie
//
// Every /api/v1 call but login needs `Authorization: Bearer <access token>` (401 otherwise, or
// once the tokens are revoked). Every call is recorded, so tests can check what the client sent.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace dew::testing {

class SupersetServer {
 public:
  //! One request the server received.
  struct Call {
    std::string method;
    std::string path;
    std::string query;                           //!< the `q` parameter, decoded
    std::map<std::string, std::string> headers;  //!< names lower-cased
    int status = 0;                              //!< what it answered
  };
  struct Dataset {
    int id = 0;
    std::string table_name;
    std::string schema;
  };

  //! Starts listening on 127.0.0.1 at a free port with one user; returns once it is serving.
  SupersetServer(std::string username, std::string password);
  //! Stops the server and joins its thread.
  ~SupersetServer();
  SupersetServer(const SupersetServer&) = delete;
  SupersetServer& operator=(const SupersetServer&) = delete;

  //! "http://127.0.0.1:<port>" (Superset's base URL; the API is under /api/v1).
  std::string BaseUrl() const;

  //! Adds a dataset (a physical table) the API lists and refreshes.
  void AddDataset(int id, const std::string& table_name, const std::string& schema);
  //! Every access token issued so far answers 401 from now on.
  void RevokeTokens();

  std::vector<Call> calls() const;
  //! The ids of the datasets refreshed, in order.
  std::vector<int> refreshed() const;

 private:
  void Install();
  //! Checks the bearer token; answers 401 and returns false when it is missing or not valid.
  bool Authorized(const httplib::Request& req, httplib::Response& res);
  void Record(const httplib::Request& req, const httplib::Response& res);

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  const std::string username_;
  const std::string password_;

  mutable std::mutex mu_;
  std::vector<Dataset> datasets_;
  std::vector<std::string> tokens_;  // valid access tokens
  std::map<std::string, std::string> csrf_by_session_;
  int issued_ = 0;
  std::vector<Call> calls_;
  std::vector<int> refreshed_;
};

}  // namespace dew::testing
