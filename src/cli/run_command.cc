// dew run: placeholder until its implementation lands in this session (never shipped as is).
#include "cli/command_context.h"

namespace dew::cli {

Status RunRun(CommandContext& ctx, const std::vector<std::string>& args) {
  return Status::NotSupported("dew run is not built yet");
}

Status RunRuns(CommandContext& ctx, const std::vector<std::string>& args) {
  return Status::NotSupported("dew run is not built yet");
}

}  // namespace dew::cli
