#include "lake/roaring_bitmap.h"

#include <algorithm>

namespace dew::lake {
namespace {

// Cookies of the 32-bit format: with run containers (and the container count in the high 16
// bits), or without (the count follows as a uint32).
constexpr uint32_t kSerialCookie = 12347;
constexpr uint32_t kSerialCookieNoRunContainer = 12346;
// With the run cookie, the offset header is present only from this many containers on.
constexpr uint32_t kNoOffsetThreshold = 4;
// An array container holds at most this many values; more are a bitmap (8 KiB).
constexpr uint32_t kMaxArrayCardinality = 4096;
constexpr size_t kBitmapBytes = 8192;

void PutLe(std::string* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

// Reads little- or big-endian integers from a byte range, tracking where it is for errors.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

  Result<uint64_t> Le(int n) {
    DEW_RETURN_IF_ERROR(Need(n));
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      v |= static_cast<uint64_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += n;
    return v;
  }
  Result<uint64_t> Be(int n) {
    DEW_RETURN_IF_ERROR(Need(n));
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | static_cast<unsigned char>(bytes_[pos_ + i]);
    pos_ += n;
    return v;
  }
  Result<std::string_view> Take(size_t n) {
    DEW_RETURN_IF_ERROR(Need(n));
    std::string_view out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  Status Need(size_t n) const {
    if (bytes_.size() - pos_ < n) {
      return Status::Corruption("roaring bitmap truncated at byte " + std::to_string(pos_) +
                                ": needs " + std::to_string(n) + " more bytes");
    }
    return Status::OK();
  }
  size_t pos() const { return pos_; }
  Status Error(const std::string& what) const {
    return Status::Corruption("roaring bitmap malformed at byte " + std::to_string(pos_) + ": " +
                              what);
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

// Appends to `out` the values of one 32-bit RoaringBitmap, each ORed with `high`.
Status ReadBitmap32(ByteReader* in, uint64_t high, std::vector<uint64_t>* out) {
  DEW_ASSIGN_OR_RETURN(uint64_t cookie, in->Le(4));
  uint32_t containers = 0;
  std::vector<bool> is_run;
  bool has_offsets = true;
  if ((cookie & 0xFFFF) == kSerialCookie) {
    containers = static_cast<uint32_t>(cookie >> 16) + 1;
    DEW_ASSIGN_OR_RETURN(std::string_view run_flags, in->Take((containers + 7) / 8));
    for (uint32_t i = 0; i < containers; ++i) {
      is_run.push_back((static_cast<unsigned char>(run_flags[i / 8]) >> (i % 8)) & 1);
    }
    has_offsets = containers >= kNoOffsetThreshold;
  } else if (cookie == kSerialCookieNoRunContainer) {
    DEW_ASSIGN_OR_RETURN(uint64_t n, in->Le(4));
    if (n > 65536) return in->Error("more than 65536 containers");
    containers = static_cast<uint32_t>(n);
    is_run.assign(containers, false);
  } else {
    return in->Error("unknown cookie " + std::to_string(cookie));
  }
  std::vector<uint32_t> keys(containers), cardinalities(containers);
  for (uint32_t i = 0; i < containers; ++i) {
    DEW_ASSIGN_OR_RETURN(uint64_t key, in->Le(2));
    DEW_ASSIGN_OR_RETURN(uint64_t card, in->Le(2));
    keys[i] = static_cast<uint32_t>(key);
    cardinalities[i] = static_cast<uint32_t>(card) + 1;
  }
  // Containers follow one another; the offsets only help random access.
  if (has_offsets) DEW_RETURN_IF_ERROR(in->Take(4 * static_cast<size_t>(containers)).status());
  for (uint32_t i = 0; i < containers; ++i) {
    const uint64_t base = high | static_cast<uint64_t>(keys[i]) << 16;
    if (is_run[i]) {
      DEW_ASSIGN_OR_RETURN(uint64_t runs, in->Le(2));
      for (uint64_t r = 0; r < runs; ++r) {
        DEW_ASSIGN_OR_RETURN(uint64_t start, in->Le(2));
        DEW_ASSIGN_OR_RETURN(uint64_t length, in->Le(2));  // the run covers length + 1 values
        if (start + length > 0xFFFF) return in->Error("run past the end of its container");
        for (uint64_t v = start; v <= start + length; ++v) out->push_back(base | v);
      }
    } else if (cardinalities[i] <= kMaxArrayCardinality) {
      for (uint32_t j = 0; j < cardinalities[i]; ++j) {
        DEW_ASSIGN_OR_RETURN(uint64_t v, in->Le(2));
        out->push_back(base | v);
      }
    } else {
      DEW_ASSIGN_OR_RETURN(std::string_view words, in->Take(kBitmapBytes));
      for (size_t byte = 0; byte < kBitmapBytes; ++byte) {
        const unsigned char b = static_cast<unsigned char>(words[byte]);
        for (int bit = 0; bit < 8; ++bit) {
          if ((b >> bit) & 1) out->push_back(base | (byte * 8 + bit));
        }
      }
    }
  }
  return Status::OK();
}

// The 32-bit RoaringBitmap of `values` (all sharing their high 32 bits), without run containers.
void WriteBitmap32(const uint64_t* begin, const uint64_t* end, std::string* out) {
  struct Container {
    uint32_t key;
    const uint64_t* begin;
    const uint64_t* end;
  };
  std::vector<Container> containers;
  for (const uint64_t* it = begin; it != end;) {
    const uint32_t key = static_cast<uint32_t>((*it >> 16) & 0xFFFF);
    const uint64_t* stop = it;
    while (stop != end && static_cast<uint32_t>((*stop >> 16) & 0xFFFF) == key) ++stop;
    containers.push_back({key, it, stop});
    it = stop;
  }
  PutLe(out, kSerialCookieNoRunContainer, 4);
  PutLe(out, containers.size(), 4);
  for (const auto& c : containers) {
    PutLe(out, c.key, 2);
    PutLe(out, static_cast<uint64_t>(c.end - c.begin) - 1, 2);
  }
  // Offsets from the start of this 32-bit bitmap.
  uint64_t offset = 8 + 8 * containers.size();
  for (const auto& c : containers) {
    PutLe(out, offset, 4);
    const uint64_t n = static_cast<uint64_t>(c.end - c.begin);
    offset += n <= kMaxArrayCardinality ? 2 * n : kBitmapBytes;
  }
  for (const auto& c : containers) {
    const uint64_t n = static_cast<uint64_t>(c.end - c.begin);
    if (n <= kMaxArrayCardinality) {
      for (const uint64_t* v = c.begin; v != c.end; ++v) PutLe(out, *v & 0xFFFF, 2);
    } else {
      std::string bits(kBitmapBytes, '\0');
      for (const uint64_t* v = c.begin; v != c.end; ++v) {
        const uint32_t low = static_cast<uint32_t>(*v & 0xFFFF);
        bits[low / 8] =
            static_cast<char>(static_cast<unsigned char>(bits[low / 8]) | (1u << (low % 8)));
      }
      out->append(bits);
    }
  }
}

void Normalize(std::vector<uint64_t>* values) {
  std::sort(values->begin(), values->end());
  values->erase(std::unique(values->begin(), values->end()), values->end());
}

}  // namespace

RoaringBitmapArray::RoaringBitmapArray(std::vector<uint64_t> values) : values_(std::move(values)) {
  Normalize(&values_);
}

void RoaringBitmapArray::Add(uint64_t value) {
  auto it = std::lower_bound(values_.begin(), values_.end(), value);
  if (it == values_.end() || *it != value) values_.insert(it, value);
}

void RoaringBitmapArray::Union(const RoaringBitmapArray& other) {
  std::vector<uint64_t> merged;
  merged.reserve(values_.size() + other.values_.size());
  std::set_union(values_.begin(), values_.end(), other.values_.begin(), other.values_.end(),
                 std::back_inserter(merged));
  values_ = std::move(merged);
}

bool RoaringBitmapArray::Contains(uint64_t value) const {
  return std::binary_search(values_.begin(), values_.end(), value);
}

std::string RoaringBitmapArray::SerializePortable() const {
  std::string out;
  std::vector<std::pair<const uint64_t*, const uint64_t*>> buckets;
  const uint64_t* data = values_.data();
  for (size_t i = 0; i < values_.size();) {
    size_t j = i;
    while (j < values_.size() && values_[j] >> 32 == values_[i] >> 32) ++j;
    buckets.emplace_back(data + i, data + j);
    i = j;
  }
  PutLe(&out, buckets.size(), 8);
  for (const auto& [begin, end] : buckets) {
    PutLe(&out, *begin >> 32, 4);
    WriteBitmap32(begin, end, &out);
  }
  return out;
}

Result<RoaringBitmapArray> RoaringBitmapArray::DeserializePortable(std::string_view bytes) {
  ByteReader in(bytes);
  DEW_ASSIGN_OR_RETURN(uint64_t buckets, in.Le(8));
  std::vector<uint64_t> values;
  int64_t last_key = -1;
  for (uint64_t b = 0; b < buckets; ++b) {
    DEW_ASSIGN_OR_RETURN(uint64_t key, in.Le(4));
    if (static_cast<int64_t>(key) <= last_key) return in.Error("bucket keys not ascending");
    last_key = static_cast<int64_t>(key);
    DEW_RETURN_IF_ERROR(ReadBitmap32(&in, key << 32, &values));
  }
  return RoaringBitmapArray(std::move(values));
}

Result<RoaringBitmapArray> RoaringBitmapArray::DeserializeNative(std::string_view bytes) {
  ByteReader in(bytes);
  DEW_ASSIGN_OR_RETURN(uint64_t bitmaps, in.Be(4));
  std::vector<uint64_t> values;
  for (uint64_t b = 0; b < bitmaps; ++b) {
    DEW_ASSIGN_OR_RETURN(uint64_t size, in.Be(4));
    DEW_ASSIGN_OR_RETURN(std::string_view data, in.Take(size));
    ByteReader inner(data);
    DEW_RETURN_IF_ERROR(ReadBitmap32(&inner, b << 32, &values));
  }
  return RoaringBitmapArray(std::move(values));
}

}  // namespace dew::lake
