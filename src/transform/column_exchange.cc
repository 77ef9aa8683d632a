#include "transform/column_exchange.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/appender.h"
#include "engine/connection.h"
#include "engine/data_chunk.h"
#include "engine/query_result.h"

namespace dew::transform {
namespace {

using engine::SqlIdent;
using engine::TypeId;

constexpr size_t kAlign = 64;
constexpr const char* kFormat = "dew-columns/1";

//! A type the exchange carries as is: its name, numpy dtype and bytes per value (0: VARCHAR).
struct ExchangeType {
  TypeId id;
  const char* name;
  const char* dtype;
  size_t width;
};

const ExchangeType kTypes[] = {
    {TypeId::kBoolean, "BOOLEAN", "|b1", 1},     {TypeId::kTinyInt, "TINYINT", "|i1", 1},
    {TypeId::kSmallInt, "SMALLINT", "<i2", 2},   {TypeId::kInteger, "INTEGER", "<i4", 4},
    {TypeId::kBigInt, "BIGINT", "<i8", 8},       {TypeId::kUTinyInt, "UTINYINT", "|u1", 1},
    {TypeId::kUSmallInt, "USMALLINT", "<u2", 2}, {TypeId::kUInteger, "UINTEGER", "<u4", 4},
    {TypeId::kUBigInt, "UBIGINT", "<u8", 8},     {TypeId::kFloat, "FLOAT", "<f4", 4},
    {TypeId::kDouble, "DOUBLE", "<f8", 8},       {TypeId::kDate, "DATE", "<i4", 4},
    {TypeId::kTimestamp, "TIMESTAMP", "<i8", 8}, {TypeId::kTimestampTz, "TIMESTAMPTZ", "<i8", 8},
    {TypeId::kVarchar, "VARCHAR", "|u1", 0},
};

const ExchangeType* ById(TypeId id) {
  for (const auto& t : kTypes) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

const ExchangeType* ByName(const std::string& name) {
  for (const auto& t : kTypes) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

//! The SELECT list that turns every column into an exchange type.
std::string ConvertedColumns(const engine::QueryResult& probe) {
  std::string out;
  for (size_t i = 0; i < probe.column_count(); ++i) {
    const std::string col = SqlIdent(probe.names()[i]);
    std::string expr = col;
    switch (probe.types()[i].id) {
      case TypeId::kDecimal:
      case TypeId::kHugeInt:
      case TypeId::kUHugeInt:
        expr = "CAST(" + col + " AS DOUBLE)";
        break;
      case TypeId::kTimestampS:
      case TypeId::kTimestampMs:
      case TypeId::kTimestampNs:
        expr = "CAST(" + col + " AS TIMESTAMP)";
        break;
      default:
        if (ById(probe.types()[i].id) == nullptr) expr = "CAST(" + col + " AS VARCHAR)";
    }
    out += (i ? ", " : "") + expr + " AS " + col;
  }
  return out;
}

//! One column being written: its arrays grow chunk by chunk.
struct ColumnBuffers {
  const ExchangeType* type = nullptr;
  std::string data;
  std::vector<int64_t> offsets{0};
  std::string valid;
  bool has_null = false;
};

void Append(std::string* bin, const void* bytes, size_t n, nlohmann::json* where) {
  *where = nlohmann::json::array({bin->size(), n});
  bin->append(static_cast<const char*>(bytes), n);
  bin->append((kAlign - bin->size() % kAlign) % kAlign, '\0');
}

}  // namespace

Result<int64_t> WriteColumns(engine::Connection& con, const std::string& select_sql, FileSystem& fs,
                             const std::string& prefix) {
  std::string select;
  {
    DEW_ASSIGN_OR_RETURN(auto probe,
                         con.Query("SELECT * FROM (" + select_sql + ") AS dew_input LIMIT 0"));
    select = probe->column_count() == 0
                 ? select_sql
                 : "SELECT " + ConvertedColumns(*probe) + " FROM (" + select_sql + ") AS dew_input";
  }
  DEW_ASSIGN_OR_RETURN(auto result, con.Query(select));
  std::vector<ColumnBuffers> cols(result->column_count());
  for (size_t c = 0; c < cols.size(); ++c) cols[c].type = ById(result->types()[c].id);
  int64_t rows = 0;
  while (true) {
    DEW_ASSIGN_OR_RETURN(auto chunk, result->Fetch());
    if (!chunk) break;
    const uint64_t n = chunk->size();
    for (size_t c = 0; c < cols.size(); ++c) {
      ColumnBuffers& b = cols[c];
      engine::VectorView v = chunk->column(c);
      const bool all_valid = v.AllValid(n);
      // The validity mask is only written for a column with a NULL, so it starts at the first
      // chunk that has one (the rows before it were all valid).
      if (!all_valid && !b.has_null) {
        b.has_null = true;
        b.valid.assign(static_cast<size_t>(rows), '\1');
      }
      if (b.has_null) {
        for (uint64_t r = 0; r < n; ++r) b.valid.push_back(v.IsNull(r) ? '\0' : '\1');
      }
      if (b.type->width > 0) {
        b.data.append(static_cast<const char*>(v.RawData()), n * b.type->width);
        continue;
      }
      for (uint64_t r = 0; r < n; ++r) {
        if (all_valid || !v.IsNull(r)) b.data.append(v.GetStringView(r));
        b.offsets.push_back(static_cast<int64_t>(b.data.size()));
      }
    }
    rows += static_cast<int64_t>(n);
  }
  // One allocation for the whole file: growing it column by column copied it over and over.
  size_t total = 0;
  for (const ColumnBuffers& b : cols) {
    total += b.data.size() + kAlign;
    if (b.type->width == 0) total += b.offsets.size() * sizeof(int64_t) + kAlign;
    if (b.has_null) total += b.valid.size() + kAlign;
  }
  std::string bin;
  bin.reserve(total);
  nlohmann::json columns = nlohmann::json::array();
  for (size_t c = 0; c < cols.size(); ++c) {
    ColumnBuffers& b = cols[c];
    nlohmann::json col = {{"name", result->names()[c]},
                          {"type", b.type->name},
                          {"dtype", b.type->dtype},
                          {"valid", nullptr}};
    Append(&bin, b.data.data(), b.data.size(), &col["data"]);
    if (b.type->width == 0)
      Append(&bin, b.offsets.data(), b.offsets.size() * sizeof(int64_t), &col["offsets"]);
    if (b.has_null) Append(&bin, b.valid.data(), b.valid.size(), &col["valid"]);
    b = ColumnBuffers{};  // copied: give the memory back before the next column
    columns.push_back(std::move(col));
  }
  DEW_RETURN_IF_ERROR(fs.WriteFile(prefix + ".bin", bin));
  nlohmann::json schema = {{"format", kFormat}, {"rows", rows}, {"columns", columns}};
  DEW_RETURN_IF_ERROR(fs.WriteFile(prefix + ".json", schema.dump()));
  return rows;
}

Result<int64_t> LoadColumns(FileSystem& fs, const std::string& prefix, engine::Connection& con,
                            const std::string& table) {
  const std::string schema_path = prefix + ".json";
  DEW_ASSIGN_OR_RETURN(std::string schema_text, fs.ReadFile(schema_path));
  DEW_ASSIGN_OR_RETURN(std::string bin, fs.ReadFile(prefix + ".bin"));
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument(schema_path + ": " + what);
  };
  nlohmann::json schema = nlohmann::json::parse(schema_text, nullptr, false);
  if (schema.is_discarded() || !schema.is_object()) return bad("not a JSON object");
  if (schema.value("format", "") != kFormat) return bad("format is not " + std::string(kFormat));
  if (!schema.contains("rows") || !schema["rows"].is_number_integer() || schema["rows"] < 0)
    return bad("rows: expected a count");
  if (!schema.contains("columns") || !schema["columns"].is_array() || schema["columns"].empty())
    return bad("columns: expected a non-empty list");
  const uint64_t rows = schema["rows"].get<uint64_t>();

  // Returns the bytes of array `field` of column `col`, checking it lies inside the .bin.
  auto array = [&](const nlohmann::json& col, const char* field, uint64_t expected_bytes,
                   const std::string& name) -> Result<const char*> {
    const nlohmann::json& a = col[field];
    if (!a.is_array() || a.size() != 2 || !a[0].is_number_unsigned() || !a[1].is_number_unsigned())
      return bad("column " + name + ": " + field + ": expected [offset, length]");
    const uint64_t offset = a[0].get<uint64_t>(), length = a[1].get<uint64_t>();
    if (offset > bin.size() || length > bin.size() - offset)
      return bad("column " + name + ": " + field + " lies outside " + prefix + ".bin");
    if (expected_bytes != UINT64_MAX && length != expected_bytes)
      return bad("column " + name + ": " + field + " holds " + std::to_string(length) +
                 " bytes, expected " + std::to_string(expected_bytes) + " for " +
                 std::to_string(rows) + " rows");
    if (offset % 8 != 0) return bad("column " + name + ": " + field + " is not 8-byte aligned");
    return bin.data() + offset;
  };

  std::vector<engine::ColumnSpan> spans;
  std::string create;
  for (const nlohmann::json& col : schema["columns"]) {
    if (!col.is_object() || !col.contains("name") || !col["name"].is_string())
      return bad("a column without a name");
    const std::string name = col["name"].get<std::string>();
    const ExchangeType* type = ByName(col.value("type", ""));
    if (type == nullptr)
      return bad("column " + name + ": unknown type '" + col.value("type", "") + "'");
    engine::ColumnSpan span;
    span.type = type->id;
    if (type->width > 0) {
      DEW_ASSIGN_OR_RETURN(const char* data, array(col, "data", rows * type->width, name));
      span.values = data;
    } else {
      DEW_ASSIGN_OR_RETURN(const char* offsets,
                           array(col, "offsets", (rows + 1) * sizeof(int64_t), name));
      DEW_ASSIGN_OR_RETURN(const char* data, array(col, "data", UINT64_MAX, name));
      span.values = data;
      span.offsets = reinterpret_cast<const int64_t*>(offsets);
      const uint64_t data_bytes = col["data"][1].get<uint64_t>();
      for (uint64_t r = 0; r < rows; ++r) {
        if (span.offsets[r] < 0 || span.offsets[r] > span.offsets[r + 1] ||
            static_cast<uint64_t>(span.offsets[r + 1]) > data_bytes)
          return bad("column " + name + ": offsets are not increasing within the data (row " +
                     std::to_string(r) + ")");
      }
    }
    if (col.contains("valid") && !col["valid"].is_null()) {
      DEW_ASSIGN_OR_RETURN(const char* valid, array(col, "valid", rows, name));
      span.valid = reinterpret_cast<const uint8_t*>(valid);
    }
    spans.push_back(span);
    create += (create.empty() ? "" : ", ") + SqlIdent(name) + " " + type->name;
  }
  DEW_RETURN_IF_ERROR(
      con.Execute("CREATE OR REPLACE TABLE main." + SqlIdent(table) + " (" + create + ")"));
  DEW_ASSIGN_OR_RETURN(auto appender, con.CreateAppender("main", table));
  DEW_RETURN_IF_ERROR(appender->AppendColumns(spans, rows));
  DEW_RETURN_IF_ERROR(appender->Close());
  return static_cast<int64_t>(rows);
}

}  // namespace dew::transform
