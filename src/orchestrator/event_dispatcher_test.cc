#include "orchestrator/event_dispatcher.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "control/sqlite_control_store.h"
#include "core/file_system.h"

namespace dew::orchestrator {
namespace {

using control::DeliveryStatus;

constexpr int64_t kT0 = 1'800'000'000'000;

//! A webhook receiver on loopback: verifies X-Dew-Signature with its own HMAC, answers 500 to
//! the first `fail_first` requests of a path, 401 to a bad signature, else 200.
class Receiver {
 public:
  Receiver(std::string secret, int fail_first) : secret_(std::move(secret)), fail_(fail_first) {
    server_.Post(R"(/hook/(\w+))", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      requests_++;
      if (req.matches[1] == "broken" || fail_ > 0) {
        if (req.matches[1] != "broken") fail_--;
        res.status = 500;
        res.set_content("try later", "text/plain");
        return;
      }
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
           reinterpret_cast<const unsigned char*>(req.body.data()), req.body.size(), mac, &len);
      char hex[2 * EVP_MAX_MD_SIZE + 1];
      for (unsigned int i = 0; i < len; i++) std::snprintf(hex + 2 * i, 3, "%02x", mac[i]);
      if (req.get_header_value("X-Dew-Signature") != std::string("sha256=") + hex) {
        res.status = 401;
        return;
      }
      accepted_.push_back(req.body);
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& name) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/hook/" + name;
  }
  int requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<std::string> accepted() {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_;
  }

 private:
  const std::string secret_;
  std::mutex mu_;
  int fail_;
  int requests_ = 0;
  std::vector<std::string> accepted_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

WebhookSpec Hook(const std::string& yaml, const std::string& file = "webhooks/w.yml") {
  auto spec = WebhookSpec::Parse(yaml, file);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? *spec : WebhookSpec{};
}

class EventDispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>(kT0);
    auto store = control::SqliteControlStore::Open(":memory:", clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    run_.id = "run-1";
    run_.pipeline = "nightly";
    run_.logical_date = "2026-03-02";
  }

  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<control::SqliteControlStore> store_;
  control::RunRecord run_;
  std::map<std::string, std::string> env_ = {{"HOOK_SECRET", "s3cret"}};
};

TEST(WebhookSignatureTest, Rfc4231TestCase2) {
  EXPECT_EQ(SignWebhookBody("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_F(EventDispatcherTest, RetriesWithBackoffThenDeliversSignedJson) {
  Receiver receiver("s3cret", /*fail_first=*/2);
  WebhookSpec hook = Hook("url: " + receiver.Url("ok") +
                          "\nsecret: ${env:HOOK_SECRET}\nmax_attempts: 3\nbackoff: 2s\n"
                          "max_delay: 3s\n");
  EventDispatcher dispatcher(*store_, NewCurlHttpClient(), clock_, {hook}, env_);
  auto ids = dispatcher.OnRunSucceeded(run_, {{"gold.revenue", 42, 3}});
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 1u);

  auto pass = dispatcher.DeliverDue();
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_EQ(pass->retried, 1);
  // Not due again before the backoff (2s) has passed.
  clock_->Advance(1999);
  pass = dispatcher.DeliverDue();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->retried + pass->delivered, 0);
  clock_->Advance(1);
  pass = dispatcher.DeliverDue();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->retried, 1);
  auto list = store_->ListDeliveries({});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].attempts, 2);
  EXPECT_EQ((*list)[0].last_error, "HTTP 500: try later");
  // The second delay is capped at max_delay (3s, not 4s).
  EXPECT_EQ((*list)[0].next_attempt_at_ms, clock_->NowMillis() + 3000);
  clock_->Advance(3000);
  pass = dispatcher.DeliverDue();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->delivered, 1);
  EXPECT_EQ(receiver.requests(), 3);
  ASSERT_EQ(receiver.accepted().size(), 1u);
  auto body = nlohmann::json::parse(receiver.accepted()[0]);
  EXPECT_EQ(body["event"], "data_ready");
  EXPECT_EQ(body["dataset"], "gold.revenue");
  EXPECT_EQ(body["row_count"], 42);
  EXPECT_EQ(body["schema_version"], 3);
  EXPECT_EQ(body["run_id"], "run-1");
  EXPECT_EQ(body["pipeline"], "nightly");
  EXPECT_EQ(body["id"], (*ids)[0]);
  auto delivered = store_->GetDelivery((*list)[0].id);
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(delivered->status, DeliveryStatus::kDelivered);
  EXPECT_EQ(delivered->attempts, 3);
  EXPECT_EQ(delivered->delivered_at_ms, clock_->NowMillis());
  EXPECT_EQ(dispatcher.stats().delivered, 1);
  EXPECT_EQ(dispatcher.stats().failed_attempts, 2);
}

