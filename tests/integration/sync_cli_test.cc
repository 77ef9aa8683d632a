// `dew sync`, `dew state show|reset` against a real PostgreSQL 15: incremental syncs with
// deletes, silver upserts, a schema drift alert, and a reset that makes the next sync reread.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "support/source_project.h"

namespace dew {
namespace {

using testing::DewRun;

class SyncCliTest : public testing::SourceProjectTest<SyncCliTest> {
 public:
  static testing::SourceOptions Source() {
    return {
        .database = "erp", .password_env = "DEW_TEST_ERP_PASSWORD", .temp_prefix = "dew_sync_cli"};
  }

 protected:
  void SetUp() override {
    SourceProjectTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Pg("DROP TABLE IF EXISTS partner; CREATE TABLE partner (id integer PRIMARY KEY, name text, "
       "write_date timestamp NOT NULL); INSERT INTO partner SELECT g, 'p' || g, TIMESTAMP "
       "'2024-01-01' + g * INTERVAL '1 hour' FROM generate_series(1, 50) g; "
       "GRANT SELECT ON partner TO reader;");
    WriteConnection("erp",
                    "streams:\n  - name: partner\n    sync_mode: incremental\n"
                    "    cursor_field: write_date\n    chunk_rows: 20\n"
                    "    on_schema_change: evolve\ntier: standard\n");
  }
  std::string Sql(const std::string& sql) {
    DewRun r = Dew({"sql", "--format", "csv", sql});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }
};

TEST_F(SyncCliTest, IncrementalSyncsDeletesDriftAndReset) {
  DewRun first = Dew({"--format", "csv", "sync", "erp"});
  ASSERT_EQ(first.code, 0) << first.err;
  // job,stream,table,rows,bronze_rows,deleted_rows,silver_rows,status,…
  EXPECT_NE(first.out.find("sync_erp_partner_incremental,partner,bronze.raw_erp_partner,50,50,0,"
                           "50,succeeded,"),
            std::string::npos)
      << first.out;

  Pg("UPDATE partner SET name = 'renamed', write_date = '2025-01-01' WHERE id = 7;"
     "DELETE FROM partner WHERE id = 8; ALTER TABLE partner ADD COLUMN email text;"
     "UPDATE partner SET email = 'a@b', write_date = '2025-01-02' WHERE id = 9;");
  DewRun second = Dew({"--format", "csv", "sync", "erp", "--stream", "partner"});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.out.find(",partner,bronze.raw_erp_partner,2,3,1,3,succeeded,"),
            std::string::npos)
      << second.out;
  EXPECT_NE(second.err.find("schema drift: new column email"), std::string::npos) << second.err;
  EXPECT_EQ(Sql("SELECT id, name, email, _deleted FROM silver.erp_partner WHERE id IN (7, 8, 9) "
                "ORDER BY id"),
            "id,name,email,_deleted\n7,renamed,,false\n8,p8,,true\n9,p9,a@b,false\n");

  DewRun show = Dew({"--format", "csv", "state", "show"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_NE(show.out.find("erp,partner,bronze.raw_erp_partner,"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("2025-01-02 00:00:00"), std::string::npos) << show.out;

  DewRun reset = Dew({"state", "reset", "erp", "--stream", "partner"});
  ASSERT_EQ(reset.code, 0) << reset.err;
  EXPECT_NE(reset.out.find("erp.partner: state reset"), std::string::npos) << reset.out;
  show = Dew({"--format", "csv", "state", "show", "erp"});
  EXPECT_NE(show.out.find("reset"), std::string::npos) << show.out;
  // The reset is in the audit log, by its user, and the chain still verifies.
  DewRun audit = Dew({"--format", "csv", "audit", "list"});
  ASSERT_EQ(audit.code, 0) << audit.err;
  EXPECT_NE(audit.out.find(",state.reset,erp.partner,"), std::string::npos) << audit.out;
  EXPECT_EQ(Dew({"audit", "verify"}).code, 0);

  // After the reset every row comes again; silver still has one row per key.
  DewRun third = Dew({"--format", "csv", "sync", "erp"});
  ASSERT_EQ(third.code, 0) << third.err;
  EXPECT_NE(third.out.find(",partner,bronze.raw_erp_partner,49,49,0,49,succeeded,"),
            std::string::npos)
      << third.out;
  EXPECT_EQ(
      Sql("SELECT count(*) AS n, count(DISTINCT id) AS k, count(*) FILTER (WHERE _deleted) AS d "
          "FROM silver.erp_partner"),
      "n,k,d\n50,50,1\n");

  DewRun bad = Dew({"state", "reset", "nope"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("no connection 'nope'"), std::string::npos) << bad.err;
}

// A sync after which PostgreSQL counted no deleted row skips the deleted-keys check and says
// so; a DELETE makes the next sync compare the keys again; `detect_deletes: digest` always does.
TEST_F(SyncCliTest, DeletedKeysCheckSkippedWhileNothingWasDeleted) {
  DewRun first = Dew({"--format", "csv", "sync", "erp"});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(first.err.find("deleted-keys check"), std::string::npos) << first.err;

  Pg("UPDATE partner SET name = 'renamed', write_date = '2025-01-01' WHERE id = 7");
  DewRun quiet = Dew({"--format", "csv", "sync", "erp"});
  ASSERT_EQ(quiet.code, 0) << quiet.err;
  EXPECT_NE(quiet.out.find(",partner,bronze.raw_erp_partner,1,1,0,1,succeeded,"), std::string::npos)
      << quiet.out;
  EXPECT_NE(quiet.err.find("dew: stream partner: deleted-keys check skipped: PostgreSQL counted "
                           "no deleted row of public.partner since the last check"),
            std::string::npos)
      << quiet.err;

  Pg("DELETE FROM partner WHERE id = 8");
  DewRun deleted = Dew({"--format", "csv", "sync", "erp"});
  ASSERT_EQ(deleted.code, 0) << deleted.err;
  EXPECT_NE(deleted.out.find(",partner,bronze.raw_erp_partner,0,1,1,1,succeeded,"),
            std::string::npos)
      << deleted.out;
  EXPECT_EQ(deleted.err.find("deleted-keys check"), std::string::npos) << deleted.err;

  WriteConnection("erp",
                  "streams:\n  - name: partner\n    sync_mode: incremental\n"
                  "    cursor_field: write_date\n    detect_deletes: digest\n");
  DewRun digest = Dew({"--format", "csv", "sync", "erp"});
  ASSERT_EQ(digest.code, 0) << digest.err;
  EXPECT_EQ(digest.err.find("deleted-keys check"), std::string::npos) << digest.err;
  EXPECT_EQ(Sql("SELECT string_agg(id::VARCHAR, ',') AS ids FROM silver.erp_partner WHERE "
                "_deleted"),
            "ids\n8\n");
}

}  // namespace
}  // namespace dew
