#include "transform/model_builder.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "engine/connection.h"
#include "engine/query_result.h"
#include "lake/lakehouse.h"
#include "lake/schema.h"
#include "transform/python_model.h"

namespace dew::transform {
namespace {

using engine::SqlIdent;
using engine::SqlString;

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

//! DuckDB's canonical spelling of a declared type, so `int`, `int4` and `INTEGER` compare equal.
std::string CanonicalType(const std::string& declared) {
  std::string t = Upper(declared);
  t.erase(std::remove(t.begin(), t.end(), ' '), t.end());
  static const std::map<std::string, std::string> kAliases = {
      {"INT", "INTEGER"},
      {"INT4", "INTEGER"},
      {"INT8", "BIGINT"},
      {"LONG", "BIGINT"},
      {"INT2", "SMALLINT"},
      {"SHORT", "SMALLINT"},
      {"TEXT", "VARCHAR"},
      {"STRING", "VARCHAR"},
      {"CHAR", "VARCHAR"},
      {"BPCHAR", "VARCHAR"},
      {"FLOAT8", "DOUBLE"},
      {"FLOAT4", "FLOAT"},
      {"REAL", "FLOAT"},
      {"NUMERIC", "DECIMAL(18,3)"},
      {"DECIMAL", "DECIMAL(18,3)"},
      {"BOOL", "BOOLEAN"},
      {"LOGICAL", "BOOLEAN"},
      {"DATETIME", "TIMESTAMP"},
      {"TIMESTAMPTZ", "TIMESTAMPWITHTIMEZONE"},
      {"TIMESTAMP_TZ", "TIMESTAMPWITHTIMEZONE"}};
  if (t.rfind("NUMERIC(", 0) == 0) t = "DECIMAL(" + t.substr(8);
  if (t.rfind("VARCHAR(", 0) == 0) t = "VARCHAR";
  auto it = kAliases.find(t);
  return it == kAliases.end() ? t : it->second;
}

std::string KeysEqual(const std::vector<std::string>& keys, const std::string& a,
                      const std::string& b) {
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) {
    out += (i ? " AND " : "") + a + "." + SqlIdent(keys[i]) + " = " + b + "." + SqlIdent(keys[i]);
  }
  return out;
}

std::string Columns(const std::vector<std::string>& cols, const std::string& alias) {
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i) out += (i ? ", " : "") + alias + "." + SqlIdent(cols[i]);
  return out;
}

