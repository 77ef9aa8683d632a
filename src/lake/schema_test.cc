#include "lake/schema.h"

#include <gtest/gtest.h>

#include "engine/query_result.h"
#include "lake/lake_test_util.h"

namespace dew::lake {
namespace {

class SchemaTest : public ::testing::Test {
 protected:
  Result<Schema> SchemaOf(const std::string& select) {
    auto result = engine_.con->Query(select);
    if (!result.ok()) return result.status();
    return Schema::FromDuckDb((*result)->names(), (*result)->types());
  }
  testing::TestEngine engine_;
};

TEST_F(SchemaTest, MapsDuckDbTypesToDeltaAndBack) {
  auto schema = SchemaOf(
      "SELECT 1::TINYINT a, 1::SMALLINT b, 1::INTEGER c, 1::BIGINT d, 1::FLOAT e, 1::DOUBLE f, "
      "1.5::DECIMAL(18,2) g, 'x' h, 'x'::BLOB i, true j, DATE '2024-01-01' k, "
      "TIMESTAMPTZ '2024-01-01 00:00:00+00' l, TIMESTAMP '2024-01-01' m, uuid() n, "
      "1::UTINYINT o, 1::USMALLINT p, 1::UINTEGER q, 1::UBIGINT r, [1, 2] s, "
      "{'x': 1, 'y': 'a'} t, MAP {'k': 1} u, [TIMESTAMP '2024-01-01'] v");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"byte", "TINYINT"},
      {"short", "SMALLINT"},
      {"integer", "INTEGER"},
      {"long", "BIGINT"},
      {"float", "FLOAT"},
      {"double", "DOUBLE"},
      {"decimal(18,2)", "DECIMAL(18,2)"},
      {"string", "VARCHAR"},
      {"binary", "BLOB"},
      {"boolean", "BOOLEAN"},
      {"date", "DATE"},
      {"timestamp", "TIMESTAMP WITH TIME ZONE"},
      {"timestamp", "TIMESTAMP"},
      {"string", "UUID"},
      {"short", "SMALLINT"},
      {"integer", "INTEGER"},
      {"long", "BIGINT"},
      {"decimal(20,0)", "DECIMAL(20,0)"},
      {R"({"containsNull":true,"elementType":"integer","type":"array"})", "INTEGER[]"},
      {"", R"(STRUCT("x" INTEGER, "y" VARCHAR))"},
      {"", "MAP(VARCHAR, INTEGER)"},
      {"", "TIMESTAMP[]"},
  };
  ASSERT_EQ(schema->fields().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const Field& f = schema->fields()[i];
    if (!expected[i].first.empty()) {
      EXPECT_EQ(f.type, expected[i].first) << f.name;
    }
    auto duck = DuckDbTypeOf(f);
    ASSERT_TRUE(duck.ok()) << duck.status().ToString();
    EXPECT_EQ(*duck, expected[i].second) << f.name;
  }

  // The Delta JSON round trip keeps the hints, so TIMESTAMP stays TIMESTAMP.
  auto back = Schema::FromDeltaJson(schema->ToDeltaJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->fields().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    auto duck = DuckDbTypeOf(back->fields()[i]);
    ASSERT_TRUE(duck.ok());
    EXPECT_EQ(*duck, expected[i].second);
  }
  EXPECT_EQ(*DuckDbTypeOf(schema->fields()[12].type), "TIMESTAMP WITH TIME ZONE");
}

TEST_F(SchemaTest, RefusesTypesDeltaCannotHold) {
  for (const std::string type : {"HUGEINT", "TIME", "INTERVAL"}) {
    auto schema = SchemaOf("SELECT 1 AS ok, CAST(NULL AS " + type + ") AS bad_col");
    ASSERT_FALSE(schema.ok()) << type;
    EXPECT_EQ(schema.status().code(), Status::Code::kNotSupported);
    EXPECT_NE(schema.status().message().find("bad_col"), std::string::npos)
        << schema.status().message();
    EXPECT_NE(schema.status().message().find("CAST"), std::string::npos);
  }
  auto nested = SchemaOf("SELECT [INTERVAL 1 DAY] AS l");
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("'l.element'"), std::string::npos);
}

