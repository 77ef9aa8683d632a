#include "server/http_endpoint.h"

#include <gtest/gtest.h>

#include "core/http_client.h"

namespace dew::server {
namespace {

TEST(HttpEndpointTest, ServesHandlersOnLoopback) {
  HttpEndpoint endpoint;
  int calls = 0;
  endpoint.Get("/healthz", [&] {
    calls++;
    return HttpReply{200, "application/json", R"({"ok":true})"};
  });
  endpoint.Get("/down", [] { return HttpReply{503, "text/plain", "no"}; });
  auto port = endpoint.Start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  EXPECT_FALSE(endpoint.Start("127.0.0.1", 0).ok());
  auto http = NewCurlHttpClient();
  HttpRequest get;
  get.url = "http://127.0.0.1:" + std::to_string(*port) + "/healthz";
  auto r = http->Send(get);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"ok":true})");
  EXPECT_EQ(r->Header("Content-Type"), "application/json");
  get.url = "http://127.0.0.1:" + std::to_string(*port) + "/down";
  r = http->Send(get);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  get.url = "http://127.0.0.1:" + std::to_string(*port) + "/nope";
  r = http->Send(get);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(calls, 1);
  endpoint.Stop();
  get.url = "http://127.0.0.1:" + std::to_string(*port) + "/healthz";
  get.timeout_ms = 2000;
  EXPECT_FALSE(http->Send(get).ok());
}

TEST(HttpEndpointTest, BusyPortIsAnError) {
  HttpEndpoint first;
  auto port = first.Start("127.0.0.1", 0);
  ASSERT_TRUE(port.ok());
  HttpEndpoint second;
  auto again = second.Start("127.0.0.1", *port);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("127.0.0.1:" + std::to_string(*port)), std::string::npos);
}

TEST(MetricsTextTest, PrometheusExposition) {
  MetricsText m;
  m.Family("dew_runs", "gauge", "Runs by status.");
  m.Sample("dew_runs", 3, {{"status", "queued"}});
  m.Sample("dew_runs", 0, {{"status", "we\"ird\\"}});
  m.Family("dew_lag_seconds", "gauge", "Lag.");
  m.Sample("dew_lag_seconds", 0.25);
  EXPECT_EQ(m.text(),
            "# HELP dew_runs Runs by status.\n# TYPE dew_runs gauge\n"
            "dew_runs{status=\"queued\"} 3\n"
            "dew_runs{status=\"we\\\"ird\\\\\"} 0\n"
            "# HELP dew_lag_seconds Lag.\n# TYPE dew_lag_seconds gauge\n"
            "dew_lag_seconds 0.25\n");
}

}  // namespace
}  // namespace dew::server
