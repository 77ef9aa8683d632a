// Snapshot: the state of a Delta table at one version, from replaying its log.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lake/actions.h"
#include "lake/schema.h"

namespace dew::lake {

struct Snapshot {
  std::string table_root;  //!< absolute folder of the table
  int64_t version = -1;
  int64_t timestamp_millis = 0;  //!< commit time of `version`
  Protocol protocol;
  Metadata metadata;
  Schema schema;
  //! Live data files, sorted by path.
  std::vector<AddFile> files;
  //! For each entry of `files`: index into `schema_history` of the schema in force when the file
  //! was added, so a scan can fill columns added later with NULL.
  std::vector<int> file_schema_index;
  std::vector<Schema> schema_history;
  //! Removed files whose tombstones are kept (for vacuum), sorted by path.
  std::vector<RemoveFile> tombstones;
  //! app_id -> version of the latest txn action.
  std::map<std::string, int64_t> app_versions;

  //! Rows of the table: numRecords over files less the rows their deletion vectors delete; -1
  //! when any numRecords is unknown.
  int64_t NumRecords() const;
  int64_t SizeBytes() const;
};

}  // namespace dew::lake
