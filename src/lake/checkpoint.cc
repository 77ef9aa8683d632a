#include "lake/checkpoint.h"

#include <nlohmann/json.hpp>

#include "engine/connection.h"

namespace dew::lake {

Result<CommitActions> ReadCheckpoint(engine::Connection* con, const std::string& path) {
  return Status::NotSupported("reading checkpoint " + path + " is not implemented yet");
}

Result<int64_t> WriteCheckpoint(engine::Connection* con, FileSystem& fs, const Snapshot& snapshot,
                                const std::string& path) {
  return Status::NotSupported("writing checkpoint " + path + " is not implemented yet");
}

Result<int64_t> ReadLastCheckpoint(FileSystem& fs, const std::string& log_dir) {
  const std::string path = JoinPath(log_dir, "_last_checkpoint");
  DEW_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer()) {
    return Status::Corruption(path + " has no integer \"version\"");
  }
  return j["version"].get<int64_t>();
}

}  // namespace dew::lake
