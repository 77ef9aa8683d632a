#include "connectors/postgres_replication_slot.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include "connectors/bronze_landing.h"
#include "connectors/pgoutput_decoder.h"
#include "connectors/silver_table.h"
#include "engine/connection.h"
#include "lake/lakehouse.h"
#include "lake/medallion.h"

namespace dew::connectors {
namespace {

// Identifiers and string literals are quoted as standard SQL has it, which PostgreSQL (with
// standard_conforming_strings, on by default since 9.1) shares with DuckDB.
using engine::SqlIdent;
using engine::SqlString;

// The messages of a peek fetched per round trip: bounds what the client holds at once.
constexpr int kFetchRows = 10000;

std::string FirstLine(const char* text) {
  std::string s = text ? text : "";
  const size_t end = s.find('\n');
  if (end != std::string::npos) s.resize(end);
  return s;
}

// One CSV field, always quoted.
void AppendCsv(std::string* line, const std::string& value) {
  *line += '"';
  for (char c : value) {
    if (c == '"') *line += '"';
    *line += c;
  }
  *line += '"';
}

uint32_t Fnv1a(const std::string& text) {
  uint32_t h = 2166136261u;
  for (unsigned char c : text) h = (h ^ c) * 16777619u;
  return h;
}

}  // namespace

// libpq in autocommit mode, each statement's failure a Status naming the server.
class PostgresReplicationSlot::Connection {
 public:
  ~Connection() {
    if (conn_) PQfinish(conn_);
  }
  Status Open(const PostgresConfig& config) {
    const std::string port = std::to_string(config.port);
    const std::string timeout = std::to_string(config.connect_timeout_seconds);
    const char* keys[] = {
        "host", "port", "dbname", "user", "password", "connect_timeout", "application_name",
        nullptr};
    const char* values[] = {config.host.c_str(),
                            port.c_str(),
                            config.database.c_str(),
                            config.user.c_str(),
                            config.password.c_str(),
                            timeout.c_str(),
                            "dew",
                            nullptr};
    where_ = config.host + ":" + port + "/" + config.database + " as " + config.user;
    conn_ = PQconnectdbParams(keys, values, 0);
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return Status::OK();
    return Status::IOError("cannot reach PostgreSQL at " + where_ + ": " +
                           FirstLine(conn_ ? PQerrorMessage(conn_) : "out of memory"));
  }
  const std::string& where() const { return where_; }

  // Rows of `sql` (text, or binary with `binary`); the server's message on failure, in
  // `*error` when given (so the caller can tell a missing privilege from other failures).
  Result<std::vector<std::vector<std::optional<std::string>>>> Query(
      const std::string& sql, const std::vector<std::string>& params = {}, bool binary = false) {
    std::vector<const char*> p;
    for (const auto& s : params) p.push_back(s.c_str());
    PGresult* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(p.size()), nullptr, p.data(),
                               nullptr, nullptr, binary ? 1 : 0);
    const ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      last_error_ = FirstLine(PQerrorMessage(conn_));
      if (r) PQclear(r);
      return Status::IOError(last_error_);
    }
    std::vector<std::vector<std::optional<std::string>>> rows;
    for (int i = 0; i < PQntuples(r); i++) {
      auto& row = rows.emplace_back();
      for (int j = 0; j < PQnfields(r); j++) {
        if (PQgetisnull(r, i, j)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(std::string(PQgetvalue(r, i, j), PQgetlength(r, i, j)));
        }
      }
    }
    PQclear(r);
    return rows;
  }
  const std::string& last_error() const { return last_error_; }

  // Sends `sql` without waiting for its end: the server runs it even when this connection is
  // closed before it ends (PostgreSQL notices a closed client only when it next talks to it).
  Status Send(const std::string& sql, const std::vector<std::string>& params) {
    std::vector<const char*> p;
    for (const auto& s : params) p.push_back(s.c_str());
    if (PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(p.size()), nullptr, p.data(),
                          nullptr, nullptr, 0) != 1) {
      last_error_ = FirstLine(PQerrorMessage(conn_));
      return Status::IOError(last_error_);
    }
    return Status::OK();
  }

 private:
  PGconn* conn_ = nullptr;
  std::string where_;
  std::string last_error_;
};

PostgresReplicationSlot::PostgresReplicationSlot(const PostgresConfig& config,
                                                 ReplicationTarget target)
    : config_(config),
      target_(std::move(target)),
      name_(Name(target_.connection, target_.stream)) {}

