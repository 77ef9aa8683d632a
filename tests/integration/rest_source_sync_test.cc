// The rest source end to end: a loopback API (pagination, faults, OAuth2) synced into a real
// lake through BronzeLanding, state in and out as `dew sync` passes it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>

#include "connectors/bronze_landing.h"
#include "connectors/rest_source.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "lake/lakehouse.h"
#include "support/rest_api_server.h"

namespace dew::connectors {
namespace {

using json = nlohmann::json;
using testing::RestApiServer;

class RestSyncTest : public ::testing::Test {
 protected:
  RestSyncTest() {
    char tmpl[] = "/tmp/dew_rest_sync_XXXXXX";
    const char* made = mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    dir_ = made ? made : "";
    lake::LakehouseOptions o;
    o.lake_root = dir_ + "/lake";
    o.cwd = dir_;
    o.user = "tester";
    o.run_id = "run-1";
    auto lake = lake::Lakehouse::Open(o, FileSystem::Posix(), clock_);
    EXPECT_TRUE(lake.ok()) << lake.status().ToString();
    if (lake.ok()) lake_ = std::move(*lake);
  }
  ~RestSyncTest() override {
    lake_.reset();
    if (!dir_.empty()) (void)FileSystem::Posix()->RemoveAll(dir_);
  }

  //! A rest source named "api" over the loopback server; `yaml` holds auth:, rest: extras and
  //! streams:, with BASE standing for the server's base URL and TOKEN_URL for its token URL.
  std::unique_ptr<RestSource> Make(std::string yaml, std::shared_ptr<Clock> clock = nullptr) {
    for (const auto& [from, to] :
         {std::pair<std::string, std::string>{"TOKEN_URL", server_.TokenUrl()},
          {"BASE", server_.BaseUrl()}}) {
      for (size_t at = yaml.find(from); at != std::string::npos; at = yaml.find(from))
        yaml.replace(at, from.size(), to);
    }
    auto spec = ConnectionSpec::Parse("name: api\nsource_type: rest\n" + yaml, "api.yml");
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    if (!spec.ok()) return nullptr;
    SourceEnv env;
    env.fs = FileSystem::Posix();
    env.clock = clock ? clock : clock_;
    env.http = NewCurlHttpClient();
    env.env = {{"CLIENT_SECRET", "the-client-secret"}};
    env.spool_dir = dir_ + "/spool";
    auto source = MakeSource(*spec, env);
    EXPECT_TRUE(source.ok()) << source.status().ToString();
    if (!source.ok()) return nullptr;
    return std::unique_ptr<RestSource>(dynamic_cast<RestSource*>(source->release()));
  }

  Result<ReadResult> Read(RestSource* source, const std::string& stream, const json& state,
                          const std::string& mode = "full_refresh", const std::string& cursor = "",
                          const std::atomic<bool>* cancel = nullptr) {
    StreamRequest r;
    r.cancel = cancel;
    r.name = stream;
    r.sync_mode = mode;
    r.cursor_field = cursor;
    return source->Read(r, state, lake_.get());
  }

  std::string Scalar(const std::string& sql) {
    auto v = lake_->connection().QueryScalar(sql);
    if (!v.ok()) return "ERROR: " + v.status().ToString();
    return v->has_value() ? **v : "NULL";
  }

  json Committed(const std::string& stream) {
    BronzeLanding landing(lake_.get(), "api", stream);
    auto s = landing.LastCommittedState();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : json("error");
  }

