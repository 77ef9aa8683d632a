#include "orchestrator/pipeline_spec.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/file_system.h"

namespace dew::orchestrator {
namespace {

// The issue's example, verbatim.
const char* kExample = R"(name: nightly_revenue
schedule: "0 2 * * *"
timezone: Asia/Manila
params: {start_date: "2026-01-01"}
tasks:
  - name: extract
    kind: sync
    connection: odoo
  - name: revenue
    kind: sql
    depends_on: [extract]
    target: gold.gold_finance_daily_revenue
    sql: SELECT date, sum(credit - debit) AS revenue FROM silver.odoo_account_move_line
         WHERE date >= '${params.start_date}' GROUP BY date
    retries: {count: 3, backoff: 2s, max_delay: 1m}
    timeout: 10m
)";

// Knows only UTC and Asia/Manila (from the system tz database), so tests control the zones.
TimeZoneLoader TestZones() {
  return [](const std::string& name) -> Result<TimeZone> {
    if (name == "Asia/Manila") return TimeZone::Load(name, *FileSystem::Posix());
    return Status::NotFound("no zone " + name);
  };
}

Result<PipelineSpec> Parse(const std::string& text) {
  return PipelineSpec::Parse(text, "pipelines/p.yml", TestZones());
}

// Expects a parse error whose message starts with `prefix` (file:line:col: field:) and
// contains `detail`.
void ExpectError(const std::string& text, const std::string& prefix, const std::string& detail) {
  Result<PipelineSpec> r = Parse(text);
  ASSERT_FALSE(r.ok()) << "parsed:\n" << text;
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  const std::string& msg = r.status().message();
  EXPECT_EQ(msg.rfind(prefix, 0), 0u) << msg;
  EXPECT_NE(msg.find(detail), std::string::npos) << msg;
}

const char* kHeader = "name: p\ntasks:\n";  // tasks start at line 3

TEST(PipelineSpecTest, ParsesIssueExample) {
  Result<PipelineSpec> r = Parse(kExample);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const PipelineSpec& p = *r;
  EXPECT_EQ(p.name, "nightly_revenue");
  ASSERT_TRUE(p.schedule.has_value());
  EXPECT_EQ(p.schedule->ToString(), "0 2 * * *");
  EXPECT_EQ(p.timezone, "Asia/Manila");
  EXPECT_EQ(p.time_zone.OffsetSeconds(1767225600), 8 * 3600);  // 2026-01-01 UTC
  EXPECT_EQ(p.params.at("start_date"), "2026-01-01");
  EXPECT_EQ(p.catch_up, CatchUp::kSkip);
  EXPECT_EQ(p.concurrency, 1);
  ASSERT_EQ(p.tasks.size(), 2u);
  EXPECT_EQ(p.tasks[0].name, "extract");
  EXPECT_EQ(p.tasks[0].kind, TaskKind::kSync);
  EXPECT_EQ(p.tasks[0].Field("connection"), "odoo");
  EXPECT_EQ(p.tasks[0].line, 6);
  EXPECT_EQ(p.tasks[0].column, 5);
  const TaskSpec& rev = p.tasks[1];
  EXPECT_EQ(rev.kind, TaskKind::kSql);
  EXPECT_EQ(rev.depends_on, std::vector<std::string>{"extract"});
  EXPECT_EQ(rev.Field("target"), "gold.gold_finance_daily_revenue");
  EXPECT_NE(rev.Field("sql").find("WHERE date >= '${params.start_date}'"), std::string::npos);
  EXPECT_EQ(rev.retries.count, 3);
  EXPECT_EQ(rev.retries.backoff_ms, 2000);
  EXPECT_EQ(rev.retries.max_delay_ms, 60000);
  EXPECT_EQ(rev.timeout_ms, 600000);
  EXPECT_STREQ(TaskKindName(rev.kind), "sql");
}

TEST(PipelineSpecTest, ParsesEveryKindAndOption) {
  std::string text = R"(name: all-kinds
schedule: "0 6 1W * *"
catch_up: all
concurrency: 3
priority: 5
params: {day: "2026-01-01", n: 3}
tasks:
  - {name: s, kind: sync, connection: pg, stream: orders}
  - {name: q, kind: sql, file: sql/q.sql, depends_on: s}
  - {name: m, kind: model, select: "tag:finance", depends_on: [q]}
  - {name: py, kind: python, script: scripts/x.py, args: "--day ${params.day}"}
  - name: sh
    kind: shell
    command: echo ${params.n}
    env: {TOKEN: null, DAY: "${params.day}"}
    retries: 2
    priority: 7
    on_failure: mail
  - {name: dq, kind: quality, table: silver.orders}
  - {name: hook, kind: http, url: "https://x.test/h", method: POST, body: "{}"}
  - {name: mail, kind: email, to: ops@x.test, subject: failed}
  - {name: e2, kind: shell, command: env, env: [HOME, PATH], timeout: 1h30m}
)";
  Result<PipelineSpec> r = Parse(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->catch_up, CatchUp::kAll);
  EXPECT_EQ(r->concurrency, 3);
  EXPECT_EQ(r->priority, 5);
  EXPECT_EQ(r->timezone, "UTC");
  EXPECT_EQ(r->FindTask("q")->depends_on, std::vector<std::string>{"s"});
  const TaskSpec* sh = r->FindTask("sh");
  EXPECT_EQ(sh->retries.count, 2);
  EXPECT_EQ(sh->priority, 7);
  EXPECT_EQ(sh->on_failure, "mail");
  ASSERT_EQ(sh->env.size(), 2u);
  EXPECT_EQ(sh->env[0].name, "TOKEN");
  EXPECT_FALSE(sh->env[0].value.has_value());
  EXPECT_EQ(*sh->env[1].value, "${params.day}");
  EXPECT_TRUE(r->FindTask("mail")->failure_handler);
  EXPECT_FALSE(sh->failure_handler);
  EXPECT_EQ(r->FindTask("hook")->Field("method"), "POST");
  EXPECT_EQ(r->FindTask("e2")->timeout_ms, 5400000);
  EXPECT_EQ(r->FindTask("e2")->env.size(), 2u);
  EXPECT_EQ(r->FindTask("dq")->kind, TaskKind::kQuality);
}

