// The files source end to end against a local S3-compatible server (s3rver behind an
// independent SigV4 verifier, tests/support/s3_server.h): a connection file with store: s3,
// credentials from the environment, incremental sync of new and changed objects (a changed
// object has a new ETag), Discover, and the errors a user sees for refused credentials and a
// missing bucket.
#include <gtest/gtest.h>

#include <filesystem>

#include "connectors/connection_spec.h"
#include "connectors/source_factory.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "core/http_client.h"
#include "engine/connection.h"
#include "lake/lake_test_util.h"
#include "lake/lakehouse.h"
#include "support/s3_server.h"

namespace dew::connectors {
namespace {

using dew::testing::S3Server;

class FilesS3Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    if (!S3Server::Available(&why)) {
      skip_ = new std::string(why);
      return;
    }
    auto server = S3Server::Start("landing");
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete skip_;
    skip_ = nullptr;
  }
  void SetUp() override {
    if (skip_) GTEST_SKIP() << "no local S3 server: " << *skip_;
    prefix_ = std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "/";
    lake::LakehouseOptions o;
    o.lake_root = dir_.path() + "/lake";
    o.cwd = dir_.path();
    o.user = "tester";
    auto lake = lake::Lakehouse::Open(o, FileSystem::Posix(), Clock::System());
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    lake_ = std::move(*lake);
  }

  Result<std::unique_ptr<Source>> Make(const std::string& bucket, const std::string& secret,
                                       const std::string& key_id = "") {
    const std::string yaml =
        "name: lake_drop\nsource_type: files\nfiles:\n  store: s3\n  endpoint: " +
        server_->endpoint() + "\n  region: eu-west-1\n  bucket: " + bucket +
        "\n  root: " + prefix_ +
        "\n  page_size: 2\nauth:\n  access_key_id: ${env:S3_KEY_ID}\n"
        "  secret_access_key: ${env:S3_SECRET}\nstreams:\n"
        "  - name: orders\n    glob: \"orders/*.ndjson\"\n    primary_key: [id]\n"
        "  - name: prices\n    glob: \"prices/*.parquet\"\n";
    DEW_ASSIGN_OR_RETURN(ConnectionSpec spec, ConnectionSpec::Parse(yaml, "connections/drop.yml"));
    SourceEnv env;
    env.fs = FileSystem::Posix();
    env.clock = Clock::System();
    env.http = NewCurlHttpClient();
    env.env = {{"S3_KEY_ID", key_id.empty() ? server_->access_key_id() : key_id},
               {"S3_SECRET", secret}};
    env.project_dir = dir_.path();
    env.spool_dir = dir_.path() + "/spool";
    return MakeSource(spec, env);
  }

  std::string Query(const std::string& sql) {
    auto r = lake_->connection().QueryScalar(sql);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->value_or("NULL") : "ERROR";
  }

  Result<ReadResult> Sync(Source& source, const std::string& stream) {
    StreamRequest request;
    request.name = stream;
    request.sync_mode = "incremental";
    return source.Read(request, nlohmann::json(), lake_.get());
  }

  static S3Server* server_;
  static std::string* skip_;
  lake::testing::TempDir dir_;
  std::string prefix_;
  std::unique_ptr<lake::Lakehouse> lake_;
};
S3Server* FilesS3Test::server_ = nullptr;
std::string* FilesS3Test::skip_ = nullptr;

