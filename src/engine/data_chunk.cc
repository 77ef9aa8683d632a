#include "engine/data_chunk.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "engine/engine_internal.h"

namespace dew::engine {
namespace {

duckdb_vector Vec(_duckdb_vector* v) { return v; }

std::string StringAt(duckdb_vector vec, uint64_t row) {
  auto* s = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vec)) + row;
  uint32_t len = s->value.inlined.length;
  if (len <= 12) return std::string(s->value.inlined.inlined, len);
  return std::string(s->value.pointer.ptr, len);
}

// Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

std::string FormatDate(int64_t days) {
  if (days == 2147483647) return "infinity";
  if (days == -2147483647) return "-infinity";
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[32];
  if (y <= 0) {
    std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u (BC)", static_cast<long long>(1 - y), m, d);
  } else {
    std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  }
  return buf;
}

std::string FormatTimeOfDay(int64_t micros) {
  int64_t h = micros / 3600000000LL;
  int64_t rem = micros % 3600000000LL;
  int64_t mi = rem / 60000000LL;
  rem %= 60000000LL;
  int64_t s = rem / 1000000LL;
  int64_t us = rem % 1000000LL;
  char buf[40];
  if (us == 0) {
    std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld", static_cast<long long>(h),
                  static_cast<long long>(mi), static_cast<long long>(s));
  } else {
    std::snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld.%06lld", static_cast<long long>(h),
                  static_cast<long long>(mi), static_cast<long long>(s),
                  static_cast<long long>(us));
    // Trim trailing zeros of the fraction, as DuckDB prints it.
    size_t len = std::strlen(buf);
    while (buf[len - 1] == '0') buf[--len] = '\0';
  }
  return buf;
}

std::string FormatTimestampMicros(int64_t micros) {
  if (micros == INT64_MAX) return "infinity";
  if (micros == -INT64_MAX) return "-infinity";
  int64_t days = micros / 86400000000LL;
  int64_t rem = micros % 86400000000LL;
  if (rem < 0) {
    rem += 86400000000LL;
    days -= 1;
  }
  return FormatDate(days) + " " + FormatTimeOfDay(rem);
}

