#include "connectors/stream_sync.h"

#include <gtest/gtest.h>

#include "connectors/bronze_landing.h"
#include "control/sqlite_control_store.h"
#include "support/sync_lake.h"
#include "support/sync_memory_source.h"

namespace dew::connectors {
namespace {

using dew::testing::MemorySource;

constexpr const char* kSpec = R"(name: mem
source_type: postgres
auth:
  database: none
  user: none
streams:
  - name: orders
    sync_mode: incremental
    cursor_field: v
    primary_key: [id]
    chunk_rows: 4
tier: best_effort
)";

class StreamSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto spec = ConnectionSpec::Parse(kSpec, "connections/mem.yml");
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    spec_ = *spec;
    auto store = control::SqliteControlStore::Open(":memory:", env_.shared_clock());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    source_.lake = env_.lake();
    Exec(
        "CREATE TABLE memory_orders AS SELECT range::INTEGER AS id, (range % 5)::BIGINT AS v, "
        "'n' || range AS note FROM range(1, 11)");
  }
  void Exec(const std::string& sql) {
    Status s = env_.lake()->connection().Execute(sql);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  SyncResult Sync(SyncOptions options = {}) {
    SyncEnv env;
    env.lake = env_.lake();
    env.source = &source_;
    env.store = store_.get();
    env.clock = env_.shared_clock();
    env.notify = [this](const std::string& m) { notices_.push_back(m); };
    env.jitter_seed = 42;
    StreamSync sync(spec_, env);
    if (options.run_id.empty()) options.run_id = "run-" + std::to_string(++runs_);
    auto r = sync.Run(options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SyncResult{};
  }
  // Silver equals the source (and no key twice).
  void ExpectSilverEqualsSource() {
    EXPECT_EQ(env_.Scalar("SELECT count(*) FROM (SELECT id, v, note FROM silver.mem_orders "
                          "WHERE NOT _deleted EXCEPT SELECT id, v, note FROM memory_orders)"),
              "0");
    EXPECT_EQ(env_.Scalar("SELECT count(*) FROM silver.mem_orders WHERE NOT _deleted"),
              env_.Scalar("SELECT count(*) FROM memory_orders"));
    EXPECT_EQ(env_.Scalar("SELECT count(*) - count(DISTINCT id) FROM silver.mem_orders"), "0");
  }

  dew::testing::SyncLake env_;
  ConnectionSpec spec_;
  std::unique_ptr<control::SqliteControlStore> store_;
  MemorySource source_{"mem"};
  std::vector<std::string> notices_;
  int runs_ = 0;
};

TEST_F(StreamSyncTest, SyncsBronzeAndSilverAndRecordsTheRun) {
  SyncResult r = Sync();
  ASSERT_EQ(r.streams.size(), 1u);
  const StreamSyncResult& s = r.streams[0];
  EXPECT_EQ(s.status, StreamStatus::kSucceeded) << s.error;
  EXPECT_EQ(s.job, "sync_mem_orders_incremental");
  EXPECT_EQ(s.rows_read, 10);
  EXPECT_EQ(s.rows_bronze, 10);
  EXPECT_EQ(s.rows_silver, 10);
  EXPECT_EQ(s.attempts, 1);
  EXPECT_EQ(s.state["cursor"], "4");
  ExpectSilverEqualsSource();

  auto run = store_->GetRun("run-1");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->pipeline, "sync_mem");
  EXPECT_EQ(run->status, control::RunStatus::kSucceeded);
  auto attempts = store_->ListAttempts("run-1");
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].task, "orders");
  EXPECT_EQ((*attempts)[0].rows_read, 10);
  auto mirror = store_->GetConnectorState("mem", "orders");
  ASSERT_TRUE(mirror.ok()) << mirror.status().ToString();
  auto doc = nlohmann::json::parse(mirror->state_json);
  EXPECT_EQ(doc["state"], s.state);
  EXPECT_EQ(doc["bronze_table"], "bronze.raw_mem_orders");

  // Updates, inserts and deletes: the next sync brings silver equal again.
  Exec("UPDATE memory_orders SET v = 9, note = 'upd' WHERE id IN (2, 7)");
  Exec("INSERT INTO memory_orders VALUES (11, 9, 'new')");
  Exec("DELETE FROM memory_orders WHERE id = 3");
  r = Sync();
  EXPECT_EQ(r.streams[0].rows_read, 3);
  EXPECT_EQ(r.streams[0].rows_deleted, 1);
  ExpectSilverEqualsSource();
  EXPECT_EQ(env_.Scalar("SELECT note || _deleted FROM silver.mem_orders WHERE id = 3"), "n3true");
}

