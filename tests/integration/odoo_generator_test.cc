// The finance-close demo's source company (examples/finance-close/odoo: schema.sql +
// generate.sql) on a real PostgreSQL 15: the ledger it generates is internally consistent
// (balanced moves, a zero trial balance, partners where Odoo requires them, bank statements that
// agree with the ledger, reconciliations that add up), scales with its variables, is identical
// from run to run, and is what the odoo connector's finance preset reads.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "connectors/connection_spec.h"
#include "connectors/source_factory.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "engine/connection.h"
#include "lake/lakehouse.h"
#include "support/postgres_server.h"

namespace dew {
namespace {

using dew::testing::PostgresServer;

const std::string kOdooDir = std::string(DEW_SOURCE_DIR) + "/examples/finance-close/odoo";
const std::string kCoa = std::string(DEW_SHARED_DIR) + "/data/odoo/account.account-generic_coa.csv";

class OdooGeneratorTest : public ::testing::Test {
 protected:
  // Three companies: `small` and `again` with the same variables (determinism), `double_scale`
  // with twice the scale (linearity).
  static void SetUpTestSuite() {
    if (!PostgresServer::Available()) return;
    server_ = new PostgresServer();
    status_ = new Status(server_->Start());
    if (!status_->ok()) return;
    auto fs = FileSystem::Posix();
    auto schema = fs->ReadFile(kOdooDir + "/schema.sql");
    auto generate = fs->ReadFile(kOdooDir + "/generate.sql");
    if (!schema.ok() || !generate.ok()) {
      *status_ = schema.ok() ? generate.status() : schema.status();
      return;
    }
    schema_ = new std::string(*schema);
    generate_ = new std::string(*generate);
    const std::pair<const char*, const char*> companies[] = {
        {"small", "0.01"}, {"again", "0.01"}, {"double_scale", "0.02"}};
    for (const auto& [db, scale] : companies) {
      Status made = Generate(db, std::string("\\set scale ") + scale + "\n\\set months 3\n");
      if (!made.ok()) {
        *status_ = made;
        return;
      }
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete status_;
    status_ = nullptr;
    delete schema_;
    schema_ = nullptr;
    delete generate_;
    generate_ = nullptr;
  }
  // Creates database `db` and runs schema.sql + generate.sql in it with psql variables `vars`
  // (end_month 2026-10 and the shared chart of accounts unless `vars` says otherwise).
  static Status Generate(const std::string& db, const std::string& vars) {
    auto created = server_->RunSql("CREATE DATABASE " + db);
    if (!created.ok()) return created.status();
    const std::string script = "\\set end_month 2026-10\n\\set coa_csv " + kCoa + "\n" + vars +
                               *schema_ + "\n" + *generate_;
    auto ran = server_->RunSql(script, db);
    return ran.ok() ? Status::OK() : ran.status();
  }

  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    ASSERT_TRUE(status_->ok()) << status_->ToString();
  }

