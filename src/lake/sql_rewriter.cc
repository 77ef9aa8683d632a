#include "lake/sql_rewriter.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "engine/connection.h"
#include "lake/medallion.h"
#include "lake/sql_tokenizer.h"

namespace dew::lake {
namespace {

// Words that can follow a table reference and are not an alias of it.
bool IsClauseKeyword(const Token& t) {
  static const std::array<std::string_view, 44> kWords = {
      "where",     "join",       "on",      "group",  "order",     "limit",       "union",
      "left",      "right",      "inner",   "full",   "cross",     "natural",     "using",
      "having",    "window",     "qualify", "except", "intersect", "offset",      "fetch",
      "returning", "set",        "when",    "select", "from",      "positional",  "asof",
      "anti",      "semi",       "lateral", "pivot",  "unpivot",   "tablesample", "sample",
      "outer",     "values",     "then",    "and",    "or",        "as",          "version",
      "timestamp", "partitioned"};
  if (t.kind != TokenKind::kWord) return false;
  for (auto w : kWords) {
    if (t.IsWord(w)) return true;
  }
  return false;
}

bool IsIdent(const Token& t) {
  return t.kind == TokenKind::kWord || t.kind == TokenKind::kQuotedIdent;
}

bool IsLayerName(const std::string& s) {
  return ParseLayer(s).ok();
}

// A cursor over the significant tokens of one text.
class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens) : text_(text) {
    for (auto& t : tokens) {
      if (t.Significant()) sig_.push_back(std::move(t));
    }
  }

  size_t size() const { return sig_.size(); }
  bool AtEnd() const { return pos_ >= sig_.size(); }
  size_t pos() const { return pos_; }
  void set_pos(size_t p) { pos_ = p; }
  const Token& At(size_t i) const {
    static const Token kNone{TokenKind::kSpace, 0, 0, ""};
    return i < sig_.size() ? sig_[i] : kNone;
  }
  const Token& Peek(size_t ahead = 0) const { return At(pos_ + ahead); }
  bool PeekWord(std::string_view w, size_t ahead = 0) const { return Peek(ahead).IsWord(w); }
  bool AcceptWord(std::string_view w) {
    if (!PeekWord(w)) return false;
    pos_++;
    return true;
  }
  bool AcceptSymbol(char c) {
    if (!Peek().IsSymbol(c)) return false;
    pos_++;
    return true;
  }
  Status ExpectWord(std::string_view w, const std::string& context) {
    if (AcceptWord(w)) return Status::OK();
    return Status::InvalidArgument(context + ": expected " + std::string(w) + " " + Found());
  }
  std::string Found() const {
    if (AtEnd()) return "but the statement ends";
    return "but found '" + Peek().text + "'";
  }
  // Source offset where significant token `i` begins (end of text past the last).
  size_t BeginOf(size_t i) const { return i < sig_.size() ? sig_[i].begin : text_.size(); }
  std::string_view Rest() const { return text_.substr(BeginOf(pos_)); }
  std::string_view Slice(size_t from_tok, size_t to_tok) const {
    size_t b = BeginOf(from_tok);
    size_t e = to_tok == 0 ? b : (to_tok - 1 < sig_.size() ? sig_[to_tok - 1].end : text_.size());
    return text_.substr(b, e > b ? e - b : 0);
  }

  // A dotted name (1–3 parts); empty when the next token is not an identifier.
  std::vector<std::string> Name() {
    std::vector<std::string> parts;
    if (!IsIdent(Peek())) return parts;
    parts.push_back(Peek().Identifier());
    pos_++;
    while (Peek().IsSymbol('.') && IsIdent(Peek(1))) {
      parts.push_back(Peek(1).Identifier());
      pos_ += 2;
    }
    return parts;
  }

  // The index of the ')' matching the '(' at `open`; npos when unbalanced.
  size_t MatchParen(size_t open) const {
    int depth = 0;
    for (size_t i = open; i < sig_.size(); i++) {
      if (sig_[i].IsSymbol('(')) depth++;
      if (sig_[i].IsSymbol(')') && --depth == 0) return i;
    }
    return std::string::npos;
  }