// The first attempt fails after two chunks; the retry resumes from the second chunk's state
// after a backoff taken on the clock, and bronze holds every row once.
TEST_F(StreamSyncTest, RetryResumesFromTheCommittedState) {
  source_.failures.push_back({1, 2, Status::IOError("connection reset")});
  const int64_t before = env_.clock().NowMillis();
  SyncResult r = Sync();
  const StreamSyncResult& s = r.streams[0];
  EXPECT_EQ(s.status, StreamStatus::kSucceeded) << s.error;
  EXPECT_EQ(s.attempts, 2);
  const int64_t waited = env_.clock().NowMillis() - before;
  EXPECT_GE(waited, 1000);
  EXPECT_LE(waited, 1500);
  EXPECT_EQ(env_.Scalar("SELECT count(*) || '/' || count(DISTINCT id) FROM bronze.raw_mem_orders"),
            "10/10");
  ExpectSilverEqualsSource();
  auto attempts = store_->ListAttempts(r.run_id);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].status, control::RunStatus::kFailed);
  EXPECT_NE((*attempts)[0].error.find("connection reset"), std::string::npos);
  EXPECT_EQ((*attempts)[1].status, control::RunStatus::kSucceeded);
  ASSERT_FALSE(notices_.empty());
  EXPECT_NE(notices_[0].find("retrying in"), std::string::npos) << notices_[0];
}

// Sources name the stream in their errors; the summary and the retry notice name it once.
TEST_F(StreamSyncTest, ErrorsNameTheStreamOnce) {
  for (int call = 1; call <= 5; ++call)
    source_.failures.push_back({call, 0, Status::IOError("stream orders: table gone")});
  SyncResult r = Sync();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.streams[0].error, "table gone");
  EXPECT_EQ(r.ErrorSummary(), "stream orders: table gone");
  ASSERT_FALSE(notices_.empty());
  EXPECT_EQ(notices_[0].find("stream orders: attempt 1 failed (table gone)"), 0u) << notices_[0];
}

// best_effort: 2 retries after the first attempt, waits doubling (1s, 2s plus jitter).
TEST_F(StreamSyncTest, GivesUpAfterTheTiersRetries) {
  for (int call = 1; call <= 5; ++call)
    source_.failures.push_back({call, 0, Status::IOError("down")});
  const int64_t before = env_.clock().NowMillis();
  SyncResult r = Sync();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.streams[0].status, StreamStatus::kFailed);
  EXPECT_EQ(r.streams[0].attempts, 3);
  EXPECT_EQ(source_.reads, 3);
  const int64_t waited = env_.clock().NowMillis() - before;
  EXPECT_GE(waited, 3000);
  EXPECT_LE(waited, 4500);
  EXPECT_NE(r.ErrorSummary().find("stream orders: down"), std::string::npos) << r.ErrorSummary();
  auto run = store_->GetRun(r.run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, control::RunStatus::kFailed);
  EXPECT_NE(run->error.find("down"), std::string::npos);

  StreamSync sync(spec_, SyncEnv{env_.lake(), &source_, nullptr, env_.shared_clock(), {}, 7});
  SyncOptions o;
  for (int retry = 1; retry <= 8; ++retry) {
    const int64_t wait = sync.BackoffMillis(retry, o);
    const int64_t base = std::min<int64_t>(1000LL << (retry - 1), o.backoff_max_ms);
    EXPECT_GE(wait, base);
    EXPECT_LE(wait, base + base / 2);
  }
}