TEST(PipelineSpecTest, HttpMethodDefaultsToGet) {
  Result<PipelineSpec> r = Parse(std::string(kHeader) + "  - {name: h, kind: http, url: u}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tasks[0].Field("method"), "GET");
}

TEST(PipelineSpecTest, ParseFileReadsThroughFileSystem) {
  char dir_template[] = "/tmp/dew_pipeline_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  auto fs = FileSystem::Posix();
  ASSERT_TRUE(fs->WriteFile(dir + "/p.yml", kExample).ok());
  Result<PipelineSpec> r = PipelineSpec::ParseFile(dir + "/p.yml", *fs, SystemTimeZoneLoader(*fs));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->file, dir + "/p.yml");
  EXPECT_EQ(r->tasks.size(), 2u);
  EXPECT_FALSE(PipelineSpec::ParseFile(dir + "/none.yml", *fs, TestZones()).ok());
  (void)fs->RemoveAll(dir);
}

TEST(PipelineSpecTest, YamlSyntaxError) {
  ExpectError("name: p\ntasks: [a, b\n", "pipelines/p.yml:3:1: yaml: ", "syntax error");
}

TEST(PipelineSpecTest, TopLevelNotAMapping) {
  ExpectError("- a\n- b\n", "pipelines/p.yml:1:1: pipeline: ", "expected a mapping");
}

TEST(PipelineSpecTest, UnknownTopLevelKeySuggests) {
  ExpectError("name: p\nschedul: \"* * * * *\"\ntasks: []\n",
              "pipelines/p.yml:2:1: schedul: ", "unknown key 'schedul' (did you mean 'schedule'?)");
}

TEST(PipelineSpecTest, UnknownTaskKeySuggestsForKind) {
  ExpectError(std::string(kHeader) + "  - name: a\n    kind: shell\n    comand: ls\n",
              "pipelines/p.yml:5:5: tasks.a.comand: ",
              "unknown key 'comand' for a task of kind shell (did you mean 'command'?)");
}

TEST(PipelineSpecTest, KeyOfAnotherKindIsUnknown) {
  ExpectError(std::string(kHeader) + "  - {name: a, kind: shell, command: ls, url: x}\n",
              "pipelines/p.yml:3:41: tasks.a.url: ", "unknown key 'url' for a task of kind shell");
}

