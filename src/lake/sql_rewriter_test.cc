#include "lake/sql_rewriter.h"

#include <gtest/gtest.h>

#include "lake/sql_tokenizer.h"

namespace dew::lake {
namespace {

// Resolves every table to a recognisable SELECT naming the table and point in time.
class EchoResolver : public TableResolver {
 public:
  Result<std::string> ScanTable(const std::string& table, const TimeTravel& at) override {
    if (table == "gold.missing") return Status::NotFound("unknown table gold.missing");
    return "SELECT * FROM scan('" + table + "'" + Point(at) + ")";
  }
  Result<std::string> ScanPath(const std::string& path, const TimeTravel& at) override {
    return "SELECT * FROM path('" + path + "'" + Point(at) + ")";
  }

 private:
  static std::string Point(const TimeTravel& at) {
    if (at.version) return ", v" + std::to_string(*at.version);
    if (at.timestamp) return ", t=" + *at.timestamp;
    return "";
  }
};

std::string Rewrite(const std::string& sql) {
  EchoResolver r;
  auto out = RewriteReads(sql, r);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : "";
}

Status RewriteError(const std::string& sql) {
  EchoResolver r;
  auto out = RewriteReads(sql, r);
  return out.ok() ? Status::OK() : out.status();
}

LakeStatement Parse(const std::string& sql) {
  EchoResolver r;
  auto st = ParseStatement(sql, r);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  return st.ok() ? *st : LakeStatement{};
}

Status ParseError(const std::string& sql) {
  EchoResolver r;
  auto st = ParseStatement(sql, r);
  return st.ok() ? Status::OK() : st.status();
}

TEST(SqlTokenizerTest, SplitsAtTopLevelSemicolonsOnly) {
  auto parts =
      SplitStatements("SELECT 'a;b' AS \"x;y\"; -- c;d\n SELECT 2 /* ; */;;  ;\n-- only a comment");
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0], "SELECT 'a;b' AS \"x;y\"");
  EXPECT_EQ((*parts)[1], " -- c;d\n SELECT 2 /* ; */");
}

TEST(SqlTokenizerTest, ReportsUnterminatedStringWithPosition) {
  auto t = Tokenize("SELECT 1,\n  'abc");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("line 2, column 3"), std::string::npos)
      << t.status().message();
  EXPECT_FALSE(Tokenize("SELECT \"abc").ok());
  EXPECT_FALSE(Tokenize("SELECT /* abc").ok());
}

TEST(SqlTokenizerTest, UnquotesIdentifiersAndStrings) {
  auto t = Tokenize("\"My \"\"Col\"\"\" 'it''s' E'a\\'b' Foo");
  ASSERT_TRUE(t.ok());
  std::vector<Token> sig;
  for (auto& x : *t)
    if (x.Significant()) sig.push_back(x);
  ASSERT_EQ(sig.size(), 4u);
  EXPECT_EQ(sig[0].Identifier(), "My \"Col\"");
  EXPECT_EQ(sig[1].StringValue(), "it's");
  EXPECT_EQ(sig[2].StringValue(), "a'b");
  EXPECT_EQ(sig[3].Identifier(), "foo");
}

TEST(SqlRewriterTest, LeavesPlainSqlUntouched) {
  std::string sql =
      "SELECT 'gold.x VERSION AS OF 3' AS \"delta_scan('p')\" -- gold.x VERSION AS OF 1\n"
      "FROM gold.x /* delta_scan('q') */ WHERE a = 'TIMESTAMP AS OF'";
  EXPECT_EQ(Rewrite(sql), sql);
}

TEST(SqlRewriterTest, VersionAsOfAddsAliasWhenAbsent) {
  EXPECT_EQ(Rewrite("SELECT x.id FROM gold.x VERSION AS OF 3 WHERE id > 1"),
            "SELECT x.id FROM (SELECT * FROM scan('gold.x', v3)) AS \"x\" WHERE id > 1");
}

TEST(SqlRewriterTest, KeepsAliasesAfterTimeTravel) {
  EXPECT_EQ(Rewrite("SELECT * FROM gold.x version as of 3 AS a JOIN gold.x VERSION AS OF 4 b "
                    "ON a.id = b.id"),
            "SELECT * FROM (SELECT * FROM scan('gold.x', v3)) AS a JOIN (SELECT * FROM "
            "scan('gold.x', v4)) b ON a.id = b.id");
}