  RestApiServer server_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(1767225600000);
  std::string dir_;
  std::unique_ptr<lake::Lakehouse> lake_;
};

struct PaginationCase {
  const char* name;
  const char* yaml;
};

TEST_F(RestSyncTest, EachPaginationKindLandsEveryRecordOnePagePerCommit) {
  const PaginationCase cases[] = {
      {"paged",
       "    path: /page/invoices\n"
       "    pagination: {type: page, page_size: 10}\n"},
      {"offset",
       "    path: /offset/invoices\n"
       "    pagination: {type: offset, page_size: 10}\n"},
      {"cursor",
       "    path: /cursor/invoices\n"
       "    pagination: {type: cursor, cursor_path: meta.next_cursor, "
       "cursor_param: after, page_size: 10}\n"},
      {"linked",
       "    path: /link/invoices\n"
       "    records_path: ''\n"
       "    params: {per_page: 10}\n"
       "    pagination: {type: link_header}\n"},
  };
  std::string streams = "streams:\n";
  for (const PaginationCase& c : cases)
    streams += std::string("  - name: ") + c.name + "\n    primary_key: [id]\n" + c.yaml;
  auto source = Make("rest:\n  base_url: BASE\n  records_path: data\n" + streams);
  ASSERT_NE(source, nullptr);
  for (const PaginationCase& c : cases) {
    SCOPED_TRACE(c.name);
    const size_t before = server_.api_requests();
    auto r = Read(source.get(), c.name, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->rows, 25);
    EXPECT_EQ(r->table, std::string("bronze.raw_api_") + c.name);
    EXPECT_EQ(server_.api_requests() - before, 3u);  // 10 + 10 + 5
    const std::string t = r->table;
    EXPECT_EQ(Scalar("SELECT count(*) FROM " + t), "25");
    EXPECT_EQ(Scalar("SELECT count(DISTINCT id) FROM " + t), "25");
    EXPECT_EQ(Scalar("SELECT count(DISTINCT _batch) FROM " + t), "3");
    EXPECT_EQ(Scalar("SELECT sum(amount) FROM " + t), "3262.5");
    EXPECT_EQ(Scalar("SELECT DISTINCT _source || '/' || _stream FROM " + t),
              std::string("api/") + c.name);
    EXPECT_FALSE(r->state.contains("resume")) << r->state.dump();
  }
  // The link-header stream followed absolute and relative next links with the server's query.
  const auto seen = server_.requests();
  EXPECT_EQ(seen.back().path, "/api/link/invoices");
  EXPECT_EQ(seen.back().params.find("page")->second, "3");
}

TEST_F(RestSyncTest, PagesPerBatchGroupsPagesIntoOneCommit) {
  auto source = Make(
      "rest:\n  base_url: BASE\n  records_path: data\n  pages_per_batch: 2\n"
      "  pagination: {type: page, page_size: 10}\n"
      "streams:\n  - name: invoices\n    path: /page/invoices\n");
  ASSERT_NE(source, nullptr);
  auto r = Read(source.get(), "invoices", nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows, 25);
  EXPECT_EQ(r->commits, 2);
  EXPECT_EQ(Scalar("SELECT string_agg(n, ',' ORDER BY b) FROM (SELECT _batch AS b, "
                   "CAST(count(*) AS VARCHAR) AS n FROM bronze.raw_api_invoices GROUP BY _batch)"),
            "20,5");
}

TEST_F(RestSyncTest, RecordsPathWalksNestedArraysAndStreamParamsFilter) {
  auto source = Make(
      "rest:\n  base_url: BASE\n"
      "streams:\n"
      "  - name: nested\n    path: /nested/invoices\n    records_path: result.batches.items\n"
      "  - name: paid\n    path: /page/invoices\n    records_path: data\n"
      "    params: {status: paid}\n    pagination: {type: page, page_size: 10}\n");
  ASSERT_NE(source, nullptr);
  auto nested = Read(source.get(), "nested", nullptr);
  ASSERT_TRUE(nested.ok()) << nested.status().ToString();
  EXPECT_EQ(nested->rows, 25);
  EXPECT_EQ(Scalar("SELECT count(DISTINCT id) FROM bronze.raw_api_nested"), "25");
  // Nested objects land as JSON values.
  EXPECT_EQ(Scalar("SELECT customer->>'name' FROM bronze.raw_api_nested WHERE id = 4"),
            "customer 1");
  auto paid = Read(source.get(), "paid", nullptr);
  ASSERT_TRUE(paid.ok()) << paid.status().ToString();
  EXPECT_EQ(paid->rows, 13);
  EXPECT_EQ(Scalar("SELECT DISTINCT status FROM bronze.raw_api_paid"), "paid");
}

TEST_F(RestSyncTest, MissingRecordsPathNamesTheKeysFound) {
  auto source = Make(
      "rest:\n  base_url: BASE\n  records_path: items\n"
      "streams:\n  - name: s\n    path: /page/invoices\n");
  ASSERT_NE(source, nullptr);
  auto r = Read(source.get(), "s", nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no records at records_path 'items' (the response has "
                                      "keys: data, meta)"),
            std::string::npos)
      << r.status().message();
  CheckProblem problem;
  EXPECT_FALSE(source->Check({}, &problem).ok());
  EXPECT_EQ(problem, CheckProblem::kMissingTable);
}

TEST_F(RestSyncTest, IncrementalSecondSyncSendsTheCursorAndLandsOnlyNewerRecords) {
  auto source = Make(
      "rest:\n  base_url: BASE\n  records_path: data\n"
      "  pagination: {type: page, page_size: 10}\n"
      "streams:\n  - name: invoices\n    path: /page/invoices\n    primary_key: [id]\n"
      "    sync_mode: incremental\n    cursor_field: updated_at\n"
      "    incremental_param: updated_since\n");
  ASSERT_NE(source, nullptr);
  auto first = Read(source.get(), "invoices", nullptr, "incremental", "updated_at");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->rows, 25);
  EXPECT_EQ(first->state, json::parse(R"({"cursor": "2026-01-01T00:25:00Z"})"));
  EXPECT_EQ(Committed("invoices"), first->state);
  EXPECT_EQ(Scalar("SELECT max(_cursor) FROM bronze.raw_api_invoices"), "2026-01-01T00:25:00Z");
  for (const auto& req : server_.requests()) EXPECT_EQ(req.params.count("updated_since"), 0u);

