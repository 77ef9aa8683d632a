// `dew connection test`, `dew discover` and `dew sync` over a rest connection (OAuth2, page
// pagination, an incremental stream) against the loopback API: bronze and silver, and a
// second sync that asks only for newer records.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "support/dew_process.h"
#include "support/rest_api_server.h"

namespace dew {
namespace {

using testing::DewRun;
using testing::RestApiServer;
using testing::ShellQuote;

class RestCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.RequireOAuth("dew-cli", "cli-secret-value", 3600);
    char tmpl[] = "/tmp/dew_rest_cli_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    project_ = dir_ + "/proj";
    ASSERT_EQ(testing::RunDew(dir_, {"init", "proj"}, dir_).code, 0);
    std::ofstream(project_ + "/connections/api.yml")
        << "name: api\nsource_type: rest\n"
           "auth:\n  type: oauth2_client_credentials\n  token_url: "
        << server_.TokenUrl()
        << "\n  client_id: dew-cli\n  client_secret: ${env:DEW_TEST_API_SECRET}\n"
           "rest:\n  base_url: "
        << server_.BaseUrl()
        << "\n  records_path: data\n  pagination: {type: page, page_size: 10}\n"
           "streams:\n  - name: invoices\n    path: /page/invoices\n    primary_key: [id]\n"
           "    sync_mode: incremental\n    cursor_field: updated_at\n"
           "    incremental_param: updated_since\n";
  }
  void TearDown() override {
    if (!dir_.empty()) (void)std::system(("rm -rf " + ShellQuote(dir_)).c_str());
  }
  DewRun Dew(const std::vector<std::string>& args, const std::string& secret = "cli-secret-value") {
    return testing::RunDew(project_, args, dir_, {{"DEW_TEST_API_SECRET", secret}});
  }
  std::string Sql(const std::string& sql) {
    DewRun r = Dew({"sql", "--format", "csv", sql});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }

  RestApiServer server_;
  std::string dir_;
  std::string project_;
};

TEST_F(RestCliTest, TestDiscoverAndTwoIncrementalSyncs) {
  DewRun test = Dew({"connection", "test", "api"});
  EXPECT_EQ(test.code, 0) << test.out << test.err;
  DewRun discover = Dew({"discover", "api"});
  EXPECT_EQ(discover.code, 0) << discover.err;
  EXPECT_NE(discover.out.find("updated_at"), std::string::npos) << discover.out;

  DewRun sync = Dew({"sync", "api"});
  ASSERT_EQ(sync.code, 0) << sync.out << sync.err;
  EXPECT_NE(Sql("SELECT count(*) FROM bronze.raw_api_invoices").find("25"), std::string::npos);
  EXPECT_NE(Sql("SELECT count(*) FROM silver.api_invoices").find("25"), std::string::npos);

  nlohmann::json changed = RestApiServer::Invoices(3)[2];
  changed["updated_at"] = "2026-01-01T01:00:00Z";
  changed["amount"] = 999.5;
  server_.Upsert(changed);
  const size_t before = server_.api_requests();
  sync = Dew({"sync", "api"});
  ASSERT_EQ(sync.code, 0) << sync.out << sync.err;
  const auto seen = server_.requests();
  ASSERT_GT(seen.size(), before);
  EXPECT_EQ(seen.back().params.find("updated_since")->second, "2026-01-01T00:25:00Z");
  EXPECT_NE(Sql("SELECT amount FROM silver.api_invoices WHERE id = 3").find("999.5"),
            std::string::npos);
  EXPECT_NE(Sql("SELECT count(*) FROM silver.api_invoices").find("25"), std::string::npos);
}

TEST_F(RestCliTest, WrongSecretIsReportedAsRefusedWithoutTheSecret) {
  DewRun test = Dew({"connection", "test", "api"}, "not-the-secret");
  EXPECT_NE(test.code, 0);
  const std::string all = test.out + test.err;
  EXPECT_NE(all.find("refused"), std::string::npos) << all;
  EXPECT_EQ(all.find("not-the-secret"), std::string::npos) << all;
  DewRun sync = Dew({"sync", "api"}, "not-the-secret");
  EXPECT_NE(sync.code, 0);
  EXPECT_EQ((sync.out + sync.err).find("not-the-secret"), std::string::npos);
}

}  // namespace
}  // namespace dew
