#include "transform/jinja.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace dew::transform {

const Value* CallArgs::Keyword(const std::string& name) const {
  for (const auto& [k, v] : keyword) {
    if (k == name) return &v;
  }
  return nullptr;
}

namespace jinja_internal {

struct Pos {
  int line = 1;
  int col = 1;
};

// ---------------------------------------------------------------------------------------------
// Expressions

struct Expr {
  enum class Kind {
    kLiteral,
    kName,
    kAttr,
    kItem,
    kCall,
    kFilter,
    kTest,
    kUnary,
    kBinary,
    kCond,
    kList,
    kDict,
  };
  Kind kind;
  Pos pos;
  Value literal;                            // kLiteral
  std::string name;                         // kName, kAttr, kFilter, kTest, kUnary/kBinary op
  std::vector<std::unique_ptr<Expr>> kids;  // operands, list items, dict key/value pairs
  std::vector<std::pair<std::string, std::unique_ptr<Expr>>> kwargs;  // kCall, kFilter
  bool negate = false;                                                // kTest: `is not`
};
using ExprPtr = std::unique_ptr<Expr>;

// ---------------------------------------------------------------------------------------------
// Statements

struct Node {
  enum class Kind { kBlock, kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kDo };
  Kind kind = Kind::kBlock;
  Pos pos;
  std::string text;                  // kText; kSet/kSetBlock/kMacro: the name
  std::vector<std::string> targets;  // kFor: loop variables; kMacro: parameters
  // kOutput, kDo: [e]; kIf: conditions; kFor: [iterable]; kSet: [value]; kMacro: one default per
  // parameter (nullptr when it has none)
  std::vector<ExprPtr> exprs;
  // kIf: one per condition (+ else); kFor: body, else; kSetBlock, kMacro: body
  std::vector<std::shared_ptr<Node>> bodies;
  std::vector<std::shared_ptr<Node>> children;  // kBlock
};

// ---------------------------------------------------------------------------------------------
// Lexing

struct Token {
  enum class Kind { kName, kNumber, kString, kOp, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;
  Value value;
  Pos pos;
};

struct Segment {
  enum class Kind { kText, kExpr, kStmt };
  Kind kind;
  std::string text;  // raw content between the delimiters, or the text
  Pos pos;           // where the content starts
  Pos open;          // where the delimiter starts
};

class Failure {
 public:
  explicit Failure(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  Status At(Pos p, const std::string& problem) const {
    return Status::InvalidArgument(name_ + ":" + std::to_string(p.line) + ":" +
                                   std::to_string(p.col) + ": " + problem);
  }

 private:
  std::string name_;
};

void Advance(Pos* p, char c) {
  if (c == '\n') {
    p->line++;
    p->col = 1;
  } else {
    p->col++;
  }
}

void RStripSpace(std::string* s) {
  while (!s->empty() && std::isspace(static_cast<unsigned char>(s->back()))) s->pop_back();
}

Result<std::vector<Segment>> Split(std::string_view text, const Failure& fail) {
  std::vector<Segment> out;
  Pos pos;
  size_t i = 0;
  bool strip_next = false;
  std::string current;
  Pos current_pos = pos;
  auto flush_text = [&] {
    if (!current.empty()) out.push_back({Segment::Kind::kText, current, current_pos, current_pos});
    current.clear();
  };
  while (i < text.size()) {
    if (text[i] == '{' && i + 1 < text.size() &&
        (text[i + 1] == '{' || text[i + 1] == '%' || text[i + 1] == '#')) {
      const char kind = text[i + 1];
      const char close = kind == '{' ? '}' : kind;
      const Pos open = pos;
      bool lstrip = i + 2 < text.size() && text[i + 2] == '-';
      if (lstrip) RStripSpace(&current);
      flush_text();
      size_t start = i + 2 + (lstrip ? 1 : 0);
      Pos p = pos;
      for (size_t k = i; k < start; ++k) Advance(&p, text[k]);
      const Pos content_pos = p;
      size_t j = start;
      // Find the closing delimiter, skipping string literals inside expressions.
      char quote = 0;
      while (j + 1 < text.size()) {
        char c = text[j];
        if (kind != '#' && quote == 0 && (c == '\'' || c == '"')) {
          quote = c;
        } else if (quote != 0 && c == quote && text[j - 1] != '\\') {
          quote = 0;
        } else if (quote == 0 && c == close && text[j + 1] == '}') {
          break;
        }
        ++j;
      }
      if (j + 1 >= text.size()) {
        const char* what = kind == '{'   ? "'{{' without its '}}'"
                           : kind == '%' ? "'{%' without its '%}'"
                                         : "'{#' comment without its '#}'";
        return fail.At(open, std::string("unclosed ") + what);
      }
      size_t end = j;
      bool rstrip = end > start && text[end - 1] == '-';
      std::string content(text.substr(start, end - (rstrip ? 1 : 0) - start));
      for (size_t k = i; k < j + 2; ++k) Advance(&pos, text[k]);
      i = j + 2;
      if (kind != '#') {
        out.push_back({kind == '{' ? Segment::Kind::kExpr : Segment::Kind::kStmt, content,
                       content_pos, open});
      }
      strip_next = rstrip;
      current_pos = pos;
      if (strip_next) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) {
          Advance(&pos, text[i]);
          ++i;
        }
        current_pos = pos;
      }
      continue;
    }
    if (current.empty()) current_pos = pos;
    current += text[i];
    Advance(&pos, text[i]);
    ++i;
  }
  flush_text();
  return out;
}

Result<std::vector<Token>> Tokenize(const std::string& src, Pos start, const Failure& fail) {
  std::vector<Token> out;
  Pos pos = start;
  size_t i = 0;
  auto step = [&](size_t n) {
    for (size_t k = 0; k < n && i < src.size(); ++k) Advance(&pos, src[i++]);
  };
  while (i < src.size()) {
    char c = src[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      step(1);
      continue;
    }
    Token t;
    t.pos = pos;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < src.size() && (std::isalnum(static_cast<unsigned char>(src[j])) || src[j] == '_'))
        ++j;
      t.kind = Token::Kind::kName;
      t.text = src.substr(i, j - i);
      step(j - i);
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      bool is_float = false;
      while (j < src.size() && (std::isdigit(static_cast<unsigned char>(src[j])) || src[j] == '_'))
        ++j;
      if (j + 1 < src.size() && src[j] == '.' &&
          std::isdigit(static_cast<unsigned char>(src[j + 1]))) {
        is_float = true;
        ++j;
        while (j < src.size() && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
      }
      std::string digits;
      for (size_t k = i; k < j; ++k) {
        if (src[k] != '_') digits += src[k];
      }
      t.kind = Token::Kind::kNumber;
      t.text = digits;
      if (is_float) {
        t.value = std::strtod(digits.c_str(), nullptr);
      } else {
        t.value = static_cast<int64_t>(std::strtoll(digits.c_str(), nullptr, 10));
      }
      step(j - i);
    } else if (c == '\'' || c == '"') {
      std::string s;
      size_t j = i + 1;
      bool closed = false;
      while (j < src.size()) {
        if (src[j] == '\\' && j + 1 < src.size()) {
          char e = src[j + 1];
          s += e == 'n' ? '\n' : e == 't' ? '\t' : e;
          j += 2;
          continue;
        }
        if (src[j] == c) {
          closed = true;
          break;
        }
        s += src[j++];
      }
      if (!closed) return fail.At(pos, "unterminated string literal");
      t.kind = Token::Kind::kString;
      t.value = s;
      step(j + 1 - i);
    } else {
      static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "(", ")", "[",
                                   "]",  "{",  "}",  ",",  ":",  ".",  "|", "=", "<",
                                   ">",  "+",  "-",  "*",  "/",  "%",  "~"};
      std::string op;
      for (const char* o : kOps) {
        if (src.compare(i, std::strlen(o), o) == 0) {
          op = o;
          break;
        }
      }
      if (op.empty()) return fail.At(pos, std::string("unexpected character '") + c + "'");
      t.kind = Token::Kind::kOp;
      t.text = op;
      step(op.size());
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.kind = Token::Kind::kEnd;
  end.pos = pos;
  out.push_back(end);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Expression parsing (Jinja's precedence: conditional < or < and < not < compare < + - < ~ <
// * / // % < ** < unary < postfix)

class ExprParser {
 public:
  ExprParser(std::vector<Token> tokens, const Failure& fail)
      : tokens_(std::move(tokens)), fail_(fail) {}

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(i_ + ahead, tokens_.size() - 1)];
  }
  bool AtEnd() const { return Peek().kind == Token::Kind::kEnd; }
  bool IsOp(const char* op, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::Kind::kOp && Peek(ahead).text == op;
  }
  bool IsName(const char* name, size_t ahead = 0) const {
    return Peek(ahead).kind == Token::Kind::kName && Peek(ahead).text == name;
  }
  Token Next() { return tokens_[std::min(i_++, tokens_.size() - 1)]; }

  Status Expect(const char* op) {
    if (!IsOp(op))
      return fail_.At(Peek().pos, std::string("expected '") + op + "', got " + Shown());
    ++i_;
    return Status::OK();
  }
  std::string Shown() const {
    const Token& t = Peek();
    if (t.kind == Token::Kind::kEnd) return "the end of the expression";
    if (t.kind == Token::Kind::kString) return "a string";
    return "'" + t.text + "'";
  }
  Result<std::string> ExpectName(const std::string& what) {
    if (Peek().kind != Token::Kind::kName)
      return fail_.At(Peek().pos, "expected " + what + ", got " + Shown());
    return Next().text;
  }
  Status ExpectEnd(const std::string& context) {
    if (!AtEnd()) return fail_.At(Peek().pos, "unexpected " + Shown() + " " + context);
    return Status::OK();
  }

  Result<ExprPtr> Parse() { return ParseConditional(); }

  //! A comma-free expression without the conditional form (for-loop iterables).
  Result<ExprPtr> ParseNoConditional() { return ParseOr(); }

 private:
  static ExprPtr Make(Expr::Kind kind, Pos pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }
  static ExprPtr Binary(const std::string& op, ExprPtr l, ExprPtr r, Pos pos) {
    auto e = Make(Expr::Kind::kBinary, pos);
    e->name = op;
    e->kids.push_back(std::move(l));
    e->kids.push_back(std::move(r));
    return e;
  }

  Result<ExprPtr> ParseConditional() {
    DEW_ASSIGN_OR_RETURN(ExprPtr then, ParseOr());
    if (!IsName("if")) return then;
    Pos pos = Next().pos;
    DEW_ASSIGN_OR_RETURN(ExprPtr cond, ParseOr());
    ExprPtr otherwise;
    if (IsName("else")) {
      Next();
      DEW_ASSIGN_OR_RETURN(otherwise, ParseConditional());
    } else {
      otherwise = Make(Expr::Kind::kLiteral, pos);
      otherwise->literal = "";
    }
    auto e = Make(Expr::Kind::kCond, pos);
    e->kids.push_back(std::move(then));
    e->kids.push_back(std::move(cond));
    e->kids.push_back(std::move(otherwise));
    return e;
  }

  Result<ExprPtr> ParseOr() {
    DEW_ASSIGN_OR_RETURN(ExprPtr l, ParseAnd());
    while (IsName("or")) {
      Pos pos = Next().pos;
      DEW_ASSIGN_OR_RETURN(ExprPtr r, ParseAnd());
      l = Binary("or", std::move(l), std::move(r), pos);
    }
    return l;
  }
  Result<ExprPtr> ParseAnd() {
    DEW_ASSIGN_OR_RETURN(ExprPtr l, ParseNot());
    while (IsName("and")) {
      Pos pos = Next().pos;
      DEW_ASSIGN_OR_RETURN(ExprPtr r, ParseNot());
      l = Binary("and", std::move(l), std::move(r), pos);
    }
    return l;
  }
  Result<ExprPtr> ParseNot() {
    if (IsName("not")) {
      Pos pos = Next().pos;
      DEW_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
      auto e = Make(Expr::Kind::kUnary, pos);
      e->name = "not";
      e->kids.push_back(std::move(operand));
      return e;
    }
    return ParseCompare();
  }
  Result<ExprPtr> ParseCompare() {
    DEW_ASSIGN_OR_RETURN(ExprPtr l, ParseAdd());
    while (true) {
      std::string op;
      Pos pos = Peek().pos;
      if (Peek().kind == Token::Kind::kOp &&
          (Peek().text == "==" || Peek().text == "!=" || Peek().text == "<" ||
           Peek().text == "<=" || Peek().text == ">" || Peek().text == ">=")) {
        op = Next().text;
      } else if (IsName("in")) {
        Next();
        op = "in";
      } else if (IsName("not") && IsName("in", 1)) {
        Next();
        Next();
        op = "not in";
      } else {
        return l;
      }
      DEW_ASSIGN_OR_RETURN(ExprPtr r, ParseAdd());
      l = Binary(op, std::move(l), std::move(r), pos);
    }
  }
  Result<ExprPtr> ParseAdd() {
    DEW_ASSIGN_OR_RETURN(ExprPtr l, ParseConcat());
    while (IsOp("+") || IsOp("-")) {
      Token t = Next();
      DEW_ASSIGN_OR_RETURN(ExprPtr r, ParseConcat());
      l = Binary(t.text, std::move(l), std::move(r), t.pos);
    }
    return l;
  }
  Result<ExprPtr> ParseConcat() {
    DEW_ASSIGN_OR_RETURN(ExprPtr l, ParseMul());
    while (IsOp("~")) {
      Token t = Next();
      DEW_ASSIGN_OR_RETURN(ExprPtr r, ParseMul());
      l = Binary("~", std::move(l), std::move(r), t.pos);
    }
    return l;
  }
  Result<ExprPtr> ParseMul() {
    DEW_ASSIGN_OR_RETURN(ExprPtr l, ParsePow());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      Token t = Next();
      DEW_ASSIGN_OR_RETURN(ExprPtr r, ParsePow());
      l = Binary(t.text, std::move(l), std::move(r), t.pos);
    }
    return l;
  }
  Result<ExprPtr> ParsePow() {
    DEW_ASSIGN_OR_RETURN(ExprPtr l, ParseUnary());
    while (IsOp("**")) {
      Token t = Next();
      DEW_ASSIGN_OR_RETURN(ExprPtr r, ParseUnary());
      l = Binary("**", std::move(l), std::move(r), t.pos);
    }
    return l;
  }
  Result<ExprPtr> ParseUnary() {
    if (IsOp("-") || IsOp("+")) {
      Token t = Next();
      DEW_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary());
      auto e = Make(Expr::Kind::kUnary, t.pos);
      e->name = t.text;
      e->kids.push_back(std::move(operand));
      return e;
    }
    return ParsePostfix();
  }

  Status ParseArgs(Expr* call) {
    // After '(': positional and keyword arguments up to ')'.
    while (!IsOp(")")) {
      if (Peek().kind == Token::Kind::kName && IsOp("=", 1)) {
        std::string key = Next().text;
        Next();
        DEW_ASSIGN_OR_RETURN(ExprPtr v, Parse());
        call->kwargs.emplace_back(key, std::move(v));
      } else {
        if (!call->kwargs.empty())
          return fail_.At(Peek().pos, "a positional argument cannot follow keyword arguments");
        DEW_ASSIGN_OR_RETURN(ExprPtr v, Parse());
        call->kids.push_back(std::move(v));
      }
      if (IsOp(",")) {
        Next();
        continue;
      }
      if (!IsOp(")")) return fail_.At(Peek().pos, "expected ',' or ')', got " + Shown());
    }
    Next();
    return Status::OK();
  }

  Result<ExprPtr> ParsePostfix() {
    DEW_ASSIGN_OR_RETURN(ExprPtr e, ParsePrimary());
    while (true) {
      if (IsOp(".")) {
        Pos pos = Next().pos;
        DEW_ASSIGN_OR_RETURN(std::string name, ExpectName("an attribute name after '.'"));
        auto a = Make(Expr::Kind::kAttr, pos);
        a->name = name;
        a->kids.push_back(std::move(e));
        e = std::move(a);
      } else if (IsOp("[")) {
        Pos pos = Next().pos;
        DEW_ASSIGN_OR_RETURN(ExprPtr index, Parse());
        DEW_RETURN_IF_ERROR(Expect("]"));
        auto a = Make(Expr::Kind::kItem, pos);
        a->kids.push_back(std::move(e));
        a->kids.push_back(std::move(index));
        e = std::move(a);
      } else if (IsOp("(")) {
        Pos pos = Next().pos;
        auto call = Make(Expr::Kind::kCall, pos);
        call->kids.push_back(std::move(e));
        DEW_RETURN_IF_ERROR(ParseArgs(call.get()));
        e = std::move(call);
      } else if (IsOp("|")) {
        Pos pos = Next().pos;
        DEW_ASSIGN_OR_RETURN(std::string name, ExpectName("a filter name after '|'"));
        auto f = Make(Expr::Kind::kFilter, pos);
        f->name = name;
        f->kids.push_back(std::move(e));
        if (IsOp("(")) {
          Next();
          DEW_RETURN_IF_ERROR(ParseArgs(f.get()));
        }
        e = std::move(f);
      } else if (IsName("is")) {
        Pos pos = Next().pos;
        auto t = Make(Expr::Kind::kTest, pos);
        if (IsName("not")) {
          Next();
          t->negate = true;
        }
        DEW_ASSIGN_OR_RETURN(std::string name, ExpectName("a test name after 'is'"));
        t->name = name;
        t->kids.push_back(std::move(e));
        e = std::move(t);
      } else {
        return e;
      }
    }
  }

  Result<ExprPtr> ParsePrimary() {
    const Token& t = Peek();
    if (t.kind == Token::Kind::kNumber || t.kind == Token::Kind::kString) {
      auto e = Make(Expr::Kind::kLiteral, t.pos);
      e->literal = Next().value;
      // Adjacent string literals concatenate, as in Python and Jinja.
      while (e->literal.is_string() && Peek().kind == Token::Kind::kString) {
        e->literal = e->literal.get<std::string>() + Next().value.get<std::string>();
      }
      return e;
    }
    if (t.kind == Token::Kind::kName) {
      const std::string n = t.text;
      auto e = Make(Expr::Kind::kLiteral, t.pos);
      if (n == "true" || n == "True") {
        Next();
        e->literal = true;
        return e;
      }
      if (n == "false" || n == "False") {
        Next();
        e->literal = false;
        return e;
      }
      if (n == "none" || n == "None") {
        Next();
        e->literal = nullptr;
        return e;
      }
      auto name = Make(Expr::Kind::kName, t.pos);
      name->name = Next().text;
      return name;
    }
    if (IsOp("(")) {
      Next();
      DEW_ASSIGN_OR_RETURN(ExprPtr inner, Parse());
      DEW_RETURN_IF_ERROR(Expect(")"));
      return inner;
    }
    if (IsOp("[")) {
      auto e = Make(Expr::Kind::kList, Next().pos);
      while (!IsOp("]")) {
        DEW_ASSIGN_OR_RETURN(ExprPtr item, Parse());
        e->kids.push_back(std::move(item));
        if (IsOp(",")) {
          Next();
          continue;
        }
        if (!IsOp("]")) return fail_.At(Peek().pos, "expected ',' or ']', got " + Shown());
      }
      Next();
      return e;
    }
    if (IsOp("{")) {
      auto e = Make(Expr::Kind::kDict, Next().pos);
      while (!IsOp("}")) {
        DEW_ASSIGN_OR_RETURN(ExprPtr key, Parse());
        DEW_RETURN_IF_ERROR(Expect(":"));
        DEW_ASSIGN_OR_RETURN(ExprPtr value, Parse());
        e->kids.push_back(std::move(key));
        e->kids.push_back(std::move(value));
        if (IsOp(",")) {
          Next();
          continue;
        }
        if (!IsOp("}")) return fail_.At(Peek().pos, "expected ',' or '}', got " + Shown());
      }
      Next();
      return e;
    }
    return fail_.At(t.pos, "expected an expression, got " + Shown());
  }

  std::vector<Token> tokens_;
  size_t i_ = 0;
  const Failure& fail_;
};

