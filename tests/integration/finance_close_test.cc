// The month-end close end to end (examples/finance-close, issue UC-001): a generated Odoo
// company in a real PostgreSQL 15 (examples/finance-close/odoo/odoo-db, the demo's own script,
// at a small scale), the demo's project, and `dew run month_end_close --wait`. The gold figures
// are checked against totals computed independently in PostgreSQL from Odoo's own tables; each
// close control is shown to stop the publish when its rule is broken, leaving gold untouched.
// The finance team's mail server and Superset cannot run here: the run's e-mail goes to an SMTP
// sink (tests/support/smtp_sink, RFC 5321) and its dataset refresh to a stand-in speaking
// Superset's documented REST API (tests/support/superset_server).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "control/sqlite_control_store.h"
#include "core/clock.h"
#include "lake/lake_test_util.h"
#include "support/dew_process.h"
#include "support/postgres_server.h"
#include "support/smtp_sink.h"
#include "support/superset_server.h"

namespace dew {
namespace {

using dew::testing::DewRun;
using dew::testing::ReadAll;
using dew::testing::ShellQuote;

const std::string kExample = std::string(DEW_SOURCE_DIR) + "/examples/finance-close";
constexpr const char* kPeriod = "2026-10";
// Generated for this test binary's run; only the stand-in and dew's environment see it.
const std::string kSupersetPassword =
    "pw-" + std::to_string(::getpid()) + "-" + std::to_string(::time(nullptr));
const std::vector<std::string> kGoldTables = {
    "gold_finance_trial_balance",  "gold_finance_income_statement",
    "gold_finance_balance_sheet",  "gold_finance_ar_aging",
    "gold_finance_ap_aging",       "gold_finance_bank_reconciliation",
    "gold_finance_close_checklist"};

struct Shell {
  int code = -1;
  std::string out;
};

// Runs a /bin/sh command line, stdout captured (stderr appended when it fails).
Shell RunShell(const std::string& command) {
  Shell r;
  std::FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class FinanceCloseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!dew::testing::PostgresServer::Available()) GTEST_SKIP() << "PostgreSQL 15 not installed";
    project_ = dir_.path() + "/demo";
    // The demo's own steps: a project from examples/finance-close/project and the Odoo database
    // from odoo-db, small: 6 months of a company at 2% of the demo's size.
    Shell init = RunShell(std::string(DEW_BINARY) + " init " + ShellQuote(project_) + " && cp -R " +
                          ShellQuote(kExample + "/project/.") + " " + ShellQuote(project_ + "/"));
    ASSERT_EQ(init.code, 0) << init.out;
    Shell db = RunShell("DEW_SHARED_DIR=" + ShellQuote(DEW_SHARED_DIR) + " " +
                        ShellQuote(kExample + "/odoo/odoo-db") + " start " + ShellQuote(project_) +
                        " --scale 0.02 --months 6 --end-month " + kPeriod);
    ASSERT_EQ(db.code, 0) << db.out;
    db_started_ = true;
    std::istringstream env(ReadAll(project_ + "/.odoo-pg/env"));
    for (std::string line; std::getline(env, line);) {
      const size_t eq = line.find('=');
      if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
    }
    // connections/odoo.yml reads ODOO_PG_HOST and ODOO_PG_PORT from the environment, as the
    // demo sets them: the file is used unchanged.
    ASSERT_FALSE(env_["ODOO_PG_HOST"].empty());
    ASSERT_FALSE(env_["ODOO_PG_PORT"].empty());
    // The notifications go to the sink and the stand-in (ports and URL written as the demo does).
    ASSERT_TRUE(smtp_.Start().ok());
    for (size_t i = 0; i < kGoldTables.size(); ++i) {
      superset_.AddDataset(static_cast<int>(i) + 1, kGoldTables[i], "gold");
    }
    Shell wire =
        RunShell("sed -i '/^smtp:/,$ s/^  port: .*/  port: " + std::to_string(smtp_.port()) +
                 "/' " + ShellQuote(project_ + "/dew.yml") +
                 " && sed -i 's|url: http://127.0.0.1:[0-9]*|url: " + superset_.BaseUrl() + "|' " +
                 ShellQuote(project_ + "/pipelines/month_end_close.yml"));
    ASSERT_EQ(wire.code, 0) << wire.out;
    env_["SUPERSET_PASSWORD"] = kSupersetPassword;
    admin_password_ = ReadAll(project_ + "/.odoo-pg/admin-password");
    while (!admin_password_.empty() && admin_password_.back() == '\n') admin_password_.pop_back();
  }