TEST(SqlRewriterTest, TimestampAsOfAndBareNames) {
  EXPECT_EQ(Rewrite("SELECT * FROM silver.y TIMESTAMP AS OF '2026-01-31 23:59:59'"),
            "SELECT * FROM (SELECT * FROM scan('silver.y', t=2026-01-31 23:59:59)) AS \"y\"");
  EXPECT_EQ(Rewrite("SELECT * FROM y TIMESTAMP AS OF TIMESTAMP '2026-01-31'"),
            "SELECT * FROM (SELECT * FROM scan('y', t=2026-01-31)) AS \"y\"");
}

TEST(SqlRewriterTest, AtVersionSuffix) {
  EXPECT_EQ(Rewrite("SELECT count(*) FROM gold.x@v2"),
            "SELECT count(*) FROM (SELECT * FROM scan('gold.x', v2)) AS \"x\"");
  EXPECT_FALSE(RewriteError("SELECT * FROM gold.x@latest").ok());
}

TEST(SqlRewriterTest, DeltaScanSpellings) {
  EXPECT_EQ(Rewrite("SELECT * FROM delta_scan('t/simple')"),
            "SELECT * FROM (SELECT * FROM path('t/simple')) AS delta_scan");
  EXPECT_EQ(Rewrite("SELECT * FROM delta_scan('t/simple', version => 0) s WHERE s.id < 3"),
            "SELECT * FROM (SELECT * FROM path('t/simple', v0)) s WHERE s.id < 3");
  EXPECT_EQ(Rewrite("SELECT * FROM DELTA_SCAN('it''s', timestamp => '2026-01-01') AS d"),
            "SELECT * FROM (SELECT * FROM path('it's', t=2026-01-01)) AS d");
}

TEST(SqlRewriterTest, RewritesInsideNestedSubqueries) {
  EXPECT_EQ(Rewrite("SELECT * FROM (SELECT id FROM (SELECT * FROM gold.x VERSION AS OF 1) "
                    "WHERE id IN (SELECT id FROM delta_scan('p'))) q"),
            "SELECT * FROM (SELECT id FROM (SELECT * FROM (SELECT * FROM scan('gold.x', v1)) "
            "AS \"x\") WHERE id IN (SELECT id FROM (SELECT * FROM path('p')) AS delta_scan)) q");
}

TEST(SqlRewriterTest, MalformedSpellingsAreErrors) {
  EXPECT_NE(RewriteError("SELECT * FROM gold.x VERSION AS OF -1").message().find("non-negative"),
            std::string::npos);
  EXPECT_NE(RewriteError("SELECT * FROM gold.x VERSION AS OF 'a'").message().find("gold.x"),
            std::string::npos);
  EXPECT_NE(RewriteError("SELECT * FROM gold.x TIMESTAMP AS OF 5").message().find("timestamp"),
            std::string::npos);
  EXPECT_NE(RewriteError("SELECT * FROM delta_scan(42)").message().find("path"), std::string::npos);
  EXPECT_NE(RewriteError("SELECT * FROM delta_scan('p', vers => 1)").message().find("vers"),
            std::string::npos);
  EXPECT_NE(RewriteError("SELECT * FROM delta_scan('p', version => 1, timestamp => 'x')")
                .message()
                .find("not both"),
            std::string::npos);
  EXPECT_TRUE(RewriteError("SELECT * FROM gold.missing VERSION AS OF 1").IsNotFound());
}

TEST(SqlRewriterTest, ListsLakeReferences) {
  auto refs = LakeTableReferences(
      "SELECT * FROM gold.a JOIN silver.b ON 1=1 JOIN main.c ON 1=1 JOIN gold.a ON 1=1 "
      "WHERE 'bronze.z' <> '' AND x.gold.q = 1");
  EXPECT_EQ(refs, (std::vector<std::string>{"gold.a", "silver.b"}));
}

TEST(SqlRewriterTest, ParsesCreateTableAs) {
  LakeStatement st = Parse(
      "create or replace table gold.gold_fin_tb partitioned by (month, \"Acct\") as "
      "select * from silver.x VERSION AS OF 2");
  EXPECT_EQ(st.kind, StatementKind::kCreateTableAs);
  EXPECT_EQ(st.table, "gold.gold_fin_tb");
  EXPECT_TRUE(st.or_replace);
  EXPECT_EQ(st.partition_by, (std::vector<std::string>{"month", "Acct"}));
  EXPECT_EQ(st.query, "select * from (SELECT * FROM scan('silver.x', v2)) AS \"x\"");

  LakeStatement defs = Parse("CREATE TABLE silver.s (id BIGINT, name VARCHAR) USING DELTA");
  EXPECT_EQ(defs.kind, StatementKind::kCreateTable);
  EXPECT_EQ(defs.column_defs, "id BIGINT, name VARCHAR");
}

