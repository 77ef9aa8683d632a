// ModelProject: the dbt-style parts of a project folder, read and validated: SQL models
// (`models/**/*.sql`), Python models (`models/**/*.py`, see python_model.h), properties files next
// to them (`models/**/*.yml`: `sources:`, `models:` with columns and tests, `seeds:`), seeds
// (`seeds/*.csv`), singular tests (`tests/*.sql`), Jinja macros (`macros/**/*.sql`, parsed
// here so a syntax error fails the load), per-folder model defaults and `vars:` from dew.yml.
// Rendering and ordering are the compiler's (model_compiler.h); this only reads files, so errors
// here name file:line:column.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/file_system.h"
#include "core/process_runner.h"
#include "core/status.h"
#include "transform/jinja.h"

namespace dew::transform {

//! A model's configuration: folder defaults from dew.yml, then its properties file, then its
//! own `{{ config(...) }}` call, each overriding the one before.
struct ModelConfig {
  std::string materialized = "view";  //!< view | table | incremental | scd2
  std::string layer = "silver";       //!< silver | gold | platinum
  std::vector<std::string> unique_key;
  std::vector<std::string> partition_by;
  std::vector<std::string> tags;
  std::string incremental_strategy = "merge";  //!< merge | append
  std::string updated_at;  //!< scd2: the column whose change opens a new version (optional)
  bool contract_enforced = false;
  bool enabled = true;
};

//! One data test on a model, a column of it, or a source table: a generic test by name
//! (`not_null`, `unique`, `accepted_values`, `relationships`, `range`, `regex`, `freshness`,
//! `row_count`, `expression`) with its arguments.
struct TestSpec {
  std::string name;
  std::string column;                              //!< empty for table-level tests
  nlohmann::json args = nlohmann::json::object();  //!< e.g. {"values": [...]} or {"to": ...}
  std::string severity = "error";                  //!< error | warn
  std::string action;                              //!< empty or "quarantine"
  std::string where;                               //!< a SQL filter on the tested rows
  std::string position;                            //!< "file:line:col" where it is declared
};

struct ColumnProperty {
  std::string name;
  std::string data_type;  //!< for contracts; empty when not declared
  std::string description;
};

struct ModelDef {
  std::string name;  //!< the file name without .sql / .py; unique in the project
  std::string path;  //!< relative to the project root, e.g. "models/staging/stg_orders.sql"
  std::string sql;   //!< the raw file text (Jinja SQL, or Python source)
  std::string language = "sql";  //!< "sql" or "python"
  ModelConfig config;
  std::string description;
  std::vector<ColumnProperty> columns;
  std::vector<TestSpec> tests;
  std::string properties_position;  //!< where its `models:` entry is, or empty
};

//! How Python models run, from dew.yml's `python:` (interpreter, cpu_seconds, memory_mb,
//! open_files, timeout_seconds): the executor's kind of limits, applied to each model's child.
struct PythonSettings {
  std::string interpreter = "python3";  //!< looked up in the child's PATH (/usr/bin first)
  ProcessLimits limits = {3600, 0, 1024, 1 << 20};  //!< cpu 1 h, memory unlimited, 1024 files
  int64_t timeout_ms = 3600 * 1000;
};

struct SourceTable {
  std::string source;    //!< `sources[].name`, e.g. "odoo"
  std::string name;      //!< `tables[].name`, e.g. "account_move_line"
  std::string relation;  //!< the lake table read, e.g. "bronze.raw_odoo_account_move_line"
  std::string loaded_at_field;
  nlohmann::json freshness;  //!< null or {warn_after:{count,period}, error_after:{…}}
  std::vector<TestSpec> tests;
  std::string position;
};

struct SeedDef {
  std::string name;  //!< the CSV file name without .csv
  std::string path;  //!< relative to the project root
  std::string layer = "silver";
  std::map<std::string, std::string> column_types;  //!< column → DuckDB type
};

struct SingularTest {
  std::string name;
  std::string path;
  std::string sql;  //!< Jinja SQL returning the failing rows
};

class ModelProject {
 public:
  //! Reads the project at `root` (absolute). Missing folders are fine (no models). Errors name
  //! the file and, for YAML, line and column: a duplicate model name (with both paths), an
  //! unknown key with a suggestion, a test without a name, a properties entry for a model that
  //! does not exist.
  static Result<ModelProject> Load(FileSystem& fs, const std::string& root);

  const std::string& root() const { return root_; }
  const std::vector<ModelDef>& models() const { return models_; }
  const std::vector<SourceTable>& sources() const { return sources_; }
  const std::vector<SeedDef>& seeds() const { return seeds_; }
  const std::vector<SingularTest>& singular_tests() const { return singular_tests_; }
  const nlohmann::json& vars() const { return vars_; }
  //! Every macro of `macros/**/*.sql` by name; a name defined twice fails the load.
  const std::map<std::string, Macro>& macros() const { return macros_; }
  const PythonSettings& python() const { return python_; }

  const ModelDef* FindModel(const std::string& name) const;
  const SeedDef* FindSeed(const std::string& name) const;
  const SourceTable* FindSource(const std::string& source, const std::string& table) const;

 private:
  std::string root_;
  std::vector<ModelDef> models_;
  std::vector<SourceTable> sources_;
  std::vector<SeedDef> seeds_;
  std::vector<SingularTest> singular_tests_;
  nlohmann::json vars_ = nlohmann::json::object();
  std::map<std::string, Macro> macros_;
  PythonSettings python_;
};

//! Applies `key: value` (one config key as written in YAML or passed to config()) to `config`.
//! InvalidArgument "<key>: <problem>" for an unknown key or a wrong value.
Status ApplyConfigValue(const std::string& key, const nlohmann::json& value, ModelConfig* config);

}  // namespace dew::transform
