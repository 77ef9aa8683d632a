// dew worker: placeholder until its implementation lands in this session (never shipped as is).
#include "cli/command_context.h"

namespace dew::cli {

Status RunWorker(CommandContext& ctx, const std::vector<std::string>& args) {
  return Status::NotSupported("dew worker is not built yet");
}

}  // namespace dew::cli
