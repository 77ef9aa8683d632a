// Runs the plain-text SQL test files in tests/sql/*.test, in the manner of DuckDB's
// sqllogictest, against a fresh lake in a temporary folder per file.
//
// Directives (blank line ends a block; '#' starts a comment line):
//   statement ok                    the SQL below must succeed
//   statement error <substring>     the SQL below must fail with a message containing <substring>
//   query [rowsort]                 the SQL below, then a line '----', then the expected rows:
//                                   values separated by '|', NULL written NULL; rowsort compares
//                                   sorted rows
//   clock <timestamp>               the lake's clock jumps to that UTC time (commit timestamps)
//   reopen                          closes and reopens the lakehouse (a new process's view)
// In SQL, ${SHARED_DIR} stands for the shared read-only data folder (../shared).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/clock.h"
#include "core/file_system.h"
#include "engine/data_chunk.h"
#include "engine/query_result.h"
#include "lake/lakehouse.h"
#include "lake/sql_executor.h"

namespace dew::lake {
namespace {

std::vector<std::string> TestFiles() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(DEW_SOURCE_DIR "/tests/sql", ec)) {
    if (e.path().extension() == ".test") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Block {
  std::string directive;  // first line
  std::string sql;
  std::vector<std::string> expected;
  int line = 0;
};

std::vector<Block> ParseFile(const std::string& path) {
  std::ifstream in(path);
  std::vector<Block> blocks;
  std::string line;
  int number = 0;
  Block* current = nullptr;
  bool in_expected = false;
  while (std::getline(in, line)) {
    number++;
    if (current == nullptr) {
      if (line.empty() || line[0] == '#') continue;
      blocks.push_back(Block{line, "", {}, number});
      current = &blocks.back();
      in_expected = false;
      bool single = line.rfind("clock", 0) == 0 || line == "reopen";
      if (single) current = nullptr;
      continue;
    }
    if (line.empty()) {
      current = nullptr;
      continue;
    }
    if (line == "----") {
      in_expected = true;
    } else if (in_expected) {
      current->expected.push_back(line);
    } else {
      const std::string kShared = "${SHARED_DIR}";
      for (size_t at = line.find(kShared); at != std::string::npos; at = line.find(kShared)) {
        line.replace(at, kShared.size(), DEW_SHARED_DIR);
      }
      current->sql += line + "\n";
    }
  }
  return blocks;
}

std::vector<std::string> Rows(StatementOutput& out, std::string* error) {
  std::vector<std::string> rows;
  auto add_row = [&](const std::vector<std::string>& cells) {
    std::string r;
    for (size_t i = 0; i < cells.size(); i++) r += (i ? "|" : "") + cells[i];
    rows.push_back(r);
  };
  if (out.stream) {
    while (true) {
      auto chunk = out.stream->Fetch();
      if (!chunk.ok()) {
        *error = chunk.status().ToString();
        return rows;
      }
      if (!*chunk) break;
      for (uint64_t r = 0; r < (*chunk)->size(); r++) {
        std::vector<std::string> cells;
        for (uint64_t c = 0; c < (*chunk)->column_count(); c++) {
          auto col = (*chunk)->column(c);
          cells.push_back(col.IsNull(r) ? "NULL" : col.Format(r));
        }
        add_row(cells);
      }
    }
  } else {
    for (const auto& row : out.table.rows) {
      std::vector<std::string> cells;
      for (const auto& v : row) cells.push_back(v ? *v : "NULL");
      add_row(cells);
    }
  }
  return rows;
}

class SqlLogicTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SqlLogicTest, Run) {
  const std::string path = GetParam();
  char tmpl[] = "/tmp/dew_sqltest_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  auto fs = FileSystem::Posix();
  auto clock = std::make_shared<ManualClock>(1767225600000);  // 2026-01-01 00:00:00 UTC
  auto open = [&]() {
    LakehouseOptions options;
    options.lake_root = root + "/lake";
    options.cwd = root;
    options.user = "sqltest";
    options.run_id = "sqltest-run";
    options.database.threads = 2;
    auto lake = Lakehouse::Open(options, fs, clock);
    EXPECT_TRUE(lake.ok()) << lake.status().ToString();
    return lake.ok() ? std::move(*lake) : nullptr;
  };
  auto lake = open();
  ASSERT_NE(lake, nullptr);

  for (const auto& block : ParseFile(path)) {
    const std::string where = path + ":" + std::to_string(block.line);
    if (block.directive.rfind("clock ", 0) == 0) {
      auto millis = ParseTimestampMillis(block.directive.substr(6));
      ASSERT_TRUE(millis.ok()) << where << ": " << millis.status().ToString();
      clock->Set(*millis);
      continue;
    }
    if (block.directive == "reopen") {
      lake.reset();
      lake = open();
      ASSERT_NE(lake, nullptr) << where;
      continue;
    }
    SqlExecutor exec(lake.get());
    if (block.directive == "statement ok") {
      auto out = exec.Run(block.sql);
      ASSERT_TRUE(out.ok()) << where << ": " << out.status().ToString();
      std::string error;
      Rows(*out, &error);
      ASSERT_TRUE(error.empty()) << where << ": " << error;
    } else if (block.directive.rfind("statement error", 0) == 0) {
      std::string needle = block.directive.size() > 16 ? block.directive.substr(16) : "";
      auto out = exec.Run(block.sql);
      std::string error;
      if (out.ok())
        Rows(*out, &error);
      else
        error = out.status().ToString();
      ASSERT_FALSE(error.empty()) << where << ": statement succeeded but should fail";
      EXPECT_NE(error.find(needle), std::string::npos)
          << where << ": error does not mention '" << needle << "': " << error;
    } else if (block.directive.rfind("query", 0) == 0) {
      bool rowsort = block.directive.find("rowsort") != std::string::npos;
      auto out = exec.Run(block.sql);
      ASSERT_TRUE(out.ok()) << where << ": " << out.status().ToString();
      std::string error;
      auto rows = Rows(*out, &error);
      ASSERT_TRUE(error.empty()) << where << ": " << error;
      auto expected = block.expected;
      if (rowsort) {
        std::sort(rows.begin(), rows.end());
        std::sort(expected.begin(), expected.end());
      }
      std::string got_text, want_text;
      for (const auto& r : rows) got_text += r + "\n";
      for (const auto& r : expected) want_text += r + "\n";
      EXPECT_EQ(got_text, want_text) << where;
    } else {
      FAIL() << where << ": unknown directive '" << block.directive << "'";
    }
  }
  lake.reset();
  std::filesystem::remove_all(root);
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Files, SqlLogicTest, ::testing::ValuesIn(TestFiles()), TestName);

}  // namespace
}  // namespace dew::lake
