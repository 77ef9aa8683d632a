// RoaringBitmapArray: a set of 64-bit row positions, serialised in the portable 64-bit format of
// the RoaringBitmap specification (https://github.com/RoaringBitmap/RoaringFormatSpec), as the
// Delta protocol's deletion vectors store them ("Deletion Vector Format").
//
// The set is held as a sorted vector: deletion vectors are read whole and turned into a filter,
// never probed in place, so the compression of the format matters only on disk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dew::lake {

class RoaringBitmapArray {
 public:
  RoaringBitmapArray() = default;
  //! From any positions (unsorted, with repeats).
  explicit RoaringBitmapArray(std::vector<uint64_t> values);

  void Add(uint64_t value);
  void Union(const RoaringBitmapArray& other);
  bool Contains(uint64_t value) const;
  uint64_t Cardinality() const { return values_.size(); }
  bool Empty() const { return values_.empty(); }
  //! Ascending, without repeats.
  const std::vector<uint64_t>& Values() const { return values_; }

  //! The portable 64-bit serialisation: bucket count (uint64), then per bucket in ascending key
  //! order the high 32 bits (uint32) and a 32-bit RoaringBitmap of the low 32 bits; all little
  //! endian. Containers are written as arrays (up to 4096 values) or bitmaps.
  std::string SerializePortable() const;

  //! Parses the portable 64-bit format, reading array, bitmap and run containers, with or
  //! without the run-container cookie. Corruption naming the byte offset when malformed.
  static Result<RoaringBitmapArray> DeserializePortable(std::string_view bytes);

  //! Parses delta-spark's "native" RoaringBitmapArray layout (big-endian bitmap count, then per
  //! bitmap a big-endian length and a 32-bit RoaringBitmap whose index is the high 32 bits), the
  //! layout of the protocol's inline example; `bytes` starts after the magic number.
  static Result<RoaringBitmapArray> DeserializeNative(std::string_view bytes);

 private:
  std::vector<uint64_t> values_;
};

}  // namespace dew::lake
