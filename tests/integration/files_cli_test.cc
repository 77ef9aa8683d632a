// `dew connection test`, `dew discover` and `dew sync` of a files connection, run as the built
// binary: a local folder synced incrementally, and an SFTP server (sshd started by the test)
// reached with a key from the environment and refused with a wrong password.
#include <gtest/gtest.h>
#include <sys/time.h>

#include <filesystem>
#include <fstream>

#include "lake/lake_test_util.h"
#include "support/dew_process.h"
#include "support/sshd_server.h"

namespace dew {
namespace {

using dew::testing::DewRun;

void Write(const std::string& path, const std::string& text, int64_t mtime_seconds) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::trunc) << text;
  struct timeval times[2] = {{mtime_seconds, 0}, {mtime_seconds, 0}};
  utimes(path.c_str(), times);
}

class FilesCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Dew(dir_.path(), {"init", "proj"}).code, 0);
    project_ = dir_.path() + "/proj";
  }
  DewRun Dew(const std::string& cwd, const std::vector<std::string>& args,
             const std::map<std::string, std::string>& env = {}) {
    return dew::testing::RunDew(cwd, args, dir_.path(), env);
  }
  std::string Scalar(const std::string& sql) {
    DewRun r = Dew(project_, {"sql", sql, "--format", "csv"});
    EXPECT_EQ(r.code, 0) << r.err;
    // header line, then the value
    size_t nl = r.out.find('\n');
    std::string value = nl == std::string::npos ? "" : r.out.substr(nl + 1);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    return value;
  }

  lake::testing::TempDir dir_;
  std::string project_;
};

TEST_F(FilesCliTest, LocalFolderSyncsNewFilesOnly) {
  Write(project_ + "/inbox/statements/2026-01.csv", "id,amount\n1,10\n2,20\n", 1767225600);
  Write(project_ + "/connections/inbox.yml",
        "name: inbox\nsource_type: files\nfiles: {store: local, root: inbox}\nstreams:\n"
        "  - name: bank_statements\n    glob: \"statements/*.csv\"\n"
        "    sync_mode: incremental\n    cursor_field: _cursor\n    primary_key: [id]\n",
        1767225600);
  DewRun test = Dew(project_, {"connection", "test", "inbox"});
  EXPECT_EQ(test.code, 0) << test.out << test.err;
  DewRun discover = Dew(project_, {"discover", "inbox"});
  EXPECT_EQ(discover.code, 0) << discover.err;
  EXPECT_NE(discover.out.find("amount"), std::string::npos) << discover.out;

  DewRun sync = Dew(project_, {"sync", "inbox"});
  ASSERT_EQ(sync.code, 0) << sync.out << sync.err;
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_inbox_bank_statements"), "2");
  Write(project_ + "/inbox/statements/2026-02.csv", "id,amount\n3,30\n2,21\n", 1769904000);
  sync = Dew(project_, {"sync", "inbox"});
  ASSERT_EQ(sync.code, 0) << sync.out << sync.err;
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_inbox_bank_statements"), "4");
  EXPECT_EQ(Scalar("SELECT string_agg(id || '=' || amount, '|' ORDER BY id) FROM "
                   "silver.inbox_bank_statements"),
            "1=10|2=21|3=30");

  std::filesystem::remove_all(project_ + "/inbox");
  test = Dew(project_, {"connection", "test", "inbox"});
  EXPECT_NE(test.code, 0);
  EXPECT_NE((test.out + test.err).find("folder " + project_ + "/inbox does not exist"),
            std::string::npos)
      << test.out << test.err;
}

TEST_F(FilesCliTest, SftpWithAKeyAndAWrongPassword) {
  if (!dew::testing::SshdServer::Available()) GTEST_SKIP() << "openssh-server is not installed";
  auto server = dew::testing::SshdServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  Write((*server)->data_dir() + "/out/a.ndjson", "{\"id\": 1, \"v\": \"x\"}\n", 1767225600);
  const std::string head =
      "source_type: files\nfiles:\n  store: sftp\n  host: 127.0.0.1\n  port: " +
      std::to_string((*server)->port()) + "\n  root: " + (*server)->data_dir() +
      "\n  host_key_fingerprint: \"" + (*server)->host_key_fingerprint() +
      "\"\nauth:\n  user: " + (*server)->user() + "\n";
  const std::string streams = "streams:\n  - {name: items, glob: \"out/*.ndjson\"}\n";
  Write(project_ + "/connections/partner.yml",
        "name: partner\n" + head + "  private_key: ${env:PARTNER_KEY}\n" + streams, 1767225600);
  Write(project_ + "/connections/badpw.yml",
        "name: badpw\n" + head + "  password: ${env:PARTNER_PASSWORD}\n" + streams, 1767225600);

  const std::map<std::string, std::string> env = {{"PARTNER_KEY", (*server)->client_key_text()},
                                                  {"PARTNER_PASSWORD", "not-it"}};
  DewRun ok = Dew(project_, {"connection", "test", "partner"}, env);
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err << (*server)->Log();
  DewRun sync = Dew(project_, {"sync", "partner"}, env);
  ASSERT_EQ(sync.code, 0) << sync.out << sync.err;
  EXPECT_EQ(Scalar("SELECT v FROM bronze.raw_partner_items WHERE id = 1"), "x");

  DewRun refused = Dew(project_, {"connection", "test", "badpw"}, env);
  EXPECT_NE(refused.code, 0);
  EXPECT_NE((refused.out + refused.err).find("refused the password of user " + (*server)->user()),
            std::string::npos)
      << refused.out << refused.err;
  EXPECT_EQ((refused.out + refused.err).find("not-it"), std::string::npos);
}

}  // namespace
}  // namespace dew
