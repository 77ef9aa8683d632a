// OpenControlStore: the control plane a project's dew.yml names (`control:`), so the CLI, the
// scheduler and workers all open the same store the same way.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "control/control_store.h"
#include "core/clock.h"
#include "core/status.h"

namespace dew::control {

//! `setting` is dew.yml's `control:` value: empty or "sqlite" → SQLite at
//! `<project_dir>/.dew/control.db`; "sqlite:PATH" (relative to the project); "postgres://…" or
//! "postgresql://…" → PostgreSQL (a libpq URL; `${env:NAME}` in it is resolved from `env`).
//! Migrations are applied on open. InvalidArgument for an unknown setting, naming it.
Result<std::unique_ptr<ControlStore>> OpenControlStore(
    const std::string& setting, const std::string& project_dir, std::shared_ptr<Clock> clock,
    const std::map<std::string, std::string>& env);

}  // namespace dew::control
