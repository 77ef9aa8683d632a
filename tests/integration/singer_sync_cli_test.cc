// `dew sync` over Singer and Airbyte connections (the Python taps in tests/data/taps), through
// the built dew binary: a normal sync into bronze and silver, and `kill -9` of dew itself in
// the middle of a sync followed by a resume with no duplicates and no gaps.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "core/file_system.h"
#include "support/dew_process.h"

namespace dew {
namespace {

using testing::DewRun;

class SingerSyncCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_singer_cli_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    project_ = dir_ + "/proj";
    ASSERT_EQ(Dew(dir_, {"init", "proj"}).code, 0);
    auto fs = FileSystem::Posix();
    ASSERT_TRUE(fs->CreateDirs(project_ + "/taps").ok());
    for (const char* tap : {"tap_fake.py", "source_fake.py"}) {
      auto text = fs->ReadFile(std::string(DEW_SOURCE_DIR) + "/tests/data/taps/" + tap);
      ASSERT_TRUE(text.ok());
      const std::string path = project_ + "/taps/" + tap;
      ASSERT_TRUE(fs->WriteFile(path, *text).ok());
      ASSERT_EQ(chmod(path.c_str(), 0755), 0);
    }
  }
  void TearDown() override { (void)FileSystem::Posix()->RemoveAll(dir_); }

  DewRun Dew(const std::string& cwd, const std::vector<std::string>& args) {
    return testing::RunDew(cwd, args, dir_, {{"DEW_TEST_CRM_KEY", "good-key"}});
  }
  std::string Sql(const std::string& sql) {
    DewRun r = Dew(project_, {"--format", "csv", "sql", sql});
    EXPECT_EQ(r.code, 0) << r.err;
    std::string out = r.out;
    size_t nl = out.find('\n');  // drop the header line
    out = nl == std::string::npos ? out : out.substr(nl + 1);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  void WriteConnection(const std::string& name, const std::string& text) {
    std::ofstream(project_ + "/connections/" + name + ".yml") << text;
  }

  std::string dir_;
  std::string project_;
};

TEST_F(SingerSyncCliTest, SyncsSingerAndAirbyteStreamsIntoBronzeAndSilver) {
  WriteConnection("fake",
                  "name: fake\nsource_type: singer\nsinger:\n  executable: taps/tap_fake.py\n"
                  "  config: {users: 120, orders: 7, state_every: 50}\n"
                  "streams:\n"
                  "  - name: users\n    sync_mode: incremental\n    cursor_field: id\n"
                  "    primary_key: [id]\n"
                  "  - name: orders\n    sync_mode: full_refresh\n    primary_key: [id]\n");
  DewRun discover = Dew(project_, {"--format", "csv", "discover", "fake"});
  ASSERT_EQ(discover.code, 0) << discover.err;
  EXPECT_NE(discover.out.find("users,created_at,"), std::string::npos) << discover.out;
  EXPECT_NE(discover.out.find(",TIMESTAMPTZ,"), std::string::npos) << discover.out;

  DewRun sync = Dew(project_, {"sync", "fake"});
  ASSERT_EQ(sync.code, 0) << sync.out << sync.err;
  DewRun again = Dew(project_, {"sync", "fake"});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_EQ(again.err.find("schema drift"), std::string::npos) << again.err;
  EXPECT_NE(sync.out.find("sync_fake_users_incremental"), std::string::npos) << sync.out;
  EXPECT_EQ(Sql("SELECT count(*) || ' ' || count(DISTINCT id) FROM bronze.raw_fake_users"),
            "120 120");
  EXPECT_EQ(Sql("SELECT count(*) FROM silver.fake_users"), "120");
  EXPECT_EQ(Sql("SELECT count(*) FROM silver.fake_orders"), "7");
  EXPECT_NE(Dew(project_, {"state", "show", "fake"}).out.find("120"), std::string::npos);

  WriteConnection("crm",
                  "name: crm\nsource_type: airbyte\nairbyte:\n  executable: taps/source_fake.py\n"
                  "  config: {api_key: '${env:DEW_TEST_CRM_KEY}', customers: 33, state_every: 10}\n"
                  "streams:\n"
                  "  - name: customers\n    sync_mode: incremental\n    cursor_field: id\n"
                  "    primary_key: [id]\n");
  DewRun test = Dew(project_, {"connection", "test", "crm"});
  EXPECT_EQ(test.code, 0) << test.out << test.err;
  DewRun crm = Dew(project_, {"sync", "crm"});
  ASSERT_EQ(crm.code, 0) << crm.out << crm.err;
  EXPECT_EQ(Sql("SELECT count(*) || ' ' || max(id) FROM silver.crm_customers"), "33 33");
}

TEST_F(SingerSyncCliTest, KilledDewResumesWithNoDuplicatesAndNoGaps) {
  // The tap pauses after 350 records (STATEs came after 100, 200 and 300) until dew is gone.
  WriteConnection("fake",
                  "name: fake\nsource_type: singer\nsinger:\n  executable: taps/tap_fake.py\n"
                  "  config: {users: 1000, state_every: 100, pause_after: 350, "
                  "pause_marker: paused}\n"
                  "streams:\n"
                  "  - name: users\n    sync_mode: incremental\n    cursor_field: id\n"
                  "    primary_key: [id]\n");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (chdir(project_.c_str()) != 0) _exit(120);
    int out = open((dir_ + "/killed.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(out, 2);
    execl(DEW_BINARY, "dew", "sync", "fake", static_cast<char*>(nullptr));
    _exit(121);
  }
  // Wait (bounded) until the third batch is committed, then kill dew without warning.
  const std::string third =
      project_ + "/lake/bronze/raw_fake_users/_delta_log/" + "00000000000000000002.json";
  bool committed = false;
  for (int i = 0; i < 1200 && !committed; i++) {
    committed =
        access(third.c_str(), F_OK) == 0 && access((project_ + "/paused").c_str(), F_OK) == 0;
    if (!committed) usleep(50 * 1000);
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(committed) << testing::ReadAll(dir_ + "/killed.out");
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(Sql("SELECT count(*) || ' ' || max(id) FROM bronze.raw_fake_users"), "300 300");

  DewRun resume = Dew(project_, {"sync", "fake"});
  ASSERT_EQ(resume.code, 0) << resume.out << resume.err;
  EXPECT_EQ(Sql("SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || min(id) || ' ' || max(id) "
                "|| ' ' || sum(id) FROM bronze.raw_fake_users"),
            "1000 1000 1 1000 500500");
  EXPECT_EQ(Sql("SELECT count(*) || ' ' || count(DISTINCT id) FROM silver.fake_users"),
            "1000 1000");
  // The killed dew could not remove its private folder (resolved config); the next run did.
  auto entries = FileSystem::Posix()->ListDir(project_ + "/.dew");
  ASSERT_TRUE(entries.ok());
  for (const auto& e : *entries) EXPECT_NE(e.name.rfind("tap_", 0), 0u) << e.name;
}

}  // namespace
}  // namespace dew