TEST(PipelineSpecTest, DuplicateKey) {
  ExpectError("name: p\nname: q\ntasks: []\n", "pipelines/p.yml:2:1: name: ", "duplicate key");
}

TEST(PipelineSpecTest, MissingName) {
  ExpectError("tasks: []\n", "pipelines/p.yml:1:1: name: ", "missing required field 'name'");
}

TEST(PipelineSpecTest, MissingTasks) {
  ExpectError("name: p\n", "pipelines/p.yml:1:1: tasks: ", "missing required field 'tasks'");
}

TEST(PipelineSpecTest, EmptyTasks) {
  ExpectError("name: p\ntasks: []\n", "pipelines/p.yml:2:8: tasks: ", "at least one task");
}

TEST(PipelineSpecTest, MissingTaskKind) {
  ExpectError(std::string(kHeader) + "  - name: a\n    command: ls\n",
              "pipelines/p.yml:3:5: tasks.a.kind: ", "missing required field 'kind'");
}

TEST(PipelineSpecTest, MissingKindSpecificField) {
  ExpectError(std::string(kHeader) + "  - name: a\n    kind: sync\n",
              "pipelines/p.yml:3:5: tasks.a.connection: ",
              "missing required field 'connection' for a task of kind sync");
}

TEST(PipelineSpecTest, SqlNeedsExactlyOneOfSqlOrFile) {
  ExpectError(std::string(kHeader) + "  - {name: a, kind: sql, sql: x, file: y}\n",
              "pipelines/p.yml:3:5: tasks.a.sql: ", "exactly one of 'sql' (inline) or 'file'");
  ExpectError(std::string(kHeader) + "  - {name: a, kind: sql}\n",
              "pipelines/p.yml:3:5: tasks.a.sql: ", "exactly one of");
}

TEST(PipelineSpecTest, UnknownKindListsValidKinds) {
  ExpectError(std::string(kHeader) + "  - name: a\n    kind: sqll\n",
              "pipelines/p.yml:4:11: tasks.a.kind: ",
              "unknown task kind 'sqll' (did you mean 'sql'?); valid kinds: sync, sql, model, "
              "python, shell, quality, http, email");
}

TEST(PipelineSpecTest, WrongTypes) {
  ExpectError("name: [a]\ntasks: []\n",
              "pipelines/p.yml:1:7: name: ", "wrong type: expected a scalar, got a list");
  ExpectError("name: p\ntasks: {a: 1}\n", "pipelines/p.yml:2:8: tasks: ",
              "wrong type: expected a list of tasks, got a mapping");
  ExpectError("name: p\nconcurrency: many\ntasks: []\n",
              "pipelines/p.yml:2:14: concurrency: ", "expected an integer, got 'many'");
  ExpectError(std::string(kHeader) + "  - {name: a, kind: shell, command: {x: 1}}\n",
              "pipelines/p.yml:3:37: tasks.a.command: ", "wrong type: expected a scalar");
  ExpectError(
      std::string(kHeader) + "  - {name: a, kind: shell, command: ls, depends_on: {x: 1}}\n",
      "pipelines/p.yml:3:53: tasks.a.depends_on: ", "expected a list of task names");
}

TEST(PipelineSpecTest, IntegerOutOfRange) {
  ExpectError("name: p\nconcurrency: 0\ntasks: []\n",
              "pipelines/p.yml:2:14: concurrency: ", "0 out of range 1-1000");
}

TEST(PipelineSpecTest, BadDuration) {
  ExpectError(std::string(kHeader) +
                  "  - name: a\n    kind: shell\n    command: ls\n    retries: {count: 1, "
                  "backoff: 2x}\n",
              "pipelines/p.yml:6:34: tasks.a.retries.backoff: ", "bad duration '2x'");
  ExpectError(std::string(kHeader) + "  - {name: a, kind: shell, command: ls, timeout: 10}\n",
              "pipelines/p.yml:3:50: tasks.a.timeout: ", "bad duration '10'");
}

