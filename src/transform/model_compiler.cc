#include "transform/model_compiler.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>

#include "core/near_match.h"
#include "transform/jinja.h"
#include "transform/python_model.h"

namespace dew::transform {
namespace {

std::string Suggestion(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best = ClosestMatch(word, candidates);
  return best ? " (did you mean '" + *best + "'?)" : "";
}

std::string Relation(const std::string& layer, const std::string& name) {
  return layer + "." + name;
}

//! What one render of a model collects besides its SQL.
struct Collected {
  ModelConfig config;
  std::vector<std::string> model_refs, seed_refs, source_refs;
};

void AddUnique(std::vector<std::string>* list, const std::string& item) {
  if (std::find(list->begin(), list->end(), item) == list->end()) list->push_back(item);
}

//! Functions and variables shared by models and singular tests. `relation_of` gives a model's
//! relation (its layer may come from its own config() call, known only after a first pass).
RenderContext MakeContext(const ModelProject& project, const nlohmann::json& vars,
                          const std::function<std::string(const std::string&)>& relation_of,
                          Collected* collected) {
  RenderContext ctx;
  ctx.functions["ref"] = [&project, relation_of, collected](const CallArgs& a) -> Result<Value> {
    // ref('model') or dbt's two-argument ref('package', 'model').
    if (a.positional.empty() || a.positional.size() > 2 || !a.positional.back().is_string())
      return Status::InvalidArgument("ref() takes a model name: ref('stg_orders')");
    const std::string name = a.positional.back().get<std::string>();
    if (project.FindModel(name) != nullptr) {
      if (collected) AddUnique(&collected->model_refs, name);
      return Value(relation_of(name));
    }
    if (const SeedDef* seed = project.FindSeed(name)) {
      if (collected) AddUnique(&collected->seed_refs, name);
      return Value(Relation(seed->layer, name));
    }
    std::vector<std::string> names;
    for (const auto& m : project.models()) names.push_back(m.name);
    for (const auto& s : project.seeds()) names.push_back(s.name);
    return Status::InvalidArgument("unknown ref '" + name + "': no model or seed has that name" +
                                   Suggestion(name, names));
  };
  ctx.functions["source"] = [&project, collected](const CallArgs& a) -> Result<Value> {
    if (a.positional.size() != 2 || !a.positional[0].is_string() || !a.positional[1].is_string())
      return Status::InvalidArgument(
          "source() takes a source and a table: source('odoo', 'account_move')");
    const std::string s = a.positional[0].get<std::string>(),
                      t = a.positional[1].get<std::string>();
    if (const SourceTable* st = project.FindSource(s, t)) {
      if (collected) AddUnique(&collected->source_refs, s + "." + t);
      return Value(st->relation);
    }
    std::vector<std::string> names;
    for (const auto& st : project.sources()) names.push_back(st.source + "." + st.name);
    return Status::InvalidArgument("unknown source '" + s + "." + t +
                                   "': declare it under sources: in a models/*.yml file" +
                                   Suggestion(s + "." + t, names));
  };
  ctx.functions["var"] = [vars](const CallArgs& a) -> Result<Value> {
    if (a.positional.empty() || !a.positional[0].is_string())
      return Status::InvalidArgument("var() takes a variable name: var('start_date')");
    const std::string name = a.positional[0].get<std::string>();
    if (vars.is_object() && vars.contains(name)) return vars[name];
    if (a.positional.size() > 1) return a.positional[1];
    if (const Value* d = a.Keyword("default")) return *d;
    return Status::InvalidArgument("var '" + name +
                                   "' is not set: add it to vars: in dew.yml, pass --vars, or "
                                   "give a default: var('" +
                                   name + "', …)");
  };
  ctx.functions["config"] = [collected](const CallArgs& a) -> Result<Value> {
    if (!a.positional.empty())
      return Status::InvalidArgument(
          "config() takes keyword arguments: config(materialized='table')");
    for (const auto& [k, v] : a.keyword) {
      if (!collected) continue;
      Status s = ApplyConfigValue(k, v, &collected->config);
      if (!s.ok()) return Status::InvalidArgument("config(" + k + "=…): " + s.message());
    }
    return Value("");
  };
  ctx.variables["dew"] = Value{{"version", "0.1.0"}};
  ctx.macros = project.macros();
  return ctx;
}

//! Evaluates the calls of `functions` in Python model `m` as the Jinja expressions
//! `{{ f(args) }}` with `ctx`, so ref/source/config take the same arguments and give the same
//! errors as in SQL models, at the call's line and column. Returns, for ref and source, the
//! input key ("ref:m", "source:s.t") and relation; for read_this, ("this", "").
Result<std::vector<std::pair<std::string, std::string>>> EvaluatePythonCalls(
    const ModelDef& m, const RenderContext& ctx, const std::set<std::string>& functions) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const PythonCall& call : ScanPythonCalls(m.sql)) {
    if (!functions.count(call.function)) continue;
    const std::string where =
        m.path + ":" + std::to_string(call.line) + ":" + std::to_string(call.column) + ": ";
    if (call.function == "read_this") {
      out.emplace_back("this", "");
      continue;
    }
    // Python allows a trailing comma; Jinja does not.
    std::string args = call.args;
    while (!args.empty() && std::isspace(static_cast<unsigned char>(args.back()))) args.pop_back();
    if (!args.empty() && args.back() == ',') args.pop_back();
    auto render = [&](const std::string& text) -> Result<std::string> {
      auto t = Template::Parse(text, "");
      Result<std::string> r = t.ok() ? t->Render(ctx) : Result<std::string>(t.status());
      if (r.ok()) return r;
      // Drop the snippet's own ":line:col: " and put the call's position in front.
      std::string msg = r.status().message();
      size_t cut = 0;
      for (int colons = 0; cut < msg.size() && colons < 3; ++cut) {
        if (msg[cut] == ':') ++colons;
      }
      if (!msg.empty() && msg[0] == ':' && cut < msg.size()) msg = msg.substr(cut + 1);
      return Status::InvalidArgument(where + "dew." + call.function + "(): " + msg);
    };
    DEW_ASSIGN_OR_RETURN(std::string value, render("{{ " + call.function + "(" + args + ") }}"));
    if (call.function == "config") continue;
    DEW_ASSIGN_OR_RETURN(std::string list, render("{{ [" + args + "] | tojson }}"));
    nlohmann::json names = nlohmann::json::parse(list, nullptr, false);
    std::string key;
    if (call.function == "ref" && names.is_array() && !names.empty())
      key = "ref:" + names.back().get<std::string>();
    if (call.function == "source" && names.is_array() && names.size() == 2)
      key = "source:" + names[0].get<std::string>() + "." + names[1].get<std::string>();
    out.emplace_back(key, value);
  }
  return out;
}

}  // namespace