TEST_F(EventDispatcherTest, DeadLetterAfterMaxAttemptsThenReplay) {
  Receiver receiver("s3cret", 0);
  WebhookSpec broken = Hook("name: broken\nurl: " + receiver.Url("broken") +
                            "\nsecret: ${env:HOOK_SECRET}\nmax_attempts: 2\nbackoff: 1s\n");
  EventDispatcher dispatcher(*store_, NewCurlHttpClient(), clock_, {broken}, env_);
  ASSERT_TRUE(dispatcher.OnRunSucceeded(run_, {{"gold.revenue", 1, 1}}).ok());
  ASSERT_TRUE(dispatcher.DeliverDue().ok());
  clock_->Advance(1000);
  auto pass = dispatcher.DeliverDue();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->dead, 1);
  control::DeliveryFilter dead;
  dead.status = DeliveryStatus::kDead;
  auto list = store_->ListDeliveries(dead);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].attempts, 2);
  EXPECT_EQ((*list)[0].webhook, "broken");
  // Dead deliveries are never sent again on their own.
  clock_->Advance(3600 * 1000);
  pass = dispatcher.DeliverDue();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->dead + pass->retried + pass->delivered, 0);
  EXPECT_EQ(receiver.requests(), 2);

  // Replayed to a webhook that works again (same name, now pointing at a healthy path).
  WebhookSpec fixed =
      Hook("name: broken\nurl: " + receiver.Url("ok") + "\nsecret: ${env:HOOK_SECRET}\n");
  EventDispatcher dispatcher2(*store_, NewCurlHttpClient(), clock_, {fixed}, env_);
  ASSERT_TRUE(dispatcher2.Replay((*list)[0].id).ok());
  pass = dispatcher2.DeliverDue();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->delivered, 1);
  EXPECT_EQ(receiver.accepted().size(), 1u);
  EXPECT_TRUE(dispatcher2.Replay(999).IsNotFound());
}

TEST_F(EventDispatcherTest, WrongSecretIsRefusedByTheReceiver) {
  Receiver receiver("s3cret", 0);
  WebhookSpec hook = Hook("url: " + receiver.Url("ok") + "\nsecret: ${env:HOOK_SECRET}\n");
  std::map<std::string, std::string> wrong = {{"HOOK_SECRET", "guess"}};
  EventDispatcher dispatcher(*store_, NewCurlHttpClient(), clock_, {hook}, wrong);
  ASSERT_TRUE(dispatcher.OnRunSucceeded(run_, {{"gold.revenue", 1, 1}}).ok());
  auto pass = dispatcher.DeliverDue();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->retried, 1);
  EXPECT_TRUE(receiver.accepted().empty());
  auto list = store_->ListDeliveries({});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0].last_error, "HTTP 401");
}

TEST_F(EventDispatcherTest, MissingSecretVariableIsRecordedOnTheDelivery) {
  WebhookSpec hook = Hook("url: http://127.0.0.1:9/x\nsecret: ${env:NOPE}\nmax_attempts: 1\n");
  EventDispatcher dispatcher(*store_, NewCurlHttpClient(), clock_, {hook}, env_);
  ASSERT_TRUE(dispatcher.OnRunSucceeded(run_, {{"gold.revenue", 1, 1}}).ok());
  auto pass = dispatcher.DeliverDue();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->dead, 1);
  auto list = store_->ListDeliveries({});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0].last_error,
            "webhooks/w.yml:2:9: secret: environment variable NOPE is not set");
}

TEST_F(EventDispatcherTest, DatasetFilterAndEventRecords) {
  WebhookSpec only = Hook("url: http://127.0.0.1:9/x\ndatasets: [gold.other]\n");
  EventDispatcher dispatcher(*store_, NewCurlHttpClient(), clock_, {only}, env_);
  auto ids = dispatcher.OnRunSucceeded(run_, {{"gold.revenue", 5, 2}, {"gold.other", 7, 1}});
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 2u);
  auto list = store_->ListDeliveries({});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].event_id, (*ids)[1]);
  auto events = store_->ListEvents(0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].kind, "data_ready");
  EXPECT_EQ(nlohmann::json::parse((*events)[0].payload_json)["row_count"], 5);
}

