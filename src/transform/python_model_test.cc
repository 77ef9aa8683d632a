#include "transform/python_model.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/clock.h"
#include "lake/lakehouse.h"
#include "transform/column_exchange.h"
#include "transform/model_builder.h"

namespace dew::transform {
namespace {

TEST(ScanPythonCallsTest, FindsCallsWithPositionsAndSkipsStringsAndComments) {
  const std::string source =
      "import pandas as pd\n"
      "# dew.ref('in_a_comment')\n"
      "def model(dew):\n"
      "    dew.config(materialized='incremental',\n"
      "               unique_key='id',  # the key\n"
      "    )\n"
      "    s = \"dew.ref('in_a_string')\"\n"
      "    doc = '''dew.source('a', 'b')'''\n"
      "    orders = dew.ref('stg_orders')\n"
      "    x = mydew.ref('not_ours')\n"
      "    return dew.source('erp', 'customers').merge(orders)\n";
  std::vector<PythonCall> calls = ScanPythonCalls(source);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].function, "config");
  EXPECT_EQ(calls[0].line, 4);
  EXPECT_EQ(calls[0].column, 5);
  EXPECT_EQ(calls[0].args.find("# the key"), std::string::npos) << calls[0].args;
  EXPECT_NE(calls[0].args.find("unique_key='id'"), std::string::npos);
  EXPECT_EQ(calls[1].function, "ref");
  EXPECT_EQ(calls[1].args, "'stg_orders'");
  EXPECT_EQ(calls[1].line, 9);
  EXPECT_EQ(calls[1].column, 14);
  EXPECT_EQ(calls[2].function, "source");
  EXPECT_EQ(calls[2].args, "'erp', 'customers'");
  EXPECT_EQ(calls[2].line, 11);
}

TEST(ScanPythonCallsTest, UnclosedCallTakesTheRestAndOtherAttributesAreIgnored) {
  std::vector<PythonCall> calls = ScanPythonCalls("dew.this\ndew.var('x')\ndew.ref('a'");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].function, "ref");
  EXPECT_EQ(calls[0].args, "'a'");
  EXPECT_EQ(calls[0].line, 3);
}

// A real lake and a real python3 with pandas (scripts/install-deps installs python3-pandas).
class PythonModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_python_XXXXXX";
    root_ = mkdtemp(tmpl);
    fs_ = FileSystem::Posix();
    clock_ = std::make_shared<ManualClock>(1767225600000);
    lake::LakehouseOptions o;
    o.lake_root = root_ + "/lake";
    o.cwd = root_;
    o.user = "tester";
    o.run_id = "run-py";
    auto lake = lake::Lakehouse::Open(o, fs_, clock_);
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    lake_ = std::move(*lake);
    Write("models/sources.yml",
          "sources:\n  - name: erp\n    layer: silver\n    tables:\n      - name: orders\n");
    ASSERT_TRUE(lake_->connection()
                    .Execute("CREATE TABLE src AS SELECT * FROM (VALUES "
                             "(1, 'ana', 10.5, DATE '2026-01-01', TIMESTAMP '2026-01-01 10:00:00'),"
                             "(2, 'bén', NULL, DATE '2026-01-02', NULL),"
                             "(3, NULL, 7.25, NULL, TIMESTAMP '2026-01-03 00:00:01.5')) "
                             "t(id, customer, amount, day, seen_at)")
                    .ok());
    auto t = lake::ParseTableName("silver.orders");
    ASSERT_TRUE(lake_->CreateTableAs(*t, "SELECT * FROM src", {}, lake_->NewWriteOptions()).ok());
  }
  void TearDown() override {
    lake_.reset();
    (void)fs_->RemoveAll(root_);
  }
  void Write(const std::string& rel, const std::string& text) {
    std::string path = root_ + "/" + rel;
    ASSERT_TRUE(fs_->CreateDirs(path.substr(0, path.rfind('/'))).ok());
    ASSERT_TRUE(fs_->WriteFile(path, text).ok());
  }
  std::string Query(const std::string& sql) {
    auto t = lake_->connection().QueryText(sql);
    if (!t.ok()) return "ERROR: " + t.status().message();
    std::string out;
    for (const auto& row : t->rows) {
      for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + row[i].value_or("NULL");
      out += "\n";
    }
    return out;
  }
  //! Loads, compiles and builds every model with a real process runner.
  std::string Build(PythonSettings settings = {}) {
    auto project = ModelProject::Load(*fs_, root_);
    if (!project.ok()) return "LOAD: " + project.status().message();
    project_ = std::make_unique<ModelProject>(std::move(*project));
    CompileOptions co;
    co.relation_exists = [this](const std::string& r) {
      auto t = lake::ParseTableName(r);
      return t.ok() && lake_->Exists(*t);
    };
    auto compiled = CompileProject(*project_, co);
    if (!compiled.ok()) return "COMPILE: " + compiled.status().message();
    compiled_ = std::make_unique<CompiledProject>(std::move(*compiled));
    auto runner = std::make_shared<PythonModelRunner>(std::make_shared<PosixProcessRunner>(root_),
                                                      fs_, root_, settings);
    ModelBuilder builder(compiled_.get(), nullptr, clock_, runner);
    std::string out;
    for (const auto& m : compiled_->models()) {
      auto built = builder.Materialize(m, lake_.get(), false);
      out +=
          m.name + ":" +
          (built.ok() ? "ok " + std::to_string(built->rows) : "error " + built.status().message()) +
          "\n";
    }
    return out;
  }

  std::string root_;
  std::shared_ptr<FileSystem> fs_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<lake::Lakehouse> lake_;
  std::unique_ptr<ModelProject> project_;
  std::unique_ptr<CompiledProject> compiled_;
};