PostgresReplicationSlot::~PostgresReplicationSlot() {
  if (!window_file_.empty()) unlink(window_file_.c_str());
}

std::string PostgresReplicationSlot::Name(const std::string& connection,
                                          const std::string& stream) {
  const std::string whole = "dew_" + connection + "_" + stream;
  std::string name;
  bool replaced = false;
  for (char c : whole) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    replaced |= !ok || c != whole[name.size()];
    name += ok ? c : '_';
  }
  if (!replaced && name.size() <= 63) return name;
  char hash[16];
  std::snprintf(hash, sizeof(hash), "_%08x", Fnv1a(whole));
  if (name.size() > 54) name.resize(54);
  return name + hash;
}

Status PostgresReplicationSlot::Connect() {
  if (conn_) return Status::OK();
  auto conn = std::make_unique<Connection>();
  DEW_RETURN_IF_ERROR(conn->Open(config_));
  conn_ = std::move(conn);
  return Status::OK();
}

Status PostgresReplicationSlot::Check() {
  return CheckSource(/*may_create=*/false);
}

// Check's checks; with `may_create`, also makes or repairs the publication (publication_).
Status PostgresReplicationSlot::CheckSource(bool may_create) {
  DEW_RETURN_IF_ERROR(Connect());
  const std::string what = "stream " + target_.stream + ": detect_deletes: replication";
  const std::string relation = SqlIdent(target_.schema) + "." + SqlIdent(target_.table);
  auto fail = [&](const std::string& problem) {
    return Status::InvalidArgument(what + ": " + problem + " (" + conn_->where() + ")");
  };
  DEW_ASSIGN_OR_RETURN(
      auto facts,
      conn_->Query(
          "SELECT current_setting('wal_level'), "
          "(SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user), "
          "c.oid, c.relreplident, "
          "(SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM pg_index i "
          " JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true "
          " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
          " WHERE i.indrelid = c.oid AND i.indisprimary), "
          "has_database_privilege(current_database(), 'CREATE') "
          "  AND pg_has_role(c.relowner, 'USAGE') "
          "FROM (SELECT to_regclass($1) AS oid) AS r LEFT JOIN pg_class c ON c.oid = r.oid",
          {relation}));
  const auto& f = facts.at(0);
  if (f[0].value_or("") != "logical") {
    return fail("the server's wal_level is '" + f[0].value_or("") +
                "', not 'logical'; run ALTER SYSTEM SET wal_level = logical and restart "
                "PostgreSQL");
  }
  if (f[1].value_or("f") != "t") {
    return fail("user " + config_.user +
                " has no REPLICATION privilege (needed to read a replication slot); run ALTER "
                "ROLE " +
                SqlIdent(config_.user) + " REPLICATION");
  }
  if (!f[2].has_value()) {
    return Status::NotFound(what + ": table " + target_.schema + "." + target_.table +
                            " does not exist (" + conn_->where() + ")");
  }
  std::string key;
  for (const auto& k : target_.key) key += (key.empty() ? "" : ",") + k.name;
  if (!f[4].has_value()) {
    return fail("table " + target_.schema + "." + target_.table +
                " has no primary key; deletions can only be followed by primary key");
  }
  if (*f[4] != key) {
    return fail("the stream's primary_key (" + key + ") is not the table's primary key (" + *f[4] +
                ")");
  }
  if (f[3].value_or("") != "d") {
    return fail("table " + target_.schema + "." + target_.table +
                " does not have REPLICA IDENTITY DEFAULT (its primary key); run ALTER TABLE " +
                relation + " REPLICA IDENTITY DEFAULT");
  }
  std::string columns;
  for (const auto& k : target_.key) columns += (columns.empty() ? "" : ", ") + SqlIdent(k.name);
  const std::string create =
      "CREATE PUBLICATION " + SqlIdent(name_) + " FOR TABLE " + relation + " (" + columns + ")";
  DEW_ASSIGN_OR_RETURN(
      auto pub,
      conn_->Query("SELECT p.oid, p.pubinsert AND p.pubupdate AND p.pubdelete AND p.pubtruncate "
                   "  AND NOT p.puballtables AND (SELECT count(*) FROM pg_publication_rel r "
                   "  WHERE r.prpubid = p.oid) = 1, "
                   "(SELECT array_to_string(t.attnames, ',') FROM pg_publication_tables t "
                   " WHERE t.pubname = p.pubname AND t.schemaname = $2 AND t.tablename = $3) "
                   "FROM pg_publication p WHERE p.pubname = $1",
                   {name_, target_.schema, target_.table}));
  const bool exists = !pub.empty();
  const bool as_should = exists && pub[0][1].value_or("f") == "t" && pub[0][2].value_or("") == key;
  if (as_should) {
    publication_ = std::strtoll(pub[0][0]->c_str(), nullptr, 10);
    return Status::OK();
  }
  const std::string repair = exists ? "ALTER PUBLICATION " + SqlIdent(name_) + " SET TABLE " +
                                          relation + " (" + columns + "); ALTER PUBLICATION " +
                                          SqlIdent(name_) +
                                          " SET (publish = 'insert, update, delete, truncate')"
                                    : create;
  if (f[5].value_or("f") != "t") {
    return fail("user " + config_.user + " may not " + (exists ? "change" : "create") +
                " the publication " + name_ + " (it needs CREATE on the database and to own " +
                target_.schema + "." + target_.table + "); have an owner run: " + repair);
  }
  if (!may_create) return Status::OK();
  repaired_ = exists;
  if (!conn_->Query(repair).ok()) {
    return fail("cannot " + std::string(exists ? "change" : "create") + " the publication " +
                name_ + ": " + conn_->last_error() + "; have an owner run: " + repair);
  }
  DEW_ASSIGN_OR_RETURN(auto made,
                       conn_->Query("SELECT oid FROM pg_publication WHERE pubname = $1", {name_}));
  if (made.empty() || !made[0][0]) return fail("the publication " + name_ + " vanished");
  publication_ = std::strtoll(made[0][0]->c_str(), nullptr, 10);
  return Status::OK();
}

