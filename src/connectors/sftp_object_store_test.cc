#include "connectors/sftp_object_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lake/lake_test_util.h"
#include "support/sshd_server.h"

namespace dew::connectors {
namespace {

using dew::testing::SshdServer;

void WriteFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

// One sshd for the suite (generated host and client keys, a free port), torn down after.
class SftpObjectStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!SshdServer::Available()) return;
    auto server = SshdServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = server->release();
    WriteFile(server_->data_dir() + "/in/a.csv", "id\n1\n");
    WriteFile(server_->data_dir() + "/in/sub/b.csv", "id\n2\n3\n");
    WriteFile(server_->data_dir() + "/top.txt", "x");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "openssh-server is not installed";
  }

  SftpConfig Config() const {
    SftpConfig c;
    c.host = "127.0.0.1";
    c.port = server_->port();
    c.user = server_->user();
    c.private_key_file = server_->client_key_path();
    c.known_hosts = server_->known_hosts_path();
    c.root = server_->data_dir();
    c.timeout_seconds = 10;
    return c;
  }

  static SshdServer* server_;
};
SshdServer* SftpObjectStoreTest::server_ = nullptr;

TEST_F(SftpObjectStoreTest, ListsRecursivelyAndDownloads) {
  SftpObjectStore store(Config());
  CheckProblem problem = CheckProblem::kOther;
  ASSERT_TRUE(store.Check(&problem).ok()) << store.Check(nullptr).ToString() << server_->Log();
  auto list = store.List("in/");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<std::string> paths;
  for (const ObjectEntry& e : *list) paths.push_back(e.path);
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"in/a.csv", "in/sub/b.csv"}));
  for (const ObjectEntry& e : *list) {
    if (e.path == "in/sub/b.csv") {
      EXPECT_EQ(e.size, 7);
    }
    EXPECT_GT(e.mtime_millis, 0);
  }
  auto all = store.List("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  auto none = store.List("no-such-folder/");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());

  lake::testing::TempDir dir;
  ASSERT_TRUE(store.Download("in/sub/b.csv", dir.path() + "/b.csv").ok());
  std::ifstream in(dir.path() + "/b.csv");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "id\n2\n3\n");
  EXPECT_EQ(store.Download("in/missing.csv", dir.path() + "/m.csv").code(),
            Status::Code::kNotFound);
}

TEST_F(SftpObjectStoreTest, KeyTextAndPinnedFingerprint) {
  SftpConfig c = Config();
  c.private_key_file.clear();
  c.private_key = server_->client_key_text();
  c.known_hosts = "/nonexistent/known_hosts";
  c.host_key_fingerprint = server_->host_key_fingerprint();
  SftpObjectStore store(c);
  Status s = store.Check(nullptr);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(SftpObjectStoreTest, RefusesAnUntrustedHostKey) {
  SftpConfig pinned = Config();
  pinned.host_key_fingerprint = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  CheckProblem problem = CheckProblem::kNone;
  Status s = SftpObjectStore(pinned).Check(&problem);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kOther);
  EXPECT_NE(s.message().find("not the pinned"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find(server_->host_key_fingerprint()), std::string::npos);

  lake::testing::TempDir dir;
  WriteFile(dir.path() + "/known_hosts", "");
  SftpConfig unknown = Config();
  unknown.known_hosts = dir.path() + "/known_hosts";
  s = SftpObjectStore(unknown).Check(&problem);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("is not listed in"), std::string::npos) << s.ToString();
}

TEST_F(SftpObjectStoreTest, CheckTellsTheProblemsApart) {
  CheckProblem problem = CheckProblem::kNone;
  SftpConfig password = Config();
  password.private_key_file.clear();
  password.password = "certainly-not-the-password";
  Status s = SftpObjectStore(password).Check(&problem);
  EXPECT_EQ(problem, CheckProblem::kAuthRefused) << s.ToString();
  EXPECT_NE(s.message().find("refused the password of user " + server_->user()), std::string::npos)
      << s.ToString();
  EXPECT_EQ(s.message().find("certainly-not-the-password"), std::string::npos);

  // A key the server does not list in authorized_keys.
  lake::testing::TempDir dir;
  ASSERT_TRUE(dew::testing::RunCommand(
                  {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.path() + "/other"})
                  .ok());
  SftpConfig other_key = Config();
  other_key.private_key_file = dir.path() + "/other";
  s = SftpObjectStore(other_key).Check(&problem);
  EXPECT_EQ(problem, CheckProblem::kAuthRefused) << s.ToString();
  EXPECT_NE(s.message().find("refused the private key"), std::string::npos) << s.ToString();

  SftpConfig missing = Config();
  missing.root = server_->data_dir() + "/no-such-folder";
  s = SftpObjectStore(missing).Check(&problem);
  EXPECT_EQ(problem, CheckProblem::kMissingDatabase) << s.ToString();
  EXPECT_NE(s.message().find("no-such-folder"), std::string::npos);

  auto port = dew::testing::PickLoopbackPort();
  ASSERT_TRUE(port.ok());
  SftpConfig nobody = Config();
  nobody.port = *port;
  s = SftpObjectStore(nobody).Check(&problem);
  EXPECT_EQ(problem, CheckProblem::kUnreachable) << s.ToString();
}

}  // namespace
}  // namespace dew::connectors
