// dew state: placeholder until its implementation lands in this session (never shipped as is).
#include "cli/command_context.h"

namespace dew::cli {

Status RunState(CommandContext& ctx, const std::vector<std::string>& args) {
  return Status::NotSupported("dew state is not built yet");
}

}  // namespace dew::cli