  // ( ident, ident … ) at the cursor.
  Result<std::vector<std::string>> IdentList(const std::string& context) {
    if (!AcceptSymbol('(')) return Status::InvalidArgument(context + ": expected ( " + Found());
    std::vector<std::string> out;
    while (true) {
      if (!IsIdent(Peek())) {
        return Status::InvalidArgument(context + ": expected a column name " + Found());
      }
      out.push_back(Peek().Identifier());
      pos_++;
      if (AcceptSymbol(')')) return out;
      if (!AcceptSymbol(','))
        return Status::InvalidArgument(context + ": expected , or ) " + Found());
    }
  }

 private:
  std::string_view text_;
  std::vector<Token> sig_;
  size_t pos_ = 0;
};

Result<int64_t> ParseVersion(const Token& t, const std::string& what) {
  if (t.kind != TokenKind::kNumber || t.text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(what + ": the version must be a non-negative integer, found '" +
                                   t.text + "'");
  }
  try {
    return static_cast<int64_t>(std::stoll(t.text));
  } catch (...) {
    return Status::InvalidArgument(what + ": version '" + t.text + "' is out of range");
  }
}

// A time-travel clause at parser position `p`: VERSION AS OF n | TIMESTAMP AS OF 'ts' | @vN.
// Returns the number of tokens it spans, 0 when there is none.
Result<size_t> ParseTravel(const Parser& p, size_t i, const std::string& table, TimeTravel* at) {
  const Token& t = p.At(i);
  if (t.IsSymbol('@') && p.At(i + 1).kind == TokenKind::kWord) {
    std::string v = p.At(i + 1).text;
    if (v.size() > 1 && (v[0] == 'v' || v[0] == 'V') &&
        v.find_first_not_of("0123456789", 1) == std::string::npos) {
      at->version = std::stoll(v.substr(1));
      return 2;
    }
    return Status::InvalidArgument("'" + table + "@" + v + "': write @v<version>, e.g. @v3");
  }
  bool version = t.IsWord("version");
  bool timestamp = t.IsWord("timestamp");
  if (!(version || timestamp) || !p.At(i + 1).IsWord("as") || !p.At(i + 2).IsWord("of")) return 0;
  const std::string what = table + (version ? " VERSION AS OF" : " TIMESTAMP AS OF");
  if (version) {
    DEW_ASSIGN_OR_RETURN(int64_t v, ParseVersion(p.At(i + 3), what));
    at->version = v;
    return 4;
  }
  size_t j = i + 3;
  if (p.At(j).IsWord("timestamp") || p.At(j).IsWord("timestamptz")) j++;  // TIMESTAMP 'literal'
  if (p.At(j).kind != TokenKind::kString) {
    return Status::InvalidArgument(what +
                                   ": expected a timestamp literal such as '2026-01-31 "
                                   "23:59:59', found '" +
                                   p.At(j).text + "'");
  }
  at->timestamp = p.At(j).StringValue();
  return j + 1 - i;
}

