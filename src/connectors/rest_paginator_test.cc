#include "connectors/rest_paginator.h"

#include <gtest/gtest.h>

namespace dew::connectors {
namespace {

using json = nlohmann::json;

std::string Param(const PagePosition& p, const std::string& name) {
  for (const auto& [k, v] : p.params) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(RestPaginatorTest, NextLinkFindsRelNextAmongOthers) {
  EXPECT_EQ(NextLink("<https://a/x?page=2>; rel=\"next\""), "https://a/x?page=2");
  EXPECT_EQ(NextLink("<https://a/x?page=1>; rel=\"first\", <https://a/x?page=3>; rel=\"next\", "
                     "<https://a/x?page=9>; rel=\"last\""),
            "https://a/x?page=3");
  EXPECT_EQ(NextLink("<https://a/x?p=2,3>; rel=\"prev next\""), "https://a/x?p=2,3");
  EXPECT_EQ(NextLink("<https://a/x>; REL=Next"), "https://a/x");
  EXPECT_EQ(NextLink("<https://a/x?page=1>; rel=\"prev\"; title=\"next\""), "");
  EXPECT_EQ(NextLink(""), "");
}

TEST(RestPaginatorTest, JsonAtPathWalksObjectsIndexesAndArrays) {
  const json body = json::parse(R"({"meta": {"next": "c9"}, "data": [{"id": 1}, {"id": 2}],
      "pages": [{"items": [1, 2]}, {"items": [3]}, {"other": 0}]})");
  EXPECT_EQ(JsonAtPath(body, "meta.next"), "c9");
  EXPECT_EQ(JsonAtPath(body, "data.1.id"), 2);
  EXPECT_EQ(JsonAtPath(body, "data[0].id"), 1);
  EXPECT_EQ(JsonAtPath(body, "data.id"), json::parse("[1, 2]"));
  EXPECT_EQ(JsonAtPath(body, "pages.items"), json::parse("[1, 2, 3]"));
  EXPECT_EQ(JsonAtPath(body, ""), body);
  EXPECT_TRUE(JsonAtPath(body, "meta.missing.deeper").is_null());
  EXPECT_TRUE(JsonAtPath(body, "data.7").is_null());
}

TEST(RestPaginatorTest, PageAdvancesUntilAShortPage) {
  PaginationConfig c;
  c.type = "page";
  c.page_size = 10;
  c.size_param = "per_page";
  RestPaginator p(c);
  PagePosition first = p.First();
  EXPECT_EQ(Param(first, "page"), "1");
  EXPECT_EQ(Param(first, "per_page"), "10");
  auto second = p.Next(first, HttpResponse{}, json(), 10, "http://h/api");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(Param(*second, "page"), "2");
  EXPECT_EQ(Param(*second, "per_page"), "10");
  EXPECT_FALSE(p.Next(*second, HttpResponse{}, json(), 9, "http://h/api").has_value());
  EXPECT_FALSE(p.Next(*second, HttpResponse{}, json(), 0, "http://h/api").has_value());
}

TEST(RestPaginatorTest, PageWithoutSizeStopsOnlyOnAnEmptyPage) {
  PaginationConfig c;
  c.type = "page";
  c.start_page = 0;
  RestPaginator p(c);
  EXPECT_EQ(Param(p.First(), "page"), "0");
  auto next = p.Next(p.First(), HttpResponse{}, json(), 3, "");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(Param(*next, "page"), "1");
  EXPECT_FALSE(p.Next(*next, HttpResponse{}, json(), 0, "").has_value());
}

TEST(RestPaginatorTest, OffsetAdvancesByTheRecordsReceived) {
  PaginationConfig c;
  c.type = "offset";
  c.page_size = 5;
  c.size_param = "limit";
  RestPaginator p(c);
  EXPECT_EQ(Param(p.First(), "offset"), "0");
  auto next = p.Next(p.First(), HttpResponse{}, json(), 5, "");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(Param(*next, "offset"), "5");
  EXPECT_EQ(Param(*next, "limit"), "5");
  EXPECT_FALSE(p.Next(*next, HttpResponse{}, json(), 2, "").has_value());
}

TEST(RestPaginatorTest, CursorFollowsTheBodyUntilItIsMissing) {
  PaginationConfig c;
  c.type = "cursor";
  c.cursor_path = "meta.next_cursor";
  c.cursor_param = "after";
  RestPaginator p(c);
  auto next =
      p.Next(p.First(), HttpResponse{}, json::parse(R"({"meta":{"next_cursor":"c10"}})"), 10, "");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(Param(*next, "after"), "c10");
  auto numeric =
      p.Next(p.First(), HttpResponse{}, json::parse(R"({"meta":{"next_cursor":42}})"), 1, "");
  ASSERT_TRUE(numeric.has_value());
  EXPECT_EQ(Param(*numeric, "after"), "42");
  for (const char* end :
       {R"({"meta":{"next_cursor":null}})", R"({"meta":{"next_cursor":""}})", R"({"meta":{}})"}) {
    EXPECT_FALSE(p.Next(*next, HttpResponse{}, json::parse(end), 10, "").has_value()) << end;
  }
  // A cursor with an empty page ends too (a server that always returns one would loop).
  EXPECT_FALSE(
      p.Next(*next, HttpResponse{}, json::parse(R"({"meta":{"next_cursor":"c11"}})"), 0, "")
          .has_value());
}

TEST(RestPaginatorTest, LinkHeaderResolvesRelativeUrlsAgainstTheOrigin) {
  PaginationConfig c;
  c.type = "link_header";
  RestPaginator p(c);
  HttpResponse r;
  r.headers = {{"Link", "</api/x?page=2>; rel=\"next\""}};
  auto next = p.Next(p.First(), r, json(), 10, "http://127.0.0.1:8080/api");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->url, "http://127.0.0.1:8080/api/x?page=2");
  r.headers = {{"Link", "<http://other/y?page=3>; rel=\"next\""}};
  next = p.Next(*next, r, json(), 10, "http://127.0.0.1:8080/api");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->url, "http://other/y?page=3");
  r.headers.clear();
  EXPECT_FALSE(p.Next(*next, r, json(), 10, "").has_value());
}

TEST(RestPaginatorTest, PositionsRoundTripThroughJson) {
  PagePosition p;
  p.params = {{"page", "3"}, {"per_page", "100"}};
  p.url = "http://h/x?page=3";
  auto back = PagePosition::FromJson(json::parse(p.ToJson().dump()));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->params, p.params);
  EXPECT_EQ(back->url, p.url);
  EXPECT_FALSE(PagePosition::FromJson(json::parse(R"({"params": [["a"]]})")).has_value());
  EXPECT_FALSE(PagePosition::FromJson(json("x")).has_value());
}

TEST(RestPaginatorTest, NoneIsASinglePage) {
  RestPaginator p(PaginationConfig{});
  EXPECT_TRUE(p.First().params.empty());
  EXPECT_FALSE(p.Next(p.First(), HttpResponse{}, json(), 100, "").has_value());
}

}  // namespace
}  // namespace dew::connectors