TEST_F(FilesS3Test, SyncsNewAndChangedObjects) {
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(server_
                    ->Put(prefix_ + "orders/day" + std::to_string(i) + ".ndjson",
                          "{\"id\": " + std::to_string(i) +
                              ", \"total\": " + std::to_string(i * 10) + "}\n")
                    .ok());
  }
  ASSERT_TRUE(server_->Put(prefix_ + "orders/skip.csv", "id\n9\n").ok());
  auto source = Make(server_->bucket(), server_->secret_access_key());
  ASSERT_TRUE(source.ok()) << source.status().ToString();

  CheckProblem problem = CheckProblem::kOther;
  Status check = (*source)->Check({"orders"}, &problem);
  ASSERT_TRUE(check.ok()) << check.ToString() << "\n" << server_->Log();

  auto first = Sync(**source, "orders");
  ASSERT_TRUE(first.ok()) << first.status().ToString() << "\n" << server_->Log();
  EXPECT_EQ(first->rows, 3);
  EXPECT_EQ(Query("SELECT sum(total) FROM bronze.raw_lake_drop_orders"), "60");
  // "<mtime> <key>@<etag>": s3rver's ETag is the object's MD5.
  EXPECT_EQ(
      Query("SELECT regexp_full_match(_cursor, '\\d{4}-\\d\\d-\\d\\dT[0-9:.]{12}Z "
            "orders/day2.ndjson@[0-9a-f]{32}') FROM bronze.raw_lake_drop_orders WHERE id = 2"),
      "true");
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() + "/spool"));

  // Same size, new content: only the ETag tells the change.
  ASSERT_TRUE(server_->Put(prefix_ + "orders/day2.ndjson", "{\"id\": 2, \"total\": 21}\n").ok());
  ASSERT_TRUE(server_->Put(prefix_ + "orders/day4.ndjson", "{\"id\": 4, \"total\": 40}\n").ok());
  auto second = Sync(**source, "orders");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->rows, 2);
  EXPECT_EQ(Query("SELECT string_agg(CAST(total AS VARCHAR), ',' ORDER BY total) FROM "
                  "bronze.raw_lake_drop_orders WHERE id = 2"),
            "20,21");
  auto third = Sync(**source, "orders");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->rows, 0);
}

TEST_F(FilesS3Test, DiscoversParquetColumns) {
  lake::testing::TempDir tmp;
  const std::string local = tmp.path() + "/p.parquet";
  ASSERT_TRUE(lake_->connection()
                  .Execute("COPY (SELECT 'EUR' AS currency, 1.25::DECIMAL(9,4) AS rate) TO " +
                           engine::SqlString(local) + " (FORMAT parquet)")
                  .ok());
  auto data = FileSystem::Posix()->ReadFile(local);
  ASSERT_TRUE(data.ok());
  ASSERT_TRUE(server_->Put(prefix_ + "prices/p.parquet", *data).ok());
  auto source = Make(server_->bucket(), server_->secret_access_key());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto streams = (*source)->Discover();
  ASSERT_TRUE(streams.ok()) << streams.status().ToString();
  ASSERT_EQ(streams->size(), 2u);
  EXPECT_TRUE((*streams)[0].columns.empty());  // no orders in this test's prefix
  ASSERT_EQ((*streams)[1].columns.size(), 3u);
  EXPECT_EQ((*streams)[1].columns[1].lake_type, "DECIMAL(9,4)");
  auto read = Sync(**source, "prices");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(Query("SELECT rate FROM bronze.raw_lake_drop_prices"), "1.2500");
}

TEST_F(FilesS3Test, RefusedCredentialsAndMissingBucketAreToldApart) {
  ASSERT_TRUE(server_->Put(prefix_ + "orders/a.ndjson", "{\"id\": 1}\n").ok());
  CheckProblem problem = CheckProblem::kNone;

  auto wrong_secret = Make(server_->bucket(), "wrong-secret");
  ASSERT_TRUE(wrong_secret.ok());
  Status s = (*wrong_secret)->Check({"orders"}, &problem);
  EXPECT_EQ(problem, CheckProblem::kAuthRefused);
  EXPECT_NE(s.message().find("HTTP 403 SignatureDoesNotMatch"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.message().find("wrong-secret"), std::string::npos);
  EXPECT_FALSE(Sync(**wrong_secret, "orders").ok());

  auto wrong_key = Make(server_->bucket(), server_->secret_access_key(), "AKIAUNKNOWN");
  ASSERT_TRUE(wrong_key.ok());
  s = (*wrong_key)->Check({}, &problem);
  EXPECT_EQ(problem, CheckProblem::kAuthRefused);
  EXPECT_NE(s.message().find("InvalidAccessKeyId"), std::string::npos) << s.ToString();

  auto no_bucket = Make("missing-bucket", server_->secret_access_key());
  ASSERT_TRUE(no_bucket.ok());
  s = (*no_bucket)->Check({}, &problem);
  EXPECT_EQ(problem, CheckProblem::kMissingDatabase);
  EXPECT_NE(s.message().find("bucket missing-bucket does not exist"), std::string::npos)
      << s.ToString();
}

}  // namespace
}  // namespace dew::connectors
