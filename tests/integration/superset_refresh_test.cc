// The http task's `superset:` option against SupersetServer, a stand-in for Apache Superset
// (which cannot run here) speaking its documented REST API over loopback HTTP: login, CSRF
// token, dataset lookup by table name (Rison), dataset refresh; and the pipeline file syntax.
#include "orchestrator/superset_refresh.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

#include "core/http_client.h"
#include "orchestrator/pipeline_spec.h"
#include "orchestrator/task_runner.h"
#include "support/superset_server.h"

namespace dew::orchestrator {
namespace {

using dew::testing::SupersetServer;
using json = nlohmann::json;

class SupersetRefreshTest : public ::testing::Test {
 protected:
  SupersetRefreshTest() : server_("dew", "s3cret-" + std::to_string(::getpid())) {
    server_.AddDataset(7, "gold_finance_trial_balance", "gold");
    server_.AddDataset(9, "gold_finance_income_statement", "gold");
    server_.AddDataset(11, "gold_sales", "gold");
    server_.AddDataset(12, "it's odd!", "gold");
    env_.http = NewCurlHttpClient();
    env_.worker_env = {{"SUPERSET_PASSWORD", "s3cret-" + std::to_string(::getpid())}};
  }

  // Runs an http task whose `superset:` block is `block` (as the pipeline spec stores it).
  Status RunTask(const json& block) {
    TaskInvocation inv;
    inv.pipeline = "month_end_close";
    inv.run_id = "run-1";
    inv.task.name = "refresh_dashboards";
    inv.task.kind = TaskKind::kHttp;
    inv.task.fields["superset"] = block.dump();
    auto runner = MakeHttpTask(env_, inv);
    auto outcome = runner->Run();
    return outcome.ok() ? Status::OK() : outcome.status();
  }
  json Block(const std::vector<std::string>& datasets) const {
    return {{"url", server_.BaseUrl() + "/"},
            {"username", "dew"},
            {"password", "${env:SUPERSET_PASSWORD}"},
            {"datasets", datasets}};
  }

  SupersetServer server_;
  TaskEnv env_;
};

TEST_F(SupersetRefreshTest, RefreshesEachDatasetFoundByTableName) {
  Status done = RunTask(Block({"gold_finance_trial_balance", "gold_finance_income_statement"}));
  ASSERT_TRUE(done.ok()) << done.ToString();
  EXPECT_EQ(server_.refreshed(), (std::vector<int>{7, 9}));

  const auto calls = server_.calls();
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(calls[0].method + " " + calls[0].path, "POST /api/v1/security/login");
  EXPECT_EQ(calls[1].method + " " + calls[1].path, "GET /api/v1/security/csrf_token/");
  EXPECT_EQ(calls[2].method + " " + calls[2].path, "GET /api/v1/dataset/");
  EXPECT_EQ(calls[2].query,
            "(filters:!((col:table_name,opr:eq,value:gold_finance_trial_balance)))");
  EXPECT_EQ(calls[3].method + " " + calls[3].path, "PUT /api/v1/dataset/7/refresh");
  EXPECT_EQ(calls[5].method + " " + calls[5].path, "PUT /api/v1/dataset/9/refresh");
  for (size_t i = 1; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].status, 200) << calls[i].path;
    EXPECT_EQ(calls[i].headers.at("authorization").rfind("Bearer access-", 0), 0u) << i;
  }
  EXPECT_EQ(calls[3].headers.at("x-csrftoken").rfind("csrf-", 0), 0u);
  EXPECT_EQ(calls[3].headers.at("cookie").rfind("session=session-", 0), 0u);
}

TEST_F(SupersetRefreshTest, TableNamesThatAreNotRisonIdsAreQuoted) {
  EXPECT_EQ(RisonString("gold_x"), "gold_x");
  EXPECT_EQ(RisonString("it's odd!"), "'it!'s odd!!'");
  EXPECT_EQ(RisonString("2026_sales"), "'2026_sales'");
  Status done = RunTask(Block({"it's odd!"}));
  ASSERT_TRUE(done.ok()) << done.ToString();
  EXPECT_EQ(server_.refreshed(), (std::vector<int>{12}));
}

TEST_F(SupersetRefreshTest, AnUnknownDatasetFailsNamingIt) {
  Status done = RunTask(Block({"gold_finance_trial_balance", "gold_finance_ap_aging"}));
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.message().find("task refresh_dashboards"), std::string::npos) << done.ToString();
  EXPECT_NE(done.message().find("no dataset with table name 'gold_finance_ap_aging'"),
            std::string::npos)
      << done.ToString();
  // The datasets before it were refreshed; nothing after.
  EXPECT_EQ(server_.refreshed(), (std::vector<int>{7}));
}

TEST_F(SupersetRefreshTest, ARefusedLoginIsA401NamingTheUser) {
  env_.worker_env["SUPERSET_PASSWORD"] = "wrong";
  Status done = RunTask(Block({"gold_sales"}));
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.message().find("login at " + server_.BaseUrl() +
                                " as dew answered HTTP 401: "
                                "Not authorized"),
            std::string::npos)
      << done.ToString();
  EXPECT_TRUE(server_.refreshed().empty());
}

