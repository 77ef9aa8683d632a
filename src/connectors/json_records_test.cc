#include "connectors/json_records.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "engine/connection.h"
#include "engine/database.h"

namespace dew::connectors {
namespace {

using nlohmann::json;

class JsonRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_json_records_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto db = engine::Database::Open({});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto con = db_->Connect();
    ASSERT_TRUE(con.ok());
    con_ = std::move(con).value();
  }
  void TearDown() override {
    con_.reset();
    db_.reset();
    (void)FileSystem::Posix()->RemoveAll(dir_);
  }

  engine::TextTable Query(const std::string& sql) {
    auto t = con_->QueryText(sql);
    EXPECT_TRUE(t.ok()) << t.status().ToString() << "\n" << sql;
    return t.ok() ? std::move(t).value() : engine::TextTable();
  }

  std::string dir_;
  std::unique_ptr<engine::Database> db_;
  std::unique_ptr<engine::Connection> con_;
};

json UsersSchema() {
  return json::parse(R"({
    "type": ["null", "object"],
    "properties": {
      "id": {"type": "integer"},
      "amount": {"type": ["null", "number"]},
      "active": {"type": ["boolean", "null"]},
      "updated_at": {"type": ["null", "string"], "format": "date-time"},
      "birthday": {"type": "string", "format": "date"},
      "name": {"type": "string"},
      "address": {"type": "object", "properties": {"city": {"type": "string"}}},
      "tags": {"type": "array", "items": {"type": "string"}}
    }
  })");
}

TEST_F(JsonRecordsTest, ColumnsFromSchemaMapTypes) {
  auto cols = ColumnsFromJsonSchema(UsersSchema());
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  // Sorted by name: nlohmann::json does not keep the order properties were written in.
  std::vector<JsonColumn> expected = {{"active", "BOOLEAN"}, {"address", "JSON"},
                                      {"amount", "DOUBLE"},  {"birthday", "DATE"},
                                      {"id", "BIGINT"},      {"name", "VARCHAR"},
                                      {"tags", "JSON"},      {"updated_at", "TIMESTAMPTZ"}};
  EXPECT_EQ(*cols, expected);
}

TEST_F(JsonRecordsTest, ColumnsFromSchemaUnionsAndAirbyteTypes) {
  auto cols = ColumnsFromJsonSchema(json::parse(R"({"type": "object", "properties": {
    "a": {"type": ["integer", "number"]},
    "b": {"type": ["integer", "string"]},
    "c": {"type": ["string", "object"]},
    "d": {"anyOf": [{"type": "null"}, {"type": "string", "format": "date-time"}]},
    "e": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string"}]},
    "f": {},
    "g": {"type": "number", "airbyte_type": "integer"},
    "h": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_without_timezone"},
    "i": {"type": "null"},
    "j": true
  }})"));
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  std::vector<std::string> types;
  for (const auto& c : *cols) types.push_back(c.name + ":" + c.lake_type);
  EXPECT_EQ(types, (std::vector<std::string>{"a:DOUBLE", "b:VARCHAR", "c:JSON", "d:TIMESTAMPTZ",
                                             "e:VARCHAR", "f:JSON", "g:BIGINT", "h:TIMESTAMP",
                                             "i:VARCHAR", "j:JSON"}));
}

