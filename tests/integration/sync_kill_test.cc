// `dew sync` SIGKILLed at random moments, resumed each time, while the source keeps changing:
// at the end bronze and silver hold exactly the source's rows (counts and per-column checksums
// equal to PostgreSQL's), silver has no duplicate key, bronze has no row landed twice, and every
// chunk's committed state is the last row of that chunk. Then inserts, updates and deletes at
// the source, and one incremental sync makes silver equal again.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/file_system.h"
#include "lake/lakehouse.h"
#include "support/source_project.h"

namespace dew {
namespace {

// An Odoo-shaped account_move_line: write_date values shared by many rows (chunks end in the
// middle of a run of equal cursors), NULLs, numerics, dates, timestamps with and without zone.
constexpr const char* kSchemaSql = R"sql(
CREATE TABLE account_move_line (
  id integer PRIMARY KEY,
  move_id integer NOT NULL,
  account_id integer NOT NULL,
  partner_id integer,
  name text,
  ref text,
  debit numeric(16,2) NOT NULL DEFAULT 0,
  credit numeric(16,2) NOT NULL DEFAULT 0,
  balance numeric(16,2),
  amount_currency numeric(16,2),
  date date NOT NULL,
  parent_state varchar NOT NULL,
  reconciled boolean,
  create_date timestamptz,
  write_date timestamp NOT NULL
);
INSERT INTO account_move_line
SELECT g, g / 3, 100 + g % 37, CASE WHEN g % 11 = 0 THEN NULL ELSE g % 997 END,
       'line ' || g || CASE WHEN g % 13 = 0 THEN ', "quoted"' ELSE '' END,
       CASE WHEN g % 7 = 0 THEN NULL ELSE 'INV/' || g END,
       CASE WHEN g % 2 = 0 THEN (g % 1000) + 0.25 ELSE 0 END,
       CASE WHEN g % 2 = 1 THEN (g % 1000) + 0.75 ELSE 0 END,
       CASE WHEN g % 2 = 0 THEN (g % 1000) + 0.25 ELSE -((g % 1000) + 0.75) END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE g % 300 END,
       DATE '2024-01-01' + (g % 400),
       CASE WHEN g % 17 = 0 THEN 'draft' ELSE 'posted' END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END,
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 second',
       TIMESTAMP '2024-06-01' + (g / 150) * INTERVAL '1 second'
FROM generate_series(1, 200000) g;
)sql";

// Each column's canonical text, for PostgreSQL and for DuckDB.
struct Probe {
  const char* column;
  const char* pg;
  const char* duck;
};
const Probe kProbes[] = {
    {"id", "id::text", "id::VARCHAR"},
    {"move_id", "move_id::text", "move_id::VARCHAR"},
    {"account_id", "account_id::text", "account_id::VARCHAR"},
    {"partner_id", "partner_id::text", "partner_id::VARCHAR"},
    {"name", "name", "name"},
    {"ref", "ref", "ref"},
    {"debit", "debit::text", "debit::VARCHAR"},
    {"credit", "credit::text", "credit::VARCHAR"},
    {"balance", "balance::text", "balance::VARCHAR"},
    {"amount_currency", "amount_currency::text", "amount_currency::VARCHAR"},
    {"date", "date::text", "date::VARCHAR"},
    {"parent_state", "parent_state", "parent_state"},
    {"reconciled", "reconciled::text", "reconciled::VARCHAR"},
    {"create_date", "(extract(epoch FROM create_date) * 1000000)::bigint::text",
     "epoch_us(create_date)::VARCHAR"},
    {"write_date", "(extract(epoch FROM write_date) * 1000000)::bigint::text",
     "epoch_us(write_date)::VARCHAR"},
};

class SyncKillTest : public testing::SourceProjectTest<SyncKillTest> {
 public:
  static testing::SourceOptions Source() {
    return {.database = "odoo",
            .schema_sql = kSchemaSql,
            .password_env = "DEW_TEST_ODOO_PASSWORD",
            .temp_prefix = "dew_sync_kill"};
  }