// ---------------------------------------------------------------------------------------------
// Statement parsing

class TemplateParser {
 public:
  TemplateParser(std::vector<Segment> segments, const Failure& fail)
      : segments_(std::move(segments)), fail_(fail) {}

  Result<std::shared_ptr<Node>> Run() {
    auto root = std::make_shared<Node>();
    std::string end_tag;
    DEW_RETURN_IF_ERROR(ParseBody(root.get(), {}, &end_tag, nullptr));
    return root;
  }

 private:
  //! Parses segments into `block` until a statement whose keyword is in `stops`; that keyword
  //! is returned in `*stop` and its parser in `*stop_parser` (for elif conditions).
  Status ParseBody(Node* block, const std::vector<std::string>& stops, std::string* stop,
                   std::unique_ptr<ExprParser>* stop_parser) {
    while (i_ < segments_.size()) {
      const Segment& seg = segments_[i_++];
      if (seg.kind == Segment::Kind::kText) {
        auto n = std::make_shared<Node>();
        n->kind = Node::Kind::kText;
        n->text = seg.text;
        n->pos = seg.pos;
        block->children.push_back(n);
        continue;
      }
      DEW_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(seg.text, seg.pos, fail_));
      auto p = std::make_unique<ExprParser>(std::move(tokens), fail_);
      if (seg.kind == Segment::Kind::kExpr) {
        if (p->AtEnd()) return fail_.At(seg.open, "empty expression '{{ }}'");
        auto n = std::make_shared<Node>();
        n->kind = Node::Kind::kOutput;
        n->pos = seg.open;
        DEW_ASSIGN_OR_RETURN(ExprPtr e, p->Parse());
        DEW_RETURN_IF_ERROR(p->ExpectEnd("in '{{ … }}'"));
        n->exprs.push_back(std::move(e));
        block->children.push_back(n);
        continue;
      }
      if (p->Peek().kind != Token::Kind::kName)
        return fail_.At(seg.pos, "expected a statement keyword after '{%'");
      const std::string keyword = p->Peek().text;
      const Pos keyword_pos = p->Peek().pos;
      if (std::find(stops.begin(), stops.end(), keyword) != stops.end()) {
        p->Next();
        *stop = keyword;
        if (stop_parser) *stop_parser = std::move(p);
        return Status::OK();
      }
      p->Next();
      if (keyword == "if") {
        DEW_RETURN_IF_ERROR(ParseIf(block, seg, std::move(p)));
      } else if (keyword == "for") {
        DEW_RETURN_IF_ERROR(ParseFor(block, seg, std::move(p)));
      } else if (keyword == "set") {
        DEW_RETURN_IF_ERROR(ParseSet(block, seg, std::move(p)));
      } else if (keyword == "macro") {
        DEW_RETURN_IF_ERROR(ParseMacro(block, seg, std::move(p), "macro"));
      } else if (keyword == "test") {
        DEW_RETURN_IF_ERROR(ParseMacro(block, seg, std::move(p), "test"));
      } else if (keyword == "do") {
        auto n = std::make_shared<Node>();
        n->kind = Node::Kind::kDo;
        n->pos = seg.open;
        if (p->AtEnd()) return fail_.At(seg.open, "'{% do %}' needs an expression");
        DEW_ASSIGN_OR_RETURN(ExprPtr e, p->Parse());
        DEW_RETURN_IF_ERROR(p->ExpectEnd("after the do expression"));
        n->exprs.push_back(std::move(e));
        block->children.push_back(n);
      } else if (keyword == "endif" || keyword == "endfor" || keyword == "else" ||
                 keyword == "elif" || keyword == "endset" || keyword == "endmacro" ||
                 keyword == "endtest") {
        return fail_.At(seg.open, "'{% " + keyword + " %}' without a block to close");
      } else {
        return fail_.At(keyword_pos,
                        "unknown statement '" + keyword +
                            "' (dew supports if, elif, else, for, set, macro, test, do)");
      }
    }
    if (!stops.empty()) *stop = "";
    return Status::OK();
  }

  Status ParseIf(Node* block, const Segment& seg, std::unique_ptr<ExprParser> p) {
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::kIf;
    n->pos = seg.open;
    while (true) {
      DEW_ASSIGN_OR_RETURN(ExprPtr cond, p->Parse());
      DEW_RETURN_IF_ERROR(p->ExpectEnd("after the if condition"));
      n->exprs.push_back(std::move(cond));
      auto body = std::make_shared<Node>();
      std::string stop;
      DEW_RETURN_IF_ERROR(ParseBody(body.get(), {"elif", "else", "endif"}, &stop, &p));
      n->bodies.push_back(body);
      if (stop.empty()) return fail_.At(seg.open, "'{% if %}' is never closed with '{% endif %}'");
      if (stop == "elif") continue;
      if (stop == "else") {
        DEW_RETURN_IF_ERROR(p->ExpectEnd("after else"));
        auto else_body = std::make_shared<Node>();
        DEW_RETURN_IF_ERROR(ParseBody(else_body.get(), {"endif", "elif", "else"}, &stop, &p));
        if (stop.empty())
          return fail_.At(seg.open, "'{% if %}' is never closed with '{% endif %}'");
        if (stop != "endif")
          return fail_.At(seg.open, "'{% " + stop + " %}' after '{% else %}' in this if");
        n->bodies.push_back(else_body);
      }
      DEW_RETURN_IF_ERROR(p->ExpectEnd("after endif"));
      break;
    }
    block->children.push_back(n);
    return Status::OK();
  }

  Status ParseFor(Node* block, const Segment& seg, std::unique_ptr<ExprParser> p) {
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::kFor;
    n->pos = seg.open;
    while (true) {
      DEW_ASSIGN_OR_RETURN(std::string target, p->ExpectName("a loop variable name"));
      n->targets.push_back(target);
      if (!p->IsOp(",")) break;
      p->Next();
    }
    if (!p->IsName("in")) return fail_.At(p->Peek().pos, "expected 'in', got " + p->Shown());
    p->Next();
    DEW_ASSIGN_OR_RETURN(ExprPtr iterable, p->ParseNoConditional());
    DEW_RETURN_IF_ERROR(p->ExpectEnd("after the for loop's iterable"));
    n->exprs.push_back(std::move(iterable));
    auto body = std::make_shared<Node>();
    std::string stop;
    std::unique_ptr<ExprParser> stop_parser;
    DEW_RETURN_IF_ERROR(ParseBody(body.get(), {"else", "endfor"}, &stop, &stop_parser));
    if (stop.empty()) return fail_.At(seg.open, "'{% for %}' is never closed with '{% endfor %}'");
    n->bodies.push_back(body);
    if (stop == "else") {
      auto else_body = std::make_shared<Node>();
      DEW_RETURN_IF_ERROR(ParseBody(else_body.get(), {"endfor"}, &stop, &stop_parser));
      if (stop.empty())
        return fail_.At(seg.open, "'{% for %}' is never closed with '{% endfor %}'");
      n->bodies.push_back(else_body);
    }
    block->children.push_back(n);
    return Status::OK();
  }

  Status ParseSet(Node* block, const Segment& seg, std::unique_ptr<ExprParser> p) {
    auto n = std::make_shared<Node>();
    n->pos = seg.open;
    DEW_ASSIGN_OR_RETURN(n->text, p->ExpectName("a variable name after set"));
    if (p->AtEnd()) {
      // {% set x %}…{% endset %}: the rendered body becomes the value.
      n->kind = Node::Kind::kSetBlock;
      auto body = std::make_shared<Node>();
      std::string stop;
      DEW_RETURN_IF_ERROR(ParseBody(body.get(), {"endset"}, &stop, nullptr));
      if (stop.empty())
        return fail_.At(seg.open,
                        "'{% set " + n->text + " %}' is never closed with '{% endset %}'");
      n->bodies.push_back(body);
    } else {
      n->kind = Node::Kind::kSet;
      DEW_RETURN_IF_ERROR(p->Expect("="));
      DEW_ASSIGN_OR_RETURN(ExprPtr value, p->Parse());
      DEW_RETURN_IF_ERROR(p->ExpectEnd("after the set value"));
      n->exprs.push_back(std::move(value));
    }
    block->children.push_back(n);
    return Status::OK();
  }

  //! `{% macro name(a, b=default) %}body{% endmacro %}`, or with `keyword` "test" dbt's
  //! generic test `{% test name(model, column_name) %}…{% endtest %}`, the macro `test_name`.
  Status ParseMacro(Node* block, const Segment& seg, std::unique_ptr<ExprParser> p,
                    const std::string& keyword) {
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::kMacro;
    n->pos = seg.open;
    DEW_ASSIGN_OR_RETURN(n->text, p->ExpectName("a " + keyword + " name"));
    const std::string written = n->text;
    if (keyword == "test") n->text = "test_" + n->text;
    DEW_RETURN_IF_ERROR(p->Expect("("));
    while (!p->IsOp(")")) {
      const Pos at = p->Peek().pos;
      DEW_ASSIGN_OR_RETURN(std::string param, p->ExpectName("a parameter name"));
      if (std::find(n->targets.begin(), n->targets.end(), param) != n->targets.end())
        return fail_.At(at, "macro '" + n->text + "' has two parameters named '" + param + "'");
      n->targets.push_back(param);
      ExprPtr default_value;
      if (p->IsOp("=")) {
        p->Next();
        DEW_ASSIGN_OR_RETURN(default_value, p->Parse());
      } else if (!n->exprs.empty() && n->exprs.back() != nullptr) {
        return fail_.At(at,
                        "parameter '" + param + "' without a default follows one with a default");
      }
      n->exprs.push_back(std::move(default_value));
      if (p->IsOp(",")) {
        p->Next();
        continue;
      }
      if (!p->IsOp(")")) return fail_.At(p->Peek().pos, "expected ',' or ')', got " + p->Shown());
    }
    p->Next();
    DEW_RETURN_IF_ERROR(p->ExpectEnd("after the macro's parameters"));
    auto body = std::make_shared<Node>();
    std::string stop;
    DEW_RETURN_IF_ERROR(ParseBody(body.get(), {"end" + keyword}, &stop, &p));
    if (stop.empty())
      return fail_.At(seg.open, "'{% " + keyword + " " + written +
                                    " %}' is never closed with '{% end" + keyword + " %}'");
    DEW_RETURN_IF_ERROR(p->ExpectEnd("after end" + keyword));
    n->bodies.push_back(body);
    block->children.push_back(n);
    return Status::OK();
  }

  std::vector<Segment> segments_;
  size_t i_ = 0;
  const Failure& fail_;
};