// delta_scan('path' [, version => n | timestamp => 'ts']) starting at `i` (the word). Returns the
// index of the closing parenthesis.
Result<size_t> ParseDeltaScan(const Parser& p, size_t i, std::string* path, TimeTravel* at) {
  if (p.At(i + 2).kind != TokenKind::kString) {
    return Status::InvalidArgument(
        "delta_scan expects the table's path as a string literal, "
        "e.g. delta_scan('lake/gold/gold_fin_tb'), found '" +
        p.At(i + 2).text + "'");
  }
  *path = p.At(i + 2).StringValue();
  size_t j = i + 3;
  while (p.At(j).IsSymbol(',')) {
    const Token& key = p.At(j + 1);
    bool arrow = (p.At(j + 2).IsSymbol('=') && p.At(j + 3).IsSymbol('>')) ||
                 (p.At(j + 2).IsSymbol(':') && p.At(j + 3).IsSymbol('='));
    if (!arrow) {
      return Status::InvalidArgument("delta_scan('" + *path +
                                     "'): write named parameters as version => 3 or timestamp => "
                                     "'2026-01-31 23:59:59'");
    }
    const Token& value = p.At(j + 4);
    if (key.IsWord("version")) {
      DEW_ASSIGN_OR_RETURN(int64_t v, ParseVersion(value, "delta_scan('" + *path + "')"));
      at->version = v;
    } else if (key.IsWord("timestamp")) {
      if (value.kind != TokenKind::kString) {
        return Status::InvalidArgument("delta_scan('" + *path +
                                       "'): timestamp => expects a string literal, found '" +
                                       value.text + "'");
      }
      at->timestamp = value.StringValue();
    } else {
      return Status::InvalidArgument("delta_scan('" + *path + "'): unknown parameter '" + key.text +
                                     "' (expected version or timestamp)");
    }
    j += 5;
  }
  if (!p.At(j).IsSymbol(')')) {
    return Status::InvalidArgument("delta_scan('" + *path + "'): expected ) but found '" +
                                   p.At(j).text + "'");
  }
  if (at->version && at->timestamp) {
    return Status::InvalidArgument("delta_scan('" + *path +
                                   "'): give version or timestamp, not both");
  }
  return j;
}

struct Edit {
  size_t begin, end;
  std::string text;
};

// Whether significant token `i` starts an alias of the reference before it.
bool AliasFollows(const Parser& p, size_t i) {
  const Token& t = p.At(i);
  if (t.IsWord("as")) return true;
  if (t.kind == TokenKind::kQuotedIdent) return true;
  return t.kind == TokenKind::kWord && !IsClauseKeyword(t);
}

}  // namespace

Result<std::string> RewriteReads(std::string_view sql, TableResolver& resolver) {
  DEW_ASSIGN_OR_RETURN(auto tokens, Tokenize(sql));
  Parser p(sql, std::move(tokens));
  std::vector<Edit> edits;
  for (size_t i = 0; i < p.size(); i++) {
    const Token& t = p.At(i);
    if (!IsIdent(t) || (i > 0 && p.At(i - 1).IsSymbol('.'))) continue;
    if (t.IsWord("delta_scan") && p.At(i + 1).IsSymbol('(')) {
      std::string path;
      TimeTravel at;
      DEW_ASSIGN_OR_RETURN(size_t close, ParseDeltaScan(p, i, &path, &at));
      DEW_ASSIGN_OR_RETURN(std::string scan, resolver.ScanPath(path, at));
      std::string text = "(" + scan + ")";
      if (!AliasFollows(p, close + 1)) text += " AS delta_scan";
      edits.push_back({t.begin, p.At(close).end, std::move(text)});
      i = close;
      continue;
    }
    // [layer .] name followed by a time-travel clause.
    size_t j = i;
    std::string table = t.Identifier();
    std::string name = table;
    if (p.At(i + 1).IsSymbol('.') && IsIdent(p.At(i + 2))) {
      if (p.At(i + 3).IsSymbol('.')) continue;  // three-part names are not lake tables
      name = p.At(i + 2).Identifier();
      table += "." + name;
      j = i + 2;
    }
    TimeTravel at;
    DEW_ASSIGN_OR_RETURN(size_t span, ParseTravel(p, j + 1, table, &at));
    if (span == 0) continue;
    DEW_ASSIGN_OR_RETURN(std::string scan, resolver.ScanTable(table, at));
    size_t last = j + span;
    std::string text = "(" + scan + ")";
    if (!AliasFollows(p, last + 1)) text += " AS " + engine::SqlIdent(name);
    edits.push_back({t.begin, p.At(last).end, std::move(text)});
    i = last;
  }
  std::string out;
  size_t at = 0;
  for (const Edit& e : edits) {
    out.append(sql.substr(at, e.begin - at));
    out += e.text;
    at = e.end;
  }
  out.append(sql.substr(at));
  return out;
}