TEST_F(PythonModelTest, ColumnsRoundTripThroughTheExchangeFiles) {
  auto rows = WriteColumns(lake_->connection(),
                           "SELECT *, CAST(amount AS DECIMAL(10,2)) AS dec, id > 1 AS big, "
                           "INTERVAL 1 DAY AS iv FROM silver.orders",
                           *fs_, root_ + "/x");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 3);
  auto loaded = LoadColumns(*fs_, root_ + "/x", lake_->connection(), "back");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(Query("SELECT * FROM back ORDER BY id"),
            "1,ana,10.5,2026-01-01,2026-01-01 10:00:00,10.5,false,1 day\n"
            "2,bén,NULL,2026-01-02,NULL,NULL,true,1 day\n"
            "3,NULL,7.25,NULL,2026-01-03 00:00:01.5,7.25,true,1 day\n");
  EXPECT_EQ(Query("SELECT string_agg(column_type, ' ') FROM (DESCRIBE back)"),
            "INTEGER VARCHAR DOUBLE DATE TIMESTAMP DOUBLE BOOLEAN VARCHAR\n");
}

TEST_F(PythonModelTest, LoadColumnsRejectsArraysThatDoNotFit) {
  ASSERT_TRUE(fs_->WriteFile(root_ + "/bad.bin", std::string(16, '\0')).ok());
  ASSERT_TRUE(fs_->WriteFile(root_ + "/bad.json",
                             R"({"format":"dew-columns/1","rows":3,"columns":[)"
                             R"({"name":"id","type":"BIGINT","data":[0,16]}]})")
                  .ok());
  auto loaded = LoadColumns(*fs_, root_ + "/bad", lake_->connection(), "t");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("bad.json: column id: data holds 16 bytes, expected 24"),
            std::string::npos)
      << loaded.status().message();
}