 protected:
  void SetUp() override {
    SourceProjectTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    WriteConnection("odoo",
                    "streams:\n  - name: account_move_line\n    sync_mode: incremental\n"
                    "    cursor_field: write_date\n    primary_key: [id]\n"
                    "    filter: parent_state = 'posted'\n    chunk_rows: 4000\ntier: critical\n");
  }

  //! Commits in bronze's log so far (0 before the table exists).
  int BronzeCommits() {
    auto files = FileSystem::Posix()->ListDir(project_ +
                                              "/lake/bronze/raw_odoo_account_move_line/_delta_log");
    if (!files.ok()) return 0;
    int n = 0;
    for (const auto& f : *files) {
      if (f.name.size() == 25 && f.name.substr(20) == ".json") ++n;
    }
    return n;
  }

  //! Starts `dew sync odoo OPTIONS` in the project; output goes to files in dir_.
  pid_t StartSync(const std::string& options = "") { return StartDew("sync odoo " + options); }

  std::unique_ptr<lake::Lakehouse> OpenLake() {
    lake::LakehouseOptions o;
    o.lake_root = project_ + "/lake";
    o.cwd = project_;
    o.run_id = "checker";
    auto lake = lake::Lakehouse::Open(o, FileSystem::Posix(), Clock::System());
    EXPECT_TRUE(lake.ok()) << lake.status().ToString();
    return lake.ok() ? std::move(*lake) : nullptr;
  }

  static std::string Duck(lake::Lakehouse& lake, const std::string& sql) {
    auto r = lake.connection().QueryScalar(sql);
    EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << sql;
    return r.ok() && r->has_value() ? **r : "NULL";
  }

  // Silver's live rows and bronze's newest row per key equal the source, column by column.
  void ExpectLakeEqualsSource() {
    auto lake = OpenLake();
    ASSERT_NE(lake, nullptr);
    const std::string live = "(SELECT * FROM account_move_line WHERE parent_state = 'posted')";
    const std::string silver = "(SELECT * FROM silver.odoo_account_move_line WHERE NOT _deleted)";
    const std::string bronze =
        "(SELECT * FROM bronze.raw_odoo_account_move_line QUALIFY row_number() OVER (PARTITION BY "
        "id ORDER BY _batch DESC) = 1)";
    const std::string bronze_live = "(SELECT * FROM " + bronze + " WHERE NOT _deleted)";
    const std::string count = Pg("SELECT count(*) FROM " + live + " t");
    EXPECT_EQ(Duck(*lake, "SELECT count(*) FROM " + silver), count);
    EXPECT_EQ(Duck(*lake, "SELECT count(*) FROM " + bronze_live), count);
    EXPECT_EQ(Duck(*lake,
                   "SELECT count(*) - count(DISTINCT id) FROM "
                   "silver.odoo_account_move_line"),
              "0");
    // Nothing landed twice: a (key, cursor) pair appears once among bronze's data rows.
    EXPECT_EQ(Duck(*lake,
                   "SELECT count(*) FROM (SELECT id, _cursor FROM "
                   "bronze.raw_odoo_account_move_line WHERE NOT _deleted GROUP BY ALL "
                   "HAVING count(*) > 1)"),
              "0");
    for (const Probe& p : kProbes) {
      SCOPED_TRACE(p.column);
      const std::string pg =
          Pg(std::string("SELECT count(") + p.pg + ") || '|' || md5(string_agg(" + "coalesce(" +
             p.pg + ", '<NULL>'), '|' ORDER BY id)) FROM " + live + " t");
      const std::string agg = std::string("count(") + p.duck + ")::VARCHAR || '|' || " +
                              "md5(string_agg(coalesce(" + p.duck +
                              ", '<NULL>'), '|' ORDER BY id))";
      EXPECT_EQ(Duck(*lake, "SELECT " + agg + " FROM " + silver), pg);
      EXPECT_EQ(Duck(*lake, "SELECT " + agg + " FROM " + bronze_live), pg);
    }
  }

