#include "lake/medallion.h"

namespace dew::lake {
namespace {

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  for (char c : s) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace

std::string_view LayerName(Layer layer) {
  switch (layer) {
    case Layer::kBronze: return "bronze";
    case Layer::kSilver: return "silver";
    case Layer::kGold: return "gold";
    case Layer::kPlatinum: return "platinum";
  }
  return "?";
}

Result<Layer> ParseLayer(std::string_view name) {
  for (Layer l : AllLayers()) {
    if (LayerName(l) == name) return l;
  }
  return Status::InvalidArgument("unknown layer '" + std::string(name) +
                                 "': expected bronze, silver, gold or platinum");
}

const std::vector<Layer>& AllLayers() {
  static const std::vector<Layer> kLayers = {Layer::kBronze, Layer::kSilver, Layer::kGold,
                                             Layer::kPlatinum};
  return kLayers;
}

Result<TableName> ParseTableName(std::string_view qualified) {
  auto dot = qualified.find('.');
  if (dot == std::string_view::npos) {
    return Status::InvalidArgument("table name '" + std::string(qualified) +
                                   "' needs its layer: write layer.name, e.g. bronze.raw_odoo_"
                                   "account_move_line");
  }
  DEW_ASSIGN_OR_RETURN(Layer layer, ParseLayer(qualified.substr(0, dot)));
  std::string_view name = qualified.substr(dot + 1);
  if (!IsIdentifier(name)) {
    return Status::InvalidArgument("table name '" + std::string(name) +
                                   "' is not a lower-case identifier ([a-z_][a-z0-9_]*)");
  }
  return TableName{layer, std::string(name)};
}

Status CheckNamingConvention(const TableName& table) {
  auto starts = [&](std::string_view prefix) {
    return table.name.size() > prefix.size() && table.name.compare(0, prefix.size(), prefix) == 0;
  };
  switch (table.layer) {
    case Layer::kBronze:
      if (!starts("raw_") || table.name.find('_', 4) == std::string::npos) {
        return Status::InvalidArgument("bronze table '" + table.name +
                                       "' must be named raw_<source>_<stream>");
      }
      break;
    case Layer::kGold:
      if (!starts("gold_") || table.name.find('_', 5) == std::string::npos) {
        return Status::InvalidArgument("gold table '" + table.name +
                                       "' must be named gold_<domain>_<entity>");
      }
      break;
    case Layer::kSilver:
    case Layer::kPlatinum:
      break;
  }
  return Status::OK();
}

TableName BronzeTableFor(std::string_view source, std::string_view stream) {
  return TableName{Layer::kBronze, "raw_" + std::string(source) + "_" + std::string(stream)};
}

}  // namespace dew::lake