std::vector<std::string> LakeTableReferences(std::string_view sql) {
  std::vector<std::string> out;
  auto tokens = Tokenize(sql);
  if (!tokens.ok()) return out;
  Parser p(sql, std::move(*tokens));
  for (size_t i = 0; i + 2 < p.size(); i++) {
    if (!IsIdent(p.At(i)) || !p.At(i + 1).IsSymbol('.') || !IsIdent(p.At(i + 2))) continue;
    if (i > 0 && p.At(i - 1).IsSymbol('.')) continue;
    std::string layer = p.At(i).Identifier();
    if (!IsLayerName(layer)) continue;
    std::string ref = layer + "." + p.At(i + 2).Identifier();
    if (std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(ref);
  }
  return out;
}

namespace {

// The lake target "layer.name" of a parsed name, or empty when it is not one.
std::string LakeTarget(const std::vector<std::string>& parts) {
  if (parts.size() != 2 || !IsLayerName(parts[0])) return "";
  return parts[0] + "." + parts[1];
}

std::string Joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& s : parts) out += (out.empty() ? "" : ".") + s;
  return out;
}

LakeStatement PassThrough(std::string sql) {
  LakeStatement st;
  st.kind = StatementKind::kPassThrough;
  st.sql = std::move(sql);
  return st;
}

Status ParseCreate(Parser& p, TableResolver& resolver, LakeStatement* st, bool* lake) {
  // CREATE [OR REPLACE] TABLE [IF NOT EXISTS] layer.name …
  if (p.AcceptWord("or")) {
    DEW_RETURN_IF_ERROR(p.ExpectWord("replace", "CREATE OR REPLACE"));
    st->or_replace = true;
  }
  if (!p.AcceptWord("table")) return Status::OK();
  if (p.PeekWord("if") && p.PeekWord("not", 1) && p.PeekWord("exists", 2)) {
    p.set_pos(p.pos() + 3);
    st->if_not_exists = true;
  }
  std::vector<std::string> parts = p.Name();
  st->table = LakeTarget(parts);
  if (st->table.empty()) {
    // CREATE TABLE without TEMP (that path returned above) makes a table in the in-memory
    // database: worth a note, since it is gone when the process ends.
    st->session_table = Joined(parts);
    return Status::OK();
  }
  *lake = true;
  const std::string ctx = "CREATE TABLE " + st->table;
  if (p.Peek().IsSymbol('(')) {
    size_t close = p.MatchParen(p.pos());
    if (close == std::string::npos) return Status::InvalidArgument(ctx + ": unbalanced (");
    st->kind = StatementKind::kCreateTable;
    st->column_defs = std::string(p.Slice(p.pos() + 1, close));
    p.set_pos(close + 1);
  }
  while (!p.AtEnd()) {
    if (p.AcceptWord("using")) {
      if (!p.AcceptWord("delta")) {
        return Status::NotSupported(ctx +
                                    ": lake tables are Delta tables; only USING DELTA is "
                                    "accepted");
      }
    } else if (p.AcceptWord("partitioned")) {
      DEW_RETURN_IF_ERROR(p.ExpectWord("by", ctx));
      DEW_ASSIGN_OR_RETURN(st->partition_by, p.IdentList(ctx + " PARTITIONED BY"));
    } else if (p.AcceptWord("as")) {
      if (st->kind == StatementKind::kCreateTable) {
        return Status::InvalidArgument(ctx + ": give column definitions or AS query, not both");
      }
      st->kind = StatementKind::kCreateTableAs;
      DEW_ASSIGN_OR_RETURN(st->query, RewriteReads(p.Rest(), resolver));
      return Status::OK();
    } else {
      return Status::InvalidArgument(ctx + ": expected PARTITIONED BY (…) or AS <query> " +
                                     p.Found());
    }
  }
  if (st->kind != StatementKind::kCreateTable) {
    return Status::InvalidArgument(ctx + ": expected (column definitions) or AS <query>");
  }
  return Status::OK();
}

