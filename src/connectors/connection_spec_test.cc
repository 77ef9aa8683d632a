#include "connectors/connection_spec.h"

#include <gtest/gtest.h>

namespace dew::connectors {
namespace {

const char* kGood = R"(name: shop
source_type: postgres
auth:
  host: db.internal
  port: 6543
  database: shop
  user: reader
  password: ${env:SHOP_PG_PASSWORD}
streams:
  - name: orders
    sync_mode: incremental
    cursor_field: updated_at
    primary_key: [id]
    columns: [id, amount, updated_at]
    filter: amount > 0
  - name: customers
    sync_mode: full_refresh
    primary_key: id
schedule: "*/15 * * * *"
tier: critical
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string ErrorOf(const std::string& text) {
  auto spec = ConnectionSpec::Parse(text, "connections/shop.yml");
  EXPECT_FALSE(spec.ok());
  return spec.ok() ? std::string() : spec.status().message();
}

TEST(ConnectionSpecTest, ParsesEveryField) {
  auto spec = ConnectionSpec::Parse(kGood, "connections/shop.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->name, "shop");
  EXPECT_EQ(spec->source_type, "postgres");
  EXPECT_EQ(spec->auth.host, "db.internal");
  EXPECT_EQ(spec->auth.port, 6543);
  EXPECT_EQ(spec->auth.database, "shop");
  EXPECT_EQ(spec->auth.user, "reader");
  EXPECT_EQ(spec->auth.password_ref, "${env:SHOP_PG_PASSWORD}");
  ASSERT_EQ(spec->streams.size(), 2u);
  EXPECT_EQ(spec->streams[0].sync_mode, "incremental");
  EXPECT_EQ(spec->streams[0].cursor_field, "updated_at");
  EXPECT_EQ(spec->streams[0].primary_key, std::vector<std::string>{"id"});
  EXPECT_EQ(spec->streams[0].columns, (std::vector<std::string>{"id", "amount", "updated_at"}));
  EXPECT_EQ(spec->streams[0].filter, "amount > 0");
  EXPECT_EQ(spec->streams[1].primary_key, std::vector<std::string>{"id"});
  ASSERT_TRUE(spec->schedule.has_value());
  EXPECT_EQ(spec->schedule_text, "*/15 * * * *");
  EXPECT_EQ(spec->tier, Tier::kCritical);
  EXPECT_EQ(spec->JobName(spec->streams[0]), "sync_shop_orders_incremental");
  EXPECT_EQ(spec->JobName(spec->streams[1]), "sync_shop_customers_full_refresh");
  EXPECT_EQ(spec->FindStream("customers"), &spec->streams[1]);
  EXPECT_EQ(spec->FindStream("nope"), nullptr);
}

TEST(ConnectionSpecTest, DefaultsForOptionalFields) {
  auto spec = ConnectionSpec::Parse(
      "name: a\nsource_type: postgres\nauth: {database: d, user: u}\nstreams: [{name: t}]\n",
      "a.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->auth.host, "127.0.0.1");
  EXPECT_EQ(spec->auth.port, 5432);
  EXPECT_EQ(spec->streams[0].sync_mode, "full_refresh");
  EXPECT_FALSE(spec->schedule.has_value());
  EXPECT_EQ(spec->tier, Tier::kStandard);
  auto password = spec->ResolvePassword({});
  ASSERT_TRUE(password.ok());
  EXPECT_EQ(*password, "");
}

TEST(ConnectionSpecTest, SyncStreamKeys) {
  std::string text = Replace(kGood, "    filter: amount > 0\n",
                             "    filter: amount > 0\n    on_schema_change: quarantine\n"
                             "    chunk_rows: 5000\n    detect_deletes: false\n");
  auto spec = ConnectionSpec::Parse(text, "connections/shop.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->streams[0].on_schema_change, "quarantine");
  EXPECT_EQ(spec->streams[0].chunk_rows, 5000);
  EXPECT_FALSE(spec->streams[0].detect_deletes);
  EXPECT_EQ(spec->streams[1].on_schema_change, "evolve");
  EXPECT_EQ(spec->streams[1].chunk_rows, 0);
  EXPECT_TRUE(spec->streams[1].detect_deletes);

  EXPECT_NE(ErrorOf(Replace(text, "quarantine", "qurantine"))
                .find("streams[0].on_schema_change: unknown on_schema_change policy 'qurantine'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(text, "5000", "-3")).find("streams[0].chunk_rows: expected a positive"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(text, "detect_deletes: false", "detect_deletes: maybe"))
                .find("streams[0].detect_deletes"),
            std::string::npos);
  EXPECT_EQ(spec->streams[0].detect_deletes_every, 1);

  auto every = ConnectionSpec::Parse(
      Replace(text, "detect_deletes: false", "detect_deletes: every 24 syncs"), "c.yml");
  ASSERT_TRUE(every.ok()) << every.status().ToString();
  EXPECT_TRUE(every->streams[0].detect_deletes);
  EXPECT_EQ(every->streams[0].detect_deletes_every, 24);
  EXPECT_FALSE(every->streams[0].detect_deletes_always_compared);

  auto digest = ConnectionSpec::Parse(
      Replace(text, "detect_deletes: false", "detect_deletes: digest"), "c.yml");
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_TRUE(digest->streams[0].detect_deletes);
  EXPECT_TRUE(digest->streams[0].detect_deletes_always_compared);
  EXPECT_FALSE(digest->streams[0].detect_deletes_by_replication);
  for (const char* bad : {"every 0 syncs", "every 24", "every -2 syncs", "every 3 syncs later"}) {
    EXPECT_NE(ErrorOf(Replace(text, "detect_deletes: false", std::string("detect_deletes: ") + bad))
                  .find("streams[0].detect_deletes: expected true, false, digest, replication or "
                        "'every N syncs'"),
              std::string::npos)
        << bad;
  }
}

TEST(ConnectionSpecTest, DeletesThroughReplication) {
  const std::string text = Replace(kGood, "    filter: amount > 0\n",
                                   "    filter: amount > 0\n    detect_deletes: replication\n");
  auto spec = ConnectionSpec::Parse(text, "connections/shop.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_TRUE(spec->streams[0].detect_deletes);
  EXPECT_TRUE(spec->streams[0].detect_deletes_by_replication);
  EXPECT_FALSE(spec->streams[1].detect_deletes_by_replication);
  // A full refresh reads every row anyway; other sources have no PostgreSQL WAL to follow.
  EXPECT_NE(ErrorOf(Replace(text, "sync_mode: incremental", "sync_mode: full_refresh"))
                .find("connections/shop.yml:16:21: streams[0].detect_deletes: replication is for "
                      "incremental streams"),
            std::string::npos)
      << ErrorOf(Replace(text, "sync_mode: incremental", "sync_mode: full_refresh"));
  const std::string rest =
      "name: api\nsource_type: rest\nrest: {base_url: 'http://x'}\nstreams:\n  - name: s\n"
      "    sync_mode: incremental\n    cursor_field: u\n    detect_deletes: replication\n";
  EXPECT_NE(ErrorOf(rest).find("streams[0].detect_deletes: replication needs source_type postgres "
                               "or odoo"),
            std::string::npos)
      << ErrorOf(rest);
}

TEST(ConnectionSpecTest, TierRetryCounts) {
  EXPECT_EQ(RetryCount(Tier::kCritical), 5);
  EXPECT_EQ(RetryCount(Tier::kStandard), 3);
  EXPECT_EQ(RetryCount(Tier::kBestEffort), 2);
  EXPECT_STREQ(TierName(Tier::kBestEffort), "best_effort");
}

TEST(ConnectionSpecTest, UnknownKeySuggestsNearMatch) {
  EXPECT_EQ(ErrorOf(Replace(kGood, "tier:", "teir:")),
            "connections/shop.yml:20:1: teir: unknown key 'teir' (did you mean 'tier'?)");
  EXPECT_EQ(ErrorOf(Replace(kGood, "  port:", "  prot:")),
            "connections/shop.yml:5:3: auth.prot: unknown key 'prot' (did you mean 'port'?)");
  EXPECT_EQ(ErrorOf(Replace(kGood, "    filter:", "    filtr:")),
            "connections/shop.yml:15:5: streams[0].filtr: unknown key 'filtr' (did you mean "
            "'filter'?)");
  EXPECT_NE(ErrorOf(Replace(kGood, "tier:", "zzzzzzzz:")).find("expected one of: name,"),
            std::string::npos);
}

TEST(ConnectionSpecTest, MissingFields) {
  EXPECT_EQ(ErrorOf("source_type: postgres\n"),
            "connections/shop.yml:1:1: name: missing required field");
  EXPECT_EQ(ErrorOf(Replace(kGood, "  user: reader\n", "")),
            "connections/shop.yml:4:3: auth.user: missing required field");
  EXPECT_EQ(ErrorOf(Replace(kGood, "  - name: customers\n", "  - filter: x\n")),
            "connections/shop.yml:16:5: streams[1].name: missing required field");
  EXPECT_EQ(ErrorOf(Replace(kGood, "    cursor_field: updated_at\n", "")),
            "connections/shop.yml:10:5: streams[0].cursor_field: missing required field "
            "(incremental sync needs a cursor_field)");
}

TEST(ConnectionSpecTest, WrongTypes) {
  EXPECT_EQ(ErrorOf(Replace(kGood, "  port: 6543", "  port: abc")),
            "connections/shop.yml:5:9: auth.port: wrong type: expected a port number 1-65535 or "
            "${env:NAME}, got 'abc'");
  EXPECT_EQ(ErrorOf(Replace(kGood, "  host: db.internal", "  host: [a, b]")),
            "connections/shop.yml:4:9: auth.host: wrong type: expected a scalar, got a list");
  EXPECT_EQ(ErrorOf("name: a\nsource_type: postgres\nauth: {database: d, user: u}\nstreams: x\n"),
            "connections/shop.yml:4:10: streams: wrong type: expected a list of streams, got a "
            "scalar");
  EXPECT_EQ(ErrorOf("auth: x\n"), "connections/shop.yml:1:1: name: missing required field");
  EXPECT_EQ(ErrorOf("- a\n"),
            "connections/shop.yml:1:1: connection: wrong type: expected a mapping (name:, "
            "source_type:, auth:, streams:), got a list");
  EXPECT_NE(ErrorOf("name: [unclosed\n").find("connections/shop.yml:"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "name: shop", "name: Shop-1")).find("not a valid name"),
            std::string::npos);
}

TEST(ConnectionSpecTest, UnknownEnumValues) {
  EXPECT_EQ(ErrorOf(Replace(kGood, "source_type: postgres", "source_type: postgress")),
            "connections/shop.yml:2:14: source_type: unknown source_type 'postgress' (did you "
            "mean 'postgres'?)");
  EXPECT_EQ(ErrorOf(Replace(kGood, "sync_mode: incremental", "sync_mode: incremetal")),
            "connections/shop.yml:11:16: streams[0].sync_mode: unknown sync_mode 'incremetal' "
            "(did you mean 'incremental'?)");
  EXPECT_EQ(ErrorOf(Replace(kGood, "tier: critical", "tier: gold")),
            "connections/shop.yml:20:7: tier: unknown tier 'gold' (expected one of: critical, "
            "standard, best_effort)");
}

TEST(ConnectionSpecTest, BadCron) {
  std::string error = ErrorOf(Replace(kGood, "\"*/15 * * * *\"", "\"61 * * * *\""));
  EXPECT_EQ(error.rfind("connections/shop.yml:19:11: schedule: ", 0), 0u) << error;
}

TEST(ConnectionSpecTest, DuplicatesRefused) {
  EXPECT_NE(ErrorOf(Replace(kGood, "  - name: customers", "  - name: orders")).find("listed twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kGood) + "tier: standard\n").find("duplicate key 'tier'"),
            std::string::npos);
}

TEST(ConnectionSpecTest, LiteralPasswordRefused) {
  EXPECT_EQ(ErrorOf(Replace(kGood, "${env:SHOP_PG_PASSWORD}", "hunter2")),
            "connections/shop.yml:8:13: auth.password: a literal password is not allowed in a "
            "connection file; write ${env:NAME} and set the variable NAME where dew runs");
  EXPECT_NE(ErrorOf(Replace(kGood, "${env:SHOP_PG_PASSWORD}", "x${env:A}")).find("literal"),
            std::string::npos);
}

// kGood with host and port read from SHOP_PG_HOST and SHOP_PG_PORT.
std::string WithEnvEndpoint() {
  return Replace(Replace(kGood, "  host: db.internal", "  host: ${env:SHOP_PG_HOST}"),
                 "  port: 6543", "  port: ${env:SHOP_PG_PORT}");
}

TEST(ConnectionSpecTest, HostAndPortFromEnvironmentAtUse) {
  auto spec = ConnectionSpec::Parse(WithEnvEndpoint(), "connections/shop.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->auth.host, "${env:SHOP_PG_HOST}");  // kept as written, resolved at use
  EXPECT_EQ(spec->auth.port_ref, "${env:SHOP_PG_PORT}");
  auto endpoint = spec->ResolveEndpoint({{"SHOP_PG_HOST", "10.0.0.7"}, {"SHOP_PG_PORT", "6544"}});
  ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
  EXPECT_EQ(endpoint->host, "10.0.0.7");
  EXPECT_EQ(endpoint->port, 6544);

  // A reference inside a longer host name is expanded in place.
  auto embedded = ConnectionSpec::Parse(
      Replace(kGood, "  host: db.internal", "  host: db-${env:SHOP_ENV}.internal"), "c.yml");
  ASSERT_TRUE(embedded.ok()) << embedded.status().ToString();
  auto resolved = embedded->ResolveEndpoint({{"SHOP_ENV", "eu"}});
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->host, "db-eu.internal");
  EXPECT_EQ(resolved->port, 6543);
}

TEST(ConnectionSpecTest, UnsetOrBadEndpointVariablesNameFileLineAndField) {
  auto spec = ConnectionSpec::Parse(WithEnvEndpoint(), "connections/shop.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto no_host = spec->ResolveEndpoint({{"SHOP_PG_PORT", "6544"}});
  ASSERT_FALSE(no_host.ok());
  EXPECT_EQ(no_host.status().message(),
            "connections/shop.yml:4:9: auth.host: environment variable SHOP_PG_HOST is not set "
            "(the connection 'shop' reads it from ${env:SHOP_PG_HOST})");
  auto no_port = spec->ResolveEndpoint({{"SHOP_PG_HOST", "h"}});
  ASSERT_FALSE(no_port.ok());
  EXPECT_EQ(no_port.status().message(),
            "connections/shop.yml:5:9: auth.port: environment variable SHOP_PG_PORT is not set "
            "(the connection 'shop' reads it from ${env:SHOP_PG_PORT})");
  for (const char* bad : {"abc", "0", "70000", "5432 ", ""}) {
    auto wrong = spec->ResolveEndpoint({{"SHOP_PG_HOST", "h"}, {"SHOP_PG_PORT", bad}});
    ASSERT_FALSE(wrong.ok()) << bad;
    EXPECT_EQ(wrong.status().message(),
              "connections/shop.yml:5:9: auth.port: ${env:SHOP_PG_PORT} "
              "is '" +
                  std::string(bad) + "', not a port number 1-65535");
  }
  // Only a whole reference stands for a port.
  EXPECT_EQ(ErrorOf(Replace(kGood, "  port: 6543", "  port: 54${env:X}")),
            "connections/shop.yml:5:9: auth.port: wrong type: expected a port number 1-65535 or "
            "${env:NAME}, got '54${env:X}'");
}

TEST(ConnectionSpecTest, ResolvesPasswordFromEnvironmentAtUse) {
  auto spec = ConnectionSpec::Parse(kGood, "connections/shop.yml");
  ASSERT_TRUE(spec.ok());
  auto password = spec->ResolvePassword({{"SHOP_PG_PASSWORD", "s3cret"}});
  ASSERT_TRUE(password.ok());
  EXPECT_EQ(*password, "s3cret");
  auto unset = spec->ResolvePassword({{"OTHER", "x"}});
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.status().message().find("environment variable SHOP_PG_PASSWORD is not set"),
            std::string::npos)
      << unset.status().message();
  EXPECT_EQ(unset.status().message().find("s3cret"), std::string::npos);
}

TEST(ConnectionSpecTest, ProcessEnvironmentHasPath) {
  EXPECT_EQ(ProcessEnvironment().count("PATH"), 1u);
}

TEST(ConnectionSpecTest, SourceBlocksKeepTheirValuesAndPositions) {
  const std::string yaml =
      "name: billing\n"
      "source_type: rest\n"
      "auth:\n"
      "  type: bearer\n"
      "  token: ${env:BILLING_TOKEN}\n"
      "rest:\n"
      "  base_url: http://127.0.0.1:8080/v1\n"
      "  page_size: 100\n"
      "  pagination: {type: cursor, param: \"after\"}\n"
      "streams:\n"
      "  - name: invoices\n"
      "    path: /invoices\n"
      "    primary_key: [id]\n";
  auto spec = ConnectionSpec::Parse(yaml, "connections/billing.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->options.value["page_size"], 100);
  EXPECT_EQ(spec->options.value["pagination"]["type"], "cursor");
  EXPECT_EQ(spec->auth_options.value["type"], "bearer");
  ASSERT_EQ(spec->streams.size(), 1u);
  EXPECT_EQ(spec->streams[0].options.value["path"], "/invoices");
  EXPECT_EQ(spec->streams[0].primary_key, std::vector<std::string>{"id"});
  Status e = spec->options.Error("/pagination/type", "unknown pagination 'cursor'");
  EXPECT_EQ(e.message(),
            "connections/billing.yml:9:22: rest.pagination.type: unknown pagination 'cursor'");
  auto token = spec->auth_options.ResolvedString("/token", {{"BILLING_TOKEN", "t0k"}});
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "t0k");
  auto unset = spec->auth_options.ResolvedString("/token", {});
  EXPECT_NE(unset.status().message().find("BILLING_TOKEN is not set"), std::string::npos);
}

TEST(ConnectionSpecTest, LiteralSecretsInSourceBlocksAreRefused) {
  const std::string yaml =
      "name: billing\nsource_type: rest\nauth:\n  type: bearer\n  token: abc123\n"
      "streams:\n  - name: invoices\n";
  auto spec = ConnectionSpec::Parse(yaml, "b.yml");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("b.yml:5:10: auth.token: a literal secret"),
            std::string::npos)
      << spec.status().message();
}

TEST(ConnectionSpecTest, ABlockOfAnotherSourceTypeIsRefused) {
  const std::string yaml =
      "name: x\nsource_type: files\nrest:\n  base_url: http://h\nstreams:\n  - name: s\n";
  auto spec = ConnectionSpec::Parse(yaml, "x.yml");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(
      spec.status().message().find("x.yml:3:1: rest: a 'rest:' block belongs to source_type rest"),
      std::string::npos)
      << spec.status().message();
}

}  // namespace
}  // namespace dew::connectors