TEST(PipelineSpecTest, MaxDelayBelowBackoff) {
  ExpectError(
      std::string(kHeader) +
          "  - {name: a, kind: shell, command: ls, retries: {backoff: 1m, max_delay: 2s}}\n",
      "pipelines/p.yml:3:75: tasks.a.retries.max_delay: ", "shorter than backoff");
}

TEST(PipelineSpecTest, UnknownRetryKey) {
  ExpectError(
      std::string(kHeader) + "  - {name: a, kind: shell, command: ls, retries: {cont: 1}}\n",
      "pipelines/p.yml:3:51: tasks.a.retries.cont: ", "(did you mean 'count'?)");
}

TEST(PipelineSpecTest, BadCronPassesMessageThrough) {
  Result<CronSchedule> direct = CronSchedule::Parse("0 2 32 * *");
  ASSERT_FALSE(direct.ok());
  ExpectError("name: p\nschedule: \"0 2 32 * *\"\ntasks: []\n",
              "pipelines/p.yml:2:11: schedule: ", direct.status().message());
}

TEST(PipelineSpecTest, UnknownTimeZone) {
  ExpectError("name: p\ntimezone: Mars/Olympus\ntasks: []\n",
              "pipelines/p.yml:2:11: timezone: ", "unknown time zone 'Mars/Olympus'");
}

TEST(PipelineSpecTest, UnknownCatchUpPolicy) {
  ExpectError("name: p\ncatch_up: some\ntasks: []\n",
              "pipelines/p.yml:2:11: catch_up: ", "valid: skip, latest, all");
}

TEST(PipelineSpecTest, DuplicateTaskName) {
  ExpectError(
      std::string(kHeader) +
          "  - {name: a, kind: shell, command: ls}\n  - {name: a, kind: shell, command: "
          "ls}\n",
      "pipelines/p.yml:4:12: tasks.a.name: ", "duplicate task name 'a' (first defined at line 3)");
}

TEST(PipelineSpecTest, BadTaskName) {
  ExpectError(std::string(kHeader) + "  - {name: \"a b\", kind: shell, command: ls}\n",
              "pipelines/p.yml:3:12: tasks[0].name: ", "task names are letters");
}

TEST(PipelineSpecTest, DependsOnUnknownTask) {
  ExpectError(std::string(kHeader) +
                  "  - {name: extract, kind: shell, command: ls}\n"
                  "  - {name: b, kind: shell, command: ls, depends_on: [extrat]}\n",
              "pipelines/p.yml:4:54: tasks.b.depends_on: ",
              "unknown task 'extrat' (did you mean 'extract'?); tasks: extract, b");
}

TEST(PipelineSpecTest, DependsOnItself) {
  ExpectError(std::string(kHeader) + "  - {name: a, kind: shell, command: ls, depends_on: a}\n",
              "pipelines/p.yml:3:53: tasks.a.depends_on: ", "cannot depend on itself");
}

TEST(PipelineSpecTest, OnFailureUnknownTask) {
  ExpectError(std::string(kHeader) + "  - {name: a, kind: shell, command: ls, on_failure: mial}\n",
              "pipelines/p.yml:3:53: tasks.a.on_failure: ", "unknown task 'mial'");
}

TEST(PipelineSpecTest, OnFailureHandlerCannotBeDependedOn) {
  ExpectError(std::string(kHeader) +
                  "  - {name: a, kind: shell, command: ls, on_failure: m}\n"
                  "  - {name: m, kind: email, to: x, subject: y}\n"
                  "  - {name: c, kind: shell, command: ls, depends_on: [m]}\n",
              "pipelines/p.yml:5:53: tasks.c.depends_on: ", "'m' is an on_failure handler");
}

TEST(PipelineSpecTest, CycleNamesItsPath) {
  ExpectError(std::string(kHeader) +
                  "  - {name: a, kind: shell, command: ls, depends_on: [c]}\n"
                  "  - {name: b, kind: shell, command: ls, depends_on: [a]}\n"
                  "  - {name: c, kind: shell, command: ls, depends_on: [b]}\n",
              "pipelines/p.yml:4:53: tasks.b.depends_on: ", "cycle: a -> b -> c -> a");
}

