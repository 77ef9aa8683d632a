// AirbyteSource against a real Airbyte-protocol source (tests/data/taps/source_fake.py,
// Python 3) run as a child process: spec, check, discover, read with the per-stream, global
// and legacy state forms, and a TRACE error.
#include "connectors/airbyte_source.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "connectors/bronze_landing.h"
#include "connectors/source_factory.h"
#include "core/process_runner.h"
#include "support/sync_lake.h"

namespace dew::connectors {
namespace {

using nlohmann::json;

class AirbyteSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(env_.fs()->CreateDirs(env_.dir() + "/sources").ok());
    auto src = env_.fs()->ReadFile(std::string(DEW_SOURCE_DIR) + "/tests/data/taps/source_fake.py");
    ASSERT_TRUE(src.ok());
    ASSERT_TRUE(env_.fs()->WriteFile(env_.dir() + "/sources/source_fake.py", *src).ok());
    ASSERT_EQ(chmod((env_.dir() + "/sources/source_fake.py").c_str(), 0755), 0);
  }

  Result<std::unique_ptr<Source>> Make(const std::string& config) {
    const std::string yaml =
        "name: crm\n"
        "source_type: airbyte\n"
        "airbyte:\n"
        "  executable: sources/source_fake.py\n"
        "  config: " +
        config +
        "\n"
        "streams:\n"
        "  - name: customers\n"
        "    sync_mode: incremental\n"
        "    cursor_field: id\n"
        "    primary_key: [id]\n"
        "  - name: invoices\n";
    auto spec = ConnectionSpec::Parse(yaml, "connections/crm.yml");
    if (!spec.ok()) return spec.status();
    SourceEnv senv;
    senv.fs = env_.fs();
    senv.clock = env_.shared_clock();
    senv.processes = std::make_shared<PosixProcessRunner>(env_.dir());
    senv.env = {{"CRM_KEY", "good-key"}, {"BAD_KEY", "wrong"}};
    senv.project_dir = env_.dir();
    senv.spool_dir = env_.dir() + "/.dew/spool";
    return MakeSource(*spec, senv);
  }

  Result<ReadResult> Read(Source& source, const std::string& stream, const std::string& mode) {
    StreamRequest request;
    request.name = stream;
    request.sync_mode = mode;
    request.cursor_field = mode == "incremental" ? "id" : "";
    return source.Read(request, json(), env_.lake());
  }

  std::string Scalar(const std::string& sql) { return env_.Scalar(sql); }

  dew::testing::SyncLake env_;
};

TEST_F(AirbyteSourceTest, SpecCheckAndDiscover) {
  auto source = Make("{api_key: '${env:CRM_KEY}', customers: 3}");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto* airbyte = dynamic_cast<AirbyteSource*>(source->get());
  ASSERT_NE(airbyte, nullptr);
  auto spec = airbyte->ConnectorSpec();
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ((*spec)["connectionSpecification"]["required"], json({"api_key"}));
  EXPECT_TRUE((*source)->Spec()["properties"]["config"]["properties"].contains("api_key"));

  CheckProblem problem;
  Status ok = (*source)->Check({"customers"}, &problem);
  EXPECT_TRUE(ok.ok()) << ok.ToString();
  EXPECT_EQ(problem, CheckProblem::kNone);
  Status missing = (*source)->Check({"customer"}, &problem);
  EXPECT_EQ(problem, CheckProblem::kMissingTable);
  EXPECT_NE(missing.message().find("did you mean customers?"), std::string::npos)
      << missing.ToString();

  auto bad = Make("{api_key: '${env:BAD_KEY}'}");
  ASSERT_TRUE(bad.ok());
  Status refused = (*bad)->Check({}, &problem);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(problem, CheckProblem::kOther);
  EXPECT_NE(refused.message().find("crm: check failed: 401: invalid api key"), std::string::npos)
      << refused.ToString();

  auto streams = (*source)->Discover();
  ASSERT_TRUE(streams.ok()) << streams.status().ToString();
  ASSERT_EQ(streams->size(), 2u);
  std::string customers;
  for (const auto& c : (*streams)[0].columns) customers += c.name + ":" + c.lake_type + " ";
  EXPECT_EQ(customers, "id:BIGINT meta:VARCHAR name:VARCHAR updated_at:TIMESTAMPTZ ");
  EXPECT_EQ((*streams)[0].primary_key, std::vector<std::string>{"id"});
  EXPECT_EQ((*streams)[1].name, "invoices");
  EXPECT_EQ((*streams)[1].columns[1].name, "id");
  EXPECT_EQ((*streams)[1].columns[1].lake_type, "BIGINT");  // number + airbyte_type integer
}

class AirbyteStateFormTest : public AirbyteSourceTest,
                             public ::testing::WithParamInterface<const char*> {};

