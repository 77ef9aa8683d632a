// A project folder and TaskEnv for tests of single task kinds (email, model, quality): a real
// lakehouse in a temp folder, real files, the system clock.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "core/file_system.h"
#include "lake/lakehouse.h"
#include "orchestrator/task_graph.h"
#include "orchestrator/task_runner.h"

namespace dew::orchestrator::testing {

class TaskKindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_task_kind_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    env_.project_dir = dir_;
    env_.fs = FileSystem::Posix();
    env_.clock = Clock::System();
    const std::string lake = dir_ + "/lake";
    const std::string dir = dir_;
    auto fs = env_.fs;
    env_.open_lakehouse = [lake, dir, fs](const std::string& run_id) {
      lake::LakehouseOptions o;
      o.lake_root = lake;
      o.cwd = dir;
      o.user = "test";
      o.run_id = run_id;
      return lake::Lakehouse::Open(std::move(o), fs, Clock::System());
    };
  }

  void TearDown() override { (void)std::system(("rm -rf " + dir_).c_str()); }

  //! Writes `text` to `relative` inside the project, creating folders.
  void Write(const std::string& relative, const std::string& text) {
    const std::string path = dir_ + "/" + relative;
    (void)std::system(("mkdir -p '" + path.substr(0, path.rfind('/')) + "'").c_str());
    std::ofstream(path) << text;
  }

  //! The task `task` of pipeline `yaml` with `params` substituted, as the executor hands it over.
  TaskInvocation Invocation(const std::string& yaml, const std::string& task,
                            const std::map<std::string, std::string>& params = {},
                            const std::string& run_id = "run-1") {
    auto spec = PipelineSpec::Parse(yaml, "pipelines/p.yml", nullptr);
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    auto graph = TaskGraph::Build(*spec);
    EXPECT_TRUE(graph.ok()) << graph.status().ToString();
    auto with = graph->WithParams(params);
    EXPECT_TRUE(with.ok()) << with.status().ToString();
    TaskInvocation inv;
    inv.pipeline = spec->name;
    inv.run_id = run_id;
    inv.task = *with->Find(task);
    return inv;
  }

  Result<TaskOutcome> RunTask(TaskInvocation inv) {
    DEW_ASSIGN_OR_RETURN(auto runner, MakeTaskRunner(env_, std::move(inv)));
    return runner->Run();
  }

  std::string dir_;
  TaskEnv env_;
};

}  // namespace dew::orchestrator::testing
