#include "lake/actions.h"

#include <gtest/gtest.h>

namespace dew::lake {
namespace {

TEST(ActionsTest, FileNamesHaveTwentyDigits) {
  EXPECT_EQ(CommitFileName(0), "00000000000000000000.json");
  EXPECT_EQ(CommitFileName(123), "00000000000000000123.json");
  EXPECT_EQ(CheckpointFileName(10), "00000000000000000010.checkpoint.parquet");
}

TEST(ActionsTest, EncodesAndDecodesPaths) {
  EXPECT_EQ(EncodePath("s=a b/part-1.parquet"), "s=a%20b/part-1.parquet");
  // A folder DuckDB named with its own escapes keeps its '%' through the round trip.
  const std::string duck = "s=a%2Fb%20c%3D%250/part-{x}.parquet";
  EXPECT_EQ(EncodePath(duck), "s=a%252Fb%2520c%253D%25250/part-%7Bx%7D.parquet");
  EXPECT_EQ(DecodePath(EncodePath(duck)), duck);
  EXPECT_EQ(DecodePath("letter=%252F%252520%2525f/x"), "letter=%2F%2520%25f/x");
  EXPECT_EQ(DecodePath("data=\xF0\x9F\x98\x88/p"), "data=\xF0\x9F\x98\x88/p");
  EXPECT_EQ(DecodePath("bad%zz%4"), "bad%zz%4");
  EXPECT_EQ(DecodePath(EncodePath("ü/ä")), "ü/ä");
}

TEST(ActionsTest, ParsesEveryActionKind) {
  const std::string text =
      R"({"commitInfo":{"timestamp":1587968586154,"operation":"WRITE","operationParameters":{"mode":"ErrorIfExists","partitionBy":"[]"},"isBlindAppend":true,"engineInfo":"x","txnId":"abc"}})"
      "\n"
      R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})"
      "\n"
      R"({"metaData":{"id":"u1","format":{"provider":"parquet","options":{}},"schemaString":"{}","partitionColumns":["p"],"configuration":{"k":"v"},"createdTime":5}})"
      "\n"
      R"({"add":{"path":"p=1/f.parquet","partitionValues":{"p":"1","q":null},"size":10,"modificationTime":7,"dataChange":true,"stats":"{\"numRecords\":3}"}})"
      "\n"
      R"({"remove":{"path":"old.parquet","deletionTimestamp":9,"dataChange":true,"extendedFileMetadata":true,"partitionValues":{},"size":4}})"
      "\n"
      R"({"txn":{"appId":"conn","version":4,"lastUpdated":8}})"
      "\n"
      R"({"cdc":{"path":"ignored"}})"
      "\n\n";
  auto parsed = ParseCommit(text, "t/_delta_log/0.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_TRUE(parsed->commit_info.has_value());
  EXPECT_EQ(parsed->commit_info->operation, "WRITE");
  EXPECT_EQ(*parsed->commit_info->timestamp, 1587968586154);
  EXPECT_EQ(parsed->commit_info->operation_parameters.at("mode"), "ErrorIfExists");
  EXPECT_NE(parsed->commit_info->raw_json.find("txnId"), std::string::npos);
  ASSERT_TRUE(parsed->protocol.has_value());
  EXPECT_EQ(parsed->protocol->min_writer_version, 2);
  ASSERT_TRUE(parsed->metadata.has_value());
  EXPECT_EQ(parsed->metadata->partition_columns, std::vector<std::string>{"p"});
  EXPECT_EQ(parsed->metadata->configuration.at("k"), "v");
  ASSERT_EQ(parsed->adds.size(), 1u);
  EXPECT_EQ(parsed->adds[0].partition_values.at("p"), std::optional<std::string>("1"));
  EXPECT_FALSE(parsed->adds[0].partition_values.at("q").has_value());
  EXPECT_EQ(parsed->adds[0].NumRecords(), 3);
  ASSERT_EQ(parsed->removes.size(), 1u);
  EXPECT_EQ(*parsed->removes[0].deletion_timestamp, 9);
  EXPECT_TRUE(parsed->removes[0].extended_file_metadata);
  ASSERT_EQ(parsed->txns.size(), 1u);
  EXPECT_EQ(parsed->txns[0].app_id, "conn");
  EXPECT_EQ(parsed->txns[0].version, 4);
}

TEST(ActionsTest, MalformedLineNamesFileAndLine) {
  const std::string text = R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})"
                           "\n"
                           R"({"add":{"path":"a.parquet",)"
                           "\n";
  auto parsed = ParseCommit(text, "/t/_delta_log/00000000000000000003.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), Status::Code::kCorruption);
  EXPECT_NE(parsed.status().message().find("/t/_delta_log/00000000000000000003.json line 2"),
            std::string::npos)
      << parsed.status().message();
}

TEST(ActionsTest, AddWithoutPathIsCorruption) {
  auto parsed = ParseCommit("{\"add\":{\"size\":3}}\n", "c.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("c.json line 1"), std::string::npos);
}

TEST(ActionsTest, SerializeRoundTripsInProtocolOrder) {
  CommitActions actions;
  CommitInfo info;
  info.timestamp = 1000;
  info.operation = "WRITE";
  info.operation_parameters["mode"] = "Append";
  info.operation_metrics["numOutputRows"] = "3";
  info.user_name = "ana";
  info.run_id = "run-1";
  actions.commit_info = info;
  actions.protocol = Protocol{};
  Metadata md;
  md.id = "id-1";
  md.schema_string = R"({"type":"struct","fields":[]})";
  md.partition_columns = {"d"};
  md.created_time = 5;
  actions.metadata = md;
  AddFile add;
  add.path = "d=2024-01-01/part-1.parquet";
  add.partition_values["d"] = "2024-01-01";
  add.size = 100;
  add.modification_time = 1000;
  add.stats = R"({"numRecords":3})";
  actions.adds.push_back(add);
  RemoveFile rm;
  rm.path = "old.parquet";
  rm.deletion_timestamp = 1000;
  actions.removes.push_back(rm);
  actions.txns.push_back(Txn{"app", 7, std::nullopt});

  const std::string text = SerializeCommit(actions);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.rfind("{\"commitInfo\"", 0), 0u) << text;
  EXPECT_LT(text.find("\"protocol\""), text.find("\"metaData\""));
  EXPECT_LT(text.find("\"metaData\""), text.find("\"txn\""));
  EXPECT_LT(text.find("\"txn\""), text.find("\"remove\""));
  EXPECT_LT(text.find("\"remove\""), text.find("\"add\""));

  auto back = ParseCommit(text, "x");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->commit_info->run_id, "run-1");
  EXPECT_EQ(back->commit_info->user_name, "ana");
  EXPECT_EQ(back->commit_info->operation_metrics.at("numOutputRows"), "3");
  EXPECT_EQ(back->metadata->schema_string, md.schema_string);
  EXPECT_EQ(*back->metadata->created_time, 5);
  EXPECT_EQ(back->adds[0].path, add.path);
  EXPECT_EQ(back->adds[0].NumRecords(), 3);
  EXPECT_EQ(back->removes[0].path, "old.parquet");
  EXPECT_EQ(back->txns[0].version, 7);
}

TEST(ActionsTest, NumRecordsUnknownWithoutStats) {
  AddFile add;
  EXPECT_EQ(add.NumRecords(), -1);
  add.stats = "not json";
  EXPECT_EQ(add.NumRecords(), -1);
  add.stats = R"({"numRecords":0})";
  EXPECT_EQ(add.NumRecords(), 0);
}

}  // namespace
}  // namespace dew::lake
