#include "connectors/stream_sync.h"

#include <algorithm>
#include <map>
#include <set>

#include "connectors/bronze_landing.h"
#include "connectors/silver_table.h"
#include "control/control_store.h"
#include "lake/lakehouse.h"
#include "lake/medallion.h"
#include "lake/schema.h"

namespace dew::connectors {
namespace {

//! An attempt's error as a stream's result keeps it: without the "stream NAME: " the source
//! already put in front, since the summary and the retry notices name the stream themselves.
std::string StreamError(const std::string& stream, const Status& status) {
  const std::string prefix = "stream " + stream + ": ";
  const std::string& message = status.message();
  return message.compare(0, prefix.size(), prefix) == 0 ? message.substr(prefix.size()) : message;
}

const std::set<std::string>& LineageColumns() {
  static const std::set<std::string> kColumns = {"_emitted_at",  "_source", "_stream",  "_cursor",
                                                 "_ingest_date", "_run_id", "_deleted", "_batch"};
  return kColumns;
}

std::string NormalType(std::string t) {
  std::string out;
  for (char c : t) {
    if (c == ' ') continue;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

// Errors a retry cannot fix: a wrong spec, a missing table, a refused policy, a cancel.
bool Retryable(const Status& s) {
  return !(s.IsInvalidArgument() || s.IsNotFound() || s.IsInterrupted() ||
           s.code() == Status::Code::kNotSupported);
}

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

const char* StreamStatusName(StreamStatus status) {
  switch (status) {
    case StreamStatus::kSucceeded:
      return "succeeded";
    case StreamStatus::kFailed:
      return "failed";
    case StreamStatus::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

bool SyncResult::ok() const {
  for (const auto& s : streams) {
    if (s.status != StreamStatus::kSucceeded) return false;
  }
  return true;
}

std::string SyncResult::ErrorSummary() const {
  std::string out;
  for (const auto& s : streams) {
    if (s.status == StreamStatus::kSucceeded) continue;
    if (!out.empty()) out += "; ";
    out += "stream " + s.stream + ": " +
           (s.error.empty() ? std::string(StreamStatusName(s.status)) : s.error);
  }
  return out;
}

StreamSync::StreamSync(const ConnectionSpec& spec, SyncEnv env)
    : spec_(spec), env_(std::move(env)) {
  if (!env_.clock) env_.clock = Clock::System();
  rng_ = env_.jitter_seed ? env_.jitter_seed : static_cast<uint64_t>(env_.clock->NowMillis());
}

// DuckDB's own spelling of a type (TIMESTAMPTZ and TIMESTAMP WITH TIME ZONE are one type).
std::string StreamSync::CanonicalType(const std::string& type) {
  auto it = canonical_types_.find(type);
  if (it != canonical_types_.end()) return it->second;
  auto printed = env_.lake->connection().QueryScalar("SELECT typeof(CAST(NULL AS " + type + "))");
  std::string out = printed.ok() && printed->has_value() ? **printed : NormalType(type);
  canonical_types_[type] = out;
  return out;
}

void StreamSync::LearnCanonicalTypes(const std::vector<std::string>& types) {
  std::vector<std::string> unknown;
  std::string sql;
  for (const std::string& t : types) {
    if (t.empty() || canonical_types_.count(t) ||
        std::find(unknown.begin(), unknown.end(), t) != unknown.end()) {
      continue;
    }
    sql += std::string(unknown.empty() ? "SELECT " : ", ") + "typeof(CAST(NULL AS " + t + "))";
    unknown.push_back(t);
  }
  if (unknown.size() < 2) return;
  auto printed = env_.lake->connection().QueryText(sql);
  // A type DuckDB does not know fails the whole query: CanonicalType then asks one by one.
  if (!printed.ok() || printed->rows.size() != 1 || printed->rows[0].size() != unknown.size()) {
    return;
  }
  for (size_t i = 0; i < unknown.size(); ++i) {
    const auto& cell = printed->rows[0][i];
    canonical_types_[unknown[i]] = cell.has_value() ? *cell : NormalType(unknown[i]);
  }
}

void StreamSync::Notify(const std::string& message) {
  if (env_.notify) env_.notify(message);
}

int64_t StreamSync::BackoffMillis(int retry, const SyncOptions& options) {
  int64_t wait = std::max<int64_t>(options.backoff_base_ms, 0);
  for (int i = 1; i < retry && wait < options.backoff_max_ms; ++i) wait *= 2;
  wait = std::min(wait, options.backoff_max_ms);
  const int64_t jitter =
      wait / 2 > 0 ? static_cast<int64_t>(SplitMix(&rng_) % static_cast<uint64_t>(wait / 2 + 1))
                   : 0;
  return wait + jitter;
}

Result<std::vector<std::string>> StreamSync::CheckDrift(const StreamSpec& stream,
                                                        const StreamInfo& info,
                                                        std::vector<std::string>* breaking) {
  std::vector<std::string> alerts;
  DEW_ASSIGN_OR_RETURN(lake::TableName bronze_name,
                       lake::ParseTableName(BronzeLanding::TableFor(spec_.name, stream.name)));
  if (!env_.lake->Exists(bronze_name)) return alerts;
  DEW_ASSIGN_OR_RETURN(auto bronze, env_.lake->OpenTable(bronze_name));
  DEW_ASSIGN_OR_RETURN(lake::Snapshot snapshot, bronze->Latest());
  auto selected = [&](const std::string& name) {
    if (stream.columns.empty()) return true;
    auto has = [&](const std::vector<std::string>& v) {
      return std::find(v.begin(), v.end(), name) != v.end();
    };
    return has(stream.columns) || has(stream.primary_key) || has(info.primary_key) ||
           name == stream.cursor_field;
  };
  std::vector<std::string> types;
  for (const ColumnInfo& c : info.columns) {
    const lake::Field* field = selected(c.name) ? snapshot.schema.Find(c.name) : nullptr;
    if (field == nullptr) continue;
    auto have = lake::DuckDbTypeOf(*field);
    if (have.ok()) types.push_back(*have);
    types.push_back(c.lake_type);
  }
  LearnCanonicalTypes(types);
  std::set<std::string> source_names;
  for (const ColumnInfo& c : info.columns) {
    if (!selected(c.name)) continue;
    source_names.insert(c.name);
    const lake::Field* field = snapshot.schema.Find(c.name);
    if (field == nullptr) {
      alerts.push_back("new column " + c.name + " (" + c.lake_type + ") in " + stream.name + ": " +
                       bronze_name.ToString() + " and silver gain it");
      continue;
    }
    auto have = lake::DuckDbTypeOf(*field);
    if (have.ok() && !c.lake_type.empty() && CanonicalType(*have) != CanonicalType(c.lake_type)) {
      std::string a = "column " + c.name + " of " + stream.name + " changed type from " + *have +
                      " in " + bronze_name.ToString() + " to " + c.lake_type + " (" +
                      c.source_type + ") at the source";
      alerts.push_back(a);
      breaking->push_back(a);
    }
  }
  for (const lake::Field& f : snapshot.schema.fields()) {
    if (LineageColumns().count(f.name) || source_names.count(f.name)) continue;
    std::string a = "column " + f.name + " of " + stream.name + " was removed at the source (" +
                    bronze_name.ToString() + " keeps it; new rows have NULL)";
    alerts.push_back(a);
    breaking->push_back(a);
  }
  return alerts;
}

bool StreamSync::ChecksDeletes(const StreamSpec& stream, int64_t* syncs_without) {
  *syncs_without = 0;
  if (!stream.detect_deletes) return false;
  if (stream.detect_deletes_every <= 1 || env_.store == nullptr) return true;
  auto mirror = env_.store->GetConnectorState(spec_.name, stream.name);
  if (!mirror.ok()) return true;
  auto doc = nlohmann::json::parse(mirror->state_json, nullptr, false);
  if (!doc.is_object() || !doc.contains("syncs_without_delete_check") ||
      !doc["syncs_without_delete_check"].is_number_integer()) {
    return true;
  }
  *syncs_without = doc["syncs_without_delete_check"].get<int64_t>();
  return *syncs_without + 1 >= stream.detect_deletes_every;
}

Status StreamSync::SyncOnce(const StreamSpec& stream, const SyncOptions& options,
                            StreamSyncResult* out) {
  BronzeLanding landing(env_.lake, spec_.name, stream.name);
  out->bronze_table = landing.table();
  DEW_ASSIGN_OR_RETURN(CommittedState committed, landing.LastCommitted());

  StreamRequest request;
  request.name = stream.name;
  request.sync_mode = stream.sync_mode;
  request.cursor_field = stream.cursor_field;
  request.columns = stream.columns;
  request.primary_key = stream.primary_key;
  request.filter = stream.filter;
  request.chunk_rows = options.chunk_rows > 0 ? options.chunk_rows : stream.chunk_rows;
  request.detect_deletes = out->deletes_checked;
  request.deletes_by_replication = stream.detect_deletes_by_replication;
  request.deletes_always_compared = stream.detect_deletes_always_compared;
  request.cancel = options.cancel;

  std::vector<std::string> primary_key = stream.primary_key;
  auto info = env_.source->DescribeStream(stream.name);
  if (info.ok()) {
    if (primary_key.empty()) primary_key = info->primary_key;
    std::vector<std::string> breaking;
    DEW_ASSIGN_OR_RETURN(std::vector<std::string> alerts, CheckDrift(stream, *info, &breaking));
    if (!alerts.empty() && out->alerts.empty()) {  // once per stream, not per attempt
      out->alerts = alerts;
      for (const auto& a : alerts) {
        const bool is_breaking = std::find(breaking.begin(), breaking.end(), a) != breaking.end();
        Notify("schema drift: " + a +
               (is_breaking ? " (on_schema_change: " + stream.on_schema_change + ")" : ""));
        if (env_.store) {
          nlohmann::json payload = {{"connection", spec_.name},
                                    {"stream", stream.name},
                                    {"change", a},
                                    {"breaking", is_breaking},
                                    {"policy", stream.on_schema_change},
                                    {"run_id", env_.lake->run_id()}};
          auto appended = env_.store->AppendEvent("schema_drift", payload.dump());
          if (!appended.ok()) return appended.status();
        }
      }
    }
    if (!breaking.empty()) {
      if (stream.on_schema_change == "fail") {
        return Status::InvalidArgument("schema drift on stream " + stream.name + " of " +
                                       spec_.name +
                                       " (on_schema_change: fail): " + breaking.front());
      }
      if (stream.on_schema_change == "quarantine") request.quarantine = true;
    }
  } else if (info.status().code() != Status::Code::kNotSupported) {
    return info.status();  // a source that cannot describe streams skips the drift check
  }
  out->quarantined = request.quarantine;
  // The lakehouse may lack the views of the stream's tables (dew sync's): a source's
  // deleted-keys check makes them when it reads the tables by name (SilverTable::EnsureViews).

  auto read = env_.source->Read(request, committed.state, env_.lake);
  if (!read.ok()) return read.status();
  out->rows_read += read->rows;
  out->rows_bronze += read->rows + read->rows_deleted;
  out->rows_deleted += read->rows_deleted;
  out->bytes_read += read->bytes_read;
  out->state = read->state;
  out->rows_silver += read->rows_silver;
  if (!read->deletes_note.empty()) Notify("stream " + stream.name + ": " + read->deletes_note);

  if (!primary_key.empty() && !request.quarantine) {
    SilverTable silver(env_.lake, spec_.name, stream.name);
    out->silver_table = silver.table();
    auto updated = silver.Update(primary_key);
    if (!updated.ok()) return updated.status();
    out->rows_silver += updated->rows_written;
  }
  return Status::OK();
}

Result<SyncResult> StreamSync::Run(const SyncOptions& options) {
  if (env_.lake == nullptr || env_.source == nullptr) {
    return Status::InvalidArgument("sync of " + spec_.name + " needs a lakehouse and a source");
  }
  std::vector<const StreamSpec*> streams;
  if (options.streams.empty()) {
    for (const auto& s : spec_.streams) streams.push_back(&s);
  } else {
    for (const auto& name : options.streams) {
      const StreamSpec* s = spec_.FindStream(name);
      if (s == nullptr) {
        return Status::InvalidArgument("connection '" + spec_.name + "' has no stream '" + name +
                                       "' (" + spec_.file + ")");
      }
      streams.push_back(s);
    }
  }
  SyncResult result;
  result.run_id = options.run_id.empty() ? env_.lake->run_id() : options.run_id;
  bool record = options.record_run && env_.store != nullptr;
  // A sync task of a pipeline passes the pipeline's run id: that run and its task attempt
  // already record this sync, so it gets no run of its own.
  if (record && env_.store->GetRun(result.run_id).ok()) record = false;
  if (record) {
    control::NewRun run;
    run.id = result.run_id;
    run.pipeline = "sync_" + spec_.name;
    run.triggered_by = "dew sync";
    nlohmann::json params = {{"full_refresh", options.full_refresh}};
    run.params_json = params.dump();
    DEW_RETURN_IF_ERROR(env_.store->CreateRun(run));
    DEW_RETURN_IF_ERROR(env_.store->UpdateRunStatus(result.run_id, control::RunStatus::kRunning));
  }
  const int retries = RetryCount(spec_.tier);
  for (const StreamSpec* stream : streams) {
    StreamSyncResult r;
    r.stream = stream->name;
    StreamSpec job = *stream;
    if (options.full_refresh) job.sync_mode = "full_refresh";
    r.job = spec_.JobName(job);
    const int64_t started = env_.clock->MonotonicMicros();
    if (options.cancel && options.cancel->load()) {
      r.status = StreamStatus::kCancelled;
      r.error = "cancelled before it started";
      result.streams.push_back(std::move(r));
      continue;
    }
    int64_t syncs_without_check = 0;
    r.deletes_checked = ChecksDeletes(*stream, &syncs_without_check);
    Status last;
    if (options.full_refresh && stream->sync_mode == "incremental") {
      BronzeLanding landing(env_.lake, spec_.name, stream->name);
      last = landing.ResetState("full refresh (run " + result.run_id + ")");
    }
    for (int attempt = 1; last.ok(); ++attempt) {
      if (attempt > 1) {
        const int64_t wait = BackoffMillis(attempt - 1, options);
        Notify("stream " + stream->name + ": attempt " + std::to_string(attempt - 1) + " failed (" +
               r.error + "); retrying in " + std::to_string(wait) + " ms");
        env_.clock->SleepMillis(wait);
      }
      int64_t attempt_id = 0;
      if (record) {
        DEW_ASSIGN_OR_RETURN(
            attempt_id, env_.store->StartAttempt(result.run_id, stream->name, attempt, "dew sync"));
      }
      const int64_t read_before = r.rows_read, written_before = r.rows_bronze;
      Status s = SyncOnce(*stream, options, &r);
      r.attempts = attempt;
      r.error = s.ok() ? "" : StreamError(stream->name, s);
      if (record) {
        const auto status = s.ok()              ? control::RunStatus::kSucceeded
                            : s.IsInterrupted() ? control::RunStatus::kCancelled
                                                : control::RunStatus::kFailed;
        DEW_RETURN_IF_ERROR(env_.store->FinishAttempt(attempt_id, status, r.rows_read - read_before,
                                                      r.rows_bronze - written_before, r.error));
      }
      if (s.ok()) break;
      const bool cancelled = options.cancel && options.cancel->load();
      if (!Retryable(s) || attempt > retries || cancelled) {
        last = s;
        break;
      }
    }
    if (!last.ok()) {
      r.status = (last.IsInterrupted() || (options.cancel && options.cancel->load()))
                     ? StreamStatus::kCancelled
                     : StreamStatus::kFailed;
      r.error = StreamError(stream->name, last);
    }
    // The Delta commit is the truth; the store's copy is for `dew state show`.
    BronzeLanding landing(env_.lake, spec_.name, stream->name);
    auto committed = landing.LastCommitted();
    if (committed.ok()) {
      r.state = committed->state;
      if (env_.store) {
        control::ConnectorState mirror;
        mirror.connection = spec_.name;
        mirror.stream = stream->name;
        nlohmann::json doc = {{"state", committed->state},
                              {"bronze_table", landing.table()},
                              {"bronze_version", committed->version},
                              {"batch", committed->batch},
                              {"reset", committed->reset}};
        if (stream->detect_deletes) {
          // A failed sync may not have reached its check: it counts as one without.
          const bool checked = r.deletes_checked && r.status == StreamStatus::kSucceeded;
          doc["syncs_without_delete_check"] = checked ? 0 : syncs_without_check + 1;
        }
        mirror.state_json = doc.dump();
        mirror.run_id = result.run_id;
        DEW_RETURN_IF_ERROR(env_.store->PutConnectorState(mirror));
      }
    }
    r.duration_ms = (env_.clock->MonotonicMicros() - started) / 1000;
    result.streams.push_back(std::move(r));
  }
  if (record) {
    bool cancelled = false;
    for (const auto& s : result.streams) cancelled |= s.status == StreamStatus::kCancelled;
    const auto status = result.ok() ? control::RunStatus::kSucceeded
                        : cancelled ? control::RunStatus::kCancelled
                                    : control::RunStatus::kFailed;
    DEW_RETURN_IF_ERROR(env_.store->UpdateRunStatus(result.run_id, status, result.ErrorSummary()));
  }
  return result;
}

}  // namespace dew::connectors
