#include "connectors/bronze_landing.h"

#include <utility>

#include "engine/connection.h"
#include "lake/delta_log.h"
#include "lake/lakehouse.h"
#include "lake/medallion.h"

namespace dew::connectors {
namespace {

using engine::SqlString;
using nlohmann::json;

constexpr const char* kStateKey = "dewState";
constexpr const char* kBatchKey = "dewBatch";

std::string Sanitize(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  return out;
}

}  // namespace

std::string BronzeLanding::TableFor(const std::string& source, const std::string& stream) {
  return "bronze.raw_" + Sanitize(source) + "_" + Sanitize(stream);
}

BronzeLanding::BronzeLanding(lake::Lakehouse* lake, std::string source, std::string stream)
    : lake_(lake),
      source_(std::move(source)),
      stream_(std::move(stream)),
      table_(TableFor(source_, stream_)) {}

const std::string& BronzeLanding::table() const {
  return table_;
}

std::string BronzeLanding::app_id() const {
  return "dew:" + source_ + "." + stream_;
}

namespace {

struct Target {
  lake::TableName name;
  std::unique_ptr<lake::DeltaTable> table;  // null when it does not exist yet
  int64_t next_batch = 1;
};

Result<Target> OpenTarget(lake::Lakehouse* lake, const std::string& qualified,
                          const std::string& app_id) {
  Target t;
  DEW_ASSIGN_OR_RETURN(t.name, lake::ParseTableName(qualified));
  if (!lake->Exists(t.name)) return t;
  DEW_ASSIGN_OR_RETURN(t.table, lake->OpenTable(t.name));
  DEW_ASSIGN_OR_RETURN(lake::Snapshot snapshot, t.table->Latest());
  auto it = snapshot.app_versions.find(app_id);
  if (it != snapshot.app_versions.end()) t.next_batch = it->second + 1;
  return t;
}

// Appends (or creates the table with) `select`, one commit.
Result<lake::CommitResult> Write(lake::Lakehouse* lake, Target& target, const std::string& select,
                                 const lake::WriteOptions& w) {
  Result<lake::CommitResult> commit = Status::Internal("no write");
  if (target.table) {
    commit = target.table->Append(select, w);
  } else {
    commit = lake->CreateTableAs(target.name, select, {"_ingest_date"}, w);
  }
  if (!commit.ok()) return commit.status().WithContext("landing in " + target.name.ToString());
  if (commit->version >= 0) DEW_RETURN_IF_ERROR(lake->RefreshExistingView(target.name));
  return commit;
}

}  // namespace

Result<LandingResult> BronzeLanding::Land(const LandingBatch& batch) {
  DEW_ASSIGN_OR_RETURN(Target main, OpenTarget(lake_, table_, app_id()));
  const int64_t now = lake_->clock().NowMillis();
  const std::string ts = lake::FormatTimestampMillis(now);
  const std::string day = ts.substr(0, 10);

  const std::string cursor = (batch.cursor_sql.empty() || batch.deletes)
                                 ? "CAST(NULL AS VARCHAR)"
                                 : "CAST((" + batch.cursor_sql + ") AS VARCHAR)";
  const int64_t seq = main.next_batch;
  const std::string select =
      "SELECT *, CAST(" + SqlString(ts + "+00") + " AS TIMESTAMPTZ) AS _emitted_at, " +
      SqlString(source_) + " AS _source, " + SqlString(stream_) + " AS _stream, " + cursor +
      " AS _cursor, CAST(" + SqlString(day) + " AS DATE) AS _ingest_date, " +
      SqlString(lake_->run_id()) + " AS _run_id, " + (batch.deletes ? "true" : "false") +
      " AS _deleted, CAST(" + std::to_string(seq) + " AS BIGINT) AS _batch FROM (" +
      batch.select_sql + ") AS _dew_batch";

  LandingResult result;
  result.table = table_;
  if (batch.state_after && batch.quarantine) {
    return Status::InvalidArgument("landing in " + table_ +
                                   ": a quarantined batch needs its state before its rows");
  }
  if (main.table && !batch.full_refresh_start && !batch.state_after) {
    // Skip an empty batch that changes nothing (e.g. an incremental sync finding no new rows).
    // A full refresh always commits (an empty one tells silver every key is gone), and its rows
    // may be readable once only (PostgresSource streams them through a FIFO).
    DEW_ASSIGN_OR_RETURN(CommittedState last, LastCommitted());
    if (!last.reset && last.state == batch.state) {
      DEW_ASSIGN_OR_RETURN(auto count, lake_->connection().QueryScalar("SELECT count(*) FROM (" +
                                                                       batch.select_sql + ")"));
      if (count.value_or("0") == "0") return result;
    }
  }

  lake::WriteOptions w = lake_->NewWriteOptions();
  w.merge_schema = true;
  w.parameters["source"] = source_;
  w.parameters["stream"] = stream_;
  w.parameters["mode"] = batch.mode;
  w.parameters[kBatchKey] = std::to_string(seq);
  if (batch.full_refresh_start) w.parameters["fullRefreshStart"] = "true";
  if (batch.deletes) w.parameters["dewDeletes"] = "true";
  if (batch.unique_keys && !batch.deletes) {
    w.parameters["dewUniqueKeys"] =
        std::to_string(batch.unique_since_batch > 0 ? batch.unique_since_batch : seq);
  }
  w.constant_partitions["_ingest_date"] = day;
  w.row_group_rows = batch.row_group_rows;
  w.txns.push_back(lake::Txn{app_id(), seq, now});

  if (batch.quarantine) {
    DEW_ASSIGN_OR_RETURN(Target q, OpenTarget(lake_, table_ + "__quarantine", app_id()));
    lake::WriteOptions qw = w;
    qw.txns.clear();
    qw.parameters["dewQuarantineOf"] = table_;
    DEW_ASSIGN_OR_RETURN(lake::CommitResult qc, Write(lake_, q, select, qw));
    // The state moves on in the stream's own table, without rows.
    w.parameters[kStateKey] = batch.state.dump();
    w.parameters["dewQuarantined"] = std::to_string(qc.rows_added);
    // No rows: the quarantined columns need not fit the stream's table.
    const std::string state_only = main.table
                                       ? "SELECT CAST(NULL AS BOOLEAN) AS _deleted WHERE false"
                                       : "SELECT * FROM (" + select + ") WHERE false";
    DEW_ASSIGN_OR_RETURN(result.commit, Write(lake_, main, state_only, w));
    result.commit.rows_added = 0;
    result.table = q.name.ToString();
    result.batch = seq;
    return result;
  }
  if (batch.state_after) {
    w.before_commit = [&batch](int64_t rows, lake::WriteOptions* options) -> Result<bool> {
      if (rows == 0) return false;
      DEW_ASSIGN_OR_RETURN(json state, batch.state_after(rows));
      options->parameters[kStateKey] = state.dump();
      return true;
    };
  } else {
    w.parameters[kStateKey] = batch.state.dump();
  }
  DEW_ASSIGN_OR_RETURN(result.commit, Write(lake_, main, select, w));
  if (result.commit.version >= 0) result.batch = seq;
  return result;
}

Result<nlohmann::json> BronzeLanding::LastCommittedState() {
  DEW_ASSIGN_OR_RETURN(CommittedState last, LastCommitted());
  return last.state;
}

Result<CommittedState> BronzeLanding::LastCommitted() {
  CommittedState out;
  DEW_ASSIGN_OR_RETURN(lake::TableName name, lake::ParseTableName(table_));
  if (!lake_->Exists(name)) return out;
  DEW_ASSIGN_OR_RETURN(auto table, lake_->OpenTable(name));
  DEW_ASSIGN_OR_RETURN(int64_t latest, table->log().LatestVersion());
  for (int64_t v = latest; v >= 0; --v) {
    auto actions = table->log().ReadCommit(v);
    if (actions.status().IsNotFound()) break;  // older commits were cleaned up
    DEW_RETURN_IF_ERROR(actions.status());
    if (!actions->commit_info.has_value()) continue;
    const auto& params = actions->commit_info->operation_parameters;
    auto it = params.find(kStateKey);
    if (it == params.end()) continue;
    json state = json::parse(it->second, nullptr, false);
    if (state.is_discarded()) {
      return Status::Corruption("version " + std::to_string(v) + " of " + table_ +
                                " carries a state that is not JSON");
    }
    out.version = v;
    out.state = std::move(state);
    out.reset = params.count("dewReset") > 0;
    auto b = params.find(kBatchKey);
    if (b != params.end()) out.batch = std::strtoll(b->second.c_str(), nullptr, 10);
    return out;
  }
  return out;
}

Status BronzeLanding::ResetState(const std::string& reason) {
  DEW_ASSIGN_OR_RETURN(Target main, OpenTarget(lake_, table_, app_id()));
  if (!main.table) return Status::OK();
  const int64_t now = lake_->clock().NowMillis();
  const int64_t seq = main.next_batch;
  lake::WriteOptions w = lake_->NewWriteOptions();
  w.parameters["source"] = source_;
  w.parameters["stream"] = stream_;
  w.parameters["mode"] = "reset";
  w.parameters[kBatchKey] = std::to_string(seq);
  w.parameters[kStateKey] = "null";
  w.parameters["dewReset"] = reason.empty() ? "true" : reason;
  w.txns.push_back(lake::Txn{app_id(), seq, now});
  auto commit = main.table->Append("SELECT CAST(NULL AS BOOLEAN) AS _deleted WHERE false", w);
  if (!commit.ok()) return commit.status().WithContext("resetting the state of " + table_);
  return lake_->RefreshExistingView(main.name);
}

}  // namespace dew::connectors
