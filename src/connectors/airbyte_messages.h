// Airbyte protocol messages: one AirbyteMessage JSON object per line on a source's stdout
// (docs.airbyte.com/understanding-airbyte/airbyte-protocol). dew reads RECORD, STATE (the
// per-stream, global and legacy forms), LOG, TRACE (errors fail the sync), SPEC,
// CONNECTION_STATUS and CATALOG; CONTROL and other types are tolerated and ignored.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dew::connectors {

struct AirbyteMessage {
  enum class Type {
    kRecord,
    kState,
    kLog,
    kTrace,
    kSpec,
    kConnectionStatus,
    kCatalog,
    kOther,
  };
  enum class StateForm { kStream, kGlobal, kLegacy };

  Type type = Type::kOther;
  std::string type_name;  //!< as written, e.g. "CONTROL" for kOther
  // RECORD
  std::string stream;
  std::string namespace_;
  nlohmann::json data;
  int64_t emitted_at = 0;  //!< ms since the epoch
  // STATE: `state` is the whole AirbyteStateMessage, as `read --state` takes it back.
  nlohmann::json state;
  StateForm state_form = StateForm::kLegacy;
  std::string state_stream;  //!< kStream: stream_descriptor.name
  // LOG and TRACE
  std::string level;             //!< LOG level; TRACE type (ERROR, ESTIMATE, STREAM_STATUS …)
  std::string message;           //!< LOG message; TRACE error.message
  std::string internal_message;  //!< TRACE error.internal_message
  std::string failure_type;      //!< TRACE error.failure_type
  // SPEC (the ConnectorSpecification), CONNECTION_STATUS {status, message}, CATALOG
  nlohmann::json payload;
};

//! Parses one stdout line. InvalidArgument "line N: problem" for text that is not JSON, not an
//! object, without a `type`, or missing the body its type requires (RECORD: record with a
//! stream and a data object; STATE: state object; LOG: log; TRACE: trace; SPEC: spec;
//! CONNECTION_STATUS: connectionStatus; CATALOG: catalog). Thread-safe.
Result<AirbyteMessage> ParseAirbyteLine(std::string_view line, int64_t line_number);

//! The `read --state` input for a stream from the state messages seen (oldest first, as
//! kept by AirbyteStateTracker): the newest global state, or the newest per-stream state of
//! each stream, as a list; or the newest legacy `data`.
class AirbyteStateTracker {
 public:
  //! Starts from a state previously returned by State() (null: none).
  explicit AirbyteStateTracker(const nlohmann::json& initial);
  //! Records a STATE message.
  void Add(const AirbyteMessage& state_message);
  //! The state to store and to pass to the next `read --state`; null when none.
  nlohmann::json State() const;

 private:
  nlohmann::json legacy_;
  nlohmann::json global_;
  std::vector<std::pair<std::string, nlohmann::json>> streams_;
};

}  // namespace dew::connectors