  json changed = RestApiServer::Invoices(25)[2];
  changed["updated_at"] = "2026-01-01T01:00:00Z";
  changed["amount"] = 999.0;
  server_.Upsert(changed);
  json added = RestApiServer::Invoices(26)[25];
  added["updated_at"] = "2026-01-01T01:01:00Z";
  server_.Upsert(added);

  const size_t before = server_.api_requests();
  auto second = Read(source.get(), "invoices", first->state, "incremental", "updated_at");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  // The API answers updated_at >= since: the boundary record again, the changed and the new.
  EXPECT_EQ(second->rows, 3);
  EXPECT_EQ(second->state, json::parse(R"({"cursor": "2026-01-01T01:01:00Z"})"));
  const auto seen = server_.requests();
  ASSERT_EQ(seen.size() - before, 1u);
  EXPECT_EQ(seen.back().params.find("updated_since")->second, "2026-01-01T00:25:00Z");
  EXPECT_EQ(Scalar("SELECT string_agg(CAST(id AS VARCHAR), ',' ORDER BY id) FROM "
                   "bronze.raw_api_invoices WHERE _batch = (SELECT max(_batch) FROM "
                   "bronze.raw_api_invoices)"),
            "3,25,26");
}

TEST_F(RestSyncTest, BudgetUsedUpStopsCleanlyWithStateCommittedAndTheNextSyncResumes) {
  const std::string yaml =
      "rest:\n  base_url: BASE\n  records_path: data\n"
      "  pagination: {type: page, page_size: 10}\n"
      "  rate_limit: {max_requests: 2}\n"
      "streams:\n  - name: invoices\n    path: /page/invoices\n    primary_key: [id]\n";
  auto source = Make(yaml);
  ASSERT_NE(source, nullptr);
  auto first = Read(source.get(), "invoices", nullptr);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->rows, 20);
  EXPECT_NE(first->state.value("stopped", "").find("request budget of 2 requests used up"),
            std::string::npos)
      << first->state.dump();
  ASSERT_TRUE(first->state.contains("resume"));
  EXPECT_EQ(Committed("invoices"), first->state);
  EXPECT_EQ(server_.api_requests(), 2u);

  // The next sync (a new budget) starts at page 3 and does not mark a full-refresh start.
  auto again = Make(yaml);
  auto second = Read(again.get(), "invoices", first->state);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->rows, 5);
  EXPECT_FALSE(second->state.contains("resume"));
  EXPECT_FALSE(second->state.contains("stopped"));
  EXPECT_EQ(server_.requests().back().params.find("page")->second, "3");
  EXPECT_EQ(Scalar("SELECT count(*) || '/' || count(DISTINCT id) FROM bronze.raw_api_invoices"),
            "25/25");
}

