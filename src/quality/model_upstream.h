// The upstream map of a compiled project for quality scores: which targets each model reads.
#pragma once

#include "quality/quality_score.h"
#include "transform/model_compiler.h"

namespace dew::quality {

//! Each model's refs (models and seeds) and sources ("source:erp.orders"), in first-use order.
UpstreamMap ModelUpstream(const transform::CompiledProject& compiled);

}  // namespace dew::quality
