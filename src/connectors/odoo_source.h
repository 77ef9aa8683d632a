// The odoo source, in two modes chosen by the connection's `auth:`:
//  - database (auth with host/port/database/user/password, like postgres): a preset over
//    PostgresSource for Odoo's finance tables, with write_date as cursor, id as primary key and
//    the posted-only filters as defaults a stream may override;
//  - external API (auth with `url:`): Odoo's XML-RPC API through OdooRpcClient, for
//    deployments without database access. Discover reads ir.model.fields; Read pages
//    search_read by (cursor, id) and lands each page through BronzeLanding with its state.
// Streams are named by table ("account_move_line"); in API mode a model name
// ("account.move.line") is accepted too, and a table name maps to the model by Odoo's own rule
// (dots ↔ underscores).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connectors/connection_spec.h"
#include "connectors/json_records.h"
#include "connectors/odoo_rpc_client.h"
#include "connectors/postgres_source.h"
#include "connectors/source.h"

namespace dew::connectors {

class BronzeLanding;

//! One model of the finance preset.
struct OdooPresetModel {
  std::string table;       //!< "account_move_line"
  std::string model;       //!< "account.move.line"
  std::string sql_filter;  //!< "parent_state = 'posted'", or empty
};

//! account_move_line, account_move, account_account, res_partner, account_journal,
//! account_bank_statement_line. Never fails.
const std::vector<OdooPresetModel>& OdooPresetModels();
//! The preset entry for a stream named by table or model, or nullptr.
const OdooPresetModel* FindOdooPreset(const std::string& stream);
//! The preset's streams as a connection file would spell them (incremental on write_date,
//! primary key id, the preset filter): what an odoo connection without `streams:` syncs.
std::vector<StreamSpec> OdooPresetStreams();
//! Fills what `stream` leaves unsaid from the preset: cursor_field write_date, primary_key
//! [id], sync_mode incremental (unless `sync_mode_written`), and the preset filter (unless
//! `filter_written`). Streams outside the preset get cursor write_date and key id only.
void ApplyOdooPreset(StreamSpec* stream, bool sync_mode_written, bool filter_written);

//! The Odoo model of a stream name: "account.move.line" as is, "account_move_line" through
//! the preset, other names with '_' replaced by '.'.
std::string OdooModelFor(const std::string& stream);

//! An Odoo domain from a stream filter: a domain literal in Odoo's (Python) syntax,
//! "[('state', '=', 'posted'), '|', ('a', '>', 1), ('b', 'in', [1, 2])]" (JSON also works),
//! or a simple SQL predicate: comparisons `field op literal` (=, !=, <>, <, <=, >, >=,
//! IN (…), NOT IN (…), IS NULL, IS NOT NULL) joined by AND. Empty text: an empty domain.
//! InvalidArgument saying what is not understood.
Result<nlohmann::json> OdooDomainFromFilter(const std::string& filter);

//! The lake type of an Odoo field type (ir.model.fields.ttype): char/text/html/selection →
//! VARCHAR, integer → BIGINT, float → DOUBLE, monetary → DECIMAL(38,6), boolean → BOOLEAN,
//! date → DATE, datetime → TIMESTAMP, many2one → BIGINT (plus a "<field>_name" VARCHAR
//! column with the display name), one2many/many2many → JSON (an array of ids), others →
//! VARCHAR. Empty for types that are not landed (binary).
std::string OdooLakeType(const std::string& ttype);

struct OdooApiConfig {
  std::string source;  //!< the connection's name
  OdooRpcConfig rpc;
  std::string spool_dir;     //!< where JsonRecordBuffer spools a page
  int64_t batch_size = 500;  //!< records per search_read page and bronze commit
};

//! The external-API mode. Not thread-safe; one Read at a time.
class OdooApiSource : public Source {
 public:
  //! `http` is shared and outlives the source. `streams` are the connection's (for Check and
  //! Discover when given no names).
  OdooApiSource(std::shared_ptr<HttpClient> http, OdooApiConfig config,
                std::vector<std::string> streams);

  nlohmann::json Spec() const override;
  //! Authenticates and verifies that each stream's model exists and is readable (one search
  //! of one id). Problems: unreachable, auth refused, missing database, missing model
  //! (kMissingTable), access error (kPermissionDenied).
  Status Check(const std::vector<std::string>& streams, CheckProblem* problem) override;
  //! The connection's streams (the preset when none) with their stored fields from
  //! ir.model.fields, typed by OdooLakeType; primary key id.
  Result<std::vector<StreamInfo>> Discover() override;
  //! Reads the stream's model with search_read ordered by (cursor, id), `batch_size` records
  //! per page, each page one bronze commit whose state holds the last (cursor, id): a killed
  //! or failed read resumes after the last committed page. Full refresh starts from the
  //! beginning (first page marked full_refresh_start) unless `state` is an unfinished full
  //! refresh, which resumes. Incremental continues after the state's (cursor, id), then (with
  //! detect_deletes) lands the ids Odoo no longer lists under the filter as `_deleted` rows.
  Result<ReadResult> Read(const StreamRequest& stream, const nlohmann::json& state,
                          lake::Lakehouse* lake) override;

 private:
  struct Field {
    std::string name;
    std::string ttype;
    std::string relation;
    bool required = false;
  };
  //! Stored fields of `model` from ir.model.fields, in id order. NotFound when the model has
  //! none (no such model).
  Result<std::vector<Field>> Fields(OdooRpcClient& client, const std::string& model);
  //! Lands as `_deleted` rows the ids live in bronze that `search` over `domain` no longer
  //! returns (deleted in Odoo, or out of the filter, e.g. a move reset to draft). Returns how
  //! many.
  Result<int64_t> LandDeletes(OdooRpcClient& client, const std::string& model,
                              const nlohmann::json& domain, BronzeLanding& landing,
                              const nlohmann::json& state, lake::Lakehouse* lake);

  std::shared_ptr<HttpClient> http_;
  OdooApiConfig config_;
  std::vector<std::string> streams_;
};

//! The database mode: PostgresSource with the preset's defaults. Not thread-safe.
class OdooDatabaseSource : public Source {
 public:
  //! `streams` are the connection's (for Check and Discover when given no names).
  OdooDatabaseSource(PostgresConfig config, std::vector<std::string> streams);

  nlohmann::json Spec() const override;
  //! As PostgresSource::Check; no names: the connection's streams.
  Status Check(const std::vector<std::string>& streams, CheckProblem* problem) override;
  //! The connection's tables (the preset's when none) as PostgresSource discovers them.
  Result<std::vector<StreamInfo>> Discover() override;
  //! PostgresSource::Read with the preset's cursor (write_date), key (id) and filter filled in
  //! where the request leaves them empty.
  Result<ReadResult> Read(const StreamRequest& stream, const nlohmann::json& state,
                          lake::Lakehouse* lake) override;
  //! PostgresSource::Advise on the streams as Read would read them (the preset's cursor and key
  //! filled in), so a connection relying on the preset still hears of an unindexed write_date.
  Result<std::vector<std::string>> Advise(const std::vector<StreamRequest>& streams) override;
  //! PostgresSource::CheckDeletions on the streams as Read would read them.
  Status CheckDeletions(const std::vector<StreamRequest>& streams) override;
  //! PostgresSource::ForgetStream.
  Status ForgetStream(const std::string& stream) override { return postgres_.ForgetStream(stream); }

 private:
  PostgresSource postgres_;
  std::vector<std::string> streams_;
};

}  // namespace dew::connectors