TEST_F(PythonModelTest, BuildsATableFromRefsAndSourcesWithTypesAndNulls) {
  Write("models/stg_orders.sql", "select * from {{ source('erp', 'orders') }}");
  Write("models/py_orders.py",
        "import pandas as pd\n"
        "import datetime\n"
        "def model(dew):\n"
        "    dew.config(materialized='table')\n"
        "    df = dew.ref('stg_orders')\n"
        "    src = dew.source('erp', 'orders')\n"
        "    assert len(src) == 3\n"
        "    df['amount2'] = df['amount'] * 2\n"
        "    df['name_len'] = df['customer'].str.len().astype('Int64')\n"
        "    df['when'] = df['day'].dt.date\n"
        "    df['flag'] = df['id'] > 1\n"
        "    df['label'] = dew.var('label', 'x') + df['id'].astype(str)\n"
        "    return df[['id', 'customer', 'amount2', 'name_len', 'when', 'seen_at', 'flag', "
        "'label']]\n");
  EXPECT_EQ(Build(), "stg_orders:ok -1\npy_orders:ok 3\n");
  EXPECT_EQ(Query("SELECT * FROM silver.py_orders ORDER BY id"),
            "1,ana,21,3,2026-01-01,2026-01-01 10:00:00,false,x1\n"
            "2,bén,NULL,3,2026-01-02,NULL,true,x2\n"
            "3,NULL,14.5,NULL,NULL,2026-01-03 00:00:01.5,true,x3\n");
  EXPECT_EQ(Query("SELECT string_agg(column_type, ' ') FROM (DESCRIBE silver.py_orders)"),
            "INTEGER VARCHAR DOUBLE BIGINT DATE TIMESTAMP BOOLEAN VARCHAR\n");
  EXPECT_EQ(compiled_->Find("py_orders")->model_refs, std::vector<std::string>{"stg_orders"});
  EXPECT_EQ(compiled_->Find("py_orders")->source_refs, std::vector<std::string>{"erp.orders"});
  // Nothing is left behind in the scratch folder.
  auto left = fs_->ListDir(root_ + "/.dew/tmp");
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST_F(PythonModelTest, IncrementalMergesByUniqueKeyAndSeesItsOwnTable) {
  Write("models/py_inc.py",
        "def model(dew):\n"
        "    dew.config(materialized='incremental', unique_key='id')\n"
        "    df = dew.source('erp', 'orders')[['id', 'customer']]\n"
        "    old = dew.read_this()\n"
        "    df['seen_before'] = 0 if old is None else len(old)\n"
        "    df['incremental'] = dew.is_incremental\n"
        "    if dew.is_incremental:\n"
        "        df = df[df['id'] >= 2]\n"
        "        df['customer'] = df['customer'].fillna('late')\n"
        "    return df\n");
  EXPECT_EQ(Build(), "py_inc:ok 3\n");
  EXPECT_EQ(Build(), "py_inc:ok 2\n");
  EXPECT_EQ(Query("SELECT * FROM silver.py_inc ORDER BY id"),
            "1,ana,0,false\n2,bén,3,true\n3,late,3,true\n");
}

TEST_F(PythonModelTest, ExceptionNamesModelFileLineAndTraceback) {
  Write("models/broken.py",
        "def helper(x):\n"
        "    return x / 0\n"
        "\n"
        "def model(dew):\n"
        "    return helper(1)\n");
  std::string out = Build();
  EXPECT_NE(out.find("broken:error models/broken.py:2: model broken raised ZeroDivisionError: "
                     "division by zero"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("line 5, in model"), std::string::npos) << out;
}

TEST_F(PythonModelTest, WrongReturnTypeAndSyntaxErrorAndMissingFunction) {
  Write("models/a_list.py", "def model(dew):\n    return [1, 2]\n");
  Write("models/b_syntax.py", "def model(dew):\n    return (\n\n");
  Write("models/c_none.py", "x = 1\n");
  std::string out = Build();
  EXPECT_NE(out.find("a_list:error models/a_list.py: model a_list: model() returned list, "
                     "expected a pandas DataFrame"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("b_syntax:error models/b_syntax.py:2: model b_syntax: SyntaxError"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("c_none:error models/c_none.py: model c_none: defines no function model(dew)"),
            std::string::npos)
      << out;
}

TEST_F(PythonModelTest, UnknownRefIsACompileErrorAtTheCall) {
  Write("models/stg_orders.sql", "select 1 as id");
  Write("models/py.py", "def model(dew):\n    return dew.ref('stg_ordrs')\n");
  std::string out = Build();
  EXPECT_NE(out.find("COMPILE: models/py.py:2:12: dew.ref(): unknown ref 'stg_ordrs'"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("did you mean 'stg_orders'?"), std::string::npos) << out;
}

TEST_F(PythonModelTest, TimeoutKillsTheChild) {
  Write("models/slow.py", "import time\ndef model(dew):\n    time.sleep(30)\n");
  PythonSettings settings;
  settings.timeout_ms = 1500;
  std::string out = Build(settings);
  EXPECT_NE(out.find("slow:error models/slow.py: python model slow failed: "), std::string::npos)
      << out;
  EXPECT_NE(out.find("timed out"), std::string::npos) << out;
}

TEST_F(PythonModelTest, ChildGetsAScrubbedEnvironmentAndTheProjectAsWorkingDirectory) {
  setenv("DEW_PYTHON_TEST_SECRET", "leak", 1);
  Write("data/x.txt", "from a file");
  Write("models/env.py",
        "import os, pandas as pd\n"
        "def model(dew):\n"
        "    return pd.DataFrame({'secret': [os.environ.get('DEW_PYTHON_TEST_SECRET', 'none')],\n"
        "                         'file': [open('data/x.txt').read()]})\n");
  EXPECT_EQ(Build(), "env:ok 1\n");
  unsetenv("DEW_PYTHON_TEST_SECRET");
  EXPECT_EQ(Query("SELECT * FROM silver.env"), "none,from a file\n");
}

}  // namespace
}  // namespace dew::transform
