// A pipeline with every data kind, end to end through real dew processes: sql → model →
// quality → email, then the run's data_ready events delivered signed by `dew serve` to a
// loopback webhook receiver, `dew run rollback` (refused over a later run unless --force) and the
// hash-chained audit trail in the project's SQLite control store. SMTP goes to SmtpSink, a
// stand-in speaking RFC 5321 (no mail server runs here).
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "control/sqlite_control_store.h"
#include "orchestrator/event_dispatcher.h"
#include "serve_test_util.h"
#include "support/dew_process.h"
#include "support/smtp_sink.h"

namespace dew {
namespace {

using testing::DewRun;
using testing::ServeProcess;
using testing::ShellQuote;
using testing::WaitFor;

class PipelineKindsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_kinds_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    project_ = dir_ + "/proj";
    DewRun r = testing::RunDew(dir_, {"init", "proj"}, dir_);
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_TRUE(sink_.Start().ok());
    std::random_device rd;
    env_ = {{"SMTP_PW", "pw-" + std::to_string(rd())},
            {"HOOK_SECRET", "hook-" + std::to_string(rd())}};
    std::ofstream(project_ + "/dew.yml", std::ios::app)
        << "smtp:\n  host: 127.0.0.1\n  port: " << sink_.port()
        << "\n  from: dew@example.test\n  user: mailer\n  password: ${env:SMTP_PW}\n"
        << "models:\n  marts: {+layer: gold, +materialized: table}\n";
    Write("models/sources.yml",
          "sources:\n  - name: erp\n    layer: silver\n    tables:\n      - name: orders\n");
    Write("models/staging/stg_orders.sql",
          "select id, customer, amount from {{ source('erp', 'orders') }}");
    Write("models/marts/gold_sales_by_customer.sql",
          "select customer, sum(amount) as amount, count(*) as orders from {{ ref('stg_orders') }} "
          "group by customer");
    Write("models/marts/schema.yml",
          "models:\n  - name: gold_sales_by_customer\n    columns:\n      - name: customer\n"
          "        tests: [not_null, unique]\n      - name: amount\n"
          "        tests:\n          - range: {min: 0}\n");
    // amount scales with the param, so each run writes different figures.
    Write("pipelines/close.yml", R"(name: close
params: {period: "2026-09", scale: "1"}
tasks:
  - name: load
    kind: sql
    target: silver.orders
    sql: SELECT * FROM (VALUES (1, 'ana', 10.0 * ${params.scale}), (2, 'ben', 5.0 * ${params.scale}),
         (3, 'ana', 2.5 * ${params.scale})) t(id, customer, amount)
  - name: build
    kind: model
    depends_on: [load]
    select: "+gold_sales_by_customer"
  - name: check
    kind: quality
    depends_on: [build]
    table: gold_sales_by_customer
    sql: "select * from gold.gold_sales_by_customer where orders = 0"
  - name: notify
    kind: email
    depends_on: [check]
    to: finance@example.test
    subject: "Close ${params.period} done"
    body: "Period ${params.period} is closed."
)");
  }
  void TearDown() override { (void)std::system(("rm -rf " + ShellQuote(dir_)).c_str()); }

  void Write(const std::string& rel, const std::string& text) {
    const std::string path = project_ + "/" + rel;
    (void)std::system(("mkdir -p " + ShellQuote(path.substr(0, path.rfind('/')))).c_str());
    std::ofstream(path) << text;
  }
  DewRun Dew(const std::vector<std::string>& args) {
    return testing::RunDew(project_, args, dir_, env_);
  }
  std::string Sql(const std::string& sql) {
    DewRun r = Dew({"--format", "csv", "sql", sql});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }
  //! The run id from `dew run --wait`'s "dew: run ID of pipeline" line.
  static std::string RunIdOf(const DewRun& r) {
    const size_t at = r.err.find("dew: run ");
    return at == std::string::npos ? "" : r.err.substr(at + 9, 36);
  }

