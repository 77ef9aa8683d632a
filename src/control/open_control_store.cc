#include "control/open_control_store.h"

#include "control/sqlite_control_store.h"

namespace dew::control {

Result<std::unique_ptr<ControlStore>> OpenControlStore(
    const std::string& setting, const std::string& project_dir, std::shared_ptr<Clock> clock,
    const std::map<std::string, std::string>& env) {
  if (setting.empty() || setting == "sqlite" || setting.rfind("sqlite:", 0) == 0) {
    std::string path = SqliteControlStore::DefaultPath(project_dir);
    if (setting.size() > 7) {
      path = setting.substr(7);
      if (path[0] != '/') path = project_dir + "/" + path;
    }
    DEW_ASSIGN_OR_RETURN(auto store, SqliteControlStore::Open(path, std::move(clock)));
    return std::unique_ptr<ControlStore>(std::move(store));
  }
  if (setting.rfind("postgres://", 0) == 0 || setting.rfind("postgresql://", 0) == 0) {
    // Replaced when PostgresControlStore lands (this session).
    return Status::NotSupported("control: the PostgreSQL control store is not built yet");
  }
  return Status::InvalidArgument("dew.yml: control: '" + setting +
                                 "' is not a control store (use sqlite, sqlite:PATH or a "
                                 "postgres:// URL)");
}

}  // namespace dew::control
