// ScratchLakeTest: a gtest fixture owning a lakehouse in a fresh temporary folder, its commits at
// a fixed time (2026-01-01) under a given run id; removed after the test.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/file_system.h"
#include "lake/lakehouse.h"

namespace dew::testing {

class ScratchLakeTest : public ::testing::Test {
 protected:
  //! Opens lake_ in a new folder under /tmp; call from SetUp inside ASSERT_NO_FATAL_FAILURE.
  void OpenLake(const std::string& run_id) {
    char tmpl[] = "/tmp/dew_lake_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs_ = FileSystem::Posix();
    lake::LakehouseOptions o;
    o.lake_root = root_ + "/lake";
    o.cwd = root_;
    o.user = "tester";
    o.run_id = run_id;
    auto lake = lake::Lakehouse::Open(o, fs_, std::make_shared<ManualClock>(1767225600000));
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    lake_ = std::move(*lake);
  }
  void TearDown() override {
    lake_.reset();
    if (fs_ && !root_.empty()) (void)fs_->RemoveAll(root_);
  }
  //! Creates lake table `name` (e.g. "silver.orders") from `sql`.
  void Create(const std::string& name, const std::string& sql) {
    auto r = lake_->CreateTableAs(*lake::ParseTableName(name), sql, {}, lake_->NewWriteOptions());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  std::string root_;
  std::shared_ptr<FileSystem> fs_;
  std::unique_ptr<lake::Lakehouse> lake_;
};

}  // namespace dew::testing