// ---------------------------------------------------------------------------------------------
// Rendering

std::string Repr(const Value& v, bool top);

std::string FormatDouble(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e16) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.1f", d);
    return buf;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", d);
  // The shortest text that reads back the same, as Python prints floats.
  for (int precision = 1; precision <= 17; ++precision) {
    char shorter[64];
    std::snprintf(shorter, sizeof(shorter), "%.*g", precision, d);
    if (std::strtod(shorter, nullptr) == d) return shorter;
  }
  return buf;
}

//! How Jinja (Python) prints a value: strings bare at the top level, quoted inside lists.
std::string Repr(const Value& v, bool top) {
  switch (v.type()) {
    case Value::value_t::null:
      return "None";
    case Value::value_t::boolean:
      return v.get<bool>() ? "True" : "False";
    case Value::value_t::number_integer:
    case Value::value_t::number_unsigned:
      return v.dump();
    case Value::value_t::number_float:
      return FormatDouble(v.get<double>());
    case Value::value_t::string:
      return top ? v.get<std::string>() : "'" + v.get<std::string>() + "'";
    case Value::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + Repr(v[i], false);
      return out + "]";
    }
    case Value::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        out += (first ? "" : ", ") + std::string("'") + it.key() + "': " + Repr(it.value(), false);
        first = false;
      }
      return out + "}";
    }
    default:
      return v.dump();
  }
}