TEST_F(StreamSyncTest, DoesNotRetryWhatARetryCannotFix) {
  source_.failures.push_back({1, 0, Status::InvalidArgument("bad filter")});
  SyncResult r = Sync();
  EXPECT_EQ(r.streams[0].attempts, 1);
  EXPECT_EQ(r.streams[0].status, StreamStatus::kFailed);
}

TEST_F(StreamSyncTest, FullRefreshResetsTheStateDurably) {
  Sync();
  SyncOptions o;
  o.full_refresh = true;
  SyncResult r = Sync(o);
  EXPECT_EQ(r.streams[0].job, "sync_mem_orders_full_refresh");
  EXPECT_EQ(r.streams[0].rows_read, 10);
  EXPECT_EQ(env_.Scalar("SELECT count(*) FROM bronze.raw_mem_orders"), "20");
  ExpectSilverEqualsSource();
}

TEST_F(StreamSyncTest, NewColumnEvolvesAndAlerts) {
  Sync();
  Exec("ALTER TABLE memory_orders ADD COLUMN extra INTEGER");
  Exec("UPDATE memory_orders SET extra = 5, v = 20 WHERE id = 1");
  SyncResult r = Sync();
  ASSERT_EQ(r.streams[0].status, StreamStatus::kSucceeded) << r.streams[0].error;
  ASSERT_EQ(r.streams[0].alerts.size(), 1u);
  EXPECT_NE(r.streams[0].alerts[0].find("new column extra"), std::string::npos);
  EXPECT_EQ(env_.Scalar("SELECT extra FROM silver.mem_orders WHERE id = 1"), "5");
  auto events = store_->ListEvents(0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "schema_drift");
  EXPECT_NE((*events)[0].payload_json.find("extra"), std::string::npos);
}

TEST_F(StreamSyncTest, RemovedColumnFollowsThePolicy) {
  Sync();
  Exec("ALTER TABLE memory_orders DROP COLUMN note");
  Exec("UPDATE memory_orders SET v = 20 WHERE id = 1");
  // fail: nothing lands.
  spec_.streams[0].on_schema_change = "fail";
  SyncResult r = Sync();
  EXPECT_EQ(r.streams[0].status, StreamStatus::kFailed);
  EXPECT_EQ(r.streams[0].attempts, 1);
  EXPECT_NE(r.streams[0].error.find("column note"), std::string::npos) << r.streams[0].error;
  EXPECT_EQ(env_.Scalar("SELECT count(*) FROM bronze.raw_mem_orders"), "10");
  // quarantine: the rows go aside, silver stays as it was, the state moves on.
  spec_.streams[0].on_schema_change = "quarantine";
  r = Sync();
  EXPECT_EQ(r.streams[0].status, StreamStatus::kSucceeded) << r.streams[0].error;
  EXPECT_TRUE(r.streams[0].quarantined);
  EXPECT_EQ(env_.Scalar("SELECT count(*) FROM bronze.raw_mem_orders__quarantine"), "1");
  EXPECT_EQ(env_.Scalar("SELECT v FROM silver.mem_orders WHERE id = 1"), "1");
  EXPECT_EQ(r.streams[0].state["cursor"], "20");
  // evolve: lands with NULL in the removed column.
  Exec("UPDATE memory_orders SET v = 21 WHERE id = 2");
  spec_.streams[0].on_schema_change = "evolve";
  r = Sync();
  EXPECT_EQ(r.streams[0].status, StreamStatus::kSucceeded) << r.streams[0].error;
  EXPECT_EQ(env_.Scalar("SELECT coalesce(note, 'NULL') || v FROM silver.mem_orders WHERE id = 2"),
            "NULL21");
  auto events = store_->ListEvents(0, 10);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 3u);
}

TEST_F(StreamSyncTest, ChangedTypeIsDetected) {
  Sync();
  Exec("ALTER TABLE memory_orders ALTER COLUMN v TYPE VARCHAR");
  spec_.streams[0].on_schema_change = "fail";
  SyncResult r = Sync();
  EXPECT_EQ(r.streams[0].status, StreamStatus::kFailed);
  EXPECT_NE(r.streams[0].error.find("column v of orders changed type from BIGINT"),
            std::string::npos)
      << r.streams[0].error;
}