TEST_F(SchemaTest, ParsesForeignSchemaStrings) {
  auto schema = Schema::FromDeltaJson(
      R"j({"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}},)j"
      R"j({"name":"tags","type":{"type":"map","keyType":"string","valueType":"string","valueContainsNull":true},"nullable":true,"metadata":{}},)j"
      R"j({"name":"amount","type":"decimal(10,2)","nullable":false,"metadata":{}}]})j");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->Names(), (std::vector<std::string>{"id", "tags", "amount"}));
  EXPECT_FALSE(schema->fields()[2].nullable);
  EXPECT_EQ(*DuckDbTypeOf(schema->fields()[1]), "MAP(VARCHAR, VARCHAR)");
  EXPECT_EQ(*DuckDbTypeOf(schema->fields()[2]), "DECIMAL(10,2)");
  ASSERT_NE(schema->Find("AMOUNT"), nullptr);
  EXPECT_EQ(schema->Find("nope"), nullptr);

  EXPECT_FALSE(Schema::FromDeltaJson("{not json").ok());
  auto not_struct = Schema::FromDeltaJson(R"({"type":"array"})");
  ASSERT_FALSE(not_struct.ok());
  EXPECT_EQ(not_struct.status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(DuckDbTypeOf("variant").ok());
}

TEST_F(SchemaTest, MergeAddsNullableColumnsOnlyWhenAsked) {
  auto table = SchemaOf("SELECT 1::BIGINT id, 'a' AS name");
  auto wider = SchemaOf("SELECT 2::BIGINT id, 'b' AS name, 1.5::DOUBLE score");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ASSERT_TRUE(wider.ok()) << wider.status().ToString();

  auto refused = table->Merge(*wider, /*merge_schema=*/false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("score"), std::string::npos);

  auto merged = table->Merge(*wider, /*merge_schema=*/true);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->Names(), (std::vector<std::string>{"id", "name", "score"}));

  // Fewer columns are fine: the missing ones are written as NULL.
  auto narrower = SchemaOf("SELECT 3::BIGINT id");
  auto same = table->Merge(*narrower, false);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->Names(), table->Names());

  // Narrower integers widen into the table's type.
  auto small = SchemaOf("SELECT 3::INTEGER id, NULL::VARCHAR AS name");
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_TRUE(table->Merge(*small, false).ok());
}

TEST_F(SchemaTest, MergeAcceptsLosslessWidening) {
  auto table =
      SchemaOf("SELECT 1::BIGINT a, 1.5::DECIMAL(18,2) b, 1.0::DOUBLE c, 1::DECIMAL(12,0) d");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  for (const std::string ok :
       {"SELECT 1::TINYINT a, 75.25 b, 1::INTEGER c, 7::INTEGER d",
        "SELECT 1::SMALLINT a, 1::INTEGER b, 1::FLOAT c, 7::DECIMAL(5,0) d"}) {
    auto incoming = SchemaOf(ok);
    ASSERT_TRUE(incoming.ok()) << incoming.status().ToString();
    auto merged = table->Merge(*incoming, false);
    EXPECT_TRUE(merged.ok()) << ok << ": " << merged.status().ToString();
  }
  for (const std::string bad :
       {"SELECT 1.5::DOUBLE a", "SELECT 1.555::DECIMAL(5,3) b", "SELECT 1::BIGINT c",
        "SELECT 1::BIGINT d", "SELECT 1::DECIMAL(20,0) b"}) {
    auto incoming = SchemaOf(bad);
    ASSERT_TRUE(incoming.ok()) << incoming.status().ToString();
    EXPECT_FALSE(table->Merge(*incoming, false).ok()) << bad;
  }
}

TEST_F(SchemaTest, MergeTypeMismatchNamesColumnAndBothTypes) {
  auto table = SchemaOf("SELECT 1::BIGINT id, TIMESTAMP '2024-01-01' ts");
  auto text_id = SchemaOf("SELECT 'x' id");
  ASSERT_TRUE(table.ok() && text_id.ok());
  auto merged = table->Merge(*text_id, true);
  ASSERT_FALSE(merged.ok());
  EXPECT_TRUE(merged.status().IsInvalidArgument());
  const std::string& msg = merged.status().message();
  EXPECT_NE(msg.find("'id'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("BIGINT"), std::string::npos) << msg;
  EXPECT_NE(msg.find("VARCHAR"), std::string::npos) << msg;

  auto tz = SchemaOf("SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' ts");
  auto tz_merge = table->Merge(*tz, false);
  ASSERT_FALSE(tz_merge.ok());
  EXPECT_NE(tz_merge.status().message().find("TIMESTAMP WITH TIME ZONE"), std::string::npos);
}

}  // namespace
}  // namespace dew::lake
