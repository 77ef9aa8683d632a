#include "lake/project.h"

#include <yaml-cpp/yaml.h>

#include <vector>

namespace dew::lake {
namespace {

const char* const kFolders[] = {"connections", "pipelines", "models", "notebooks", "seeds", ".dew"};

std::string NotAProject(const std::string& where) {
  return "not inside a dew project: no dew.yml in " + where +
         "; create one with `dew init DIR` or name one with --project DIR";
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// Quotes a YAML scalar when plain style could change its meaning.
std::string YamlScalar(const std::string& s) {
  YAML::Emitter e;
  e << s;
  return e.c_str();
}

}  // namespace

Result<ProjectConfig> ParseProjectConfig(const std::string& yaml_text, const std::string& source) {
  ProjectConfig config;
  try {
    YAML::Node root = YAML::Load(yaml_text);
    if (root.IsNull()) return config;
    if (!root.IsMap()) {
      return Status::InvalidArgument(source + ": expected a mapping of settings (name: …)");
    }
    for (const char* key : {"name", "version", "lake", "control"}) {
      YAML::Node v = root[key];
      if (!v) continue;
      if (!v.IsScalar()) {
        return Status::InvalidArgument(source + ":" + std::to_string(v.Mark().line + 1) + ": '" +
                                       key + "' must be a string");
      }
      std::string s = v.as<std::string>();
      if (std::string(key) == "name") config.name = s;
      if (std::string(key) == "version") config.version = s;
      if (std::string(key) == "lake") config.lake = s;
      if (std::string(key) == "control") config.control = s;
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (config.lake.empty()) return Status::InvalidArgument(source + ": 'lake' must not be empty");
  return config;
}

std::string ProjectConfigYaml(const ProjectConfig& config) {
  std::string text =
      "# dew project settings\nname: " + YamlScalar(config.name) + "\n" +
      "version: " + YamlScalar(config.version) + "\n" +
      "# Folder of the Delta tables (<lake>/<layer>/<table>/), relative to this file.\n"
      "lake: " +
      YamlScalar(config.lake) + "\n" +
      "# Control plane (runs, schedules, sync state): sqlite (.dew/control.db) or\n"
      "# postgres://user:${env:DEW_PG_PASSWORD}@host:5432/db for several workers.\n";
  text += config.control.empty() ? "# control: sqlite\n"
                                 : "control: " + YamlScalar(config.control) + "\n";
  return text;
}

std::string AbsolutePath(const std::string& path, const std::string& cwd) {
  std::string full = !path.empty() && path[0] == '/' ? path : cwd + "/" + path;
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= full.size()) {
    size_t slash = full.find('/', i);
    if (slash == std::string::npos) slash = full.size();
    std::string part = full.substr(i, slash - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = slash + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

Result<Project> Project::Init(FileSystem& fs, const std::string& dir, std::string name) {
  const std::string config_path = JoinPath(dir, kConfigFile);
  if (fs.Exists(config_path)) {
    return Status::AlreadyExists("a dew project already exists in " + dir + " (" + config_path +
                                 ")");
  }
  if (name.empty()) name = BaseName(dir);
  DEW_RETURN_IF_ERROR(fs.CreateDirs(dir));
  for (const char* folder : kFolders) DEW_RETURN_IF_ERROR(fs.CreateDirs(JoinPath(dir, folder)));
  ProjectConfig config;
  config.name = name;
  DEW_RETURN_IF_ERROR(fs.CreateDirs(JoinPath(dir, config.lake)));
  const std::string gitignore = JoinPath(dir, ".gitignore");
  if (!fs.Exists(gitignore)) {
    DEW_RETURN_IF_ERROR(fs.WriteFile(gitignore,
                                     "# data and local state are rebuilt, not versioned\n"
                                     "/lake/\n/.dew/\n"));
  }
  // dew.yml last: a half-made project is not mistaken for a project.
  DEW_RETURN_IF_ERROR(fs.CreateExclusive(config_path, ProjectConfigYaml(config)));
  return Project(dir, std::move(config));
}

Result<Project> Project::Open(FileSystem& fs, const std::string& dir) {
  const std::string config_path = JoinPath(dir, kConfigFile);
  auto text = fs.ReadFile(config_path);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return Status::NotFound(NotAProject(dir));
    return text.status();
  }
  DEW_ASSIGN_OR_RETURN(ProjectConfig config, ParseProjectConfig(*text, config_path));
  if (config.name.empty()) config.name = BaseName(dir);
  return Project(dir, std::move(config));
}

Result<Project> Project::Discover(FileSystem& fs, const std::string& start_dir) {
  std::string dir = start_dir;
  while (true) {
    if (fs.Exists(JoinPath(dir, kConfigFile))) return Open(fs, dir);
    if (dir == "/" || dir.empty()) break;
    dir = Parent(dir);
  }
  return Status::NotFound(NotAProject(start_dir + " or any folder above it"));
}

std::string Project::lake_root() const {
  return AbsolutePath(config_.lake, root_);
}

}  // namespace dew::lake
