#include "quality/data_tests.h"

#include <chrono>

#include "engine/connection.h"
#include "lake/lakehouse.h"

namespace dew::quality {
namespace {

using engine::SqlIdent;
using engine::SqlString;

std::string Literal(const nlohmann::json& v) {
  if (v.is_string()) return SqlString(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "NULL";
  return v.dump();
}

std::string Sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

//! Milliseconds of a dbt freshness period {count: 12, period: hour}.
Result<int64_t> PeriodMillis(const nlohmann::json& spec) {
  if (!spec.is_object() || !spec.contains("count") || !spec["count"].is_number_integer())
    return Status::InvalidArgument("expected {count: N, period: minute|hour|day}");
  const std::string period = spec.value("period", "hour");
  int64_t unit = period == "minute" ? 60000
                 : period == "hour" ? 3600000
                 : period == "day"  ? 86400000
                                    : 0;
  if (unit == 0)
    return Status::InvalidArgument("period '" + period + "' is not minute, hour or day");
  return spec["count"].get<int64_t>() * unit;
}

}  // namespace

Result<CompiledTest> CompileTest(const transform::TestSpec& spec, const std::string& target,
                                 const std::string& relation, const RelationResolver& resolve,
                                 int64_t now_millis, const GenericTestRenderer& generic) {
  CompiledTest t;
  t.spec = spec;
  t.target = target;
  t.relation = relation;
  t.id =
      spec.name + "_" + Sanitize(target) + (spec.column.empty() ? "" : "_" + Sanitize(spec.column));
  auto fail = [&](const std::string& problem) {
    return Status::InvalidArgument((spec.position.empty() ? "" : spec.position + ": ") + "test " +
                                   spec.name + " on " + target +
                                   (spec.column.empty() ? "" : "." + spec.column) + ": " + problem);
  };
  const std::string from =
      spec.where.empty() ? relation
                         : "(SELECT * FROM " + relation + " WHERE " + spec.where + ") AS _dew_t";
  const std::string col = spec.column.empty() ? "" : SqlIdent(spec.column);
  auto need_column = [&]() -> Status {
    if (spec.column.empty())
      return fail("needs a column (declare it under columns:, or column_name:)");
    return Status::OK();
  };
  const nlohmann::json& a = spec.args;
  if (spec.name == "not_null") {
    DEW_RETURN_IF_ERROR(need_column());
    t.row_predicate = col + " IS NULL";
  } else if (spec.name == "unique") {
    DEW_RETURN_IF_ERROR(need_column());
    t.failing_sql = "SELECT " + col + ", count(*) AS n FROM " + from + " WHERE " + col +
                    " IS NOT NULL GROUP BY " + col + " HAVING count(*) > 1";
  } else if (spec.name == "accepted_values") {
    DEW_RETURN_IF_ERROR(need_column());
    if (!a.contains("values") || !a["values"].is_array() || a["values"].empty())
      return fail("needs values: [a list of accepted values]");
    std::string list;
    for (const auto& v : a["values"]) list += (list.empty() ? "" : ", ") + Literal(v);
    t.row_predicate = col + " IS NOT NULL AND " + col + " NOT IN (" + list + ")";
  } else if (spec.name == "relationships") {
    DEW_RETURN_IF_ERROR(need_column());
    if (!a.contains("to") || !a["to"].is_string())
      return fail("needs to: ref('model') or source('s','t')");
    if (!a.contains("field") || !a["field"].is_string())
      return fail("needs field: the referenced column");
    auto to = resolve(a["to"].get<std::string>());
    if (!to.ok()) return fail("to: " + to.status().message());
    t.row_predicate = col + " IS NOT NULL AND " + col + " NOT IN (SELECT " +
                      SqlIdent(a["field"].get<std::string>()) + " FROM " + *to + " WHERE " +
                      SqlIdent(a["field"].get<std::string>()) + " IS NOT NULL)";
  } else if (spec.name == "range") {
    DEW_RETURN_IF_ERROR(need_column());
    if (!a.contains("min") && !a.contains("max")) return fail("needs min:, max: or both");
    std::string p;
    const bool strict = a.value("strictly", false);
    if (a.contains("min")) p += col + (strict ? " <= " : " < ") + Literal(a["min"]);
    if (a.contains("max"))
      p += (p.empty() ? "" : " OR ") + col + (strict ? " >= " : " > ") + Literal(a["max"]);
    t.row_predicate = col + " IS NOT NULL AND (" + p + ")";
  } else if (spec.name == "regex") {
    DEW_RETURN_IF_ERROR(need_column());
    if (!a.contains("pattern") || !a["pattern"].is_string())
      return fail("needs pattern: a regular expression");
    t.row_predicate = col + " IS NOT NULL AND NOT regexp_full_match(CAST(" + col +
                      " AS VARCHAR), " + SqlString(a["pattern"].get<std::string>()) + ")";
  } else if (spec.name == "expression") {
    const nlohmann::json& e =
        a.contains("expression") ? a["expression"] : a.value("sql", nlohmann::json());
    if (!e.is_string()) return fail("needs expression: a SQL condition every row must meet");
    t.row_predicate = "NOT coalesce((" + e.get<std::string>() + "), false)";
  } else if (spec.name == "row_count") {
    auto volume = ParseVolumeRule(a);
    if (!volume.ok()) return fail(volume.status().message());
    t.volume = *volume;
    for (const char* bound : {"min", "max"}) {
      if (a.contains(bound) && !a[bound].is_number())
        return fail(std::string(bound) + ": expected a number, got " + a[bound].dump());
    }
    t.count_sql = "SELECT count(*) FROM " + from;
    if (!a.contains("min") && !a.contains("max") && !t.volume.enabled)
      return fail("needs min:, max: or the volume anomaly check (volume_anomaly: true)");
    if (!a.contains("min") && !a.contains("max")) {
      // Nothing fails by itself: only the volume check, which needs the history (RunTest).
      t.failing_sql =
          "SELECT n FROM (SELECT count(*) AS n FROM " + from + ") AS _dew_c WHERE false";
      return t;
    }
    std::string p;
    if (a.contains("min")) p += "n < " + Literal(a["min"]);
    if (a.contains("max")) p += std::string(p.empty() ? "" : " OR ") + "n > " + Literal(a["max"]);
    t.failing_sql = "SELECT n FROM (SELECT count(*) AS n FROM " + from + ") AS _dew_c WHERE " + p;
  } else if (spec.name == "freshness") {
    const std::string field = a.value("loaded_at_field", std::string("_emitted_at"));
    if (!a.contains("error_after") && !a.contains("warn_after"))
      return fail("needs warn_after or error_after: {count: N, period: hour}");
    const std::string latest = "max(CAST(" + SqlIdent(field) + " AS TIMESTAMP))";
    // The newest row and the oldest time it may have; no row at all is stale too.
    auto stale_sql = [&](const nlohmann::json& limit) -> Result<std::string> {
      DEW_ASSIGN_OR_RETURN(int64_t ms, PeriodMillis(limit));
      const std::string oldest_ok =
          "CAST(" + SqlString(lake::FormatTimestampMillis(now_millis - ms)) + " AS TIMESTAMP)";
      return "SELECT " + latest + " AS latest, " + oldest_ok + " AS older_than FROM " + from +
             " HAVING " + latest + " IS NULL OR " + latest + " < " + oldest_ok;
    };
    auto main = stale_sql(a.contains("error_after") ? a["error_after"] : a["warn_after"]);
    if (!main.ok()) return fail(main.status().message());
    t.failing_sql = *main;
    if (!a.contains("error_after")) {
      t.spec.severity = "warn";
    } else if (a.contains("warn_after")) {
      auto warn = stale_sql(a["warn_after"]);
      if (!warn.ok()) return fail(warn.status().message());
      t.warn_sql = *warn;
    }
  } else if (generic) {
    auto sql = generic(spec, from);
    if (!sql.ok()) return fail(sql.status().message());
    t.failing_sql = "SELECT * FROM (" + *sql + "\n) AS _dew_g";
  } else {
    return fail("unknown test");
  }
  if (!t.row_predicate.empty()) {
    t.failing_sql = "SELECT * FROM " + from + " WHERE " + t.row_predicate;
  } else if (spec.action == "quarantine") {
    return fail("action: quarantine needs a row-level test (not " + spec.name + ")");
  }
  return t;
}

namespace {

//! row_count: the count against min/max and, given history, against the trailing runs.
TestOutcome RunRowCount(const CompiledTest& test, engine::Connection& con,
                        const VolumeHistory& history, TestOutcome out) {
  auto count = con.QueryScalar(test.count_sql);
  if (!count.ok()) {
    out.status = "error";
    out.message = count.status().message();
    return out;
  }
  const int64_t n = count->has_value() ? std::stoll(**count) : 0;
  out.observed = n;
  std::vector<std::string> problems;
  const nlohmann::json& a = test.spec.args;
  if (a.contains("min") && static_cast<double>(n) < a["min"].get<double>())
    problems.push_back(std::to_string(n) + " rows in " + test.relation + ", fewer than min " +
                       a["min"].dump());
  if (a.contains("max") && static_cast<double>(n) > a["max"].get<double>())
    problems.push_back(std::to_string(n) + " rows in " + test.relation + ", more than max " +
                       a["max"].dump());
  std::string note;
  if (test.volume.enabled && history) {
    auto earlier = history(test.id, test.volume.trailing);
    if (!earlier.ok()) {
      out.status = "error";
      out.message = "volume history of " + test.id + ": " + earlier.status().message();
      return out;
    }
    VolumeVerdict v = CheckVolume(n, *earlier, test.volume);
    if (v.anomaly) {
      problems.push_back("volume anomaly in " + test.relation + ": " + v.message);
    } else {
      note = v.message;
    }
  }
  if (problems.empty()) {
    out.status = "pass";
    out.message = note;
    return out;
  }
  out.failures = 1;
  for (const auto& p : problems) out.message += (out.message.empty() ? "" : "; ") + p;
  out.status = test.spec.severity == "warn" ? "warn" : "fail";
  return out;
}

}  // namespace

TestOutcome RunTest(const CompiledTest& test, lake::Lakehouse* lake, const VolumeHistory& history) {
  TestOutcome out;
  out.id = test.id;
  out.target = test.target;
  out.severity = test.spec.severity;
  const auto started = std::chrono::steady_clock::now();
  auto done = [&]() {
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return out;
  };
  engine::Connection& con = lake->connection();
  if (!test.count_sql.empty()) {
    out = RunRowCount(test, con, history, std::move(out));
    return done();
  }
  auto count = con.QueryScalar("SELECT count(*) FROM (" + test.failing_sql + ") AS _dew_f");
  if (!count.ok()) {
    out.status = "error";
    out.message = count.status().message();
    return done();
  }
  out.failures = count->has_value() ? std::stoll(**count) : 0;
  std::string failing_sql = test.failing_sql;
  bool warn_only = false;
  if (out.failures == 0 && !test.warn_sql.empty()) {
    auto warned = con.QueryScalar("SELECT count(*) FROM (" + test.warn_sql + ") AS _dew_f");
    if (!warned.ok()) {
      out.status = "error";
      out.message = warned.status().message();
      return done();
    }
    out.failures = warned->has_value() ? std::stoll(**warned) : 0;
    failing_sql = test.warn_sql;
    warn_only = true;
  }
  if (out.failures == 0) {
    out.status = "pass";
    return done();
  }
  auto sample = con.QueryText("SELECT * FROM (" + failing_sql + ") AS _dew_f LIMIT 3");
  std::string shown;
  if (sample.ok()) {
    for (const auto& row : sample->rows) {
      std::string line;
      for (size_t i = 0; i < row.size() && i < sample->names.size(); ++i)
        line += (i ? ", " : "") + sample->names[i] + "=" + row[i].value_or("NULL");
      shown += "\n    " + line;
    }
  }
  out.message = std::to_string(out.failures) + " failing " +
                (test.row_predicate.empty() ? "result" : "row") + (out.failures == 1 ? "" : "s") +
                " in " + test.relation + shown;
  if (test.spec.action == "quarantine") {
    auto table = lake::ParseTableName(test.relation);
    auto q = lake::ParseTableName(test.relation + "__quarantine");
    if (!table.ok() || !q.ok() || !lake->Exists(*table)) {
      out.status = "error";
      out.message = "quarantine needs a lake table, and " + test.relation + " is not one";
      return done();
    }
    const std::string rows =
        "SELECT *, " + SqlString(test.id) + " AS _dew_test, " +
        SqlString(test.spec.name + " failed" +
                  (test.spec.column.empty() ? "" : " on " + test.spec.column)) +
        " AS _dew_reason, " + SqlString(lake->run_id()) + " AS _dew_run_id FROM " + test.relation +
        " WHERE " + test.row_predicate;
    lake::WriteOptions w = lake->NewWriteOptions();
    w.parameters["test"] = test.id;
    w.merge_schema = true;
    Result<lake::CommitResult> copied = Status::Internal("no write");
    if (lake->Exists(*q)) {
      auto qt = lake->OpenTable(*q);
      copied = qt.ok() ? (*qt)->Append(rows, w) : Result<lake::CommitResult>(qt.status());
    } else {
      copied = lake->CreateTableAs(*q, rows, {}, w);
    }
    Status s = copied.status();
    if (s.ok()) {
      auto t = lake->OpenTable(*table);
      s = t.ok() ? (*t)->DeleteWhere(test.row_predicate, w).status() : t.status();
    }
    if (s.ok()) s = lake->RefreshView(*table);
    if (s.ok()) s = lake->RefreshView(*q);
    if (!s.ok()) {
      out.status = "error";
      out.message = "quarantine of " + test.relation + " failed: " + s.message();
      return done();
    }
    out.quarantined = out.failures;
    out.status = "warn";
    out.message += "\n    moved to " + q->ToString();
    return done();
  }
  out.status = test.spec.severity == "warn" || warn_only ? "warn" : "fail";
  return done();
}

}  // namespace dew::quality
