#include "cli/output.h"

#include <gtest/gtest.h>
#include <stdio.h>

#include <cstdlib>

namespace dew::cli {
namespace {

using engine::LogicalType;
using engine::TypeId;

std::string Render(OutputFormat format, const engine::TextTable& table) {
  char* buf = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buf, &size);
  ResultWriter writer(format, out);
  writer.Write(table);
  std::fclose(out);
  std::string text(buf, size);
  std::free(buf);
  return text;
}

engine::TextTable Sample() {
  engine::TextTable t;
  t.names = {"id", "name", "ok"};
  t.types = {TypeOf(TypeId::kBigInt), TypeOf(TypeId::kVarchar), TypeOf(TypeId::kBoolean)};
  t.rows.push_back({"1", "a,\"q\"\nb", "true"});
  t.rows.push_back({"100", std::nullopt, std::nullopt});
  return t;
}

TEST(OutputTest, TableAlignsAndRightAlignsNumbers) {
  EXPECT_EQ(Render(OutputFormat::kTable, Sample()),
            " id | name     | ok\n"
            "----+----------+-----\n"
            "  1 | a,\"q\"\\nb | true\n"
            "100 | NULL     | NULL\n");
}

TEST(OutputTest, TableShowsAtMostMaxRowsAndSaysSo) {
  engine::TextTable t;
  t.names = {"n"};
  t.types = {TypeOf(TypeId::kBigInt)};
  for (size_t i = 0; i < ResultWriter::kMaxTableRows + 5; i++) t.rows.push_back({"1"});
  char* note = nullptr;
  size_t note_size = 0;
  FILE* notes = open_memstream(&note, &note_size);
  FILE* out = std::fopen("/dev/null", "w");
  ResultWriter writer(OutputFormat::kTable, out, notes);
  writer.Write(t);
  std::fclose(out);
  std::fclose(notes);
  std::string text(note, note_size);
  std::free(note);
  EXPECT_NE(text.find("5 more not shown"), std::string::npos) << text;
}

TEST(OutputTest, CsvFollowsRfc4180) {
  EXPECT_EQ(Render(OutputFormat::kCsv, Sample()), "id,name,ok\n1,\"a,\"\"q\"\"\nb\",true\n100,,\n");
}

TEST(OutputTest, JsonHasNumbersAndNulls) {
  EXPECT_EQ(Render(OutputFormat::kJson, Sample()),
            "[\n  {\"id\": 1, \"name\": \"a,\\\"q\\\"\\nb\", \"ok\": true},\n"
            "  {\"id\": 100, \"name\": null, \"ok\": null}\n]\n");
  engine::TextTable empty;
  empty.names = {"x"};
  empty.types = {TypeOf(TypeId::kDouble)};
  EXPECT_EQ(Render(OutputFormat::kJson, empty), "[]\n");
  engine::TextTable odd = empty;
  odd.rows.push_back({"inf"});
  EXPECT_EQ(Render(OutputFormat::kJson, odd), "[\n  {\"x\": \"inf\"}\n]\n");
}

TEST(OutputTest, FormatNames) {
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  auto bad = ParseOutputFormat("yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'yaml'"), std::string::npos);
  EXPECT_EQ(JsonString("\x01"), "\"\\u0001\"");
  EXPECT_EQ(CsvField("plain"), "plain");
}

}  // namespace
}  // namespace dew::cli