TEST(SqlRewriterTest, OtherSchemasPassThrough) {
  for (std::string sql : {"CREATE TABLE t AS SELECT 1", "CREATE TEMP TABLE gold_x AS SELECT 1",
                          "INSERT INTO main.t VALUES (1)", "DELETE FROM t WHERE a = 1",
                          "DROP TABLE t", "UPDATE t SET a = 1", "SELECT 1"}) {
    LakeStatement st = Parse(sql);
    EXPECT_EQ(st.kind, StatementKind::kPassThrough) << sql;
    EXPECT_EQ(st.sql, sql);
  }
}

TEST(SqlRewriterTest, NotesTablesCreatedOutsideTheLake) {
  EXPECT_EQ(Parse("CREATE TABLE totals AS SELECT 1").session_table, "totals");
  EXPECT_EQ(Parse("CREATE OR REPLACE TABLE main.t (a INT)").session_table, "main.t");
  EXPECT_EQ(Parse("CREATE TEMP TABLE t AS SELECT 1").session_table, "");
  EXPECT_EQ(Parse("CREATE TABLE silver.t AS SELECT 1").session_table, "");
}

TEST(SqlRewriterTest, ParsesInsertForms) {
  LakeStatement a = Parse("INSERT INTO silver.s (id, name) VALUES (1, 'a'), (2, 'b')");
  EXPECT_EQ(a.kind, StatementKind::kInsert);
  EXPECT_EQ(a.columns, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(a.query, "VALUES (1, 'a'), (2, 'b')");

  LakeStatement b = Parse("INSERT INTO silver.s (SELECT * FROM gold.x@v1)");
  EXPECT_TRUE(b.columns.empty());
  EXPECT_EQ(b.query, "(SELECT * FROM (SELECT * FROM scan('gold.x', v1)) AS \"x\")");

  LakeStatement c = Parse("INSERT OVERWRITE TABLE silver.s SELECT 1 AS id");
  EXPECT_EQ(c.kind, StatementKind::kInsertOverwrite);
  EXPECT_EQ(c.table, "silver.s");
  EXPECT_EQ(c.query, "SELECT 1 AS id");

  LakeStatement d = Parse("INSERT INTO silver.s BY NAME SELECT 1 AS id");
  EXPECT_TRUE(d.by_name);
  EXPECT_EQ(d.query, "SELECT 1 AS id");

  EXPECT_EQ(ParseError("INSERT OR REPLACE INTO silver.s VALUES (1)").code(),
            Status::Code::kNotSupported);
}

TEST(SqlRewriterTest, ParsesDeleteTruncateDrop) {
  LakeStatement a = Parse("DELETE FROM bronze.raw_a_b WHERE id IN (SELECT id FROM gold.x@v0)");
  EXPECT_EQ(a.kind, StatementKind::kDelete);
  EXPECT_EQ(a.predicate, "id IN (SELECT id FROM (SELECT * FROM scan('gold.x', v0)) AS \"x\")");
  LakeStatement b = Parse("DELETE FROM bronze.raw_a_b");
  EXPECT_EQ(b.kind, StatementKind::kDelete);
  EXPECT_TRUE(b.predicate.empty());
  EXPECT_EQ(Parse("TRUNCATE TABLE silver.s").kind, StatementKind::kDelete);
  LakeStatement d = Parse("DROP TABLE IF EXISTS gold.gold_a_b");
  EXPECT_EQ(d.kind, StatementKind::kDropTable);
  EXPECT_TRUE(d.if_exists);
  EXPECT_EQ(d.table, "gold.gold_a_b");
  EXPECT_EQ(ParseError("DELETE FROM silver.s t WHERE t.id = 1").code(),
            Status::Code::kNotSupported);
  EXPECT_EQ(ParseError("UPDATE silver.s SET a = 1").code(), Status::Code::kNotSupported);
  EXPECT_EQ(ParseError("ALTER TABLE silver.s ADD COLUMN b INT").code(),
            Status::Code::kNotSupported);
}

TEST(SqlRewriterTest, ParsesOptimize) {
  LakeStatement a = Parse("OPTIMIZE silver.s");
  EXPECT_EQ(a.kind, StatementKind::kOptimize);
  EXPECT_EQ(a.table, "silver.s");
  EXPECT_TRUE(a.predicate.empty());
  LakeStatement b = Parse("optimize bronze.raw_a_b WHERE _ingest_date >= '2026-12-01'");
  EXPECT_EQ(b.kind, StatementKind::kOptimize);
  EXPECT_EQ(b.predicate, "_ingest_date >= '2026-12-01'");
  Status zorder = ParseError("OPTIMIZE silver.s ZORDER BY (id)");
  EXPECT_EQ(zorder.code(), Status::Code::kNotSupported);
  EXPECT_NE(zorder.message().find("ZORDER"), std::string::npos);
  Status junk = ParseError("OPTIMIZE silver.s FULL");
  EXPECT_EQ(junk.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(junk.message().find("'FULL'"), std::string::npos) << junk.ToString();
  EXPECT_EQ(ParseError("OPTIMIZE silver.s WHERE").code(), Status::Code::kInvalidArgument);
  // Not a lake table: DuckDB's business.
  EXPECT_EQ(Parse("OPTIMIZE main.t").kind, StatementKind::kPassThrough);
}

TEST(SqlRewriterTest, ParsesTableProperties) {
  LakeStatement a = Parse(
      "ALTER TABLE silver.s SET TBLPROPERTIES ('delta.enableDeletionVectors' = 'true', "
      "delta.targetFileSize = 33554432, 'delta.autoOptimize.autoCompact' false)");
  EXPECT_EQ(a.kind, StatementKind::kSetProperties);
  EXPECT_EQ(a.table, "silver.s");
  EXPECT_EQ(a.properties,
            (std::map<std::string, std::string>{{"delta.enableDeletionVectors", "true"},
                                                {"delta.targetFileSize", "33554432"},
                                                {"delta.autoOptimize.autoCompact", "false"}}));
  LakeStatement b =
      Parse("ALTER TABLE gold.gold_a_b UNSET TBLPROPERTIES IF EXISTS ('owner', delta.x)");
  EXPECT_EQ(b.kind, StatementKind::kUnsetProperties);
  EXPECT_TRUE(b.if_exists);
  EXPECT_EQ(b.unset_properties, (std::vector<std::string>{"owner", "delta.x"}));
  EXPECT_EQ(ParseError("ALTER TABLE silver.s SET TBLPROPERTIES ('a' = 1, 'a' = 2)").code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseError("ALTER TABLE silver.s SET TBLPROPERTIES 'a' = 1").code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseError("ALTER TABLE silver.s SET TBLPROPERTIES ('a' = 1").code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseError("ALTER TABLE silver.s SET TBLPROPERTIES ('a' = )").code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseError("ALTER TABLE silver.s SET TBLPROPERTIES ('a' = 1) extra").code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(ParseError("ALTER TABLE silver.s RENAME TO silver.t").code(),
            Status::Code::kNotSupported);
}

TEST(SqlRewriterTest, ParsesMergeKeys) {
  LakeStatement m = Parse(
      "MERGE INTO silver.s USING (SELECT * FROM bronze.raw_a_b VERSION AS OF 1) AS src "
      "ON src.id = silver.s.id AND s.region = src.region "
      "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *");
  EXPECT_EQ(m.kind, StatementKind::kMerge);
  EXPECT_EQ(m.table, "silver.s");
  EXPECT_EQ(m.merge_keys, (std::vector<std::string>{"id", "region"}));
  EXPECT_EQ(m.query, "SELECT * FROM (SELECT * FROM scan('bronze.raw_a_b', v1)) AS \"raw_a_b\"");

  LakeStatement t = Parse(
      "MERGE INTO silver.s AS t USING bronze.raw_a_b b ON (t.id = b.id) "
      "WHEN NOT MATCHED THEN INSERT * WHEN MATCHED THEN UPDATE SET *");
  EXPECT_EQ(t.merge_keys, (std::vector<std::string>{"id"}));
  EXPECT_EQ(t.query, "SELECT * FROM bronze.raw_a_b");
}

TEST(SqlRewriterTest, RejectsOtherMergeForms) {
  const std::string head = "MERGE INTO silver.s USING (SELECT 1 AS id) s2 ON ";
  EXPECT_EQ(ParseError(head + "s2.id = s.id WHEN MATCHED THEN DELETE").code(),
            Status::Code::kNotSupported);
  EXPECT_EQ(ParseError(head + "s2.id = s.id WHEN MATCHED THEN UPDATE SET a = 1 WHEN NOT MATCHED "
                              "THEN INSERT *")
                .code(),
            Status::Code::kNotSupported);
  EXPECT_EQ(ParseError(head + "s2.id = s.id WHEN NOT MATCHED THEN INSERT *").code(),
            Status::Code::kNotSupported);
  EXPECT_EQ(ParseError(head + "s2.id > s.id WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN "
                              "INSERT *")
                .code(),
            Status::Code::kNotSupported);
  EXPECT_EQ(ParseError(head + "s2.id = s.key WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED "
                              "THEN INSERT *")
                .code(),
            Status::Code::kNotSupported);
}

}  // namespace
}  // namespace dew::lake