bool Truthy(const Value& v) {
  switch (v.type()) {
    case Value::value_t::null:
      return false;
    case Value::value_t::boolean:
      return v.get<bool>();
    case Value::value_t::number_integer:
    case Value::value_t::number_unsigned:
      return v.get<int64_t>() != 0;
    case Value::value_t::number_float:
      return v.get<double>() != 0.0;
    case Value::value_t::string:
      // json::empty() is false for every string; Python's truth is the string's length.
      return !v.get_ref<const std::string&>().empty();
    case Value::value_t::array:
    case Value::value_t::object:
      return !v.empty();
    default:
      return true;
  }
}

const char* TypeName(const Value& v) {
  switch (v.type()) {
    case Value::value_t::null:
      return "none";
    case Value::value_t::boolean:
      return "boolean";
    case Value::value_t::number_integer:
    case Value::value_t::number_unsigned:
      return "integer";
    case Value::value_t::number_float:
      return "number";
    case Value::value_t::string:
      return "string";
    case Value::value_t::array:
      return "list";
    case Value::value_t::object:
      return "dict";
    default:
      return "value";
  }
}

class Renderer {
 public:
  //! `root` owns the nodes being rendered (macros defined in them keep it alive).
  Renderer(const RenderContext& ctx, const Failure& fail, std::shared_ptr<const Node> root)
      : ctx_(ctx), fail_(fail), root_(std::move(root)) {
    frames_.emplace_back();
  }

