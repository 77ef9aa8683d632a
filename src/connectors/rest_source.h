// RestSource: a declarative HTTP source. The connection file names the base URL, the auth, the
// pagination, where the records are in a response, the quota (request budget) and the retry
// policy; each stream names its path, query parameters and, for incremental syncs, the request
// parameter that carries the last cursor. Records land in bronze through BronzeLanding, one
// batch (and one commit carrying the state) per page or group of pages, so a sync killed at any
// moment resumes at the page after the last committed one.
//
// Failure handling: 429 and 503 wait as long as their Retry-After says (seconds or an HTTP
// date), other 5xx and transport errors back off exponentially with full jitter up to
// max_delay, a 401 with an OAuth2 token fetches a new token once; every wait goes through the
// Clock. When the request budget is used up the sync stops cleanly after its last committed
// batch, and its state says where to resume. Secrets never appear in a Status or a log.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "connectors/request_budget.h"
#include "connectors/rest_auth.h"
#include "connectors/rest_paginator.h"
#include "connectors/source.h"
#include "connectors/source_factory.h"

namespace dew::connectors {

struct RestRetryConfig {
  int max_attempts = 6;          //!< attempts per request, the first included
  int64_t base_delay_ms = 1000;  //!< the backoff cap of the first retry, doubled per retry
  int64_t max_delay_ms = 60000;  //!< the largest backoff cap
  int64_t max_retry_after_ms = 15 * 60 * 1000;  //!< a longer Retry-After fails the request
};

struct RestStreamConfig {
  std::string name;
  std::string path;  //!< appended to base_url
  std::vector<std::pair<std::string, std::string>> params;
  std::string records_path;  //!< dotted; empty: the body (an array) or the connection's
  std::string sync_mode = "full_refresh";
  std::string cursor_field;       //!< dotted path into a record
  std::string incremental_param;  //!< sent with the state's cursor; empty: filter locally
  std::vector<std::string> primary_key;
  PaginationConfig pagination;
};

struct RestConfig {
  std::string source;  //!< the connection's name
  std::string base_url;
  std::vector<std::pair<std::string, std::string>> headers;
  RequestBudgetOptions budget;
  RestRetryConfig retry;
  int64_t timeout_ms = 60000;
  int64_t pages_per_batch = 1;  //!< pages landed per bronze commit
  std::vector<RestStreamConfig> streams;
  std::string spool_dir = "/tmp";
  uint64_t jitter_seed = 0;  //!< 0: random; tests fix it
  //! Header and parameter values read from ${env:NAME}: hidden from messages like the auth's.
  std::vector<std::string> secrets;
};

//! Reads and validates the `rest:` block and the streams of a rest connection.
//! InvalidArgument `file:line:column: field: problem`.
Result<RestConfig> ParseRestConfig(const ConnectionSpec& spec,
                                   const std::map<std::string, std::string>& env);

//! Not thread-safe: one sync owns it. The request budget counts every request this object
//! sends (all streams of one sync, token requests excluded).
class RestSource : public Source {
 public:
  //! `auth`, `http` and `clock` must not be null.
  RestSource(RestConfig config, std::unique_ptr<RestAuth> auth, std::shared_ptr<HttpClient> http,
             std::shared_ptr<Clock> clock);

  nlohmann::json Spec() const override;
  //! Fetches the first page of each stream in `streams` (all configured streams when empty):
  //! kUnreachable (transport), kAuthRefused (401, 403 or a refused OAuth2 client),
  //! kMissingTable (404 or no records at records_path), kOther.
  Status Check(const std::vector<std::string>& streams, CheckProblem* problem) override;
  //! Each stream's columns from its first page's records, with the DuckDB types bronze holds
  //! them as (JsonRecordBuffer's inference: BIGINT, DOUBLE, BOOLEAN, VARCHAR; objects and
  //! arrays are JSON text, VARCHAR in bronze) and the JSON kind as source_type.
  Result<std::vector<StreamInfo>> Discover() override;
  //! The first page of one stream, typed as Discover does (a column seen only as null has an
  //! empty lake_type). NotFound for an unknown stream.
  Result<StreamInfo> DescribeStream(const std::string& name) override;
  //! Lands the stream page by page (see the file comment). The state is
  //! {"cursor": max cursor seen} after a complete sync; while (or when stopped) in the middle,
  //! also "resume": {"since", "position", "mode"} so the next Read continues at the next page,
  //! and "stopped": why (the request budget). An incremental Read sends the state's cursor in
  //! incremental_param.
  Result<ReadResult> Read(const StreamRequest& stream, const nlohmann::json& state,
                          lake::Lakehouse* lake) override;

  //! Sends `request` with the auth, under the budget, with the retry policy. Fails with
  //! Interrupted (message: the budget) when the budget is used up; InvalidArgument when the
  //! server refuses the credentials or answers another 4xx a retry cannot fix; NotFound for
  //! 404 and 410; IOError for transport errors and 5xx after the retries, and for 3xx, 408,
  //! 409, 425. Messages name method, URL and status, with secrets redacted.
  Result<HttpResponse> Send(HttpRequest request);

  const RequestBudget& budget() const { return budget_; }
  const RestAuth& auth() const { return *auth_; }

 private:
  struct Page {
    HttpResponse response;
    nlohmann::json body;
    nlohmann::json records;  //!< an array
    std::string url;         //!< redacted, for messages
  };
  const RestStreamConfig* FindStream(const std::string& name) const;
  Result<StreamInfo> DescribeOne(const RestStreamConfig& stream);
  std::string BuildUrl(const RestStreamConfig& stream, const PagePosition& position,
                       const std::string& since) const;
  Result<Page> FetchPage(const RestStreamConfig& stream, const PagePosition& position,
                         const std::string& since, bool first);
  int64_t BackoffMillis(int retry);

  const RestConfig config_;
  std::unique_ptr<RestAuth> auth_;
  std::shared_ptr<HttpClient> http_;
  std::shared_ptr<Clock> clock_;
  RequestBudget budget_;
  std::mt19937_64 jitter_;
  //! Why the last Send failed for good: a refusal of the credentials.
  bool auth_refused_ = false;
  int last_http_status_ = 0;  //!< of the last failed Send, 0 for transport errors
};

//! Compares two cursor values: numbers numerically, otherwise as text (ISO dates sort so).
bool CursorLess(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace dew::connectors