TEST_F(SupersetRefreshTest, MissingSecretOrKeysAreClearErrors) {
  env_.worker_env.clear();
  Status done = RunTask(Block({"gold_sales"}));
  EXPECT_NE(done.message().find("superset.password refers to ${env:SUPERSET_PASSWORD}, which is "
                                "not set in the worker's environment"),
            std::string::npos)
      << done.ToString();
  json literal = Block({"gold_sales"});
  literal["password"] = "plain";
  EXPECT_NE(RunTask(literal).message().find("superset.password: write it as ${env:NAME}"),
            std::string::npos);
  env_.worker_env["SUPERSET_PASSWORD"] = "x";
  json no_datasets = Block({});
  EXPECT_NE(RunTask(no_datasets).message().find("superset.datasets: a non-empty list"),
            std::string::npos);
  EXPECT_TRUE(server_.calls().empty());
}

// The stand-in itself: no bearer token, no access; a revoked token, no access.
TEST_F(SupersetRefreshTest, TheStandInRejectsCallsWithoutAValidBearerToken) {
  auto http = NewCurlHttpClient();
  HttpRequest list;
  list.url = server_.BaseUrl() + "/api/v1/dataset/";
  auto anonymous = http->Send(list);
  ASSERT_TRUE(anonymous.ok()) << anonymous.status().ToString();
  EXPECT_EQ(anonymous->status, 401);

  HttpRequest login;
  login.method = "POST";
  login.url = server_.BaseUrl() + "/api/v1/security/login";
  login.body = json{
      {"username", "dew"},
      {"password", env_.worker_env["SUPERSET_PASSWORD"]},
      {"provider", "db"},
      {"refresh",
       true}}.dump();
  login.headers.push_back({"Content-Type", "application/json"});
  auto token = http->Send(login);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  ASSERT_EQ(token->status, 200) << token->body;
  list.headers.push_back(
      {"Authorization", "Bearer " + json::parse(token->body)["access_token"].get<std::string>()});
  auto listed = http->Send(list);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->status, 200);
  EXPECT_EQ(json::parse(listed->body)["count"], 4);
  // A refresh without the CSRF token and session cookie is refused.
  HttpRequest refresh = list;
  refresh.method = "PUT";
  refresh.url = server_.BaseUrl() + "/api/v1/dataset/7/refresh";
  auto no_csrf = http->Send(refresh);
  ASSERT_TRUE(no_csrf.ok());
  EXPECT_EQ(no_csrf->status, 400);
  server_.RevokeTokens();
  auto revoked = http->Send(list);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->status, 401);
  EXPECT_TRUE(server_.refreshed().empty());
}

TimeZoneLoader NoZones() {
  return [](const std::string& name) -> Result<TimeZone> {
    return Status::NotFound("no zone " + name);
  };
}

TEST(SupersetPipelineSpecTest, AnHttpTaskTakesASupersetBlock) {
  auto spec = PipelineSpec::Parse(R"(name: close
params: {table: gold_finance_trial_balance}
tasks:
  - name: refresh_dashboards
    kind: http
    superset:
      url: https://bi.example.com
      username: dew
      password: ${env:SUPERSET_PASSWORD}
      datasets: ["${params.table}", gold_finance_income_statement]
)",
                                  "pipelines/close.yml", NoZones());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const json block = json::parse(spec->tasks[0].Field("superset"));
  EXPECT_EQ(block["url"], "https://bi.example.com");
  EXPECT_EQ(block["password"], "${env:SUPERSET_PASSWORD}");
  EXPECT_EQ(block["datasets"], json({"${params.table}", "gold_finance_income_statement"}));
  EXPECT_EQ(spec->tasks[0].Field("url"), "");
}

TEST(SupersetPipelineSpecTest, BadSupersetBlocksNameTheLine) {
  auto parse = [](const std::string& task_lines) {
    auto spec = PipelineSpec::Parse(
        "name: close\ntasks:\n  - name: r\n    kind: http\n" + task_lines, "p.yml", NoZones());
    return spec.ok() ? std::string("ok") : spec.status().message();
  };
  const std::string head = "    superset:\n      url: http://x\n      username: u\n";
  EXPECT_EQ(parse(head + "      password: plain\n      datasets: [a]\n"),
            "p.yml:8:17: tasks.r.superset.password: write the password as ${env:NAME} (a literal "
            "secret in a file is refused)");
  EXPECT_EQ(parse(head + "      password: ${env:P}\n"),
            "p.yml:6:7: tasks.r.superset.datasets: missing required field 'datasets'");
  EXPECT_EQ(parse(head + "      password: ${env:P}\n      datasets: []\n"),
            "p.yml:9:17: tasks.r.superset.datasets: list at least one dataset (table name)");
  EXPECT_NE(parse(head + "      password: ${env:P}\n      datasets: [a]\n      user: u\n")
                .find("tasks.r.superset.user: unknown key 'user'"),
            std::string::npos);
  EXPECT_EQ(parse("    method: POST\n"),
            "p.yml:3:5: tasks.r.url: an http task needs 'url' (one request) or 'superset' (a "
            "dataset refresh)");
  EXPECT_EQ(parse("    url: http://x\n" + head + "      password: ${env:P}\n      datasets: [a]\n"),
            "p.yml:3:5: tasks.r.superset: an http task has either 'url' or 'superset', not both");
  EXPECT_NE(parse(head + "      password: ${env:P}\n      datasets: [\"${params.nope}\"]\n")
                .find("tasks.r.superset.datasets: ${params.nope} refers to an undeclared param"),
            std::string::npos);
}

}  // namespace
}  // namespace dew::orchestrator
