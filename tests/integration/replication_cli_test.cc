// `detect_deletes: replication` through the dew binary against a real PostgreSQL 15 with
// wal_level=logical: `dew connection test` names what the source lacks, `dew sync` lands
// deletions from the stream's replication slot, `dew state reset` drops the slot.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/source_project.h"

namespace dew {
namespace {

using testing::DewRun;

class SyncCliReplicationTest : public testing::SourceProjectTest<SyncCliReplicationTest> {
 public:
  static testing::SourceOptions Source() {
    return {.database = "erp",
            .password_env = "DEW_TEST_ERP_PASSWORD",
            .settings = {{"wal_level", "logical"}},
            .temp_prefix = "dew_replication_cli"};
  }

 protected:
  void SetUp() override {
    SourceProjectTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Each test starts from a source without dew's publication, slot or privileges.
    Pg("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots;"
       "DROP PUBLICATION IF EXISTS dew_erp_partner; DROP TABLE IF EXISTS partner;"
       "ALTER ROLE reader NOREPLICATION;");
    Pg("CREATE TABLE partner (id integer PRIMARY KEY, name text, write_date timestamp NOT NULL);"
       "INSERT INTO partner SELECT g, 'p' || g, TIMESTAMP '2024-01-01' + g * INTERVAL '1 hour' "
       "FROM generate_series(1, 40) g; GRANT SELECT ON partner TO reader;");
    WriteConnection("erp",
                    "streams:\n  - name: partner\n    sync_mode: incremental\n"
                    "    cursor_field: write_date\n    detect_deletes: replication\n");
  }
};

TEST_F(SyncCliReplicationTest, ConnectionTestSyncAndReset) {
  // Without REPLICATION, then without the right to publish the table: each named, with the
  // connection file, the stream, the field and what to run.
  DewRun test = Dew({"connection", "test", "erp"});
  EXPECT_NE(test.code, 0);
  EXPECT_NE(test.err.find("erp.yml: stream partner: detect_deletes: replication: user reader has "
                          "no REPLICATION privilege"),
            std::string::npos)
      << test.out << test.err;
  Pg("ALTER ROLE reader REPLICATION");
  test = Dew({"connection", "test", "erp"});
  EXPECT_NE(test.code, 0);
  EXPECT_NE(test.err.find("user reader may not create the publication dew_erp_partner"),
            std::string::npos)
      << test.err;
  EXPECT_NE(test.err.find("have an owner run: CREATE PUBLICATION \"dew_erp_partner\" FOR TABLE "
                          "\"public\".\"partner\" (\"id\")"),
            std::string::npos)
      << test.err;
  // An owner publishes the key column, as the message says.
  Pg("CREATE PUBLICATION dew_erp_partner FOR TABLE public.partner (id)");
  test = Dew({"connection", "test", "erp"});
  EXPECT_EQ(test.code, 0) << test.out << test.err;

  DewRun first = Dew({"--format", "csv", "sync", "erp"});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(Pg("SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
               "'dew_erp_partner'"),
            "1");
  Pg("DELETE FROM partner WHERE id IN (4, 30); UPDATE partner SET name = 'x', write_date = "
     "'2030-01-01' WHERE id = 5;");
  DewRun second = Dew({"--format", "csv", "sync", "erp"});
  ASSERT_EQ(second.code, 0) << second.err;
  // job,stream,table,rows,bronze_rows,deleted_rows,silver_rows,status,…
  EXPECT_NE(second.out.find(",partner,bronze.raw_erp_partner,1,3,2,"), std::string::npos)
      << second.out;
  DewRun silver = Dew({"sql", "--format", "csv",
                       "SELECT string_agg(id::VARCHAR, ' ' ORDER BY id) AS gone FROM "
                       "silver.erp_partner WHERE _deleted"});
  EXPECT_EQ(silver.out, "gone\n4 30\n") << silver.err;

  DewRun reset = Dew({"state", "reset", "erp"});
  ASSERT_EQ(reset.code, 0) << reset.err;
  EXPECT_NE(reset.out.find("erp.partner: replication slot dew_erp_partner dropped"),
            std::string::npos)
      << reset.out;
  EXPECT_EQ(Pg("SELECT count(*) FROM pg_replication_slots"), "0");
  // The next sync reads every row and makes the slot again.
  DewRun third = Dew({"--format", "csv", "sync", "erp"});
  ASSERT_EQ(third.code, 0) << third.err;
  EXPECT_NE(third.out.find(",partner,bronze.raw_erp_partner,38,38,0,"), std::string::npos)
      << third.out;
  EXPECT_EQ(Pg("SELECT count(*) FROM pg_replication_slots"), "1");
}

// `dew sync` SIGKILLed at random moments while rows change and go: the kills land anywhere in a
// sync (before, during and after the read, between the deletions' commit and the slot's
// advance). After a last sync, silver's live keys are exactly the source's, every deleted key
// is `_deleted` in silver, and no deletion landed twice in bronze.
TEST_F(SyncCliReplicationTest, KilledSyncsLoseAndDoubleNothing) {
  Pg("ALTER ROLE reader REPLICATION; ALTER TABLE partner OWNER TO reader;"
     "GRANT CREATE ON DATABASE erp TO reader;"
     "INSERT INTO partner SELECT g, 'p' || g, TIMESTAMP '2024-01-01' + g * INTERVAL '1 second' "
     "FROM generate_series(41, 8000) g;");
  DewRun first = Dew({"sync", "erp"});
  ASSERT_EQ(first.code, 0) << first.err;
  auto start_sync = [&]() { return StartDew("sync erp"); };
  // How long one sync of a round's changes takes here: the kills are spread over it.
  std::mt19937 rng(20261206);
  auto change = [&](int round) {
    Pg("UPDATE partner SET name = 'r" + std::to_string(round) +
       "', write_date = TIMESTAMP '2025-01-01' + " + std::to_string(round) +
       " * INTERVAL '1 day' + id * INTERVAL '1 millisecond' WHERE id % 7 = " +
       std::to_string(round % 7) +
       "; DELETE FROM partner WHERE id % 97 = " + std::to_string(round) + ";");
  };
  change(0);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(Dew({"sync", "erp"}).code, 0);
  const auto full_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  int killed = 0;
  for (int round = 1; round <= 6; ++round) {
    change(round);
    pid_t pid = start_sync();
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % (full_ms + 1)));
    kill(pid, SIGKILL);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    if (WIFSIGNALED(wstatus)) ++killed;
  }
  EXPECT_GE(killed, 3) << "the syncs finished before they could be killed";
  DewRun last = Dew({"sync", "erp"});
  ASSERT_EQ(last.code, 0) << last.err << testing::ReadAll(dir_ + "/sync.err");

