// RestAuth: the credentials of a REST connection (the connection file's `auth:` block), added to
// each request: a bearer token, HTTP basic, an API key in a header or the query string, or an
// OAuth2 client-credentials token that is fetched from the token URL, cached until shortly
// before its expires_in, and fetched again on expiry or once after a 401.
//
// Secrets are resolved from ${env:NAME} when the auth is built and live only in this object:
// Redact() scrubs them from any text (URLs, server and transport messages) before it is put in
// a Status or a log.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/connection_spec.h"
#include "core/http_client.h"
#include "core/status.h"

namespace dew {
class Clock;
}

namespace dew::connectors {

//! Typed reads of a SpecBlock with `file:line:column: field: problem` errors; shared by the
//! parts of the rest source. Borrows the block and the environment.
class RestSpecReader {
 public:
  RestSpecReader(const SpecBlock& block, const std::map<std::string, std::string>& env)
      : block_(block), env_(env) {}

  //! InvalidArgument naming the value at `pointer`.
  Status Error(const std::string& pointer, const std::string& problem) const {
    return block_.Error(pointer, problem);
  }
  bool Has(const std::string& pointer) const;
  //! The object at `pointer` (the block itself for "") may hold only `allowed` keys; an
  //! unknown key is reported with a near match. InvalidArgument when it is not an object.
  Status CheckKeys(const std::string& pointer, const std::vector<std::string>& allowed) const;
  //! A string with ${env:NAME} resolved; numbers and booleans as written. Empty when absent,
  //! InvalidArgument when `required` and absent or when it is a list or a mapping.
  Result<std::string> String(const std::string& pointer, bool required = false) const;
  //! An integer >= `min`, `fallback` when absent.
  Result<int64_t> Int(const std::string& pointer, int64_t fallback, int64_t min) const;
  //! A duration in milliseconds: "250ms", "2s", "5m", "1h" or a number of seconds; `fallback`
  //! when absent.
  Result<int64_t> DurationMillis(const std::string& pointer, int64_t fallback) const;
  //! A list of strings (a single string is a one-item list); empty when absent.
  Result<std::vector<std::string>> Strings(const std::string& pointer) const;
  //! A mapping of scalars (headers, query parameters), values resolved and as text, in the
  //! order written is not kept (JSON objects are sorted); empty when absent.
  Result<std::vector<std::pair<std::string, std::string>>> StringMap(
      const std::string& pointer) const;
  //! One of `allowed`, `fallback` when absent; unknown values get a near-match suggestion.
  Result<std::string> Choice(const std::string& pointer, const std::vector<std::string>& allowed,
                             const std::string& fallback) const;

 private:
  const SpecBlock& block_;
  const std::map<std::string, std::string>& env_;
};

struct RestAuthConfig {
  //! "none", "bearer", "basic", "api_key", "oauth2_client_credentials".
  std::string type = "none";
  std::string token;                                //!< bearer
  std::string username, password;                   //!< basic
  std::string key_name = "X-API-Key", api_key;      //!< api_key
  bool key_in_query = false;                        //!< api_key: in the query string, not a header
  std::string token_url, client_id, client_secret;  //!< oauth2_client_credentials
  std::vector<std::string> scopes;
  std::string audience;               //!< sent when set (Auth0 and others want it)
  bool credentials_in_basic = false;  //!< client id/secret as HTTP basic instead of form fields
};

//! Not thread-safe: one sync owns it.
class RestAuth {
 public:
  //! Validates the `auth:` block (absent: no auth) and resolves its secrets from `env`.
  //! InvalidArgument `file:line:column: auth.<field>: problem`. `http` and `clock` are borrowed
  //! and must outlive the auth.
  static Result<std::unique_ptr<RestAuth>> FromSpec(const SpecBlock& auth,
                                                    const std::map<std::string, std::string>& env,
                                                    HttpClient* http, Clock* clock);
  RestAuth(RestAuthConfig config, HttpClient* http, Clock* clock);

  //! Adds the credentials to `request` (a header, or a query parameter appended to its URL).
  //! For OAuth2 first fetches a token when none is cached or the cached one is about to expire.
  //! Fails only on OAuth2: refused() tells a refusal by the token endpoint (wrong client id or
  //! secret) from a transient failure (unreachable, 5xx) worth retrying. Messages name the
  //! token URL and client id, never a secret.
  Status Apply(HttpRequest* request);

  //! After a 401: forgets a cached OAuth2 token so the next Apply fetches a fresh one. True when
  //! that can help (OAuth2 with a cached token), false for static credentials.
  bool Invalidate();

  //! Whether the last Apply failed because the token endpoint refused the client.
  bool refused() const { return refused_; }
  //! Tokens fetched so far (OAuth2).
  int64_t token_fetches() const { return token_fetches_; }
  const RestAuthConfig& config() const { return config_; }

  //! `text` with every secret (and the current token) replaced by "***".
  std::string Redact(std::string text) const;
  //! Adds values Redact must hide too (headers or parameters read from ${env:NAME}).
  void AddSecrets(const std::vector<std::string>& secrets) {
    extra_secrets_.insert(extra_secrets_.end(), secrets.begin(), secrets.end());
  }

 private:
  Status FetchToken();

  const RestAuthConfig config_;
  HttpClient* const http_;
  Clock* const clock_;
  std::string access_token_;
  int64_t refresh_at_millis_ = -1;  //!< wall-clock time to fetch anew; -1: never
  bool refused_ = false;
  int64_t token_fetches_ = 0;
  std::vector<std::string> extra_secrets_;
};

//! RFC 4648 base64 of `data`, for HTTP basic credentials.
std::string Base64(const std::string& data);

}  // namespace dew::connectors