TEST_F(RestSyncTest, FailureMidSyncKeepsCommittedPagesAndResumesWithoutDuplicates) {
  const std::string yaml =
      "rest:\n  base_url: BASE\n  records_path: data\n"
      "  pagination: {type: offset, page_size: 10}\n"
      "streams:\n  - name: invoices\n    path: /offset/invoices\n"
      "    sync_mode: incremental\n    cursor_field: updated_at\n"
      "    incremental_param: updated_since\n";
  auto source = Make(yaml);
  ASSERT_NE(source, nullptr);
  server_.FailNext(1, 400, "", /*after=*/2);
  auto failed = Read(source.get(), "invoices", nullptr, "incremental", "updated_at");
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("HTTP 400"), std::string::npos);
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_api_invoices"), "20");
  const json state = Committed("invoices");
  EXPECT_EQ(state["cursor"], "2026-01-01T00:20:00Z");
  EXPECT_EQ(state["resume"]["position"]["params"][0], json::parse(R"(["offset", "20"])"));

  auto resumed = Read(source.get(), "invoices", state, "incremental", "updated_at");
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->rows, 5);
  EXPECT_EQ(resumed->state, json::parse(R"({"cursor": "2026-01-01T00:25:00Z"})"));
  // The resumed pages were asked with the interrupted sync's `since` (none), not the cursor.
  EXPECT_EQ(server_.requests().back().params.count("updated_since"), 0u);
  EXPECT_EQ(Scalar("SELECT count(*) || '/' || count(DISTINCT id) FROM bronze.raw_api_invoices"),
            "25/25");
}

//! A clock whose first wait raises a cancel flag, as `dew run --cancel` would mid-sync.
class CancellingClock : public Clock {
 public:
  explicit CancellingClock(std::atomic<bool>* flag) : flag_(flag) {}
  int64_t NowMillis() override { return now_; }
  int64_t MonotonicMicros() override { return now_ * 1000; }
  void SleepMillis(int64_t millis) override {
    now_ += millis;
    flag_->store(true);
  }

 private:
  std::atomic<bool>* flag_;
  int64_t now_ = 1767225600000;
};

TEST_F(RestSyncTest, CancelStopsAtThePageBoundaryKeepingWhatWasCommitted) {
  std::atomic<bool> cancel{false};
  auto source = Make(
      "rest:\n  base_url: BASE\n  records_path: data\n"
      "  pagination: {type: page, page_size: 10}\n"
      "  rate_limit: {requests_per_minute: 1}\n"
      "streams:\n  - name: invoices\n    path: /page/invoices\n",
      std::make_shared<CancellingClock>(&cancel));
  ASSERT_NE(source, nullptr);
  // The rate limit waits before page 2; the cancel raised then stops the read after it.
  auto r = Read(source.get(), "invoices", nullptr, "full_refresh", "", &cancel);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInterrupted()) << r.status().ToString();
  EXPECT_EQ(server_.api_requests(), 2u);
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_api_invoices"), "20");
  EXPECT_EQ(Committed("invoices")["resume"]["position"]["params"][0],
            json::parse(R"(["page", "3"])"));
}

TEST_F(RestSyncTest, RetryAfterAndServerErrorsAreSurvivedBySync) {
  auto source = Make(
      "rest:\n  base_url: BASE\n  records_path: data\n"
      "  pagination: {type: page, page_size: 10}\n"
      "  retry: {max_attempts: 4, base_delay: 2s, max_delay: 8s}\n"
      "streams:\n  - name: invoices\n    path: /page/invoices\n");
  ASSERT_NE(source, nullptr);
  server_.FailNext(2, 429, "5", /*after=*/1);
  const int64_t start = clock_->NowMillis();
  auto r = Read(source.get(), "invoices", nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows, 25);
  EXPECT_EQ(clock_->NowMillis() - start, 10000);
  EXPECT_EQ(server_.api_requests(), 5u);

  server_.FailNext(3, 500);
  auto again = Read(source.get(), "invoices", nullptr);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(Scalar("SELECT count(*) FROM bronze.raw_api_invoices"), "50");
  EXPECT_LE(clock_->NowMillis() - start, 10000 + 2000 + 4000 + 8000);
}

TEST_F(RestSyncTest, OAuthTokenIsRefreshedBeforeItExpiresDuringASync) {
  server_.RequireOAuth("dew-client", "the-client-secret", 120);
  auto source = Make(
      "auth:\n  type: oauth2_client_credentials\n  token_url: TOKEN_URL\n"
      "  client_id: dew-client\n  client_secret: ${env:CLIENT_SECRET}\n  scopes: [read]\n"
      "rest:\n  base_url: BASE\n  records_path: data\n"
      "  pagination: {type: page, page_size: 10}\n"
      "  rate_limit: {requests_per_minute: 1}\n"
      "streams:\n  - name: invoices\n    path: /page/invoices\n");
  ASSERT_NE(source, nullptr);
  // One request a minute and a 2-minute token refreshed a minute early: a new token per page,
  // and the server never sees an expired one.
  const int64_t start = clock_->NowMillis();
  auto r = Read(source.get(), "invoices", nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows, 25);
  EXPECT_EQ(clock_->NowMillis() - start, 120000);
  EXPECT_EQ(server_.token_requests(), 3);
  const auto seen = server_.requests();
  ASSERT_EQ(seen.size(), 3u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].status, 200);
    EXPECT_EQ(seen[i].headers.at("authorization"), "Bearer tok-" + std::to_string(i + 1));
  }
}

