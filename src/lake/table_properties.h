// TableProperties: the table properties (metaData.configuration) dew understands, as
// `ALTER TABLE … SET TBLPROPERTIES` accepts them and as writers read them.
//
// Known properties, with Delta's / Databricks' names:
//   delta.enableDeletionVectors        true | false: merge and delete mark rows in deletion
//                                      vectors (setting it true upgrades the protocol)
//   delta.deletedFileRetentionDuration "interval <n> <unit>" (millisecond … week): how long a
//                                      checkpoint keeps remove tombstones
//   delta.targetFileSize               bytes, or a number with kb/mb/gb: the size OPTIMIZE packs
//                                      small files into (default kDefaultTargetFileSize)
//   delta.autoOptimize.autoCompact     true | false: compact after writes that leave many small
//                                      files or many deleted rows (silver tables: on by default)
// Other `delta.` keys are refused (a typo would otherwise be silently ignored); keys outside the
// `delta.` namespace are the user's own and kept as given, as Delta does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "lake/actions.h"

namespace dew::lake {

inline constexpr const char* kDeletedFileRetentionProperty = "delta.deletedFileRetentionDuration";
inline constexpr const char* kTargetFileSizeProperty = "delta.targetFileSize";
inline constexpr const char* kAutoCompactProperty = "delta.autoOptimize.autoCompact";

//! OPTIMIZE's target file size when the table does not set delta.targetFileSize: 64 MB. dew's
//! tables are small next to Databricks' (which starts at 256 MB and OPTIMIZE at 1 GB); 64 MB
//! still holds several DuckDB row groups per file and keeps a rewrite of one bin cheap.
inline constexpr int64_t kDefaultTargetFileSize = 64LL * 1024 * 1024;

//! The property names dew understands, in the order of the header comment.
const std::vector<std::string>& KnownTableProperties();

//! Checks `value` for property `key` and returns it as stored (booleans lower-cased).
//! InvalidArgument naming the key for an unknown `delta.` key (listing the known ones) or a
//! value the property does not accept (saying what it accepts).
Result<std::string> CheckTableProperty(const std::string& key, const std::string& value);

//! The known property spelled as dew stores it when `key` names one in another case
//! (SQL keys are often written in lower case); `key` unchanged otherwise.
std::string CanonicalPropertyName(const std::string& key);

//! "134217728", "64mb", "1 GB", "512kb" -> bytes. InvalidArgument for anything else, or for a
//! size under 1 KB.
Result<int64_t> ParseByteSize(const std::string& text);

//! delta.targetFileSize of the table, or kDefaultTargetFileSize when absent or unreadable.
int64_t TargetFileSize(const Metadata& metadata);

//! delta.autoOptimize.autoCompact of the table; nullopt when the table does not set it.
std::optional<bool> AutoCompactSetting(const Metadata& metadata);

}  // namespace dew::lake
