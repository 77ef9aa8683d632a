// RestApiServer: a loopback JSON API on cpp-httplib for the rest source's tests. It serves one
// collection of invoice records under four pagination styles, an OAuth2 token endpoint, and
// scripted faults (429 with Retry-After, 5xx bursts, revoked tokens), and logs every request so
// tests can check what the client sent.
//
//   GET  /api/page/invoices    ?page=1&per_page=N      {"data": [...], "meta": {"page": p}}
//   GET  /api/offset/invoices  ?offset=0&limit=N       {"data": [...]}
//   GET  /api/cursor/invoices  ?after=<id>&limit=N     {"data": [...], "meta": {"next_cursor"}}
//   GET  /api/link/invoices    ?page=1&per_page=N      [...] with Link: <…>; rel="next"
//   GET  /api/nested/invoices                          {"result": {"batches": [{"items": [...]},
//   …]}} POST /oauth/token          grant_type=client_credentials, client id/secret in the form or
//                              in HTTP basic → {"access_token", "expires_in"} or 401
// Every /api route filters by `updated_since` (updated_at >= it) and by `status` when given.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace dew::testing {

class RestApiServer {
 public:
  //! One request the API (not the token endpoint) received.
  struct Seen {
    std::string path;
    std::multimap<std::string, std::string> params;
    std::map<std::string, std::string> headers;  //!< names lower-cased
    int status = 0;                              //!< what it answered
  };

  //! Starts listening on 127.0.0.1 at a free port; returns once it is serving.
  RestApiServer();
  //! Stops the server and joins its thread.
  ~RestApiServer();
  RestApiServer(const RestApiServer&) = delete;
  RestApiServer& operator=(const RestApiServer&) = delete;

  int port() const { return port_; }
  //! "http://127.0.0.1:<port>/api".
  std::string BaseUrl() const;
  //! "http://127.0.0.1:<port>/oauth/token".
  std::string TokenUrl() const;

  //! `n` invoices with ids 1..n, updated_at "2026-01-01T00:00:00Z" + id minutes, status "paid"
  //! for odd ids and "open" for even ones, an amount and a nested customer object.
  static std::vector<nlohmann::json> Invoices(int n);
  //! Replaces the served records (served in this order).
  void SetRecords(std::vector<nlohmann::json> records);
  //! Adds or replaces (by "id") one record, keeping it last in order.
  void Upsert(const nlohmann::json& record);

  //! After `after` more API requests, the next `count` answer `status` (with a Retry-After
  //! header when given) before any other check.
  void FailNext(int count, int status, const std::string& retry_after = "", int after = 0);
  //! API requests need `Authorization: Bearer <token>`; empty: no auth.
  void RequireBearer(const std::string& token);
  //! API requests need a token issued by /oauth/token to `client_id`/`secret`, valid until
  //! RevokeTokens; tokens report `expires_in` seconds.
  void RequireOAuth(const std::string& client_id, const std::string& secret, int64_t expires_in);
  //! Every token issued so far answers 401 from now on.
  void RevokeTokens();
  //! API requests need the header (or, `in_query`, the query parameter) `name` = `value`.
  void RequireApiKey(const std::string& name, const std::string& value, bool in_query);
  //! API requests need HTTP basic credentials; both empty: no longer.
  void RequireBasic(const std::string& user, const std::string& password);

  std::vector<Seen> requests() const;
  size_t api_requests() const;
  int token_requests() const;

 private:
  void Install();
  //! Answers a fault or an auth failure; true when it did (the route then stops).
  bool Gate(const httplib::Request& req, httplib::Response& res);
  //! The records matching the request's filters (mu_ held).
  std::vector<nlohmann::json> Select(const httplib::Request& req) const;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  std::vector<nlohmann::json> records_;
  int fail_after_ = 0;
  int fail_count_ = 0;
  int fail_status_ = 0;
  std::string fail_retry_after_;
  std::string bearer_;
  std::string client_id_, client_secret_;
  int64_t expires_in_ = 0;
  std::vector<std::string> valid_tokens_;
  int token_requests_ = 0;
  std::string api_key_name_, api_key_value_;
  bool api_key_in_query_ = false;
  std::string basic_;
  std::vector<Seen> seen_;
};

}  // namespace dew::testing
