// Helpers shared by the lake's unit tests: a temporary folder and an in-memory DuckDB.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <string>

#include "core/file_system.h"
#include "engine/connection.h"
#include "engine/database.h"
#include "engine/query_result.h"
#include "lake/snapshot.h"
#include "lake/table_scan.h"

namespace dew::lake::testing {

//! A fresh folder under /tmp, removed with everything inside it on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dew_lake_test_XXXXXX";
    const char* made = mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "";
  }
  ~TempDir() {
    if (!path_.empty()) (void)FileSystem::Posix()->RemoveAll(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

//! An in-memory database and one connection to it.
struct TestEngine {
  std::unique_ptr<engine::Database> db;
  std::unique_ptr<engine::Connection> con;

  TestEngine() {
    auto opened = engine::Database::Open(engine::DatabaseOptions{});
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    db = std::move(*opened);
    auto connected = db->Connect();
    EXPECT_TRUE(connected.ok()) << connected.status().ToString();
    con = std::move(*connected);
  }
  ~TestEngine() { con.reset(); }
};

//! The rows of `snapshot` (its `columns`) as "a,b|c,d" (NULL for nulls), ordered by all columns;
//! "<error>" after a failed expectation.
inline std::string SnapshotRows(engine::Connection* con, const Snapshot& snapshot,
                                const std::string& columns = "*") {
  auto scan = ScanSql(snapshot);
  EXPECT_TRUE(scan.ok()) << scan.status().ToString();
  if (!scan.ok()) return "<error>";
  auto rows = con->QueryText("SELECT " + columns + " FROM (" + *scan + ") ORDER BY ALL");
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  if (!rows.ok()) return "<error>";
  std::string out;
  for (const auto& row : rows->rows) {
    if (!out.empty()) out += "|";
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out += ",";
      out += row[i].value_or("NULL");
    }
  }
  return out;
}

//! Copies a read-only table (e.g. golden data) into `dest` so a test may change it.
inline void CopyTree(const std::string& from, const std::string& to) {
  auto fs = FileSystem::Posix();
  auto files = fs->ListRecursive(from);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  for (const auto& f : *files) {
    auto text = fs->ReadFile(JoinPath(from, f.name));
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    const std::string dest = JoinPath(to, f.name);
    ASSERT_TRUE(fs->CreateDirs(dest.substr(0, dest.rfind('/'))).ok());
    ASSERT_TRUE(fs->WriteFile(dest, *text).ok());
  }
}

}  // namespace dew::lake::testing