  Status Render(const Node& n, std::string* out) {
    switch (n.kind) {
      case Node::Kind::kBlock:
        for (const auto& child : n.children) {
          DEW_RETURN_IF_ERROR(Render(*child, out));
          if (returned_) break;
        }
        return Status::OK();
      case Node::Kind::kText:
        *out += n.text;
        return Status::OK();
      case Node::Kind::kOutput: {
        DEW_ASSIGN_OR_RETURN(Value v, Eval(*n.exprs[0]));
        if (!returned_) *out += Repr(v, true);
        return Status::OK();
      }
      case Node::Kind::kDo:
        return Eval(*n.exprs[0]).status();
      case Node::Kind::kMacro: {
        if (ctx_.functions.count(n.text))
          return fail_.At(n.pos, "macro '" + n.text + "' would hide dew's built-in " + n.text +
                                     "(); give it another name");
        Macro m;
        m.name_ = n.text;
        m.file_ = fail_.name();
        m.root_ = root_;
        m.def_ = &n;
        local_macros_[n.text] = std::move(m);
        return Status::OK();
      }
      case Node::Kind::kIf:
        for (size_t i = 0; i < n.exprs.size(); ++i) {
          DEW_ASSIGN_OR_RETURN(Value c, Eval(*n.exprs[i]));
          if (Truthy(c)) return Render(*n.bodies[i], out);
        }
        if (n.bodies.size() > n.exprs.size()) return Render(*n.bodies.back(), out);
        return Status::OK();
      case Node::Kind::kFor:
        return RenderFor(n, out);
      case Node::Kind::kSet: {
        DEW_ASSIGN_OR_RETURN(Value v, Eval(*n.exprs[0]));
        frames_.back()[n.text] = std::move(v);
        return Status::OK();
      }
      case Node::Kind::kSetBlock: {
        std::string text;
        DEW_RETURN_IF_ERROR(Render(*n.bodies[0], &text));
        frames_.back()[n.text] = text;
        return Status::OK();
      }
    }
    return Status::OK();
  }

 private:
  Status RenderFor(const Node& n, std::string* out) {
    DEW_ASSIGN_OR_RETURN(Value iterable, Eval(*n.exprs[0]));
    std::vector<Value> items;
    if (iterable.is_array()) {
      items.assign(iterable.begin(), iterable.end());
    } else if (iterable.is_object()) {
      for (auto it = iterable.begin(); it != iterable.end(); ++it) items.push_back(it.key());
    } else if (iterable.is_string()) {
      for (char c : iterable.get<std::string>()) items.push_back(std::string(1, c));
    } else if (!iterable.is_null()) {
      return fail_.At(n.exprs[0]->pos,
                      std::string("cannot loop over a ") + TypeName(iterable) + " value");
    }
    if (items.empty()) {
      if (n.bodies.size() > 1) return Render(*n.bodies[1], out);
      return Status::OK();
    }
    frames_.emplace_back();
    for (size_t i = 0; i < items.size(); ++i) {
      auto& frame = frames_.back();
      if (n.targets.size() == 1) {
        frame[n.targets[0]] = items[i];
      } else {
        if (!items[i].is_array() || items[i].size() != n.targets.size()) {
          frames_.pop_back();
          return fail_.At(n.pos, "cannot unpack " + Repr(items[i], false) + " into " +
                                     std::to_string(n.targets.size()) + " loop variables");
        }
        for (size_t k = 0; k < n.targets.size(); ++k) frame[n.targets[k]] = items[i][k];
      }
      frame["loop"] = Value{{"index", static_cast<int64_t>(i + 1)},
                            {"index0", static_cast<int64_t>(i)},
                            {"first", i == 0},
                            {"last", i + 1 == items.size()},
                            {"length", static_cast<int64_t>(items.size())}};
      Status s = Render(*n.bodies[0], out);
      if (!s.ok()) {
        frames_.pop_back();
        return s;
      }
      if (returned_) break;
    }
    frames_.pop_back();
    return Status::OK();
  }

  //! Renders macro `m` for the call `call`: the arguments bound to its parameters in a frame of
  //! their own (the caller's variables are not visible), its value what it passed to return()
  //! or else its rendered body. Errors inside it are reported at the call, with the macro's own
  //! file position after.
  Result<Value> CallMacro(Pos at, const Macro& m, const CallArgs& args) {
    static constexpr int kMaxDepth = 64;
    if (depth_ >= kMaxDepth)
      return fail_.At(at, "macro '" + m.name_ + "' calls nest deeper than " +
                              std::to_string(kMaxDepth) + " (endless recursion?)");
    const Node& def = *m.def_;
    const Failure macro_fail(m.file_);
    Renderer inner(ctx_, macro_fail, m.root_);
    inner.depth_ = depth_ + 1;
    inner.in_macro_ = true;
    if (m.file_ == fail_.name()) inner.local_macros_ = local_macros_;
    auto& frame = inner.frames_.back();
    const auto& params = def.targets;
    auto wrong = [&](const std::string& problem) {
      return fail_.At(at, "macro '" + m.name_ + "' " + problem);
    };
    if (args.positional.size() > params.size())
      return wrong("takes " + std::to_string(params.size()) + " argument" +
                   (params.size() == 1 ? "" : "s") + ", got " +
                   std::to_string(args.positional.size()));
    for (size_t i = 0; i < args.positional.size(); ++i) frame[params[i]] = args.positional[i];
    for (const auto& [key, value] : args.keyword) {
      if (std::find(params.begin(), params.end(), key) == params.end())
        return wrong("has no parameter '" + key + "'");
      if (frame.count(key)) return wrong("got two values for '" + key + "'");
      frame[key] = value;
    }
    for (size_t i = 0; i < params.size(); ++i) {
      if (frame.count(params[i])) continue;
      if (def.exprs[i] == nullptr) return wrong("needs an argument for '" + params[i] + "'");
      Result<Value> v = inner.Eval(*def.exprs[i]);
      if (!v.ok()) return fail_.At(at, "in macro '" + m.name_ + "': " + v.status().message());
      frame[params[i]] = std::move(*v);
    }
    std::string out;
    Status s = inner.Render(*def.bodies[0], &out);
    if (!s.ok()) return fail_.At(at, "in macro '" + m.name_ + "': " + s.message());
    if (inner.returned_) return std::move(*inner.returned_);
    return Value(std::move(out));
  }

