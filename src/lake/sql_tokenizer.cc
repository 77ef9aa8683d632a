#include "lake/sql_tokenizer.h"

#include <cctype>

namespace dew::lake {
namespace {

bool IsWordStart(unsigned char c) {
  return std::isalpha(c) || c == '_' || c >= 0x80;
}
bool IsWordChar(unsigned char c) {
  return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "line L, column C" of a byte offset, 1-based, for error messages.
std::string Where(std::string_view sql, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < sql.size(); i++) {
    if (sql[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

// Offset one past the closing `quote` of a quoted run starting at `start` (the opening quote);
// doubled quotes are escapes; with `backslash`, \x escapes too. npos when unterminated.
size_t ScanQuoted(std::string_view sql, size_t start, char quote, bool backslash) {
  size_t i = start + 1;
  while (i < sql.size()) {
    char c = sql[i];
    if (backslash && c == '\\') {
      i += 2;
      continue;
    }
    if (c == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return std::string_view::npos;
}

}  // namespace

bool Token::IsWord(std::string_view word) const {
  if (kind != TokenKind::kWord || text.size() != word.size()) return false;
  for (size_t i = 0; i < word.size(); i++) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(word[i]))) {
      return false;
    }
  }
  return true;
}

std::string Token::Identifier() const {
  if (kind != TokenKind::kQuotedIdent) return Lower(text);
  std::string out;
  for (size_t i = 1; i + 1 < text.size(); i++) {
    out += text[i];
    if (text[i] == '"') i++;
  }
  return out;
}

std::string Token::StringValue() const {
  size_t open = text.find('\'');
  if (open == std::string::npos) return text;
  bool backslash = open > 0;  // E'...'
  std::string out;
  for (size_t i = open + 1; i + 1 < text.size(); i++) {
    char c = text[i];
    if (backslash && c == '\\' && i + 2 < text.size()) {
      char n = text[++i];
      out += n == 'n' ? '\n' : n == 't' ? '\t' : n;
      continue;
    }
    out += c;
    if (c == '\'') i++;
  }
  return out;
}

Result<std::vector<Token>> Tokenize(std::string_view sql) {
  std::vector<Token> tokens;
  size_t i = 0;
  const size_t n = sql.size();
  auto push = [&](TokenKind kind, size_t begin, size_t end) {
    tokens.push_back(Token{kind, begin, end, std::string(sql.substr(begin, end - begin))});
  };
  while (i < n) {
    unsigned char c = sql[i];
    size_t start = i;
    if (std::isspace(c)) {
      while (i < n && std::isspace(static_cast<unsigned char>(sql[i]))) i++;
      push(TokenKind::kSpace, start, i);
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') i++;
      push(TokenKind::kComment, start, i);
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      size_t close = sql.find("*/", i + 2);
      if (close == std::string_view::npos) {
        return Status::InvalidArgument("unterminated /* comment starting at " + Where(sql, start));
      }
      i = close + 2;
      push(TokenKind::kComment, start, i);
    } else if (c == '\'' || ((c == 'e' || c == 'E') && i + 1 < n && sql[i + 1] == '\'')) {
      bool backslash = c != '\'';
      size_t quote = backslash ? i + 1 : i;
      size_t end = ScanQuoted(sql, quote, '\'', backslash);
      if (end == std::string_view::npos) {
        return Status::InvalidArgument("unterminated string literal starting at " +
                                       Where(sql, start));
      }
      i = end;
      push(TokenKind::kString, start, i);
    } else if (c == '"') {
      size_t end = ScanQuoted(sql, i, '"', false);
      if (end == std::string_view::npos) {
        return Status::InvalidArgument("unterminated quoted identifier starting at " +
                                       Where(sql, start));
      }
      i = end;
      push(TokenKind::kQuotedIdent, start, i);
    } else if (IsWordStart(c)) {
      while (i < n && IsWordChar(static_cast<unsigned char>(sql[i]))) i++;
      push(TokenKind::kWord, start, i);
    } else if (std::isdigit(c) || (c == '.' && i + 1 < n && std::isdigit(sql[i + 1]))) {
      while (i < n &&
             (std::isdigit(static_cast<unsigned char>(sql[i])) || sql[i] == '.' || sql[i] == '_')) {
        i++;
      }
      if (i < n && (sql[i] == 'e' || sql[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (sql[j] == '+' || sql[j] == '-')) j++;
        if (j < n && std::isdigit(static_cast<unsigned char>(sql[j]))) {
          i = j;
          while (i < n && std::isdigit(static_cast<unsigned char>(sql[i]))) i++;
        }
      }
      push(TokenKind::kNumber, start, i);
    } else {
      i++;
      push(TokenKind::kSymbol, start, i);
    }
  }
  return tokens;
}

Result<std::vector<std::string>> SplitStatements(std::string_view sql) {
  DEW_ASSIGN_OR_RETURN(auto tokens, Tokenize(sql));
  std::vector<std::string> out;
  size_t begin = 0;
  bool significant = false;
  for (const Token& t : tokens) {
    if (t.IsSymbol(';')) {
      if (significant) out.emplace_back(sql.substr(begin, t.begin - begin));
      begin = t.end;
      significant = false;
    } else if (t.Significant()) {
      significant = true;
    }
  }
  if (significant) out.emplace_back(sql.substr(begin));
  return out;
}

}  // namespace dew::lake
