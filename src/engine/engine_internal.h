// Private to src/engine: conversions between the C API and dew's types.
#pragma once

#include <string>

#include "core/status.h"
#include "engine/duckdb_capi.h"
#include "engine/logical_type.h"

namespace dew::engine::internal {

//! Reads a duckdb_logical_type (and its children) into a LogicalType. Does not take ownership.
LogicalType ReadLogicalType(duckdb_logical_type type);

//! A Status for a DuckDB error message; interrupts become Status::Interrupted.
Status ErrorStatus(const char* message, const std::string& fallback);

}  // namespace dew::engine::internal
