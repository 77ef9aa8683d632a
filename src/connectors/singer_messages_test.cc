#include "connectors/singer_messages.h"

#include <gtest/gtest.h>

namespace dew::connectors {
namespace {

using nlohmann::json;

TEST(SingerMessagesTest, ParsesSchemaRecordStateAndActivateVersion) {
  auto schema = ParseSingerLine(
      R"({"type": "SCHEMA", "stream": "users", "schema": {"type": "object", "properties":
          {"id": {"type": "integer"}}}, "key_properties": ["id"],
          "bookmark_properties": ["updated_at"]})",
      1);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->type, SingerMessage::Type::kSchema);
  EXPECT_EQ(schema->stream, "users");
  EXPECT_EQ(schema->key_properties, std::vector<std::string>{"id"});
  EXPECT_EQ(schema->bookmark_properties, std::vector<std::string>{"updated_at"});
  EXPECT_EQ(schema->schema["properties"]["id"]["type"], "integer");

  auto record = ParseSingerLine(
      R"({"type": "RECORD", "stream": "users", "record": {"id": 1}, "version": 3,
          "time_extracted": "2024-01-01T00:00:00Z"})",
      2);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->type, SingerMessage::Type::kRecord);
  EXPECT_EQ(record->record, json({{"id", 1}}));
  EXPECT_EQ(record->time_extracted, "2024-01-01T00:00:00Z");
  EXPECT_EQ(record->version, 3);

  auto state = ParseSingerLine(R"({"type": "STATE", "value": {"bookmarks": {"users": 5}}})", 3);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->type, SingerMessage::Type::kState);
  EXPECT_EQ(state->value["bookmarks"]["users"], 5);

  auto activate =
      ParseSingerLine(R"({"type": "ACTIVATE_VERSION", "stream": "users", "version": 9})", 4);
  ASSERT_TRUE(activate.ok());
  EXPECT_EQ(activate->type, SingerMessage::Type::kActivateVersion);
  EXPECT_EQ(activate->version, 9);

  // A schema without key_properties is fine (they are optional for streams without keys).
  auto no_keys = ParseSingerLine(R"({"type": "SCHEMA", "stream": "s", "schema": {}})", 5);
  ASSERT_TRUE(no_keys.ok());
  EXPECT_TRUE(no_keys->key_properties.empty());
}

TEST(SingerMessagesTest, ErrorsNameTheLineAndProblem) {
  struct Case {
    const char* line;
    const char* expected;
  };
  const Case cases[] = {
      {"not json at all", "line 7: not JSON"},
      {"[1, 2]", "line 7: not a JSON object"},
      {R"({"stream": "x"})", "line 7: message without a string \"type\""},
      {R"({"type": "BATCH", "stream": "x"})", "line 7: unknown message type \"BATCH\""},
      {R"({"type": "RECORD", "record": {}})", "line 7: RECORD message without a \"stream\""},
      {R"({"type": "RECORD", "stream": "x", "record": [1]})",
       "line 7: RECORD of stream x without a \"record\" object"},
      {R"({"type": "SCHEMA", "stream": "x"})", "line 7: SCHEMA of stream x without a \"schema\""},
      {R"({"type": "SCHEMA", "stream": "x", "schema": {}, "key_properties": "id"})",
       "line 7: SCHEMA of stream x: key_properties is not a list"},
      {R"({"type": "STATE"})", "line 7: STATE message without a \"value\""},
  };
  for (const Case& c : cases) {
    auto m = ParseSingerLine(c.line, 7);
    ASSERT_FALSE(m.ok()) << c.line;
    EXPECT_TRUE(m.status().IsInvalidArgument());
    EXPECT_NE(m.status().message().find(c.expected), std::string::npos)
        << c.line << " gave " << m.status().message();
  }
}

json Catalog() {
  return json::parse(R"({"streams": [
    {"tap_stream_id": "users", "stream": "users",
     "schema": {"type": "object", "properties": {"id": {"type": "integer"},
                                                 "name": {"type": "string"}}},
     "metadata": [{"breadcrumb": [], "metadata": {"table-key-properties": ["id"],
                                                  "valid-replication-keys": ["id"]}},
                  {"breadcrumb": ["properties", "id"], "metadata": {"inclusion": "automatic"}},
                  {"breadcrumb": ["properties", "name"], "metadata": {"inclusion": "available"}}]},
    {"tap_stream_id": "orders", "schema": {"type": "object", "properties": {}},
     "key_properties": ["order_id"]}
  ]})");
}

TEST(SingerMessagesTest, ParsesCatalog) {
  auto catalog = ParseSingerCatalog(Catalog());
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  ASSERT_EQ(catalog->size(), 2u);
  EXPECT_EQ((*catalog)[0].stream, "users");
  EXPECT_EQ((*catalog)[0].key_properties, std::vector<std::string>{"id"});
  EXPECT_EQ((*catalog)[0].valid_replication_keys, std::vector<std::string>{"id"});
  EXPECT_EQ((*catalog)[1].stream, "orders");  // from tap_stream_id
  EXPECT_EQ((*catalog)[1].key_properties, std::vector<std::string>{"order_id"});

  auto bad = ParseSingerCatalog(json::parse(R"({"streams": [{"stream": "x"}]})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("streams[0]: stream x: no schema"), std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(ParseSingerCatalog(json::array()).ok());
}

TEST(SingerMessagesTest, SelectsOneStreamWithReplicationMetadata) {
  auto catalog = ParseSingerCatalog(Catalog());
  ASSERT_TRUE(catalog.ok());
  json selected = SelectSingerStream(*catalog, "users", "incremental", "id", {"id"});
  const json& users = selected["streams"][0];
  EXPECT_EQ(users["metadata"][0]["metadata"]["selected"], true);
  EXPECT_EQ(users["metadata"][0]["metadata"]["replication-method"], "INCREMENTAL");
  EXPECT_EQ(users["metadata"][0]["metadata"]["replication-key"], "id");
  EXPECT_EQ(users["metadata"][0]["metadata"]["table-key-properties"], json({"id"}));
  EXPECT_FALSE(users["metadata"][1]["metadata"].contains("selected"));  // automatic stays
  EXPECT_EQ(users["metadata"][2]["metadata"]["selected"], false);       // not in columns
  EXPECT_EQ(users["selected"], true);
  EXPECT_EQ(users["replication_method"], "INCREMENTAL");

  const json& orders = selected["streams"][1];
  ASSERT_EQ(orders["metadata"].size(), 1u);  // a root breadcrumb was added
  EXPECT_EQ(orders["metadata"][0]["breadcrumb"], json::array());
  EXPECT_EQ(orders["metadata"][0]["metadata"]["selected"], false);
  EXPECT_EQ(orders["selected"], false);

  json full = SelectSingerStream(*catalog, "orders", "full_refresh", "", {});
  EXPECT_EQ(full["streams"][1]["metadata"][0]["metadata"]["replication-method"], "FULL_TABLE");
  EXPECT_EQ(full["streams"][0]["metadata"][0]["metadata"]["selected"], false);
}

}  // namespace
}  // namespace dew::connectors
