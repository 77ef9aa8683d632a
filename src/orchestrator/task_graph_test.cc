#include "orchestrator/task_graph.h"

#include <gtest/gtest.h>

namespace dew::orchestrator {
namespace {

using Names = std::vector<std::string>;

TimeZoneLoader NoZones() {
  return [](const std::string& name) -> Result<TimeZone> {
    return Status::NotFound("no zone " + name);
  };
}

TaskGraph MustBuild(const std::string& yaml) {
  Result<PipelineSpec> spec = PipelineSpec::Parse(yaml, "p.yml", NoZones());
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  if (!spec.ok()) std::abort();
  Result<TaskGraph> g = TaskGraph::Build(*spec);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) std::abort();
  return *g;
}

// A diamond with a tail and an independent high-priority root:
//   load -> {clean, stats} -> report -> publish;  urgent (priority 5);  alert handles report.
const char* kDiamond = R"(name: d
params: {day: "2026-01-01", region: ph}
tasks:
  - {name: load, kind: shell, command: "load ${params.day}"}
  - {name: stats, kind: shell, command: s, depends_on: [load]}
  - {name: clean, kind: shell, command: c, depends_on: [load]}
  - {name: report, kind: sql, sql: "SELECT '${params.day}', '${params.region}', '${params.day}'",
     depends_on: [clean, stats], on_failure: alert, env: {DAY: "${params.day}", HOME: null}}
  - {name: publish, kind: shell, command: p, depends_on: [report]}
  - {name: urgent, kind: shell, command: u, priority: 5}
  - {name: alert, kind: email, to: ops, subject: "report failed on ${params.day}"}
)";

TEST(TaskGraphTest, TopologicalOrderByPriorityThenName) {
  TaskGraph g = MustBuild(kDiamond);
  EXPECT_EQ(g.TopologicalOrder(), (Names{"urgent", "load", "clean", "stats", "report", "publish"}));
}

TEST(TaskGraphTest, PriorityReordersAvailableTasks) {
  TaskGraph g = MustBuild(R"(name: p
tasks:
  - {name: a, kind: shell, command: x}
  - {name: b, kind: shell, command: x, depends_on: [a], priority: -1}
  - {name: c, kind: shell, command: x, depends_on: [a], priority: 2}
  - {name: d, kind: shell, command: x}
)");
  EXPECT_EQ(g.TopologicalOrder(), (Names{"a", "c", "d", "b"}));
  EXPECT_EQ(g.Roots(), (Names{"a", "d"}));
}

TEST(TaskGraphTest, RootsExcludeFailureHandlers) {
  TaskGraph g = MustBuild(kDiamond);
  EXPECT_EQ(g.Roots(), (Names{"urgent", "load"}));
  EXPECT_EQ(*g.FailureHandler("report"), "alert");
  EXPECT_EQ(*g.FailureHandler("load"), "");
  EXPECT_FALSE(g.FailureHandler("nope").ok());
}

TEST(TaskGraphTest, DownstreamClosure) {
  TaskGraph g = MustBuild(kDiamond);
  EXPECT_EQ(*g.Downstream("load"), (Names{"clean", "stats", "report", "publish"}));
  EXPECT_EQ(*g.Downstream("stats"), (Names{"report", "publish"}));
  EXPECT_EQ(*g.Downstream("publish"), Names{});
  EXPECT_EQ(*g.Downstream("urgent"), Names{});
  Result<Names> bad = g.Downstream("nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown task 'nope'"), std::string::npos);
}