//! The models a model's tests read besides the model itself: relationships' `to: ref('m')`.
//! dbt's build runs such a test only after all the models it reads are built.
std::vector<std::string> TestParents(const CompiledModel& model) {
  std::vector<std::string> out;
  if (model.def == nullptr) return out;
  static const std::regex kRef(R"(^\s*ref\(\s*['"]([^'"]+)['"]\s*\)\s*$)");
  for (const auto& t : model.def->tests) {
    if (t.name != "relationships" || !t.args.contains("to") || !t.args["to"].is_string()) continue;
    std::smatch m;
    const std::string to = t.args["to"].get<std::string>();
    if (std::regex_match(to, m, kRef) && m[1].str() != model.name) out.push_back(m[1].str());
  }
  return out;
}

//! Rows a build worker keeps in its DuckDB at most (see MaterializeSelect); past them, a
//! model's view reads its files.
constexpr int64_t kMaxKeptRows = 1000000;

//! A table in a build's DuckDB, by its schema and name.
struct DuckDbTable {
  std::string schema;
  std::string name;
  //! As SQL names it.
  std::string Sql() const { return SqlIdent(schema) + "." + SqlIdent(name); }
};

//! The table in a build's DuckDB that keeps the rows of an existing `target` (see
//! MaterializeSelect).
DuckDbTable KeptTable(const lake::TableName& target) {
  return {"main", "_dew_built_" + target.ToString()};
}

//! `target` as SQL names it: its view over the lake, or the table of a new table's kept rows.
DuckDbTable Relation(const lake::TableName& target) {
  return {std::string(lake::LayerName(target.layer)), target.name};
}
std::string RelationName(const lake::TableName& target) {
  return Relation(target).Sql();
}

//! Creates the table `kept` holding the rows of `sql`, its columns cast to the DuckDB types a
//! Delta table of these columns reads back (DuckDbTypeOf), so it holds the rows its files will.
//! Returns the table's schema, read from DuckDB's catalog (no query to plan).
Result<lake::Schema> KeepRows(lake::Lakehouse* lake, const DuckDbTable& kept,
                              const std::string& sql) {
  engine::Connection& con = lake->connection();
  DEW_RETURN_IF_ERROR(con.Execute("CREATE OR REPLACE TABLE " + kept.Sql() + " AS " + sql));
  auto columns = con.DescribeTable(kept.schema, kept.name);
  auto schema = columns.ok() ? lake::Schema::FromDuckDb(columns->names, columns->types)
                             : Result<lake::Schema>(columns.status());
  if (!schema.ok()) {
    (void)con.Execute("DROP TABLE IF EXISTS " + kept.Sql());
    return schema.status();
  }
  std::string casts;
  bool same = true;
  for (size_t i = 0; i < schema->fields().size(); ++i) {
    const lake::Field& f = schema->fields()[i];
    DEW_ASSIGN_OR_RETURN(std::string type, lake::DuckDbTypeOf(f));
    same = same && type == columns->types[i].ToSql();
    casts += (i ? ", " : "") + std::string("CAST(") + SqlIdent(f.name) + " AS " + type + ") AS " +
             SqlIdent(f.name);
  }
  if (!same) {
    DEW_RETURN_IF_ERROR(con.Execute("CREATE OR REPLACE TABLE " + kept.Sql() + " AS SELECT " +
                                    casts + " FROM " + kept.Sql()));
  }
  return schema;
}

//! A build worker's committer: runs the commits the worker defers (its table models'), taken in
//! the order handed over, on threads of its own (one per connection given, each the DuckDB
//! connection its commits use), so that the worker runs the model's tests and builds its next
//! ready model while the files sync. Commits of different tables are independent, and several
//! in flight let the file system write their syncs together (one journal commit for many
//! fsyncs on ext4). `done` gets each model's commit result: a model is finished, and its
//! children released, only then; so a model is never committed before those it reads.
class Committer {
 public:
  //! `handed_micros` is what the worker passed to Submit (when it handed the commit over).
  using Done = std::function<void(const std::string& model, Result<lake::CommitResult> committed,
                                  int64_t handed_micros)>;

  Committer(std::vector<std::unique_ptr<engine::Connection>> cons, Done done)
      : cons_(std::move(cons)), done_(std::move(done)) {
    for (auto& con : cons_) threads_.emplace_back([this, c = con.get()] { Run(c); });
  }
  //! Runs what is still queued, then stops.
  ~Committer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  void Submit(std::string model, lake::DeferredCommit commit, int64_t handed_micros) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back({std::move(model), std::move(commit), handed_micros});
    }
    cv_.notify_all();
  }

 private:
  struct Handed {
    std::string model;
    lake::DeferredCommit commit;
    int64_t handed_micros = 0;
  };

  void Run(engine::Connection* con) {
    while (true) {
      Handed next;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      Result<lake::CommitResult> committed = next.commit(con);
      done_(next.model, std::move(committed), next.handed_micros);
    }
  }

  std::vector<std::unique_ptr<engine::Connection>> cons_;
  Done done_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Handed> queue_;          // guarded by mu_
  bool stop_ = false;                 // guarded by mu_
  std::vector<std::thread> threads_;  // last: started once the rest is ready
};

//! Commits a build worker's committer runs at once: they mostly wait for the disk.
constexpr int kCommitThreads = 4;

}  // namespace

