// A throwaway project lake for connector tests: a temp folder, a Lakehouse over it on a
// ManualClock, and a helper that reads one SQL value.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/file_system.h"
#include "lake/lakehouse.h"

namespace dew::testing {

class SyncLake {
 public:
  SyncLake() {
    char tmpl[] = "/tmp/dew_sync_test_XXXXXX";
    const char* made = mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    dir_ = made ? made : "";
    fs_ = FileSystem::Posix();
    clock_ = std::make_shared<ManualClock>(1767225600000);  // 2026-01-01 00:00:00 UTC
    Reopen();
  }
  ~SyncLake() {
    lake_.reset();
    if (!dir_.empty()) (void)fs_->RemoveAll(dir_);
  }
  SyncLake(const SyncLake&) = delete;
  SyncLake& operator=(const SyncLake&) = delete;

  //! Opens a fresh Lakehouse over the same folder (as a new dew process would), with the views
  //! `views_at_open` accepts (null: every one).
  void Reopen(const std::string& run_id = "run-1",
              std::function<bool(const lake::TableName&)> views_at_open = nullptr) {
    lake::LakehouseOptions o;
    o.views_at_open = std::move(views_at_open);
    o.lake_root = dir_ + "/lake";
    o.cwd = dir_;
    o.user = "tester";
    o.run_id = run_id;
    lake_.reset();
    auto lake = lake::Lakehouse::Open(o, fs_, clock_);
    EXPECT_TRUE(lake.ok()) << lake.status().ToString();
    if (lake.ok()) lake_ = std::move(*lake);
  }

  //! The first value of `sql`'s first row, "NULL" for NULL, "ERROR: …" on failure.
  std::string Scalar(const std::string& sql) {
    auto v = lake_->connection().QueryScalar(sql);
    if (!v.ok()) return "ERROR: " + v.status().ToString();
    return v->has_value() ? **v : "NULL";
  }

  const std::string& dir() const { return dir_; }
  lake::Lakehouse* lake() { return lake_.get(); }
  ManualClock& clock() { return *clock_; }
  std::shared_ptr<ManualClock> shared_clock() { return clock_; }
  std::shared_ptr<FileSystem> fs() { return fs_; }

 private:
  std::string dir_;
  std::shared_ptr<FileSystem> fs_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<lake::Lakehouse> lake_;
};

}  // namespace dew::testing
