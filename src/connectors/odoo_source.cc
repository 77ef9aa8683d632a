#include "connectors/odoo_source.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "connectors/bronze_landing.h"
#include "connectors/silver_table.h"
#include "connectors/source_factory.h"
#include "core/http_client.h"
#include "core/near_match.h"
#include "engine/connection.h"
#include "lake/lakehouse.h"

namespace dew::connectors {

namespace {

using json = nlohmann::json;

constexpr const char* kDefaultCursor = "write_date";

// --- Filters as domains --------------------------------------------------------------------

// Odoo's domain literal syntax: Python lists/tuples of strings, numbers, True/False/None.
class DomainLiteralParser {
 public:
  explicit DomainLiteralParser(const std::string& text) : s_(text) {}

  Result<json> Parse() {
    DEW_ASSIGN_OR_RETURN(json v, Value(0));
    Skip();
    if (pos_ != s_.size()) return Fail("unexpected text after the domain");
    if (!v.is_array()) return Fail("a domain is a list: [('field', '=', value), …]");
    return v;
  }

 private:
  Status Fail(const std::string& problem) const {
    return Status::InvalidArgument("filter: column " + std::to_string(pos_ + 1) + ": " + problem);
  }
  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  Result<json> Value(int depth) {
    if (depth > 50) return Fail("nested too deeply");
    Skip();
    if (pos_ >= s_.size()) return Fail("unexpected end of the domain");
    const char c = s_[pos_];
    if (c == '[' || c == '(') {
      const char close = c == '[' ? ']' : ')';
      ++pos_;
      json out = json::array();
      while (true) {
        Skip();
        if (pos_ < s_.size() && s_[pos_] == close) {
          ++pos_;
          return out;
        }
        DEW_ASSIGN_OR_RETURN(json item, Value(depth + 1));
        out.push_back(std::move(item));
        Skip();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
        } else if (pos_ >= s_.size() || s_[pos_] != close) {
          return Fail(std::string("expected ',' or '") + close + "'");
        }
      }
    }
    if (c == '\'' || c == '"') {
      std::string out;
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] != c) {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        out += s_[pos_++];
      }
      if (pos_ >= s_.size()) return Fail("unterminated string");
      ++pos_;
      return json(out);
    }
    size_t start = pos_;
    while (pos_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
            s_[pos_] == '-' || s_[pos_] == '+' || s_[pos_] == '_')) {
      ++pos_;
    }
    const std::string word = s_.substr(start, pos_ - start);
    if (word == "True" || word == "true") return json(true);
    if (word == "False" || word == "false") return json(false);
    if (word == "None" || word == "null") return json(false);  // Odoo compares None as False
    if (!word.empty()) {
      json number = json::parse(word, nullptr, false);
      if (number.is_number()) return number;
    }
    pos_ = start;
    return Fail("expected a value ('text', a number, True, False, None, a list)");
  }

  const std::string& s_;
  size_t pos_ = 0;
};

// A simple SQL predicate: `field op literal` terms joined by AND.
class SqlFilterParser {
 public:
  explicit SqlFilterParser(const std::string& text) : s_(text) {}

  Result<json> Parse() {
    json domain = json::array();
    while (true) {
      DEW_ASSIGN_OR_RETURN(json leaf, Term());
      domain.push_back(std::move(leaf));
      Skip();
      if (pos_ >= s_.size()) return domain;
      if (!Keyword("AND")) {
        return Fail(Keyword("OR") ? "OR is not translated to an Odoo domain; write the filter "
                                    "as a domain: ['|', ('a', '=', 1), ('b', '=', 2)]"
                                  : "expected AND between comparisons");
      }
    }
  }