  std::string dir_, project_;
  std::map<std::string, std::string> env_;
  testing::SmtpSink sink_;
};

TEST_F(PipelineKindsCliTest, RunsEveryKindEmitsDataReadyAndRollsBack) {
  std::mutex mu;
  std::vector<std::string> received;
  httplib::Server receiver;
  const std::string secret = env_["HOOK_SECRET"];
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("X-Dew-Signature") !=
        orchestrator::SignWebhookBody(secret, req.body)) {
      res.status = 401;
      return;
    }
    std::lock_guard<std::mutex> lock(mu);
    received.push_back(req.body);
  });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  std::thread server_thread([&] { receiver.listen_after_bind(); });
  while (!receiver.is_running()) std::this_thread::yield();
  Write("webhooks/warehouse.yml",
        "url: http://127.0.0.1:" + std::to_string(port) + "/hook\nsecret: ${env:HOOK_SECRET}\n");

  // Run 1: every kind.
  DewRun first = Dew({"run", "close", "--wait", "--param", "period=2026-10"});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  const std::string run1 = RunIdOf(first);
  ASSERT_EQ(run1.size(), 36u) << first.err;
  EXPECT_EQ(Sql("SELECT customer, amount, orders FROM gold.gold_sales_by_customer ORDER BY 1"),
            "customer,amount,orders\nana,12.5,2\nben,5.0,1\n");
  const auto mails = sink_.messages();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].Header("Subject"), "Close 2026-10 done");
  EXPECT_EQ(mails[0].Header("X-Dew-Run"), run1);
  EXPECT_EQ(mails[0].Body(), "Period 2026-10 is closed.\r\n");
  EXPECT_EQ(mails[0].password, env_["SMTP_PW"]);
  // The model task's rows are recorded on its attempt.
  DewRun show = Dew({"--format", "csv", "run", "show", run1});
  EXPECT_NE(show.out.find("build,1,succeeded,"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find(",0,2,\n"), std::string::npos) << show.out;  // rows_written 2

  // data_ready per table written (the staging model is a view, not a table), signed.
  {
    ServeProcess serve(project_, dir_, {}, {env_.begin(), env_.end()});
    ASSERT_GT(serve.WaitForPort(), 0) << serve.err();
    ASSERT_TRUE(WaitFor([&] {
      std::lock_guard<std::mutex> lock(mu);
      return received.size() >= 2;
    })) << serve.err();
    EXPECT_EQ(serve.Signal(SIGTERM), 0) << serve.err();
  }
  std::map<std::string, nlohmann::json> by_dataset;
  for (const std::string& body : received) {
    auto j = nlohmann::json::parse(body);
    EXPECT_EQ(j["event"], "data_ready");
    EXPECT_EQ(j["run_id"], run1);
    EXPECT_EQ(j["pipeline"], "close");
    by_dataset[j["dataset"]] = j;
  }
  ASSERT_EQ(by_dataset.size(), 2u) << received.size();
  EXPECT_EQ(by_dataset["silver.orders"]["row_count"], 3);
  EXPECT_EQ(by_dataset["silver.orders"]["schema_version"], 0);
  EXPECT_EQ(by_dataset["gold.gold_sales_by_customer"]["row_count"], 2);
  EXPECT_EQ(by_dataset["gold.gold_sales_by_customer"]["schema_version"], 0);

  // Run 2 writes new figures; rolling it back restores run 1's.
  DewRun second = Dew({"run", "close", "--wait", "--param", "scale=10"});
  ASSERT_EQ(second.code, 0) << second.err;
  const std::string run2 = RunIdOf(second);
  EXPECT_EQ(Sql("SELECT sum(amount) AS s FROM gold.gold_sales_by_customer"), "s\n175.0\n");
  DewRun rollback = Dew({"--format", "csv", "run", "rollback", run2});
  ASSERT_EQ(rollback.code, 0) << rollback.err;
  EXPECT_NE(rollback.out.find("gold.gold_sales_by_customer,RESTORE,2,0,"), std::string::npos)
      << rollback.out;
  EXPECT_NE(rollback.out.find("silver.orders,RESTORE,2,0,"), std::string::npos) << rollback.out;
  EXPECT_EQ(Sql("SELECT customer, amount, orders FROM gold.gold_sales_by_customer ORDER BY 1"),
            "customer,amount,orders\nana,12.5,2\nben,5.0,1\n");
  EXPECT_EQ(Sql("SELECT sum(amount) AS s FROM silver.orders"), "s\n17.5\n");

  // Run 1's tables were written since (run 2 and its rollback): refused without --force.
  DewRun refused = Dew({"run", "rollback", run1});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("silver.orders: version 1 by run " + run2), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos);
  EXPECT_EQ(Sql("SELECT count(*) AS n FROM silver.orders"), "n\n3\n");  // untouched
  DewRun forced = Dew({"--format", "csv", "run", "rollback", run1, "--force"});
  ASSERT_EQ(forced.code, 0) << forced.err;
  // Run 1 created both tables: rolled back, they are empty (a new commit; history kept).
  EXPECT_EQ(Sql("SELECT count(*) AS n FROM silver.orders"), "n\n0\n");
  EXPECT_EQ(Sql("SELECT count(*) AS n FROM silver.orders VERSION AS OF 0"), "n\n3\n");

  // The audit trail: who started each run with which params, and the rollbacks; one chain.
  auto store = control::SqliteControlStore::Open(project_ + "/.dew/control.db", Clock::System());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto audit = (*store)->ListAudit(0, 100);
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  ASSERT_EQ(audit->size(), 4u);
  EXPECT_EQ((*audit)[0].action, "run.start");
  EXPECT_EQ((*audit)[0].target, run1);
  EXPECT_NE((*audit)[0].details_json.find(R"("period":"2026-10")"), std::string::npos)
      << (*audit)[0].details_json;
  EXPECT_EQ((*audit)[2].action, "run.rollback");
  EXPECT_EQ((*audit)[2].target, run2);
  EXPECT_EQ((*audit)[3].action, "run.rollback");
  EXPECT_NE((*audit)[3].details_json.find(R"("force":true)"), std::string::npos);
  EXPECT_TRUE(control::VerifyAuditChain(*audit).ok());

  receiver.stop();
  server_thread.join();
}

