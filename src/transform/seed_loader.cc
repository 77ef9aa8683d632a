#include "transform/seed_loader.h"

#include "engine/connection.h"
#include "lake/lakehouse.h"

namespace dew::transform {

Result<lake::CommitResult> LoadSeed(const SeedDef& seed, const std::string& project_root,
                                    lake::Lakehouse* lake) {
  using engine::SqlString;
  const std::string path = project_root + "/" + seed.path;
  std::string types;
  for (const auto& [column, type] : seed.column_types) {
    types += (types.empty() ? "" : ", ") + SqlString(column) + ": " + SqlString(type);
  }
  const std::string select = "SELECT * FROM read_csv(" + SqlString(path) + ", header = true" +
                             (types.empty() ? "" : ", types = {" + types + "}") + ")";
  DEW_ASSIGN_OR_RETURN(lake::TableName table, lake::ParseTableName(seed.layer + "." + seed.name));
  lake::WriteOptions w = lake->NewWriteOptions();
  w.parameters["seed"] = seed.path;
  Result<lake::CommitResult> commit = Status::Internal("no write");
  if (lake->Exists(table)) {
    DEW_ASSIGN_OR_RETURN(auto t, lake->OpenTable(table));
    w.overwrite_schema = true;
    commit = t->Overwrite(select, std::nullopt, w);
  } else {
    commit = lake->CreateTableAs(table, select, {}, w);
  }
  if (!commit.ok()) return commit.status().WithContext("seed " + seed.path);
  DEW_RETURN_IF_ERROR(lake->RefreshView(table));
  return commit;
}

}  // namespace dew::transform
