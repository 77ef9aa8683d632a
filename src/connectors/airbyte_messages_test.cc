#include "connectors/airbyte_messages.h"

#include <gtest/gtest.h>

namespace dew::connectors {
namespace {

using nlohmann::json;

TEST(AirbyteMessagesTest, ParsesEveryMessageType) {
  auto record = ParseAirbyteLine(
      R"({"type": "RECORD", "record": {"stream": "users", "namespace": "public",
          "data": {"id": 1}, "emitted_at": 1700000000000}})",
      1);
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(record->type, AirbyteMessage::Type::kRecord);
  EXPECT_EQ(record->stream, "users");
  EXPECT_EQ(record->namespace_, "public");
  EXPECT_EQ(record->data, json({{"id", 1}}));
  EXPECT_EQ(record->emitted_at, 1700000000000);

  auto log = ParseAirbyteLine(R"({"type": "LOG", "log": {"level": "WARN", "message": "slow"}})", 2);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->type, AirbyteMessage::Type::kLog);
  EXPECT_EQ(log->level, "WARN");
  EXPECT_EQ(log->message, "slow");

  auto trace = ParseAirbyteLine(
      R"({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 1, "error":
          {"message": "boom", "internal_message": "stack", "failure_type": "system_error"}}})",
      3);
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->type, AirbyteMessage::Type::kTrace);
  EXPECT_EQ(trace->level, "ERROR");
  EXPECT_EQ(trace->message, "boom");
  EXPECT_EQ(trace->internal_message, "stack");
  EXPECT_EQ(trace->failure_type, "system_error");

  auto spec = ParseAirbyteLine(R"({"type": "SPEC", "spec": {"connectionSpecification": {}}})", 4);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->type, AirbyteMessage::Type::kSpec);
  EXPECT_TRUE(spec->payload.contains("connectionSpecification"));

  auto status = ParseAirbyteLine(
      R"({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "FAILED", "message": "no"}})",
      5);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->type, AirbyteMessage::Type::kConnectionStatus);
  EXPECT_EQ(status->message, "no");

  auto catalog = ParseAirbyteLine(R"({"type": "CATALOG", "catalog": {"streams": []}})", 6);
  ASSERT_TRUE(catalog.ok());
  EXPECT_EQ(catalog->type, AirbyteMessage::Type::kCatalog);

  auto control = ParseAirbyteLine(R"({"type": "CONTROL", "control": {}})", 7);
  ASSERT_TRUE(control.ok());
  EXPECT_EQ(control->type, AirbyteMessage::Type::kOther);
  EXPECT_EQ(control->type_name, "CONTROL");
}

TEST(AirbyteMessagesTest, ParsesTheThreeStateForms) {
  auto stream = ParseAirbyteLine(
      R"({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor":
          {"name": "users"}, "stream_state": {"cursor": 5}}}})",
      1);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ(stream->state_form, AirbyteMessage::StateForm::kStream);
  EXPECT_EQ(stream->state_stream, "users");

  auto global = ParseAirbyteLine(
      R"({"type": "STATE", "state": {"type": "GLOBAL", "global": {"shared_state": {},
          "stream_states": []}}})",
      2);
  ASSERT_TRUE(global.ok());
  EXPECT_EQ(global->state_form, AirbyteMessage::StateForm::kGlobal);

  auto legacy = ParseAirbyteLine(R"({"type": "STATE", "state": {"data": {"users": 3}}})", 3);
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(legacy->state_form, AirbyteMessage::StateForm::kLegacy);
}

