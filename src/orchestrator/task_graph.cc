#include "orchestrator/task_graph.h"

#include <algorithm>

namespace dew::orchestrator {

namespace {

//! `text` with each ${params.NAME} replaced by params[NAME]; replacements are not rescanned.
Result<std::string> Substitute(const std::string& text,
                               const std::map<std::string, std::string>& params,
                               const std::string& where) {
  static const std::string kOpen = "${params.";
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find(kOpen, pos);
    if (open == std::string::npos) break;
    size_t close = text.find('}', open);
    if (close == std::string::npos) {
      return Status::InvalidArgument(where + ": unterminated reference to a param");
    }
    std::string name = text.substr(open + kOpen.size(), close - open - kOpen.size());
    auto it = params.find(name);
    if (it == params.end()) {
      return Status::InvalidArgument(where + ": ${params." + name +
                                     "} refers to an undeclared param");
    }
    out.append(text, pos, open - pos);
    out += it->second;
    pos = close + 1;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

}  // namespace

std::vector<std::string> TaskGraph::FindCycle(const std::vector<TaskSpec>& tasks) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < tasks.size(); ++i) index.emplace(tasks[i].name, i);
  // Walk upstream (task -> its dependencies); a back edge closes a cycle.
  enum Color { kWhite, kGrey, kBlack };
  std::vector<Color> color(tasks.size(), kWhite);
  std::vector<size_t> stack;
  std::vector<std::string> cycle;
  auto visit = [&](auto&& self, size_t v) -> bool {
    color[v] = kGrey;
    stack.push_back(v);
    for (const std::string& dep : tasks[v].depends_on) {
      auto it = index.find(dep);
      if (it == index.end()) continue;
      size_t u = it->second;
      if (color[u] == kGrey) {
        // The stack from u to v is a chain where each task depends on the next, and v
        // depends on u; reversed, it is in run order. Start the path at u.
        auto start = std::find(stack.begin(), stack.end(), u);
        std::vector<size_t> seg(start, stack.end());
        std::reverse(seg.begin(), seg.end());
        std::rotate(seg.begin(), seg.end() - 1, seg.end());
        for (size_t i : seg) cycle.push_back(tasks[i].name);
        cycle.push_back(tasks[u].name);
        return true;
      }
      if (color[u] == kWhite && self(self, u)) return true;
    }
    stack.pop_back();
    color[v] = kBlack;
    return false;
  };
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (color[i] == kWhite && visit(visit, i)) return cycle;
  }
  return {};
}

void TaskGraph::SortByPriority(std::vector<size_t>* indexes) const {
  std::sort(indexes->begin(), indexes->end(), [this](size_t a, size_t b) {
    if (tasks_[a].priority != tasks_[b].priority) return tasks_[a].priority > tasks_[b].priority;
    return tasks_[a].name < tasks_[b].name;
  });
}

Result<TaskGraph> TaskGraph::Build(const PipelineSpec& spec) {
  TaskGraph g;
  g.pipeline_ = spec.name;
  g.tasks_ = spec.tasks;
  g.params_ = spec.params;
  for (size_t i = 0; i < g.tasks_.size(); ++i) {
    if (!g.index_.emplace(g.tasks_[i].name, i).second) {
      return Status::InvalidArgument("pipeline " + spec.name + ": duplicate task name '" +
                                     g.tasks_[i].name + "'");
    }
  }
  g.downstream_.resize(g.tasks_.size());
  for (size_t i = 0; i < g.tasks_.size(); ++i) {
    for (const std::string& dep : g.tasks_[i].depends_on) {
      auto it = g.index_.find(dep);
      if (it == g.index_.end()) {
        return Status::InvalidArgument("pipeline " + spec.name + ": task " + g.tasks_[i].name +
                                       " depends on unknown task '" + dep + "'");
      }
      g.downstream_[it->second].push_back(i);
    }
  }
  std::vector<std::string> cycle = FindCycle(g.tasks_);
  if (!cycle.empty()) {
    std::string path;
    for (size_t i = 0; i < cycle.size(); ++i) path += (i ? " -> " : "") + cycle[i];
    return Status::InvalidArgument("pipeline " + spec.name + ": cycle: " + path);
  }
  // Kahn's algorithm, always taking the best available task next.
  std::vector<size_t> waiting(g.tasks_.size());
  std::vector<size_t> available;
  for (size_t i = 0; i < g.tasks_.size(); ++i) {
    waiting[i] = g.tasks_[i].depends_on.size();
    if (waiting[i] == 0 && !g.tasks_[i].failure_handler) available.push_back(i);
  }
  while (!available.empty()) {
    g.SortByPriority(&available);
    size_t next = available.front();
    available.erase(available.begin());
    g.order_.push_back(g.tasks_[next].name);
    for (size_t d : g.downstream_[next]) {
      if (--waiting[d] == 0) available.push_back(d);
    }
  }
  return g;
}

