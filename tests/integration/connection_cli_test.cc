// Runs `dew connection`, `dew discover` and `dew sync` against a real PostgreSQL 15 server, with
// the password passed to the child through an ${env:NAME} reference.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/source_project.h"

namespace dew {
namespace {

using testing::DewRun;

class ConnectionCliTest : public testing::SourceProjectTest<ConnectionCliTest> {
 public:
  static testing::SourceOptions Source() {
    return {.database = "shop",
            .schema_sql =
                "CREATE TABLE orders (id integer PRIMARY KEY, amount numeric(10,2), note text);"
                "INSERT INTO orders SELECT g, g * 1.5, 'n' || g FROM generate_series(1, 137) g;",
            .password_env = "DEW_TEST_SHOP_PASSWORD",
            .temp_prefix = "dew_conn_cli_test"};
  }

 protected:
  void SetUp() override {
    SourceProjectTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    WriteConnection("shop",
                    "streams:\n  - name: orders\n    sync_mode: incremental\n"
                    "    cursor_field: id\n    primary_key: [id]\ntier: critical\n");
  }

  using SourceProjectTest::Dew;
  //! Runs dew in `cwd` with the shop password variable set to `password` (unset when empty).
  DewRun Dew(const std::string& cwd, const std::vector<std::string>& args,
             const std::string& password = "") {
    std::map<std::string, std::string> env;
    if (!password.empty()) env["DEW_TEST_SHOP_PASSWORD"] = password;
    return testing::RunDew(cwd, args, dir_, env);
  }
  DewRun InProject(const std::vector<std::string>& args) { return Dew(args); }
};

TEST_F(ConnectionCliTest, ListShowsConnection) {
  DewRun r = InProject({"--format", "csv", "connection", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("shop,postgres,127.0.0.1:" + std::to_string(server_->port()) +
                       "/shop,orders,critical,5,"),
            std::string::npos)
      << r.out;
  // Host and port given as references are listed as written, not as a resolved or zero port.
  std::ofstream(project_ + "/connections/shop.yml")
      << "name: shop\nsource_type: postgres\nauth:\n  host: ${env:SHOP_HOST}\n"
         "  port: ${env:SHOP_PORT}\n  database: shop\n  user: reader\n"
         "streams:\n  - name: orders\n    primary_key: [id]\n";
  DewRun refs = InProject({"--format", "csv", "connection", "list"});
  ASSERT_EQ(refs.code, 0) << refs.err;
  EXPECT_NE(refs.out.find("shop,postgres,${env:SHOP_HOST}:${env:SHOP_PORT}/shop,"),
            std::string::npos)
      << refs.out;
}

TEST_F(ConnectionCliTest, TestSucceedsAndReportsRefusedAuthentication) {
  DewRun ok = InProject({"connection", "test", "shop"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("connection 'shop': ok"), std::string::npos) << ok.out;

  DewRun wrong = Dew(project_, {"connection", "test", "shop"}, "wrong-password");
  EXPECT_NE(wrong.code, 0);
  EXPECT_NE(wrong.out.find("FAILED (authentication refused)"), std::string::npos) << wrong.out;
  EXPECT_NE(wrong.err.find("refused authentication"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("wrong-password"), std::string::npos) << "password leaked";

  DewRun unset = Dew(project_, {"connection", "test", "shop"});
  EXPECT_NE(unset.code, 0);
  EXPECT_NE(unset.err.find("environment variable DEW_TEST_SHOP_PASSWORD is not set"),
            std::string::npos)
      << unset.err;

  DewRun missing = InProject({"connection", "test", "nope"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("no connection 'nope'"), std::string::npos) << missing.err;
}

TEST_F(ConnectionCliTest, DiscoverListsColumnsTypesAndKeys) {
  DewRun r = InProject({"--format", "csv", "discover", "shop"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("orders,id,integer,INTEGER,no,yes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("orders,amount,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("DECIMAL(10,2)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("orders,note,"), std::string::npos) << r.out;
}

TEST_F(ConnectionCliTest, SyncFullRefreshLandsEveryRowInBronze) {
  DewRun incremental = InProject({"--format", "csv", "sync", "shop"});
  EXPECT_EQ(incremental.code, 0) << incremental.err;
  EXPECT_NE(incremental.out.find("sync_shop_orders_incremental,orders,bronze.raw_shop_orders,137,"),
            std::string::npos)
      << incremental.out;

  DewRun r = InProject({"--format", "csv", "sync", "shop", "--stream", "orders", "--full-refresh"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("sync_shop_orders_full_refresh,orders,bronze.raw_shop_orders,137,"),
            std::string::npos)
      << r.out;

  auto source_count = server_->RunSql("SELECT count(*) FROM orders", "shop");
  ASSERT_TRUE(source_count.ok()) << source_count.status().ToString();
  DewRun count =
      InProject({"sql", "--format", "csv", "SELECT count(*) AS n FROM bronze.raw_shop_orders"});
  ASSERT_EQ(count.code, 0) << count.err;
  EXPECT_EQ(count.out, "n\n" + std::to_string(2 * std::stoi(*source_count)) + "\n") << count.out;

  DewRun bad_stream = InProject({"sync", "shop", "--stream", "nope", "--full-refresh"});
  EXPECT_NE(bad_stream.code, 0);
  EXPECT_NE(bad_stream.err.find("no stream 'nope'"), std::string::npos) << bad_stream.err;
}

}  // namespace
}  // namespace dew
