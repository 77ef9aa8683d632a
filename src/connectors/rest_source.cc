// Placeholder until the rest source lands this session (replaced by its implementation).
#include "connectors/source_factory.h"

namespace dew::connectors {

Result<std::unique_ptr<Source>> MakeRestSource(const ConnectionSpec& spec, const SourceEnv& env) {
  return Status::NotSupported(spec.file + ": source_type: the rest source is not built yet");
}

}  // namespace dew::connectors
