#include "connectors/xmlrpc.h"

#include <gtest/gtest.h>

namespace dew::connectors {
namespace {

using Type = XmlRpcValue::Type;

TEST(XmlRpcTest, RoundTripsEveryType) {
  XmlRpcValue v = XmlRpcValue::Struct({
      {"i", XmlRpcValue::Int(-42)},
      {"big", XmlRpcValue::Int(int64_t{1} << 40)},
      {"d", XmlRpcValue::Double(1234.5)},
      {"t", XmlRpcValue::Boolean(true)},
      {"f", XmlRpcValue::Boolean(false)},
      {"s", XmlRpcValue::String("a < b && c > \"d\" 'e'\r\n")},
      {"when", XmlRpcValue::DateTime("20240131T10:00:00")},
      {"blob", XmlRpcValue::Base64(std::string("\0\x01\xff\xfe", 4))},
      {"none", XmlRpcValue::Nil()},
      {"list", XmlRpcValue::Array({XmlRpcValue::Int(1), XmlRpcValue::String("two")})},
      {"empty", XmlRpcValue::Array({})},
  });
  const std::string xml = EncodeMethodCall("execute_kw", {XmlRpcValue::String("db"), v});
  auto call = DecodeMethodCall(xml);
  ASSERT_TRUE(call.ok()) << call.status().ToString();
  EXPECT_EQ(call->method, "execute_kw");
  ASSERT_EQ(call->params.size(), 2u);
  EXPECT_EQ(call->params[0].text(), "db");
  const XmlRpcValue& s = call->params[1];
  ASSERT_EQ(s.type(), Type::kStruct);
  EXPECT_EQ(s.Find("i")->integer(), -42);
  EXPECT_EQ(s.Find("big")->integer(), int64_t{1} << 40);
  EXPECT_EQ(s.Find("d")->type(), Type::kDouble);
  EXPECT_DOUBLE_EQ(s.Find("d")->number(), 1234.5);
  EXPECT_TRUE(s.Find("t")->boolean());
  EXPECT_EQ(s.Find("f")->type(), Type::kBoolean);
  EXPECT_FALSE(s.Find("f")->boolean());
  EXPECT_EQ(s.Find("s")->text(), "a < b && c > \"d\" 'e'\r\n");
  EXPECT_EQ(s.Find("when")->type(), Type::kDateTime);
  EXPECT_EQ(s.Find("when")->text(), "20240131T10:00:00");
  EXPECT_EQ(s.Find("blob")->type(), Type::kBase64);
  EXPECT_EQ(s.Find("blob")->text(), std::string("\0\x01\xff\xfe", 4));
  EXPECT_TRUE(s.Find("none")->is_nil());
  ASSERT_EQ(s.Find("list")->items().size(), 2u);
  EXPECT_EQ(s.Find("list")->items()[1].text(), "two");
  EXPECT_EQ(s.Find("empty")->type(), Type::kArray);
  EXPECT_EQ(s.Find("missing"), nullptr);
}

TEST(XmlRpcTest, EscapesMarkupInStrings) {
  const std::string xml = EncodeValue(XmlRpcValue::String("<b>&amp;</b>"));
  EXPECT_EQ(xml, "<value><string>&lt;b&gt;&amp;amp;&lt;/b&gt;</string></value>");
}

// The shape Python's xmlrpc.client (and so Odoo) writes: whitespace between elements, untyped
// values as strings, i4, character references, a CDATA section.
TEST(XmlRpcTest, DecodesPythonStyleResponse) {
  const std::string xml =
      "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n"
      "<value><array><data>\n<value><struct>\n"
      "<member>\n<name>id</name>\n<value><i4>7</i4></value>\n</member>\n"
      "<member>\n<name>name</name>\n<value>Caf&#233; &#x4E2D; &lt;x&gt;</value>\n</member>\n"
      "<member>\n<name>partner_id</name>\n<value><array><data>\n<value><int>3</int></value>\n"
      "<value><string>Azure Interior</string></value>\n</data></array></value>\n</member>\n"
      "<member>\n<name>note</name>\n<value><string><![CDATA[a <raw> & text]]></string></value>"
      "\n</member>\n"
      "<member>\n<name>amount</name>\n<value><double>1234.10</double></value>\n</member>\n"
      "<member>\n<name>ref</name>\n<value><boolean>0</boolean></value>\n</member>\n"
      "</struct></value>\n</data></array></value>\n</param>\n</params>\n</methodResponse>\n";
  auto r = DecodeMethodResponse(xml);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_FALSE(r->is_fault);
  ASSERT_EQ(r->value.items().size(), 1u);
  const XmlRpcValue& rec = r->value.items()[0];
  EXPECT_EQ(rec.Find("id")->integer(), 7);
  EXPECT_EQ(rec.Find("name")->text(), "Caf\xc3\xa9 \xe4\xb8\xad <x>");
  EXPECT_EQ(rec.Find("note")->text(), "a <raw> & text");
  EXPECT_EQ(rec.Find("amount")->text(), "1234.10");  // exact wire text for monetary amounts
  nlohmann::json j = rec.ToJson();
  EXPECT_EQ(j["partner_id"], nlohmann::json::array({3, "Azure Interior"}));
  EXPECT_EQ(j["ref"], false);
  EXPECT_DOUBLE_EQ(j["amount"].get<double>(), 1234.1);
}

TEST(XmlRpcTest, DecodesFault) {
  auto r = DecodeMethodResponse(EncodeFault(3, "Access Denied"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->is_fault);
  EXPECT_EQ(r->fault_code, 3);
  EXPECT_EQ(r->fault_string, "Access Denied");
}

TEST(XmlRpcTest, JsonConversionBothWays) {
  nlohmann::json domain = nlohmann::json::parse(
      R"(["|", ["write_date", ">", "2024-01-01 00:00:00"], ["id", "in", [1, 2, 3]],
          {"limit": 10, "ratio": 0.5, "active": true, "x": null}])");
  XmlRpcValue v = XmlRpcValue::FromJson(domain);
  EXPECT_EQ(v.items()[2].items()[2].items()[1].type(), Type::kInt);
  EXPECT_EQ(v.items()[3].Find("ratio")->type(), Type::kDouble);
  EXPECT_EQ(v.items()[3].Find("active")->type(), Type::kBoolean);
  EXPECT_TRUE(v.items()[3].Find("x")->is_nil());
  auto back = DecodeMethodResponse(EncodeMethodResponse(v));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->value.ToJson(), domain);
}

TEST(XmlRpcTest, RejectsMalformedXmlNamingTheLine) {
  struct Case {
    const char* xml;
    const char* problem;
  } cases[] = {
      {"<methodResponse>\n<params>\n<param><value><int>x</int></value></param></params>"
       "</methodResponse>",
       "line 3: <int>: 'x' is not an integer"},
      {"<methodResponse><params>\n</param></params></methodResponse>", "line 2: </param> closes"},
      {"<methodResponse><params><param><value><foo>1</foo></value></param></params>"
       "</methodResponse>",
       "unknown XML-RPC type"},
      {"<methodResponse><params><param><value>&bogus;</value></param></params></methodResponse>",
       "unknown entity &bogus;"},
      {"<!DOCTYPE x [<!ENTITY a 'b'>]><methodResponse/>", "DOCTYPE and entity"},
      {"<methodResponse><params><param><value><boolean>2</boolean></value></param></params>"
       "</methodResponse>",
       "not 0 or 1"},
      {"<methodResponse><params><param><value><string>open", "missing </string>"},
      {"<methodCall/>", "expected <methodResponse>"},
      {"<methodResponse><fault><value><int>1</int></value></fault></methodResponse>",
       "faultCode and faultString"},
  };
  for (const Case& c : cases) {
    auto r = DecodeMethodResponse(c.xml);
    ASSERT_FALSE(r.ok()) << c.xml;
    EXPECT_NE(r.status().message().find(c.problem), std::string::npos)
        << c.xml << " -> " << r.status().message();
  }
}

TEST(XmlRpcTest, RefusesDeepNesting) {
  std::string xml = "<methodResponse><params><param>";
  for (int i = 0; i < 300; ++i) xml += "<value><array><data>";
  auto r = DecodeMethodResponse(xml);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nesting deeper"), std::string::npos);
}

TEST(XmlRpcTest, Base64) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto back = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*Base64Decode("Zm9v\nYg=="), "foob");
  EXPECT_FALSE(Base64Decode("Zm9v*").ok());
}

}  // namespace
}  // namespace dew::connectors