  // The single value `sql` returns in `db`, trimmed.
  static std::string Pg(const std::string& sql, const std::string& db = "small") {
    auto r = server_->RunSql(sql, db);
    if (!r.ok()) return "ERROR: " + r.status().ToString();
    std::string s = *r;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  static int64_t PgInt(const std::string& sql, const std::string& db = "small") {
    return std::strtoll(Pg(sql, db).c_str(), nullptr, 10);
  }

  static PostgresServer* server_;
  static Status* status_;
  static std::string* schema_;
  static std::string* generate_;
};

PostgresServer* OdooGeneratorTest::server_ = nullptr;
Status* OdooGeneratorTest::status_ = nullptr;
std::string* OdooGeneratorTest::schema_ = nullptr;
std::string* OdooGeneratorTest::generate_ = nullptr;

TEST_F(OdooGeneratorTest, MakesAllKindsOfEntries) {
  EXPECT_EQ(Pg("SELECT count(*) FROM account_journal"), "5");
  EXPECT_EQ(Pg("SELECT string_agg(code, ',' ORDER BY code) FROM account_journal"),
            "BILL,BNK1,INV,MISC,SAL");
  // The template's 45 accounts plus bank, cash, bank suspense and undistributed profits.
  EXPECT_EQ(Pg("SELECT count(*) FROM account_account"), "49");
  EXPECT_EQ(Pg("SELECT name->>'en_US' FROM account_account WHERE code = '1210'"),
            "Account Receivable");
  // 3 months at scale 0.01: 148 invoices and 25 bills in the period.
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move WHERE move_type IN ('out_invoice', "
               "'out_refund') AND state = 'posted'"),
            "148");
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move WHERE journal_id = (SELECT id FROM "
               "account_journal WHERE code = 'BILL') AND ref NOT LIKE 'RENT-%'"),
            "25");
  for (const char* journal : {"INV", "BILL", "BNK1", "SAL", "MISC"}) {
    EXPECT_GT(PgInt(std::string("SELECT count(*) FROM account_move m JOIN account_journal j ON "
                                "j.id = m.journal_id WHERE j.code = '") +
                    journal + "'"),
              0)
        << journal;
  }
  EXPECT_GT(PgInt("SELECT count(*) FROM account_move WHERE payment_state = 'paid'"), 0);
  EXPECT_GT(PgInt("SELECT count(*) FROM account_move WHERE payment_state = 'partial'"), 0);
  EXPECT_GT(PgInt("SELECT count(*) FROM account_move WHERE payment_state = 'not_paid' AND "
                  "move_type <> 'entry' AND state = 'posted'"),
            0);
  EXPECT_EQ(Pg("SELECT min(date) || ' ' || max(date) FROM account_move WHERE state = 'posted'"),
            "2026-08-01 2026-10-31");
  // Names as Odoo numbers them; serial sequences continue after the generated ids.
  EXPECT_EQ(Pg("SELECT name FROM account_move WHERE state = 'posted' AND move_type = "
               "'out_invoice' ORDER BY date, id LIMIT 1"),
            "INV/2026/00001");
  EXPECT_EQ(Pg("SELECT nextval('account_move_line_id_seq') = max(id) + 1 FROM account_move_line"),
            "t");
}

TEST_F(OdooGeneratorTest, EveryMoveBalancesAndTheTrialBalanceIsZero) {
  EXPECT_EQ(Pg("SELECT count(*) FROM (SELECT move_id FROM account_move_line GROUP BY move_id "
               "HAVING sum(debit) <> sum(credit) OR count(*) < 2) u"),
            "0");
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move m WHERE NOT EXISTS (SELECT 1 FROM "
               "account_move_line l WHERE l.move_id = m.id)"),
            "0");
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move_line WHERE balance <> debit - credit OR "
               "debit < 0 OR credit < 0 OR (debit > 0 AND credit > 0)"),
            "0");
  // Per month and in total, the posted trial balance sums to zero.
  EXPECT_EQ(Pg("SELECT count(*) FROM (SELECT date_trunc('month', date) FROM account_move_line "
               "WHERE parent_state = 'posted' GROUP BY 1 HAVING sum(balance) <> 0) u"),
            "0");
  EXPECT_EQ(Pg("SELECT sum(balance) FROM account_move_line WHERE parent_state = 'posted'"), "0.00");
  // A line's move fields agree with its move.
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move_line l JOIN account_move m ON m.id = l.move_id "
               "WHERE l.parent_state <> m.state OR l.date <> m.date OR l.journal_id <> "
               "m.journal_id OR l.move_name <> m.name"),
            "0");
}