Status ParseInsert(Parser& p, TableResolver& resolver, LakeStatement* st, bool* lake) {
  size_t start = p.pos();
  bool overwrite = false;
  if (p.AcceptWord("overwrite")) {
    overwrite = true;
    p.AcceptWord("table");
  } else if (!p.AcceptWord("into")) {
    // INSERT OR REPLACE / OR IGNORE INTO: DuckDB's upsert forms.
    p.set_pos(start);
    while (!p.AtEnd() && !p.PeekWord("into")) p.set_pos(p.pos() + 1);
    p.AcceptWord("into");
    if (!LakeTarget(p.Name()).empty()) {
      return Status::NotSupported(
          "INSERT OR REPLACE / OR IGNORE is not supported on lake tables; use MERGE INTO … "
          "USING … ON … WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *");
    }
    return Status::OK();
  }
  st->table = LakeTarget(p.Name());
  if (st->table.empty()) return Status::OK();
  *lake = true;
  st->kind = overwrite ? StatementKind::kInsertOverwrite : StatementKind::kInsert;
  const std::string ctx = std::string(overwrite ? "INSERT OVERWRITE " : "INSERT INTO ") + st->table;
  if (p.Peek().IsSymbol('(') && !p.PeekWord("select", 1) && !p.PeekWord("with", 1) &&
      !p.PeekWord("values", 1) && !p.PeekWord("from", 1) && !p.Peek(1).IsSymbol('(')) {
    DEW_ASSIGN_OR_RETURN(st->columns, p.IdentList(ctx + " column list"));
  }
  if (p.PeekWord("by") && p.PeekWord("name", 1)) {
    st->by_name = true;
    p.set_pos(p.pos() + 2);
  } else if (p.PeekWord("by") && p.PeekWord("position", 1)) {
    p.set_pos(p.pos() + 2);
  }
  if (p.AtEnd()) return Status::InvalidArgument(ctx + ": expected a query or VALUES");
  if (p.PeekWord("default")) {
    return Status::NotSupported(ctx + ": DEFAULT VALUES is not supported on lake tables");
  }
  if (p.PeekWord("replace") || p.PeekWord("on") || p.PeekWord("returning")) {
    return Status::NotSupported(ctx + ": '" + p.Peek().text + "' is not supported on lake tables");
  }
  DEW_ASSIGN_OR_RETURN(st->query, RewriteReads(p.Rest(), resolver));
  return Status::OK();
}

Status ParseDelete(Parser& p, TableResolver& resolver, LakeStatement* st, bool* lake) {
  if (!p.AcceptWord("from")) return Status::OK();
  st->table = LakeTarget(p.Name());
  if (st->table.empty()) return Status::OK();
  *lake = true;
  st->kind = StatementKind::kDelete;
  if (p.AtEnd()) return Status::OK();
  if (!p.AcceptWord("where")) {
    return Status::NotSupported("DELETE FROM " + st->table +
                                ": only DELETE FROM layer.table [WHERE predicate] is supported "
                                "on lake tables (no alias, USING or RETURNING), found '" +
                                p.Peek().text + "'");
  }
  DEW_ASSIGN_OR_RETURN(st->predicate, RewriteReads(p.Rest(), resolver));
  return Status::OK();
}

const char kMergeForm[] =
    "MERGE INTO layer.table USING (query) AS s ON s.k = layer.table.k [AND …] WHEN MATCHED THEN "
    "UPDATE SET * WHEN NOT MATCHED THEN INSERT *";

// One side of an ON equality: qualifier and column.
bool ParseColumnRef(Parser& p, std::string* qualifier, std::string* column) {
  std::vector<std::string> parts = p.Name();
  if (parts.empty()) return false;
  *column = parts.back();
  parts.pop_back();
  *qualifier = Joined(parts);
  return true;
}

