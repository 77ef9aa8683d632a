// The medallion layers and their naming conventions (DESIGN: bronze raw, silver clean, gold
// business-ready, platinum features).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dew::lake {

enum class Layer { kBronze, kSilver, kGold, kPlatinum };

//! "bronze", "silver", "gold", "platinum".
std::string_view LayerName(Layer layer);

//! The layer named `name`; InvalidArgument listing the valid names otherwise.
Result<Layer> ParseLayer(std::string_view name);

//! Every layer, in flow order.
const std::vector<Layer>& AllLayers();

//! A table's place in the lake: `layer.name`.
struct TableName {
  Layer layer = Layer::kBronze;
  std::string name;

  std::string ToString() const { return std::string(LayerName(layer)) + "." + name; }
  bool operator==(const TableName&) const = default;
};

//! Parses "layer.name". The name must be a lower-case identifier ([a-z_][a-z0-9_]*).
Result<TableName> ParseTableName(std::string_view qualified);

//! Checks a table name against its layer's convention: bronze `raw_<source>_<stream>`, gold
//! `gold_<domain>_<entity>`; silver and platinum any identifier. The error says the expected form.
Status CheckNamingConvention(const TableName& table);

//! bronze.raw_<source>_<stream>
TableName BronzeTableFor(std::string_view source, std::string_view stream);

}  // namespace dew::lake
