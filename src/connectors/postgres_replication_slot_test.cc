// `detect_deletes: replication` against a real PostgreSQL 15 started with wal_level=logical:
// deletions come from the stream's logical replication slot, with the whole-key comparison only
// when the slot cannot tell (first sync, TRUNCATE, a lost or missing slot).
#include "connectors/postgres_replication_slot.h"

#include <gtest/gtest.h>

#include <string>

#include "connectors/bronze_landing.h"
#include "connectors/postgres_source.h"
#include "connectors/silver_table.h"
#include "support/postgres_server.h"
#include "support/sync_lake.h"

namespace dew::connectors {
namespace {

using dew::testing::PostgresServer;

class PostgresSourceReplicationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!PostgresServer::Available()) return;
    server_ = new PostgresServer();
    server_->AddSetting("wal_level", "logical");
    status_ = new Status(server_->Start());
    if (status_->ok()) {
      auto made = server_->RunSql(
          "CREATE DATABASE shop; CREATE ROLE reader LOGIN REPLICATION "
          "PASSWORD '" +
          server_->reader_password() + "'; GRANT CREATE ON DATABASE shop TO reader;");
      if (!made.ok()) *status_ = made.status();
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete status_;
    status_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    ASSERT_TRUE(status_->ok()) << status_->ToString();
  }

  static PostgresConfig Config(const std::string& user = "reader") {
    PostgresConfig c;
    c.source = "shop";
    c.host = server_->host();
    c.port = server_->port();
    c.database = "shop";
    c.user = user;
    c.password = server_->reader_password();
    return c;
  }
  static StreamRequest Replicated(const std::string& table) {
    StreamRequest r;
    r.name = table;
    r.sync_mode = "incremental";
    r.cursor_field = "write_date";
    r.detect_deletes = true;
    r.deletes_by_replication = true;
    return r;
  }
  // `table` (id, write_date, state) with ids 1..rows, owned by the reader (who may then
  // create its publication).
  static void MakeTable(const std::string& table, int rows) {
    auto made = server_->RunSql(
        "CREATE TABLE " + table +
            " (id integer PRIMARY KEY, write_date timestamp NOT NULL, state text NOT NULL); "
            "INSERT INTO " +
            table +
            " SELECT g, TIMESTAMP '2024-01-01' + g * INTERVAL '1 second', 'posted' FROM "
            "generate_series(1, " +
            std::to_string(rows) + ") g; ALTER TABLE " + table + " OWNER TO reader;",
        "shop");
    ASSERT_TRUE(made.ok()) << made.status().ToString();
  }
  static std::string Sql(const std::string& sql) {
    auto out = server_->RunSql(sql, "shop");
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    std::string s = out.ok() ? *out : "";
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  // Where the slot is, once no process holds it (the sync's advance runs in the background).
  static std::string SlotLsn(const std::string& table) {
    for (int i = 0; i < 400; i++) {
      if (Sql("SELECT count(*) FROM pg_replication_slots WHERE active AND slot_name = 'dew_shop_" +
              table + "'") == "0") {
        break;
      }
      Sql("SELECT pg_sleep(0.05)");
    }
    return Sql(
        "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = "
        "'dew_shop_" +
        table + "'");
  }
  static std::string Deleted(dew::testing::SyncLake& env, const std::string& table) {
    return env.Scalar(
        "SELECT coalesce(string_agg(id::VARCHAR, ',' ORDER BY id), '') FROM "
        "bronze.raw_shop_" +
        table + " WHERE _deleted");
  }

  static PostgresServer* server_;
  static Status* status_;
};
PostgresServer* PostgresSourceReplicationTest::server_ = nullptr;
Status* PostgresSourceReplicationTest::status_ = nullptr;

TEST(PostgresReplicationSlotTest, NamesFitPostgresIdentifiers) {
  EXPECT_EQ(PostgresReplicationSlot::Name("odoo", "account_move_line"),
            "dew_odoo_account_move_line");
  const std::string dotted = PostgresReplicationSlot::Name("odoo", "sales.Orders");
  EXPECT_EQ(dotted.substr(0, 22), "dew_odoo_sales_orders_");
  EXPECT_NE(dotted, PostgresReplicationSlot::Name("odoo", "sales_orders"));
  const std::string long_name = PostgresReplicationSlot::Name("c", std::string(80, 'x'));
  EXPECT_EQ(long_name.size(), 63u);
}

// The first sync makes the publication and slot and compares keys once; later syncs land the
// window's deletions without reading the table's keys: a key deleted and re-inserted stays
// live, a key inserted and deleted between syncs was never live and is not landed.
TEST_F(PostgresSourceReplicationTest, DeletionsComeFromTheSlot) {
  MakeTable("lines", 500);
  dew::testing::SyncLake env;
  const StreamRequest request = Replicated("lines");
  auto first = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->rows, 500);
  ASSERT_TRUE(first->state.contains("replication")) << first->state.dump();
  EXPECT_EQ(first->state["replication"]["slot"], "dew_shop_lines");
  EXPECT_EQ(Sql("SELECT array_to_string(attnames, ',') FROM pg_publication_tables WHERE "
                "pubname = 'dew_shop_lines'"),
            "id");
  EXPECT_EQ(first->state["replication"]["lsn"], SlotLsn("lines"));

