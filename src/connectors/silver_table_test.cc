#include "connectors/silver_table.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include "connectors/bronze_landing.h"
#include "lake/lakehouse.h"
#include "lake/medallion.h"
#include "support/sync_lake.h"

namespace dew::connectors {
namespace {

class SilverTableTest : public ::testing::Test {
 protected:
  void Land(const std::string& select, bool deletes = false, bool full_refresh = false,
            bool unique_keys = false) {
    BronzeLanding landing(env_.lake(), "shop", "orders");
    LandingBatch b;
    b.select_sql = select;
    b.cursor_sql = deletes ? "" : "v";
    b.deletes = deletes;
    b.full_refresh_start = full_refresh;
    b.unique_keys = unique_keys;
    b.mode = full_refresh ? "full_refresh" : "incremental";
    b.state = ++batches_;
    auto r = landing.Land(b);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  SilverResult Update() {
    SilverTable silver(env_.lake(), "shop", "orders");
    auto r = silver.Update({"id"});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SilverResult{};
  }
  std::string Rows() {
    return env_.Scalar(
        "SELECT string_agg(id || '=' || coalesce(v, 'NULL') || (CASE WHEN _deleted THEN 'x' ELSE "
        "'' END), ',' ORDER BY id) FROM silver.shop_orders");
  }

  dew::testing::SyncLake env_;
  int batches_ = 0;
};

TEST_F(SilverTableTest, UpsertsByKeyNewestBatchWins) {
  Land("SELECT * FROM (VALUES (1, 'a'), (2, 'a'), (3, 'a')) t(id, v)");
  SilverResult r = Update();
  EXPECT_EQ(r.table, "silver.shop_orders");
  EXPECT_EQ(r.rows_written, 3);
  EXPECT_EQ(r.bronze_batch, 1);
  Land("SELECT * FROM (VALUES (2, 'b'), (4, 'b')) t(id, v)");
  r = Update();
  EXPECT_EQ(r.rows_written, 2);
  EXPECT_EQ(r.bronze_batch, 2);
  EXPECT_EQ(Rows(), "1=a,2=b,3=a,4=b");
  // Nothing new: nothing written.
  r = Update();
  EXPECT_EQ(r.version, -1);
  EXPECT_EQ(env_.Scalar("SELECT count(*) FROM silver.shop_orders"), "4");
  EXPECT_EQ(env_.Scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                        "'shop_orders' AND column_name = '_ingest_date'"),
            "0");
}

TEST_F(SilverTableTest, UpsertMarksReplacedRowsInDeletionVectors) {
  Land("SELECT range AS id, 'a' AS v FROM range(100)");
  Update();
  Land("SELECT * FROM (VALUES (10, 'b'), (200, 'b')) t(id, v)");
  Update();
  auto name = lake::ParseTableName("silver.shop_orders");
  ASSERT_TRUE(name.ok());
  auto table = env_.lake()->OpenTable(*name);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto snapshot = (*table)->Latest();
  ASSERT_TRUE(snapshot.ok());
  EXPECT_TRUE(snapshot->protocol.HasWriterFeature(lake::kDeletionVectorsFeature));
  // The first file keeps its 100 rows with one marked deleted; only the 2 new rows were written.
  int64_t marked = 0, records = 0;
  for (const auto& f : snapshot->files) {
    records += f.NumRecords();
    if (f.deletion_vector) marked += f.deletion_vector->cardinality;
  }
  EXPECT_EQ(marked, 1);
  EXPECT_EQ(records, 102);
  EXPECT_EQ(env_.Scalar("SELECT count(*) || ',' || max(v) FROM silver.shop_orders"), "101,b");
  EXPECT_EQ(env_.Scalar("SELECT v FROM silver.shop_orders WHERE id = 10"), "b");
}

// An upsert whose new rows are one read's whole bronze files (keys unique, no deletions) links
// those files into silver's folder instead of reading and writing the rows again; other upserts
// write their rows.
TEST_F(SilverTableTest, UpsertLinksBronzesNewFilesWhenTheyAreSilversRows) {
  Land("SELECT range AS id, 'a' AS v FROM range(100)");
  Update();
  auto land_unique = [&](const std::string& select) {
    Land(select, /*deletes=*/false, /*full_refresh=*/false, /*unique_keys=*/true);
  };
  auto name = lake::ParseTableName("silver.shop_orders");
  ASSERT_TRUE(name.ok());
  const std::string root = env_.lake()->TableRoot(*name);
  // The hard-link counts of the data files silver's newest update added.
  auto added_links = [&]() {
    std::vector<int> out;
    auto table = env_.lake()->OpenTable(*name);
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    auto latest = (*table)->log().LatestVersion();
    EXPECT_TRUE(latest.ok());
    auto commit = (*table)->log().ReadCommit(*latest);
    EXPECT_TRUE(commit.ok());
    for (const auto& add : commit->adds) {
      if (add.deletion_vector) continue;
      struct stat st {};
      out.push_back(::stat((root + "/" + lake::DecodePath(add.path)).c_str(), &st) == 0
                        ? static_cast<int>(st.st_nlink)
                        : -1);
    }
    return out;
  };

  land_unique("SELECT * FROM (VALUES (10, 'b'), (200, 'b')) t(id, v)");
  SilverResult r = Update();
  EXPECT_EQ(r.rows_written, 2);
  EXPECT_EQ(added_links(), std::vector<int>{2}) << "bronze's name and silver's for one file";
  EXPECT_EQ(env_.Scalar("SELECT count(*) || ',' || string_agg(DISTINCT v, '' ORDER BY v) FROM "
                        "silver.shop_orders"),
            "101,ab");
  EXPECT_EQ(env_.Scalar("SELECT v || _batch || _deleted FROM silver.shop_orders WHERE id = 10"),
            "b2false");

  // Two reads' batches (no promise across them), or a deletion: the rows are written anew.
  land_unique("SELECT 11 AS id, 'c' AS v");
  land_unique("SELECT 11 AS id, 'd' AS v");
  Update();
  EXPECT_EQ(added_links(), std::vector<int>{1});
  Land("SELECT 12 AS id", /*deletes=*/true);
  Update();
  EXPECT_EQ(added_links(), std::vector<int>{1});
  EXPECT_EQ(env_.Scalar("SELECT v || _deleted FROM silver.shop_orders WHERE id = 11"), "dfalse");
  EXPECT_EQ(env_.Scalar("SELECT v || _deleted FROM silver.shop_orders WHERE id = 12"), "atrue");
  EXPECT_EQ(env_.Scalar("SELECT count(*) FROM silver.shop_orders"), "101");
}

// Auto compaction (docs/lake.md): once DVs hide more than 10% of silver's rows, the upsert
// compacts the table (an OPTIMIZE commit, auto=true) and the rows stay the same.
TEST_F(SilverTableTest, UpsertCompactsOnceDeletionVectorsHideManyRows) {
  Land("SELECT range AS id, 'a' AS v FROM range(100)");
  Update();
  Land("SELECT range AS id, 'b' AS v FROM range(0, 100, 10)");  // 10 of 100: not over 10%
  Update();
  auto name = lake::ParseTableName("silver.shop_orders");
  ASSERT_TRUE(name.ok());
  auto table = env_.lake()->OpenTable(*name);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto marked = [&]() {
    auto snapshot = (*table)->Latest();
    EXPECT_TRUE(snapshot.ok());
    int64_t n = 0;
    for (const auto& f : snapshot->files)
      n += f.deletion_vector ? f.deletion_vector->cardinality : 0;
    return n;
  };
  EXPECT_EQ(marked(), 10);
  Land("SELECT range AS id, 'c' AS v FROM range(1, 100, 10)");  // 20 of 110 hidden: compact
  Update();
  EXPECT_EQ(marked(), 0);
  auto latest = (*table)->log().LatestVersion();
  ASSERT_TRUE(latest.ok());
  auto commit = (*table)->log().ReadCommit(*latest);
  ASSERT_TRUE(commit.ok());
  EXPECT_EQ(commit->commit_info->operation, "OPTIMIZE");
  EXPECT_EQ(commit->commit_info->operation_parameters.at("auto"), "true");
  EXPECT_EQ(env_.Scalar("SELECT count(*) || ',' || count(*) FILTER (v = 'a') || ',' || "
                        "count(*) FILTER (v = 'b') FROM silver.shop_orders"),
            "100,80,10");
  // The next update still finds what it consumed (the OPTIMIZE commit carries no batch).
  Land("SELECT * FROM (VALUES (5, 'd')) t(id, v)");
  EXPECT_EQ(Update().rows_written, 1);
  EXPECT_EQ(env_.Scalar("SELECT v FROM silver.shop_orders WHERE id = 5"), "d");
}

// Batches a source promised unique by key skip silver's dedup only while every new batch belongs
// to one promise: two reads (a killed one and its resume) may each hold the same key.
TEST_F(SilverTableTest, UniqueKeyPromisesHoldOnlyWithinOneRead) {
  auto land_unique = [&](const std::string& select, int64_t since) {
    BronzeLanding landing(env_.lake(), "shop", "orders");
    LandingBatch b;
    b.select_sql = select;
    b.cursor_sql = "v";
    b.unique_keys = true;
    b.unique_since_batch = since;
    b.state = ++batches_;
    auto r = landing.Land(b);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->batch : int64_t{0};
  };
  const int64_t first = land_unique("SELECT * FROM (VALUES (1, 'a'), (2, 'a')) t(id, v)", 0);
  EXPECT_EQ(first, 1);
  land_unique("SELECT * FROM (VALUES (1, 'b')) t(id, v)", 0);  // a second read: its own set
  SilverResult r = Update();
  EXPECT_EQ(r.rows_written, 2);
  EXPECT_EQ(Rows(), "1=b,2=a");
  const int64_t set = land_unique("SELECT * FROM (VALUES (1, 'c')) t(id, v)", 0);
  land_unique("SELECT * FROM (VALUES (3, 'c')) t(id, v)", set);  // the same read's next chunk
  r = Update();
  EXPECT_EQ(r.rows_written, 2);
  EXPECT_EQ(Rows(), "1=c,2=a,3=c");
  // A batch without the promise among them brings the dedup back.
  land_unique("SELECT * FROM (VALUES (3, 'd')) t(id, v)", 0);
  Land("SELECT * FROM (VALUES (3, 'e')) t(id, v)");
  r = Update();
  EXPECT_EQ(r.rows_written, 1);
  EXPECT_EQ(Rows(), "1=c,2=a,3=e");
  EXPECT_EQ(env_.Scalar("SELECT count(*) FROM silver.shop_orders"), "3");
}

// A sync killed after its bronze commits but before silver's: the next update takes every
// batch since the one silver recorded, newest first.
TEST_F(SilverTableTest, CatchesUpOnBatchesMissedByAKill) {
  Land("SELECT * FROM (VALUES (1, 'a'), (2, 'a')) t(id, v)");
  Update();
  Land("SELECT * FROM (VALUES (1, 'b')) t(id, v)");
  Land("SELECT * FROM (VALUES (1, 'c'), (3, 'c')) t(id, v)");
  env_.Reopen("run-2");
  SilverTable silver(env_.lake(), "shop", "orders");
  auto consumed = silver.Consumed();
  ASSERT_TRUE(consumed.ok());
  EXPECT_EQ(consumed->first, 1);
  SilverResult r = Update();
  EXPECT_EQ(r.rows_written, 2);
  EXPECT_EQ(r.bronze_batch, 3);
  EXPECT_EQ(Rows(), "1=c,2=a,3=c");
}

TEST_F(SilverTableTest, DeletesKeepTheLastValues) {
  Land("SELECT * FROM (VALUES (1, 'a'), (2, 'a')) t(id, v)");
  Update();
  Land("SELECT 2 AS id", /*deletes=*/true);
  Update();
  EXPECT_EQ(Rows(), "1=a,2=ax");
  // Deleted then back: live again.
  Land("SELECT * FROM (VALUES (2, 'z')) t(id, v)");
  Update();
  EXPECT_EQ(Rows(), "1=a,2=z");
  // A deletion in the same update as an insert of another key, and of a key silver never had.
  Land("SELECT * FROM (VALUES (3, 'n'), (4, 'n')) t(id, v)");
  Land("SELECT * FROM (VALUES (1), (9)) t(id)", /*deletes=*/true);
  // Only the deletions are joined with silver for their last values, not the other new rows.
  EXPECT_EQ(Update().last_values_read, 2);
  EXPECT_EQ(Rows(), "1=ax,2=z,3=n,4=n,9=NULLx");
  // Without deletions silver's values are not read.
  Land("SELECT * FROM (VALUES (3, 'm')) t(id, v)");
  EXPECT_EQ(Update().last_values_read, 0);
  EXPECT_EQ(Rows(), "1=ax,2=z,3=m,4=n,9=NULLx");
}

TEST_F(SilverTableTest, FullRefreshRebuildsAndMarksMissingKeysDeleted) {
  Land("SELECT * FROM (VALUES (1, 'a'), (2, 'a'), (3, 'a')) t(id, v)");
  Update();
  Land("SELECT * FROM (VALUES (2, 'b'), (4, 'b')) t(id, v)", false, /*full_refresh=*/true);
  Land("SELECT * FROM (VALUES (4, 'c')) t(id, v)");
  SilverResult r = Update();
  EXPECT_TRUE(r.rebuilt);
  EXPECT_EQ(Rows(), "1=ax,2=b,3=ax,4=c");
}

// A first full refresh read by the table's key (one COPY: whole files of unique keys) becomes
// silver's first version without a second write of its rows: bronze's files are linked into
// silver's own folder, so silver keeps them when bronze's go. Silver is then what writing the
// rows anew makes: the same columns and types, and later upserts merge into it.
TEST_F(SilverTableTest, FirstFullRefreshTakesBronzesFilesIntoItsOwnFolder) {
  auto land_refresh = [&](const std::string& stream, bool unique) {
    BronzeLanding landing(env_.lake(), "shop", stream);
    LandingBatch b;
    b.select_sql = "SELECT * FROM (VALUES (1, 'a', DATE '2026-01-02'), (2, 'b', NULL)) t(id, v, d)";
    b.cursor_sql = "v";
    b.full_refresh_start = true;
    b.mode = "full_refresh";
    b.unique_keys = unique;
    b.state = ++batches_;
    auto r = landing.Land(b);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    auto s = SilverTable(env_.lake(), "shop", stream).Update({"id"});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->rows_written, 2);
  };
  land_refresh("orders", /*unique=*/true);
  land_refresh("written", /*unique=*/false);  // no promise: the rows are written anew
  auto silver = env_.lake()->OpenTable(lake::TableName{lake::Layer::kSilver, "shop_orders"});
  ASSERT_TRUE(silver.ok()) << silver.status().ToString();
  auto snap = (*silver)->Latest();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->files.size(), 1u);
  EXPECT_EQ(snap->files[0].path.find('/'), std::string::npos);  // in silver's own folder
  EXPECT_EQ(snap->files[0].NumRecords(), 2);
  auto describe = [&](const std::string& table) {
    return env_.Scalar(
        "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY "
        "ordinal_position) FROM information_schema.columns WHERE table_name = '" +
        table + "'");
  };
  EXPECT_EQ(describe("shop_orders"), describe("shop_written"));
  EXPECT_EQ(env_.Scalar("SELECT string_agg(id || v || coalesce(d::VARCHAR, '-') || _batch || "
                        "_deleted || _source, ',' ORDER BY id) FROM silver.shop_orders"),
            "1a2026-01-021falseshop,2b-1falseshop");