TEST_F(EventDispatcherTest, AClaimedDeliveryIsNotClaimedTwice) {
  WebhookSpec hook = Hook("url: http://127.0.0.1:9/x\n");
  EventDispatcher dispatcher(*store_, NewCurlHttpClient(), clock_, {hook}, env_);
  ASSERT_TRUE(dispatcher.OnRunSucceeded(run_, {{"gold.revenue", 1, 1}}).ok());
  auto first = store_->ClaimDueDeliveries(60000, 10);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 1u);
  auto second = store_->ClaimDueDeliveries(60000, 10);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->empty());
  // A sender that died: the lease runs out and the delivery is due again.
  clock_->Advance(60000);
  auto third = store_->ClaimDueDeliveries(60000, 10);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->size(), 1u);
}

TEST(WebhookSpecTest, ParsesDefaultsAndFields) {
  auto spec = WebhookSpec::Parse(
      "url: https://h.example.com/x\nsecret: ${env:S}\nevents: data_ready\n"
      "datasets: [gold.a, gold.b]\nmax_attempts: 7\nbackoff: 500ms\nmax_delay: 1m\n"
      "timeout: 3s\n",
      "webhooks/ops.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->name, "ops");
  EXPECT_EQ(spec->max_attempts, 7);
  EXPECT_EQ(spec->RetryDelayMs(1), 500);
  EXPECT_EQ(spec->RetryDelayMs(3), 2000);
  EXPECT_EQ(spec->RetryDelayMs(20), 60000);
  EXPECT_TRUE(spec->Wants("data_ready", "gold.b"));
  EXPECT_FALSE(spec->Wants("data_ready", "gold.c"));
  EXPECT_EQ(spec->timeout_ms, 3000);
}

TEST(WebhookSpecTest, ErrorsNameFileLineAndField) {
  auto check = [](const std::string& yaml, const std::string& want) {
    auto spec = WebhookSpec::Parse(yaml, "webhooks/w.yml");
    ASSERT_FALSE(spec.ok()) << yaml;
    EXPECT_EQ(spec.status().message(), want);
  };
  check("url: http://x\nsecret: hunter2\n",
        "webhooks/w.yml:2:9: secret: write the secret as ${env:NAME} (a literal secret in a file "
        "is refused)");
  check("url: http://x\nsecrt: ${env:S}\n",
        "webhooks/w.yml:2:1: secrt: unknown key 'secrt' (did you mean 'secret'?)");
  check("name: w\n", "webhooks/w.yml:1:1: url: missing required field 'url'");
  check("url: ftp://x\n", "webhooks/w.yml:1:6: url: 'ftp://x' is not an http:// or https:// URL");
  check("url: http://x\nevents: [data_redy]\n",
        "webhooks/w.yml:2:9: events: unknown event 'data_redy' (valid: data_ready)");
  check("url: http://x\nbackoff: 2x\n",
        "webhooks/w.yml:2:10: backoff: bad duration '2x' (expected numbers with units ms, s, m, "
        "h, e.g. 2s)");
  check("url: http://x\nmax_attempts: 0\n",
        "webhooks/w.yml:2:15: max_attempts: expected an integer 1-100, got '0'");
  check("url: [http://x\n",
        "webhooks/w.yml:2:1: yaml: syntax error: end of sequence flow not found");
}

TEST(WebhookSpecTest, LoadRefusesDuplicateNames) {
  char tmpl[] = "/tmp/dew_webhooks_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto fs = FileSystem::Posix();
  ASSERT_TRUE(fs->WriteFile(dir + "/a.yml", "name: same\nurl: http://x\n").ok());
  ASSERT_TRUE(fs->WriteFile(dir + "/b.yml", "name: same\nurl: http://y\n").ok());
  auto loaded = LoadWebhooks(dir, *fs);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(
      loaded.status().message().find("duplicate webhook name 'same' (also in " + dir + "/a.yml)"),
      std::string::npos)
      << loaded.status().message();
  ASSERT_TRUE(fs->RemoveFile(dir + "/b.yml").ok());
  loaded = LoadWebhooks(dir, *fs);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->size(), 1u);
  ASSERT_TRUE(fs->RemoveAll(dir).ok());
}

}  // namespace
}  // namespace dew::orchestrator
