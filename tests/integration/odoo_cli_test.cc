// `dew connection test`, `dew discover` and `dew sync` on an odoo connection file in
// external-API mode, against the stand-in Odoo server running in the test process.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/dew_process.h"
#include "support/odoo_rpc_server.h"

namespace dew {
namespace {

using json = nlohmann::json;
using testing::DewRun;
using testing::OdooRpcServer;
using testing::ShellQuote;

class OdooCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    server_.AddUser("dew@example.com", "api-key-1");
    server_.AddModel("res.partner", {{"name", "char"},
                                     {"parent_id", "many2one", "res.partner"},
                                     {"category_id", "many2many", "res.partner.category"},
                                     {"write_date", "datetime"}});
    for (int i = 1; i <= 25; ++i) {
      server_.Put("res.partner",
                  {{"id", i},
                   {"name", "Partner " + std::to_string(i)},
                   {"parent_id", i > 1 ? json::array({1, "Partner 1"}) : json(false)},
                   {"category_id", json::array({i % 3})},
                   {"write_date", "2024-01-0" + std::to_string(1 + i % 9) + " 08:00:00"}});
    }
    char tmpl[] = "/tmp/dew_odoo_cli_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    project_ = dir_ + "/proj";
    ASSERT_EQ(testing::RunDew(dir_, {"init", "proj"}, dir_).code, 0);
    std::ofstream(project_ + "/connections/erp.yml")
        << "name: erp\nsource_type: odoo\nauth:\n  url: " << server_.url()
        << "\n  database: odoo\n  user: dew@example.com\n  password: ${env:DEW_TEST_ODOO_KEY}\n"
           "odoo:\n  batch_size: 10\nstreams:\n  - name: res_partner\n";
  }
  void TearDown() override {
    if (!dir_.empty()) (void)std::system(("rm -rf " + ShellQuote(dir_)).c_str());
  }

  DewRun Dew(const std::vector<std::string>& args, const std::string& key = "api-key-1") {
    std::map<std::string, std::string> env;
    if (!key.empty()) env["DEW_TEST_ODOO_KEY"] = key;
    return testing::RunDew(project_, args, dir_, env);
  }

  //! Starts `dew sync erp` in the background; returns its pid.
  pid_t SpawnSync() {
    const std::string cmd = "cd " + ShellQuote(project_) + " && DEW_TEST_ODOO_KEY=api-key-1 exec " +
                            ShellQuote(DEW_BINARY) + " sync erp >" + ShellQuote(dir_ + "/.bg_out") +
                            " 2>" + ShellQuote(dir_ + "/.bg_err") + " </dev/null";
    pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid;
  }
  //! Commits in the partners' bronze table so far.
  int BronzeCommits() {
    const std::string cmd = "find " + ShellQuote(project_) +
                            " -path '*raw_erp_res_partner/_delta_log/*.json' 2>/dev/null | wc -l";
    FILE* p = popen(cmd.c_str(), "r");
    int n = 0;
    if (p != nullptr) {
      if (std::fscanf(p, "%d", &n) != 1) n = 0;
      pclose(p);
    }
    return n;
  }

  OdooRpcServer server_;
  std::string dir_;
  std::string project_;
};