TEST(AirbyteMessagesTest, ErrorsNameTheLineAndProblem) {
  struct Case {
    const char* line;
    const char* expected;
  };
  const Case cases[] = {
      {"{oops", "line 9: not JSON"},
      {"3", "line 9: not a JSON object"},
      {R"({"record": {}})", "line 9: message without a string \"type\""},
      {R"({"type": "RECORD"})", "line 9: RECORD message without a \"record\" object"},
      {R"({"type": "RECORD", "record": {"data": {}}})", "line 9: RECORD without record.stream"},
      {R"({"type": "RECORD", "record": {"stream": "s", "data": 1}})",
       "line 9: RECORD of stream s without a data object"},
      {R"({"type": "STATE", "state": {"type": "STREAM", "stream": {}}})",
       "line 9: STREAM state without stream.stream_descriptor.name"},
      {R"({"type": "STATE", "state": {"type": "GLOBAL"}})",
       "line 9: GLOBAL state without a \"global\" object"},
      {R"({"type": "STATE", "state": {"type": "PER_TABLE"}})",
       "line 9: unknown state type \"PER_TABLE\""},
      {R"({"type": "STATE", "state": {}})", "line 9: LEGACY state without \"data\""},
      {R"({"type": "CONNECTION_STATUS", "connectionStatus": {}})",
       "line 9: CONNECTION_STATUS without a status"},
  };
  for (const Case& c : cases) {
    auto m = ParseAirbyteLine(c.line, 9);
    ASSERT_FALSE(m.ok()) << c.line;
    EXPECT_NE(m.status().message().find(c.expected), std::string::npos)
        << c.line << " gave " << m.status().message();
  }
}

AirbyteMessage State(const std::string& text) {
  auto m = ParseAirbyteLine(R"({"type": "STATE", "state": )" + text + "}", 1);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : AirbyteMessage();
}

TEST(AirbyteMessagesTest, StateTrackerKeepsTheNewestPerStreamAndRoundTrips) {
  AirbyteStateTracker tracker{json()};
  EXPECT_TRUE(tracker.State().is_null());
  tracker.Add(State(R"({"type": "STREAM", "stream": {"stream_descriptor": {"name": "a"},
                       "stream_state": {"c": 1}}})"));
  tracker.Add(State(R"({"type": "STREAM", "stream": {"stream_descriptor": {"name": "b"},
                       "stream_state": {"c": 7}}})"));
  tracker.Add(State(R"({"type": "STREAM", "stream": {"stream_descriptor": {"name": "a"},
                       "stream_state": {"c": 2}}})"));
  json state = tracker.State();
  ASSERT_TRUE(state.is_array());
  ASSERT_EQ(state.size(), 2u);
  EXPECT_EQ(state[0]["stream"]["stream_state"]["c"], 2);
  EXPECT_EQ(state[1]["stream"]["stream_state"]["c"], 7);

  AirbyteStateTracker resumed(state);
  EXPECT_EQ(resumed.State(), state);
  resumed.Add(State(R"({"type": "STREAM", "stream": {"stream_descriptor": {"name": "b"},
                       "stream_state": {"c": 8}}})"));
  EXPECT_EQ(resumed.State()[1]["stream"]["stream_state"]["c"], 8);
}

TEST(AirbyteMessagesTest, StateTrackerGlobalAndLegacy) {
  AirbyteStateTracker global{json()};
  global.Add(State(R"({"type": "GLOBAL", "global": {"shared_state": {"lsn": 1},
                      "stream_states": []}})"));
  global.Add(State(R"({"type": "GLOBAL", "global": {"shared_state": {"lsn": 2},
                      "stream_states": []}})"));
  json g = global.State();
  ASSERT_TRUE(g.is_array());
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0]["global"]["shared_state"]["lsn"], 2);
  EXPECT_EQ(AirbyteStateTracker(g).State(), g);

  AirbyteStateTracker legacy{json()};
  legacy.Add(State(R"({"data": {"users": {"cursor": 4}}})"));
  EXPECT_EQ(legacy.State(), json::parse(R"({"users": {"cursor": 4}})"));
  EXPECT_EQ(AirbyteStateTracker(legacy.State()).State(), legacy.State());
}

}  // namespace
}  // namespace dew::connectors