TEST_F(PipelineKindsCliTest, FailedQualityGateStopsThePublishNamingTheRows) {
  Write("pipelines/gate.yml", R"(name: gate
tasks:
  - name: load
    kind: sql
    target: silver.orders
    sql: SELECT * FROM (VALUES (1, 'ana', 10.0), (2, NULL, -5.0)) t(id, customer, amount)
  - name: build
    kind: model
    depends_on: [load]
    select: "+gold_sales_by_customer"
  - name: check
    kind: quality
    depends_on: [build]
    table: gold.gold_sales_by_customer
  - name: notify
    kind: email
    depends_on: [check]
    to: finance@example.test
    subject: published
)");
  DewRun r = Dew({"--format", "csv", "run", "gate", "--wait"});
  ASSERT_NE(r.code, 0);
  // The model task runs the model's tests right after building it: the gate closes there, so
  // the quality task and the e-mail after it are skipped.
  EXPECT_NE(r.err.find("task build failed: task build: 1 of 2 models did not build: "
                       "gold.gold_sales_by_customer: tests failed: "
                       "not_null_gold_sales_by_customer_customer: 1 failing row"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("customer=NULL, amount=-5.0"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("check,1,skipped,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("notify,1,skipped,"), std::string::npos) << r.out;
  EXPECT_TRUE(sink_.messages().empty());
}

}  // namespace
}  // namespace dew
