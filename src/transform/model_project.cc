#include "transform/model_project.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "core/near_match.h"

namespace dew::transform {
namespace {

const std::vector<std::string> kConfigKeys = {
    "materialized",         "layer",      "unique_key", "partition_by", "tags",
    "incremental_strategy", "updated_at", "contract",   "enabled",      "schema"};
const std::vector<std::string> kMaterializations = {"view", "table", "incremental", "scd2"};
const std::vector<std::string> kModelLayers = {"silver", "gold", "platinum"};
const std::vector<std::string> kGenericTests = {"not_null",      "unique",    "accepted_values",
                                                "relationships", "range",     "regex",
                                                "freshness",     "row_count", "expression"};

std::string Suggest(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best = ClosestMatch(word, candidates);
  if (best) return " (did you mean '" + *best + "'?)";
  std::string all;
  for (size_t i = 0; i < candidates.size(); ++i) all += (i ? ", " : "") + candidates[i];
  return " (expected one of: " + all + ")";
}

//! YAML → JSON, typing plain scalars as YAML 1.2's core schema does.
nlohmann::json ToJson(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = n.begin(); it != n.end(); ++it) out[it->first.Scalar()] = ToJson(it->second);
    return out;
  }
  if (n.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : n) out.push_back(ToJson(item));
    return out;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string s = n.Scalar();
  if (n.Tag() == "?") {
    if (s == "true" || s == "True") return true;
    if (s == "false" || s == "False") return false;
    if (s == "null" || s == "~" || s.empty()) return nullptr;
    char* end = nullptr;
    long long i = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end == s.c_str() + s.size()) return static_cast<int64_t>(i);
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size()) return d;
  }
  return s;
}

std::vector<std::string> StringList(const nlohmann::json& v) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    for (const auto& item : v) {
      if (item.is_string()) out.push_back(item.get<std::string>());
    }
  }
  return out;
}

class PropertiesReader {
 public:
  PropertiesReader(std::string file, ModelProject* project)
      : file_(std::move(file)), project_(project) {}

