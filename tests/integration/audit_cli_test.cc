// dew audit list / verify as a user runs them, on SQLite and on PostgreSQL: runs started and
// cancelled by named users are audited, and a row changed or removed behind dew's back (with the
// store's own client, as an operator with database access would) makes verify fail naming it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "store_project_fixture.h"
#include "support/dew_process.h"
#include "support/test_control_database.h"

namespace dew {
namespace {

using testing::DewRun;
using testing::StoreBackend;

class AuditCliTest : public testing::StoreProjectTest {
 protected:
  AuditCliTest() : StoreProjectTest("dew_audit_test") {}
  void SetUp() override {
    StoreProjectTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    WritePipeline("hello",
                  "name: hello\nparams: {who: world}\ntasks:\n"
                  "  - {name: greet, kind: shell, command: \"echo hello ${params.who}\"}\n");
  }

  //! Starts a run of hello as `user`; its id.
  std::string StartRun(const std::string& user, const std::string& who) {
    DewRun r = Dew({"--user", user, "run", "hello", "--param", "who=" + who});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
};

INSTANTIATE_TEST_SUITE_P(Stores, AuditCliTest, testing::BothStores(), testing::StoreBackendName);

TEST_P(AuditCliTest, ListShowsWhoStartedAndCancelledRunsAndVerifyPasses) {
  const std::string first = StartRun("ana", "finance");
  const std::string second = StartRun("ben", "ops");
  DewRun cancel = Dew({"--user", "carla", "run", "cancel", second});
  ASSERT_EQ(cancel.code, 0) << cancel.err;

  DewRun list = Dew({"--format", "csv", "audit", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  const std::vector<std::string> expected = {"1,", ",ana,run.start," + first + ",",     "finance",
                                             "2,", ",ben,run.start," + second + ",",    "ops",
                                             "3,", ",carla,run.cancel," + second + ",", "queued"};
  size_t at = 0;
  for (const std::string& piece : expected) {
    const size_t found = list.out.find(piece, at);
    ASSERT_NE(found, std::string::npos) << "'" << piece << "' in order in:\n" << list.out;
    at = found + piece.size();
  }

  DewRun last = Dew({"--format", "csv", "audit", "list", "--limit", "1"});
  ASSERT_EQ(last.code, 0) << last.err;
  EXPECT_EQ(last.out.find("run.start"), std::string::npos) << last.out;
  EXPECT_NE(last.out.find("run.cancel"), std::string::npos) << last.out;
  DewRun future = Dew({"--format", "csv", "audit", "list", "--since", "2999-01-01"});
  ASSERT_EQ(future.code, 0) << future.err;
  EXPECT_EQ(future.out.find("run."), std::string::npos) << future.out;
  DewRun bad = Dew({"audit", "list", "--since", "yesterday"});
  EXPECT_EQ(bad.code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("--since: bad time 'yesterday'"), std::string::npos) << bad.err;

  DewRun verify = Dew({"audit", "verify"});
  ASSERT_EQ(verify.code, 0) << verify.err;
  EXPECT_NE(verify.out.find("audit log ok: 3 entries, head hash "), std::string::npos)
      << verify.out;
}

TEST_P(AuditCliTest, VerifyNamesTheFirstChangedEntry) {
  StartRun("ana", "finance");
  const std::string second = StartRun("ben", "ops");
  StartRun("carla", "hr");
  ASSERT_EQ(Dew({"audit", "verify"}).code, 0);
  // Someone with database access rewrites who started the second run.
  auto tampered = db_.RunSql("UPDATE audit_log SET actor = 'mallory' WHERE id = 2");
  ASSERT_TRUE(tampered.ok()) << tampered.status().ToString();
  DewRun verify = Dew({"audit", "verify"});
  EXPECT_NE(verify.code, 0) << verify.out;
  EXPECT_NE(verify.err.find("the audit log is broken: audit entry 2 (run.start " + second +
                            " by mallory): its content hashes to "),
            std::string::npos)
      << verify.err;
  EXPECT_NE(verify.err.find("changed after it was written"), std::string::npos) << verify.err;
  EXPECT_EQ(verify.out.find("audit log ok"), std::string::npos) << verify.out;
}

TEST_P(AuditCliTest, VerifyNamesARemovedEntry) {
  StartRun("ana", "finance");
  StartRun("ben", "ops");
  StartRun("carla", "hr");
  auto removed = db_.RunSql("DELETE FROM audit_log WHERE id = 2");
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  DewRun verify = Dew({"audit", "verify"});
  EXPECT_NE(verify.code, 0) << verify.out;
  EXPECT_NE(verify.err.find("audit entry 2 is missing (the entry after 1 is 3)"), std::string::npos)
      << verify.err;
  // Re-linking the chain around the gap (renumbering, fixing prev_hash) still breaks a hash.
  auto relinked = db_.RunSql(
      "UPDATE audit_log SET id = 2, prev_hash = (SELECT hash FROM audit_log WHERE id = 1) "
      "WHERE id = 3");
  ASSERT_TRUE(relinked.ok()) << relinked.status().ToString();
  DewRun again = Dew({"audit", "verify"});
  EXPECT_NE(again.code, 0) << again.out;
  EXPECT_NE(again.err.find("audit entry 2 (run.start"), std::string::npos) << again.err;
}

}  // namespace
}  // namespace dew