TEST_F(StreamSyncTest, UnknownStreamIsRefused) {
  SyncEnv env{env_.lake(), &source_, store_.get(), env_.shared_clock(), {}, 1};
  StreamSync sync(spec_, env);
  SyncOptions o;
  o.streams = {"nope"};
  auto r = sync.Run(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no stream 'nope'"), std::string::npos);
}

TEST_F(StreamSyncTest, CancelStopsBeforeTheNextStream) {
  std::atomic<bool> cancel{true};
  SyncOptions o;
  o.cancel = &cancel;
  SyncResult r = Sync(o);
  EXPECT_EQ(r.streams[0].status, StreamStatus::kCancelled);
  auto run = store_->GetRun(r.run_id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, control::RunStatus::kCancelled);
}

// `detect_deletes: every 3 syncs`: the deletion lands on the third sync after the last check,
// not before; the count of syncs without a check survives in the control store's mirror, and a
// failed sync counts as one without.
TEST_F(StreamSyncTest, DetectsDeletesEveryNSyncs) {
  spec_.streams[0].detect_deletes_every = 3;
  SyncResult first = Sync();
  EXPECT_TRUE(first.streams[0].deletes_checked);  // no count yet: checks
  Exec("DELETE FROM memory_orders WHERE id = 3");
  std::vector<bool> checked;
  std::vector<int64_t> deleted;
  for (int i = 0; i < 4; i++) {
    if (i == 1)
      source_.failures.push_back({source_.reads + 1, 0, Status::InvalidArgument("refused")});
    SyncResult r = Sync();
    checked.push_back(r.streams[0].deletes_checked);
    deleted.push_back(r.streams[0].rows_deleted);
  }
  EXPECT_EQ(checked, (std::vector<bool>{false, false, true, false}));
  EXPECT_EQ(deleted, (std::vector<int64_t>{0, 0, 1, 0}));
  ExpectSilverEqualsSource();

  spec_.streams[0].detect_deletes = false;
  Exec("DELETE FROM memory_orders WHERE id = 4");
  for (int i = 0; i < 3; i++) EXPECT_FALSE(Sync().streams[0].deletes_checked);
  EXPECT_EQ(env_.Scalar("SELECT count(*) FROM silver.mem_orders WHERE NOT _deleted"), "9");
}

// As dew sync: a lakehouse opened without views. Syncs without deletions write bronze and
// silver without making their views (nothing reads them by name); a sync that checks for
// deletions makes them for the source's check, and the deletion lands.
TEST_F(StreamSyncTest, MakesViewsOnlyToFindDeletions) {
  spec_.streams[0].detect_deletes = false;
  Sync();  // creates the tables (and their views)
  env_.Reopen("run-2", [](const lake::TableName&) { return false; });
  source_.lake = env_.lake();  // the source's rows live in the lakehouse's DuckDB
  Exec(
      "CREATE TABLE memory_orders AS SELECT range::INTEGER AS id, (range % 5)::BIGINT AS v, "
      "'n' || range AS note FROM range(1, 11)");
  const lake::TableName bronze{lake::Layer::kBronze, "raw_mem_orders"};
  const lake::TableName silver{lake::Layer::kSilver, "mem_orders"};
  Exec("UPDATE memory_orders SET v = 9, note = 'upd' WHERE id IN (2, 7)");
  SyncResult r = Sync();
  EXPECT_EQ(r.streams[0].rows_read, 2);
  EXPECT_EQ(r.streams[0].rows_silver, 2);
  EXPECT_FALSE(env_.lake()->HasView(bronze).value());
  EXPECT_FALSE(env_.lake()->HasView(silver).value());

  spec_.streams[0].detect_deletes = true;
  Exec("DELETE FROM memory_orders WHERE id = 3");
  r = Sync();
  EXPECT_EQ(r.streams[0].status, StreamStatus::kSucceeded) << r.streams[0].error;
  EXPECT_EQ(r.streams[0].rows_deleted, 1);
  EXPECT_TRUE(env_.lake()->HasView(bronze).value());
  EXPECT_TRUE(env_.lake()->HasView(silver).value());
  ExpectSilverEqualsSource();
}

}  // namespace
}  // namespace dew::connectors