  // Later upserts merge into it as usual.
  Land("SELECT 2 AS id, 'c' AS v, DATE '2026-01-03' AS d");
  Update();
  EXPECT_EQ(Rows(), "1=a,2=c");

  // Bronze's data files go (as a vacuum after a compaction of bronze would remove them).
  auto bronze = lake::ParseTableName("bronze.raw_shop_orders");
  ASSERT_TRUE(bronze.ok());
  const std::string bronze_root = env_.lake()->TableRoot(*bronze);
  auto files = env_.fs()->ListRecursive(bronze_root);
  ASSERT_TRUE(files.ok());
  int removed = 0;
  for (const auto& f : *files) {
    if (f.name.size() > 8 && f.name.substr(f.name.size() - 8) == ".parquet") {
      ASSERT_TRUE(env_.fs()->RemoveFile(JoinPath(bronze_root, f.name)).ok());
      ++removed;
    }
  }
  EXPECT_EQ(removed, 2);
  env_.Reopen("run-2");
  EXPECT_EQ(Rows(), "1=a,2=c");
}

// A full refresh onto an existing silver: by the table's own key (each row its key's latest,
// no deletions) silver's new version links bronze's new files and writes only the keys the
// refresh lost, marked deleted, with the same rows as the rewrite of every row (the path of a
// refresh without that promise). Deleted keys keep their last values; a key deleted before
// stays deleted; later upserts and a reader without bronze's files still work.
TEST_F(SilverTableTest, FullRefreshOntoSilverLinksBronzesFilesAndWritesOnlyLostKeys) {
  auto land = [&](const std::string& stream, const std::string& select, bool refresh, bool unique,
                  bool deletes = false) {
    BronzeLanding landing(env_.lake(), "shop", stream);
    LandingBatch b;
    b.select_sql = select;
    b.cursor_sql = deletes ? "" : "v";
    b.full_refresh_start = refresh;
    b.deletes = deletes;
    b.mode = refresh ? "full_refresh" : "incremental";
    b.unique_keys = unique;
    b.state = ++batches_;
    auto r = landing.Land(b);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  };
  auto update = [&](const std::string& stream) {
    auto r = SilverTable(env_.lake(), "shop", stream).Update({"id"});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SilverResult{};
  };
  // The same history for both tables, step by step (so their lineage columns are equal).
  const std::vector<std::string> streams = {"linked", "written"};
  for (const std::string& stream : streams) {
    land(stream,
         "SELECT range AS id, 'a' || range AS v, DATE '2026-01-01' + range::INT AS d "
         "FROM range(1, 7)",
         true, stream == "linked");
    update(stream);
  }
  for (const std::string& stream : streams) {
    land(stream, "SELECT 2 AS id", false, false, /*deletes=*/true);
    update(stream);
  }
  env_.clock().Advance(1000);
  // Keys 1, 2 (deleted before) and 5 are gone; 3 changes, 7 is new.
  for (const std::string& stream : streams) {
    land(stream,
         "SELECT * FROM (VALUES (3, 'b3', DATE '2026-02-03'), (4, 'a4', DATE '2026-01-05'), "
         "(6, 'a6', NULL), (7, 'b7', DATE '2026-02-07')) t(id, v, d)",
         true, stream == "linked");
    SilverResult r = update(stream);
    EXPECT_TRUE(r.rebuilt);
    EXPECT_EQ(r.rows_written, 7) << stream;  // 4 refreshed rows, 3 lost keys
  }
  const std::string all =
      "SELECT string_agg(id || ':' || coalesce(v, '-') || ':' || coalesce(d::VARCHAR, '-') || "
      "':' || _deleted || ':' || _batch || ':' || _emitted_at || ':' || coalesce(_cursor, '-'), "
      "',' ORDER BY id) FROM silver.shop_";
  const std::string linked_rows = env_.Scalar(all + "linked");
  EXPECT_EQ(linked_rows, env_.Scalar(all + "written"));
  EXPECT_EQ(env_.Scalar("SELECT string_agg(id || '=' || v || CASE WHEN _deleted THEN 'x' ELSE "
                        "'' END, ',' ORDER BY id) FROM silver.shop_linked"),
            "1=a1x,2=a2x,3=b3,4=a4,5=a5x,6=a6,7=b7");
  EXPECT_EQ(env_.Scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                        "'shop_linked'"),
            env_.Scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                        "'shop_written'"));

  // The refresh's rows were not written again: its bronze file is one of silver's (a link),
  // and what silver wrote holds only the lost keys.
  auto silver = env_.lake()->OpenTable(lake::TableName{lake::Layer::kSilver, "shop_linked"});
  ASSERT_TRUE(silver.ok()) << silver.status().ToString();
  auto snap = (*silver)->Latest();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->files.size(), 2u);
  std::vector<int64_t> records;
  for (const auto& f : snap->files) records.push_back(f.NumRecords());
  std::sort(records.begin(), records.end());
  EXPECT_EQ(records, (std::vector<int64_t>{3, 4}));
  auto commit = (*silver)->log().ReadCommit(snap->version);
  ASSERT_TRUE(commit.ok());
  ASSERT_TRUE(commit->commit_info.has_value());
  EXPECT_EQ(commit->commit_info->operation_metrics["numLinkedRows"], "4");

  // Upserts go on as usual, and silver reads without bronze's files.
  land("linked", "SELECT 4 AS id, 'c4' AS v, DATE '2026-03-04' AS d", false, false);
  update("linked");
  auto bronze = lake::ParseTableName("bronze.raw_shop_linked");
  ASSERT_TRUE(bronze.ok());
  const std::string bronze_root = env_.lake()->TableRoot(*bronze);
  auto files = env_.fs()->ListRecursive(bronze_root);
  ASSERT_TRUE(files.ok());
  for (const auto& f : *files) {
    if (f.name.size() > 8 && f.name.substr(f.name.size() - 8) == ".parquet") {
      ASSERT_TRUE(env_.fs()->RemoveFile(JoinPath(bronze_root, f.name)).ok());
    }
  }
  env_.Reopen("run-2");
  EXPECT_EQ(env_.Scalar("SELECT string_agg(id || '=' || v || CASE WHEN _deleted THEN 'x' ELSE "
                        "'' END, ',' ORDER BY id) FROM silver.shop_linked"),
            "1=a1x,2=a2x,3=b3,4=c4,5=a5x,6=a6,7=b7");
}