Result<ReplicationPlan> PostgresReplicationSlot::MakeSlot(ReplicationPlan plan, bool drop_first) {
  if (drop_first) DEW_RETURN_IF_ERROR(Drop());
  auto made = conn_->Query(
      "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", {name_});
  if (!made.ok() || made->empty() || !(*made)[0][0]) {
    return Status::InvalidArgument(
        "stream " + target_.stream +
        ": detect_deletes: replication: cannot create the replication "
        "slot " +
        name_ + " at " + conn_->where() + ": " + conn_->last_error() +
        (conn_->last_error().find("max_replication_slots") != std::string::npos
             ? " (raise max_replication_slots)"
             : ""));
  }
  plan.use_window = false;
  plan.start_lsn = *(*made)[0][0];
  plan.publication = publication_;
  return plan;
}

Result<ReplicationPlan> PostgresReplicationSlot::Prepare(const nlohmann::json& state) {
  DEW_RETURN_IF_ERROR(CheckSource(/*may_create=*/true));
  ReplicationPlan plan;
  plan.publication = publication_;
  DEW_RETURN_IF_ERROR(WaitUntilIdle());
  DEW_ASSIGN_OR_RETURN(
      auto slot, conn_->Query("SELECT confirmed_flush_lsn::text, coalesce(wal_status, ''), plugin, "
                              "(database = current_database())::text FROM pg_replication_slots "
                              "WHERE slot_name = $1",
                              {name_}));
  const nlohmann::json* mine =
      state.is_object() && state.contains("replication") && state["replication"].is_object()
          ? &state["replication"]
          : nullptr;
  if (slot.empty()) {
    plan.reason = mine ? "the replication slot " + name_ + " was missing"
                       : "the first sync with detect_deletes: replication";
    return MakeSlot(plan, false);
  }
  const auto& s = slot[0];
  if (s[1].value_or("") == "lost" || !s[0].has_value()) {
    plan.reason = "the replication slot " + name_ + " was invalidated (its WAL was removed)";
    return MakeSlot(plan, true);
  }
  if (s[2].value_or("") != "pgoutput" || s[3].value_or("") != "true") {
    plan.reason = "the replication slot " + name_ + " was made for another plugin or database";
    return MakeSlot(plan, true);
  }
  if (!mine) {
    plan.reason = "the stream's state has no replication position (first sync or reset)";
    return MakeSlot(plan, true);
  }
  if (repaired_ || !mine->contains("publication") || !(*mine)["publication"].is_number_integer() ||
      (*mine)["publication"].get<int64_t>() != publication_) {
    plan.reason = "the publication " + name_ + " changed";
    return MakeSlot(plan, true);
  }
  plan.start_lsn = *s[0];
  // A sync killed after committing its deletions and before advancing the slot: its commit
  // covers the window up to the state's position, so the slot continues from there.
  if (mine->contains("lsn") && (*mine)["lsn"].is_string()) {
    auto committed = ParseLsn((*mine)["lsn"].get<std::string>());
    auto confirmed = ParseLsn(plan.start_lsn);
    if (committed && confirmed && *committed > *confirmed) {
      DEW_RETURN_IF_ERROR(Advance(FormatLsn(*committed)));
      plan.start_lsn = FormatLsn(*committed);
    }
  }
  plan.use_window = true;
  return plan;
}

