// StoreProjectTest: the set-up of the integration suites that run dew processes on both control
// stores. Each test gets a scratch folder, a project made by `dew init` in it, and an empty
// control database of the test's backend that every dew process of the test uses: on SQLite the
// project's default `.dew/control.db`; on PostgreSQL a fresh database on the server shared by
// the test process, named in dew.yml as `${env:DEW_TEST_CONTROL}` because its URL holds a
// password (the dew children inherit the variable).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "support/dew_process.h"
#include "support/test_control_database.h"

namespace dew::testing {

class StoreProjectTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  //! `prefix` names the scratch folder (/tmp/<prefix>_XXXXXX), so a folder left behind by a
  //! crashed test says which suite made it.
  explicit StoreProjectTest(std::string prefix) : prefix_(std::move(prefix)) {}

  //! Suites that add to the set-up call this first and return when IsSkipped() or
  //! HasFatalFailure().
  void SetUp() override {
    if (!StoreBackendAvailable(GetParam())) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    std::string tmpl = "/tmp/" + prefix_ + "_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    project_ = dir_ + "/proj";
    DewRun init = RunDew(dir_, {"init", "proj"}, dir_);
    ASSERT_EQ(init.code, 0) << init.err;
    auto db = TestControlDatabase::Create(GetParam(), project_ + "/.dew");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    if (GetParam() == StoreBackend::kPostgres) {
      setenv("DEW_TEST_CONTROL", db_.setting().c_str(), 1);
      control_ = "${env:DEW_TEST_CONTROL}";
      std::ofstream(project_ + "/dew.yml", std::ios::app) << "control: " << control_ << "\n";
    }
  }
  void TearDown() override {
    unsetenv("DEW_TEST_CONTROL");
    if (!dir_.empty()) (void)std::system(("rm -rf " + ShellQuote(dir_)).c_str());
  }

  //! Runs dew in the project, its scratch files in the test's folder.
  DewRun Dew(const std::vector<std::string>& args) { return RunDew(project_, args, dir_); }

  void WritePipeline(const std::string& name, const std::string& yaml) {
    std::ofstream(project_ + "/pipelines/" + name + ".yml") << yaml;
  }

  std::string dir_;
  std::string project_;
  TestControlDatabase db_;
  //! dew.yml's `control:` value; empty on SQLite (the project's default store).
  std::string control_;

 private:
  std::string prefix_;
};

}  // namespace dew::testing
