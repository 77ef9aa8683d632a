// CsvScanner: finds where a CSV file breaks the shape its header promises, with line and column,
// because DuckDB's reader reports wrong field counts without a position (its sniffer gives up
// on the whole file). Used only after a load failed, so it favours clarity over speed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dew::lake {

//! A malformed spot: 1-based line and byte column, and what was expected there.
struct CsvProblem {
  int64_t line = 0;
  int64_t column = 0;
  std::string message;
};

//! Scans RFC 4180 CSV fed in pieces. The first record is the header and sets the expected field
//! count; blank lines are skipped. Not thread-safe.
class CsvScanner {
 public:
  CsvScanner(char delimiter, char quote) : delimiter_(delimiter), quote_(quote) {}

  //! Scans the next bytes; returns false once a problem was found (then stop feeding).
  bool Feed(std::string_view data);
  //! Ends the input (reports an unterminated quote or a short last record).
  void Finish();

  const std::optional<CsvProblem>& problem() const { return problem_; }
  const std::vector<std::string>& header() const { return header_; }

 private:
  void EndField();
  void EndRecord();

  const char delimiter_;
  const char quote_;
  int64_t line_ = 1;
  int64_t column_ = 0;  // of the byte being scanned
  bool in_quotes_ = false;
  bool after_quote_ = false;  // just saw a quote inside a quoted field
  bool field_started_ = false;
  bool record_has_bytes_ = false;
  int64_t fields_ = 0;
  int64_t record_line_ = 1;
  int64_t quote_line_ = 0, quote_column_ = 0;
  int64_t extra_field_column_ = 0;
  std::string field_;  // only filled for the header
  std::vector<std::string> header_;
  bool in_header_ = true;
  std::optional<CsvProblem> problem_;
};

//! The 1-based byte column where field `index` (0-based) starts in the CSV line `line`; 1 when
//! the line has fewer fields.
int64_t CsvFieldColumn(std::string_view line, size_t index, char delimiter, char quote);

//! The delimiter of a CSV header line: the most frequent of , ; tab | outside quotes (',' on a
//! tie or when none appears).
char GuessCsvDelimiter(std::string_view header_line, char quote);

}  // namespace dew::lake
