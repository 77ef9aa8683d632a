#include "lake/deletion_vector.h"

#include <array>

#include "lake/z85.h"

namespace dew::lake {
namespace {

constexpr uint32_t kPortableMagic = 1681511377;
constexpr uint32_t kNativeMagic = 1681511376;
constexpr char kFormatVersion = 1;
constexpr size_t kEncodedUuidLength = 20;

uint32_t GetLe32(std::string_view b) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(b[i]);
  return v;
}

uint32_t GetBe32(std::string_view b) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(b[i]);
  return v;
}

void PutBe32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xFF));
}

constexpr std::array<uint32_t, 256> CrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrcTable = CrcTable();

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> UuidBytes(const std::string& uuid) {
  std::string bytes;
  int high = -1;
  for (char c : uuid) {
    if (c == '-') continue;
    const int d = HexDigit(c);
    if (d < 0) return Status::InvalidArgument("malformed UUID '" + uuid + "'");
    if (high < 0) {
      high = d;
    } else {
      bytes.push_back(static_cast<char>(high << 4 | d));
      high = -1;
    }
  }
  if (bytes.size() != 16 || high >= 0)
    return Status::InvalidArgument("malformed UUID '" + uuid + "'");
  return bytes;
}

std::string UuidText(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    const unsigned char b = static_cast<unsigned char>(bytes[i]);
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

// A DV's bytes (magic and bitmap) as the positions they hold.
Result<RoaringBitmapArray> ParseDv(std::string_view data, const std::string& where) {
  if (data.size() < 4)
    return Status::Corruption(where + ": deletion vector shorter than its magic");
  const bool portable = GetLe32(data) == kPortableMagic;
  if (!portable && GetBe32(data) != kNativeMagic && GetLe32(data) != kNativeMagic) {
    return Status::Corruption(where + ": unknown deletion vector magic number " +
                              std::to_string(GetLe32(data)));
  }
  Result<RoaringBitmapArray> bitmap = portable
                                          ? RoaringBitmapArray::DeserializePortable(data.substr(4))
                                          : RoaringBitmapArray::DeserializeNative(data.substr(4));
  if (!bitmap.ok()) return bitmap.status().WithContext(where);
  return bitmap;
}

}  // namespace

