// The files source end to end against a real OpenSSH server (sshd started per suite): a
// connection file with store: sftp, key and password auth, a pinned host key, incremental
// sync of new and changed files into bronze, and the errors a user sees for bad credentials.
#include <gtest/gtest.h>
#include <sys/time.h>

#include <filesystem>
#include <fstream>

#include "connectors/connection_spec.h"
#include "connectors/source_factory.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "core/http_client.h"
#include "engine/connection.h"
#include "lake/lake_test_util.h"
#include "lake/lakehouse.h"
#include "support/sshd_server.h"

namespace dew::connectors {
namespace {

using dew::testing::SshdServer;

void Write(const std::string& path, const std::string& text, int64_t mtime_seconds) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::trunc) << text;
  struct timeval times[2] = {{mtime_seconds, 0}, {mtime_seconds, 0}};
  utimes(path.c_str(), times);
}

class FilesSftpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!SshdServer::Available()) return;
    auto server = SshdServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "openssh-server is not installed";
    root_ =
        server_->data_dir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(root_);
    lake::LakehouseOptions o;
    o.lake_root = dir_.path() + "/lake";
    o.cwd = dir_.path();
    o.user = "tester";
    auto lake = lake::Lakehouse::Open(o, FileSystem::Posix(), Clock::System());
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    lake_ = std::move(*lake);
  }

  Result<std::unique_ptr<Source>> Make(const std::string& auth, const std::string& trust,
                                       const std::map<std::string, std::string>& vars) {
    const std::string yaml =
        "name: bank\nsource_type: files\nfiles:\n  store: sftp\n"
        "  host: 127.0.0.1\n  port: " +
        std::to_string(server_->port()) + "\n  root: " + root_ + "\n" + trust +
        "auth:\n  user: " + server_->user() + "\n" + auth +
        "streams:\n  - name: statements\n    glob: \"**/*.csv\"\n"
        "    primary_key: [id]\n";
    DEW_ASSIGN_OR_RETURN(ConnectionSpec spec, ConnectionSpec::Parse(yaml, "connections/bank.yml"));
    SourceEnv env;
    env.fs = FileSystem::Posix();
    env.clock = Clock::System();
    env.http = NewCurlHttpClient();
    env.env = vars;
    env.project_dir = dir_.path();
    env.spool_dir = dir_.path() + "/spool";
    return MakeSource(spec, env);
  }

  std::string Query(const std::string& sql) {
    auto r = lake_->connection().QueryScalar(sql);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->value_or("NULL") : "ERROR";
  }

  Result<ReadResult> Sync(Source& source) {
    StreamRequest request;
    request.name = "statements";
    request.sync_mode = "incremental";
    return source.Read(request, nlohmann::json(), lake_.get());
  }

  static SshdServer* server_;
  lake::testing::TempDir dir_;
  std::string root_;
  std::unique_ptr<lake::Lakehouse> lake_;
};
SshdServer* FilesSftpTest::server_ = nullptr;

TEST_F(FilesSftpTest, SyncsNewAndChangedFilesWithAKeyFromTheEnvironment) {
  Write(root_ + "/2026/01.csv", "id,amount\n1,10\n2,20\n", 1767225600);
  Write(root_ + "/2026/02.csv", "id,amount\n3,30\n", 1769904000);
  Write(root_ + "/readme.md", "not data", 1769904000);
  auto source = Make("  private_key: ${env:BANK_SSH_KEY}\n",
                     "  host_key_fingerprint: \"" + server_->host_key_fingerprint() + "\"\n",
                     {{"BANK_SSH_KEY", server_->client_key_text()}});
  ASSERT_TRUE(source.ok()) << source.status().ToString();

  CheckProblem problem = CheckProblem::kOther;
  Status check = (*source)->Check({"statements"}, &problem);
  ASSERT_TRUE(check.ok()) << check.ToString() << server_->Log();

  auto streams = (*source)->Discover();
  ASSERT_TRUE(streams.ok()) << streams.status().ToString();
  ASSERT_EQ(streams->size(), 1u);
  ASSERT_EQ((*streams)[0].columns.size(), 3u);
  EXPECT_EQ((*streams)[0].columns[1].name, "amount");

  auto first = Sync(**source);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->rows, 3);
  EXPECT_EQ(Query("SELECT sum(amount) FROM bronze.raw_bank_statements"), "60");
  EXPECT_EQ(Query("SELECT _source_file FROM bronze.raw_bank_statements WHERE id = 3"),
            "2026/02.csv");
  // Downloads are deleted once landed.
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() + "/spool"));

  Write(root_ + "/2026/02.csv", "id,amount\n3,31\n4,40\n", 1772323200);
  auto second = Sync(**source);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->rows, 2);
  EXPECT_EQ(Query("SELECT count(*) FROM bronze.raw_bank_statements"), "5");
  auto third = Sync(**source);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->rows, 0);
}

TEST_F(FilesSftpTest, KnownHostsFileAndKeyFile) {
  Write(root_ + "/a.csv", "id\n1\n", 1767225600);
  auto source = Make("  private_key_file: " + server_->client_key_path() + "\n",
                     "  known_hosts: " + server_->known_hosts_path() + "\n", {});
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto read = Sync(**source);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 1);
}

TEST_F(FilesSftpTest, BadCredentialsGiveAClearError) {
  auto source = Make("  password: ${env:BANK_SFTP_PASSWORD}\n",
                     "  known_hosts: " + server_->known_hosts_path() + "\n",
                     {{"BANK_SFTP_PASSWORD", "wrong-password"}});
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  CheckProblem problem = CheckProblem::kNone;
  Status s = (*source)->Check({"statements"}, &problem);
  EXPECT_EQ(problem, CheckProblem::kAuthRefused);
  EXPECT_EQ(s.message().rfind("the SFTP server " + server_->user() +
                                  "@127.0.0.1:" + std::to_string(server_->port()) +
                                  " refused the password of user " + server_->user(),
                              0),
            0u)
      << s.ToString();
  EXPECT_EQ(s.message().find("wrong-password"), std::string::npos);
  auto read = Sync(**source);
  EXPECT_FALSE(read.ok());
}

}  // namespace
}  // namespace dew::connectors