TEST_F(OdooGeneratorTest, AccountsPartnersAndStates) {
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move_line l LEFT JOIN account_account a ON a.id = "
               "l.account_id WHERE a.id IS NULL"),
            "0");
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move_line l JOIN account_account a ON a.id = "
               "l.account_id WHERE a.account_type IN ('asset_receivable', 'liability_payable') "
               "AND l.partner_id IS NULL"),
            "0");
  EXPECT_GT(PgInt("SELECT count(*) FROM account_move_line l JOIN account_account a ON a.id = "
                  "l.account_id WHERE a.account_type = 'asset_receivable'"),
            0);
  // Everything in the period is posted; the drafts are dated after it.
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move WHERE state <> 'posted' AND date <= "
               "'2026-10-31'"),
            "0");
  EXPECT_GE(PgInt("SELECT count(*) FROM account_move WHERE state = 'draft' AND date > "
                  "'2026-10-31' AND name = '/'"),
            2);
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move WHERE write_date IS NULL OR write_date < "
               "create_date"),
            "0");
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move_line WHERE write_date IS NULL"), "0");
}

TEST_F(OdooGeneratorTest, ReconciliationsAddUp) {
  // A full reconcile's lines sum to zero and are settled; the partial ones leave a residual on
  // the document's line only.
  EXPECT_EQ(Pg("SELECT count(*) FROM (SELECT full_reconcile_id FROM account_move_line WHERE "
               "full_reconcile_id IS NOT NULL GROUP BY 1 HAVING sum(balance) <> 0 OR count(*) <> 2 "
               "OR bool_or(NOT reconciled) OR sum(abs(amount_residual)) <> 0) u"),
            "0");
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move_line WHERE full_reconcile_id IS NOT NULL AND "
               "matching_number <> full_reconcile_id::text"),
            "0");
  EXPECT_EQ(Pg("SELECT count(*) FROM account_partial_reconcile p JOIN account_move_line d ON "
               "d.id = p.debit_move_id JOIN account_move_line c ON c.id = p.credit_move_id WHERE "
               "p.amount <> least(d.balance, -c.balance) OR d.matching_number <> "
               "c.matching_number"),
            "0");
  // An invoice's residual is its open receivable/payable line; paid means nothing is open.
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move m JOIN account_move_line l ON l.move_id = m.id "
               "AND l.display_type = 'payment_term' WHERE m.move_type <> 'entry' AND "
               "(m.amount_residual <> abs(l.amount_residual) OR (m.payment_state = 'paid') <> "
               "(l.amount_residual = 0) OR m.amount_total <> abs(l.balance))"),
            "0");
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move WHERE payment_state = 'partial' AND NOT "
               "(amount_residual > 0 AND amount_residual < amount_total)"),
            "0");
}

TEST_F(OdooGeneratorTest, BankStatementsEqualTheLedger) {
  // One statement line per bank move, for the amount of its bank account line.
  EXPECT_EQ(Pg("SELECT count(*) FROM account_move m JOIN account_journal j ON j.id = "
               "m.journal_id AND j.type = 'bank' LEFT JOIN account_bank_statement_line s ON "
               "s.move_id = m.id WHERE s.id IS NULL OR m.statement_line_id <> s.id"),
            "0");
  EXPECT_EQ(Pg("SELECT count(*) FROM account_bank_statement_line s JOIN account_move_line l ON "
               "l.move_id = s.move_id AND l.account_id = (SELECT default_account_id FROM "
               "account_journal WHERE code = 'BNK1') WHERE l.balance <> s.amount"),
            "0");
  EXPECT_EQ(Pg("SELECT count(*) FROM account_bank_statement"), "3");
  // Each statement ends at the bank account's ledger balance on its date and starts where the
  // previous one ended.
  EXPECT_EQ(Pg("SELECT count(*) FROM account_bank_statement s WHERE s.balance_end <> (SELECT "
               "sum(l.balance) FROM account_move_line l WHERE l.account_id = (SELECT "
               "default_account_id FROM account_journal WHERE code = 'BNK1') AND l.parent_state "
               "= 'posted' AND l.date <= s.date) OR s.balance_end <> s.balance_end_real OR "
               "s.balance_end - s.balance_start <> (SELECT sum(amount) FROM "
               "account_bank_statement_line WHERE statement_id = s.id)"),
            "0");
  EXPECT_EQ(Pg("SELECT count(*) FROM (SELECT balance_start, lag(balance_end) OVER (ORDER BY "
               "first_line_index) AS previous FROM account_bank_statement) s WHERE "
               "balance_start <> coalesce(previous, 0)"),
            "0");
}