TEST_F(SilverTableTest, NewBronzeColumnEvolvesSilver) {
  Land("SELECT * FROM (VALUES (1, 'a')) t(id, v)");
  Update();
  Land("SELECT 2 AS id, 'b' AS v, 7 AS extra");
  Update();
  EXPECT_EQ(env_.Scalar("SELECT string_agg(id || ':' || coalesce(extra::VARCHAR, '-'), ',' "
                        "ORDER BY id) FROM silver.shop_orders"),
            "1:-,2:7");
}

// Each update records the digest of silver's live keys, kept from the rows it adds and
// replaces; after upserts, deletions, a key coming back, a compaction and a rebuild it equals
// the digest of a scan. Another writer's change makes it unknown until the next update.
TEST_F(SilverTableTest, RecordsTheDigestOfItsLiveKeys) {
  SilverTable silver(env_.lake(), "shop", "orders");
  auto live = [&]() -> std::string {
    auto recorded = silver.LiveKeys({"id"});
    EXPECT_TRUE(recorded.ok()) << recorded.status().ToString();
    if (!recorded.ok() || !recorded->has_value()) return "none";
    return (*recorded)->digest.ToString();
  };
  auto scanned = [&]() {
    return env_.Scalar(
        "SELECT 'count ' || count(*) || ', sum ' || coalesce(sum(id), 0) || ', squares ' || "
        "coalesce(sum((id % 1000003) * (id % 1000003)), 0) FROM silver.shop_orders WHERE NOT "
        "_deleted");
  };
  EXPECT_EQ(live(), "none");
  Land("SELECT range AS id, 'a' AS v FROM range(-5, 100)");
  Update();
  EXPECT_EQ(live(), scanned());
  EXPECT_EQ(live(), "count 105, sum 4935, squares 328405");
  Land("SELECT * FROM (VALUES (10, 'b'), (2000000, 'b')) t(id, v)");
  Land("SELECT * FROM (VALUES (-3), (11), (12345)) t(id)", /*deletes=*/true);
  Update();
  EXPECT_EQ(live(), scanned());
  Land("SELECT * FROM (VALUES (11, 'back'), (-3, 'back')) t(id, v)");
  Update();
  EXPECT_EQ(live(), scanned());
  Land("SELECT range AS id, 'c' AS v FROM range(0, 100, 3)");  // over 10% hidden: compacted
  Update();
  EXPECT_EQ(live(), scanned());
  Land("SELECT * FROM (VALUES (7, 'r'), (8, 'r')) t(id, v)", false, /*full_refresh=*/true);
  Update();
  EXPECT_EQ(live(), "count 2, sum 15, squares 113");
  EXPECT_EQ(live(), scanned());

  // A change by another writer: unknown, then counted again by the next update.
  auto name = lake::ParseTableName("silver.shop_orders");
  ASSERT_TRUE(name.ok());
  auto table = env_.lake()->OpenTable(*name);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  auto deleted = (*table)->DeleteWhere("id = 7", env_.lake()->NewWriteOptions());
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  ASSERT_TRUE(env_.lake()->RefreshView(*name).ok());
  EXPECT_EQ(live(), "none");
  Land("SELECT * FROM (VALUES (9, 's')) t(id, v)");
  Update();
  EXPECT_EQ(live(), "count 2, sum 17, squares 145");
  EXPECT_EQ(live(), scanned());
  // A key without sums: the count alone.
  auto pair = silver.LiveKeys({"id", "v"});
  ASSERT_TRUE(pair.ok());
  EXPECT_FALSE(pair->has_value());  // recorded for another key
}

TEST_F(SilverTableTest, NeedsAKeyThatBronzeHas) {
  Land("SELECT 1 AS id, 'a' AS v");
  SilverTable silver(env_.lake(), "shop", "orders");
  EXPECT_TRUE(silver.Update({}).status().IsInvalidArgument());
  auto r = silver.Update({"nope"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace dew::connectors