 private:
  Status Fail(const std::string& problem) const {
    return Status::InvalidArgument(
        "filter: column " + std::to_string(pos_ + 1) + ": " + problem +
        " (in API mode a filter is an Odoo domain like [('state', '=', 'posted')] or simple "
        "SQL comparisons joined by AND)");
  }
  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Keyword(const char* word) {
    Skip();
    const size_t n = std::char_traits<char>::length(word);
    if (pos_ + n > s_.size()) return false;
    for (size_t i = 0; i < n; ++i) {
      if (std::toupper(static_cast<unsigned char>(s_[pos_ + i])) != word[i]) return false;
    }
    if (pos_ + n < s_.size() &&
        (std::isalnum(static_cast<unsigned char>(s_[pos_ + n])) || s_[pos_ + n] == '_'))
      return false;
    pos_ += n;
    return true;
  }
  Result<std::string> Identifier() {
    Skip();
    if (pos_ < s_.size() && s_[pos_] == '"') {
      size_t end = s_.find('"', pos_ + 1);
      if (end == std::string::npos) return Fail("unterminated quoted name");
      std::string name = s_.substr(pos_ + 1, end - pos_ - 1);
      pos_ = end + 1;
      return name;
    }
    size_t start = pos_;
    while (pos_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
      ++pos_;
    if (pos_ == start) return Fail("expected a field name");
    return s_.substr(start, pos_ - start);
  }
  Result<json> Literal() {
    Skip();
    if (pos_ < s_.size() && s_[pos_] == '\'') {
      std::string out;
      ++pos_;
      while (true) {
        if (pos_ >= s_.size()) return Fail("unterminated string");
        if (s_[pos_] == '\'') {
          if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '\'') {
            out += '\'';
            pos_ += 2;
            continue;
          }
          ++pos_;
          return json(out);
        }
        out += s_[pos_++];
      }
    }
    if (Keyword("TRUE")) return json(true);
    if (Keyword("FALSE")) return json(false);
    size_t start = pos_;
    while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) ||
                                s_[pos_] == '.' || s_[pos_] == '-' || s_[pos_] == '+'))
      ++pos_;
    json number = json::parse(s_.substr(start, pos_ - start), nullptr, false);
    if (pos_ == start || !number.is_number()) {
      pos_ = start;
      return Fail("expected a literal ('text', a number, TRUE, FALSE)");
    }
    return number;
  }
  Result<json> Term() {
    DEW_ASSIGN_OR_RETURN(std::string field, Identifier());
    Skip();
    if (Keyword("IS")) {
      const bool negate = Keyword("NOT");
      if (!Keyword("NULL")) return Fail("expected NULL after IS");
      return json::array({field, negate ? "!=" : "=", false});
    }
    const bool negate = Keyword("NOT");
    if (Keyword("IN")) {
      Skip();
      if (pos_ >= s_.size() || s_[pos_] != '(') return Fail("expected '(' after IN");
      ++pos_;
      json values = json::array();
      while (true) {
        DEW_ASSIGN_OR_RETURN(json v, Literal());
        values.push_back(std::move(v));
        Skip();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == ')') {
          ++pos_;
          break;
        }
        return Fail("expected ',' or ')' in the IN list");
      }
      return json::array({field, negate ? "not in" : "in", values});
    }
    if (negate) return Fail("expected IN after NOT");
    static const char* kOps[] = {"<=", ">=", "<>", "!=", "=", "<", ">"};
    for (const char* op : kOps) {
      const size_t n = std::char_traits<char>::length(op);
      if (s_.compare(pos_, n, op) == 0) {
        pos_ += n;
        DEW_ASSIGN_OR_RETURN(json value, Literal());
        const std::string odoo_op = std::string(op) == "<>" ? "!=" : op;
        return json::array({field, odoo_op, value});
      }
    }
    return Fail("expected a comparison operator after " + field);
  }

  const std::string& s_;
  size_t pos_ = 0;
};

