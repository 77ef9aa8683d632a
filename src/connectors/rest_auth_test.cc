#include "connectors/rest_auth.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "support/rest_api_server.h"

namespace dew::connectors {
namespace {

using testing::RestApiServer;

//! The `auth:` block of a rest connection file whose auth section is `auth_yaml`.
Result<std::unique_ptr<RestAuth>> AuthFrom(const std::string& auth_yaml,
                                           const std::map<std::string, std::string>& env,
                                           HttpClient* http, Clock* clock) {
  auto spec = ConnectionSpec::Parse("name: api\nsource_type: rest\n" + auth_yaml +
                                        "rest: {base_url: http://127.0.0.1:1/api}\n"
                                        "streams:\n  - name: s\n    path: /s\n",
                                    "api.yml");
  if (!spec.ok()) return spec.status();
  return RestAuth::FromSpec(spec->auth_options, env, http, clock);
}

std::string Header(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(RestAuthTest, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
}

TEST(RestAuthTest, StaticCredentialsGoInHeadersOrTheQuery) {
  ManualClock clock(0);
  const std::map<std::string, std::string> env = {
      {"TOKEN", "s3cret-token"}, {"PASS", "pa55word"}, {"KEY", "k e&y"}};
  auto bearer = AuthFrom("auth: {type: bearer, token: '${env:TOKEN}'}\n", env, nullptr, &clock);
  ASSERT_TRUE(bearer.ok()) << bearer.status().ToString();
  HttpRequest r;
  r.url = "http://h/x";
  ASSERT_TRUE((*bearer)->Apply(&r).ok());
  EXPECT_EQ(Header(r, "Authorization"), "Bearer s3cret-token");
  EXPECT_EQ((*bearer)->Redact("token s3cret-token leaked"), "token *** leaked");

  auto basic = AuthFrom("auth: {type: basic, username: ann, password: '${env:PASS}'}\n", env,
                        nullptr, &clock);
  ASSERT_TRUE(basic.ok()) << basic.status().ToString();
  r = HttpRequest{};
  ASSERT_TRUE((*basic)->Apply(&r).ok());
  EXPECT_EQ(Header(r, "Authorization"), "Basic " + Base64("ann:pa55word"));

  auto query = AuthFrom("auth: {type: api_key, name: key, api_key: '${env:KEY}', in: query}\n", env,
                        nullptr, &clock);
  ASSERT_TRUE(query.ok()) << query.status().ToString();
  r = HttpRequest{};
  r.url = "http://h/x?a=1";
  ASSERT_TRUE((*query)->Apply(&r).ok());
  EXPECT_EQ(r.url, "http://h/x?a=1&key=k%20e%26y");
  EXPECT_EQ((*query)->Redact(r.url), "http://h/x?a=1&key=***");
  EXPECT_FALSE((*query)->Invalidate());

  auto header = AuthFrom("auth: {type: api_key, api_key: '${env:KEY}'}\n", env, nullptr, &clock);
  ASSERT_TRUE(header.ok());
  r = HttpRequest{};
  ASSERT_TRUE((*header)->Apply(&r).ok());
  EXPECT_EQ(Header(r, "X-API-Key"), "k e&y");
}

TEST(RestAuthTest, SpecErrorsNameFileLineAndField) {
  ManualClock clock(0);
  auto unknown = AuthFrom("auth:\n  type: bearer\n  tokn: x\n", {}, nullptr, &clock);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("api.yml:5:9: auth.tokn: unknown key 'tokn' (did "
                                            "you mean 'token'?)"),
            std::string::npos)
      << unknown.status().message();
  auto type = AuthFrom("auth:\n  type: oauth2\n", {}, nullptr, &clock);
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.status().message().find("api.yml:4:9: auth.type: unknown value 'oauth2'"),
            std::string::npos)
      << type.status().message();
  auto missing = AuthFrom(
      "auth: {type: oauth2_client_credentials, client_id: a, "
      "client_secret: '${env:S}'}\n",
      {{"S", "x"}}, nullptr, &clock);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("auth.token_url: missing required field"),
            std::string::npos)
      << missing.status().message();
  auto unset = AuthFrom("auth: {type: bearer, token: '${env:NOPE}'}\n", {}, nullptr, &clock);
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.status().message().find("NOPE is not set"), std::string::npos);
}

