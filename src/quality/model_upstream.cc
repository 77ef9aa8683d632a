#include "quality/model_upstream.h"

namespace dew::quality {

UpstreamMap ModelUpstream(const transform::CompiledProject& compiled) {
  UpstreamMap up;
  for (const auto& m : compiled.models()) {
    auto& list = up[m.name];
    for (const auto& r : m.model_refs) list.push_back(r);
    for (const auto& r : m.seed_refs) list.push_back(r);
    for (const auto& r : m.source_refs) list.push_back("source:" + r);
  }
  return up;
}

}  // namespace dew::quality
