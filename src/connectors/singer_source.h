// SingerSource: any Singer tap (github.com/singer-io/getting-started) as a dew source. The tap
// runs as a child process (ProcessRunner: own process group, timeout, only the declared
// environment, working folder = the project) with `--config config.json --catalog
// catalog.json [--state state.json]` written to a private temp folder (0700/0600, removed
// after the run); its stdout SCHEMA/RECORD/STATE lines land in bronze through BronzeLanding,
// each STATE committing the records before it together with that state. See
// docs/sources/singer-airbyte.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "connectors/singer_messages.h"
#include "connectors/source.h"
#include "connectors/source_factory.h"
#include "connectors/tap_runner.h"

namespace dew::connectors {

//! Not thread-safe: one sync at a time per object.
class SingerSource : public Source {
 public:
  //! `spec` is the connection (its `singer:` block already checked into `options`); `env`'s
  //! pointers are shared. A null env.processes gets a PosixProcessRunner rooted at the project.
  SingerSource(ConnectionSpec spec, TapOptions options, SourceEnv env);

  //! The JSON Schema of the `singer:` block.
  nlohmann::json Spec() const override;
  //! Runs the tap's discovery; OK when it succeeds and lists every stream in `streams`
  //! (kMissingTable naming the missing one otherwise, kOther when the tap fails).
  Status Check(const std::vector<std::string>& streams, CheckProblem* problem) override;
  //! The tap's catalog (`--discover`, or the `catalog:` file of the block) as StreamInfo:
  //! columns from each stream's JSON Schema, primary key from key_properties.
  Result<std::vector<StreamInfo>> Discover() override;
  //! Runs the tap with only `stream` selected and lands its records. Incremental streams
  //! resume from the state committed with the stream's newest bronze batch (the `state`
  //! argument when the table does not exist yet); full_refresh passes no state. On failure
  //! (malformed line: "line N: problem"; tap exit != 0 with its last stderr lines; timeout)
  //! the batches committed before stay, the pending records are dropped. `stream.chunk_rows`
  //! overrides batch_records, `stream.cancel` stops at the next line (Interrupted),
  //! `stream.quarantine` lands in the quarantine table; a `filter` is NotSupported.
  Result<ReadResult> Read(const StreamRequest& stream, const nlohmann::json& state,
                          lake::Lakehouse* lake) override;

  //! The catalog entries of the tap.
  Result<std::vector<SingerCatalogStream>> Catalog();

 private:
  ConnectionSpec spec_;
  TapOptions options_;
  SourceEnv env_;
  std::string catalog_flag_ = "--catalog";
  std::string catalog_file_;  //!< from the block; empty: run --discover
};

}  // namespace dew::connectors