class RestAuthOAuthTest : public ::testing::Test {
 protected:
  RestAuthOAuthTest() : clock_(1767225600000), http_(NewCurlHttpClient()) {
    server_.RequireOAuth("dew-client", "the-client-secret", 3600);
  }
  std::unique_ptr<RestAuth> Make(const std::string& secret) {
    auto auth =
        AuthFrom("auth:\n  type: oauth2_client_credentials\n  token_url: " + server_.TokenUrl() +
                     "\n  client_id: dew-client\n  client_secret: '${env:SECRET}'\n"
                     "  scopes: [read, invoices]\n",
                 {{"SECRET", secret}}, http_.get(), &clock_);
    EXPECT_TRUE(auth.ok()) << auth.status().ToString();
    return auth.ok() ? std::move(*auth) : nullptr;
  }

  RestApiServer server_;
  ManualClock clock_;
  std::shared_ptr<HttpClient> http_;
};

TEST_F(RestAuthOAuthTest, TokenIsCachedAndRefreshedShortlyBeforeExpiry) {
  auto auth = Make("the-client-secret");
  ASSERT_NE(auth, nullptr);
  HttpRequest r;
  ASSERT_TRUE(auth->Apply(&r).ok());
  EXPECT_EQ(Header(r, "Authorization"), "Bearer tok-1");
  clock_.Advance(3500 * 1000);  // still more than the refresh margin left
  r = HttpRequest{};
  ASSERT_TRUE(auth->Apply(&r).ok());
  EXPECT_EQ(Header(r, "Authorization"), "Bearer tok-1");
  EXPECT_EQ(server_.token_requests(), 1);
  clock_.Advance(50 * 1000);  // within the last minute of the token's hour
  r = HttpRequest{};
  ASSERT_TRUE(auth->Apply(&r).ok());
  EXPECT_EQ(Header(r, "Authorization"), "Bearer tok-2");
  EXPECT_EQ(server_.token_requests(), 2);
  // After a 401 the token is dropped and the next Apply fetches another.
  EXPECT_TRUE(auth->Invalidate());
  r = HttpRequest{};
  ASSERT_TRUE(auth->Apply(&r).ok());
  EXPECT_EQ(Header(r, "Authorization"), "Bearer tok-3");
  EXPECT_EQ(auth->token_fetches(), 3);
}

TEST_F(RestAuthOAuthTest, WrongSecretIsARefusalThatNamesTheClientButNotTheSecret) {
  auto auth = Make("wrong-secret-value");
  ASSERT_NE(auth, nullptr);
  HttpRequest r;
  Status s = auth->Apply(&r);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(auth->refused());
  EXPECT_NE(s.message().find("refused the client credentials: HTTP 401 (invalid_client"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("dew-client"), std::string::npos);
  EXPECT_NE(s.message().find(server_.TokenUrl()), std::string::npos);
  EXPECT_EQ(s.message().find("wrong-secret-value"), std::string::npos);
}

TEST_F(RestAuthOAuthTest, UnreachableTokenEndpointIsNotARefusal) {
  auto auth = AuthFrom(
      "auth: {type: oauth2_client_credentials, token_url: "
      "'http://127.0.0.1:1/token', client_id: c, client_secret: '${env:S}', "
      "credentials_in: basic}\n",
      {{"S", "sec"}}, http_.get(), &clock_);
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  HttpRequest r;
  Status s = (*auth)->Apply(&r);
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE((*auth)->refused());
  EXPECT_NE(s.message().find("http://127.0.0.1:1/token"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace dew::connectors
