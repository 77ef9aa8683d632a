// Deletion vectors (Delta protocol "Deletion Vectors", reader 3 / writer 7 feature
// `deletionVectors`): the rows of a data file that a commit marked deleted without rewriting
// the file. An add action carries a descriptor saying where the set of row positions is: in a
// file of the table (`u`, a name derived from a UUID), at an absolute path (`p`), or inline in the
// log (`i`, Z85 text).
//
// A DV file (`deletion_vector_<uuid>.bin`) starts with a version byte (1), then per DV: its size
// (big-endian uint32), the DV (magic 1681511377 little-endian, then the portable 64-bit roaring
// bitmap), and the CRC-32 of the DV (big-endian). A descriptor's offset points at the size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/file_system.h"
#include "core/status.h"
#include "lake/roaring_bitmap.h"

namespace dew::lake {

struct DeletionVectorDescriptor {
  std::string storage_type;  //!< "u", "i" or "p"
  std::string path_or_inline_dv;
  std::optional<int64_t> offset;  //!< absent for inline DVs
  int64_t size_in_bytes = 0;      //!< of the DV (magic and bitmap), before Z85 for inline ones
  int64_t cardinality = 0;        //!< rows the DV deletes

  //! `<storageType><pathOrInlineDv>[@<offset>]`: tells apart two DVs of the same file.
  std::string UniqueId() const;
  bool operator==(const DeletionVectorDescriptor& o) const { return UniqueId() == o.UniqueId(); }
};

//! The table feature's name in readerFeatures / writerFeatures.
inline constexpr const char* kDeletionVectorsFeature = "deletionVectors";
//! The table property that lets writers write new DVs.
inline constexpr const char* kEnableDeletionVectorsProperty = "delta.enableDeletionVectors";

//! The absolute path of a `u` or `p` DV file; InvalidArgument for inline DVs or a malformed
//! `u` path (the last 20 characters Z85-encode the UUID, any before them are a folder prefix).
Result<std::string> DeletionVectorPath(const std::string& table_root,
                                       const DeletionVectorDescriptor& dv);

//! The positions a DV deletes, read and checked (size, magic, CRC-32, cardinality).
//! Corruption naming the DV file when anything disagrees.
Result<RoaringBitmapArray> ReadDeletionVector(FileSystem& fs, const std::string& table_root,
                                              const DeletionVectorDescriptor& dv);

//! Writes one DV file under `table_root` holding `bitmaps` (one DV each, in order) and returns
//! their descriptors (storage type `u`, no prefix). `uuid` is a UUID in canonical text form.
Result<std::vector<DeletionVectorDescriptor>> WriteDeletionVectors(
    FileSystem& fs, const std::string& table_root, const std::string& uuid,
    const std::vector<RoaringBitmapArray>& bitmaps);

//! CRC-32 (IEEE 802.3, as zlib's crc32) of `data`.
uint32_t Crc32(std::string_view data);

}  // namespace dew::lake