  void TearDown() override {
    if (db_started_)
      RunShell(ShellQuote(kExample + "/odoo/odoo-db") + " stop " + ShellQuote(project_));
  }

  DewRun Dew(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--project", project_};
    all.insert(all.end(), args.begin(), args.end());
    return dew::testing::RunDew(dir_.path(), all, dir_.path(), env_);
  }

  // The run id `dew run --wait` announced on stderr.
  static std::string RunIdOf(const DewRun& run) {
    const std::string mark = "dew: run ";
    const size_t at = run.err.find(mark);
    if (at == std::string::npos) return "";
    const size_t from = at + mark.size();
    return run.err.substr(from, run.err.find(' ', from) - from);
  }

  DewRun Close(const std::string& period = kPeriod) {
    return Dew({"run", "month_end_close", "--param", "period=" + period, "--wait"});
  }

  // Query result as CSV rows (header dropped), from the lake.
  std::string Lake(const std::string& sql) {
    DewRun r = Dew({"--format", "csv", "sql", sql});
    EXPECT_EQ(r.code, 0) << sql << "\n" << r.err;
    const size_t nl = r.out.find('\n');
    return nl == std::string::npos ? "" : r.out.substr(nl + 1);
  }

  // Query result from the Odoo database (unaligned, `,`-separated, no header), as its admin.
  std::string Odoo(const std::string& sql) {
    Shell r = RunShell("PGPASSWORD=" + ShellQuote(admin_password_) +
                       " psql -X -q -A -t -F , -v ON_ERROR_STOP=1 -h 127.0.0.1 -p " +
                       env_["ODOO_PG_PORT"] + " -U odoo_admin -d odoo -c " + ShellQuote(sql));
    EXPECT_EQ(r.code, 0) << sql << "\n" << r.out;
    return r.out;
  }

  // The latest version of every gold table.
  std::map<std::string, std::string> GoldVersions() {
    std::map<std::string, std::string> v;
    for (const std::string& t : kGoldTables) {
      DewRun r = Dew({"--format", "csv", "table", "history", "gold." + t, "--limit", "1"});
      EXPECT_EQ(r.code, 0) << r.err;
      std::istringstream in(r.out);
      std::string header, row;
      std::getline(in, header);
      std::getline(in, row);
      v[t] = row.substr(0, row.find(','));
    }
    return v;
  }

  // Closes once successfully, breaks one rule in Odoo with `mutation`, closes again: the second
  // close must fail naming `control` and showing `evidence`, and leave every gold table as it was.
  void ExpectBlocked(const std::string& mutation, const std::string& control,
                     const std::string& evidence) {
    DewRun first = Close();
    ASSERT_EQ(first.code, 0) << first.err;
    const auto before = GoldVersions();
    Odoo(mutation);
    DewRun second = Close();
    EXPECT_NE(second.code, 0) << "the close published although " << control << " fails";
    const std::string said = second.out + second.err;
    EXPECT_NE(said.find(control), std::string::npos) << said;
    EXPECT_NE(said.find(evidence), std::string::npos) << said;
    EXPECT_EQ(GoldVersions(), before) << "a blocked close changed gold";
    const auto mails = smtp_.messages();
    ASSERT_FALSE(mails.empty());
    EXPECT_NE(mails.back().Header("Subject").find("blocked"), std::string::npos)
        << mails.back().data;
  }

  lake::testing::TempDir dir_;
  dew::testing::SmtpSink smtp_;
  dew::testing::SupersetServer superset_{"dew", kSupersetPassword};
  std::string project_;
  std::map<std::string, std::string> env_;
  std::string admin_password_;
  bool db_started_ = false;
};