TEST_F(JsonRecordsTest, ColumnsFromSchemaErrorsNameTheProperty) {
  auto not_object = ColumnsFromJsonSchema(json::parse(R"({"type": "string"})"));
  ASSERT_FALSE(not_object.ok());
  EXPECT_TRUE(not_object.status().IsInvalidArgument());
  EXPECT_NE(not_object.status().message().find("not an object schema"), std::string::npos);

  auto bad_property =
      ColumnsFromJsonSchema(json::parse(R"({"type": "object", "properties": {"x": 5}})"));
  ASSERT_FALSE(bad_property.ok());
  EXPECT_NE(bad_property.status().message().find("property x"), std::string::npos);

  auto bad_type = ColumnsFromJsonSchema(
      json::parse(R"({"type": "object", "properties": {"y": {"type": "strng"}}})"));
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("property y: unknown type \"strng\""),
            std::string::npos)
      << bad_type.status().message();

  auto case_twins = ColumnsFromJsonSchema(json::parse(
      R"({"type": "object", "properties": {"Id": {"type": "integer"}, "id": {"type": "integer"}}})"));
  ASSERT_FALSE(case_twins.ok());
  EXPECT_NE(case_twins.status().message().find("property id"), std::string::npos);

  auto empty = ColumnsFromJsonSchema(json::parse(R"({"type": "object"})"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST_F(JsonRecordsTest, TypedSelectWithNullsNestedMissingAndExtraProperties) {
  auto cols = ColumnsFromJsonSchema(UsersSchema());
  ASSERT_TRUE(cols.ok());
  JsonRecordBuffer buffer(dir_ + "/spool", *cols);
  ASSERT_TRUE(buffer
                  .Add(json::parse(R"({"id": 1, "amount": 12.5, "active": true,
      "updated_at": "2024-03-01T10:00:00Z", "birthday": "1990-05-17", "name": "Ann \"A\"",
      "address": {"city": "Gent", "zip": [9000]}, "tags": ["x", "y"], "unknown": 7})"))
                  .ok());
  ASSERT_TRUE(buffer
                  .Add(json::parse(R"({"id": 2, "amount": null, "active": null,
      "updated_at": "2024-03-01T12:00:00.5+02:00", "name": null, "address": null})"))
                  .ok());
  ASSERT_TRUE(buffer.Add(json::parse(R"({"id": 3})")).ok());
  EXPECT_EQ(buffer.size(), 3);
  EXPECT_GT(buffer.bytes(), 100);
  auto select = buffer.Select();
  ASSERT_TRUE(select.ok()) << select.status().ToString();

  auto types = Query("SELECT column_name, column_type FROM (DESCRIBE " + *select + ")");
  ASSERT_EQ(types.rows.size(), 8u);  // "unknown" is not a column
  EXPECT_EQ(*types.rows[0][1], "BOOLEAN");
  EXPECT_EQ(*types.rows[1][1], "JSON");
  EXPECT_EQ(*types.rows[3][1], "DATE");
  EXPECT_EQ(*types.rows[4][1], "BIGINT");
  EXPECT_EQ(*types.rows[7][1], "TIMESTAMP WITH TIME ZONE");

  auto rows = Query(
      "SELECT id, amount, active, epoch_ms(updated_at), birthday, name, address, tags "
      "FROM (" +
      *select + ") ORDER BY id");
  ASSERT_EQ(rows.rows.size(), 3u);
  EXPECT_EQ(*rows.rows[0][1], "12.5");
  EXPECT_EQ(*rows.rows[0][2], "true");
  EXPECT_EQ(*rows.rows[0][3], "1709287200000");
  EXPECT_EQ(*rows.rows[0][4], "1990-05-17");
  EXPECT_EQ(*rows.rows[0][5], "Ann \"A\"");
  EXPECT_EQ(*rows.rows[0][6], R"({"city":"Gent","zip":[9000]})");
  EXPECT_EQ(*rows.rows[0][7], R"(["x","y"])");
  EXPECT_FALSE(rows.rows[1][1].has_value());     // explicit null
  EXPECT_EQ(*rows.rows[1][3], "1709287200500");  // 12:00:00.5+02:00
  EXPECT_FALSE(rows.rows[1][6].has_value());
  for (size_t c = 1; c < 8; c++) {
    EXPECT_FALSE(rows.rows[2][c].has_value()) << "missing property " << c << " is NULL";
  }
}

TEST_F(JsonRecordsTest, WrongValueTypeFailsWhenRead) {
  JsonRecordBuffer buffer(dir_, {{"id", "BIGINT"}});
  ASSERT_TRUE(buffer.Add(json{{"id", 1}}).ok());
  ASSERT_TRUE(buffer.Add(json{{"id", "one"}}).ok());
  auto select = buffer.Select();
  ASSERT_TRUE(select.ok());
  auto result = con_->QueryText(*select);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("line 2"), std::string::npos)
      << result.status().message();
}

TEST_F(JsonRecordsTest, RejectsNonObjects) {
  JsonRecordBuffer buffer(dir_, {{"id", "BIGINT"}});
  Status s = buffer.Add(json::array({1, 2}));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(buffer.size(), 0);
}

TEST_F(JsonRecordsTest, InfersTypesFromEveryRecord) {
  JsonRecordBuffer buffer(dir_, {});
  ASSERT_TRUE(buffer
                  .Add(json::parse(R"({"id": 1, "n": 1, "s": "a", "o": {"k": 1}, "z": null,
                                          "m": 1, "b": true, "t": "2024-01-01T00:00:00Z"})"))
                  .ok());
  ASSERT_TRUE(buffer
                  .Add(json::parse(R"({"id": 2, "n": 2.5, "s": null, "o": [1], "m": "x",
                                          "ID": 99, "late": false})"))
                  .ok());
  std::vector<std::string> types;
  for (const auto& c : buffer.columns()) types.push_back(c.name + ":" + c.lake_type);
  // First-seen order; the keys of one record come sorted by name.
  EXPECT_EQ(types,
            (std::vector<std::string>{"b:BOOLEAN", "id:BIGINT", "m:VARCHAR", "n:DOUBLE", "o:JSON",
                                      "s:VARCHAR", "t:VARCHAR", "z:VARCHAR", "late:BOOLEAN"}));
  auto select = buffer.Select();
  ASSERT_TRUE(select.ok()) << select.status().ToString();
  auto rows = Query("SELECT id, n, o, m, late FROM (" + *select + ") ORDER BY id");
  ASSERT_EQ(rows.rows.size(), 2u);
  EXPECT_EQ(*rows.rows[1][0], "2");  // "ID": 99 is ignored, not mixed into id
  EXPECT_EQ(*rows.rows[1][1], "2.5");
  EXPECT_EQ(*rows.rows[1][2], "[1]");
  EXPECT_EQ(*rows.rows[0][3], "1");
  EXPECT_FALSE(rows.rows[0][4].has_value());

  // Inferred types survive Clear and only widen.
  ASSERT_TRUE(buffer.Clear().ok());
  ASSERT_TRUE(buffer.Add(json{{"id", nullptr}}).ok());
  EXPECT_EQ(buffer.columns()[1].name, "id");
  EXPECT_EQ(buffer.columns()[1].lake_type, "BIGINT");
}

TEST_F(JsonRecordsTest, EmptyBuffer) {
  JsonRecordBuffer typed(dir_, {{"id", "BIGINT"}, {"ts", "TIMESTAMPTZ"}});
  auto select = typed.Select();
  ASSERT_TRUE(select.ok());
  auto rows = Query("SELECT count(*) FROM (" + *select + ")");
  EXPECT_EQ(*rows.rows[0][0], "0");
  auto types = Query("SELECT column_type FROM (DESCRIBE " + *select + ")");
  ASSERT_EQ(types.rows.size(), 2u);
  EXPECT_EQ(*types.rows[1][0], "TIMESTAMP WITH TIME ZONE");

  JsonRecordBuffer untyped(dir_, {});
  auto none = untyped.Select();
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(none.status().IsInvalidArgument());
}

TEST_F(JsonRecordsTest, ClearStartsANewBatchAndDestructorRemovesSpool) {
  std::string spool = dir_ + "/nested/spool";
  {
    JsonRecordBuffer buffer(spool, {{"id", "BIGINT"}});
    EXPECT_FALSE(FileSystem::Posix()->Exists(spool));  // nothing before the first Add
    for (int i = 0; i < 10; i++) ASSERT_TRUE(buffer.Add(json{{"id", i}}).ok());
    ASSERT_TRUE(buffer.Clear().ok());
    EXPECT_EQ(buffer.size(), 0);
    EXPECT_EQ(buffer.bytes(), 0);
    ASSERT_TRUE(buffer.Add(json{{"id", 100}}).ok());
    auto select = buffer.Select();
    ASSERT_TRUE(select.ok());
    auto rows = Query("SELECT count(*), max(id) FROM (" + *select + ")");
    EXPECT_EQ(*rows.rows[0][0], "1");
    EXPECT_EQ(*rows.rows[0][1], "100");
    auto files = FileSystem::Posix()->ListDir(spool);
    ASSERT_TRUE(files.ok());
    ASSERT_EQ(files->size(), 1u);
    struct stat st;
    ASSERT_EQ(stat((spool + "/" + (*files)[0].name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);  // records may hold personal data
  }
  auto files = FileSystem::Posix()->ListDir(spool);
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(files->empty());
}

TEST_F(JsonRecordsTest, SetColumnsRereadsSpooledRecords) {
  JsonRecordBuffer buffer(dir_, {{"id", "BIGINT"}});
  ASSERT_TRUE(buffer.Add(json{{"id", 1}, {"name", "a"}}).ok());
  buffer.SetColumns({{"id", "BIGINT"}, {"name", "VARCHAR"}});
  auto select = buffer.Select();
  ASSERT_TRUE(select.ok());
  auto rows = Query("SELECT name FROM (" + *select + ")");
  ASSERT_EQ(rows.rows.size(), 1u);
  EXPECT_EQ(*rows.rows[0][0], "a");
}

TEST_F(JsonRecordsTest, LargeBatch) {
  auto cols = ColumnsFromJsonSchema(UsersSchema());
  ASSERT_TRUE(cols.ok());
  JsonRecordBuffer buffer(dir_, *cols);
  const int n = 200000;
  for (int i = 0; i < n; i++) {
    ASSERT_TRUE(buffer
                    .Add(json{{"id", i},
                              {"amount", i * 0.5},
                              {"name", "user " + std::to_string(i)},
                              {"updated_at", "2024-01-01T00:00:00Z"},
                              {"address", {{"n", i}}}})
                    .ok());
  }
  auto select = buffer.Select();
  ASSERT_TRUE(select.ok());
  auto rows = Query(
      "SELECT count(*), sum(id), count(DISTINCT name), sum((address->>'n')::BIGINT) "
      "FROM (" +
      *select + ")");
  EXPECT_EQ(*rows.rows[0][0], std::to_string(n));
  EXPECT_EQ(*rows.rows[0][1], std::to_string(int64_t{n} * (n - 1) / 2));
  EXPECT_EQ(*rows.rows[0][2], std::to_string(n));
  EXPECT_EQ(*rows.rows[0][3], std::to_string(int64_t{n} * (n - 1) / 2));
}

}  // namespace
}  // namespace dew::connectors
