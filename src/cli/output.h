// Output: prints results as an aligned table (numbers right-aligned), CSV (RFC 4180) or JSON (an
// array of objects, numbers as numbers, NULL as null).
#pragma once

#include <cstdio>
#include <string>

#include "core/status.h"
#include "engine/connection.h"
#include "engine/query_result.h"

namespace dew::cli {

enum class OutputFormat { kTable, kCsv, kJson };

//! "table", "csv" or "json"; InvalidArgument listing them otherwise.
Result<OutputFormat> ParseOutputFormat(const std::string& name);

//! Writes rows to a FILE it borrows. Begin once, Row per row, End once. CSV and JSON rows are
//! written as they come (constant memory); the table format keeps rows until End to align them,
//! at most kMaxTableRows of them (End then says on `notes` how many more there were).
class ResultWriter {
 public:
  static constexpr size_t kMaxTableRows = 10000;

  ResultWriter(OutputFormat format, std::FILE* out, std::FILE* notes = stderr)
      : format_(format), out_(out), notes_(notes) {}

  void Begin(const std::vector<std::string>& names, const std::vector<engine::LogicalType>& types);
  void Row(const std::vector<std::optional<std::string>>& values);
  void End();

  //! The whole of `table`.
  void Write(const engine::TextTable& table);
  //! Streams every chunk of `result`; the Status of a failure while streaming.
  Status Write(engine::QueryResult& result);

 private:
  OutputFormat format_;
  std::FILE* out_;
  std::FILE* notes_;
  size_t dropped_ = 0;  // table rows beyond kMaxTableRows
  std::vector<std::string> names_;
  std::vector<engine::LogicalType> types_;
  std::vector<std::vector<std::optional<std::string>>> rows_;  // table format only
  size_t written_ = 0;
};

//! Whether values of `type` print as numbers (right-aligned; bare in JSON).
bool IsNumeric(const engine::LogicalType& type);
//! `value` as a JSON string literal.
std::string JsonString(const std::string& value);
//! `value` as a CSV field, quoted when it holds a comma, quote, CR or LF.
std::string CsvField(const std::string& value);
//! The type of a column of a table the CLI builds itself (only the id matters for printing).
inline engine::LogicalType TypeOf(engine::TypeId id) {
  engine::LogicalType t;
  t.id = id;
  return t;
}

}  // namespace dew::cli