TEST_P(AirbyteStateFormTest, ReadCommitsPerStateAndResumes) {
  const std::string form = GetParam();
  auto source =
      Make("{api_key: '${env:CRM_KEY}', customers: 25, state_every: 10, state_form: " + form + "}");
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto first = Read(**source, "customers", "incremental");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->rows, 25);
  EXPECT_EQ(Scalar("SELECT count(DISTINCT _batch) FROM bronze.raw_crm_customers"), "3");
  if (form == "legacy") {
    EXPECT_EQ(first->state, json::parse(R"({"customers": {"cursor": 25}})"));
  } else if (form == "global") {
    ASSERT_TRUE(first->state.is_array());
    EXPECT_EQ(first->state[0]["type"], "GLOBAL");
    EXPECT_EQ(first->state[0]["global"]["stream_states"][0]["stream_state"]["cursor"], 25);
  } else {
    ASSERT_TRUE(first->state.is_array());
    EXPECT_EQ(first->state[0]["stream"]["stream_state"]["cursor"], 25);
  }
  EXPECT_EQ(Scalar("SELECT typeof(updated_at) || ' ' || (meta->>'tier') || ' ' || name "
                   "FROM bronze.raw_crm_customers WHERE id = 4"),
            "TIMESTAMP WITH TIME ZONE 1 customer 4");

  // The source grew: the resume passes the committed state back in the same form.
  auto more =
      Make("{api_key: '${env:CRM_KEY}', customers: 40, state_every: 10, state_form: " + form + "}");
  ASSERT_TRUE(more.ok());
  auto second = Read(**more, "customers", "incremental");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->rows, 15);
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || max(id) "
                   "FROM bronze.raw_crm_customers"),
            "40 40 40");
}

INSTANTIATE_TEST_SUITE_P(Forms, AirbyteStateFormTest,
                         ::testing::Values("stream", "global", "legacy"));

TEST_F(AirbyteSourceTest, TraceErrorFailsTheReadAndKeepsCommittedBatches) {
  auto source =
      Make("{api_key: '${env:CRM_KEY}', invoices: 50, state_every: 10, trace_error_after: 15}");
  ASSERT_TRUE(source.ok());
  auto read = Read(**source, "invoices", "incremental");
  ASSERT_FALSE(read.ok());
  const std::string msg = read.status().message();
  EXPECT_NE(msg.find("source_fake.py read: line"), std::string::npos) << msg;
  EXPECT_NE(msg.find("TRACE error (transient_error): Rate limit exceeded for invoices [HTTP 429]"),
            std::string::npos)
      << msg;
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || max(id) FROM bronze.raw_crm_invoices"), "10 10");
  BronzeLanding landing(env_.lake(), "crm", "invoices");
  auto state = landing.LastCommittedState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ((*state)[0]["stream"]["stream_state"]["cursor"], 10);

  // Resumed without the failure, the read continues after invoice 10.
  auto fixed = Make("{api_key: '${env:CRM_KEY}', invoices: 50, state_every: 10}");
  ASSERT_TRUE(fixed.ok());
  auto rest = Read(**fixed, "invoices", "incremental");
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(rest->rows, 40);
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || sum(total) "
                   "FROM bronze.raw_crm_invoices"),
            "50 50 13387.5");
}

TEST_F(AirbyteSourceTest, FullRefreshReadsEverythingAgain) {
  auto source = Make("{api_key: '${env:CRM_KEY}', invoices: 12}");
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE(Read(**source, "invoices", "full_refresh").ok());
  auto again = Read(**source, "invoices", "full_refresh");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows, 12);
  // Bronze is append-only: two full loads, each its own batch.
  EXPECT_EQ(Scalar("SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || count(DISTINCT _batch) "
                   "FROM bronze.raw_crm_invoices"),
            "24 12 2");
}

TEST_F(AirbyteSourceTest, ConfiguredCatalogCarriesModesCursorAndKey) {
  json stream = json::parse(R"({"name": "customers", "json_schema": {},
                               "default_cursor_field": ["updated_at"],
                               "source_defined_primary_key": [["id"]]})");
  json incremental = ConfiguredAirbyteCatalog(stream, "incremental", "id", {"id", "region"});
  const json& c = incremental["streams"][0];
  EXPECT_EQ(c["sync_mode"], "incremental");
  EXPECT_EQ(c["destination_sync_mode"], "append_dedup");
  EXPECT_EQ(c["cursor_field"], json({"id"}));
  EXPECT_EQ(c["primary_key"], json::parse(R"([["id"], ["region"]])"));
  json full = ConfiguredAirbyteCatalog(stream, "full_refresh", "", {});
  EXPECT_EQ(full["streams"][0]["destination_sync_mode"], "overwrite");
  EXPECT_EQ(full["streams"][0]["cursor_field"], json({"updated_at"}));
  EXPECT_EQ(full["streams"][0]["primary_key"], json::parse(R"([["id"]])"));
}

}  // namespace
}  // namespace dew::connectors
