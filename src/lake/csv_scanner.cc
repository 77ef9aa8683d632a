#include "lake/csv_scanner.h"

#include <map>

namespace dew::lake {

void CsvScanner::EndField() {
  fields_++;
  if (in_header_) header_.push_back(field_);
  field_.clear();
  field_started_ = false;
}

void CsvScanner::EndRecord() {
  if (!record_has_bytes_) return;  // blank line
  EndField();
  if (in_header_) {
    in_header_ = false;
  } else if (fields_ != static_cast<int64_t>(header_.size())) {
    std::string names;
    for (size_t i = 0; i < header_.size() && i < 8; i++) names += (i ? ", " : "") + header_[i];
    if (header_.size() > 8) names += ", …";
    CsvProblem p;
    p.line = record_line_;
    if (fields_ > static_cast<int64_t>(header_.size())) {
      p.column = extra_field_column_;
      p.message = "expected " + std::to_string(header_.size()) + " fields (" + names +
                  ") as in the header, found " + std::to_string(fields_) + ": field " +
                  std::to_string(header_.size() + 1) + " starts here";
    } else {
      p.column = column_;
      p.message = "expected " + std::to_string(header_.size()) + " fields (" + names +
                  ") as in the header, found " + std::to_string(fields_) + ": the record ends here";
    }
    problem_ = std::move(p);
  }
  fields_ = 0;
  record_has_bytes_ = false;
  extra_field_column_ = 0;
}

bool CsvScanner::Feed(std::string_view data) {
  if (problem_) return false;
  for (char c : data) {
    column_++;
    if (in_quotes_) {
      if (after_quote_) {
        after_quote_ = false;
        if (c == quote_) {  // doubled quote: a literal quote
          if (in_header_) field_ += c;
          continue;
        }
        in_quotes_ = false;  // the quote closed the field; handle c below
      } else {
        if (c == quote_) {
          after_quote_ = true;
        } else {
          if (in_header_) field_ += c;
          if (c == '\n') {
            line_++;
            column_ = 0;
          }
        }
        continue;
      }
    }
    if (c == '\r') continue;
    if (c == '\n') {
      EndRecord();
      if (problem_) return false;
      line_++;
      column_ = 0;
      record_line_ = line_;
      continue;
    }
    if (!record_has_bytes_) {
      record_has_bytes_ = true;
      record_line_ = line_;
    }
    if (c == delimiter_) {
      EndField();
      if (!in_header_ && fields_ == static_cast<int64_t>(header_.size())) {
        extra_field_column_ = column_ + 1;
      }
      continue;
    }
    if (c == quote_ && !field_started_) {
      in_quotes_ = true;
      field_started_ = true;
      quote_line_ = line_;
      quote_column_ = column_;
      continue;
    }
    field_started_ = true;
    if (in_header_) field_ += c;
  }
  return !problem_;
}

void CsvScanner::Finish() {
  if (problem_) return;
  if (in_quotes_ && !after_quote_) {
    problem_ = CsvProblem{quote_line_, quote_column_,
                          "unterminated quoted field: the quote opened here is never closed"};
    return;
  }
  in_quotes_ = false;
  column_++;
  EndRecord();
}

int64_t CsvFieldColumn(std::string_view line, size_t index, char delimiter, char quote) {
  size_t field = 0;
  bool in_quotes = false;
  if (index == 0) return 1;
  for (size_t i = 0; i < line.size(); i++) {
    char c = line[i];
    if (c == quote) {
      in_quotes = !in_quotes;
    } else if (c == delimiter && !in_quotes) {
      if (++field == index) return static_cast<int64_t>(i) + 2;
    }
  }
  return 1;
}

char GuessCsvDelimiter(std::string_view header_line, char quote) {
  std::map<char, int> counts{{',', 0}, {';', 0}, {'\t', 0}, {'|', 0}};
  bool in_quotes = false;
  for (char c : header_line) {
    if (c == quote) in_quotes = !in_quotes;
    if (!in_quotes && counts.count(c)) counts[c]++;
  }
  char best = ',';
  for (char c : {',', ';', '\t', '|'}) {
    if (counts[c] > counts[best]) best = c;
  }
  return best;
}

}  // namespace dew::lake