Status ParseMergeOn(Parser& p, const LakeStatement& st, const std::string& target_alias,
                    const std::string& source_alias, std::vector<std::string>* keys) {
  const std::string target_name = st.table.substr(st.table.find('.') + 1);
  auto is_target = [&](const std::string& q) {
    return q == st.table || q == target_name || (!target_alias.empty() && q == target_alias);
  };
  int parens = 0;
  while (p.AcceptSymbol('(')) parens++;
  while (true) {
    std::string q1, c1, q2, c2;
    if (!ParseColumnRef(p, &q1, &c1) || !p.AcceptSymbol('=') || !ParseColumnRef(p, &q2, &c2)) {
      return Status::NotSupported("MERGE INTO " + st.table +
                                  ": the ON condition must be equalities between source and "
                                  "target columns joined by AND; supported form: " +
                                  kMergeForm);
    }
    bool ok = (q1 == source_alias && is_target(q2)) || (q2 == source_alias && is_target(q1));
    if (!ok) {
      return Status::NotSupported("MERGE INTO " + st.table + ": ON " + q1 + "." + c1 + " = " + q2 +
                                  "." + c2 + " must compare a column of the source (" +
                                  source_alias + ") with one of the target (" + st.table + ")");
    }
    if (c1 != c2) {
      return Status::NotSupported("MERGE INTO " + st.table +
                                  ": merge keys must have the same "
                                  "name in source and target, found " +
                                  c1 + " and " + c2);
    }
    keys->push_back(is_target(q1) && q1 != source_alias ? c1 : c2);
    if (!p.AcceptWord("and")) break;
  }
  while (parens > 0 && p.AcceptSymbol(')')) parens--;
  if (parens != 0)
    return Status::InvalidArgument("MERGE INTO " + st.table + ": unbalanced ( in ON");
  return Status::OK();
}

Status ParseMergeClauses(Parser& p, const LakeStatement& st) {
  bool matched = false, not_matched = false;
  auto unsupported = [&]() {
    return Status::NotSupported("MERGE INTO " + st.table +
                                ": only WHEN MATCHED THEN UPDATE SET * "
                                "and WHEN NOT MATCHED THEN INSERT * are supported (both); "
                                "supported form: " +
                                kMergeForm);
  };
  while (!p.AtEnd()) {
    if (!p.AcceptWord("when")) return unsupported();
    if (p.AcceptWord("matched")) {
      if (!p.AcceptWord("then") || !p.AcceptWord("update") || !p.AcceptWord("set") ||
          !p.AcceptSymbol('*') || matched) {
        return unsupported();
      }
      matched = true;
    } else if (p.AcceptWord("not") && p.AcceptWord("matched")) {
      if (p.AcceptWord("by")) {
        if (!p.AcceptWord("target")) return unsupported();
      }
      if (!p.AcceptWord("then") || !p.AcceptWord("insert") || !p.AcceptSymbol('*') || not_matched) {
        return unsupported();
      }
      not_matched = true;
    } else {
      return unsupported();
    }
  }
  if (!matched || !not_matched) return unsupported();
  return Status::OK();
}

Status ParseMerge(Parser& p, TableResolver& resolver, LakeStatement* st, bool* lake) {
  if (!p.AcceptWord("into")) return Status::OK();
  st->table = LakeTarget(p.Name());
  if (st->table.empty()) return Status::OK();
  *lake = true;
  st->kind = StatementKind::kMerge;
  const std::string ctx = "MERGE INTO " + st->table;
  std::string target_alias;
  if (p.AcceptWord("as") || (IsIdent(p.Peek()) && !p.PeekWord("using"))) {
    target_alias = p.Peek().Identifier();
    p.set_pos(p.pos() + 1);
  }
  DEW_RETURN_IF_ERROR(p.ExpectWord("using", ctx));
  std::string source_alias;
  if (p.Peek().IsSymbol('(')) {
    size_t close = p.MatchParen(p.pos());
    if (close == std::string::npos) return Status::InvalidArgument(ctx + ": unbalanced ( in USING");
    DEW_ASSIGN_OR_RETURN(st->query, RewriteReads(p.Slice(p.pos() + 1, close), resolver));
    p.set_pos(close + 1);
  } else {
    size_t from = p.pos();
    std::vector<std::string> parts = p.Name();
    if (parts.empty()) return Status::InvalidArgument(ctx + ": expected a source after USING");
    source_alias = parts.back();
    TimeTravel at;
    DEW_ASSIGN_OR_RETURN(size_t span, ParseTravel(p, p.pos(), Joined(parts), &at));
    p.set_pos(p.pos() + span);
    DEW_ASSIGN_OR_RETURN(std::string ref, RewriteReads(p.Slice(from, p.pos()), resolver));
    st->query = "SELECT * FROM " + ref;
    if (parts.size() > 1 && span == 0) source_alias = Joined(parts);
  }
  if (p.AcceptWord("as") || (IsIdent(p.Peek()) && !p.PeekWord("on"))) {
    source_alias = p.Peek().Identifier();
    p.set_pos(p.pos() + 1);
  }
  if (source_alias.empty()) {
    return Status::InvalidArgument(ctx + ": give the USING (query) an alias, e.g. AS s");
  }
  DEW_RETURN_IF_ERROR(p.ExpectWord("on", ctx));
  DEW_RETURN_IF_ERROR(ParseMergeOn(p, *st, target_alias, source_alias, &st->merge_keys));
  return ParseMergeClauses(p, *st);
}

