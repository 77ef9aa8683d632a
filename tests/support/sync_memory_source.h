// MemorySource: a small Source for sync engine tests, reading a table of the lakehouse's own
// DuckDB (`memory_<stream>`, created by the test) and landing it through BronzeLanding like the
// real sources: incremental by (cursor, id) in chunks, one commit per chunk with its state,
// deletions of ids gone from the table. Failures can be scheduled: `fail_after_chunks` makes a
// Read fail (IOError, or the given status) after landing that many chunks.
#pragma once

#include <string>
#include <vector>

#include "connectors/bronze_landing.h"
#include "connectors/silver_table.h"
#include "connectors/source.h"
#include "engine/connection.h"
#include "lake/lakehouse.h"

namespace dew::testing {

class MemorySource : public connectors::Source {
 public:
  explicit MemorySource(std::string source) : source_(std::move(source)) {}

  struct Failure {
    int read_call = 0;     //!< which Read call fails (1-based)
    int after_chunks = 0;  //!< chunks landed before the failure
    Status status = Status::IOError("memory source: connection reset");
  };
  std::vector<Failure> failures;
  int reads = 0;
  lake::Lakehouse* lake = nullptr;  //!< for DescribeStream; set by the test

  nlohmann::json Spec() const override { return nlohmann::json::object(); }
  Status Check(const std::vector<std::string>&, connectors::CheckProblem*) override {
    return Status::OK();
  }
  Result<std::vector<connectors::StreamInfo>> Discover() override {
    return Status::NotSupported("memory source: no discover");
  }
  Result<connectors::StreamInfo> DescribeStream(const std::string& name) override {
    if (lake == nullptr) return Status::NotSupported("memory source: no lake");
    auto rows = lake->connection().QueryText(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = " +
        engine::SqlString("memory_" + name) + " ORDER BY ordinal_position");
    if (!rows.ok()) return rows.status();
    connectors::StreamInfo info;
    info.name = name;
    info.primary_key = {"id"};
    for (const auto& r : rows->rows) {
      connectors::ColumnInfo c;
      c.name = r[0].value_or("");
      c.source_type = r[1].value_or("");
      c.lake_type = c.source_type;
      info.columns.push_back(c);
    }
    return info;
  }

  Result<connectors::ReadResult> Read(const connectors::StreamRequest& stream,
                                      const nlohmann::json& state,
                                      lake::Lakehouse* lake_in) override {
    ++reads;
    const Failure* failure = nullptr;
    for (const auto& f : failures) {
      if (f.read_call == reads) failure = &f;
    }
    connectors::BronzeLanding landing(lake_in, source_, stream.name);
    connectors::ReadResult result;
    result.table = landing.table();
    result.state = state;
    const std::string table = "memory_" + stream.name;
    const std::string cursor = stream.cursor_field.empty() ? "id" : stream.cursor_field;
    const int64_t chunk = stream.chunk_rows > 0 ? stream.chunk_rows : 1000;
    const bool full = stream.sync_mode == "full_refresh";
    int chunks = 0;
    nlohmann::json current = state;
    for (;;) {
      if (failure && chunks >= failure->after_chunks) return failure->status;
      std::string where = "true";
      if (!full && current.is_object() && current.contains("cursor")) {
        where = "(" + cursor + ", id) > (" + current["cursor"].get<std::string>() + ", " +
                current["id"].get<std::string>() + ")";
      }
      const std::string select = "SELECT * FROM " + table + " WHERE " + where + " ORDER BY " +
                                 cursor + ", id" + (full ? "" : " LIMIT " + std::to_string(chunk));
      auto last = lake_in->connection().QueryText(
          "SELECT " + cursor + "::VARCHAR, id::VARCHAR, count(*) OVER () FROM (" + select +
          ") ORDER BY " + cursor + " DESC, id DESC LIMIT 1");
      if (!last.ok()) return last.status();
      if (last->rows.empty()) break;
      // Materialized so the landed rows are exactly the ones counted.
      const std::string snap = "memory_chunk_" + std::to_string(reads);
      DEW_RETURN_IF_ERROR(
          lake_in->connection().Execute("CREATE OR REPLACE TEMP TABLE " + snap + " AS " + select));
      connectors::LandingBatch batch;
      batch.select_sql = "SELECT * FROM " + snap;
      batch.cursor_sql = cursor;
      batch.quarantine = stream.quarantine;
      batch.mode = full ? "full_refresh" : "incremental";
      batch.full_refresh_start = full;
      current = {{"cursor", *last->rows[0][0]}, {"id", *last->rows[0][1]}};
      batch.state = current;
      DEW_ASSIGN_OR_RETURN(auto landed, landing.Land(batch));
      result.rows += landed.commit.rows_added;
      result.commits++;
      result.state = current;
      ++chunks;
      if (full || std::stoll(*last->rows[0][2]) < chunk) break;
    }
    if (!full && stream.detect_deletes && !stream.quarantine) {
      DEW_ASSIGN_OR_RETURN(lake::TableName bronze, lake::ParseTableName(landing.table()));
      if (lake_in->Exists(bronze)) {
        DEW_RETURN_IF_ERROR(connectors::SilverTable::EnsureViews(lake_in, source_, stream.name));
        const std::string gone = "SELECT id FROM (SELECT id, arg_max(_deleted, _batch) AS d FROM " +
                                 landing.table() +
                                 " GROUP BY id) WHERE NOT d EXCEPT SELECT id FROM " + table;
        DEW_ASSIGN_OR_RETURN(
            auto n, lake_in->connection().QueryScalar("SELECT count(*) FROM (" + gone + ")"));
        if (n.value_or("0") != "0") {
          DEW_RETURN_IF_ERROR(
              lake_in->connection().Execute("CREATE OR REPLACE TEMP TABLE memory_gone AS " + gone));
          connectors::LandingBatch batch;
          batch.select_sql = "SELECT * FROM memory_gone";
          batch.deletes = true;
          batch.state = result.state;
          DEW_ASSIGN_OR_RETURN(auto landed, landing.Land(batch));
          result.rows_deleted = landed.commit.rows_added;
          result.commits++;
        }
      }
    }
    return result;
  }

 private:
  std::string source_;
};

}  // namespace dew::testing