Status CheckContract(const ModelDef& model,
                     const std::vector<std::pair<std::string, std::string>>& actual) {
  std::vector<std::string> problems;
  std::map<std::string, std::string> got;
  for (const auto& [name, type] : actual) got[name] = type;
  std::set<std::string> declared;
  for (const auto& c : model.columns) {
    declared.insert(c.name);
    auto it = got.find(c.name);
    if (it == got.end()) {
      problems.push_back("missing column " + c.name + " (declared " +
                         (c.data_type.empty() ? "without a type" : c.data_type) + ")");
      continue;
    }
    if (!c.data_type.empty() && CanonicalType(c.data_type) != CanonicalType(it->second))
      problems.push_back("column " + c.name + ": declared " + Upper(c.data_type) + ", got " +
                         it->second);
  }
  for (const auto& [name, type] : actual) {
    if (!declared.count(name)) problems.push_back("extra column " + name + " " + type);
  }
  if (problems.empty()) return Status::OK();
  std::string text =
      model.path + ": contract of " + model.name + " is enforced and the output differs:";
  for (const auto& p : problems) text += "\n  - " + p;
  return Status::InvalidArgument(text);
}

void BuildCanceller::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  for (lake::Lakehouse* l : attached_) l->connection().Interrupt();
}

bool BuildCanceller::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

void BuildCanceller::Attach(lake::Lakehouse* lake) {
  std::lock_guard<std::mutex> lock(mu_);
  attached_.insert(lake);
  if (cancelled_) lake->connection().Interrupt();
}

void BuildCanceller::Detach(lake::Lakehouse* lake) {
  std::lock_guard<std::mutex> lock(mu_);
  attached_.erase(lake);
}

ModelBuilder::ModelBuilder(const CompiledProject* compiled, LakehouseFactory open_lake,
                           std::shared_ptr<Clock> clock, std::shared_ptr<PythonModelRunner> python)
    : compiled_(compiled),
      open_lake_(std::move(open_lake)),
      clock_(std::move(clock)),
      python_(std::move(python)) {}

Result<ModelOutcome> ModelBuilder::Materialize(const CompiledModel& model, lake::Lakehouse* lake,
                                               bool full_refresh) {
  return MaterializeKeeping(model, lake, full_refresh, nullptr, nullptr);
}

Result<ModelOutcome> ModelBuilder::MaterializeKeeping(const CompiledModel& model,
                                                      lake::Lakehouse* lake, bool full_refresh,
                                                      int64_t* kept_rows,
                                                      lake::DeferredCommit* defer) {
  if (model.def->language == "python") {
    if (!python_)
      return Status::NotSupported(model.def->path + ": python model " + model.name +
                                  " cannot run here (no process runner for Python models)");
    const int64_t started = clock_->MonotonicMicros();
    // The DataFrame lands in a scratch table of this lakehouse's DuckDB; the model is then
    // materialized from it like a SQL model's SELECT.
    const std::string scratch = "dew_python_" + model.name;
    auto rows = python_->Run(model, compiled_->vars(), lake, scratch);
    if (!rows.ok()) return rows.status();
    auto built = MaterializeSelect(model, "SELECT * FROM main." + SqlIdent(scratch), lake,
                                   full_refresh, kept_rows, defer);
    (void)lake->connection().Execute("DROP TABLE IF EXISTS main." + SqlIdent(scratch));
    if (built.ok()) built->seconds = static_cast<double>(clock_->MonotonicMicros() - started) / 1e6;
    return built;
  }
  return MaterializeSelect(model, model.sql, lake, full_refresh, kept_rows, defer);
}