// OPTIMIZE layer.table [WHERE predicate], Delta's compaction.
Status ParseOptimize(Parser& p, TableResolver& resolver, LakeStatement* st, bool* lake) {
  st->table = LakeTarget(p.Name());
  if (st->table.empty()) return Status::OK();
  *lake = true;
  st->kind = StatementKind::kOptimize;
  if (p.AtEnd()) return Status::OK();
  if (p.PeekWord("zorder")) {
    return Status::NotSupported("OPTIMIZE " + st->table +
                                ": ZORDER BY is not supported; dew compacts by bin-packing only");
  }
  if (!p.AcceptWord("where")) {
    return Status::InvalidArgument("OPTIMIZE " + st->table + ": expected WHERE <predicate on " +
                                   "partition columns> or the end of the statement " + p.Found());
  }
  if (p.AtEnd()) return Status::InvalidArgument("OPTIMIZE " + st->table + ": empty WHERE");
  DEW_ASSIGN_OR_RETURN(st->predicate, RewriteReads(p.Rest(), resolver));
  return Status::OK();
}

// A property key: 'quoted' or a dotted name (delta.enableDeletionVectors), case kept.
Result<std::string> PropertyKey(Parser& p, const std::string& ctx) {
  if (p.Peek().kind == TokenKind::kString) {
    std::string key = p.Peek().StringValue();
    p.set_pos(p.pos() + 1);
    return key;
  }
  if (p.Peek().kind != TokenKind::kWord) {
    return Status::InvalidArgument(ctx + ": expected a property name " + p.Found());
  }
  std::string key = p.Peek().text;
  p.set_pos(p.pos() + 1);
  while (p.Peek().IsSymbol('.') && p.Peek(1).kind == TokenKind::kWord) {
    key += "." + p.Peek(1).text;
    p.set_pos(p.pos() + 2);
  }
  return key;
}

