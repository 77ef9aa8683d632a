// SqlTokenizer: splits SQL text into tokens that keep their place in the source, so that a
// rewriter can replace a few spans and leave everything else (strings, quoted identifiers,
// comments, spacing) byte for byte as the user wrote it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace dew::lake {

enum class TokenKind {
  kWord,         //!< keyword or bare identifier
  kQuotedIdent,  //!< "identifier" ("" escapes a quote)
  kString,       //!< 'literal' ('' escapes a quote; E'..' allows backslash escapes)
  kNumber,
  kSymbol,  //!< one punctuation character
  kSpace,
  kComment,  //!< -- line or /* block */
};

struct Token {
  TokenKind kind = TokenKind::kSpace;
  size_t begin = 0;  //!< byte offset in the source
  size_t end = 0;    //!< one past the last byte
  std::string text;  //!< the source bytes of the token

  //! Whether this is the bare word `word` (case-insensitive).
  bool IsWord(std::string_view word) const;
  bool IsSymbol(char c) const {
    return kind == TokenKind::kSymbol && text.size() == 1 && text[0] == c;
  }
  //! Whether the token is code rather than whitespace or a comment.
  bool Significant() const { return kind != TokenKind::kSpace && kind != TokenKind::kComment; }
  //! The identifier's name: a bare word lower-cased, a quoted identifier unquoted verbatim.
  std::string Identifier() const;
  //! A string literal's value with its quotes removed and escapes undone.
  std::string StringValue() const;
};

//! Tokenizes `sql`. InvalidArgument naming the line and column of an unterminated string, quoted
//! identifier or block comment.
Result<std::vector<Token>> Tokenize(std::string_view sql);

//! The statements of a script, split at top-level semicolons (not inside strings, identifiers or
//! comments); statements holding only whitespace and comments are dropped. Each keeps its text
//! without the semicolon.
Result<std::vector<std::string>> SplitStatements(std::string_view sql);

}  // namespace dew::lake