  Status Error(const YAML::Mark& mark, const std::string& field, const std::string& problem) {
    return Status::InvalidArgument(Where(mark) + ": " + field + ": " + problem);
  }
  std::string Where(const YAML::Mark& mark) const {
    return file_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }
  Status CheckKeys(const YAML::Node& map, const std::string& field,
                   const std::vector<std::string>& allowed) {
    if (!map.IsMap()) return Error(map.Mark(), field, "expected a mapping");
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string k = it->first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        return Error(it->first.Mark(), field.empty() ? k : field + "." + k,
                     "unknown key '" + k + "'" + Suggest(k, allowed));
    }
    return Status::OK();
  }

  //! A `tests:` (or dbt 1.8's `data_tests:`) list: each item a test name, or a one-key mapping
  //! {name: {args…, severity, action, where, config: {…}}}.
  Status ReadTests(const YAML::Node& list, const std::string& field, const std::string& column,
                   std::vector<TestSpec>* out) {
    if (!list.IsSequence()) return Error(list.Mark(), field, "expected a list of tests");
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node item = list[i];
      const std::string f = field + "[" + std::to_string(i) + "]";
      TestSpec t;
      t.column = column;
      t.position = Where(item.Mark());
      if (item.IsScalar()) {
        t.name = item.Scalar();
      } else if (item.IsMap() && item.size() == 1) {
        t.name = item.begin()->first.Scalar();
        const YAML::Node body = item.begin()->second;
        if (body && !body.IsNull()) {
          if (!body.IsMap())
            return Error(body.Mark(), f + "." + t.name, "expected a mapping of arguments");
          nlohmann::json args = ToJson(body);
          if (args.contains("config") && args["config"].is_object()) {
            for (auto& [k, v] : args["config"].items()) args[k] = v;
            args.erase("config");
          }
          for (const char* key : {"severity", "action", "where"}) {
            if (!args.contains(key)) continue;
            if (!args[key].is_string())
              return Error(body.Mark(), f + "." + t.name + "." + key, "expected a string");
            std::string v = args[key].get<std::string>();
            if (std::string(key) == "severity") {
              std::transform(v.begin(), v.end(), v.begin(), ::tolower);
              if (v != "error" && v != "warn")
                return Error(body.Mark(), f + "." + t.name + ".severity",
                             "'" + v + "' is not a severity (error or warn)");
              t.severity = v;
            } else if (std::string(key) == "action") {
              if (v != "quarantine" && v != "fail")
                return Error(body.Mark(), f + "." + t.name + ".action",
                             "'" + v + "' is not an action (fail or quarantine)");
              t.action = v == "fail" ? "" : v;
            } else {
              t.where = v;
            }
            args.erase(key);
          }
          if (args.contains("column_name") && args["column_name"].is_string()) {
            t.column = args["column_name"].get<std::string>();
            args.erase("column_name");
          }
          t.args = args;
        }
      } else {
        return Error(item.Mark(), f, "expected a test name or a mapping {test_name: {…}}");
      }
      if (std::find(kGenericTests.begin(), kGenericTests.end(), t.name) == kGenericTests.end() &&
          !project_->macros().count("test_" + t.name)) {
        std::vector<std::string> known = kGenericTests;
        for (const auto& [name, macro] : project_->macros()) {
          if (name.rfind("test_", 0) == 0) known.push_back(name.substr(5));
        }
        return Error(item.Mark(), f,
                     "unknown test '" + t.name + "'" + Suggest(t.name, known) +
                         " (a test of your own is a {% test " + t.name +
                         "(model, column_name) %} block in macros/)");
      }
      out->push_back(std::move(t));
    }
    return Status::OK();
  }

  Status ReadColumns(const YAML::Node& list, const std::string& field,
                     std::vector<ColumnProperty>* columns, std::vector<TestSpec>* tests) {
    if (!list.IsSequence()) return Error(list.Mark(), field, "expected a list of columns");
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node c = list[i];
      const std::string f = field + "[" + std::to_string(i) + "]";
      DEW_RETURN_IF_ERROR(CheckKeys(c, f,
                                    {"name", "description", "data_type", "tests", "data_tests",
                                     "meta", "tags", "constraints"}));
      if (!c["name"]) return Error(c.Mark(), f + ".name", "missing required field");
      ColumnProperty col;
      col.name = c["name"].Scalar();
      if (c["description"]) col.description = c["description"].Scalar();
      if (c["data_type"]) col.data_type = c["data_type"].Scalar();
      for (const char* key : {"tests", "data_tests"}) {
        if (c[key]) DEW_RETURN_IF_ERROR(ReadTests(c[key], f + "." + key, col.name, tests));
      }
      if (columns) columns->push_back(std::move(col));
    }
    return Status::OK();
  }

  Status ReadConfig(const YAML::Node& n, const std::string& field, ModelConfig* config) {
    if (!n.IsMap()) return Error(n.Mark(), field, "expected a mapping");
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = it->first.Scalar();
      if (!key.empty() && key[0] == '+') key = key.substr(1);
      Status s = ApplyConfigValue(key, ToJson(it->second), config);
      if (!s.ok()) return Error(it->first.Mark(), field + "." + key, s.message());
    }
    return Status::OK();
  }

  Status Read(const std::string& text, ModelProject* project,
              std::vector<std::pair<std::string, YAML::Node>>* model_entries,
              std::vector<SourceTable>* sources,
              std::vector<std::pair<std::string, YAML::Node>>* seed_entries) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return Error(e.mark, "yaml", "syntax error: " + e.msg);
    }
    if (root.IsNull()) return Status::OK();
    DEW_RETURN_IF_ERROR(CheckKeys(root, "", {"version", "sources", "models", "seeds"}));
    if (root["models"]) {
      const YAML::Node models = root["models"];
      if (!models.IsSequence()) return Error(models.Mark(), "models", "expected a list");
      for (size_t i = 0; i < models.size(); ++i) {
        const std::string f = "models[" + std::to_string(i) + "]";
        DEW_RETURN_IF_ERROR(CheckKeys(
            models[i], f,
            {"name", "description", "config", "columns", "tests", "data_tests", "meta", "docs"}));
        if (!models[i]["name"])
          return Error(models[i].Mark(), f + ".name", "missing required field");
        model_entries->emplace_back(file_, models[i]);
      }
    }
    if (root["seeds"]) {
      const YAML::Node seeds = root["seeds"];
      if (!seeds.IsSequence()) return Error(seeds.Mark(), "seeds", "expected a list");
      for (size_t i = 0; i < seeds.size(); ++i) {
        const std::string f = "seeds[" + std::to_string(i) + "]";
        DEW_RETURN_IF_ERROR(CheckKeys(seeds[i], f, {"name", "description", "config", "columns"}));
        if (!seeds[i]["name"]) return Error(seeds[i].Mark(), f + ".name", "missing required field");
        seed_entries->emplace_back(file_, seeds[i]);
      }
    }
    if (root["sources"]) {
      const YAML::Node list = root["sources"];
      if (!list.IsSequence()) return Error(list.Mark(), "sources", "expected a list");
      for (size_t i = 0; i < list.size(); ++i) {
        const YAML::Node s = list[i];
        const std::string f = "sources[" + std::to_string(i) + "]";
        DEW_RETURN_IF_ERROR(CheckKeys(s, f,
                                      {"name", "description", "schema", "layer", "tables",
                                       "loaded_at_field", "freshness", "meta"}));
        if (!s["name"]) return Error(s.Mark(), f + ".name", "missing required field");
        const std::string source = s["name"].Scalar();
        std::string layer = s["layer"]    ? s["layer"].Scalar()
                            : s["schema"] ? s["schema"].Scalar()
                                          : "bronze";
        if (!s["tables"] || !s["tables"].IsSequence())
          return Error(s.Mark(), f + ".tables", "missing required list of tables");
        for (size_t k = 0; k < s["tables"].size(); ++k) {
          const YAML::Node t = s["tables"][k];
          const std::string tf = f + ".tables[" + std::to_string(k) + "]";
          DEW_RETURN_IF_ERROR(CheckKeys(t, tf,
                                        {"name", "description", "identifier", "columns", "tests",
                                         "data_tests", "loaded_at_field", "freshness", "meta"}));
          if (!t["name"]) return Error(t.Mark(), tf + ".name", "missing required field");
          SourceTable st;
          st.source = source;
          st.name = t["name"].Scalar();
          st.position = Where(t.Mark());
          // Bronze tables follow raw_<source>_<stream>; other layers use the name as is.
          std::string identifier = t["identifier"]     ? t["identifier"].Scalar()
                                   : layer == "bronze" ? "raw_" + source + "_" + st.name
                                                       : st.name;
          st.relation = layer + "." + identifier;
          if (s["loaded_at_field"]) st.loaded_at_field = s["loaded_at_field"].Scalar();
          if (t["loaded_at_field"]) st.loaded_at_field = t["loaded_at_field"].Scalar();
          if (s["freshness"]) st.freshness = ToJson(s["freshness"]);
          if (t["freshness"]) st.freshness = ToJson(t["freshness"]);
          for (const char* key : {"tests", "data_tests"}) {
            if (t[key]) DEW_RETURN_IF_ERROR(ReadTests(t[key], tf + "." + key, "", &st.tests));
          }
          if (t["columns"])
            DEW_RETURN_IF_ERROR(ReadColumns(t["columns"], tf + ".columns", nullptr, &st.tests));
          if (!st.freshness.is_null()) {
            TestSpec fresh;
            fresh.name = "freshness";
            fresh.args = st.freshness;
            fresh.args["loaded_at_field"] =
                st.loaded_at_field.empty() ? "_emitted_at" : st.loaded_at_field;
            fresh.position = st.position;
            st.tests.push_back(fresh);
          }
          sources->push_back(std::move(st));
        }
      }
    }
    return Status::OK();
  }

 private:
  std::string file_;
  const ModelProject* project_;
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = base.rfind('.');
  return dot == std::string::npos ? base : base.substr(0, dot);
}