const CompiledModel* CompiledProject::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &models_[it->second];
}

std::vector<std::string> CompiledProject::Parents(const std::string& name) const {
  const CompiledModel* m = Find(name);
  return m ? m->model_refs : std::vector<std::string>{};
}

std::vector<std::string> CompiledProject::Children(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& m : models_) {
    if (std::find(m.model_refs.begin(), m.model_refs.end(), name) != m.model_refs.end())
      out.push_back(m.name);
  }
  return out;
}

namespace {

bool Glob(const std::string& pattern, const std::string& text) {
  // '*' matches any run of characters; everything else literally.
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

Result<std::set<std::string>> CompiledProject::Match(const std::string& selector) const {
  std::string atom = selector;
  bool at = false;
  int up = 0, down = 0;  // -1: unlimited
  if (!atom.empty() && atom[0] == '@') {
    at = true;
    atom = atom.substr(1);
  }
  size_t plus = atom.find('+');
  if (plus != std::string::npos && plus < atom.size() && !at) {
    // Leading "N+" or "+".
    size_t digits = 0;
    while (digits < atom.size() && std::isdigit(static_cast<unsigned char>(atom[digits]))) ++digits;
    if (digits < atom.size() && atom[digits] == '+') {
      up = digits == 0 ? -1 : std::stoi(atom.substr(0, digits));
      atom = atom.substr(digits + 1);
    }
  }
  size_t trailing = atom.rfind('+');
  if (trailing != std::string::npos) {
    std::string depth = atom.substr(trailing + 1);
    bool numeric = std::all_of(depth.begin(), depth.end(),
                               [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (numeric) {
      down = depth.empty() ? -1 : std::stoi(depth);
      atom = atom.substr(0, trailing);
    }
  }
  if (atom.empty())
    return Status::InvalidArgument("selector '" + selector + "': nothing to select");
  std::set<std::string> base;
  size_t colon = atom.find(':');
  const std::string method = colon == std::string::npos ? "" : atom.substr(0, colon);
  const std::string value = colon == std::string::npos ? atom : atom.substr(colon + 1);
  for (const auto& m : models_) {
    bool hit = false;
    if (method.empty()) {
      hit = Glob(value, m.name);
    } else if (method == "tag") {
      hit = std::any_of(m.config.tags.begin(), m.config.tags.end(),
                        [&](const std::string& t) { return Glob(value, t); });
    } else if (method == "path") {
      std::string prefix = value;
      while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
      hit = m.def->path == prefix || m.def->path.rfind(prefix + "/", 0) == 0 ||
            Glob(prefix, m.def->path);
    } else if (method == "config.materialized") {
      hit = m.config.materialized == value;
    } else if (method == "config.layer" || method == "layer") {
      hit = m.config.layer == value;
    } else if (method == "source") {
      hit = std::any_of(m.source_refs.begin(), m.source_refs.end(), [&](const std::string& s) {
        return Glob(value, s) || Glob(value, s.substr(0, s.find('.')));
      });
    } else {
      return Status::InvalidArgument("selector '" + selector + "': unknown method '" + method +
                                     "' (tag, path, config.materialized, layer, source)");
    }
    if (hit) base.insert(m.name);
  }
  if (base.empty()) return Status::InvalidArgument("selector '" + selector + "' matches no model");
  std::set<std::string> out = base;
  // Breadth-first, so a depth limit counts the shortest distance, as dbt does.
  auto walk = [&](const std::string& start, bool ancestors, int limit) {
    std::set<std::string> seen{start};
    std::vector<std::string> frontier{start};
    for (int depth = 0; !frontier.empty() && (limit < 0 || depth < limit); ++depth) {
      std::vector<std::string> next_frontier;
      for (const auto& name : frontier) {
        for (const auto& next : ancestors ? Parents(name) : Children(name)) {
          if (!seen.insert(next).second) continue;
          out.insert(next);
          next_frontier.push_back(next);
        }
      }
      frontier = std::move(next_frontier);
    }
  };
  for (const auto& name : base) {
    if (up != 0) walk(name, true, up);
    if (down != 0 || at) walk(name, false, at ? -1 : down);
  }
  if (at) {
    std::set<std::string> with_parents = out;
    for (const auto& name : with_parents) walk(name, true, -1);
  }
  return out;
}

Result<std::vector<std::string>> CompiledProject::Select(const std::string& select,
                                                         const std::string& exclude) const {
  auto evaluate = [&](const std::string& text) -> Result<std::set<std::string>> {
    std::set<std::string> result;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t space = text.find(' ', pos);
      std::string term =
          text.substr(pos, space == std::string::npos ? std::string::npos : space - pos);
      pos = space == std::string::npos ? text.size() : space + 1;
      if (term.empty()) continue;
      // Intersection of comma-separated atoms.
      std::set<std::string> inter;
      bool first = true;
      size_t p = 0;
      while (p <= term.size()) {
        size_t comma = term.find(',', p);
        std::string atom =
            term.substr(p, comma == std::string::npos ? std::string::npos : comma - p);
        p = comma == std::string::npos ? term.size() + 1 : comma + 1;
        DEW_ASSIGN_OR_RETURN(std::set<std::string> m, Match(atom));
        if (first) {
          inter = m;
          first = false;
        } else {
          std::set<std::string> both;
          std::set_intersection(inter.begin(), inter.end(), m.begin(), m.end(),
                                std::inserter(both, both.begin()));
          inter = both;
        }
      }
      result.insert(inter.begin(), inter.end());
    }
    return result;
  };
  std::set<std::string> chosen;
  if (select.find_first_not_of(' ') == std::string::npos) {
    for (const auto& m : models_) chosen.insert(m.name);
  } else {
    DEW_ASSIGN_OR_RETURN(chosen, evaluate(select));
  }
  if (exclude.find_first_not_of(' ') != std::string::npos) {
    DEW_ASSIGN_OR_RETURN(std::set<std::string> removed, evaluate(exclude));
    for (const auto& r : removed) chosen.erase(r);
  }
  std::vector<std::string> ordered;
  for (const auto& m : models_) {
    if (chosen.count(m.name)) ordered.push_back(m.name);
  }
  return ordered;
}

Result<CompiledProject> CompileProject(const ModelProject& project, const CompileOptions& options) {
  nlohmann::json vars = project.vars().is_object() ? project.vars() : nlohmann::json::object();
  for (auto& [k, v] : options.vars.items()) vars[k] = v;
  for (const auto& [name, macro] : project.macros()) {
    // A built-in of the same name would win silently; say so instead.
    for (const char* builtin : {"ref", "source", "var", "config", "is_incremental", "return"}) {
      if (name == builtin)
        return Status::InvalidArgument(macro.file() + ": macro '" + name +
                                       "' would hide dew's built-in " + name +
                                       "(); give it another name");
    }
  }

  std::vector<Template> templates;
  templates.reserve(project.models().size());
  for (const auto& m : project.models()) {
    // A Python model has no template: its dew.*() calls are evaluated one by one.
    DEW_ASSIGN_OR_RETURN(Template t, Template::Parse(m.language == "python" ? "" : m.sql, m.path));
    templates.push_back(std::move(t));
  }

  // Pass 1: each model's own config (its layer decides the relation others ref).
  std::map<std::string, ModelConfig> configs;
  for (size_t i = 0; i < project.models().size(); ++i) {
    const ModelDef& m = project.models()[i];
    Collected c;
    c.config = m.config;
    RenderContext ctx = MakeContext(
        project, vars, [](const std::string& n) { return "silver." + n; }, &c);
    ctx.functions["is_incremental"] = [](const CallArgs&) -> Result<Value> { return Value(false); };
    ctx.variables["this"] = Relation(c.config.layer, m.name);
    if (m.language == "python") {
      DEW_RETURN_IF_ERROR(EvaluatePythonCalls(m, ctx, {"config"}).status());
      // A Python model makes data, not a view: dbt builds them as tables too.
      if (c.config.materialized == "view") c.config.materialized = "table";
    } else {
      DEW_RETURN_IF_ERROR(templates[i].Render(ctx).status());
    }
    configs[m.name] = c.config;
  }
  auto relation_of = [&configs](const std::string& name) {
    return Relation(configs[name].layer, name);
  };

  // Pass 2: the real render.
  std::vector<CompiledModel> compiled;
  for (size_t i = 0; i < project.models().size(); ++i) {
    const ModelDef& m = project.models()[i];
    if (!configs[m.name].enabled) continue;
    Collected c;
    c.config = m.config;
    const std::string relation = relation_of(m.name);
    RenderContext ctx = MakeContext(project, vars, relation_of, &c);
    // The lake is asked whether the relation exists only for an incremental model, when it
    // asks: a check of the file system for every model of a large project adds up.
    std::optional<bool> known_to_exist;
    auto exists = [&]() {
      if (!known_to_exist.has_value())
        known_to_exist = options.relation_exists && options.relation_exists(relation);
      return *known_to_exist;
    };
    ctx.functions["is_incremental"] = [&c, &exists, &options](const CallArgs&) -> Result<Value> {
      return Value(c.config.materialized == "incremental" && !options.full_refresh && exists());
    };
    ctx.variables["this"] = relation;
    std::string sql;
    std::map<std::string, std::string> python_inputs;
    if (m.language == "python") {
      c.config = configs[m.name];
      DEW_ASSIGN_OR_RETURN(auto calls, EvaluatePythonCalls(m, ctx, {"ref", "source", "read_this"}));
      for (const auto& [key, relation] : calls) python_inputs[key] = relation;
      if (python_inputs.count("this")) {
        if (c.config.materialized == "incremental" && !options.full_refresh && exists())
          python_inputs["this"] = relation;
        else
          python_inputs.erase("this");
      }
      sql = m.sql;
    } else {
      DEW_ASSIGN_OR_RETURN(sql, templates[i].Render(ctx));
    }
    for (const auto& ref : c.model_refs) {
      if (!configs[ref].enabled)
        return Status::InvalidArgument(m.path + ": ref('" + ref + "') names a disabled model");
    }
    CompiledModel cm;
    cm.name = m.name;
    cm.def = &m;
    cm.config = c.config;
    cm.relation = relation;
    cm.sql = std::move(sql);
    cm.model_refs = c.model_refs;
    cm.seed_refs = c.seed_refs;
    cm.source_refs = c.source_refs;
    cm.is_incremental = c.config.materialized == "incremental" && !options.full_refresh && exists();
    cm.python_inputs = std::move(python_inputs);
    compiled.push_back(std::move(cm));
  }

  // Order: depth-first, reporting a cycle with its path.
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < compiled.size(); ++i) by_name[compiled[i].name] = i;
  std::map<std::string, int> state;  // 0 new, 1 on the path, 2 done
  std::vector<std::string> path;
  CompiledProject out;
  out.vars_ = vars;
  std::function<Status(const std::string&)> visit = [&](const std::string& name) -> Status {
    if (state[name] == 2) return Status::OK();
    if (state[name] == 1) {
      auto start = std::find(path.begin(), path.end(), name);
      std::string cycle;
      for (auto it = start; it != path.end(); ++it) cycle += *it + " -> ";
      return Status::InvalidArgument(compiled[by_name[name]].def->path + ": cycle: " + cycle +
                                     name);
    }
    state[name] = 1;
    path.push_back(name);
    for (const auto& ref : compiled[by_name[name]].model_refs) DEW_RETURN_IF_ERROR(visit(ref));
    path.pop_back();
    state[name] = 2;
    out.index_[name] = out.models_.size();
    out.models_.push_back(compiled[by_name[name]]);
    return Status::OK();
  };
  for (const auto& m : compiled) DEW_RETURN_IF_ERROR(visit(m.name));
  return out;
}

namespace {

//! The context of Jinja SQL rendered after the models compiled: refs resolve to their relations.
RenderContext ContextAfterCompile(const RenderEnvironment& env) {
  auto relation_of = [&env](const std::string& model) {
    if (env.compiled) {
      if (const CompiledModel* m = env.compiled->Find(model)) return m->relation;
    }
    const ModelDef* def = env.project->FindModel(model);
    return Relation(def ? def->config.layer : "silver", model);
  };
  return MakeContext(*env.project, env.vars, relation_of, nullptr);
}

}  // namespace

Result<std::string> RenderSql(const std::string& sql, const std::string& name,
                              const RenderEnvironment& env) {
  DEW_ASSIGN_OR_RETURN(Template t, Template::Parse(sql, name));
  return t.Render(ContextAfterCompile(env));
}

Result<std::string> RenderGenericTest(const std::string& name, const std::string& model,
                                      const std::string& column, const nlohmann::json& args,
                                      const RenderEnvironment& env) {
  const std::string macro = "test_" + name;
  if (!env.project->macros().count(macro))
    return Status::NotFound("no test '" + name + "' ({% test " + name + "(…) %} in macros/)");
  // The arguments go in as variables, so any JSON value passes through unchanged.
  std::string call = "{{ " + macro + "(model=__dew_model";
  if (!column.empty()) call += ", column_name=__dew_column";
  if (args.is_object()) {
    for (const auto& [key, value] : args.items()) {
      const bool identifier = !key.empty() && !std::isdigit(static_cast<unsigned char>(key[0])) &&
                              std::all_of(key.begin(), key.end(), [](char c) {
                                return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                              });
      if (!identifier)
        return Status::InvalidArgument("argument '" + key + "' is not a valid parameter name");
      call += ", " + key + "=__dew_args['" + key + "']";
    }
  }
  call += ") }}";
  static const std::string kCall = "call";
  DEW_ASSIGN_OR_RETURN(Template t, Template::Parse(call, kCall));
  RenderContext ctx = ContextAfterCompile(env);
  ctx.variables["__dew_model"] = model;
  ctx.variables["__dew_column"] = column;
  ctx.variables["__dew_args"] = args;
  Result<std::string> sql = t.Render(ctx);
  if (sql.ok()) return sql;
  // Drop the position in the call written above ("call:1:4: "): the user never wrote it.
  std::string message = sql.status().message();
  if (message.rfind(kCall + ":1:", 0) == 0) {
    const size_t cut = message.find(": ");
    if (cut != std::string::npos) message = message.substr(cut + 2);
  }
  return Status::InvalidArgument(message);
}

}  // namespace dew::transform