TEST_F(RestSyncTest, WrongClientSecretIsRefusedWithoutShowingIt) {
  server_.RequireOAuth("dew-client", "a-different-secret", 3600);
  auto source = Make(
      "auth:\n  type: oauth2_client_credentials\n  token_url: TOKEN_URL\n"
      "  client_id: dew-client\n  client_secret: ${env:CLIENT_SECRET}\n"
      "rest:\n  base_url: BASE\n  records_path: data\n"
      "streams:\n  - name: invoices\n    path: /page/invoices\n");
  ASSERT_NE(source, nullptr);
  CheckProblem problem;
  Status s = source->Check({}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kAuthRefused);
  EXPECT_NE(s.message().find("refused the client credentials: HTTP 401 (invalid_client"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("the-client-secret"), std::string::npos);
  auto r = Read(source.get(), "invoices", nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("the-client-secret"), std::string::npos);
  EXPECT_EQ(server_.token_requests(), 2);  // a refusal is not retried
  EXPECT_EQ(server_.api_requests(), 0u);
  EXPECT_FALSE(lake_->Exists(lake::TableName{lake::Layer::kBronze, "raw_api_invoices"}));
}

TEST_F(RestSyncTest, ValuesFromTheEnvironmentAreHiddenFromMessages) {
  auto source = Make(
      "rest:\n  base_url: http://127.0.0.1:1/api\n  retry: {max_attempts: 1}\n"
      "  headers: {X-Signature: '${env:CLIENT_SECRET}'}\n"
      "streams:\n  - name: s\n    path: /s\n"
      "    params: {sig: '${env:CLIENT_SECRET}', plain: visible}\n");
  ASSERT_NE(source, nullptr);
  CheckProblem problem;
  Status s = source->Check({}, &problem);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(problem, CheckProblem::kUnreachable);
  EXPECT_EQ(s.message().find("the-client-secret"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("plain=visible&sig=***"), std::string::npos) << s.message();
}

TEST_F(RestSyncTest, DiscoverTypesTheFirstPageAsReadLandsIt) {
  auto source = Make(
      "rest:\n  base_url: BASE\n  records_path: data\n"
      "  pagination: {type: page, page_size: 10}\n"
      "streams:\n  - name: invoices\n    path: /page/invoices\n"
      "    primary_key: [id]\n");
  ASSERT_NE(source, nullptr);
  auto streams = source->Discover();
  ASSERT_TRUE(streams.ok()) << streams.status().ToString();
  ASSERT_EQ(streams->size(), 1u);
  const StreamInfo& s = (*streams)[0];
  EXPECT_EQ(s.name, "invoices");
  EXPECT_EQ(s.primary_key, std::vector<std::string>{"id"});
  std::string columns;
  for (const ColumnInfo& c : s.columns)
    columns += c.name + " " + c.lake_type + " (" + c.source_type + "), ";
  EXPECT_EQ(columns,
            "amount DOUBLE (number), customer VARCHAR (object), id BIGINT (integer), "
            "status VARCHAR (string), updated_at VARCHAR (string), ");
  EXPECT_EQ(server_.api_requests(), 1u);

  // Bronze has the same columns and types.
  auto r = Read(source.get(), "invoices", nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const ColumnInfo& c : s.columns) {
    EXPECT_EQ(Scalar("SELECT column_type FROM (DESCRIBE bronze.raw_api_invoices) WHERE "
                     "column_name = '" +
                     c.name + "'"),
              c.lake_type);
  }

  // A field seen only as null has no type (a drift check then compares nothing).
  auto records = RestApiServer::Invoices(3);
  for (json& rec : records) rec["note"] = nullptr;
  server_.SetRecords(records);
  auto described = source->DescribeStream("invoices");
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  bool found = false;
  for (const ColumnInfo& c : described->columns) {
    if (c.name != "note") continue;
    found = true;
    EXPECT_EQ(c.lake_type, "");
    EXPECT_EQ(c.source_type, "null");
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(source->DescribeStream("nope").status().IsNotFound());
}

}  // namespace
}  // namespace dew::connectors
