// Runs the built `dew` binary (DEW_BINARY) in temporary folders and checks its output, its error
// messages and its exit codes, verb by verb.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/dew_process.h"

namespace dew {
namespace {

using testing::DewRun;
using testing::ReadAll;
using testing::ShellQuote;

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_cli_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    project_ = dir_ + "/proj";
  }
  void TearDown() override { (void)std::system(("rm -rf " + ShellQuote(dir_)).c_str()); }

  //! Runs dew in `cwd` with `args`; stdin is empty.
  DewRun DewIn(const std::string& cwd, const std::vector<std::string>& args) {
    return testing::RunDew(cwd, args, dir_);
  }
  //! Runs dew inside the project.
  DewRun Dew(const std::vector<std::string>& args) { return DewIn(project_, args); }
  //! Runs dew inside the project and expects success.
  std::string Ok(const std::vector<std::string>& args) {
    DewRun r = Dew(args);
    EXPECT_EQ(r.code, 0) << "dew " << (args.empty() ? "" : args[0]) << " failed: " << r.err;
    return r.out;
  }
  //! The CSV output of a query, without the header line.
  std::string Csv(const std::string& sql) {
    std::string out = Ok({"sql", "--format", "csv", sql});
    size_t nl = out.find('\n');
    return nl == std::string::npos ? "" : out.substr(nl + 1);
  }
  void InitProject() {
    DewRun r = DewIn(dir_, {"init", "proj"});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  //! bronze.raw_test_items with ids 1..3.
  void LoadItems() {
    WriteText(project_ + "/items.csv", "id,name,amount\n1,a,2.5\n2,b,3.5\n3,c,4.5\n");
    Ok({"load", "items.csv", "bronze.raw_test_items"});
  }

  std::string dir_;
  std::string project_;
};

TEST_F(CliTest, VersionAndHelp) {
  DewRun v = DewIn(dir_, {"--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.out.find("dew "), std::string::npos);
  EXPECT_NE(v.out.find("DuckDB v"), std::string::npos);
  DewRun h = DewIn(dir_, {"--help"});
  EXPECT_EQ(h.code, 0);
  for (const char* verb : {"init", "sql", "load", "table"}) {
    EXPECT_NE(h.out.find(verb), std::string::npos) << verb;
    DewRun vh = DewIn(dir_, {verb, "--help"});
    EXPECT_EQ(vh.code, 0) << verb;
    EXPECT_NE(vh.out.find("usage: dew " + std::string(verb)), std::string::npos) << vh.out;
  }
  DewRun bad = DewIn(dir_, {"frobnicate"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.err.rfind("dew: error: unknown verb 'frobnicate'", 0), 0u) << bad.err;
  DewRun opt = DewIn(dir_, {"sql", "--bogus", "SELECT 1"});
  EXPECT_EQ(opt.code, 2);
  EXPECT_NE(opt.err.find("--bogus"), std::string::npos);
}

TEST_F(CliTest, InitLaysOutProjectAndRefusesTwice) {
  InitProject();
  for (const char* f : {"dew.yml", "connections", "pipelines", "models", "notebooks", "seeds",
                        ".dew", ".gitignore"}) {
    EXPECT_EQ(access((project_ + "/" + f).c_str(), F_OK), 0) << f;
  }
  std::string yml = ReadAll(project_ + "/dew.yml");
  EXPECT_NE(yml.find("name: proj"), std::string::npos);
  EXPECT_NE(yml.find("lake: lake"), std::string::npos);
  std::string ignore = ReadAll(project_ + "/.gitignore");
  EXPECT_NE(ignore.find("lake/"), std::string::npos);
  EXPECT_NE(ignore.find(".dew/"), std::string::npos);
  DewRun again = DewIn(dir_, {"init", "proj"});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
}

TEST_F(CliTest, OutsideAProjectSaysHowToCreateOne) {
  DewRun r = DewIn(dir_, {"sql", "SELECT 1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("dew: error: not inside a dew project", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("dew init"), std::string::npos);
  EXPECT_TRUE(r.out.empty());
  // --project names one from anywhere; a subfolder finds it by walking up.
  InitProject();
  DewRun p = DewIn(dir_, {"--project", "proj", "sql", "--format", "csv", "SELECT 42 AS x"});
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(p.out, "x\n42\n");
  DewRun sub = DewIn(project_ + "/models", {"sql", "--format", "csv", "SELECT 1 AS y"});
  EXPECT_EQ(sub.code, 0) << sub.err;
}

TEST_F(CliTest, LoadsCsvJsonAndParquetWithLineage) {
  InitProject();
  LoadItems();
  EXPECT_EQ(Csv("SELECT id, name, _source, _stream, _cursor IS NULL, typeof(_emitted_at), "
                "typeof(_ingest_date), _ingest_date = CAST(_emitted_at AS DATE), "
                "length(_run_id) FROM bronze.raw_test_items ORDER BY id"),
            "1,a,test,items,true,TIMESTAMP WITH TIME ZONE,DATE,true,36\n"
            "2,b,test,items,true,TIMESTAMP WITH TIME ZONE,DATE,true,36\n"
            "3,c,test,items,true,TIMESTAMP WITH TIME ZONE,DATE,true,36\n");
  std::string describe = Ok({"table", "describe", "bronze.raw_test_items", "--format", "json"});
  auto j = nlohmann::json::parse(describe);
  EXPECT_EQ(j["partition_columns"], nlohmann::json::array({"_ingest_date"}));

  WriteText(project_ + "/events.ndjson", "{\"k\": 1, \"v\": \"x\"}\n{\"k\": 2, \"v\": \"y\"}\n");
  Ok({"load", "events.ndjson", "bronze.raw_app_events", "--source", "mobile"});
  EXPECT_EQ(Csv("SELECT k, v, _source, _stream FROM bronze.raw_app_events ORDER BY k"),
            "1,x,mobile,events\n2,y,mobile,events\n");

  Ok({"sql", "COPY (SELECT range AS i FROM range(3)) TO 'p.parquet' (FORMAT parquet)"});
  Ok({"load", "p.parquet", "raw_files_p"});  // bare names land in bronze
  EXPECT_EQ(Csv("SELECT i, _cursor FROM bronze.raw_files_p ORDER BY i"),
            "0," + project_ + "/p.parquet:1\n1," + project_ + "/p.parquet:2\n2," + project_ +
                "/p.parquet:3\n");

  // A second load appends in one new commit; --mode overwrite replaces.
  Ok({"load", "items.csv", "bronze.raw_test_items"});
  EXPECT_EQ(Csv("SELECT count(*), count(DISTINCT _run_id) FROM bronze.raw_test_items"), "6,2\n");
  Ok({"load", "items.csv", "bronze.raw_test_items", "--mode", "overwrite"});
  EXPECT_EQ(Csv("SELECT count(*) FROM bronze.raw_test_items"), "3\n");
  // Globs, other delimiters and compressed files.
  (void)std::system(("mkdir -p " + ShellQuote(project_ + "/in")).c_str());
  WriteText(project_ + "/in/a.tsv", "k\tv\n1\tx\n");
  WriteText(project_ + "/in/b.tsv", "k\tv\n2\ty\n");
  Ok({"load", "in/*.tsv", "bronze.raw_tab_kv"});
  EXPECT_EQ(Csv("SELECT k, v FROM bronze.raw_tab_kv ORDER BY k"), "1,x\n2,y\n");
  WriteText(project_ + "/in/c.csv", "k;v\n3;z\n");
  (void)std::system(("gzip " + ShellQuote(project_ + "/in/c.csv")).c_str());
  Ok({"load", "in/c.csv.gz", "bronze.raw_tab_kv"});
  EXPECT_EQ(Csv("SELECT count(*) FROM bronze.raw_tab_kv WHERE v = 'z'"), "1\n");
  // Input columns named like lineage columns give way to this load's lineage.
  WriteText(project_ + "/lineage.csv", "id,_source,_run_id\n1,old,old\n");
  Ok({"--run-id", "r-7", "load", "lineage.csv", "bronze.raw_re_load"});
  EXPECT_EQ(Csv("SELECT id, _source, _run_id FROM bronze.raw_re_load"), "1,re,r-7\n");
  // New columns need --merge-schema.
  WriteText(project_ + "/wider.csv", "id,name,amount,note\n8,h,1.5,late\n");
  DewRun narrow = Dew({"load", "wider.csv", "bronze.raw_test_items"});
  EXPECT_EQ(narrow.code, 1);
  EXPECT_NE(narrow.err.find("--merge-schema"), std::string::npos) << narrow.err;
  EXPECT_NE(narrow.err.find("note"), std::string::npos) << narrow.err;
  Ok({"load", "wider.csv", "bronze.raw_test_items", "--merge-schema"});
  EXPECT_EQ(Csv("SELECT count(*), count(note) FROM bronze.raw_test_items"), "4,1\n");
  // Explicit format for an unknown extension.
  WriteText(project_ + "/items.data", "id\n7\n");
  DewRun unknown = Dew({"load", "items.data", "bronze.raw_test_more"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("--format"), std::string::npos);
  Ok({"load", "items.data", "bronze.raw_test_more", "--format", "csv"});
  EXPECT_EQ(Csv("SELECT id FROM bronze.raw_test_more"), "7\n");
}

TEST_F(CliTest, LoadErrorsNameTheInput) {
  InitProject();
  DewRun missing = Dew({"load", "nope.csv", "bronze.raw_a_b"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("nope.csv"), std::string::npos) << missing.err;
  DewRun glob = Dew({"load", "none*.csv", "bronze.raw_a_b"});
  EXPECT_EQ(glob.code, 1);
  EXPECT_NE(glob.err.find("none*.csv"), std::string::npos) << glob.err;

  WriteText(project_ + "/fields.csv", "id,name,amount\n1,a,2.5\n2,b,3.5\n3,c,4,extra\n");
  DewRun fields = Dew({"load", "fields.csv", "bronze.raw_a_b"});
  EXPECT_EQ(fields.code, 1);
  EXPECT_NE(fields.err.find("fields.csv:4:7: expected 3 fields (id, name, amount)"),
            std::string::npos)
      << fields.err;

  WriteText(project_ + "/quote.csv", "id,name\n1,a\n2,\"b\n3,c\n");
  DewRun quote = Dew({"load", "quote.csv", "bronze.raw_a_b"});
  EXPECT_EQ(quote.code, 1);
  EXPECT_NE(quote.err.find("quote.csv:3:3: unterminated quoted field"), std::string::npos)
      << quote.err;

  std::string typed = "id,name\n";
  for (int i = 0; i < 25000; i++) typed += std::to_string(i) + ",n\n";
  typed += "x1,n\n";
  WriteText(project_ + "/typed.csv", typed);
  DewRun type = Dew({"load", "typed.csv", "bronze.raw_a_b"});
  EXPECT_EQ(type.code, 1);
  EXPECT_NE(type.err.find("typed.csv:25002:1: value \"x1\" does not fit column id"),
            std::string::npos)
      << type.err;
  // Nothing was created by the failed loads.
  EXPECT_EQ(Ok({"table", "list", "--format", "csv"}),
            "name,layer,version,files,rows,size_bytes,last_modified\n");

  DewRun layer = Dew({"load", "fields.csv", "silver.x"});
  EXPECT_EQ(layer.code, 1);
  DewRun naming = Dew({"load", "fields.csv", "bronze.items"});
  EXPECT_EQ(naming.code, 1);
  EXPECT_NE(naming.err.find("raw_<source>_<stream>"), std::string::npos);
}

TEST_F(CliTest, OutputFormats) {
  InitProject();
  const std::string q =
      "SELECT 7 AS n, 'a,\"b\"' AS s, NULL::INTEGER AS z, 2.50::DECIMAL(5,2) AS d, "
      "true AS t UNION ALL SELECT 123, 'x', 1, -1, false ORDER BY n";
  EXPECT_EQ(Ok({"sql", "--format", "csv", q}),
            "n,s,z,d,t\n7,\"a,\"\"b\"\"\",,2.50,true\n123,x,1,-1.00,false\n");
  auto j = nlohmann::json::parse(Ok({"--format", "json", "sql", q}));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["n"], 7);
  EXPECT_EQ(j[0]["s"], "a,\"b\"");
  EXPECT_TRUE(j[0]["z"].is_null());
  EXPECT_DOUBLE_EQ(j[0]["d"].get<double>(), 2.5);
  EXPECT_EQ(j[0]["t"], true);
  EXPECT_EQ(Ok({"sql", "--format", "json", "SELECT 1 AS a WHERE false"}), "[]\n");
  EXPECT_EQ(Ok({"sql", q}),
            "  n | s     |    z |     d | t\n"
            "----+-------+------+-------+------\n"
            "  7 | a,\"b\" | NULL |  2.50 | true\n"
            "123 | x     |    1 | -1.00 | false\n");
  DewRun bad = Dew({"sql", "--format", "xml", "SELECT 1"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("table, csv or json"), std::string::npos);
}

TEST_F(CliTest, SqlScriptsAndFiles) {
  InitProject();
  WriteText(project_ + "/q.sql",
            "-- a comment; with a semicolon\nCREATE TEMP TABLE t AS SELECT 1 AS a;\n"
            "SELECT a + 1 AS b FROM t; -- trailing\n");
  EXPECT_EQ(Ok({"sql", "-f", "q.sql", "--format", "csv"}), "b\n2\n");
  // "-f -" and no SQL at all read stdin.
  const std::string piped = "cd " + ShellQuote(project_) + " && echo 'SELECT 5 AS five' | " +
                            ShellQuote(DEW_BINARY) + " sql --format csv -f - > " +
                            ShellQuote(dir_ + "/piped.txt");
  ASSERT_EQ(std::system(piped.c_str()), 0);
  EXPECT_EQ(ReadAll(dir_ + "/piped.txt"), "five\n5\n");
  DewRun missing = Dew({"sql", "-f", "none.sql"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("none.sql"), std::string::npos);
  DewRun error = Dew({"sql", "SELECT 1; SELECT * FROM nowhere"});
  EXPECT_EQ(error.code, 1);
  EXPECT_NE(error.err.find("statement 2"), std::string::npos);
}

TEST_F(CliTest, WritesRouteToTheLake) {
  InitProject();
  LoadItems();
  Ok({"sql",
      "CREATE TABLE silver.items PARTITIONED BY (grp) AS SELECT id, name, amount, "
      "id % 2 AS grp FROM bronze.raw_test_items"});
  EXPECT_EQ(access((project_ + "/lake/silver/items/_delta_log").c_str(), F_OK), 0);
  DewRun exists = Dew({"sql", "CREATE TABLE silver.items AS SELECT 1 AS id"});
  EXPECT_EQ(exists.code, 1);
  EXPECT_NE(exists.err.find("already exists"), std::string::npos);

  Ok({"sql", "INSERT INTO silver.items VALUES (4, 'd', 5.5, 0)"});
  Ok({"sql", "INSERT INTO silver.items (id, name) SELECT 5, 'e'"});
  EXPECT_EQ(Csv("SELECT id, name, amount, grp FROM silver.items ORDER BY id"),
            "1,a,2.5,1\n2,b,3.5,0\n3,c,4.5,1\n4,d,5.5,0\n5,e,,\n");
  Ok({"sql", "DELETE FROM silver.items WHERE id = 5 OR grp = 0"});
  EXPECT_EQ(Csv("SELECT id FROM silver.items ORDER BY id"), "1\n3\n");
  Ok({"sql",
      "MERGE INTO silver.items AS t USING (SELECT 1 AS id, 'A' AS name, 9.5 AS amount, "
      "1 AS grp UNION ALL SELECT 8, 'h', 1.0, 0) AS s ON t.id = s.id "
      "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"});
  EXPECT_EQ(Csv("SELECT id, name FROM silver.items ORDER BY id"), "1,A\n3,c\n8,h\n");
  DewRun other = Dew({"sql",
                      "MERGE INTO silver.items USING (SELECT 1 AS id) s ON s.id = "
                      "silver.items.id WHEN MATCHED THEN DELETE"});
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.err.find("only WHEN MATCHED THEN UPDATE SET *"), std::string::npos) << other.err;
  Ok({"sql", "INSERT OVERWRITE silver.items SELECT 42, 'z', 0.5, 1"});
  EXPECT_EQ(Csv("SELECT id FROM silver.items"), "42\n");
  // CREATE OR REPLACE keeps history: an overwrite.
  Ok({"sql",
      "CREATE OR REPLACE TABLE silver.items AS SELECT id, name, amount, id % 2 AS grp FROM "
      "bronze.raw_test_items"});
  EXPECT_EQ(Csv("SELECT count(*) FROM silver.items"), "3\n");
  std::string history = Ok({"table", "history", "silver.items", "--format", "csv"});
  for (const char* op : {"CREATE TABLE", "WRITE", "DELETE", "MERGE"}) {
    EXPECT_NE(history.find(op), std::string::npos) << op << "\n" << history;
  }
  // Statements on other schemas go to DuckDB unchanged.
  EXPECT_EQ(Csv("CREATE TEMP TABLE scratch AS SELECT 1 AS a; INSERT INTO scratch VALUES (2); "
                "SELECT sum(a) FROM scratch"),
            "3\n");
  DewRun session = Dew({"sql", "CREATE TABLE scratch2 AS SELECT 1 AS a"});
  EXPECT_EQ(session.code, 0);
  EXPECT_NE(session.err.find("dew: note: table scratch2 lives in this session"), std::string::npos)
      << session.err;
  // Naming conventions hold on create.
  DewRun naming = Dew({"sql", "CREATE TABLE gold.totals AS SELECT 1 AS a"});
  EXPECT_EQ(naming.code, 1);
  EXPECT_NE(naming.err.find("gold_<domain>_<entity>"), std::string::npos);
  Ok({"sql",
      "CREATE TABLE gold.gold_test_totals AS SELECT sum(amount) AS total, count(*) AS n "
      "FROM silver.items"});
  EXPECT_EQ(Csv("SELECT total, n FROM gold.gold_test_totals"), "10.5,3\n");
  // DROP TABLE removes the folder.
  Ok({"sql", "DROP TABLE gold.gold_test_totals"});
  EXPECT_NE(access((project_ + "/lake/gold/gold_test_totals").c_str(), F_OK), 0);
  DewRun gone = Dew({"sql", "SELECT * FROM gold.gold_test_totals"});
  EXPECT_EQ(gone.code, 1);
}

TEST_F(CliTest, TimeTravelByVersionTimestampAndPath) {
  InitProject();
  LoadItems();  // v0: the table and its first rows in one commit
  Ok({"sql", "INSERT INTO bronze.raw_test_items BY NAME SELECT 9 AS id, 'i' AS name"});  // v1
  Ok({"sql", "DELETE FROM bronze.raw_test_items WHERE id = 1"});                         // v2
  EXPECT_EQ(Csv("SELECT count(*) FROM bronze.raw_test_items VERSION AS OF 0"), "3\n");
  EXPECT_EQ(Csv("SELECT count(*) FROM bronze.raw_test_items@v1"), "4\n");
  EXPECT_EQ(Csv("SELECT count(*) FROM bronze.raw_test_items"), "3\n");
  EXPECT_EQ(Csv("SELECT a.id FROM bronze.raw_test_items VERSION AS OF 1 AS a LEFT JOIN "
                "bronze.raw_test_items VERSION AS OF 0 b ON a.id = b.id WHERE b.id IS NULL"),
            "9\n");
  // Timestamps: the commit time of version 0, from the history.
  auto history =
      nlohmann::json::parse(Ok({"table", "history", "bronze.raw_test_items", "--format", "json"}));
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0]["version"], 2);
  std::string ts = history[2]["timestamp"];
  EXPECT_EQ(Csv("SELECT count(*) FROM bronze.raw_test_items TIMESTAMP AS OF '" + ts + "'"), "3\n");
  DewRun before = Dew({"sql", "SELECT * FROM bronze.raw_test_items TIMESTAMP AS OF '2001-01-01'"});
  EXPECT_EQ(before.code, 1);
  EXPECT_NE(before.err.find("bronze.raw_test_items"), std::string::npos) << before.err;
  DewRun range = Dew({"sql", "SELECT * FROM bronze.raw_test_items VERSION AS OF 7"});
  EXPECT_EQ(range.code, 1);
  EXPECT_NE(range.err.find("bronze.raw_test_items has no version 7: available versions are 0 "
                           "to 2"),
            std::string::npos)
      << range.err;
  // delta_scan by absolute and relative path, with time travel.
  const std::string golden = std::string(DEW_SHARED_DIR) + "/data/delta/delta-rs/simple_table";
  EXPECT_EQ(Csv("SELECT id FROM delta_scan('" + golden + "', version => 0) ORDER BY id"),
            "0\n1\n2\n3\n4\n");
  EXPECT_EQ(Csv("SELECT id FROM delta_scan('" + golden + "') ORDER BY id"), "5\n7\n9\n");
  EXPECT_EQ(Csv("SELECT count(*) FROM delta_scan('lake/bronze/raw_test_items', version => 0) t"),
            "3\n");
  std::string v1_ts = history[1]["timestamp"];
  EXPECT_EQ(Csv("SELECT count(*) FROM delta_scan('lake/bronze/raw_test_items', timestamp => '" +
                v1_ts + "')"),
            "4\n");
  DewRun nopath = Dew({"sql", "SELECT * FROM delta_scan('no/such/table')"});
  EXPECT_EQ(nopath.code, 1);
  EXPECT_NE(nopath.err.find("no/such/table"), std::string::npos);
}

TEST_F(CliTest, UnknownTablesListNearMatches) {
  InitProject();
  LoadItems();
  DewRun r = Dew({"sql", "SELECT * FROM bronze.raw_test_itemz"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unknown table 'bronze.raw_test_itemz'; did you mean bronze.raw_test_items"),
            std::string::npos)
      << r.err;
  DewRun tt = Dew({"sql", "SELECT * FROM bronze.raw_tst_items VERSION AS OF 1"});
  EXPECT_EQ(tt.code, 1);
  EXPECT_NE(tt.err.find("did you mean bronze.raw_test_items"), std::string::npos) << tt.err;
  DewRun hist = Dew({"table", "history", "silver.raw_test_items"});
  EXPECT_EQ(hist.code, 1);
  EXPECT_NE(hist.err.find("bronze.raw_test_items"), std::string::npos) << hist.err;
  DewRun from = Dew({"sql", "CREATE TABLE silver.copy AS SELECT * FROM bronze.raw_tst_items"});
  EXPECT_EQ(from.code, 1);
  EXPECT_NE(from.err.find("unknown table 'bronze.raw_tst_items'; did you mean "
                          "bronze.raw_test_items"),
            std::string::npos)
      << from.err;
  DewRun ins = Dew({"sql", "INSERT INTO bronze.raw_test_itms VALUES (1)"});
  EXPECT_EQ(ins.code, 1);
  EXPECT_NE(ins.err.find("did you mean bronze.raw_test_items"), std::string::npos) << ins.err;
}

TEST_F(CliTest, TableVerbs) {
  InitProject();
  LoadItems();
  Ok({"sql", "CREATE TABLE silver.items AS SELECT id, name FROM bronze.raw_test_items"});
  Ok({"sql", "DELETE FROM silver.items WHERE id = 1"});

  auto list = nlohmann::json::parse(Ok({"table", "list", "--format", "json"}));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "bronze.raw_test_items");
  EXPECT_EQ(list[0]["layer"], "bronze");
  EXPECT_EQ(list[0]["rows"], 3);
  EXPECT_EQ(list[1]["name"], "silver.items");
  EXPECT_EQ(list[1]["version"], 1);
  EXPECT_EQ(list[1]["rows"], 2);
  EXPECT_GT(list[1]["size_bytes"].get<int64_t>(), 0);
  auto silver =
      nlohmann::json::parse(Ok({"table", "list", "--layer", "silver", "--format", "json"}));
  EXPECT_EQ(silver.size(), 1u);

  std::string describe = Ok({"table", "describe", "silver.items"});
  EXPECT_NE(describe.find("location:    " + project_ + "/lake/silver/items"), std::string::npos)
      << describe;
  EXPECT_NE(describe.find("version:     1"), std::string::npos);
  EXPECT_NE(describe.find("id     | BIGINT"), std::string::npos) << describe;
  auto d = nlohmann::json::parse(Ok({"table", "describe", "items", "--format", "json"}));
  EXPECT_EQ(d["table"], "silver.items");
  ASSERT_EQ(d["columns"].size(), 2u);
  EXPECT_EQ(d["columns"][1]["column"], "name");
  EXPECT_EQ(d["columns"][1]["type"], "VARCHAR");
  EXPECT_EQ(d["columns"][1]["nullable"], true);

  auto history =
      nlohmann::json::parse(Ok({"--run-id", "run-42", "--user", "alice", "table", "history",
                                "silver.items", "--limit", "2", "--format", "json"}));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["operation"], "DELETE");
  EXPECT_FALSE(history[0]["user"].is_null());
  EXPECT_EQ(history[0]["run_id"].get<std::string>().size(), 36u);

  // Restore to version 0 (before the delete), as a new commit made by a named run and user.
  Ok({"--run-id", "run-42", "--user", "alice", "table", "restore", "silver.items", "--version",
      "0"});
  EXPECT_EQ(Csv("SELECT count(*) FROM silver.items"), "3\n");
  auto after = nlohmann::json::parse(Ok({"table", "history", "silver.items", "--format", "json"}));
  EXPECT_EQ(after[0]["version"], 2);
  EXPECT_EQ(after[0]["operation"], "RESTORE");
  EXPECT_EQ(after[0]["user"], "alice");
  EXPECT_EQ(after[0]["run_id"], "run-42");
  EXPECT_EQ(after[0]["parameters"]["version"], "0");
  EXPECT_TRUE(after[0]["metrics"].is_object());
  DewRun range = Dew({"table", "restore", "silver.items", "--version", "9"});
  EXPECT_EQ(range.code, 1);
  EXPECT_NE(range.err.find("available versions are 0 to 2"), std::string::npos) << range.err;

  // Vacuum: the default retention keeps everything; a short one needs --force.
  EXPECT_NE(Ok({"table", "vacuum", "silver.items"}).find("deleted 0 files"), std::string::npos);
  DewRun refused = Dew({"table", "vacuum", "silver.items", "--retain", "0"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("--force"), std::string::npos);
  auto dry = nlohmann::json::parse(Ok({"table", "vacuum", "silver.items", "--retain", "0",
                                       "--force", "--dry-run", "--format", "json"}));
  ASSERT_EQ(dry.size(), 1u);  // the file the delete rewrote
  EXPECT_EQ(dry[0]["action"], "would delete");
  Ok({"table", "vacuum", "silver.items", "--retain", "0", "--force"});
  EXPECT_EQ(Csv("SELECT count(*) FROM silver.items"), "3\n");
  DewRun unknown = Dew({"table", "frob"});
  EXPECT_EQ(unknown.code, 2);
}

}  // namespace
}  // namespace dew