//! Lists files under root/dir (relative names "dir/…"), sorted, or none when dir is absent.
Result<std::vector<std::string>> ListUnder(FileSystem& fs, const std::string& root,
                                           const std::string& dir) {
  std::vector<std::string> out;
  const std::string full = root + "/" + dir;
  if (!fs.Exists(full)) return out;
  DEW_ASSIGN_OR_RETURN(std::vector<FileInfo> files, fs.ListRecursive(full));
  for (const FileInfo& f : files) {
    if (f.is_dir) continue;
    out.push_back(dir + "/" + f.name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

//! dew.yml's `python:` mapping: interpreter, cpu_seconds, memory_mb, open_files,
//! timeout_seconds (0 = no limit).
Status ReadPythonSettings(const YAML::Node& n, PythonSettings* out) {
  auto where = [](const YAML::Node& node) {
    return "dew.yml:" + std::to_string(node.Mark().line + 1) + ":" +
           std::to_string(node.Mark().column + 1) + ": python";
  };
  const std::vector<std::string> keys = {"interpreter", "cpu_seconds", "memory_mb", "open_files",
                                         "timeout_seconds"};
  if (!n.IsMap()) return Status::InvalidArgument(where(n) + ": expected a mapping");
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    const nlohmann::json v = ToJson(it->second);
    if (key == "interpreter") {
      if (!v.is_string() || v.get<std::string>().empty())
        return Status::InvalidArgument(where(it->first) + ".interpreter: expected a program");
      out->interpreter = v.get<std::string>();
      continue;
    }
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      return Status::InvalidArgument(where(it->first) + ": unknown key '" + key + "'" +
                                     Suggest(key, keys));
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      return Status::InvalidArgument(where(it->first) + "." + key +
                                     ": expected a whole number >= 0");
    const int64_t x = v.get<int64_t>();
    if (key == "cpu_seconds") out->limits.cpu_seconds = x;
    if (key == "memory_mb") out->limits.memory_bytes = x * 1024 * 1024;
    if (key == "open_files") out->limits.open_files = x;
    if (key == "timeout_seconds") out->timeout_ms = x * 1000;
  }
  return Status::OK();
}

}  // namespace

Status ApplyConfigValue(const std::string& key, const nlohmann::json& value, ModelConfig* c) {
  auto one_of = [&](const std::vector<std::string>& allowed, std::string* target) -> Status {
    if (!value.is_string()) return Status::InvalidArgument("expected a string");
    const std::string v = value.get<std::string>();
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
      return Status::InvalidArgument("'" + v + "' is not valid" + Suggest(v, allowed));
    *target = v;
    return Status::OK();
  };
  if (key == "materialized") return one_of(kMaterializations, &c->materialized);
  if (key == "layer" || key == "schema") return one_of(kModelLayers, &c->layer);
  if (key == "incremental_strategy") return one_of({"merge", "append"}, &c->incremental_strategy);
  if (key == "unique_key" || key == "partition_by" || key == "tags") {
    if (!value.is_string() && !value.is_array())
      return Status::InvalidArgument("expected a name or a list of names");
    std::vector<std::string> names = StringList(value);
    if (key == "unique_key") c->unique_key = names;
    if (key == "partition_by") c->partition_by = names;
    if (key == "tags") {
      for (const auto& t : names) {
        if (std::find(c->tags.begin(), c->tags.end(), t) == c->tags.end()) c->tags.push_back(t);
      }
    }
    return Status::OK();
  }
  if (key == "updated_at") {
    if (!value.is_string()) return Status::InvalidArgument("expected a column name");
    c->updated_at = value.get<std::string>();
    return Status::OK();
  }
  if (key == "contract") {
    if (value.is_object() && value.contains("enforced") && value["enforced"].is_boolean()) {
      c->contract_enforced = value["enforced"].get<bool>();
      return Status::OK();
    }
    if (value.is_string() && (value == "enforced" || value == "none")) {
      c->contract_enforced = value == "enforced";
      return Status::OK();
    }
    return Status::InvalidArgument("expected {enforced: true|false} or 'enforced'");
  }
  if (key == "enabled") {
    if (!value.is_boolean()) return Status::InvalidArgument("expected true or false");
    c->enabled = value.get<bool>();
    return Status::OK();
  }
  return Status::InvalidArgument("unknown config '" + key + "'" + Suggest(key, kConfigKeys));
}

const ModelDef* ModelProject::FindModel(const std::string& name) const {
  for (const auto& m : models_) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const SeedDef* ModelProject::FindSeed(const std::string& name) const {
  for (const auto& s : seeds_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const SourceTable* ModelProject::FindSource(const std::string& source,
                                            const std::string& table) const {
  for (const auto& s : sources_) {
    if (s.source == source && s.name == table) return &s;
  }
  return nullptr;
}

Result<ModelProject> ModelProject::Load(FileSystem& fs, const std::string& root) {
  ModelProject p;
  p.root_ = root;

  // dew.yml: `models:` folder defaults (dbt_project.yml style, nested by folder, keys with or
  // without '+') and `vars:`.
  std::map<std::string, ModelConfig> folder_defaults;  // "models/staging" → config
  const std::string dew_yml = root + "/dew.yml";
  YAML::Node models_node;  // a default Node is a defined null, so presence is kept apart
  bool has_defaults = false;
  if (fs.Exists(dew_yml)) {
    DEW_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(dew_yml));
    YAML::Node cfg;
    try {
      cfg = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(dew_yml + ":" + std::to_string(e.mark.line + 1) + ": " +
                                     e.msg);
    }
    if (cfg.IsMap() && cfg["vars"]) p.vars_ = ToJson(cfg["vars"]);
    if (cfg.IsMap() && cfg["python"])
      DEW_RETURN_IF_ERROR(ReadPythonSettings(cfg["python"], &p.python_));
    if (cfg.IsMap() && cfg["models"]) {
      models_node = cfg["models"];
      has_defaults = true;
    }
  }
  // Walk the folder tree of defaults: a key that is a config name applies to the folder; any
  // other key is a sub-folder.
  std::function<Status(const YAML::Node&, const std::string&, ModelConfig)> walk =
      [&](const YAML::Node& n, const std::string& folder, ModelConfig inherited) -> Status {
    if (!n.IsMap())
      return Status::InvalidArgument("dew.yml:" + std::to_string(n.Mark().line + 1) + ":" +
                                     std::to_string(n.Mark().column + 1) + ": models: " + folder +
                                     ": expected a mapping of folders and config keys");
    ModelConfig here = inherited;
    std::vector<std::pair<std::string, YAML::Node>> subfolders;
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = it->first.Scalar();
      bool plus = !key.empty() && key[0] == '+';
      std::string bare = plus ? key.substr(1) : key;
      bool is_config =
          plus ||
          (std::find(kConfigKeys.begin(), kConfigKeys.end(), bare) != kConfigKeys.end() &&
           !it->second.IsMap()) ||
          bare == "contract";
      if (is_config) {
        Status s = ApplyConfigValue(bare, ToJson(it->second), &here);
        if (!s.ok())
          return Status::InvalidArgument("dew.yml:" + std::to_string(it->first.Mark().line + 1) +
                                         ":" + std::to_string(it->first.Mark().column + 1) +
                                         ": models." + folder + "." + bare + ": " + s.message());
      } else {
        subfolders.emplace_back(key, it->second);
      }
    }
    folder_defaults["models" + (folder.empty() ? "" : "/" + folder)] = here;
    for (auto& [name, node] : subfolders) {
      DEW_RETURN_IF_ERROR(walk(node, folder.empty() ? name : folder + "/" + name, here));
    }
    return Status::OK();
  };
  if (has_defaults && !models_node.IsNull()) {
    DEW_RETURN_IF_ERROR(walk(models_node, "", ModelConfig{}));
  }

  auto defaults_for = [&](const std::string& path) {
    // The deepest folder with defaults that contains the file.
    ModelConfig best;
    size_t best_len = 0;
    for (const auto& [folder, cfg] : folder_defaults) {
      if (path.rfind(folder + "/", 0) == 0 && folder.size() + 1 > best_len) {
        best = cfg;
        best_len = folder.size() + 1;
      }
    }
    return best;
  };

  // Macros first: properties files may name generic tests defined as macros.
  DEW_ASSIGN_OR_RETURN(std::vector<std::string> macro_files, ListUnder(fs, root, "macros"));
  for (const std::string& rel : macro_files) {
    if (!EndsWith(rel, ".sql")) continue;
    DEW_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(root + "/" + rel));
    DEW_ASSIGN_OR_RETURN(Template t, Template::Parse(text, rel));
    for (Macro& m : t.Macros()) {
      auto [it, added] = p.macros_.emplace(m.name(), m);
      if (!added)
        return Status::InvalidArgument(rel + ": macro '" + m.name() + "' is also defined in " +
                                       it->second.file() + " (macro names must be unique)");
    }
  }

  DEW_ASSIGN_OR_RETURN(std::vector<std::string> model_files, ListUnder(fs, root, "models"));
  std::vector<std::pair<std::string, YAML::Node>> model_entries, seed_entries;
  for (const std::string& rel : model_files) {
    const std::string full = root + "/" + rel;
    const bool python = EndsWith(rel, ".py");
    if (EndsWith(rel, ".sql") || python) {
      ModelDef m;
      m.name = BaseName(rel);
      m.path = rel;
      m.language = python ? "python" : "sql";
      DEW_ASSIGN_OR_RETURN(m.sql, fs.ReadFile(full));
      m.config = defaults_for(rel);
      if (const ModelDef* other = p.FindModel(m.name)) {
        return Status::InvalidArgument(rel + ": model name '" + m.name + "' is also used by " +
                                       other->path + " (model names must be unique)");
      }
      p.models_.push_back(std::move(m));
    } else if (EndsWith(rel, ".yml") || EndsWith(rel, ".yaml")) {
      DEW_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(full));
      PropertiesReader reader(rel, &p);
      DEW_RETURN_IF_ERROR(reader.Read(text, &p, &model_entries, &p.sources_, &seed_entries));
    }
  }
  // Properties of models, applied after every model is known.
  for (const auto& [file, node] : model_entries) {
    PropertiesReader reader(file, &p);
    const std::string name = node["name"].Scalar();
    ModelDef* m = nullptr;
    for (auto& candidate : p.models_) {
      if (candidate.name == name) m = &candidate;
    }
    if (m == nullptr) {
      std::vector<std::string> names;
      for (const auto& x : p.models_) names.push_back(x.name);
      return reader.Error(node["name"].Mark(), "models.name",
                          "no model '" + name + "' (no models/**/" + name + ".sql)" +
                              (names.empty() ? "" : Suggest(name, names)));
    }
    m->properties_position = reader.Where(node.Mark());
    if (node["description"]) m->description = node["description"].Scalar();
    if (node["config"])
      DEW_RETURN_IF_ERROR(reader.ReadConfig(node["config"], name + ".config", &m->config));
    if (node["columns"])
      DEW_RETURN_IF_ERROR(
          reader.ReadColumns(node["columns"], name + ".columns", &m->columns, &m->tests));
    for (const char* key : {"tests", "data_tests"}) {
      if (node[key])
        DEW_RETURN_IF_ERROR(reader.ReadTests(node[key], name + "." + key, "", &m->tests));
    }
  }

  DEW_ASSIGN_OR_RETURN(std::vector<std::string> seed_files, ListUnder(fs, root, "seeds"));
  for (const std::string& rel : seed_files) {
    if (!EndsWith(rel, ".csv")) continue;
    SeedDef s;
    s.name = BaseName(rel);
    s.path = rel;
    if (p.FindSeed(s.name) != nullptr)
      return Status::InvalidArgument(rel + ": seed name '" + s.name + "' is used twice");
    p.seeds_.push_back(std::move(s));
  }
  for (const auto& [file, node] : seed_entries) {
    PropertiesReader reader(file, &p);
    const std::string name = node["name"].Scalar();
    SeedDef* s = nullptr;
    for (auto& candidate : p.seeds_) {
      if (candidate.name == name) s = &candidate;
    }
    if (s == nullptr)
      return reader.Error(node["name"].Mark(), "seeds.name",
                          "no seed '" + name + "' (no seeds/" + name + ".csv)");
    if (node["config"]) {
      const YAML::Node cfg = node["config"];
      if (cfg["column_types"] && cfg["column_types"].IsMap()) {
        for (auto it = cfg["column_types"].begin(); it != cfg["column_types"].end(); ++it)
          s->column_types[it->first.Scalar()] = it->second.Scalar();
      }
      if (cfg["layer"]) s->layer = cfg["layer"].Scalar();
    }
  }

  DEW_ASSIGN_OR_RETURN(std::vector<std::string> test_files, ListUnder(fs, root, "tests"));
  for (const std::string& rel : test_files) {
    if (!EndsWith(rel, ".sql")) continue;
    SingularTest t;
    t.name = BaseName(rel);
    t.path = rel;
    DEW_ASSIGN_OR_RETURN(t.sql, fs.ReadFile(root + "/" + rel));
    p.singular_tests_.push_back(std::move(t));
  }

  return p;
}

}  // namespace dew::transform