  const Value* Lookup(const std::string& name) const {
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
      auto found = it->find(name);
      if (found != it->end()) return &found->second;
    }
    auto v = ctx_.variables.find(name);
    if (v != ctx_.variables.end()) return &v->second;
    return nullptr;
  }

  //! nullopt when `e` names something undefined (a missing name, attribute or key); errors
  //! only for real failures.
  Result<std::optional<Value>> EvalMaybe(const Expr& e) {
    if (e.kind == Expr::Kind::kName) {
      const Value* v = Lookup(e.name);
      if (v == nullptr) return std::optional<Value>();
      return std::optional<Value>(*v);
    }
    if (e.kind == Expr::Kind::kAttr || e.kind == Expr::Kind::kItem) {
      DEW_ASSIGN_OR_RETURN(std::optional<Value> base, EvalMaybe(*e.kids[0]));
      if (!base) return std::optional<Value>();
      Value key;
      if (e.kind == Expr::Kind::kAttr) {
        key = e.name;
      } else {
        DEW_ASSIGN_OR_RETURN(key, Eval(*e.kids[1]));
      }
      if (base->is_object() && key.is_string()) {
        auto it = base->find(key.get<std::string>());
        if (it == base->end()) return std::optional<Value>();
        return std::optional<Value>(*it);
      }
      if ((base->is_array() || base->is_string()) && key.is_number_integer()) {
        int64_t i = key.get<int64_t>();
        const int64_t size = base->is_array()
                                 ? static_cast<int64_t>(base->size())
                                 : static_cast<int64_t>(base->get<std::string>().size());
        if (i < 0) i += size;
        if (i < 0 || i >= size) return std::optional<Value>();
        if (base->is_array()) return std::optional<Value>((*base)[static_cast<size_t>(i)]);
        return std::optional<Value>(
            std::string(1, base->get<std::string>()[static_cast<size_t>(i)]));
      }
      return std::optional<Value>();
    }
    DEW_ASSIGN_OR_RETURN(Value v, Eval(e));
    return std::optional<Value>(std::move(v));
  }

  //! The storage of a variable set in this template (not the context's, which are shared), or
  //! nullptr.
  Value* MutableVariable(const Expr& e) {
    if (e.kind != Expr::Kind::kName) return nullptr;
    for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
      auto found = it->find(e.name);
      if (found != it->end()) return &found->second;
    }
    return nullptr;
  }

  std::string Describe(const Expr& e) const {
    if (e.kind == Expr::Kind::kName) return "'" + e.name + "'";
    if (e.kind == Expr::Kind::kAttr) return Describe(*e.kids[0]) + "." + e.name;
    if (e.kind == Expr::Kind::kItem) return Describe(*e.kids[0]) + "[…]";
    return "the value";
  }

  Result<Value> Eval(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.literal;
      case Expr::Kind::kName:
      case Expr::Kind::kAttr:
      case Expr::Kind::kItem: {
        DEW_ASSIGN_OR_RETURN(std::optional<Value> v, EvalMaybe(e));
        if (!v) {
          if (e.kind == Expr::Kind::kName) {
            if (ctx_.functions.count(e.name))
              return fail_.At(e.pos,
                              "'" + e.name + "' is a function: call it, e.g. " + e.name + "(…)");
            return fail_.At(e.pos, "'" + e.name + "' is undefined");
          }
          return fail_.At(e.pos, Describe(e) + " is undefined");
        }
        return *v;
      }
      case Expr::Kind::kList: {
        Value out = Value::array();
        for (const auto& k : e.kids) {
          DEW_ASSIGN_OR_RETURN(Value v, Eval(*k));
          out.push_back(std::move(v));
        }
        return out;
      }
      case Expr::Kind::kDict: {
        Value out = Value::object();
        for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
          DEW_ASSIGN_OR_RETURN(Value k, Eval(*e.kids[i]));
          DEW_ASSIGN_OR_RETURN(Value v, Eval(*e.kids[i + 1]));
          out[k.is_string() ? k.get<std::string>() : Repr(k, true)] = std::move(v);
        }
        return out;
      }
      case Expr::Kind::kCond: {
        DEW_ASSIGN_OR_RETURN(Value c, Eval(*e.kids[1]));
        return Eval(*e.kids[Truthy(c) ? 0 : 2]);
      }
      case Expr::Kind::kUnary: {
        DEW_ASSIGN_OR_RETURN(Value v, Eval(*e.kids[0]));
        if (e.name == "not") return Value(!Truthy(v));
        if (!v.is_number())
          return fail_.At(
              e.pos, "unary '" + e.name + "' needs a number, got a " + std::string(TypeName(v)));
        if (e.name == "+") return v;
        if (v.is_number_float()) return Value(-v.get<double>());
        return Value(-v.get<int64_t>());
      }
      case Expr::Kind::kBinary:
        return EvalBinary(e);
      case Expr::Kind::kTest:
        return EvalTest(e);
      case Expr::Kind::kFilter:
        return EvalFilter(e);
      case Expr::Kind::kCall:
        return EvalCall(e);
    }
    return fail_.At(e.pos, "cannot evaluate this expression");
  }

  Result<Value> EvalBinary(const Expr& e) {
    const std::string& op = e.name;
    if (op == "and" || op == "or") {
      DEW_ASSIGN_OR_RETURN(Value l, Eval(*e.kids[0]));
      if (op == "and" ? !Truthy(l) : Truthy(l)) return l;
      return Eval(*e.kids[1]);
    }
    DEW_ASSIGN_OR_RETURN(Value l, Eval(*e.kids[0]));
    DEW_ASSIGN_OR_RETURN(Value r, Eval(*e.kids[1]));
    if (op == "==") return Value(l == r);
    if (op == "!=") return Value(l != r);
    if (op == "~") return Value(Repr(l, true) + Repr(r, true));
    if (op == "in" || op == "not in") {
      bool found = false;
      if (r.is_string() && l.is_string()) {
        found = r.get<std::string>().find(l.get<std::string>()) != std::string::npos;
      } else if (r.is_array()) {
        found = std::find(r.begin(), r.end(), l) != r.end();
      } else if (r.is_object() && l.is_string()) {
        found = r.contains(l.get<std::string>());
      } else {
        return fail_.At(
            e.pos,
            std::string("'in' needs a list, dict or string on its right, got a ") + TypeName(r));
      }
      return Value(op == "in" ? found : !found);
    }
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      if (!((l.is_number() && r.is_number()) || (l.is_string() && r.is_string())))
        return fail_.At(e.pos, "cannot compare a " + std::string(TypeName(l)) + " with a " +
                                   TypeName(r) + " using '" + op + "'");
      bool less = l < r, greater = r < l;
      if (op == "<") return Value(less);
      if (op == "<=") return Value(!greater);
      if (op == ">") return Value(greater);
      return Value(!less);
    }
    if (op == "+" && l.is_string() && r.is_string())
      return Value(l.get<std::string>() + r.get<std::string>());
    if (op == "+" && l.is_array() && r.is_array()) {
      Value out = l;
      for (const auto& v : r) out.push_back(v);
      return out;
    }
    if (op == "*" && l.is_string() && r.is_number_integer()) {
      std::string out;
      for (int64_t i = 0; i < r.get<int64_t>(); ++i) out += l.get<std::string>();
      return Value(out);
    }
    if (!l.is_number() || !r.is_number())
      return fail_.At(e.pos, "cannot apply '" + op + "' to a " + std::string(TypeName(l)) +
                                 " and a " + TypeName(r));
    const bool ints = !l.is_number_float() && !r.is_number_float();
    const double a = l.get<double>(), b = r.get<double>();
    if ((op == "/" || op == "//" || op == "%") && b == 0)
      return fail_.At(e.pos, "division by zero");
    if (op == "+") return ints ? Value(l.get<int64_t>() + r.get<int64_t>()) : Value(a + b);
    if (op == "-") return ints ? Value(l.get<int64_t>() - r.get<int64_t>()) : Value(a - b);
    if (op == "*") return ints ? Value(l.get<int64_t>() * r.get<int64_t>()) : Value(a * b);
    if (op == "/") return Value(a / b);
    if (op == "//") {
      if (ints) {
        int64_t x = l.get<int64_t>(), y = r.get<int64_t>();
        int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return Value(q);
      }
      return Value(std::floor(a / b));
    }
    if (op == "%") {
      if (ints) {
        int64_t x = l.get<int64_t>(), y = r.get<int64_t>();
        int64_t m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) m += y;
        return Value(m);
      }
      return Value(a - b * std::floor(a / b));
    }
    if (op == "**") {
      double p = std::pow(a, b);
      if (ints && r.get<int64_t>() >= 0) return Value(static_cast<int64_t>(std::llround(p)));
      return Value(p);
    }
    return fail_.At(e.pos, "unknown operator '" + op + "'");
  }

  Result<Value> EvalTest(const Expr& e) {
    bool result = false;
    if (e.name == "defined" || e.name == "undefined") {
      DEW_ASSIGN_OR_RETURN(std::optional<Value> v, EvalMaybe(*e.kids[0]));
      result = v.has_value() == (e.name == "defined");
    } else {
      DEW_ASSIGN_OR_RETURN(Value v, Eval(*e.kids[0]));
      if (e.name == "none") {
        result = v.is_null();
      } else if (e.name == "string") {
        result = v.is_string();
      } else if (e.name == "number") {
        result = v.is_number();
      } else if (e.name == "integer") {
        result = v.is_number_integer();
      } else if (e.name == "mapping") {
        result = v.is_object();
      } else if (e.name == "sequence" || e.name == "iterable") {
        result = v.is_array() || v.is_string() || v.is_object();
      } else if (e.name == "true") {
        result = v.is_boolean() && v.get<bool>();
      } else if (e.name == "false") {
        result = v.is_boolean() && !v.get<bool>();
      } else {
        return fail_.At(e.pos, "unknown test '" + e.name +
                                   "' (dew knows defined, undefined, none, string, number, "
                                   "integer, mapping, sequence, iterable, true, false)");
      }
    }
    return Value(e.negate ? !result : result);
  }

  Result<CallArgs> EvalArgs(const Expr& e, size_t first_positional) {
    CallArgs args;
    for (size_t i = first_positional; i < e.kids.size(); ++i) {
      DEW_ASSIGN_OR_RETURN(Value v, Eval(*e.kids[i]));
      args.positional.push_back(std::move(v));
    }
    for (const auto& [k, x] : e.kwargs) {
      DEW_ASSIGN_OR_RETURN(Value v, Eval(*x));
      args.keyword.emplace_back(k, std::move(v));
    }
    return args;
  }

  Result<Value> EvalFilter(const Expr& e) {
    const std::string& f = e.name;
    DEW_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, 1));
    auto arg = [&](size_t i, const char* name) -> const Value* {
      if (i < args.positional.size()) return &args.positional[i];
      return args.Keyword(name);
    };
    if (f == "default" || f == "d") {
      DEW_ASSIGN_OR_RETURN(std::optional<Value> v, EvalMaybe(*e.kids[0]));
      const Value* fallback = arg(0, "default_value");
      const Value* boolean = arg(1, "boolean");
      bool use_fallback = !v || (boolean && Truthy(*boolean) && !Truthy(*v));
      if (use_fallback) return fallback ? *fallback : Value("");
      return *v;
    }
    DEW_ASSIGN_OR_RETURN(Value v, Eval(*e.kids[0]));
    auto need_string = [&]() -> Status {
      if (!v.is_string())
        return fail_.At(e.pos, "filter '" + f + "' needs a string, got a " + TypeName(v));
      return Status::OK();
    };
    if (f == "upper" || f == "lower" || f == "capitalize" || f == "title") {
      DEW_RETURN_IF_ERROR(need_string());
      std::string s = v.get<std::string>();
      bool start = true;
      for (char& c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (f == "upper") c = static_cast<char>(std::toupper(u));
        if (f == "lower") c = static_cast<char>(std::tolower(u));
        if (f == "capitalize") c = static_cast<char>(start ? std::toupper(u) : std::tolower(u));
        if (f == "title") c = static_cast<char>(start ? std::toupper(u) : std::tolower(u));
        start = f == "title" ? !std::isalnum(u) : false;
      }
      return Value(s);
    }
    if (f == "trim") {
      DEW_RETURN_IF_ERROR(need_string());
      std::string s = v.get<std::string>();
      size_t a = s.find_first_not_of(" \t\r\n");
      if (a == std::string::npos) return Value("");
      size_t b = s.find_last_not_of(" \t\r\n");
      return Value(s.substr(a, b - a + 1));
    }
    if (f == "replace") {
      DEW_RETURN_IF_ERROR(need_string());
      const Value* from = arg(0, "old");
      const Value* to = arg(1, "new");
      if (!from || !to || !from->is_string() || !to->is_string())
        return fail_.At(e.pos, "filter 'replace' needs two strings: replace('old', 'new')");
      std::string s = v.get<std::string>(), a = from->get<std::string>(),
                  b = to->get<std::string>(), out;
      if (a.empty()) return Value(s);
      size_t pos = 0, hit;
      while ((hit = s.find(a, pos)) != std::string::npos) {
        out += s.substr(pos, hit - pos) + b;
        pos = hit + a.size();
      }
      return Value(out + s.substr(pos));
    }
    if (f == "length" || f == "count") {
      if (v.is_string()) return Value(static_cast<int64_t>(v.get<std::string>().size()));
      if (v.is_array() || v.is_object()) return Value(static_cast<int64_t>(v.size()));
      return fail_.At(e.pos,
                      "filter '" + f + "' needs a string, list or dict, got a " + TypeName(v));
    }
    if (f == "join") {
      if (!v.is_array())
        return fail_.At(e.pos, std::string("filter 'join' needs a list, got a ") + TypeName(v));
      const Value* sep = arg(0, "d");
      std::string s = sep && sep->is_string() ? sep->get<std::string>() : "";
      std::string out;
      for (size_t i = 0; i < v.size(); ++i) out += (i ? s : "") + Repr(v[i], true);
      return Value(out);
    }
    if (f == "first" || f == "last") {
      if (!v.is_array() || v.empty())
        return fail_.At(e.pos, "filter '" + f + "' needs a non-empty list");
      return f == "first" ? v.front() : v.back();
    }
    if (f == "sort") {
      if (!v.is_array())
        return fail_.At(e.pos, std::string("filter 'sort' needs a list, got a ") + TypeName(v));
      Value out = v;
      std::vector<Value> items(out.begin(), out.end());
      std::stable_sort(items.begin(), items.end());
      const Value* reverse = arg(0, "reverse");
      if (reverse && Truthy(*reverse)) std::reverse(items.begin(), items.end());
      return Value(items);
    }
    if (f == "list") {
      if (v.is_array()) return v;
      Value out = Value::array();
      if (v.is_string()) {
        for (char c : v.get<std::string>()) out.push_back(std::string(1, c));
      } else if (v.is_object()) {
        for (auto it = v.begin(); it != v.end(); ++it) out.push_back(it.key());
      }
      return out;
    }
    if (f == "string") return Value(Repr(v, true));
    if (f == "int" || f == "float") {
      double d = 0;
      if (v.is_number()) {
        d = v.get<double>();
      } else if (v.is_string()) {
        const std::string s = v.get<std::string>();
        char* end = nullptr;
        d = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size()) d = 0;
      } else if (v.is_boolean()) {
        d = v.get<bool>() ? 1 : 0;
      }
      if (f == "int") return Value(static_cast<int64_t>(d));
      return Value(d);
    }
    if (f == "round") {
      if (!v.is_number())
        return fail_.At(e.pos, std::string("filter 'round' needs a number, got a ") + TypeName(v));
      const Value* precision = arg(0, "precision");
      int64_t p = precision && precision->is_number_integer() ? precision->get<int64_t>() : 0;
      double scale = std::pow(10.0, static_cast<double>(p));
      return Value(std::round(v.get<double>() * scale) / scale);
    }
    if (f == "abs") {
      if (v.is_number_integer()) return Value(std::llabs(v.get<int64_t>()));
      if (v.is_number()) return Value(std::fabs(v.get<double>()));
      return fail_.At(e.pos, std::string("filter 'abs' needs a number, got a ") + TypeName(v));
    }
    if (f == "tojson") return Value(v.dump());
    return fail_.At(e.pos, "unknown filter '" + f +
                               "' (dew knows default, upper, lower, capitalize, title, trim, "
                               "replace, length, count, join, first, last, sort, list, string, "
                               "int, float, round, abs, tojson)");
  }

  Result<Value> CallMethod(const Expr& e, const Value& self, const std::string& method,
                           const CallArgs& args) {
    auto str_arg = [&](size_t i) -> std::string {
      return i < args.positional.size() && args.positional[i].is_string()
                 ? args.positional[i].get<std::string>()
                 : std::string();
    };
    if (self.is_object()) {
      Value out = Value::array();
      if (method == "items") {
        for (auto it = self.begin(); it != self.end(); ++it)
          out.push_back(Value::array({it.key(), it.value()}));
        return out;
      }
      if (method == "keys") {
        for (auto it = self.begin(); it != self.end(); ++it) out.push_back(it.key());
        return out;
      }
      if (method == "values") {
        for (auto it = self.begin(); it != self.end(); ++it) out.push_back(it.value());
        return out;
      }
      if (method == "get") {
        const std::string key = str_arg(0);
        auto it = self.find(key);
        if (it != self.end()) return *it;
        return args.positional.size() > 1 ? args.positional[1] : Value(nullptr);
      }
    }
    if (self.is_string()) {
      const std::string s = self.get<std::string>();
      if (method == "upper" || method == "lower") {
        std::string out = s;
        for (char& c : out)
          c = static_cast<char>(method == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                                  : std::tolower(static_cast<unsigned char>(c)));
        return Value(out);
      }
      if (method == "strip") {
        size_t a = s.find_first_not_of(" \t\r\n");
        if (a == std::string::npos) return Value("");
        return Value(s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1));
      }
      if (method == "startswith") return Value(s.rfind(str_arg(0), 0) == 0);
      if (method == "endswith") {
        const std::string suffix = str_arg(0);
        return Value(s.size() >= suffix.size() &&
                     s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0);
      }
      if (method == "split") {
        const std::string sep = args.positional.empty() ? " " : str_arg(0);
        Value out = Value::array();
        if (sep.empty()) return out;
        size_t pos = 0, hit;
        while ((hit = s.find(sep, pos)) != std::string::npos) {
          out.push_back(s.substr(pos, hit - pos));
          pos = hit + sep.size();
        }
        out.push_back(s.substr(pos));
        return out;
      }
      if (method == "replace") {
        const std::string a = str_arg(0), b = str_arg(1);
        if (a.empty()) return Value(s);
        std::string out;
        size_t pos = 0, hit;
        while ((hit = s.find(a, pos)) != std::string::npos) {
          out += s.substr(pos, hit - pos) + b;
          pos = hit + a.size();
        }
        return Value(out + s.substr(pos));
      }
    }
    if ((self.is_array() && (method == "append" || method == "extend")) ||
        (self.is_object() && method == "update")) {
      return fail_.At(e.pos, method +
                                 "() changes a variable: call it on a name set in this "
                                 "template, e.g. {% do cols.append(c) %}");
    }
    return fail_.At(e.pos, std::string("a ") + TypeName(self) + " has no method '" + method + "'");
  }

  Result<Value> EvalCall(const Expr& e) {
    const Expr& callee = *e.kids[0];
    DEW_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, 1));
    if (callee.kind == Expr::Kind::kAttr) {
      if (Value* target = MutableVariable(*callee.kids[0])) {
        // The in-place list and dict methods dbt macros use with {% do %}.
        const std::string& method = callee.name;
        if (target->is_array() && (method == "append" || method == "extend")) {
          if (args.positional.size() != 1 || !args.keyword.empty())
            return fail_.At(e.pos, method + "() takes one value");
          if (method == "append") {
            target->push_back(args.positional[0]);
          } else {
            if (!args.positional[0].is_array()) return fail_.At(e.pos, "extend() takes a list");
            for (const Value& v : args.positional[0]) target->push_back(v);
          }
          return Value(nullptr);
        }
        if (target->is_object() && method == "update") {
          if (args.positional.size() > 1 ||
              (args.positional.size() == 1 && !args.positional[0].is_object()))
            return fail_.At(e.pos, "update() takes a dict or keyword arguments");
          if (!args.positional.empty()) target->update(args.positional[0]);
          for (const auto& [k, v] : args.keyword) (*target)[k] = v;
          return Value(nullptr);
        }
      }
      DEW_ASSIGN_OR_RETURN(Value self, Eval(*callee.kids[0]));
      return CallMethod(e, self, callee.name, args);
    }
    if (callee.kind != Expr::Kind::kName)
      return fail_.At(e.pos, "only named functions can be called");
    auto fn = ctx_.functions.find(callee.name);
    if (fn != ctx_.functions.end()) {
      Result<Value> r = fn->second(args);
      if (!r.ok()) return fail_.At(callee.pos, r.status().message());
      return r;
    }
    if (callee.name == "return") {
      if (!in_macro_) return fail_.At(callee.pos, "return() outside a macro");
      if (args.positional.size() + args.keyword.size() > 1)
        return fail_.At(callee.pos, "return() takes one value");
      returned_ = args.positional.empty() ? Value(nullptr) : args.positional[0];
      return Value(nullptr);
    }
    if (auto local = local_macros_.find(callee.name); local != local_macros_.end())
      return CallMacro(callee.pos, local->second, args);
    if (auto shared = ctx_.macros.find(callee.name); shared != ctx_.macros.end())
      return CallMacro(callee.pos, shared->second, args);
    if (callee.name == "range") {
      std::vector<int64_t> n;
      for (const Value& v : args.positional) {
        if (!v.is_number_integer()) return fail_.At(e.pos, "range() needs integers");
        n.push_back(v.get<int64_t>());
      }
      if (n.empty() || n.size() > 3) return fail_.At(e.pos, "range() takes 1 to 3 integers");
      int64_t start = n.size() > 1 ? n[0] : 0, stop = n.size() > 1 ? n[1] : n[0],
              step = n.size() > 2 ? n[2] : 1;
      if (step == 0) return fail_.At(e.pos, "range() step must not be zero");
      Value out = Value::array();
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        out.push_back(i);
        if (out.size() > 1000000) return fail_.At(e.pos, "range() is too long");
      }
      return out;
    }
    std::vector<std::string> known;
    for (const auto& [name, f] : ctx_.functions) known.push_back(name);
    for (const auto& [name, m] : local_macros_) known.push_back(name);
    for (const auto& [name, m] : ctx_.macros) {
      if (!local_macros_.count(name)) known.push_back(name);
    }
    std::string list;
    for (size_t i = 0; i < known.size(); ++i) list += (i ? ", " : "") + known[i];
    return fail_.At(callee.pos, "unknown function '" + callee.name + "'" +
                                    (list.empty() ? "" : " (known: " + list + ", range)"));
  }

  const RenderContext& ctx_;
  const Failure& fail_;
  std::shared_ptr<const Node> root_;
  std::vector<std::map<std::string, Value>> frames_;
  std::map<std::string, Macro> local_macros_;  // defined by this template while rendering
  int depth_ = 0;                              // macro calls around this renderer
  bool in_macro_ = false;
  std::optional<Value> returned_;  // set by return(): the rest of the macro is skipped
};

}  // namespace jinja_internal

Result<Template> Template::Parse(std::string_view text, std::string name) {
  using namespace jinja_internal;
  Failure fail(name);
  DEW_ASSIGN_OR_RETURN(std::vector<Segment> segments, Split(text, fail));
  TemplateParser parser(std::move(segments), fail);
  DEW_ASSIGN_OR_RETURN(std::shared_ptr<Node> root, parser.Run());
  Template t;
  t.name_ = std::move(name);
  t.root_ = std::move(root);
  return t;
}

Result<std::string> Template::Render(const RenderContext& context) const {
  using namespace jinja_internal;
  Failure fail(name_);
  Renderer renderer(context, fail, root_);
  std::string out;
  DEW_RETURN_IF_ERROR(renderer.Render(*root_, &out));
  return out;
}

std::vector<Macro> Template::Macros() const {
  using namespace jinja_internal;
  std::vector<Macro> out;
  for (const auto& child : root_->children) {
    if (child->kind != Node::Kind::kMacro) continue;
    Macro m;
    m.name_ = child->text;
    m.file_ = name_;
    m.root_ = root_;
    m.def_ = child.get();
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace dew::transform