TEST_F(FinanceCloseTest, GoldFiguresEqualTotalsComputedFromOdoo) {
  DewRun run = Close();
  ASSERT_EQ(run.code, 0) << run.err;

  // Trial balance: closing balance, period debit and credit per account code, as PostgreSQL
  // sums them from Odoo's posted journal items.
  // Income and expense accounts of earlier years roll into 999999, as in Odoo's own report.
  const std::string odoo_tb = Odoo(
      "SELECT CASE WHEN earlier THEN '999999' ELSE code END AS c, "
      "sum(debit - credit)::numeric(18,2), "
      "coalesce(sum(debit) FILTER (WHERE date >= DATE '2026-10-01'), 0)::numeric(18,2), "
      "coalesce(sum(credit) FILTER (WHERE date >= DATE '2026-10-01'), 0)::numeric(18,2) "
      "FROM (SELECT a.code, l.debit, l.credit, l.date, a.account_type IN ('income', "
      "'income_other', 'expense', 'expense_depreciation', 'expense_direct_cost') AND l.date < "
      "DATE '2026-01-01' AS earlier FROM account_move_line l JOIN account_account a ON a.id = "
      "l.account_id WHERE l.parent_state = 'posted' AND l.date <= DATE '2026-10-31') AS x "
      "GROUP BY c ORDER BY c");
  const std::string dew_tb = Lake(
      "SELECT account_code, closing_balance, debit, credit FROM gold.gold_finance_trial_balance "
      "WHERE period = '2026-10' ORDER BY account_code");
  ASSERT_FALSE(odoo_tb.empty());
  EXPECT_EQ(dew_tb, odoo_tb);

  // Net income of the month: income minus expenses of the period.
  const std::string odoo_net = Odoo(
      "SELECT (-sum(l.debit - l.credit))::numeric(18,2) FROM account_move_line l "
      "JOIN account_account a ON a.id = l.account_id WHERE l.parent_state = 'posted' "
      "AND l.date BETWEEN DATE '2026-10-01' AND DATE '2026-10-31' "
      "AND a.account_type IN ('income', 'income_other', 'expense', 'expense_depreciation', "
      "'expense_direct_cost')");
  EXPECT_EQ(Lake("SELECT amount_period FROM gold.gold_finance_income_statement "
                 "WHERE period = '2026-10' AND caption = 'Net income'"),
            odoo_net);

  // Balance sheet balances: total assets = total liabilities and equity.
  EXPECT_EQ(Lake("SELECT count(DISTINCT amount) FROM gold.gold_finance_balance_sheet "
                 "WHERE period = '2026-10' AND caption IN ('Total assets', "
                 "'Total liabilities and equity')"),
            "1\n");

  // Receivables open at the period end: items not fully reconciled by then (a reconciliation
  // counts when all its lines are dated up to the period end).
  const std::string odoo_ar = Odoo(
      "SELECT sum(l.debit - l.credit)::numeric(18,2) FROM account_move_line l "
      "JOIN account_account a ON a.id = l.account_id WHERE a.account_type = 'asset_receivable' "
      "AND l.parent_state = 'posted' AND l.date <= DATE '2026-10-31' AND (l.full_reconcile_id IS "
      "NULL OR EXISTS (SELECT 1 FROM account_move_line o WHERE o.full_reconcile_id = "
      "l.full_reconcile_id AND o.parent_state = 'posted' AND o.date > DATE '2026-10-31'))");
  EXPECT_EQ(Lake("SELECT sum(total_open) FROM gold.gold_finance_ar_aging WHERE period = '2026-10'"),
            odoo_ar);

  // Bank: the balance per statements equals the bank account's ledger balance.
  const std::string odoo_bank = Odoo(
      "SELECT sum(b.amount)::numeric(18,2) FROM account_bank_statement_line b "
      "JOIN account_move m ON m.id = b.move_id WHERE m.date <= DATE '2026-10-31'");
  EXPECT_EQ(Lake("SELECT sum(statement_balance), sum(difference) FROM "
                 "gold.gold_finance_bank_reconciliation WHERE period = '2026-10'"),
            odoo_bank.substr(0, odoo_bank.find('\n')) + ",0.00\n");

  // The checklist: six controls, every one passed.
  EXPECT_EQ(Lake("SELECT count(*), count(*) FILTER (WHERE status = 'pass') FROM "
                 "gold.gold_finance_close_checklist WHERE period = '2026-10'"),
            "6,6\n");

  // On success: the e-mail to finance, every gold dataset refreshed in Superset, and a
  // data_ready event per gold table naming the run.
  const auto mails = smtp_.messages();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].rcpt_to, std::vector<std::string>{"finance@example.com"});
  EXPECT_NE(mails[0].Header("Subject").find("Month-end close 2026-10: gold published"),
            std::string::npos);
  EXPECT_EQ(superset_.refreshed(), (std::vector<int>{1, 2, 3, 4, 5, 6, 7}));
  const std::string run_id = RunIdOf(run);
  auto store = control::SqliteControlStore::Open(project_ + "/.dew/control.db", Clock::System());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto events = (*store)->ListEvents(0, 1000);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  for (const std::string& t : kGoldTables) {
    int found = 0;
    for (const auto& e : *events) {
      if (e.kind == "data_ready" &&
          e.payload_json.find("\"gold." + t + "\"") != std::string::npos &&
          e.payload_json.find(run_id) != std::string::npos) {
        ++found;
      }
    }
    EXPECT_EQ(found, 1) << "data_ready of gold." << t;
  }

  // Audit: the gold commit names the run; the run names who started it and with which params;
  // silver keeps each source line's Odoo id and write_date cursor.
  EXPECT_NE(
      Dew({"table", "history", "gold.gold_finance_trial_balance", "--limit", "1"}).out.find(run_id),
      std::string::npos);
  const std::string shown = Dew({"run", "show", run_id}).out;
  EXPECT_NE(shown.find("period"), std::string::npos) << shown;
  EXPECT_NE(shown.find("2026-10"), std::string::npos) << shown;
  EXPECT_EQ(Lake("SELECT count(*) FROM silver.int_finance_gl WHERE line_id IS NULL OR "
                 "source_cursor IS NULL"),
            "0\n");
}