Result<ReplicationPlan> PostgresReplicationSlot::Recreate(const std::string& reason) {
  DEW_RETURN_IF_ERROR(Connect());
  ReplicationPlan plan;
  plan.reason = reason;
  return MakeSlot(plan, true);
}

Result<ReplicationWindow> PostgresReplicationSlot::ReadWindow(const std::string& upto,
                                                              const std::string& temp_dir) {
  DEW_RETURN_IF_ERROR(Connect());
  if (!ParseLsn(upto)) return Status::InvalidArgument("not a WAL position: " + upto);
  ReplicationWindow window;
  window.upto = upto;
  std::string path = temp_dir + "/dew_pg_window_XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) return Status::IOError("cannot create a temp file in " + temp_dir);
  window_file_ = path;
  window.csv_path = path;
  FILE* out = fdopen(fd, "w");
  if (!out) {
    close(fd);
    return Status::IOError("cannot write " + path);
  }
  struct Closer {
    FILE* f;
    ~Closer() {
      if (f) fclose(f);
    }
  } closer{out};
  const std::string where = "the replication slot " + name_ + " at " + conn_->where();
  auto failed = [&](const std::string& doing) {
    return Status::IOError("cannot " + doing + " " + where + ": " + conn_->last_error());
  };
  if (!conn_->Query("BEGIN").ok()) return failed("read");
  // The cursor's transaction ends on every path, so the connection serves Advance after.
  struct Ender {
    Connection& conn;
    ~Ender() { (void)conn.Query("COMMIT"); }
  } ender{*conn_};
  // The publication is the slot's only one, holding this table's key columns only.
  const std::string declare =
      "DECLARE _dew_window NO SCROLL CURSOR FOR SELECT data FROM "
      "pg_logical_slot_peek_binary_changes(" +
      SqlString(name_) + ", " + SqlString(upto) + "::pg_lsn, NULL, 'proto_version', '1', " +
      "'publication_names', " + SqlString(name_) + ")";
  if (!conn_->Query(declare).ok()) return failed("read");
  PgOutputDecoder decoder;
  int64_t order = 0;
  std::string line;
  // Positions of the stream's key columns in the relation's columns, once it is described.
  std::vector<size_t> positions;
  uint32_t positions_for = 0;
  auto key_of = [&](uint32_t relation,
                    const std::vector<std::optional<std::string>>& values) -> Status {
    if (positions_for != relation || positions.empty()) {
      const PgOutputRelation* r = decoder.FindRelation(relation);
      positions.clear();
      for (const auto& k : target_.key) {
        size_t i = 0;
        while (r && i < r->columns.size() && r->columns[i] != k.name) i++;
        if (!r || i == r->columns.size()) {
          return Status::Corruption(where + " sent changes of " + (r ? r->name : "a relation") +
                                    " without its key column " + k.name);
        }
        positions.push_back(i);
      }
      positions_for = relation;
    }
    line.clear();
    for (size_t p : positions) {
      if (p >= values.size() || !values[p].has_value()) {
        return Status::Corruption(where + " sent a change without its key's value");
      }
      AppendCsv(&line, *values[p]);
      line += ',';
    }
    return Status::OK();
  };
  auto emit = [&](char op) -> Status {
    line += std::to_string(order++) + "," + op + "\n";
    if (fwrite(line.data(), 1, line.size(), out) != line.size()) {
      return Status::IOError("cannot write " + path);
    }
    return Status::OK();
  };
  bool more = true;
  while (more && !window.truncated) {
    auto rows = conn_->Query("FETCH " + std::to_string(kFetchRows) + " FROM _dew_window", {},
                             /*binary=*/true);
    if (!rows.ok()) return failed("read");
    more = rows->size() == static_cast<size_t>(kFetchRows);
    for (const auto& row : *rows) {
      if (!row[0]) continue;
      DEW_ASSIGN_OR_RETURN(PgOutputMessage m, decoder.Decode(*row[0]));
      using Kind = PgOutputMessage::Kind;
      if (m.kind == Kind::kTruncate) {
        window.truncated = true;
        break;
      }
      if (m.kind != Kind::kInsert && m.kind != Kind::kUpdate && m.kind != Kind::kDelete) continue;
      window.changes++;
      if (m.kind == Kind::kUpdate && m.old_values) {
        // The key itself changed: the old key is gone.
        DEW_RETURN_IF_ERROR(key_of(m.relation, *m.old_values));
        DEW_RETURN_IF_ERROR(emit('D'));
        window.deletions++;
      }
      DEW_RETURN_IF_ERROR(key_of(m.relation, m.values));
      if (m.kind == Kind::kDelete) window.deletions++;
      DEW_RETURN_IF_ERROR(emit(m.kind == Kind::kDelete ? 'D' : 'U'));
    }
  }
  if (fflush(out) != 0) return Status::IOError("cannot write " + path);
  return window;
}

