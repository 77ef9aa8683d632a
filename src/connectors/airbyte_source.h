// AirbyteSource: an Airbyte source connector executable (the Airbyte protocol's `spec`,
// `check`, `discover`, `read` verbs) as a dew source. It runs as a child process like a Singer
// tap (see singer_source.h); its AirbyteMessage lines land in bronze through BronzeLanding,
// each STATE committing the records before it together with the state. See
// docs/sources/singer-airbyte.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "connectors/airbyte_messages.h"
#include "connectors/source.h"
#include "connectors/source_factory.h"
#include "connectors/tap_runner.h"

namespace dew::connectors {

//! Not thread-safe: one sync at a time per object.
class AirbyteSource : public Source {
 public:
  //! As SingerSource: a null env.processes gets a PosixProcessRunner rooted at the project.
  AirbyteSource(ConnectionSpec spec, TapOptions options, SourceEnv env);

  //! The JSON Schema of the `airbyte:` block, with the connector's own
  //! connectionSpecification (from `spec`) as the schema of `config` when it runs.
  nlohmann::json Spec() const override;
  //! `check --config`: OK on CONNECTION_STATUS SUCCEEDED, else kOther with the connector's
  //! message; then every stream in `streams` must be in `discover` (kMissingTable).
  Status Check(const std::vector<std::string>& streams, CheckProblem* problem) override;
  //! `discover --config`: the CATALOG's streams with columns from their json_schema and the
  //! source-defined primary key.
  Result<std::vector<StreamInfo>> Discover() override;
  //! `read --config --catalog [--state]` with a configured catalog holding only `stream`
  //! (sync_mode, destination_sync_mode, cursor_field and primary_key from the request and the
  //! connection file). State and failure rules as SingerSource::Read; a TRACE error fails the
  //! read with the connector's message.
  Result<ReadResult> Read(const StreamRequest& stream, const nlohmann::json& state,
                          lake::Lakehouse* lake) override;

  //! The connector's ConnectorSpecification (`spec`).
  Result<nlohmann::json> ConnectorSpec() const;
  //! The connector's catalog streams (AirbyteStream objects) from `discover`.
  Result<std::vector<nlohmann::json>> CatalogStreams();

 private:
  ConnectionSpec spec_;
  TapOptions options_;
  SourceEnv env_;
};

//! The ConfiguredAirbyteCatalog reading `stream` (an AirbyteStream from discover).
nlohmann::json ConfiguredAirbyteCatalog(const nlohmann::json& stream, const std::string& sync_mode,
                                        const std::string& cursor_field,
                                        const std::vector<std::string>& primary_key);

}  // namespace dew::connectors