TEST_F(FinanceCloseTest, ClosingThePeriodTwiceGivesIdenticalGold) {
  ASSERT_EQ(Close().code, 0);
  std::map<std::string, std::string> first;
  for (const std::string& t : kGoldTables)
    first[t] = Lake("SELECT * FROM gold." + t + " ORDER BY ALL");
  DewRun again = Close();
  ASSERT_EQ(again.code, 0) << again.err;
  for (const std::string& t : kGoldTables) {
    EXPECT_EQ(Lake("SELECT * FROM gold." + t + " ORDER BY ALL"), first[t]) << t;
  }
  EXPECT_EQ(Lake("SELECT count(*) - count(DISTINCT (period, account_code)) FROM "
                 "gold.gold_finance_trial_balance"),
            "0\n");
  EXPECT_EQ(Lake("SELECT count(*) - count(DISTINCT line_id) FROM silver.int_finance_gl"), "0\n");
}

TEST_F(FinanceCloseTest, AnUnbalancedEntryStopsThePublish) {
  ExpectBlocked(
      "UPDATE account_move_line SET debit = debit + 100, balance = balance + 100, "
      "write_date = now() WHERE id = (SELECT min(id) FROM account_move_line WHERE debit > 0 "
      "AND parent_state = 'posted' AND date >= DATE '2026-10-01')",
      "ctl_moves_balanced", "difference=100.00");
}

TEST_F(FinanceCloseTest, ADraftEntryInThePeriodStopsThePublish) {
  ExpectBlocked(
      "INSERT INTO account_move (name, date, state, move_type, journal_id, company_id, "
      "currency_id, create_date, write_date) SELECT 'MISC/DRAFT/0001', DATE '2026-10-15', "
      "'draft', 'entry', journal_id, company_id, currency_id, now(), now() FROM account_move "
      "LIMIT 1",
      "ctl_no_draft_entries", "MISC/DRAFT/0001");
}

TEST_F(FinanceCloseTest, ALineWithoutAKnownAccountStopsThePublish) {
  ExpectBlocked(
      "UPDATE account_move_line SET account_id = 999999, write_date = now() WHERE id = "
      "(SELECT min(id) FROM account_move_line WHERE parent_state = 'posted' AND date >= DATE "
      "'2026-10-01')",
      "ctl_lines_have_account_and_partner", "unknown account 999999");
}

TEST_F(FinanceCloseTest, AVolumeDropOfHalfStopsThePublish) {
  // Half of the period's entries outside the bank journal disappear (with their lines).
  ExpectBlocked(
      "DELETE FROM account_move_line WHERE move_id IN (SELECT m.id FROM account_move m JOIN "
      "account_journal j ON j.id = m.journal_id WHERE m.date >= DATE '2026-10-01' AND j.type <> "
      "'bank' AND m.id % 4 <> 0); DELETE FROM account_move m USING account_journal j WHERE "
      "j.id = m.journal_id AND m.date >= DATE '2026-10-01' AND j.type <> 'bank' AND m.id % 4 <> 0",
      "ctl_volume_within_band", "ratio=");
}

TEST_F(FinanceCloseTest, ABankDifferenceStopsThePublish) {
  ExpectBlocked(
      "UPDATE account_bank_statement_line SET amount = amount + 10, write_date = now() WHERE id = "
      "(SELECT max(id) FROM account_bank_statement_line)",
      "ctl_bank_matches_ledger", "difference=10.00");
}

}  // namespace
}  // namespace dew