Status PostgresReplicationSlot::AppendDeletions(const std::string& csv, int64_t rows,
                                                ReplicationWindow* window) {
  if (rows == 0) return Status::OK();
  FILE* out = fopen(window->csv_path.c_str(), "a");
  const bool written = out && fwrite(csv.data(), 1, csv.size(), out) == csv.size();
  if ((out && fclose(out) != 0) || !written) {
    return Status::IOError("cannot write " + window->csv_path);
  }
  window->deletions += rows;
  return Status::OK();
}

Status PostgresReplicationSlot::WaitUntilIdle() {
  // A slot serves one backend at a time: the previous sync's advance may still run. The wait is
  // PostgreSQL's (pg_sleep), 50 ms a round, for up to two minutes.
  for (int round = 0; round < 2400; round++) {
    auto active = conn_->Query(
        "SELECT active_pid, pg_sleep(CASE WHEN active THEN 0.05 ELSE 0 END) FROM "
        "pg_replication_slots WHERE slot_name = $1",
        {name_});
    if (!active.ok()) {
      return Status::IOError("cannot read the replication slot " + name_ + " at " + conn_->where() +
                             ": " + conn_->last_error());
    }
    if (active->empty() || !(*active)[0][0].has_value()) return Status::OK();
  }
  auto pid =
      conn_->Query("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", {name_});
  return Status::IOError("the replication slot " + name_ + " at " + conn_->where() +
                         " stayed in use by process " +
                         (pid.ok() && !pid->empty() ? (*pid)[0][0].value_or("?") : "?") +
                         " for two minutes (another sync of the stream?)");
}

Status PostgresReplicationSlot::AdvanceInBackground(const std::string& lsn) {
  DEW_RETURN_IF_ERROR(Connect());
  Status sent = conn_->Send(
      "SELECT pg_replication_slot_advance(slot_name, $2::pg_lsn) FROM pg_replication_slots "
      "WHERE slot_name = $1 AND confirmed_flush_lsn < $2::pg_lsn",
      {name_, lsn});
  if (!sent.ok()) {
    return Status::IOError("cannot advance the replication slot " + name_ + " to " + lsn + " at " +
                           conn_->where() + ": " + conn_->last_error());
  }
  return Status::OK();
}

Status PostgresReplicationSlot::Advance(const std::string& lsn) {
  DEW_RETURN_IF_ERROR(Connect());
  DEW_RETURN_IF_ERROR(WaitUntilIdle());
  // PostgreSQL refuses to move a slot backwards; a slot already there has nothing to do.
  auto moved = conn_->Query(
      "SELECT pg_replication_slot_advance(slot_name, $2::pg_lsn) FROM pg_replication_slots "
      "WHERE slot_name = $1 AND confirmed_flush_lsn < $2::pg_lsn",
      {name_, lsn});
  if (!moved.ok()) {
    return Status::IOError("cannot advance the replication slot " + name_ + " to " + lsn + " at " +
                           conn_->where() + ": " + conn_->last_error());
  }
  return Status::OK();
}