TEST_F(OdooGeneratorTest, ScalesLinearlyAndIsDeterministic) {
  const int64_t small = PgInt("SELECT count(*) FROM account_move_line");
  const int64_t doubled = PgInt("SELECT count(*) FROM account_move_line", "double_scale");
  EXPECT_GT(small, 800);
  EXPECT_GT(doubled, small * 17 / 10) << small << " lines at scale 0.01";
  EXPECT_LT(doubled, small * 23 / 10) << small << " lines at scale 0.01";
  for (const char* table : {"account_move", "account_move_line", "account_bank_statement",
                            "account_bank_statement_line", "account_partial_reconcile",
                            "res_partner", "account_account"}) {
    const std::string digest = std::string(
                                   "SELECT md5(string_agg(md5(t::text), '' ORDER BY id)) "
                                   "FROM ") +
                               table + " t";
    EXPECT_EQ(Pg(digest, "small"), Pg(digest, "again")) << table;
  }
}

TEST_F(OdooGeneratorTest, MissingChartOfAccountsIsAClearError) {
  auto created = server_->RunSql("CREATE DATABASE no_coa");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto ran = server_->RunSql(*schema_ + "\n" + *generate_, "no_coa");
  ASSERT_FALSE(ran.ok());
  EXPECT_NE(ran.status().message().find("set -v coa_csv=PATH"), std::string::npos)
      << ran.status().ToString();
}

// The connector's finance preset reads the generated tables: its check passes and the posted
// journal items arrive in bronze, the drafts filtered out.
TEST_F(OdooGeneratorTest, TheOdooPresetReadsIt) {
  char tmpl[] = "/tmp/dew_odoo_gen_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto fs = FileSystem::Posix();
  {
    const std::string yaml = "name: odoo\nsource_type: odoo\nauth:\n  host: 127.0.0.1\n  port: " +
                             std::to_string(server_->port()) +
                             "\n  database: small\n  user: " + server_->user() +
                             "\n  password: ${env:DEW_TEST_ODOO_GEN_PG}\n";
    auto spec = connectors::ConnectionSpec::Parse(yaml, "odoo.yml");
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    connectors::SourceEnv env;
    env.env["DEW_TEST_ODOO_GEN_PG"] = server_->password();
    env.spool_dir = dir;
    auto source = connectors::MakeSource(*spec, env);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    connectors::CheckProblem problem = connectors::CheckProblem::kOther;
    Status checked = (*source)->Check({}, &problem);
    ASSERT_TRUE(checked.ok()) << checked.ToString();

    lake::LakehouseOptions o;
    o.lake_root = dir + "/lake";
    o.cwd = dir;
    o.user = "tester";
    o.run_id = "run-1";
    auto lake = lake::Lakehouse::Open(o, fs, std::make_shared<ManualClock>(1767225600000));
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    const connectors::StreamSpec* lines = spec->FindStream("account_move_line");
    ASSERT_NE(lines, nullptr);
    connectors::StreamRequest request;
    request.name = lines->name;
    request.sync_mode = lines->sync_mode;
    request.cursor_field = lines->cursor_field;
    request.primary_key = lines->primary_key;
    request.filter = lines->filter;
    auto read = (*source)->Read(request, nlohmann::json(), lake->get());
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    auto landed =
        (*lake)->connection().QueryScalar("SELECT count(*) FROM bronze.raw_odoo_account_move_line");
    ASSERT_TRUE(landed.ok()) << landed.status().ToString();
    EXPECT_EQ(landed->value_or(""),
              Pg("SELECT count(*) FROM account_move_line WHERE parent_state = 'posted'"));
    EXPECT_LT(std::stoll(landed->value_or("0")), PgInt("SELECT count(*) FROM account_move_line"));
  }
  (void)fs->RemoveAll(dir);
}

}  // namespace
}  // namespace dew