// Odoo's values as typed row values: False means empty for every non-boolean field.
json ToRowValue(const json& value, const std::string& ttype) {
  if (ttype == "boolean") return value.is_boolean() ? value : json(nullptr);
  if (value.is_boolean() && !value.get<bool>()) return nullptr;
  if (ttype == "one2many" || ttype == "many2many") return value.is_array() ? value : json(nullptr);
  return value;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

// --- The preset ----------------------------------------------------------------------------

const std::vector<OdooPresetModel>& OdooPresetModels() {
  static const std::vector<OdooPresetModel> kModels = {
      {"account_move_line", "account.move.line", "parent_state = 'posted'"},
      {"account_move", "account.move", "state = 'posted'"},
      {"account_account", "account.account", ""},
      {"res_partner", "res.partner", ""},
      {"account_journal", "account.journal", ""},
      {"account_bank_statement_line", "account.bank.statement.line", ""},
  };
  return kModels;
}

const OdooPresetModel* FindOdooPreset(const std::string& stream) {
  for (const OdooPresetModel& m : OdooPresetModels()) {
    if (m.table == stream || m.model == stream) return &m;
  }
  return nullptr;
}

void ApplyOdooPreset(StreamSpec* stream, bool sync_mode_written, bool filter_written) {
  if (stream->cursor_field.empty()) stream->cursor_field = kDefaultCursor;
  if (stream->primary_key.empty()) stream->primary_key = {"id"};
  if (!sync_mode_written) stream->sync_mode = "incremental";
  const OdooPresetModel* preset = FindOdooPreset(stream->name);
  if (!filter_written && preset != nullptr) stream->filter = preset->sql_filter;
}

std::vector<StreamSpec> OdooPresetStreams() {
  std::vector<StreamSpec> out;
  for (const OdooPresetModel& m : OdooPresetModels()) {
    StreamSpec s;
    s.name = m.table;
    ApplyOdooPreset(&s, false, false);
    out.push_back(std::move(s));
  }
  return out;
}

std::string OdooModelFor(const std::string& stream) {
  if (stream.find('.') != std::string::npos) return stream;
  if (const OdooPresetModel* preset = FindOdooPreset(stream)) return preset->model;
  std::string model = stream;
  std::replace(model.begin(), model.end(), '_', '.');
  return model;
}

Result<json> OdooDomainFromFilter(const std::string& filter) {
  size_t start = filter.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return json::array();
  if (filter[start] == '[') return DomainLiteralParser(filter).Parse();
  return SqlFilterParser(filter).Parse();
}

std::string OdooLakeType(const std::string& ttype) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {"char", "VARCHAR"},           {"text", "VARCHAR"},      {"html", "VARCHAR"},
      {"selection", "VARCHAR"},      {"integer", "BIGINT"},    {"float", "DOUBLE"},
      {"monetary", "DECIMAL(38,6)"}, {"boolean", "BOOLEAN"},   {"date", "DATE"},
      {"datetime", "TIMESTAMP"},     {"many2one", "BIGINT"},   {"many2one_reference", "BIGINT"},
      {"one2many", "JSON"},          {"many2many", "JSON"},    {"json", "JSON"},
      {"properties", "JSON"},        {"reference", "VARCHAR"},
  };
  for (const auto& [odoo, lake] : kTypes) {
    if (ttype == odoo) return lake;
  }
  if (ttype == "binary" || ttype == "properties_definition") return "";
  return "VARCHAR";
}

// --- API mode ------------------------------------------------------------------------------

OdooApiSource::OdooApiSource(std::shared_ptr<HttpClient> http, OdooApiConfig config,
                             std::vector<std::string> streams)
    : http_(std::move(http)), config_(std::move(config)), streams_(std::move(streams)) {}

json OdooApiSource::Spec() const {
  return {{"type", "object"},
          {"required", {"url", "database", "user", "password"}},
          {"properties",
           {{"url", {{"type", "string"}}},
            {"database", {{"type", "string"}}},
            {"user", {{"type", "string"}}},
            {"password", {{"type", "string"}, {"secret", true}}},
            {"batch_size", {{"type", "integer"}, {"default", 500}}},
            {"timeout_seconds", {{"type", "integer"}, {"default", 300}}}}}};
}

