#include "core/http_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <thread>

namespace dew {
namespace {

// A real HTTP server on loopback, torn down with the test.
class LoopbackServer {
 public:
  LoopbackServer() {
    server_.Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
      res.set_header("X-Echo", req.get_header_value("X-Token"));
      res.set_content("hi " + req.get_param_value("name"), "text/plain");
    });
    server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 201;
      res.set_content(req.body, "application/json");
    });
    server_.Get("/busy", [](const httplib::Request&, httplib::Response& res) {
      res.status = 429;
      res.set_header("Retry-After", "7");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // cpp-httplib 0.11 has no wait_until_ready; stop() before listening starts would be lost.
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(HttpClientTest, SendsHeadersQueryAndBody) {
  LoopbackServer server;
  auto http = NewCurlHttpClient();
  HttpRequest get;
  get.url = server.Url("/hello?name=" + UrlEncode("a b&c"));
  get.headers = {{"X-Token", "t1"}};
  auto r = http->Send(get);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hi a b&c");
  EXPECT_EQ(r->Header("x-echo"), "t1");

  HttpRequest post;
  post.method = "POST";
  post.url = server.Url("/echo");
  post.body = R"({"a":1})";
  post.headers = {{"Content-Type", "application/json"}};
  r = http->Send(post);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, post.body);
}

TEST(HttpClientTest, ErrorStatusesAreResponsesNotFailures) {
  LoopbackServer server;
  HttpRequest get;
  get.url = server.Url("/busy");
  auto r = NewCurlHttpClient()->Send(get);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->Header("Retry-After"), "7");
}

TEST(HttpClientTest, RefusedConnectionNamesTheUrlWithoutCredentials) {
  int port;
  {
    LoopbackServer closed;  // a port that was free a moment ago and is closed now
    port = std::stoi(closed.Url("").substr(17));
  }
  HttpRequest get;
  get.url = "http://user:secret@127.0.0.1:" + std::to_string(port) + "/x";
  auto r = NewCurlHttpClient()->Send(get);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("GET http://***@127.0.0.1:"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos);
}

TEST(HttpClientTest, StreamsTheBodyToACallback) {
  LoopbackServer server;
  HttpRequest get;
  get.url = server.Url("/hello?name=stream");
  std::string got;
  get.on_body = [&](const char* data, size_t size) {
    got.append(data, size);
    return true;
  };
  auto r = NewCurlHttpClient()->Send(get);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(got, "hi stream");
  EXPECT_TRUE(r->body.empty());
  get.on_body = [](const char*, size_t) { return false; };
  EXPECT_TRUE(NewCurlHttpClient()->Send(get).status().IsInterrupted());
}

}  // namespace
}  // namespace dew