  Sql("DELETE FROM lines WHERE id IN (3, 5);"
      "UPDATE lines SET write_date = '2030-01-01' WHERE id = 7;"
      "DELETE FROM lines WHERE id = 9;"
      "INSERT INTO lines VALUES (9, '2030-01-02', 'posted');"
      "INSERT INTO lines VALUES (1000, '2030-01-03', 'posted');"
      "DELETE FROM lines WHERE id = 1000;");
  auto next = PostgresSource(Config()).Read(request, first->state, env.lake());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows, 2);  // 7 and 9
  EXPECT_EQ(next->rows_deleted, 2);
  EXPECT_EQ(next->keys_copied, 0);
  EXPECT_EQ(Deleted(env, "lines"), "3,5");
  // The deletions' commit names the window's end, and the slot was advanced there.
  const std::string lsn = next->state["replication"]["lsn"];
  EXPECT_EQ(SlotLsn("lines"), lsn);
  BronzeLanding landing(env.lake(), "shop", "lines");
  auto committed = landing.LastCommittedState();
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ((*committed)["replication"]["lsn"], lsn);

  // Nothing changed: nothing landed, no key read.
  auto idle = PostgresSource(Config()).Read(request, next->state, env.lake());
  ASSERT_TRUE(idle.ok()) << idle.status().ToString();
  EXPECT_EQ(idle->rows, 0);
  EXPECT_EQ(idle->rows_deleted, 0);
  EXPECT_EQ(idle->commits, 0);

  SilverTable silver(env.lake(), "shop", "lines");
  ASSERT_TRUE(silver.Update({"id"}).ok());
  EXPECT_EQ(env.Scalar("SELECT count(*) FILTER (WHERE _deleted) || '/' || count(*) FROM "
                       "silver.shop_lines"),
            "2/500");
}

// A TRUNCATE cannot be read as keys: the slot is made again and the keys are compared.
TEST_F(PostgresSourceReplicationTest, TruncateFallsBackToComparingKeys) {
  MakeTable("wiped", 50);
  dew::testing::SyncLake env;
  const StreamRequest request = Replicated("wiped");
  auto first = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Sql("TRUNCATE wiped; INSERT INTO wiped VALUES (2, '2030-01-01', 'posted');");
  auto next = PostgresSource(Config()).Read(request, first->state, env.lake());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows, 1);
  EXPECT_EQ(next->rows_deleted, 49);
  // Back on the window: a later deletion comes from the new slot.
  Sql("DELETE FROM wiped WHERE id = 2");
  auto after = PostgresSource(Config()).Read(request, next->state, env.lake());
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->rows_deleted, 1);
  EXPECT_EQ(after->keys_copied, 0);
  EXPECT_EQ(env.Scalar("SELECT count(*) FROM bronze.raw_shop_wiped WHERE _deleted AND id = 2"),
            "1");
}