std::vector<std::string> TaskGraph::Roots() const {
  std::vector<size_t> roots;
  for (size_t i = 0; i < tasks_.size(); ++i) {
    if (tasks_[i].depends_on.empty() && !tasks_[i].failure_handler) roots.push_back(i);
  }
  SortByPriority(&roots);
  std::vector<std::string> names;
  for (size_t i : roots) names.push_back(tasks_[i].name);
  return names;
}

Result<std::vector<std::string>> TaskGraph::Downstream(const std::string& task) const {
  auto it = index_.find(task);
  if (it == index_.end()) {
    return Status::InvalidArgument("pipeline " + pipeline_ + ": unknown task '" + task + "'");
  }
  std::vector<bool> reached(tasks_.size(), false);
  std::vector<size_t> todo = {it->second};
  while (!todo.empty()) {
    size_t v = todo.back();
    todo.pop_back();
    for (size_t d : downstream_[v]) {
      if (!reached[d]) {
        reached[d] = true;
        todo.push_back(d);
      }
    }
  }
  std::vector<std::string> out;
  for (const std::string& name : order_) {
    if (reached[index_.at(name)]) out.push_back(name);
  }
  return out;
}

Result<std::vector<std::string>> TaskGraph::Ready(const std::set<std::string>& done,
                                                  const std::set<std::string>& started) const {
  for (const std::set<std::string>* set : {&done, &started}) {
    for (const std::string& name : *set) {
      if (!index_.count(name)) {
        return Status::InvalidArgument("pipeline " + pipeline_ + ": unknown task '" + name + "'");
      }
    }
  }
  std::vector<size_t> ready;
  for (size_t i = 0; i < tasks_.size(); ++i) {
    const TaskSpec& t = tasks_[i];
    if (t.failure_handler || done.count(t.name) || started.count(t.name)) continue;
    bool all_done = std::all_of(t.depends_on.begin(), t.depends_on.end(),
                                [&](const std::string& dep) { return done.count(dep) > 0; });
    if (all_done) ready.push_back(i);
  }
  SortByPriority(&ready);
  std::vector<std::string> names;
  for (size_t i : ready) names.push_back(tasks_[i].name);
  return names;
}

Result<std::string> TaskGraph::FailureHandler(const std::string& task) const {
  const TaskSpec* t = Find(task);
  if (!t) {
    return Status::InvalidArgument("pipeline " + pipeline_ + ": unknown task '" + task + "'");
  }
  return t->on_failure;
}

const TaskSpec* TaskGraph::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tasks_[it->second];
}

Result<TaskGraph> TaskGraph::WithParams(const std::map<std::string, std::string>& overrides) const {
  TaskGraph g = *this;
  for (const auto& [key, value] : overrides) {
    auto it = g.params_.find(key);
    if (it == g.params_.end()) {
      std::string declared;
      for (const auto& [k, v] : params_) declared += (declared.empty() ? "" : ", ") + k;
      return Status::InvalidArgument(
          "pipeline " + pipeline_ + ": unknown param '" + key +
          "' (declared: " + (declared.empty() ? std::string("none") : declared) + ")");
    }
    it->second = value;
  }
  for (TaskSpec& t : g.tasks_) {
    for (auto& [key, value] : t.fields) {
      DEW_ASSIGN_OR_RETURN(
          value,
          Substitute(value, g.params_, "pipeline " + pipeline_ + ": task " + t.name + ": " + key));
    }
    for (EnvVar& var : t.env) {
      if (!var.value) continue;
      DEW_ASSIGN_OR_RETURN(*var.value, Substitute(*var.value, g.params_,
                                                  "pipeline " + pipeline_ + ": task " + t.name +
                                                      ": env." + var.name));
    }
  }
  return g;
}

}  // namespace dew::orchestrator
