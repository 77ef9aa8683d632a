// LoadSeed: a seed CSV (seeds/<name>.csv) becomes the lake table `<layer>.<name>`, replaced on
// each load (a new Delta version), with the column types its properties declare and DuckDB's
// detection for the rest — dbt's `dbt seed`.
#pragma once

#include "core/status.h"
#include "lake/delta_table.h"
#include "transform/model_project.h"

namespace dew::lake {
class Lakehouse;
}

namespace dew::transform {

//! Loads `seed` (its path relative to `project_root`). Errors name the CSV file.
Result<lake::CommitResult> LoadSeed(const SeedDef& seed, const std::string& project_root,
                                    lake::Lakehouse* lake);

}  // namespace dew::transform
