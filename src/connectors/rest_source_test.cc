#include "connectors/rest_source.h"

#include <gtest/gtest.h>
#include <time.h>

#include "core/clock.h"
#include "core/file_system.h"
#include "support/rest_api_server.h"

namespace dew::connectors {
namespace {

using testing::RestApiServer;

//! A clock that records each wait and moves on by it, so retry schedules are read exactly.
class RecordingClock : public Clock {
 public:
  int64_t NowMillis() override { return now_; }
  int64_t MonotonicMicros() override { return now_ * 1000; }
  void SleepMillis(int64_t millis) override {
    sleeps.push_back(millis);
    now_ += millis;
  }
  std::vector<int64_t> sleeps;

 private:
  int64_t now_ = 1767225600000;  // 2026-01-01 00:00:00 UTC
};

Result<ConnectionSpec> Spec(const std::string& rest_and_streams) {
  return ConnectionSpec::Parse("name: api\nsource_type: rest\n" + rest_and_streams, "api.yml");
}

std::string ErrorOf(const std::string& yaml) {
  auto spec = Spec(yaml);
  if (!spec.ok()) return "parse: " + spec.status().message();
  auto config = ParseRestConfig(*spec, {});
  return config.ok() ? "ok" : config.status().message();
}

TEST(RestSourceConfigTest, ReadsTheRestBlockAndStreams) {
  auto spec = Spec(
      "rest:\n"
      "  base_url: http://127.0.0.1:8080/api/\n"
      "  headers: {Accept: application/json}\n"
      "  pagination: {type: page, page_size: 100}\n"
      "  records_path: data\n"
      "  rate_limit: {requests_per_minute: 600, max_requests: 10000}\n"
      "  retry: {max_attempts: 4, base_delay: 500ms, max_delay: 1m}\n"
      "streams:\n"
      "  - name: invoices\n"
      "    path: /invoices\n"
      "    params: {status: paid, limit: 5}\n"
      "    sync_mode: incremental\n"
      "    cursor_field: updated_at\n"
      "    incremental_param: updated_since\n"
      "    pagination: {type: cursor, cursor_path: meta.next, cursor_param: after}\n"
      "  - name: customers\n"
      "    path: /customers\n"
      "    records_path: result.items\n");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto c = ParseRestConfig(*spec, {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->base_url, "http://127.0.0.1:8080/api");
  EXPECT_EQ(c->budget.requests_per_minute, 600);
  EXPECT_EQ(c->budget.max_requests, 10000);
  EXPECT_EQ(c->retry.max_attempts, 4);
  EXPECT_EQ(c->retry.base_delay_ms, 500);
  EXPECT_EQ(c->retry.max_delay_ms, 60000);
  ASSERT_EQ(c->streams.size(), 2u);
  const RestStreamConfig& inv = c->streams[0];
  EXPECT_EQ(inv.pagination.type, "cursor");
  EXPECT_EQ(inv.pagination.page_size, 100);  // inherited from the connection
  EXPECT_EQ(inv.pagination.cursor_param, "after");
  EXPECT_EQ(inv.records_path, "data");
  EXPECT_EQ(inv.incremental_param, "updated_since");
  ASSERT_EQ(inv.params.size(), 2u);
  EXPECT_EQ(inv.params[0], (std::pair<std::string, std::string>{"limit", "5"}));
  const RestStreamConfig& cust = c->streams[1];
  EXPECT_EQ(cust.pagination.type, "page");
  EXPECT_EQ(cust.pagination.size_param, "per_page");
  EXPECT_EQ(cust.records_path, "result.items");
}

TEST(RestSourceConfigTest, ErrorsNameFileLineColumnAndField) {
  const std::string stream = "streams:\n  - name: s\n    path: /s\n";
  EXPECT_EQ(ErrorOf("rest:\n  base_url: http://h\n  paginaton: {type: page}\n" + stream),
            "api.yml:5:14: rest.paginaton: unknown key 'paginaton' (did you mean 'pagination'?)");
  EXPECT_EQ(ErrorOf("rest:\n  base_url: http://h\n  pagination: {type: pages}\n" + stream),
            "api.yml:5:22: rest.pagination.type: unknown value 'pages' (did you mean 'page'?)");
  EXPECT_NE(ErrorOf("rest:\n  base_url: http://h\n  pagination: {type: cursor}\n" + stream)
                .find("rest.pagination.cursor_path: missing required field"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("rest:\n  base_url: ftp://h\n" + stream),
            "api.yml:4:13: rest.base_url: expected an http:// or https:// URL, got 'ftp://h'");
  EXPECT_EQ(ErrorOf("rest:\n  base_url: http://h\n  retry: {base_delay: 1x}\n" + stream),
            "api.yml:5:23: rest.retry.base_delay: expected a duration like 500ms, 2s, 5m or 1h, "
            "got '1x'");
  EXPECT_EQ(ErrorOf("rest:\n  base_url: http://h\n  rate_limit: {max_requests: -1}\n" + stream),
            "api.yml:5:30: rest.rate_limit.max_requests: must be at least 0");
  EXPECT_EQ(ErrorOf("rest:\n  base_url: http://h\nstreams:\n  - name: s\n    pth: /s\n"),
            "api.yml:7:10: streams[0].pth: unknown key 'pth' (did you mean 'path'?)");
  EXPECT_NE(ErrorOf("rest:\n  base_url: http://h\nstreams:\n  - name: s\n    params: {a: 1}\n")
                .find("streams[0].path: missing required field"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("rest:\n  base_url: http://h\nstreams:\n  - name: s\n    path: s\n"),
            "api.yml:7:11: streams[0].path: expected a path starting with '/', got 's'");
  EXPECT_EQ(ErrorOf("rest:\n  base_url: http://h\nstreams:\n  - name: s\n    path: /s\n"
                    "    incremental_param: since\n"),
            "api.yml:8:24: streams[0].incremental_param: only an incremental stream sends it "
            "(sync_mode is full_refresh)");
  EXPECT_NE(ErrorOf(stream).find("rest: missing required block"), std::string::npos);
}

//! A source on the loopback server with a recording clock; `rest_extra` goes in `rest:`.
class RestSourceSendTest : public ::testing::Test {
 protected:
  std::unique_ptr<RestSource> Make(const std::string& rest_extra, const std::string& auth = "",
                                   const std::string& base_url = "") {
    auto spec =
        Spec(auth + "rest:\n  base_url: " + (base_url.empty() ? server_.BaseUrl() : base_url) +
             "\n  records_path: data\n" + rest_extra +
             "streams:\n  - name: invoices\n    path: /page/invoices\n"
             "  - name: missing\n    path: /nothing/here\n");
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    if (!spec.ok()) return nullptr;
    auto config = ParseRestConfig(*spec, env_);
    EXPECT_TRUE(config.ok()) << config.status().ToString();
    if (!config.ok()) return nullptr;
    config->jitter_seed = 42;
    auto a = RestAuth::FromSpec(spec->auth_options, env_, http_.get(), clock_.get());
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    if (!a.ok()) return nullptr;
    return std::make_unique<RestSource>(std::move(*config), std::move(*a), http_, clock_);
  }
  HttpRequest Get(const std::string& path) {
    HttpRequest r;
    r.url = server_.BaseUrl() + path;
    return r;
  }

  RestApiServer server_;
  std::shared_ptr<HttpClient> http_ = NewCurlHttpClient();
  std::shared_ptr<RecordingClock> clock_ = std::make_shared<RecordingClock>();
  std::map<std::string, std::string> env_ = {{"TOKEN", "the-bearer-token"}};
};

TEST_F(RestSourceSendTest, TooManyRequestsWaitsForRetryAfterSeconds) {
  auto source = Make("");
  server_.FailNext(2, 429, "7");
  auto r = source->Send(Get("/page/invoices"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(clock_->sleeps, (std::vector<int64_t>{7000, 7000}));
  EXPECT_EQ(server_.api_requests(), 3u);
  EXPECT_EQ(source->budget().used(), 3);
}

TEST_F(RestSourceSendTest, UnavailableWaitsUntilARetryAfterDate) {
  auto source = Make("");
  const time_t at = static_cast<time_t>(clock_->NowMillis() / 1000 + 20);
  struct tm tm;
  gmtime_r(&at, &tm);
  char date[64];
  strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  server_.FailNext(1, 503, date);
  auto r = source->Send(Get("/page/invoices"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(clock_->sleeps, (std::vector<int64_t>{20000}));
}

TEST_F(RestSourceSendTest, ServerErrorsBackOffWithFullJitterUnderTheCaps) {
  auto source = Make("  retry: {max_attempts: 6, base_delay: 1s, max_delay: 4s}\n");
  server_.FailNext(5, 500);
  auto r = source->Send(Get("/page/invoices"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(clock_->sleeps.size(), 5u);
  const std::vector<int64_t> caps = {1000, 2000, 4000, 4000, 4000};
  int64_t total = 0;
  for (size_t i = 0; i < caps.size(); ++i) {
    EXPECT_GE(clock_->sleeps[i], 0);
    EXPECT_LE(clock_->sleeps[i], caps[i]) << "retry " << i + 1;
    total += clock_->sleeps[i];
  }
  // Jittered, not fixed: five uniform draws are not all at their caps.
  EXPECT_LT(total, 15000);
  EXPECT_EQ(server_.api_requests(), 6u);
}

TEST_F(RestSourceSendTest, GivesUpAfterMaxAttemptsNamingTheStatus) {
  auto source = Make("  retry: {max_attempts: 3, base_delay: 100ms, max_delay: 1s}\n");
  server_.FailNext(10, 502);
  auto r = source->Send(Get("/page/invoices"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("HTTP 502"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("gave up after 3 attempts"), std::string::npos);
  EXPECT_EQ(clock_->sleeps.size(), 2u);
  EXPECT_EQ(server_.api_requests(), 3u);
}

TEST_F(RestSourceSendTest, RetryAfterBeyondTheLimitFailsAtOnce) {
  auto source = Make("  retry: {max_retry_after: 1m}\n");
  server_.FailNext(1, 429, "3600");
  auto r = source->Send(Get("/page/invoices"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exceeds rest.retry.max_retry_after"), std::string::npos);
  EXPECT_TRUE(clock_->sleeps.empty());
}

TEST_F(RestSourceSendTest, ClientErrorsAreNotRetried) {
  auto source = Make("");
  CheckProblem problem;
  Status s = source->Check({"missing"}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kMissingTable);
  EXPECT_NE(s.message().find("HTTP 404"), std::string::npos) << s.message();
  EXPECT_TRUE(clock_->sleeps.empty());
  EXPECT_EQ(server_.api_requests(), 0u);  // httplib answered 404 before any route
  EXPECT_TRUE(source->Check({"invoices"}, &problem).ok());
  EXPECT_EQ(problem, CheckProblem::kNone);
}

TEST_F(RestSourceSendTest, RefusedTokenIsAnAuthProblemAndNeverShown) {
  server_.RequireBearer("another-token");
  auto source = Make("", "auth: {type: bearer, token: '${env:TOKEN}'}\n");
  CheckProblem problem;
  Status s = source->Check({}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kAuthRefused);
  EXPECT_NE(s.message().find("refused the credentials (HTTP 401)"), std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("the-bearer-token"), std::string::npos);
  EXPECT_EQ(server_.api_requests(), 1u);
}

TEST_F(RestSourceSendTest, TransportErrorsAreRetriedThenReportedUnreachable) {
  auto source = Make("  retry: {max_attempts: 3, base_delay: 1s, max_delay: 2s}\n", "",
                     "http://127.0.0.1:1/api");
  CheckProblem problem;
  Status s = source->Check({"invoices"}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kUnreachable);
  EXPECT_NE(s.message().find("127.0.0.1:1"), std::string::npos) << s.message();
  EXPECT_EQ(clock_->sleeps.size(), 2u);
}

TEST_F(RestSourceSendTest, QueryApiKeyNeverAppearsInMessages) {
  env_["KEY"] = "query-key-1234";
  auto source = Make("  retry: {max_attempts: 1}\n",
                     "auth: {type: api_key, name: key, api_key: '${env:KEY}', in: query}\n",
                     "http://127.0.0.1:1/api");
  CheckProblem problem;
  Status s = source->Check({"invoices"}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kUnreachable);
  EXPECT_EQ(s.message().find("query-key-1234"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("key=***"), std::string::npos) << s.message();

  server_.RequireApiKey("key", "another-key", true);
  auto refused = Make("", "auth: {type: api_key, name: key, api_key: '${env:KEY}', in: query}\n");
  s = refused->Check({"invoices"}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kAuthRefused);
  EXPECT_EQ(s.message().find("query-key-1234"), std::string::npos) << s.message();
  EXPECT_EQ(server_.requests().back().params.find("key")->second, "query-key-1234");
}

TEST_F(RestSourceSendTest, BasicAndHeaderApiKeyAreAcceptedByTheServer) {
  env_["PASS"] = "pa55-word";
  server_.RequireBasic("ann", "pa55-word");
  auto basic = Make("", "auth: {type: basic, username: ann, password: '${env:PASS}'}\n");
  CheckProblem problem;
  EXPECT_TRUE(basic->Check({"invoices"}, &problem).ok());
  server_.RequireBasic("ann", "other");
  Status s = basic->Check({"invoices"}, &problem);
  EXPECT_EQ(problem, CheckProblem::kAuthRefused);
  EXPECT_EQ(s.message().find("pa55-word"), std::string::npos) << s.message();

  server_.RequireBasic("", "");
  server_.RequireApiKey("X-Key", "pa55-word", false);
  auto key = Make("", "auth: {type: api_key, name: X-Key, api_key: '${env:PASS}'}\n");
  EXPECT_TRUE(key->Check({"invoices"}, &problem).ok());
  EXPECT_EQ(server_.requests().back().headers.at("x-key"), "pa55-word");
}

TEST_F(RestSourceSendTest, BudgetCountsEveryRequestAndRefusesBeyondIt) {
  auto source = Make("  rate_limit: {max_requests: 3}\n");
  server_.FailNext(1, 503, "1");
  ASSERT_TRUE(source->Send(Get("/page/invoices")).ok());
  ASSERT_TRUE(source->Send(Get("/page/invoices")).ok());
  auto r = source->Send(Get("/page/invoices"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInterrupted());
  EXPECT_NE(r.status().message().find("request budget of 3 requests used up"), std::string::npos);
  EXPECT_EQ(server_.api_requests(), 3u);
}

TEST_F(RestSourceSendTest, OAuthTokenIsRefreshedOnceAfterA401) {
  server_.RequireOAuth("dew", "oauth-secret", 3600);
  env_["SECRET"] = "oauth-secret";
  auto source =
      Make("", "auth: {type: oauth2_client_credentials, token_url: '" + server_.TokenUrl() +
                   "', client_id: dew, client_secret: '${env:SECRET}'}\n");
  ASSERT_TRUE(source->Send(Get("/page/invoices")).ok());
  server_.RevokeTokens();
  auto r = source->Send(Get("/page/invoices"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(server_.token_requests(), 2);
  EXPECT_TRUE(clock_->sleeps.empty());
  const auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].status, 401);
  EXPECT_EQ(seen[2].headers.at("authorization"), "Bearer tok-2");
}

}  // namespace
}  // namespace dew::connectors