TEST(TaskGraphTest, ReadySets) {
  TaskGraph g = MustBuild(kDiamond);
  EXPECT_EQ(*g.Ready({}), (Names{"urgent", "load"}));
  EXPECT_EQ(*g.Ready({}, {"urgent"}), (Names{"load"}));
  EXPECT_EQ(*g.Ready({"load"}, {"urgent"}), (Names{"clean", "stats"}));
  // report waits for both of its dependencies.
  EXPECT_EQ(*g.Ready({"load", "urgent", "clean"}, {"stats"}), Names{});
  EXPECT_EQ(*g.Ready({"load", "urgent", "clean", "stats"}), (Names{"report"}));
  EXPECT_EQ(*g.Ready({"load", "urgent", "clean", "stats", "report", "publish"}), Names{});
  Result<Names> bad = g.Ready({"ghost"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown task 'ghost'"), std::string::npos);
}

TEST(TaskGraphTest, FailureSkipsDownstreamThenNothingIsReady) {
  TaskGraph g = MustBuild(kDiamond);
  std::set<std::string> done = {"urgent", "load"};
  // clean fails: its downstream closure is skipped (counted as done).
  done.insert("clean");
  Result<Names> skipped = g.Downstream("clean");
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(*skipped, (Names{"report", "publish"}));
  done.insert(skipped->begin(), skipped->end());
  EXPECT_EQ(*g.Ready(done), (Names{"stats"}));
  done.insert("stats");
  EXPECT_EQ(*g.Ready(done), Names{});
}

TEST(TaskGraphTest, FindCycleReportsPathInRunOrder) {
  std::vector<TaskSpec> tasks(3);
  tasks[0].name = "a";
  tasks[0].depends_on = {"c"};
  tasks[1].name = "b";
  tasks[1].depends_on = {"a"};
  tasks[2].name = "c";
  tasks[2].depends_on = {"b"};
  EXPECT_EQ(TaskGraph::FindCycle(tasks), (Names{"a", "b", "c", "a"}));
  tasks[0].depends_on.clear();
  EXPECT_EQ(TaskGraph::FindCycle(tasks), Names{});
  // Two-node cycle beside an acyclic part.
  tasks[0].depends_on = {"b"};
  EXPECT_EQ(TaskGraph::FindCycle(tasks), (Names{"a", "b", "a"}));
}

TEST(TaskGraphTest, BuildRejectsCycleAndUnknownDependency) {
  PipelineSpec spec;
  spec.name = "hand";
  spec.tasks.resize(2);
  spec.tasks[0].name = "x";
  spec.tasks[0].depends_on = {"y"};
  spec.tasks[1].name = "y";
  spec.tasks[1].depends_on = {"x"};
  Result<TaskGraph> g = TaskGraph::Build(spec);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("cycle: x -> y -> x"), std::string::npos)
      << g.status().message();
  spec.tasks[1].depends_on = {"z"};
  g = TaskGraph::Build(spec);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("depends on unknown task 'z'"), std::string::npos);
}

TEST(TaskGraphTest, SubstitutesDefaults) {
  TaskGraph g = MustBuild(kDiamond);
  Result<TaskGraph> bound = g.WithParams({});
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ(bound->Find("load")->Field("command"), "load 2026-01-01");
  EXPECT_EQ(bound->Find("report")->Field("sql"), "SELECT '2026-01-01', 'ph', '2026-01-01'");
  EXPECT_EQ(*bound->Find("report")->env[0].value, "2026-01-01");
  EXPECT_FALSE(bound->Find("report")->env[1].value.has_value());
  EXPECT_EQ(bound->Find("alert")->Field("subject"), "report failed on 2026-01-01");
  // The original keeps its references.
  EXPECT_EQ(g.Find("load")->Field("command"), "load ${params.day}");
  EXPECT_EQ(bound->TopologicalOrder(), g.TopologicalOrder());
}

TEST(TaskGraphTest, SubstitutesOverridesLiterallyWithoutRescanning) {
  TaskGraph g = MustBuild(kDiamond);
  Result<TaskGraph> bound = g.WithParams({{"day", "2025-12-31"}, {"region", "${params.day}"}});
  ASSERT_TRUE(bound.ok()) << bound.status().ToString();
  EXPECT_EQ(bound->Find("report")->Field("sql"),
            "SELECT '2025-12-31', '${params.day}', '2025-12-31'");
  EXPECT_EQ(bound->params().at("day"), "2025-12-31");
  EXPECT_EQ(g.params().at("day"), "2026-01-01");
}

TEST(TaskGraphTest, UnknownOverrideIsNamed) {
  TaskGraph g = MustBuild(kDiamond);
  Result<TaskGraph> bound = g.WithParams({{"dya", "x"}});
  ASSERT_FALSE(bound.ok());
  EXPECT_TRUE(bound.status().IsInvalidArgument());
  EXPECT_NE(bound.status().message().find("unknown param 'dya' (declared: day, region)"),
            std::string::npos)
      << bound.status().message();
}

}  // namespace
}  // namespace dew::orchestrator