uint32_t Crc32(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = kCrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string DeletionVectorDescriptor::UniqueId() const {
  std::string id = storage_type + path_or_inline_dv;
  if (offset.has_value()) id += "@" + std::to_string(*offset);
  return id;
}

Result<std::string> DeletionVectorPath(const std::string& table_root,
                                       const DeletionVectorDescriptor& dv) {
  if (dv.storage_type == "p") {
    const std::string& p = dv.path_or_inline_dv;
    if (p.rfind("file://", 0) == 0) return p.substr(7);
    if (p.rfind("file:", 0) == 0) return p.substr(5);
    return p;
  }
  if (dv.storage_type != "u") {
    return Status::InvalidArgument("deletion vector of storage type '" + dv.storage_type +
                                   "' has no file");
  }
  const std::string& text = dv.path_or_inline_dv;
  if (text.size() < kEncodedUuidLength) {
    return Status::Corruption("deletion vector path '" + text + "' is shorter than a Z85 UUID");
  }
  const std::string prefix = text.substr(0, text.size() - kEncodedUuidLength);
  auto uuid = Z85Decode(std::string_view(text).substr(text.size() - kEncodedUuidLength));
  if (!uuid.ok()) return uuid.status().WithContext("deletion vector path '" + text + "'");
  const std::string name = "deletion_vector_" + UuidText(*uuid) + ".bin";
  return JoinPath(table_root, prefix.empty() ? name : JoinPath(prefix, name));
}

Result<RoaringBitmapArray> ReadDeletionVector(FileSystem& fs, const std::string& table_root,
                                              const DeletionVectorDescriptor& dv) {
  RoaringBitmapArray bitmap;
  if (dv.storage_type == "i") {
    auto bytes = Z85Decode(dv.path_or_inline_dv);
    if (!bytes.ok()) return bytes.status().WithContext("inline deletion vector");
    DEW_ASSIGN_OR_RETURN(bitmap, ParseDv(*bytes, "inline deletion vector"));
  } else {
    DEW_ASSIGN_OR_RETURN(std::string path, DeletionVectorPath(table_root, dv));
    DEW_ASSIGN_OR_RETURN(std::string file, fs.ReadFile(path));
    const int64_t offset = dv.offset.value_or(1);
    if (file.empty() || file[0] != kFormatVersion) {
      return Status::Corruption("deletion vector file " + path + " is not of format version 1");
    }
    if (offset < 1 || dv.size_in_bytes < 4 ||
        static_cast<uint64_t>(offset) + 8 + static_cast<uint64_t>(dv.size_in_bytes) > file.size()) {
      return Status::Corruption("deletion vector file " + path + " is too short for offset " +
                                std::to_string(offset) + " and size " +
                                std::to_string(dv.size_in_bytes));
    }
    std::string_view all(file);
    const uint32_t size = GetBe32(all.substr(offset, 4));
    if (size != dv.size_in_bytes) {
      return Status::Corruption("deletion vector at offset " + std::to_string(offset) + " of " +
                                path + " has size " + std::to_string(size) + ", the log says " +
                                std::to_string(dv.size_in_bytes));
    }
    std::string_view data = all.substr(offset + 4, size);
    if (GetBe32(all.substr(offset + 4 + size, 4)) != Crc32(data)) {
      return Status::Corruption("deletion vector at offset " + std::to_string(offset) + " of " +
                                path + " fails its CRC-32 check");
    }
    DEW_ASSIGN_OR_RETURN(bitmap, ParseDv(data, path));
  }
  if (static_cast<int64_t>(bitmap.Cardinality()) != dv.cardinality) {
    return Status::Corruption("deletion vector " + dv.UniqueId() + " holds " +
                              std::to_string(bitmap.Cardinality()) + " rows, the log says " +
                              std::to_string(dv.cardinality));
  }
  return bitmap;
}

Result<std::vector<DeletionVectorDescriptor>> WriteDeletionVectors(
    FileSystem& fs, const std::string& table_root, const std::string& uuid,
    const std::vector<RoaringBitmapArray>& bitmaps) {
  DEW_ASSIGN_OR_RETURN(std::string uuid_bytes, UuidBytes(uuid));
  DEW_ASSIGN_OR_RETURN(std::string encoded, Z85Encode(uuid_bytes));
  std::string file(1, kFormatVersion);
  std::vector<DeletionVectorDescriptor> out;
  for (const auto& bitmap : bitmaps) {
    std::string data;
    for (int i = 0; i < 4; ++i)
      data.push_back(static_cast<char>((kPortableMagic >> (8 * i)) & 0xFF));
    data += bitmap.SerializePortable();
    DeletionVectorDescriptor dv;
    dv.storage_type = "u";
    dv.path_or_inline_dv = encoded;
    dv.offset = static_cast<int64_t>(file.size());
    dv.size_in_bytes = static_cast<int64_t>(data.size());
    dv.cardinality = static_cast<int64_t>(bitmap.Cardinality());
    PutBe32(&file, static_cast<uint32_t>(data.size()));
    file += data;
    PutBe32(&file, Crc32(data));
    out.push_back(std::move(dv));
  }
  DeletionVectorDescriptor probe;
  probe.storage_type = "u";
  probe.path_or_inline_dv = encoded;
  DEW_ASSIGN_OR_RETURN(std::string path, DeletionVectorPath(table_root, probe));
  // A fresh UUID names the file: exclusive creation makes a clash an error, never an overwrite.
  DEW_RETURN_IF_ERROR(fs.CreateExclusive(path, file));
  return out;
}

}  // namespace dew::lake