// A slot dropped by hand, or invalidated because PostgreSQL removed the WAL it needed
// (max_slot_wal_keep_size), is made again and the keys compared once: nothing is missed.
TEST_F(PostgresSourceReplicationTest, MissingOrLostSlotIsMadeAgain) {
  MakeTable("kept", 100);
  dew::testing::SyncLake env;
  const StreamRequest request = Replicated("kept");
  auto first = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Sql("SELECT pg_drop_replication_slot('dew_shop_kept'); DELETE FROM kept WHERE id = 10;");
  auto missing = PostgresSource(Config()).Read(request, first->state, env.lake());
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(missing->rows_deleted, 1);
  EXPECT_FALSE(SlotLsn("kept").empty());

  // Lose the slot: keep at most 1 MB of WAL for slots, then fill and recycle segments.
  ASSERT_TRUE(server_
                  ->RunSql("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'; "
                           "SELECT pg_reload_conf();")
                  .ok());
  Sql("DELETE FROM kept WHERE id = 20");
  for (int i = 0; i < 4; i++) {
    Sql("CREATE TABLE IF NOT EXISTS filler (x text); INSERT INTO filler SELECT repeat('x', 500) "
        "FROM generate_series(1, 5000); SELECT pg_switch_wal(); CHECKPOINT;");
  }
  const std::string status =
      Sql("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'dew_shop_kept'");
  ASSERT_TRUE(server_
                  ->RunSql("ALTER SYSTEM RESET max_slot_wal_keep_size; "
                           "SELECT pg_reload_conf();")
                  .ok());
  EXPECT_EQ(status, "lost");
  auto lost = PostgresSource(Config()).Read(request, missing->state, env.lake());
  ASSERT_TRUE(lost.ok()) << lost.status().ToString();
  EXPECT_EQ(lost->rows_deleted, 1);
  EXPECT_EQ(Deleted(env, "kept"), "10,20");
  EXPECT_EQ(Sql("SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'dew_shop_kept'"),
            "reserved");
}

// A crash after the deletions' commit and before the slot's advance: the next sync moves the
// slot to the committed position first, so no deletion lands twice. A crash before the
// deletions' commit: the next sync reads the same window again, so none is lost.
TEST_F(PostgresSourceReplicationTest, StopsBeforeAdvanceOrCommitLoseAndDoubleNothing) {
  MakeTable("crash", 100);
  dew::testing::SyncLake env;
  const StreamRequest request = Replicated("crash");
  auto first = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  BronzeLanding landing(env.lake(), "shop", "crash");
  auto stop_at = [](const std::string& at) {
    return [at](const std::string& point) {
      return point == at ? Status::Interrupted("stopped at " + point) : Status::OK();
    };
  };

  Sql("DELETE FROM crash WHERE id IN (1, 2); UPDATE crash SET write_date = '2030-01-01' "
      "WHERE id = 50;");
  PostgresConfig stopping = Config();
  stopping.TEST_stop_at = stop_at("replication: before advance");
  const std::string before = SlotLsn("crash");
  auto stopped = PostgresSource(stopping).Read(request, first->state, env.lake());
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(Deleted(env, "crash"), "1,2");
  EXPECT_EQ(SlotLsn("crash"), before);  // not advanced
  auto committed = landing.LastCommittedState();
  ASSERT_TRUE(committed.ok());
  Sql("DELETE FROM crash WHERE id = 3");
  auto resumed = PostgresSource(Config()).Read(request, *committed, env.lake());
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->rows_deleted, 1);
  EXPECT_EQ(Deleted(env, "crash"), "1,2,3");

  Sql("DELETE FROM crash WHERE id IN (4, 5); UPDATE crash SET write_date = '2030-02-01' "
      "WHERE id = 60;");
  stopping.TEST_stop_at = stop_at("replication: before deletions");
  auto early = PostgresSource(stopping).Read(request, resumed->state, env.lake());
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(Deleted(env, "crash"), "1,2,3");
  committed = landing.LastCommittedState();
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ((*committed)["pk"][0], "60");  // the read's chunk was committed
  auto again = PostgresSource(Config()).Read(request, *committed, env.lake());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows, 0);
  EXPECT_EQ(again->rows_deleted, 2);
  EXPECT_EQ(Deleted(env, "crash"), "1,2,3,4,5");
  EXPECT_EQ(env.Scalar("SELECT count(*) FROM bronze.raw_shop_crash WHERE _deleted"), "5");
}

// With a filter, a row updated out of it is an update in the log: the changed rows that no
// longer match land as deletions too.
TEST_F(PostgresSourceReplicationTest, RowsLeavingTheFilterAreDeleted) {
  MakeTable("moves", 30);
  dew::testing::SyncLake env;
  StreamRequest request = Replicated("moves");
  request.filter = "state = 'posted'";
  auto first = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Sql("UPDATE moves SET state = 'draft', write_date = '2030-01-01' WHERE id = 4;"
      "DELETE FROM moves WHERE id = 6;");
  auto next = PostgresSource(Config()).Read(request, first->state, env.lake());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows, 0);
  EXPECT_EQ(next->rows_deleted, 2);
  EXPECT_EQ(Deleted(env, "moves"), "4,6");
}

