// dew schedule: placeholder until its implementation lands in this session (never shipped as is).
#include "cli/command_context.h"

namespace dew::cli {

Status RunSchedule(CommandContext& ctx, const std::vector<std::string>& args) {
  return Status::NotSupported("dew schedule is not built yet");
}

Status RunBackfill(CommandContext& ctx, const std::vector<std::string>& args) {
  return Status::NotSupported("dew schedule is not built yet");
}

}  // namespace dew::cli
