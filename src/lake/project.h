// Project: a dew project folder (DESIGN decision 4) — `dew.yml`, `connections/`, `pipelines/`,
// `models/`, `notebooks/`, `seeds/`, state under `.dew/`, and the lake (Delta tables under
// `<lake>/<layer>/<name>/`, `lake/` unless dew.yml says otherwise).
#pragma once

#include <memory>
#include <string>

#include "core/file_system.h"
#include "core/status.h"

namespace dew::lake {

//! The settings dew.yml holds.
struct ProjectConfig {
  std::string name;
  std::string version = "0.1.0";
  std::string lake = "lake";  //!< the lake folder, relative to the project root or absolute
  //! The control plane: empty or "sqlite" (.dew/control.db), "sqlite:PATH", or a
  //! "postgres://user:${env:PW}@host:port/db" URL (several workers on several machines).
  std::string control;
};

//! Parses dew.yml text. InvalidArgument naming `source` (and the line, for YAML syntax errors)
//! when it is not a mapping or a key has the wrong kind of value.
Result<ProjectConfig> ParseProjectConfig(const std::string& yaml_text, const std::string& source);

//! The dew.yml text of `config`.
std::string ProjectConfigYaml(const ProjectConfig& config);

//! "/a/b/../c/." -> "/a/c"; `path` made absolute against `cwd` first when relative.
std::string AbsolutePath(const std::string& path, const std::string& cwd);

//! A value type; it does not keep the FileSystem it was read with.
class Project {
 public:
  static constexpr const char* kConfigFile = "dew.yml";

  //! Lays out a new project in `dir` (created when absent; may already hold other files): the
  //! folders above, an empty lake/, a .gitignore and dew.yml last. Named
  //! `name` (the folder's name when empty). AlreadyExists when `dir` holds a dew.yml already.
  static Result<Project> Init(FileSystem& fs, const std::string& dir, std::string name);

  //! The project whose root is exactly `dir` (absolute). NotFound saying how to create one when
  //! `dir` has no dew.yml.
  static Result<Project> Open(FileSystem& fs, const std::string& dir);

  //! The project containing `start_dir` (absolute): the nearest folder at or above it holding a
  //! dew.yml, as git finds its repository. NotFound saying how to create one when none does.
  static Result<Project> Discover(FileSystem& fs, const std::string& start_dir);

  const std::string& root() const { return root_; }
  const ProjectConfig& config() const { return config_; }
  //! Absolute folder holding the lake's layers.
  std::string lake_root() const;
  //! Absolute folder of dew's local state (`.dew/`).
  std::string state_dir() const { return JoinPath(root_, ".dew"); }

 private:
  Project(std::string root, ProjectConfig config)
      : root_(std::move(root)), config_(std::move(config)) {}

  std::string root_;
  ProjectConfig config_;
};

}  // namespace dew::lake