Result<std::vector<OdooApiSource::Field>> OdooApiSource::Fields(OdooRpcClient& client,
                                                                const std::string& model) {
  DEW_ASSIGN_OR_RETURN(
      OdooSearchRead r,
      client.SearchRead("ir.model.fields", json::array({json::array({"model", "=", model})}),
                        {"name", "ttype", "relation", "store", "required"}, 0, 0, "id"));
  std::vector<Field> out;
  for (const json& rec : r.records) {
    if (!rec.value("store", true)) continue;  // computed on the fly: not searchable, not stored
    Field f;
    f.name = rec.value("name", "");
    f.ttype = rec.value("ttype", "");
    f.relation = rec["relation"].is_string() ? rec["relation"].get<std::string>() : "";
    f.required = rec.value("required", false);
    if (!f.name.empty() && !OdooLakeType(f.ttype).empty()) out.push_back(std::move(f));
  }
  if (out.empty()) {
    std::vector<std::string> candidates;
    for (const OdooPresetModel& m : OdooPresetModels()) candidates.push_back(m.model);
    const std::string near = ClosestMatch(model, candidates).value_or("");
    return Status::NotFound("Odoo at " + client.Describe() + ": model " + model +
                            " does not exist or has no stored fields" +
                            (near.empty() || near == model ? "" : " (did you mean " + near + "?)"));
  }
  return out;
}

Status OdooApiSource::Check(const std::vector<std::string>& streams, CheckProblem* problem) {
  CheckProblem local = CheckProblem::kNone;
  if (problem == nullptr) problem = &local;
  *problem = CheckProblem::kNone;
  OdooRpcClient client(http_, config_.rpc);
  auto uid = client.Authenticate();
  if (!uid.ok()) {
    *problem = client.last_problem();
    return uid.status();
  }
  const std::vector<std::string>& names = streams.empty() ? streams_ : streams;
  for (const std::string& stream : names) {
    const std::string model = OdooModelFor(stream);
    auto found = client.ExecuteKw(
        model, "search", {XmlRpcValue::Array({})},
        XmlRpcValue::Struct({{"limit", XmlRpcValue::Int(1)}, {"context", AllRecordsContext()}}));
    if (!found.ok()) {
      *problem = client.last_problem();
      return found.status().WithContext("stream " + stream);
    }
  }
  return Status::OK();
}

