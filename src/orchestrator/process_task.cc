// shell and python tasks: child processes through ChildTask.
#include <sstream>

#include "orchestrator/task_runner.h"

namespace dew::orchestrator {

namespace {

//! Splits `args` on blanks, honouring single and double quotes (no escapes inside quotes).
std::vector<std::string> SplitArgs(const std::string& args) {
  std::vector<std::string> out;
  std::string cur;
  bool have = false;
  char quote = 0;
  for (char c : args) {
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        cur.push_back(c);
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      have = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (have) out.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur.push_back(c);
      have = true;
    }
  }
  if (have) out.push_back(cur);
  return out;
}

class ProcessTask final : public TaskRunner {
 public:
  ProcessTask(const TaskEnv& env, TaskInvocation inv) : inv_(std::move(inv)), child_(env, inv_) {}

  Result<TaskOutcome> Run() override {
    std::vector<std::string> argv;
    if (inv_.task.kind == TaskKind::kShell) {
      argv = {"/bin/sh", "-c", inv_.task.Field("command")};
    } else {
      argv = {"python3", inv_.task.Field("script")};
      for (std::string& a : SplitArgs(inv_.task.Field("args"))) argv.push_back(std::move(a));
    }
    DEW_RETURN_IF_ERROR(child_.Run(std::move(argv)));
    return TaskOutcome{};
  }

  void Cancel() override { child_.Cancel(); }

 private:
  const TaskInvocation inv_;
  ChildTask child_;
};

}  // namespace

std::unique_ptr<TaskRunner> MakeProcessTask(const TaskEnv& env, TaskInvocation inv) {
  return std::make_unique<ProcessTask>(env, std::move(inv));
}

}  // namespace dew::orchestrator