TEST_F(OdooCliTest, ConnectionTestTellsProblemsApart) {
  DewRun ok = Dew({"connection", "test", "erp"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("connection 'erp': ok (1 stream readable)"), std::string::npos) << ok.out;

  DewRun wrong = Dew({"connection", "test", "erp"}, "not-the-key");
  EXPECT_NE(wrong.code, 0);
  EXPECT_NE(wrong.out.find("FAILED (authentication refused)"), std::string::npos) << wrong.out;
  EXPECT_NE(wrong.err.find("refused login 'dew@example.com' on database odoo"), std::string::npos)
      << wrong.err;
  EXPECT_EQ(wrong.err.find("not-the-key"), std::string::npos) << "key leaked";

  std::ofstream(project_ + "/connections/erp.yml", std::ios::app) << "  - name: account_payment\n";
  DewRun model = Dew({"connection", "test", "erp"});
  EXPECT_NE(model.code, 0);
  EXPECT_NE(model.out.find("FAILED (missing table)"), std::string::npos) << model.out;
  EXPECT_NE(model.err.find("Object account.payment doesn't exist"), std::string::npos) << model.err;

  server_.Stop();
  DewRun down = Dew({"connection", "test", "erp"});
  EXPECT_NE(down.code, 0);
  EXPECT_NE(down.out.find("FAILED (unreachable)"), std::string::npos) << down.out;
}

TEST_F(OdooCliTest, DiscoverListsOdooFieldsWithLakeTypes) {
  DewRun r = Dew({"--format", "csv", "discover", "erp"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("res_partner,id,integer,BIGINT,no,yes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("res_partner,parent_id,many2one(res.partner),BIGINT,yes,"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("res_partner,parent_id_name,display_name of res.partner,VARCHAR,yes,"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("res_partner,category_id,many2many(res.partner.category),JSON,yes,"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("res_partner,write_date,datetime,TIMESTAMP,yes,"), std::string::npos)
      << r.out;
}

TEST_F(OdooCliTest, SyncLandsThePartnersInBronze) {
  DewRun r = Dew({"--format", "csv", "sync", "erp"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("sync_erp_res_partner_incremental"), std::string::npos) << r.out;
  DewRun count = Dew({"--format", "csv", "sql",
                      "SELECT count(*) || '/' || count(DISTINCT id) || '/' || "
                      "count(parent_id_name) FROM bronze.raw_erp_res_partner"});
  ASSERT_EQ(count.code, 0) << count.err;
  EXPECT_NE(count.out.find("25/25/24"), std::string::npos) << count.out;
  // Silver is typed and keyed by id: one row per partner.
  DewRun silver =
      Dew({"--format", "csv", "sql",
           "SELECT count(*) || '/' || count(DISTINCT id) || '/' || typeof(max(parent_id)) "
           "FROM silver.erp_res_partner"});
  ASSERT_EQ(silver.code, 0) << silver.err;
  EXPECT_NE(silver.out.find("25/25/BIGINT"), std::string::npos) << silver.out;
}

TEST_F(OdooCliTest, KilledSyncResumesWithNothingLostOrDoubled) {
  for (int i = 26; i <= 1500; ++i) {
    server_.Put("res.partner",
                {{"id", i},
                 {"name", "Partner " + std::to_string(i)},
                 {"parent_id", json::array({1, "Partner 1"})},
                 {"category_id", json::array()},
                 {"write_date", "2024-02-0" + std::to_string(1 + i % 9) + " 08:00:00"}});
  }
  std::ofstream(project_ + "/connections/erp.yml")
      << "name: erp\nsource_type: odoo\nauth:\n  url: " << server_.url()
      << "\n  database: odoo\n  user: dew@example.com\n  password: ${env:DEW_TEST_ODOO_KEY}\n"
         "odoo:\n  batch_size: 50\nstreams:\n  - name: res_partner\n";
  server_.SetDelayMs(20);
  int killed_mid_sync = 0;
  for (int round = 0; round < 3; ++round) {
    const int before = BronzeCommits();
    pid_t pid = SpawnSync();
    ASSERT_GT(pid, 0);
    // Kill once a few more pages are committed (or give up waiting after two minutes).
    for (int waited = 0; waited < 1200 && BronzeCommits() < before + 3 + round; ++waited)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) ++killed_mid_sync;
  }
  EXPECT_GT(killed_mid_sync, 0) << "every sync finished before it could be killed";
  DewRun partial = Dew({"--format", "csv", "sql",
                        "SELECT count(*) < 1500 AND count(*) = count(DISTINCT id) FROM "
                        "bronze.raw_erp_res_partner"});
  EXPECT_NE(partial.out.find("true"), std::string::npos) << partial.out << partial.err;

  server_.SetDelayMs(0);
  DewRun done = Dew({"--format", "csv", "sync", "erp"});
  ASSERT_EQ(done.code, 0) << done.err << done.out;
  DewRun count = Dew({"--format", "csv", "sql",
                      "SELECT count(*) || '/' || count(DISTINCT id) FROM "
                      "bronze.raw_erp_res_partner WHERE NOT _deleted"});
  ASSERT_EQ(count.code, 0) << count.err;
  EXPECT_NE(count.out.find("1500/1500"), std::string::npos) << count.out;
  DewRun silver = Dew({"--format", "csv", "sql",
                       "SELECT count(*) || '/' || count(DISTINCT id) FROM silver.erp_res_partner"});
  ASSERT_EQ(silver.code, 0) << silver.err;
  EXPECT_NE(silver.out.find("1500/1500"), std::string::npos) << silver.out;
}

}  // namespace
}  // namespace dew
