#include "cli/output.h"

#include <algorithm>

#include "engine/data_chunk.h"

namespace dew::cli {
namespace {

using engine::TypeId;

// Terminal columns taken by UTF-8 text: one per code point.
size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) n++;
  }
  return n;
}

std::string OneLine(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  return out;
}

void Put(std::FILE* out, const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), out);
}

}  // namespace

Result<OutputFormat> ParseOutputFormat(const std::string& name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  return Status::InvalidArgument("unknown output format '" + name +
                                 "': expected table, csv or json");
}

bool IsNumeric(const engine::LogicalType& type) {
  switch (type.id) {
    case TypeId::kTinyInt:
    case TypeId::kSmallInt:
    case TypeId::kInteger:
    case TypeId::kBigInt:
    case TypeId::kUTinyInt:
    case TypeId::kUSmallInt:
    case TypeId::kUInteger:
    case TypeId::kUBigInt:
    case TypeId::kFloat:
    case TypeId::kDouble:
    case TypeId::kHugeInt:
    case TypeId::kUHugeInt:
    case TypeId::kDecimal:
      return true;
    default:
      return false;
  }
}

std::string JsonString(const std::string& value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void ResultWriter::Begin(const std::vector<std::string>& names,
                         const std::vector<engine::LogicalType>& types) {
  names_ = names;
  types_ = types;
  rows_.clear();
  written_ = 0;
  dropped_ = 0;
  if (format_ == OutputFormat::kCsv && !names.empty()) {
    std::string line;
    for (size_t i = 0; i < names.size(); i++) line += (i ? "," : "") + CsvField(names[i]);
    Put(out_, line + "\n");
  } else if (format_ == OutputFormat::kJson) {
    Put(out_, "[");
  }
}

void ResultWriter::Row(const std::vector<std::optional<std::string>>& values) {
  if (format_ == OutputFormat::kTable) {
    if (rows_.size() < kMaxTableRows) {
      rows_.push_back(values);
    } else {
      dropped_++;
    }
    return;
  }
  std::string line;
  if (format_ == OutputFormat::kCsv) {
    for (size_t i = 0; i < values.size(); i++) {
      if (i) line += ",";
      if (values[i]) line += CsvField(*values[i]);
    }
    line += "\n";
  } else {
    line = written_ ? ",\n  {" : "\n  {";
    for (size_t i = 0; i < values.size(); i++) {
      if (i) line += ", ";
      line += JsonString(names_[i]) + ": ";
      const auto& v = values[i];
      if (!v) {
        line += "null";
      } else if (types_[i].id == TypeId::kBoolean) {
        line += *v == "true" ? "true" : "false";
      } else if (IsNumeric(types_[i]) &&
                 v->find_first_not_of("0123456789.-+eE") == std::string::npos) {
        line += *v;
      } else {
        line += JsonString(*v);
      }
    }
    line += "}";
  }
  written_++;
  Put(out_, line);
}

void ResultWriter::End() {
  if (format_ == OutputFormat::kJson) {
    Put(out_, written_ ? "\n]\n" : "]\n");
    return;
  }
  if (format_ != OutputFormat::kTable || names_.empty()) return;
  std::vector<size_t> width(names_.size());
  for (size_t c = 0; c < names_.size(); c++) width[c] = DisplayWidth(names_[c]);
  for (auto& row : rows_) {
    for (size_t c = 0; c < row.size(); c++) {
      if (row[c]) row[c] = OneLine(*row[c]);
      width[c] = std::max(width[c], row[c] ? DisplayWidth(*row[c]) : 4);
    }
  }
  auto cell = [&](const std::string& s, size_t c, bool right) {
    std::string pad(width[c] - DisplayWidth(s), ' ');
    return right ? pad + s : s + pad;
  };
  std::string line;
  for (size_t c = 0; c < names_.size(); c++) {
    line += (c ? " | " : "") + cell(names_[c], c, IsNumeric(types_[c]));
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  Put(out_, line + "\n");
  line.clear();
  for (size_t c = 0; c < names_.size(); c++) line += (c ? "-+-" : "") + std::string(width[c], '-');
  Put(out_, line + "\n");
  for (const auto& row : rows_) {
    line.clear();
    for (size_t c = 0; c < row.size(); c++) {
      line += (c ? " | " : "") + cell(row[c] ? *row[c] : "NULL", c, IsNumeric(types_[c]));
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    Put(out_, line + "\n");
  }
  if (dropped_ > 0) {
    std::fprintf(
        notes_,
        "dew: showed the first %zu rows; %zu more not shown (use --format csv or json for all)\n",
        rows_.size(), dropped_);
  }
  rows_.clear();
}

void ResultWriter::Write(const engine::TextTable& table) {
  Begin(table.names, table.types);
  for (const auto& row : table.rows) Row(row);
  End();
}

Status ResultWriter::Write(engine::QueryResult& result) {
  Begin(result.names(), result.types());
  std::vector<std::optional<std::string>> row(result.column_count());
  while (true) {
    DEW_ASSIGN_OR_RETURN(auto chunk, result.Fetch());
    if (!chunk) break;
    std::vector<engine::VectorView> cols;
    for (uint64_t c = 0; c < chunk->column_count(); c++) cols.push_back(chunk->column(c));
    for (uint64_t r = 0; r < chunk->size(); r++) {
      for (size_t c = 0; c < cols.size(); c++) {
        if (cols[c].IsNull(r)) {
          row[c].reset();
        } else {
          row[c] = cols[c].Format(r);
        }
      }
      Row(row);
    }
  }
  End();
  return Status::OK();
}

}  // namespace dew::cli
