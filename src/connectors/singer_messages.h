// Singer messages: one JSON object per line on a tap's stdout (the Singer specification,
// github.com/singer-io/getting-started/blob/master/docs/SPEC.md). SCHEMA describes a stream,
// RECORD carries one row, STATE a bookmark to resume from once the records before it are
// stored, ACTIVATE_VERSION marks a full-table version (tolerated, not acted upon).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dew::connectors {

struct SingerMessage {
  enum class Type { kSchema, kRecord, kState, kActivateVersion };
  Type type = Type::kRecord;
  std::string stream;  //!< SCHEMA, RECORD, ACTIVATE_VERSION
  // SCHEMA
  nlohmann::json schema;
  std::vector<std::string> key_properties;
  std::vector<std::string> bookmark_properties;
  // RECORD
  nlohmann::json record;
  std::string time_extracted;  //!< RFC 3339 as sent; empty when absent
  int64_t version = -1;        //!< RECORD/ACTIVATE_VERSION `version`; -1 when absent
  // STATE
  nlohmann::json value;
};

//! Parses one stdout line. InvalidArgument "line N: problem" for text that is not JSON, not
//! an object, has an unknown or missing `type`, or lacks a field its type requires (SCHEMA:
//! stream, schema object; RECORD: stream, record object; STATE: value). Thread-safe.
Result<SingerMessage> ParseSingerLine(std::string_view line, int64_t line_number);

//! A Singer catalog (`--discover` output): {"streams": [{tap_stream_id, stream, schema,
//! key_properties, metadata: [{breadcrumb, metadata}]}]}.
struct SingerCatalogStream {
  std::string tap_stream_id;
  std::string stream;  //!< the stream name records use
  nlohmann::json schema;
  std::vector<std::string> key_properties;  //!< from the entry or its table-key-properties
  std::vector<std::string> valid_replication_keys;
  nlohmann::json entry;  //!< the whole entry as the tap wrote it
};

//! Parses a catalog. InvalidArgument naming the stream index and field when malformed.
Result<std::vector<SingerCatalogStream>> ParseSingerCatalog(const nlohmann::json& catalog);

//! The catalog to give the tap: `entries` with the stream named `stream` selected (metadata
//! breadcrumb [] `selected: true`, the legacy `selected` flag, `replication-method`
//! INCREMENTAL with `replication-key` = `cursor_field`, or FULL_TABLE) and every other
//! stream deselected. `columns` non-empty: only those properties are selected.
nlohmann::json SelectSingerStream(const std::vector<SingerCatalogStream>& entries,
                                  const std::string& stream, const std::string& sync_mode,
                                  const std::string& cursor_field,
                                  const std::vector<std::string>& columns);

}  // namespace dew::connectors
