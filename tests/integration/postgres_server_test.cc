#include "support/postgres_server.h"

#include <gtest/gtest.h>

#include <memory>

namespace dew::testing {
namespace {

class PostgresServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!PostgresServer::Available()) return;
    server_ = new PostgresServer();
    start_status_ = new Status(server_->Start());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete start_status_;
    start_status_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    ASSERT_TRUE(start_status_->ok()) << start_status_->ToString();
  }
  static PostgresServer* server_;
  static Status* start_status_;
};
PostgresServer* PostgresServerTest::server_ = nullptr;
Status* PostgresServerTest::start_status_ = nullptr;

TEST_F(PostgresServerTest, RunsSqlAndReturnsRows) {
  auto out = server_->RunSql(
      "CREATE TABLE t (a int, b text); INSERT INTO t VALUES (1, 'x'), (2, NULL);"
      "SELECT count(*), count(b) FROM t;");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "2|1\n");
  EXPECT_GT(server_->port(), 0);
  EXPECT_EQ(server_->password().size(), 32u);
}

TEST_F(PostgresServerTest, ReportsSqlErrors) {
  auto out = server_->RunSql("SELECT * FROM no_such_table;");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().ToString().find("no_such_table"), std::string::npos)
      << out.status().ToString();
}

TEST(PostgresServerLifecycleTest, StopIsIdempotentAndRestartable) {
  if (!PostgresServer::Available()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
  PostgresServer server;
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(server.RunSql("SELECT 1").ok());
  ASSERT_TRUE(server.Stop().ok());
  EXPECT_FALSE(server.running());
  ASSERT_TRUE(server.Stop().ok());
  EXPECT_FALSE(server.RunSql("SELECT 1").ok());
}

}  // namespace
}  // namespace dew::testing
