#include "engine/database.h"

#include "engine/connection.h"
#include "engine/engine_internal.h"

namespace dew::engine {

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) != DuckDBSuccess) {
    return Status::Internal("cannot create DuckDB config");
  }
  auto set = [&](const char* name, const std::string& value) -> Status {
    if (value.empty()) return Status::OK();
    if (duckdb_set_config(config, name, value.c_str()) != DuckDBSuccess) {
      return Status::InvalidArgument(std::string("DuckDB rejected setting ") + name + "=" + value);
    }
    return Status::OK();
  };
  Status s = set("threads", options.threads > 0 ? std::to_string(options.threads) : "");
  if (s.ok()) s = set("memory_limit", options.memory_limit);
  if (s.ok()) s = set("temp_directory", options.temp_directory);
  // dew never downloads extensions at run time: the machine has no general network access and
  // the project pins exactly one library.
  if (s.ok()) s = set("autoinstall_known_extensions", "false");
  if (!s.ok()) {
    duckdb_destroy_config(&config);
    return s;
  }
  duckdb_database db = nullptr;
  char* error = nullptr;
  const char* path = options.path.empty() ? nullptr : options.path.c_str();
  duckdb_state state = duckdb_open_ext(path, &db, config, &error);
  duckdb_destroy_config(&config);
  if (state != DuckDBSuccess) {
    std::string msg = error ? error : "unknown error";
    if (error) duckdb_free(error);
    return Status::IOError("cannot open DuckDB database " +
                           (options.path.empty() ? std::string(":memory:") : options.path) + ": " +
                           msg);
  }
  return std::unique_ptr<Database>(new Database(db));
}

Database::~Database() {
  duckdb_database db = db_;
  duckdb_close(&db);
}

Result<std::unique_ptr<Connection>> Database::Connect() {
  duckdb_connection con = nullptr;
  if (duckdb_connect(db_, &con) != DuckDBSuccess) {
    return Status::IOError("cannot connect to DuckDB database");
  }
  return std::unique_ptr<Connection>(new Connection(con));
}

std::string Database::LibraryVersion() {
  return duckdb_library_version();
}

}  // namespace dew::engine