// ALTER TABLE t SET TBLPROPERTIES ('k' = 'v', …) | UNSET TBLPROPERTIES [IF EXISTS] ('k', …).
Status ParseAlterProperties(Parser& p, LakeStatement* st) {
  const std::string ctx = "ALTER TABLE " + st->table;
  const bool set = p.AcceptWord("set");
  if (!set && !p.AcceptWord("unset")) {
    return Status::NotSupported(ctx + ": only SET TBLPROPERTIES (…) and UNSET TBLPROPERTIES (…)" +
                                " are supported on lake tables; change columns with CREATE OR " +
                                "REPLACE TABLE … AS SELECT");
  }
  if (!p.AcceptWord("tblproperties")) {
    return Status::NotSupported(ctx + ": only SET TBLPROPERTIES (…) and UNSET TBLPROPERTIES (…)" +
                                " are supported on lake tables " + p.Found());
  }
  st->kind = set ? StatementKind::kSetProperties : StatementKind::kUnsetProperties;
  const std::string what = ctx + (set ? " SET" : " UNSET") + " TBLPROPERTIES";
  if (!set && p.PeekWord("if") && p.PeekWord("exists", 1)) {
    p.set_pos(p.pos() + 2);
    st->if_exists = true;
  }
  if (!p.AcceptSymbol('(')) return Status::InvalidArgument(what + ": expected ( " + p.Found());
  while (true) {
    DEW_ASSIGN_OR_RETURN(std::string key, PropertyKey(p, what));
    if (set) {
      p.AcceptSymbol('=');
      const Token& v = p.Peek();
      if (v.kind != TokenKind::kString && v.kind != TokenKind::kNumber &&
          v.kind != TokenKind::kWord) {
        return Status::InvalidArgument(what + ": expected a value for '" + key + "' " + p.Found());
      }
      std::string value = v.kind == TokenKind::kString ? v.StringValue() : v.text;
      p.set_pos(p.pos() + 1);
      if (!st->properties.emplace(key, value).second) {
        return Status::InvalidArgument(what + ": property '" + key + "' is given twice");
      }
    } else {
      st->unset_properties.push_back(key);
    }
    if (p.AcceptSymbol(')')) break;
    if (!p.AcceptSymbol(',')) {
      return Status::InvalidArgument(what + ": expected , or ) " + p.Found());
    }
  }
  if (!p.AtEnd()) return Status::InvalidArgument(what + ": unexpected '" + p.Peek().text + "'");
  return Status::OK();
}

}  // namespace

Result<LakeStatement> ParseStatement(std::string_view statement, TableResolver& resolver) {
  DEW_ASSIGN_OR_RETURN(auto tokens, Tokenize(statement));
  Parser p(statement, std::move(tokens));
  LakeStatement st;
  bool lake = false;
  if (p.AcceptWord("create")) {
    DEW_RETURN_IF_ERROR(ParseCreate(p, resolver, &st, &lake));
  } else if (p.AcceptWord("insert")) {
    DEW_RETURN_IF_ERROR(ParseInsert(p, resolver, &st, &lake));
  } else if (p.AcceptWord("delete")) {
    DEW_RETURN_IF_ERROR(ParseDelete(p, resolver, &st, &lake));
  } else if (p.AcceptWord("merge")) {
    DEW_RETURN_IF_ERROR(ParseMerge(p, resolver, &st, &lake));
  } else if (p.AcceptWord("truncate")) {
    p.AcceptWord("table");
    st.table = LakeTarget(p.Name());
    if (!st.table.empty()) {
      lake = true;
      st.kind = StatementKind::kDelete;
    }
  } else if (p.AcceptWord("drop")) {
    if (p.AcceptWord("table")) {
      if (p.PeekWord("if") && p.PeekWord("exists", 1)) {
        p.set_pos(p.pos() + 2);
        st.if_exists = true;
      }
      st.table = LakeTarget(p.Name());
      if (!st.table.empty()) {
        lake = true;
        st.kind = StatementKind::kDropTable;
      }
    }
  } else if (p.AcceptWord("optimize")) {
    DEW_RETURN_IF_ERROR(ParseOptimize(p, resolver, &st, &lake));
  } else if (p.AcceptWord("update") || p.AcceptWord("alter")) {
    bool update = p.At(0).IsWord("update");
    if (!update) p.AcceptWord("table");
    std::string target = LakeTarget(p.Name());
    if (!target.empty() && !update) {
      st.table = target;
      lake = true;
      DEW_RETURN_IF_ERROR(ParseAlterProperties(p, &st));
    } else if (!target.empty()) {
      return Status::NotSupported(
          "UPDATE is not supported on lake table " + target +
          "; use MERGE INTO … WHEN MATCHED THEN UPDATE SET * with the changed rows");
    }
  }
  if (!lake) {
    DEW_ASSIGN_OR_RETURN(std::string sql, RewriteReads(statement, resolver));
    LakeStatement out = PassThrough(std::move(sql));
    out.session_table = st.session_table;
    return out;
  }
  return st;
}

}  // namespace dew::lake
