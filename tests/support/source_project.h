// SourceProjectTest: the fixture of the tests that run the dew binary against a real PostgreSQL
// 15 source. Each test suite gets one server, with a source database and its `reader` role as
// PostgresServer::StartWithSourceDatabase makes them; each test gets a fresh project (`dew init`
// in a temp folder) whose connection files read the reader's password from an environment
// variable, which Dew() sets. Without PostgreSQL 15 installed the tests skip.
//
// A suite derives from SourceProjectTest<Suite> and says what its source is:
//   class SyncCliTest : public testing::SourceProjectTest<SyncCliTest> {
//    public:
//     static testing::SourceOptions Source() { return {.database = "erp", …}; }
//   };
#pragma once

#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/types.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/dew_process.h"
#include "support/postgres_server.h"

extern "C" char** environ;

namespace dew::testing {

struct SourceOptions {
  std::string database = "";      //!< the source database the connections read
  std::string schema_sql = "";    //!< run in it once, when the suite's server starts
  std::string password_env = "";  //!< the variable holding the reader's password for `${env:…}`
  //! PostgresServer::AddSetting before the start, e.g. {"wal_level", "logical"}.
  std::vector<std::pair<std::string, std::string>> settings = {};
  std::string temp_prefix = "dew_source_project";  //!< the per-test folder's name in /tmp
};

template <typename Suite>
class SourceProjectTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!PostgresServer::Available()) return;
    const SourceOptions source = Suite::Source();
    server_ = std::make_unique<PostgresServer>();
    for (const auto& [name, value] : source.settings) server_->AddSetting(name, value);
    status_ = server_->StartWithSourceDatabase(source.database, "reader", source.schema_sql);
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    ASSERT_TRUE(status_.ok()) << status_.ToString();
    std::string tmpl = "/tmp/" + Suite::Source().temp_prefix + "_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    project_ = dir_ + "/proj";
    ASSERT_EQ(RunDew(dir_, {"init", "proj"}, dir_).code, 0);
  }
  void TearDown() override {
    if (!dir_.empty()) (void)std::system(("rm -rf " + ShellQuote(dir_)).c_str());
  }

  //! Writes connections/NAME.yml: a postgres connection to the suite's source database as
  //! `reader`, its password from the suite's variable, followed by `rest` (streams, tier, …).
  void WriteConnection(const std::string& name, const std::string& rest) {
    std::ofstream(project_ + "/connections/" + name + ".yml")
        << "name: " << name << "\nsource_type: postgres\nauth:\n  host: " << server_->host()
        << "\n  port: " << server_->port() << "\n  database: " << Suite::Source().database
        << "\n  user: reader\n  password: ${env:" << Suite::Source().password_env << "}\n"
        << rest;
  }

  //! The environment dew runs with: the reader's password in the suite's variable.
  std::map<std::string, std::string> Env() const {
    return {{Suite::Source().password_env, server_->reader_password()}};
  }
  //! Runs the dew binary in the project.
  DewRun Dew(const std::vector<std::string>& args) { return RunDew(project_, args, dir_, Env()); }
  //! Starts `dew ARGS` (`args`: words already quoted for the shell) in the project without
  //! waiting for it, for tests that kill it; its output is appended to sync.out and sync.err in
  //! dir_. Returns its pid, or -1 (with a test failure) when it could not start.
  pid_t StartDew(const std::string& args) {
    std::vector<std::string> words = {
        "/bin/sh", "-c",
        "cd " + ShellQuote(project_) + " && " + Suite::Source().password_env + "=" +
            ShellQuote(server_->reader_password()) + " exec " + ShellQuote(DEW_BINARY) + " " +
            args + " >>" + ShellQuote(dir_ + "/sync.out") + " 2>>" +
            ShellQuote(dir_ + "/sync.err")};
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ);
    EXPECT_EQ(rc, 0) << "cannot start dew " << args;
    return rc == 0 ? pid : -1;
  }
  //! Runs `sql` in the source database as the superuser; psql's output without its trailing
  //! newlines.
  std::string Pg(const std::string& sql) {
    auto r = server_->RunSql(sql, Suite::Source().database);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::string s = r.ok() ? *r : "";
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  static inline std::unique_ptr<PostgresServer> server_;
  static inline Status status_;
  std::string dir_;
  std::string project_;
};

}  // namespace dew::testing