// Keys of text (with commas and quotes) and of two columns travel through the window's CSV.
TEST_F(PostgresSourceReplicationTest, CompositeAndTextKeys) {
  Sql("CREATE TABLE pairs (a integer, b text, write_date timestamp NOT NULL, PRIMARY KEY (a, b));"
      "INSERT INTO pairs SELECT g, 'x,\"' || g, TIMESTAMP '2024-01-01' + g * INTERVAL '1 second' "
      "FROM generate_series(1, 20) g; ALTER TABLE pairs OWNER TO reader;");
  dew::testing::SyncLake env;
  const StreamRequest request = Replicated("pairs");
  auto first = PostgresSource(Config()).Read(request, nullptr, env.lake());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Sql("DELETE FROM pairs WHERE a IN (2, 11); UPDATE pairs SET b = 'renamed' WHERE a = 15;");
  auto next = PostgresSource(Config()).Read(request, first->state, env.lake());
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->rows_deleted, 3);  // (15, 'x,"15') is gone too: its key changed
  EXPECT_EQ(env.Scalar("SELECT string_agg(a || ':' || b, ' ' ORDER BY a) FROM "
                       "bronze.raw_shop_pairs WHERE _deleted"),
            "2:x,\"2 11:x,\"11 15:x,\"15");
}

// What the source lacks is told apart, with what to run.
TEST_F(PostgresSourceReplicationTest, ErrorsNameWhatIsMissing) {
  MakeTable("checked", 5);
  Sql("CREATE TABLE nokey (id integer, write_date timestamp); ALTER TABLE nokey OWNER TO reader;"
      "CREATE TABLE fulltable (id integer PRIMARY KEY, write_date timestamp);"
      "ALTER TABLE fulltable REPLICA IDENTITY FULL; ALTER TABLE fulltable OWNER TO reader;"
      "CREATE TABLE foreign_owned (id integer PRIMARY KEY, write_date timestamp);"
      "GRANT SELECT ON foreign_owned TO reader;");
  ASSERT_TRUE(server_
                  ->RunSql("CREATE ROLE plain LOGIN PASSWORD '" + server_->reader_password() +
                               "'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO plain;",
                           "shop")
                  .ok());
  dew::testing::SyncLake env;
  auto error_of = [&](const PostgresConfig& config, const std::string& table,
                      std::vector<std::string> key = {}) {
    StreamRequest request = Replicated(table);
    request.primary_key = key;
    auto read = PostgresSource(config).Read(request, nullptr, env.lake());
    return read.ok() ? std::string("ok") : read.status().message();
  };
  auto has = [](const std::string& error, const std::string& part) {
    return error.find(part) != std::string::npos;
  };
  std::string e = error_of(Config("plain"), "checked");
  EXPECT_TRUE(has(e,
                  "stream checked: detect_deletes: replication: user plain has no "
                  "REPLICATION privilege"))
      << e;
  e = error_of(Config(), "foreign_owned");
  EXPECT_TRUE(has(e, "user reader may not create the publication dew_shop_foreign_owned")) << e;
  EXPECT_TRUE(has(e,
                  "CREATE PUBLICATION \"dew_shop_foreign_owned\" FOR TABLE "
                  "\"public\".\"foreign_owned\" (\"id\")"))
      << e;
  e = error_of(Config(), "nokey", {"id"});
  EXPECT_TRUE(has(e, "table public.nokey has no primary key")) << e;
  e = error_of(Config(), "fulltable");
  EXPECT_TRUE(has(e, "does not have REPLICA IDENTITY DEFAULT")) << e;
  // Check says the same without creating anything.
  ReplicationTarget target{"shop", "checked", "public", "checked", {}};
  target.key.push_back(ColumnInfo{"id", "int4", "INTEGER", false});
  EXPECT_TRUE(PostgresReplicationSlot(Config(), target).Check().ok());
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_publication WHERE pubname = 'dew_shop_checked'"), "0");

  // wal_level below logical: the default test server.
  PostgresServer plain_server;
  ASSERT_TRUE(plain_server.StartWithSourceDatabase("shop", "reader", "").ok());
  PostgresConfig config = Config();
  config.port = plain_server.port();
  config.password = plain_server.reader_password();
  target.table = "missing";
  e = PostgresReplicationSlot(config, target).Check().message();
  EXPECT_TRUE(has(e, "the server's wal_level is 'replica', not 'logical'")) << e;
}

}  // namespace
}  // namespace dew::connectors