Result<ModelOutcome> ModelBuilder::MaterializeSelect(const CompiledModel& model,
                                                     const std::string& sql, lake::Lakehouse* lake,
                                                     bool full_refresh, int64_t* kept_rows,
                                                     lake::DeferredCommit* defer) {
  if (defer != nullptr) *defer = nullptr;
  ModelOutcome out;
  out.name = model.name;
  out.relation = model.relation;
  out.materialized = model.config.materialized;
  const int64_t started = clock_->MonotonicMicros();
  DEW_ASSIGN_OR_RETURN(lake::TableName target, lake::ParseTableName(model.relation));
  auto context = [&](const Status& s) {
    return s.WithContext(model.def->path + ": building " + model.relation);
  };

  if (model.config.contract_enforced) {
    auto schema = lake->QuerySchema(sql);
    if (!schema.ok()) return context(schema.status());
    std::vector<std::pair<std::string, std::string>> actual;
    for (const auto& f : schema->fields()) {
      DEW_ASSIGN_OR_RETURN(std::string type, lake::DuckDbTypeOf(f));
      actual.emplace_back(f.name, type);
    }
    DEW_RETURN_IF_ERROR(CheckContract(*model.def, actual));
  }

  lake::WriteOptions w = lake->NewWriteOptions();
  w.parameters["model"] = model.name;
  w.parameters["materialized"] = model.config.materialized;
  w.parameters["path"] = model.def->path;

  const std::string& kind = model.config.materialized;
  Result<lake::CommitResult> commit = Status::Internal("nothing written");
  if (kind == "view") {
    if (lake->Exists(target)) DEW_RETURN_IF_ERROR(lake->DropTable(target));
    Status s = lake->CreateSqlView(target, sql);
    if (!s.ok()) return context(s);
    out.status = "success";
    out.seconds = static_cast<double>(clock_->MonotonicMicros() - started) / 1e6;
    return out;
  }
  if (lake->SqlViewExists(target)) DEW_RETURN_IF_ERROR(lake->DropSqlView(target));
  const bool exists = lake->Exists(target);
  // A table model built by a worker first lands in the build's DuckDB, with the types its
  // files will hold, and its files are written from there; the rows stay, and the table's view
  // reads them, so its tests and its children, whichever worker builds them, bind a table in memory
  // instead of opening the model's Parquet files again (each statement over a file view opens
  // and parses every file). They are the rows committed, and the build wrote the only version
  // it reads.
  const bool keep = kind == "table" && kept_rows != nullptr && *kept_rows < kMaxKeptRows;
  // A new table's rows are kept under the relation's own name, so no view over them is needed;
  // an existing table's view still reads its files until the write succeeds, and the model's
  // SQL may read them.
  const bool kept_as_relation = keep && !exists;
  const DuckDbTable kept_table = kept_as_relation ? Relation(target) : KeptTable(target);
  const std::string kept = kept_table.Sql();
  bool view_current = false;  // CreateTableAs made the table's view itself
  auto replace_all = [&](const std::string& select,
                         const lake::WriteOptions& o) -> Result<lake::CommitResult> {
    if (!exists) {
      // The kept rows' view replaces the table's view unless they turn out too many.
      view_current = !keep;
      return lake->CreateTableAs(
          target, select, model.config.partition_by, o,
          keep ? lake::ViewAfterWrite::kLeave : lake::ViewAfterWrite::kRefresh);
    }
    DEW_ASSIGN_OR_RETURN(auto table, lake->OpenTable(target));
    lake::WriteOptions overwrite = o;
    overwrite.overwrite_schema = true;
    return table->Overwrite(select, std::nullopt, overwrite);
  };
  if (keep) {
    auto landed = KeepRows(lake, kept_table, sql);
    if (!landed.ok()) return context(landed.status());
    lake::WriteOptions from_kept = w;
    from_kept.rows_schema = std::move(*landed);
    // The kept rows are what the view, the tests and this worker's children read, so the
    // commit may wait (the caller runs it, and releases the children once it is durable).
    from_kept.defer_commit = defer;
    commit = replace_all("SELECT * FROM " + kept, from_kept);
    if (commit.ok() && defer != nullptr && *defer &&
        commit->rows_added > kMaxKeptRows - *kept_rows) {
      // Too many rows to keep: the view reads the files, so they are committed first.
      const int64_t rows = commit->rows_added;
      commit = (*defer)(&lake->connection());
      *defer = nullptr;
      if (commit.ok()) commit->rows_added = rows;
    }
    if (!commit.ok() || commit->rows_added > kMaxKeptRows - *kept_rows) {
      (void)lake->connection().Execute("DROP TABLE IF EXISTS " + kept);
    }
  } else if (kind == "table") {
    commit = replace_all(sql, w);
  } else if (kind == "incremental") {
    if (!exists || full_refresh) {
      commit = replace_all(sql, w);
    } else {
      DEW_ASSIGN_OR_RETURN(auto table, lake->OpenTable(target));
      w.merge_schema = true;
      if (!model.config.unique_key.empty() && model.config.incremental_strategy == "merge") {
        commit = table->Merge(sql, model.config.unique_key, w);
      } else {
        commit = table->Append(sql, w);
      }
    }
  } else if (kind == "scd2") {
    if (model.config.unique_key.empty())
      return Status::InvalidArgument(model.def->path + ": scd2 model " + model.name +
                                     " needs unique_key (the business key whose history it keeps)");
    const std::string now =
        "CAST(" + SqlString(lake::FormatTimestampMillis(clock_->NowMillis())) + " AS TIMESTAMP)";
    const std::string& updated_at = model.config.updated_at;
    const std::string opened_from =
        updated_at.empty() ? now : "CAST(x." + SqlIdent(updated_at) + " AS TIMESTAMP)";
    if (!exists || full_refresh) {
      const std::string from =
          updated_at.empty() ? now : "CAST(s." + SqlIdent(updated_at) + " AS TIMESTAMP)";
      commit = replace_all("SELECT s.*, " + from +
                               " AS valid_from, CAST(NULL AS TIMESTAMP) AS valid_to, "
                               "true AS is_current FROM (" +
                               sql + ") AS s",
                           w);
    } else {
      auto schema = lake->QuerySchema(sql);
      if (!schema.ok()) return context(schema.status());
      std::vector<std::string> cols = schema->Names(), nonkey;
      for (const auto& c : cols) {
        if (std::find(model.config.unique_key.begin(), model.config.unique_key.end(), c) ==
            model.config.unique_key.end())
          nonkey.push_back(c);
      }
      const std::string& k0 = model.config.unique_key[0];
      std::string differs = nonkey.empty()
                                ? "false"
                                : "ROW(" + Columns(nonkey, "s") + ") IS DISTINCT FROM ROW(" +
                                      Columns(nonkey, "c") + ")";
      // With updated_at, as dbt's timestamp strategy: only a newer row opens a version, so a
      // late copy of an older state never closes the current one before it began.
      if (!updated_at.empty())
        differs = "(" + differs + " AND CAST(s." + SqlIdent(updated_at) +
                  " AS TIMESTAMP) > c.valid_from)";
      const std::string closed_to = updated_at.empty()
                                        ? now
                                        : "coalesce((SELECT CAST(x." + SqlIdent(updated_at) +
                                              " AS TIMESTAMP) FROM changed x WHERE " +
                                              KeysEqual(model.config.unique_key, "x", "c") +
                                              " LIMIT 1), " + now + ")";
      const std::string history =
          "WITH src AS (" + sql + "), cur AS (SELECT * FROM " + model.relation +
          " WHERE is_current), changed AS (SELECT s.* FROM src s LEFT JOIN cur c ON " +
          KeysEqual(model.config.unique_key, "s", "c") + " WHERE c." + SqlIdent(k0) +
          " IS NULL OR " + differs + "), closed AS (SELECT " + Columns(cols, "c") +
          ", c.valid_from, " + closed_to +
          " AS valid_to, false AS is_current FROM cur c WHERE EXISTS (SELECT 1 FROM changed x "
          "WHERE " +
          KeysEqual(model.config.unique_key, "x", "c") +
          ") OR NOT EXISTS (SELECT 1 FROM src s WHERE " +
          KeysEqual(model.config.unique_key, "s", "c") + ")), opened AS (SELECT " +
          Columns(cols, "x") + ", " + opened_from +
          " AS valid_from, CAST(NULL AS TIMESTAMP) AS valid_to, true AS is_current "
          "FROM changed x) SELECT * FROM closed UNION ALL SELECT * FROM opened";
      std::vector<std::string> keys = model.config.unique_key;
      keys.push_back("valid_from");
      DEW_ASSIGN_OR_RETURN(auto table, lake->OpenTable(target));
      w.merge_schema = true;
      commit = table->Merge(history, keys, w);
    }
  } else {
    return Status::NotSupported(model.def->path + ": materialized='" + kind + "' is not supported");
  }
  if (!commit.ok()) return context(commit.status());
  const bool kept_view = keep && commit->rows_added <= kMaxKeptRows - *kept_rows;
  if (!view_current && !kept_view) DEW_RETURN_IF_ERROR(lake->RefreshView(target));
  if (kept_view) {
    *kept_rows += commit->rows_added;
    if (!kept_as_relation)
      DEW_RETURN_IF_ERROR(lake->connection().Execute(
          "CREATE OR REPLACE VIEW " + RelationName(target) + " AS SELECT * FROM " + kept));
  }
  out.status = "success";
  out.rows = commit->rows_added;
  out.version = commit->version;
  out.seconds = static_cast<double>(clock_->MonotonicMicros() - started) / 1e6;
  return out;
}