  // Every data batch's committed state is its own last row in (write_date, id) order.
  void ExpectChunkStatesConsistent() {
    auto lake = OpenLake();
    ASSERT_NE(lake, nullptr);
    const std::string log_dir = project_ + "/lake/bronze/raw_odoo_account_move_line/_delta_log";
    auto files = FileSystem::Posix()->ListDir(log_dir);
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    std::map<int64_t, nlohmann::json> states;  // batch -> state
    for (const auto& f : *files) {
      if (f.name.size() != 25 || f.name.substr(20) != ".json") continue;
      std::ifstream in(log_dir + "/" + f.name);
      std::string line;
      while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_object() || !j.contains("commitInfo")) continue;
        const auto& params = j["commitInfo"]["operationParameters"];
        if (!params.contains("dewState") || !params.contains("dewBatch")) continue;
        if (params.contains("dewDeletes")) continue;
        states[std::stoll(params["dewBatch"].get<std::string>())] =
            nlohmann::json::parse(params["dewState"].get<std::string>());
      }
    }
    auto rows = lake->connection().QueryText(
        "SELECT _batch, strftime(max(write_date), '%Y-%m-%d %H:%M:%S'), "
        "arg_max(id, (write_date, id))::VARCHAR, count(*) FROM bronze.raw_odoo_account_move_line "
        "WHERE NOT _deleted GROUP BY 1 ORDER BY 1");
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_GT(rows->rows.size(), 10u);
    for (const auto& r : rows->rows) {
      const int64_t batch = std::stoll(*r[0]);
      SCOPED_TRACE("batch " + *r[0]);
      ASSERT_TRUE(states.count(batch));
      EXPECT_EQ(states[batch]["cursor"], *r[1]);
      EXPECT_EQ(states[batch]["pk"], nlohmann::json::array({*r[2]}));
      EXPECT_LE(std::stoll(*r[3]), 4000);
    }
  }
};

TEST_F(SyncKillTest, KilledSyncsResumeWithNothingLostOrDoubled) {
  std::mt19937 rng(20260101);
  int killed = 0;
  for (int round = 0; round < 6; ++round) {
    if (round > 0) {
      // Work for this round's sync: about 40k rows move to later cursors (ten chunks), so the
      // kill below lands mid-sync however fast the machine is.
      Pg("UPDATE account_move_line SET write_date = TIMESTAMP '2024-08-01' + " +
         std::to_string(round) +
         " * INTERVAL '1 day' + (id % 500) * INTERVAL '1 second' WHERE id % 5 = " +
         std::to_string(round % 5) + ";");
    }
    const int before = BronzeCommits();
    pid_t pid = StartSync();
    ASSERT_GT(pid, 0);
    // Kill after 1-3 new bronze commits (and a random moment into the next chunk), not after a
    // fixed time: a timer misses the sync altogether on a fast machine.
    const int target = before + 1 + static_cast<int>(rng() % 3);
    int wstatus = 0;
    bool exited = false;
    while (!exited && BronzeCommits() < target) {
      exited = waitpid(pid, &wstatus, WNOHANG) == pid;
      if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!exited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
      kill(pid, SIGKILL);
      waitpid(pid, &wstatus, 0);
    }
    if (WIFSIGNALED(wstatus)) ++killed;
    // The source keeps changing between runs: rows already synced move to later cursors, some
    // leave the filter, some go.
    const int base = static_cast<int>(rng() % 150000);
    // Cursors only grow, as Odoo's write_date does: each round's changes come after the last.
    const std::string day =
        "TIMESTAMP '2024-08-01' + " + std::to_string(round) + " * INTERVAL '1 day'";
    Pg("UPDATE account_move_line SET debit = debit + 1, write_date = " + day +
       " + INTERVAL '12 hours' WHERE id BETWEEN " + std::to_string(base) + " AND " +
       std::to_string(base + 700) + ";" +
       "UPDATE account_move_line SET parent_state = 'draft', write_date = " + day +
       " + INTERVAL '13 hours' WHERE id % 1000 = " + std::to_string(round) + ";" +
       "DELETE FROM account_move_line WHERE id % 1999 = " + std::to_string(round) + ";");
  }
  EXPECT_GE(killed, 4) << "the syncs finished before they could be killed";
  testing::DewRun last = Dew({"--format", "csv", "sync", "odoo"});
  ASSERT_EQ(last.code, 0) << last.err << testing::ReadAll(dir_ + "/sync.err");
  ExpectLakeEqualsSource();
  ExpectChunkStatesConsistent();

  testing::DewRun state = Dew({"--format", "csv", "state", "show", "odoo"});
  ASSERT_EQ(state.code, 0) << state.err;
  EXPECT_NE(state.out.find("odoo,account_move_line,bronze.raw_odoo_account_move_line,"),
            std::string::npos)
      << state.out;

  // Inserts, updates, deletes; one incremental sync catches up.
  Pg("INSERT INTO account_move_line (id, move_id, account_id, name, debit, credit, date, "
     "parent_state, write_date) SELECT g, 1, 1, 'new ' || g, 1, 0, DATE '2025-01-01', 'posted', "
     "TIMESTAMP '2025-01-01' FROM generate_series(300001, 300500) g;"
     "UPDATE account_move_line SET name = 'changed', write_date = TIMESTAMP '2025-01-02' "
     "WHERE id % 97 = 0;"
     "DELETE FROM account_move_line WHERE id % 89 = 0;");
  testing::DewRun inc = Dew({"--format", "csv", "sync", "odoo"});
  ASSERT_EQ(inc.code, 0) << inc.err;
  ExpectLakeEqualsSource();
}

