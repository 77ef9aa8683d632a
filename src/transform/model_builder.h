// ModelBuilder: runs compiled models against the lake in dependency order, independent models
// on parallel threads (each with its own Lakehouse, since one is not thread-safe), and
// materializes each as its config says:
//   view         a SQL view kept in the lake (Lakehouse::CreateSqlView)
//   table        a Delta table replaced by each build (a new version: time travel keeps the old)
//   incremental  first build as a table; later builds merge the new rows by `unique_key`
//                (late-arriving rows replace what they update), or append without one
//   scd2         a history table keyed by `unique_key` with valid_from, valid_to, is_current:
//                a changed row closes its current version and opens a new one; a key gone
//                from the source closes its current version
// A model with `contract: {enforced: true}` fails before writing when its columns or types
// differ from the declared ones, with a diff. A failed model skips its descendants.
// A build's workers share one DuckDB (each with its own connection). A worker keeps each table
// model's rows there as well (up to a million rows per worker), cast to the types the table's
// files hold, and points the table's view at them: the model's tests and its children, built by
// either worker, then read memory instead of opening the Parquet files just written. They are
// the rows committed; nothing is kept across builds.
// A Python model first runs in a child process (PythonModelRunner); its DataFrame, loaded into a
// scratch table, is then materialized like a SQL model's result.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "lake/delta_table.h"
#include "transform/model_compiler.h"

namespace dew::lake {
class Lakehouse;
}

namespace dew::transform {

class PythonModelRunner;

struct ModelOutcome {
  std::string name;
  std::string relation;
  std::string materialized;
  std::string status;    //!< "success", "error" or "skipped"
  int64_t rows = -1;     //!< rows the build wrote (added); -1 for views
  int64_t version = -1;  //!< the Delta version committed; -1 for views and skips
  double seconds = 0;
  std::string error;
};

//! Stops a Build from another thread (a pipeline's model task being cancelled): no model starts
//! after Cancel(), and the statements of the models running are interrupted (they fail with
//! DuckDB's interrupt error). Thread-safe; Cancel may be repeated (an interrupt that falls between
//! two statements is forgotten by DuckDB).
class BuildCanceller {
 public:
  void Cancel();
  bool cancelled() const;
  //! For ModelBuilder: a worker's lakehouse, interrupted by Cancel while attached.
  void Attach(lake::Lakehouse* lake);
  void Detach(lake::Lakehouse* lake);

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;               // guarded by mu_
  std::set<lake::Lakehouse*> attached_;  // guarded by mu_
};

//! Opens a new Lakehouse for one worker thread (with the invocation's user and run id).
using LakehouseFactory = std::function<Result<std::unique_ptr<lake::Lakehouse>>()>;

struct BuildOptions {
  std::vector<std::string> models;  //!< names to build, e.g. from CompiledProject::Select
  int threads = 2;
  bool full_refresh = false;
  //! Called as each model finishes (from a worker or a worker's committer thread, serialized):
  //! a table model a worker built finishes once its commit is durable.
  std::function<void(const ModelOutcome&)> on_done;
  //! Runs right after a model built, on the worker thread with its lakehouse (dbt build runs
  //! the model's tests here); for a table model whose rows the worker keeps, while its commit
  //! may still be on the way (the tests read the kept rows, which are the rows committed). A
  //! failure marks the model failed, so its descendants are skipped, with the Status's message
  //! as the error.
  std::function<Status(const CompiledModel&, lake::Lakehouse*)> after_model;
  //! When set, Cancel() on it stops the build: models not started are skipped ("build
  //! cancelled"). Borrowed; must outlive Build.
  BuildCanceller* canceller = nullptr;
};

class ModelBuilder {
 public:
  //! `compiled` is borrowed and must outlive the builder. Without `python`, Python models
  //! fail with an error saying so.
  ModelBuilder(const CompiledProject* compiled, LakehouseFactory open_lake,
               std::shared_ptr<Clock> clock, std::shared_ptr<PythonModelRunner> python = nullptr);

  //! Builds the models; their outcomes in dependency order. Fails only when no lakehouse can
  //! be opened; a model's own failure is in its outcome.
  Result<std::vector<ModelOutcome>> Build(const BuildOptions& options);

  //! Materializes one model with `lake`, whose views of the model's parents must be current.
  Result<ModelOutcome> Materialize(const CompiledModel& model, lake::Lakehouse* lake,
                                   bool full_refresh);

 private:
  //! Materialize for a build worker: with `kept_rows`, a table model's rows stay in the
  //! worker's DuckDB too, and its view reads them there (see Build); `*kept_rows` counts the
  //! rows the worker holds. Null keeps nothing. With `defer` as well, a kept table's commit is
  //! left there to run (lake::WriteOptions::defer_commit); the outcome's version is then -1.
  Result<ModelOutcome> MaterializeKeeping(const CompiledModel& model, lake::Lakehouse* lake,
                                          bool full_refresh, int64_t* kept_rows,
                                          lake::DeferredCommit* defer);
  //! Materializes `sql` (the model's SELECT, or the scratch table of a Python model's result).
  Result<ModelOutcome> MaterializeSelect(const CompiledModel& model, const std::string& sql,
                                         lake::Lakehouse* lake, bool full_refresh,
                                         int64_t* kept_rows, lake::DeferredCommit* defer);

  const CompiledProject* compiled_;
  LakehouseFactory open_lake_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<PythonModelRunner> python_;
};

//! Compares a model's output columns (names and DuckDB types) with its declared contract;
//! OK when equal, else InvalidArgument with one line per difference ("missing column x",
//! "extra column y", "column z: declared DECIMAL(18,2), got DOUBLE").
Status CheckContract(const ModelDef& model,
                     const std::vector<std::pair<std::string, std::string>>& actual);

}  // namespace dew::transform