Result<std::vector<StreamInfo>> OdooApiSource::Discover() {
  OdooRpcClient client(http_, config_.rpc);
  std::vector<std::string> names = streams_;
  if (names.empty()) {
    for (const OdooPresetModel& m : OdooPresetModels()) names.push_back(m.table);
  }
  std::vector<StreamInfo> out;
  for (const std::string& stream : names) {
    const std::string model = OdooModelFor(stream);
    DEW_ASSIGN_OR_RETURN(std::vector<Field> fields, Fields(client, model));
    StreamInfo info;
    info.name = stream;
    info.namespace_ = model;
    info.primary_key = {"id"};
    for (const Field& f : fields) {
      ColumnInfo c;
      c.name = f.name;
      c.source_type = f.ttype + (f.relation.empty() ? "" : "(" + f.relation + ")");
      c.lake_type = OdooLakeType(f.ttype);
      c.nullable = f.name != "id";
      info.columns.push_back(c);
      if (f.ttype == "many2one") {
        info.columns.push_back(
            {f.name + "_name", "display_name of " + f.relation, "VARCHAR", true});
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

Result<ReadResult> OdooApiSource::Read(const StreamRequest& stream, const json& state,
                                       lake::Lakehouse* lake) {
  if (stream.detect_deletes && stream.deletes_by_replication) {
    return Status::InvalidArgument("stream " + stream.name +
                                   ": detect_deletes: replication needs database access "
                                   "(auth:), not Odoo's external API (url:)");
  }
  OdooRpcClient client(http_, config_.rpc);
  const std::string model = OdooModelFor(stream.name);
  DEW_ASSIGN_OR_RETURN(std::vector<Field> all, Fields(client, model));
  const std::string cursor_field =
      stream.cursor_field.empty() ? kDefaultCursor : stream.cursor_field;

  // The fields to read: the stream's columns (id and the cursor always), else every stored one.
  std::vector<Field> fields;
  std::vector<std::string> names;
  for (const Field& f : all) names.push_back(f.name);
  auto find = [&](const std::string& name) -> const Field* {
    for (const Field& f : all) {
      if (f.name == name) return &f;
    }
    return nullptr;
  };
  if (stream.columns.empty()) {
    fields = all;
  } else {
    std::vector<std::string> wanted = {"id", cursor_field};
    for (const std::string& c : stream.columns) {
      if (std::find(wanted.begin(), wanted.end(), c) == wanted.end()) wanted.push_back(c);
    }
    for (const std::string& c : wanted) {
      const Field* f = find(c);
      if (f == nullptr) {
        const std::string near = ClosestMatch(c, names).value_or("");
        return Status::InvalidArgument("stream " + stream.name + ": column " + c +
                                       " is not a stored field of Odoo model " + model +
                                       (near.empty() ? "" : " (did you mean " + near + "?)"));
      }
      fields.push_back(*f);
    }
  }
  if (find(cursor_field) == nullptr || find("id") == nullptr) {
    return Status::InvalidArgument("stream " + stream.name + ": cursor_field " + cursor_field +
                                   " is not a stored field of Odoo model " + model);
  }
  std::vector<JsonColumn> columns;
  std::vector<std::string> field_names;
  for (const Field& f : fields) {
    field_names.push_back(f.name);
    columns.push_back({f.name, OdooLakeType(f.ttype)});
    if (f.ttype == "many2one") columns.push_back({f.name + "_name", "VARCHAR"});
  }

  std::string filter = stream.filter;
  if (filter.empty()) {
    if (const OdooPresetModel* preset = FindOdooPreset(stream.name)) filter = preset->sql_filter;
  }
  auto base = OdooDomainFromFilter(filter);
  if (!base.ok()) return base.status().WithContext("stream " + stream.name);

  // Where to start: an unfinished full refresh resumes; a new full refresh starts from nothing
  // and marks its first page; an incremental read continues after the state's (cursor, id).
  const bool state_ok = state.is_object() && state.value("cursor_field", "") == cursor_field;
  const bool resume_full = state_ok && state.value("phase", "") == "full_refresh";
  const bool full = stream.sync_mode == "full_refresh" || resume_full || !state_ok;
  json cursor = nullptr;
  int64_t last_id = 0;
  if (state_ok && (resume_full || stream.sync_mode != "full_refresh")) {
    cursor = state.value("cursor", json(nullptr));
    last_id = state.value("last_id", int64_t{0});
  }
  bool first_of_refresh = full && !resume_full;
  const std::string mode = full ? "full_refresh" : "incremental";
  const int64_t limit = stream.chunk_rows > 0 ? stream.chunk_rows : config_.batch_size;
  const std::string order = cursor_field + " asc, id asc";

  BronzeLanding landing(lake, config_.source, stream.name);
  JsonRecordBuffer buffer(config_.spool_dir, columns);
  ReadResult result;
  result.table = landing.table();
  result.state = state;
  while (true) {
    if (stream.cancel != nullptr && stream.cancel->load())
      return Status::Interrupted("sync of stream " + stream.name + " cancelled after " +
                                 std::to_string(result.rows) + " rows");
    json domain = *base;
    if (!cursor.is_null()) {
      // Keyset paging: rows sharing the last cursor value are never skipped, and a record
      // written while the sync runs moves behind the keyset and is read again (silver keeps
      // the latest), where an offset would skip a row.
      domain.push_back("|");
      domain.push_back(json::array({cursor_field, ">", cursor}));
      domain.push_back("&");
      domain.push_back(json::array({cursor_field, "=", cursor}));
      domain.push_back(json::array({"id", ">", last_id}));
    }
    DEW_ASSIGN_OR_RETURN(OdooSearchRead page,
                         client.SearchRead(model, domain, field_names, limit, 0, order));
    result.bytes_read += page.bytes;
    for (const json& record : page.records) {
      json row = json::object();
      for (const Field& f : fields) {
        const json value = record.contains(f.name) ? record[f.name] : json(false);
        if (f.ttype == "many2one") {
          const bool set = value.is_array() && !value.empty();
          row[f.name] = set ? value[0] : json(nullptr);
          row[f.name + "_name"] = set && value.size() > 1 ? value[1] : json(nullptr);
        } else {
          row[f.name] = ToRowValue(value, f.ttype);
        }
      }
      DEW_RETURN_IF_ERROR(buffer.Add(row));
    }
    if (!page.records.empty()) {
      const json& last = page.records.back();
      cursor = last.contains(cursor_field) ? last[cursor_field] : json(false);
      last_id = last.value("id", int64_t{0});
      if (cursor.is_null() || (cursor.is_boolean() && !cursor.get<bool>())) {
        return Status::InvalidArgument(
            "stream " + stream.name + ": record id " + std::to_string(last_id) + " of Odoo model " +
            model + " has no " + cursor_field + "; a cursor_field must always be set");
      }
    }
    const bool done = static_cast<int64_t>(page.records.size()) < limit;
    json next = {{"cursor_field", cursor_field},
                 {"cursor", cursor},
                 {"last_id", last_id},
                 {"phase", full && !done ? "full_refresh" : "incremental"},
                 {"model", model}};
    if (!page.records.empty() || first_of_refresh || next != result.state) {
      LandingBatch batch;
      DEW_ASSIGN_OR_RETURN(batch.select_sql, buffer.Select());
      batch.cursor_sql = "CAST(" + engine::SqlIdent(cursor_field) + " AS VARCHAR)";
      batch.state = next;
      batch.mode = mode;
      batch.full_refresh_start = first_of_refresh;
      batch.quarantine = stream.quarantine;
      auto landed = landing.Land(batch);
      if (!landed.ok()) {
        return landed.status().WithContext("landing page of " + std::to_string(buffer.size()) +
                                           " records of Odoo model " + model);
      }
      if (landed->commit.version >= 0) ++result.commits;
      result.rows += static_cast<int64_t>(page.records.size());
      first_of_refresh = false;
      DEW_RETURN_IF_ERROR(buffer.Clear());
    }
    result.state = next;
    if (done) break;
  }
  // A full refresh lets silver mark what it did not see as deleted; an incremental read asks
  // Odoo for the ids still matching the filter and lands the others as deletions.
  if (!full && stream.detect_deletes && !stream.quarantine) {
    DEW_RETURN_IF_ERROR(SilverTable::EnsureViews(lake, config_.source, stream.name));
    DEW_ASSIGN_OR_RETURN(result.rows_deleted,
                         LandDeletes(client, model, *base, landing, result.state, lake));
    if (result.rows_deleted > 0) ++result.commits;
  }
  return result;
}

Result<int64_t> OdooApiSource::LandDeletes(OdooRpcClient& client, const std::string& model,
                                           const json& domain, BronzeLanding& landing,
                                           const json& state, lake::Lakehouse* lake) {
  DEW_ASSIGN_OR_RETURN(lake::TableName bronze, lake::ParseTableName(landing.table()));
  if (!lake->Exists(bronze)) return 0;
  DEW_ASSIGN_OR_RETURN(XmlRpcValue ids,
                       client.ExecuteKw(model, "search", {XmlRpcValue::FromJson(domain)},
                                        XmlRpcValue::Struct({{"context", AllRecordsContext()}})));
  if (ids.type() != XmlRpcValue::Type::kArray) {
    return Status::InvalidArgument("Odoo at " + client.Describe() + ": search on model " + model +
                                   " returned " + ids.TypeName() + ", expected a list of ids");
  }
  JsonRecordBuffer live(config_.spool_dir, {{"id", "BIGINT"}});
  for (const XmlRpcValue& id : ids.items()) DEW_RETURN_IF_ERROR(live.Add({{"id", id.integer()}}));
  DEW_ASSIGN_OR_RETURN(std::string live_sql, live.Select());
  engine::Connection& con = lake->connection();
  // Keys whose newest bronze row is not already a deletion, and that Odoo no longer lists.
  DEW_RETURN_IF_ERROR(
      con.Execute("CREATE OR REPLACE TEMP TABLE _dew_odoo_deleted AS SELECT id FROM (SELECT id, "
                  "arg_max(_deleted, _batch) AS _dew_gone FROM " +
                  landing.table() + " GROUP BY id) WHERE NOT _dew_gone EXCEPT SELECT id FROM (" +
                  live_sql + ")"));
  DEW_ASSIGN_OR_RETURN(auto count, con.QueryScalar("SELECT count(*) FROM _dew_odoo_deleted"));
  const int64_t n = std::strtoll(count.value_or("0").c_str(), nullptr, 10);
  if (n > 0) {
    LandingBatch batch;
    batch.select_sql = "SELECT id FROM _dew_odoo_deleted";
    batch.deletes = true;
    batch.state = state;
    auto landed = landing.Land(batch);
    if (!landed.ok())
      return landed.status().WithContext("landing the deletions of Odoo model " + model);
  }
  DEW_RETURN_IF_ERROR(con.Execute("DROP TABLE IF EXISTS _dew_odoo_deleted"));
  return n;
}

// --- Database mode -------------------------------------------------------------------------

OdooDatabaseSource::OdooDatabaseSource(PostgresConfig config, std::vector<std::string> streams)
    : postgres_(std::move(config)), streams_(std::move(streams)) {}

json OdooDatabaseSource::Spec() const {
  return postgres_.Spec();
}

Status OdooDatabaseSource::Check(const std::vector<std::string>& streams, CheckProblem* problem) {
  return postgres_.Check(streams.empty() ? streams_ : streams, problem);
}

Result<std::vector<StreamInfo>> OdooDatabaseSource::Discover() {
  std::set<std::string> wanted(streams_.begin(), streams_.end());
  if (wanted.empty()) {
    for (const OdooPresetModel& m : OdooPresetModels()) wanted.insert(m.table);
  }
  DEW_ASSIGN_OR_RETURN(std::vector<StreamInfo> all, postgres_.Discover());
  std::vector<StreamInfo> out;
  for (StreamInfo& s : all) {
    if (wanted.erase(s.name)) out.push_back(std::move(s));
  }
  if (!wanted.empty()) {
    std::vector<std::string> missing(wanted.begin(), wanted.end());
    return Status::NotFound("Odoo database at " + postgres_.Describe() + ": no readable table " +
                            Join(missing));
  }
  return out;
}

namespace {

// The request as the preset reads it: write_date as cursor, id as key and the preset's filter
// wherever the connection leaves them empty.
StreamRequest WithPresetDefaults(const StreamRequest& stream) {
  StreamRequest request = stream;
  if (request.cursor_field.empty()) request.cursor_field = kDefaultCursor;
  if (request.primary_key.empty()) request.primary_key = {"id"};
  if (request.filter.empty()) {
    if (const OdooPresetModel* preset = FindOdooPreset(request.name))
      request.filter = preset->sql_filter;
  }
  return request;
}

}  // namespace

Result<ReadResult> OdooDatabaseSource::Read(const StreamRequest& stream, const json& state,
                                            lake::Lakehouse* lake) {
  return postgres_.Read(WithPresetDefaults(stream), state, lake);
}

Result<std::vector<std::string>> OdooDatabaseSource::Advise(
    const std::vector<StreamRequest>& streams) {
  std::vector<StreamRequest> requests;
  for (const StreamRequest& s : streams) requests.push_back(WithPresetDefaults(s));
  return postgres_.Advise(requests);
}

Status OdooDatabaseSource::CheckDeletions(const std::vector<StreamRequest>& streams) {
  std::vector<StreamRequest> requests;
  for (const StreamRequest& s : streams) requests.push_back(WithPresetDefaults(s));
  return postgres_.CheckDeletions(requests);
}

// --- Factory -------------------------------------------------------------------------------

Result<std::unique_ptr<Source>> MakeOdooSource(const ConnectionSpec& spec, const SourceEnv& env) {
  const SpecBlock& options = spec.options;
  int64_t batch_size = 500;
  int64_t timeout_seconds = 300;
  if (!options.empty()) {
    if (!options.value.is_object()) return options.Error("", "expected a mapping");
    for (auto it = options.value.begin(); it != options.value.end(); ++it) {
      const std::string key = it.key();
      int64_t* target = key == "batch_size"        ? &batch_size
                        : key == "timeout_seconds" ? &timeout_seconds
                                                   : nullptr;
      if (target == nullptr) {
        const std::string near = ClosestMatch(key, {"batch_size", "timeout_seconds"}).value_or("");
        return options.Error("/" + key,
                             "unknown key '" + key + "'" +
                                 (near.empty() ? " (expected batch_size, timeout_seconds)"
                                               : " (did you mean '" + near + "'?)"));
      }
      if (!it.value().is_number_integer() || it.value().get<int64_t>() < 1)
        return options.Error("/" + key, "expected a positive whole number");
      *target = it.value().get<int64_t>();
    }
  }
  std::vector<std::string> streams;
  for (const StreamSpec& s : spec.streams) streams.push_back(s.name);
  DEW_ASSIGN_OR_RETURN(std::string password, spec.ResolvePassword(env.env));
  std::unique_ptr<Source> source;
  if (!spec.auth.url.empty()) {
    if (spec.auth.url.rfind("http://", 0) != 0 && spec.auth.url.rfind("https://", 0) != 0)
      return Status::InvalidArgument(spec.file + ": auth.url: '" + spec.auth.url +
                                     "' is not an http:// or https:// URL");
    OdooApiConfig config;
    config.source = spec.name;
    config.rpc.url = spec.auth.url;
    config.rpc.database = spec.auth.database;
    config.rpc.user = spec.auth.user;
    config.rpc.password = std::move(password);
    config.rpc.timeout_ms = timeout_seconds * 1000;
    config.spool_dir = env.spool_dir.empty() ? "/tmp" : env.spool_dir;
    config.batch_size = batch_size;
    std::shared_ptr<HttpClient> http = env.http ? env.http : NewCurlHttpClient();
    source =
        std::make_unique<OdooApiSource>(std::move(http), std::move(config), std::move(streams));
    return source;
  }
  PostgresConfig config;
  config.source = spec.name;
  DEW_ASSIGN_OR_RETURN(Endpoint endpoint, spec.ResolveEndpoint(env.env));
  config.host = endpoint.host;
  config.port = endpoint.port;
  config.database = spec.auth.database;
  config.user = spec.auth.user;
  config.password = std::move(password);
  config.temp_dir = env.spool_dir.empty() ? "/tmp" : env.spool_dir;
  source = std::make_unique<OdooDatabaseSource>(std::move(config), std::move(streams));
  return source;
}

}  // namespace dew::connectors