// The names of the COPY output (FIFO folders, temp CSV files) in the project's state folder.
std::vector<std::string> CopyOutputIn(const std::string& state_dir) {
  std::vector<std::string> out;
  auto files = FileSystem::Posix()->ListDir(state_dir);
  if (!files.ok()) return out;
  for (const auto& f : *files) {
    if (f.name.rfind("dew_pg_copy_", 0) == 0) out.push_back(f.name);
  }
  return out;
}

// A full refresh killed while COPY streams into DuckDB leaves its FIFO folder in .dew; the next
// sync removes it (once it is past the grace period that spares a folder its maker has not
// locked yet) and lands every row.
TEST_F(SyncKillTest, KilledFullRefreshLeavesCopyOutputTheNextSyncRemoves) {
  const std::string state_dir = project_ + "/.dew";
  pid_t pid = StartSync("--full-refresh");
  ASSERT_GT(pid, 0);
  int wstatus = 0;
  bool exited = false;
  while (!exited && CopyOutputIn(state_dir).empty()) {
    exited = waitpid(pid, &wstatus, WNOHANG) == pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_FALSE(exited) << "the sync ended before its COPY output appeared: "
                       << testing::ReadAll(dir_ + "/sync.err");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(pid, SIGKILL);
  waitpid(pid, &wstatus, 0);
  ASSERT_TRUE(WIFSIGNALED(wstatus));
  const std::vector<std::string> left = CopyOutputIn(state_dir);
  ASSERT_EQ(left.size(), 1u);
  // Two minutes old, as if the next sync came later.
  struct timespec old[2];
  old[0].tv_sec = old[1].tv_sec = time(nullptr) - 120;
  old[0].tv_nsec = old[1].tv_nsec = 0;
  ASSERT_EQ(utimensat(AT_FDCWD, (state_dir + "/" + left[0]).c_str(), old, 0), 0);

  testing::DewRun again = Dew({"--format", "csv", "sync", "odoo", "--full-refresh"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_TRUE(CopyOutputIn(state_dir).empty());
  ExpectLakeEqualsSource();
}

}  // namespace
}  // namespace dew