Status PostgresReplicationSlot::Drop() {
  DEW_RETURN_IF_ERROR(Connect());
  DEW_RETURN_IF_ERROR(WaitUntilIdle());
  auto dropped = conn_->Query(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
      {name_});
  if (!dropped.ok()) {
    return Status::IOError("cannot drop the replication slot " + name_ + " at " + conn_->where() +
                           ": " + conn_->last_error());
  }
  return Status::OK();
}

nlohmann::json PostgresReplicationSlot::State(const ReplicationPlan& plan,
                                              const std::string& lsn) const {
  return {{"slot", name_}, {"publication", plan.publication}, {"lsn", lsn}};
}

Result<int64_t> LandReplicatedDeletions(lake::Lakehouse* lake, BronzeLanding& landing,
                                        const ReplicationTarget& target,
                                        const ReplicationWindow& window,
                                        const nlohmann::json& state) {
  if (window.deletions == 0) return 0;
  const std::string what = target.schema + "." + target.table;
  std::string columns, keys, with_fresh, with_silver;
  for (size_t i = 0; i < target.key.size(); i++) {
    const std::string k = SqlIdent(target.key[i].name);
    columns += SqlString(target.key[i].name) + ": " + SqlString(target.key[i].lake_type) + ", ";
    keys += (i ? ", " : "") + k;
    with_fresh += std::string(i ? " AND " : "") + "_dew_f." + k + " = _dew_w." + k;
    with_silver += std::string(i ? " AND " : "") + "_dew_s." + k + " = _dew_w." + k;
  }
  // The lake's live keys, looked up for the deleted ones only: a key's newest row among the
  // bronze batches silver has not taken in yet decides; otherwise silver's row does. (Silver
  // is not brought up to date first: the sync's own update then merges the read's rows and
  // these deletions in one commit.)
  SilverTable silver(lake, target.connection, target.stream);
  DEW_ASSIGN_OR_RETURN(lake::TableName silver_name, lake::ParseTableName(silver.table()));
  const bool has_silver = lake->Exists(silver_name);
  int64_t consumed = 0;
  if (has_silver) {
    DEW_ASSIGN_OR_RETURN(auto c, silver.Consumed());
    consumed = c.first;
  }
  const std::string changes =
      "read_csv(" + SqlString(window.csv_path) +
      ", header=false, delim=',', quote='\"', escape='\"', auto_detect=false, "
      "strict_mode=true, columns={" +
      columns + "'_dew_order': 'BIGINT', '_dew_op': 'VARCHAR'})";
  const std::string fresh = "SELECT " + keys + ", arg_max(_deleted, _batch) AS _dew_gone FROM " +
                            landing.table() + " WHERE _batch > " + std::to_string(consumed) +
                            " GROUP BY ALL";
  std::string live = "EXISTS (SELECT 1 FROM _dew_fresh AS _dew_f WHERE " + with_fresh +
                     " AND NOT _dew_f._dew_gone)";
  if (has_silver) {
    live = "(" + live + " OR (NOT EXISTS (SELECT 1 FROM _dew_fresh AS _dew_f WHERE " + with_fresh +
           ") AND EXISTS (SELECT 1 FROM " + silver.table() + " AS _dew_s WHERE " + with_silver +
           " AND NOT _dew_s._deleted)))";
  }
  engine::Connection& con = lake->connection();
  DEW_RETURN_IF_ERROR(
      con.Execute("CREATE OR REPLACE TEMP TABLE _dew_replicated_deletions AS WITH _dew_fresh AS (" +
                  fresh + ") SELECT " + keys + " FROM (SELECT " + keys +
                  ", arg_max(_dew_op, _dew_order) AS _dew_last FROM " + changes +
                  " GROUP BY ALL) AS _dew_w WHERE _dew_last = 'D' AND " + live));
  struct DropTemp {
    engine::Connection& con;
    ~DropTemp() { (void)con.Execute("DROP TABLE IF EXISTS _dew_replicated_deletions"); }
  } drop_temp{con};
  DEW_ASSIGN_OR_RETURN(auto count,
                       con.QueryScalar("SELECT count(*) FROM _dew_replicated_deletions"));
  const int64_t n = std::strtoll(count.value_or("0").c_str(), nullptr, 10);
  if (n == 0) return 0;
  LandingBatch batch;
  batch.select_sql = "SELECT * FROM _dew_replicated_deletions";
  batch.deletes = true;
  batch.state = state;
  auto landed = landing.Land(batch);
  if (!landed.ok()) return landed.status().WithContext("landing the deletions of " + what);
  return n;
}

}  // namespace dew::connectors
