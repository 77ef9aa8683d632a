// MakeSource: the Source a connection file describes, by its source_type. Each source type has
// its own factory function, defined beside its source (rest_source.cc, files_source.cc …), and
// validates its own blocks of the spec with file:line:column errors (SpecBlock::Error).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "connectors/connection_spec.h"
#include "connectors/source.h"
#include "core/status.h"

namespace dew {
class Clock;
class FileSystem;
class HttpClient;
class ProcessRunner;
}  // namespace dew

namespace dew::connectors {

//! What a source may use besides its spec; every pointer is shared and outlives the source.
struct SourceEnv {
  std::shared_ptr<FileSystem> fs;
  std::shared_ptr<Clock> clock;
  std::shared_ptr<HttpClient> http;
  std::shared_ptr<ProcessRunner> processes;
  std::map<std::string, std::string> env;  //!< resolves ${env:NAME} (the process environment)
  std::string project_dir;                 //!< relative paths in the spec resolve against it
  std::string spool_dir;                   //!< scratch files (inside the project's .dew/)
};

//! Dispatches on spec.source_type. InvalidArgument (file:line:column: field) when the spec is
//! wrong for its source, NotSupported when dew has no such source.
Result<std::unique_ptr<Source>> MakeSource(const ConnectionSpec& spec, const SourceEnv& env);

Result<std::unique_ptr<Source>> MakePostgresSource(const ConnectionSpec& spec,
                                                   const SourceEnv& env);
Result<std::unique_ptr<Source>> MakeOdooSource(const ConnectionSpec& spec, const SourceEnv& env);
Result<std::unique_ptr<Source>> MakeFilesSource(const ConnectionSpec& spec, const SourceEnv& env);
Result<std::unique_ptr<Source>> MakeRestSource(const ConnectionSpec& spec, const SourceEnv& env);
Result<std::unique_ptr<Source>> MakeSingerSource(const ConnectionSpec& spec, const SourceEnv& env);
Result<std::unique_ptr<Source>> MakeAirbyteSource(const ConnectionSpec& spec, const SourceEnv& env);

}  // namespace dew::connectors