TEST(PipelineSpecTest, UndeclaredParamReference) {
  ExpectError(
      "name: p\nparams: {start_date: x}\ntasks:\n"
      "  - {name: a, kind: shell, command: \"echo ${params.start}\"}\n",
      "pipelines/p.yml:4:37: tasks.a.command: ",
      "${params.start} refers to an undeclared param (declared: start_date)");
  ExpectError(
      std::string(kHeader) + "  - {name: a, kind: shell, command: ls, env: {X: \"${params.x}\"}}\n",
      "pipelines/p.yml:3:50: tasks.a.env.X: ", "the pipeline declares no params");
}

TEST(PipelineSpecTest, UnterminatedParamReference) {
  ExpectError(
      "name: p\nparams: {x: 1}\ntasks:\n"
      "  - {name: a, kind: shell, command: \"echo ${params.x\"}\n",
      "pipelines/p.yml:4:37: tasks.a.command: ", "unterminated reference");
}

TEST(PipelineSpecTest, ParamNeedsScalarDefault) {
  ExpectError("name: p\nparams: {x: [1]}\ntasks: []\n",
              "pipelines/p.yml:2:13: params.x: ", "expected a scalar default value");
}

TEST(PipelineSpecTest, UnknownHttpMethod) {
  ExpectError(std::string(kHeader) + "  - {name: h, kind: http, url: u, method: FETCH}\n",
              "pipelines/p.yml:3:43: tasks.h.method: ", "unknown HTTP method 'FETCH'");
}

TEST(PipelineSpecTest, BadNames) {
  ExpectError("name: 9lives\ntasks: []\n", "pipelines/p.yml:1:7: name: ", "pipeline names are");
  ExpectError("name: p\nparams: {a-b: 1}\ntasks: []\n",
              "pipelines/p.yml:2:10: params.a-b: ", "param names are");
  ExpectError(std::string(kHeader) + "  - {name: a, kind: shell, command: ls, env: [A-B]}\n",
              "pipelines/p.yml:3:47: tasks.a.env.A-B: ", "variable names are");
}

TEST(PipelineSpecTest, DuplicateEnvVariable) {
  ExpectError(std::string(kHeader) + "  - {name: a, kind: shell, command: ls, env: [A, A]}\n",
              "pipelines/p.yml:3:50: tasks.a.env.A: ", "duplicate variable");
}

TEST(PipelineSpecTest, DependencyListedTwice) {
  ExpectError(std::string(kHeader) +
                  "  - {name: a, kind: shell, command: ls}\n"
                  "  - {name: b, kind: shell, command: ls, depends_on: [a, a]}\n",
              "pipelines/p.yml:4:57: tasks.b.depends_on: ", "'a' is listed twice");
}

TEST(PipelineSpecTest, OnFailureItself) {
  ExpectError(std::string(kHeader) + "  - {name: a, kind: shell, command: ls, on_failure: a}\n",
              "pipelines/p.yml:3:53: tasks.a.on_failure: ", "cannot be its own on_failure");
}

TEST(PipelineSpecTest, FailureHandlerWithDependsOn) {
  ExpectError(std::string(kHeader) +
                  "  - {name: a, kind: shell, command: ls, on_failure: m}\n"
                  "  - {name: m, kind: shell, command: ls, depends_on: [a]}\n",
              "pipelines/p.yml:4:53: tasks.m.depends_on: ",
              "'m' is an on_failure handler and cannot have depends_on");
}

TEST(PipelineSpecTest, TimeoutMustBePositiveAndBounded) {
  ExpectError(std::string(kHeader) + "  - {name: a, kind: shell, command: ls, timeout: 0s}\n",
              "pipelines/p.yml:3:50: tasks.a.timeout: ", "timeout must be positive");
  ExpectError(std::string(kHeader) + "  - {name: a, kind: shell, command: ls, timeout: 400d}\n",
              "pipelines/p.yml:3:50: tasks.a.timeout: ", "longer than a year");
}

TEST(PipelineSpecTest, ParamReferencesListsNames) {
  Result<std::vector<std::string>> refs = ParamReferences("a ${params.x} b ${params.y_2}${x}");
  ASSERT_TRUE(refs.ok());
  EXPECT_EQ(*refs, (std::vector<std::string>{"x", "y_2"}));
  EXPECT_FALSE(ParamReferences("${params.}").ok());
}

}  // namespace
}  // namespace dew::orchestrator