std::string U128ToString(unsigned __int128 v) {
  if (v == 0) return "0";
  std::string out;
  while (v > 0) {
    out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return out;
}

std::string I128ToString(__int128 v) {
  if (v < 0) return "-" + U128ToString(static_cast<unsigned __int128>(-(v + 1)) + 1);
  return U128ToString(static_cast<unsigned __int128>(v));
}

__int128 HugeAt(duckdb_vector vec, uint64_t row) {
  auto* h = static_cast<duckdb_hugeint*>(duckdb_vector_get_data(vec)) + row;
  return (static_cast<__int128>(h->upper) << 64) | h->lower;
}

std::string FormatDecimal(__int128 unscaled, int scale) {
  bool neg = unscaled < 0;
  std::string digits = U128ToString(neg ? static_cast<unsigned __int128>(-(unscaled + 1)) + 1
                                        : static_cast<unsigned __int128>(unscaled));
  if (scale > 0) {
    if (static_cast<int>(digits.size()) <= scale) {
      digits.insert(0, static_cast<size_t>(scale) - digits.size() + 1, '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), ".");
  }
  return neg ? "-" + digits : digits;
}

template <typename T>
std::string FormatFloat(T v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  std::string out(buf, res.ptr);
  if (out == "inf") return "inf";
  if (out == "-inf") return "-inf";
  return out;
}

int64_t IntAt(duckdb_vector vec, TypeId physical, uint64_t row) {
  void* data = duckdb_vector_get_data(vec);
  switch (physical) {
    case TypeId::kBoolean: return static_cast<bool*>(data)[row] ? 1 : 0;
    case TypeId::kTinyInt: return static_cast<int8_t*>(data)[row];
    case TypeId::kSmallInt: return static_cast<int16_t*>(data)[row];
    case TypeId::kInteger:
    case TypeId::kDate: return static_cast<int32_t*>(data)[row];
    case TypeId::kUTinyInt: return static_cast<uint8_t*>(data)[row];
    case TypeId::kUSmallInt: return static_cast<uint16_t*>(data)[row];
    case TypeId::kUInteger: return static_cast<uint32_t*>(data)[row];
    case TypeId::kUBigInt: return static_cast<int64_t>(static_cast<uint64_t*>(data)[row]);
    case TypeId::kHugeInt: return static_cast<int64_t>(HugeAt(vec, row));
    default: return static_cast<int64_t*>(data)[row];
  }
}

std::string FormatCell(duckdb_vector vec, const LogicalType& type, uint64_t row);

std::string FormatNested(duckdb_vector vec, const LogicalType& type, uint64_t row) {
  auto child_text = [](duckdb_vector child, const LogicalType& t, uint64_t r) {
    uint64_t* validity = duckdb_vector_get_validity(child);
    if (validity && !duckdb_validity_row_is_valid(validity, r)) return std::string("NULL");
    return FormatCell(child, t, r);
  };
  switch (type.id) {
    case TypeId::kList:
    case TypeId::kMap: {
      auto* entry = static_cast<duckdb_list_entry*>(duckdb_vector_get_data(vec)) + row;
      duckdb_vector child = duckdb_list_vector_get_child(vec);
      std::string out = type.id == TypeId::kList ? "[" : "{";
      for (uint64_t i = 0; i < entry->length; i++) {
        if (i) out += ", ";
        uint64_t r = entry->offset + i;
        if (type.id == TypeId::kList) {
          out += child_text(child, type.children[0], r);
        } else {
          out += child_text(duckdb_struct_vector_get_child(child, 0), type.children[0], r) + "=" +
                 child_text(duckdb_struct_vector_get_child(child, 1), type.children[1], r);
        }
      }
      return out + (type.id == TypeId::kList ? "]" : "}");
    }
    case TypeId::kArray: {
      duckdb_vector child = duckdb_array_vector_get_child(vec);
      std::string out = "[";
      for (uint64_t i = 0; i < type.array_size; i++) {
        if (i) out += ", ";
        out += child_text(child, type.children[0], row * type.array_size + i);
      }
      return out + "]";
    }
    case TypeId::kStruct: {
      std::string out = "{";
      for (size_t i = 0; i < type.children.size(); i++) {
        if (i) out += ", ";
        out += "'" + type.child_names[i] + "': " +
               child_text(duckdb_struct_vector_get_child(vec, i), type.children[i], row);
      }
      return out + "}";
    }
    default:
      return "?";
  }
}

std::string FormatCell(duckdb_vector vec, const LogicalType& type, uint64_t row) {
  void* data = duckdb_vector_get_data(vec);
  switch (type.id) {
    case TypeId::kBoolean: return static_cast<bool*>(data)[row] ? "true" : "false";
    case TypeId::kTinyInt:
    case TypeId::kSmallInt:
    case TypeId::kInteger:
    case TypeId::kBigInt:
    case TypeId::kUTinyInt:
    case TypeId::kUSmallInt:
    case TypeId::kUInteger:
      return std::to_string(IntAt(vec, type.id, row));
    case TypeId::kUBigInt: return std::to_string(static_cast<uint64_t*>(data)[row]);
    case TypeId::kHugeInt: return I128ToString(HugeAt(vec, row));
    case TypeId::kUHugeInt: {
      auto* h = static_cast<duckdb_uhugeint*>(data) + row;
      return U128ToString((static_cast<unsigned __int128>(h->upper) << 64) | h->lower);
    }
    case TypeId::kFloat: return FormatFloat(static_cast<float*>(data)[row]);
    case TypeId::kDouble: return FormatFloat(static_cast<double*>(data)[row]);
    case TypeId::kVarchar: return StringAt(vec, row);
    case TypeId::kBlob: {
      std::string raw = StringAt(vec, row);
      std::string out;
      for (unsigned char c : raw) {
        if (c >= 32 && c < 127 && c != '\\') {
          out += static_cast<char>(c);
        } else {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02X", c);
          out += buf;
        }
      }
      return out;
    }
    case TypeId::kDate: return FormatDate(static_cast<int32_t*>(data)[row]);
    case TypeId::kTime: return FormatTimeOfDay(static_cast<int64_t*>(data)[row]);
    case TypeId::kTimestamp: return FormatTimestampMicros(static_cast<int64_t*>(data)[row]);
    case TypeId::kTimestampTz:
      return FormatTimestampMicros(static_cast<int64_t*>(data)[row]) + "+00";
    case TypeId::kTimestampS:
      return FormatTimestampMicros(static_cast<int64_t*>(data)[row] * 1000000);
    case TypeId::kTimestampMs:
      return FormatTimestampMicros(static_cast<int64_t*>(data)[row] * 1000);
    case TypeId::kTimestampNs: {
      int64_t ns = static_cast<int64_t*>(data)[row];
      return FormatTimestampMicros(ns / 1000);
    }
    case TypeId::kInterval: {
      auto* iv = static_cast<duckdb_interval*>(data) + row;
      std::string out;
      if (iv->months / 12) out += std::to_string(iv->months / 12) + " years";
      if (iv->months % 12) {
        out += (out.empty() ? "" : " ") + std::to_string(iv->months % 12) + " months";
      }
      if (iv->days) out += (out.empty() ? "" : " ") + std::to_string(iv->days) + " days";
      if (iv->micros || out.empty()) {
        int64_t us = iv->micros;
        std::string sign = us < 0 ? "-" : "";
        if (us < 0) us = -us;
        out += (out.empty() ? "" : " ") + sign + FormatTimeOfDay(us);
      }
      return out;
    }
    case TypeId::kDecimal: {
      __int128 unscaled = type.physical == TypeId::kHugeInt
                              ? HugeAt(vec, row)
                              : static_cast<__int128>(IntAt(vec, type.physical, row));
      return FormatDecimal(unscaled, type.scale);
    }
    case TypeId::kUuid: {
      auto* h = static_cast<duckdb_hugeint*>(data) + row;
      uint64_t upper = static_cast<uint64_t>(h->upper) ^ (uint64_t{1} << 63);
      char buf[40];
      std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
                    static_cast<unsigned>(upper >> 32), static_cast<unsigned>((upper >> 16) & 0xffff),
                    static_cast<unsigned>(upper & 0xffff), static_cast<unsigned>(h->lower >> 48),
                    static_cast<unsigned long long>(h->lower & 0xffffffffffffULL));
      return buf;
    }
    case TypeId::kEnum: {
      uint64_t idx = static_cast<uint64_t>(IntAt(vec, type.physical, row));
      return idx < type.enum_values.size() ? type.enum_values[idx] : "?";
    }
    case TypeId::kList:
    case TypeId::kMap:
    case TypeId::kArray:
    case TypeId::kStruct:
      return FormatNested(vec, type, row);
    default:
      return "<" + type.ToSql() + ">";
  }
}

}  // namespace

bool VectorView::IsNull(uint64_t row) const {
  uint64_t* validity = duckdb_vector_get_validity(Vec(vec_));
  return validity != nullptr && !duckdb_validity_row_is_valid(validity, row);
}

int64_t VectorView::GetInt64(uint64_t row) const {
  TypeId t = type_->id == TypeId::kDecimal || type_->id == TypeId::kEnum ? type_->physical
                                                                          : type_->id;
  return IntAt(Vec(vec_), t, row);
}

double VectorView::GetDouble(uint64_t row) const {
  void* data = duckdb_vector_get_data(Vec(vec_));
  switch (type_->id) {
    case TypeId::kFloat: return static_cast<float*>(data)[row];
    case TypeId::kDouble: return static_cast<double*>(data)[row];
    case TypeId::kDecimal: {
      double v = type_->physical == TypeId::kHugeInt
                     ? static_cast<double>(HugeAt(Vec(vec_), row))
                     : static_cast<double>(IntAt(Vec(vec_), type_->physical, row));
      for (int i = 0; i < type_->scale; i++) v /= 10;
      return v;
    }
    default: return static_cast<double>(GetInt64(row));
  }
}

std::string VectorView::GetString(uint64_t row) const { return StringAt(Vec(vec_), row); }

std::string_view VectorView::GetStringView(uint64_t row) const {
  auto* s = static_cast<duckdb_string_t*>(duckdb_vector_get_data(Vec(vec_))) + row;
  uint32_t len = s->value.inlined.length;
  if (len <= 12) return std::string_view(s->value.inlined.inlined, len);
  return std::string_view(s->value.pointer.ptr, len);
}

const void* VectorView::RawData() const { return duckdb_vector_get_data(Vec(vec_)); }

bool VectorView::AllValid(uint64_t rows) const {
  uint64_t* validity = duckdb_vector_get_validity(Vec(vec_));
  if (validity == nullptr) return true;
  for (uint64_t w = 0; w < rows / 64; ++w) {
    if (validity[w] != ~uint64_t{0}) return false;
  }
  for (uint64_t r = rows / 64 * 64; r < rows; ++r) {
    if (!duckdb_validity_row_is_valid(validity, r)) return false;
  }
  return true;
}

std::string VectorView::Format(uint64_t row) const { return FormatCell(Vec(vec_), *type_, row); }

VectorView::ListRange VectorView::GetListRange(uint64_t row) const {
  const auto* entry = static_cast<duckdb_list_entry*>(duckdb_vector_get_data(Vec(vec_))) + row;
  return ListRange{entry->offset, entry->length};
}

VectorView VectorView::ListChild() const {
  return VectorView(duckdb_list_vector_get_child(Vec(vec_)), &type_->children[0]);
}

// A MAP is a LIST of STRUCT(key, value): the struct's two children hold keys and values.
VectorView VectorView::MapKeys() const {
  return VectorView(duckdb_struct_vector_get_child(duckdb_list_vector_get_child(Vec(vec_)), 0),
                    &type_->children[0]);
}

VectorView VectorView::MapValues() const {
  return VectorView(duckdb_struct_vector_get_child(duckdb_list_vector_get_child(Vec(vec_)), 1),
                    &type_->children[1]);
}

DataChunk::DataChunk(_duckdb_data_chunk* chunk, const std::vector<LogicalType>* types)
    : chunk_(chunk), types_(types) {}

DataChunk::~DataChunk() {
  duckdb_data_chunk c = chunk_;
  duckdb_destroy_data_chunk(&c);
}

uint64_t DataChunk::size() const { return duckdb_data_chunk_get_size(chunk_); }

VectorView DataChunk::column(uint64_t index) const {
  return VectorView(duckdb_data_chunk_get_vector(chunk_, index), &(*types_)[index]);
}

}  // namespace dew::engine