Result<std::vector<ModelOutcome>> ModelBuilder::Build(const BuildOptions& options) {
  const std::set<std::string> selected(options.models.begin(), options.models.end());
  std::map<std::string, int> waiting;  // selected parents not finished yet
  std::map<std::string, std::vector<std::string>> children;
  for (const auto& name : options.models) {
    int n = 0;
    for (const auto& p : compiled_->Parents(name)) {
      if (selected.count(p)) {
        ++n;
        children[p].push_back(name);
      }
    }
    waiting[name] = n;
  }
  // Ordering-only edges: a model waits for the selected models its tests read, unless that
  // would close a cycle. Their failure does not skip it (only the test will fail).
  std::map<std::string, std::vector<std::string>> after_tests_of;
  auto reaches = [&](const std::string& from, const std::string& to) {
    std::set<std::string> seen;
    std::vector<std::string> stack{from};
    while (!stack.empty()) {
      std::string c = stack.back();
      stack.pop_back();
      if (c == to) return true;
      if (!seen.insert(c).second) continue;
      for (const auto& g : children[c]) stack.push_back(g);
      for (const auto& g : after_tests_of[c]) stack.push_back(g);
    }
    return false;
  };
  for (const auto& name : options.models) {
    const CompiledModel* m = compiled_->Find(name);
    if (m == nullptr) continue;
    for (const auto& p : TestParents(*m)) {
      const auto& parents = compiled_->Parents(name);
      if (!selected.count(p) || std::count(parents.begin(), parents.end(), p) > 0 ||
          reaches(name, p))
        continue;
      after_tests_of[p].push_back(name);
      ++waiting[name];
    }
  }
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> ready;
  for (const auto& name : options.models) {
    if (waiting[name] == 0) ready.push_back(name);
  }
  std::map<std::string, ModelOutcome> outcomes;
  size_t finished = 0;
  Status open_failure;

  auto release_ordering = [&](const std::string& name) {
    // Under mu.
    for (const auto& c : after_tests_of[name]) {
      if (--waiting[c] == 0 && !outcomes.count(c)) ready.push_back(c);
    }
  };
  auto finish = [&](const ModelOutcome& o) {
    // Under mu.
    outcomes[o.name] = o;
    ++finished;
    if (options.on_done) options.on_done(o);
    release_ordering(o.name);
    if (o.status == "success") {
      for (const auto& c : children[o.name]) {
        if (--waiting[c] == 0) ready.push_back(c);
      }
      return;
    }
    // A failure skips every selected descendant.
    std::vector<std::string> stack = children[o.name];
    while (!stack.empty()) {
      std::string c = stack.back();
      stack.pop_back();
      if (outcomes.count(c)) continue;
      ModelOutcome skipped;
      skipped.name = c;
      const CompiledModel* m = compiled_->Find(c);
      skipped.relation = m ? m->relation : "";
      skipped.materialized = m ? m->config.materialized : "";
      skipped.status = "skipped";
      skipped.error = "upstream model " + o.name + " did not build";
      outcomes[c] = skipped;
      ++finished;
      if (options.on_done) options.on_done(skipped);
      release_ordering(c);
      for (const auto& g : children[c]) stack.push_back(g);
    }
  };

  // Table models whose commit a worker handed to its committer: each finishes once both its
  // commit and its tests are done, whichever comes last.
  struct Committing {
    ModelOutcome outcome;
    bool committed = false;
    bool tested = false;
  };
  std::map<std::string, Committing> committing;  // under mu
  auto finish_committed = [&](const std::string& name) {
    // Under mu.
    ModelOutcome o = std::move(committing[name].outcome);
    committing.erase(name);
    finish(o);
    cv.notify_all();
  };

  const int threads =
      std::max(1, std::min<int>(options.threads, static_cast<int>(options.models.size())));
  // The workers share one DuckDB (Lakehouse::Share), opened by the first worker to need it:
  // a model reads what its parents left in memory, and the views of tables written through a
  // lakehouse are current for all, whichever worker built them. Separate DuckDBs made each
  // worker bind, and refresh, views over the Parquet files of the other's models.
  std::mutex open_mu;
  std::unique_ptr<lake::Lakehouse> shared_lake;  // under open_mu; closed after the workers
  auto open_worker_lake = [&]() -> Result<std::unique_ptr<lake::Lakehouse>> {
    std::lock_guard<std::mutex> lock(open_mu);
    if (!shared_lake) {
      DEW_ASSIGN_OR_RETURN(shared_lake, open_lake_());
      // The workers share the cores: DuckDB runs each statement on the thread that issues
      // it, so the many small queries of a build do not hand tasks between threads.
      const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
      const unsigned share = std::max(1u, cores / static_cast<unsigned>(threads));
      (void)shared_lake->connection().Execute("SET threads = " + std::to_string(share));
      // Lake files never change once written (new versions write new files), so their
      // Parquet footers can be cached: each statement over a table's view would otherwise
      // parse them again.
      (void)shared_lake->connection().Execute("SET parquet_metadata_cache = true");
    }
    return shared_lake->Share();
  };
  auto worker = [&]() {
    std::unique_ptr<lake::Lakehouse> lake;
    int64_t kept_rows = 0;  // rows of the tables this worker built that its DuckDB holds
    // Declared after `lake`, so the lakehouse leaves the canceller before it is destroyed.
    struct Detacher {
      BuildCanceller* c;
      lake::Lakehouse* l = nullptr;
      ~Detacher() {
        if (c != nullptr && l != nullptr) c->Detach(l);
      }
    } detacher{options.canceller};
    // The models whose deferred commit failed: their views, which read the rows kept, go back
    // to the lake before the worker's next model.
    std::mutex uncommitted_mu;
    std::vector<std::string> uncommitted;  // guarded by uncommitted_mu
    // Declared last: destroyed first, it runs the commits still queued while the lakehouse
    // and the rest above are alive.
    std::unique_ptr<Committer> committer;
    while (true) {
      std::string name;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] {
          return !ready.empty() || finished == options.models.size() || !open_failure.ok();
        });
        if (ready.empty() || !open_failure.ok()) return;
        name = ready.front();
        ready.pop_front();
      }
      ModelOutcome outcome;
      outcome.name = name;
      if (options.canceller != nullptr && options.canceller->cancelled()) {
        const CompiledModel* m = compiled_->Find(name);
        outcome.relation = m ? m->relation : "";
        outcome.materialized = m ? m->config.materialized : "";
        outcome.status = "skipped";
        outcome.error = "build cancelled";
        std::lock_guard<std::mutex> lock(mu);
        finish(outcome);
        cv.notify_all();
        continue;
      }
      if (!lake) {
        auto opened = open_worker_lake();
        if (!opened.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          open_failure = opened.status();
          cv.notify_all();
          return;
        }
        lake = std::move(*opened);
        if (options.canceller != nullptr) {
          detacher.l = lake.get();
          options.canceller->Attach(lake.get());
        }
        // Without connections of its own the worker commits itself, as Materialize does.
        std::vector<std::unique_ptr<engine::Connection>> cons;
        for (int i = 0; i < kCommitThreads; ++i) {
          auto con = lake->Connect();
          if (!con.ok()) break;
          cons.push_back(std::move(*con));
        }
        if (!cons.empty()) {
          committer = std::make_unique<Committer>(
              std::move(cons), [&](const std::string& model_name,
                                   Result<lake::CommitResult> committed, int64_t handed_micros) {
                if (!committed.ok()) {
                  std::lock_guard<std::mutex> lock(uncommitted_mu);
                  uncommitted.push_back(model_name);
                }
                std::lock_guard<std::mutex> lock(mu);
                Committing& c = committing[model_name];
                ModelOutcome& o = c.outcome;
                o.seconds += static_cast<double>(clock_->MonotonicMicros() - handed_micros) / 1e6;
                if (committed.ok()) {
                  o.version = committed->version;
                } else {
                  const CompiledModel* m = compiled_->Find(model_name);
                  o.status = "error";
                  o.version = -1;
                  o.error = committed.status()
                                .WithContext((m != nullptr ? m->def->path : model_name) +
                                             ": building " + o.relation)
                                .message();
                }
                c.committed = true;
                if (c.tested) finish_committed(model_name);
              });
        }
      }
      std::vector<std::string> to_restore;
      {
        std::lock_guard<std::mutex> lock(uncommitted_mu);
        to_restore.swap(uncommitted);
      }
      for (const auto& failed : to_restore) {
        const CompiledModel* m = compiled_->Find(failed);
        auto t = lake::ParseTableName(m != nullptr ? m->relation : failed);
        if (!t.ok()) continue;
        // Its rows are kept in one of the two tables; the other name may be a view.
        (void)lake->connection().Execute("DROP TABLE IF EXISTS " + KeptTable(*t).Sql());
        (void)lake->connection().Execute("DROP TABLE IF EXISTS " + RelationName(*t));
        (void)lake->RefreshView(*t);
      }
      const CompiledModel* model = compiled_->Find(name);
      // A quarantine test writes to the model's table (it moves failing rows out and points
      // the view at the lake again), so that model commits before its tests and its rows are
      // not kept: the tests must see the committed table, not rows whose commit is on the way.
      const bool tests_write = std::any_of(model->def->tests.begin(), model->def->tests.end(),
                                           [](const TestSpec& t) { return !t.action.empty(); });
      lake::DeferredCommit deferred;
      Result<ModelOutcome> built = MaterializeKeeping(
          *model, lake.get(), options.full_refresh, tests_write ? nullptr : &kept_rows,
          committer && !tests_write ? &deferred : nullptr);
      if (built.ok() && deferred) {
        // The commit goes to the committer; the tests run meanwhile on the rows kept, and the
        // model finishes when both are done.
        {
          std::lock_guard<std::mutex> lock(mu);
          committing[name].outcome = *built;
        }
        committer->Submit(name, std::move(deferred), clock_->MonotonicMicros());
        Status checked =
            options.after_model ? options.after_model(*model, lake.get()) : Status::OK();
        std::lock_guard<std::mutex> lock(mu);
        Committing& c = committing[name];
        if (!checked.ok() && c.outcome.status == "success") {
          c.outcome.status = "error";
          c.outcome.error = checked.message();
        }
        c.tested = true;
        if (c.committed) finish_committed(name);
        continue;
      }
      if (built.ok()) {
        outcome = *built;
        if (options.after_model) {
          Status checked = options.after_model(*model, lake.get());
          if (!checked.ok()) {
            outcome.status = "error";
            outcome.error = checked.message();
          }
        }
      } else {
        outcome.relation = model->relation;
        outcome.materialized = model->config.materialized;
        outcome.status = "error";
        outcome.error = built.status().message();
      }
      std::lock_guard<std::mutex> lock(mu);
      finish(outcome);
      cv.notify_all();
    }
  };

  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  DEW_RETURN_IF_ERROR(open_failure);
  std::vector<ModelOutcome> ordered;
  for (const auto& name : options.models) {
    if (outcomes.count(name)) ordered.push_back(outcomes[name]);
  }
  return ordered;
}

}  // namespace dew::transform