  // Live keys (count, sum) and their last names: equal on both sides.
  const std::string source = Pg("SELECT count(*) || ' ' || sum(id) FROM partner");
  const std::string names = Pg("SELECT md5(string_agg(id || name, ',' ORDER BY id)) FROM partner");
  DewRun lake = Dew({"sql", "--format", "csv",
                     "SELECT count(*) || ' ' || sum(id) AS live, md5(string_agg(id || name, ',' "
                     "ORDER BY id)) AS names FROM silver.erp_partner WHERE NOT _deleted"});
  ASSERT_EQ(lake.code, 0) << lake.err;
  EXPECT_EQ(lake.out, "live,names\n" + source + "," + names + "\n");
  const std::string gone =
      Pg("SELECT count(*) FROM generate_series(1, 8000) g WHERE g NOT IN (SELECT id FROM partner)");
  DewRun deleted = Dew({"sql", "--format", "csv",
                        "SELECT (SELECT count(*) FROM silver.erp_partner WHERE _deleted) AS s, "
                        "(SELECT max(n) FROM (SELECT count(*) AS n FROM bronze.raw_erp_partner "
                        "WHERE _deleted GROUP BY id)) AS most"});
  EXPECT_EQ(deleted.out, "s,most\n" + gone + ",1\n") << deleted.err;
}

}  // namespace
}  // namespace dew
