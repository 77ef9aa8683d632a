#include "orchestrator/event_dispatcher.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace dew::orchestrator {

std::string SignWebhookBody(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; i++) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

EventDispatcher::EventDispatcher(control::ControlStore& store, std::shared_ptr<HttpClient> http,
                                 std::shared_ptr<Clock> clock, std::vector<WebhookSpec> webhooks,
                                 std::map<std::string, std::string> env,
                                 EventDispatcherOptions options)
    : store_(store),
      http_(std::move(http)),
      clock_(std::move(clock)),
      webhooks_(std::move(webhooks)),
      env_(std::move(env)),
      options_(options) {}

Result<std::vector<int64_t>> EventDispatcher::OnRunSucceeded(
    const control::RunRecord& run, const std::vector<DatasetReady>& datasets) {
  std::vector<int64_t> ids;
  for (const DatasetReady& d : datasets) {
    nlohmann::json payload = {{"event", "data_ready"},
                              {"dataset", d.dataset},
                              {"row_count", d.row_count},
                              {"schema_version", d.schema_version},
                              {"run_id", run.id},
                              {"pipeline", run.pipeline},
                              {"logical_date", run.logical_date}};
    DEW_ASSIGN_OR_RETURN(int64_t id, store_.AppendEvent("data_ready", payload.dump()));
    ids.push_back(id);
    for (const WebhookSpec& w : webhooks_) {
      if (!w.Wants("data_ready", d.dataset)) continue;
      DEW_RETURN_IF_ERROR(store_.AddDelivery(id, w.name, w.url).status());
    }
  }
  return ids;
}

std::string EventDispatcher::DeliveryBody(const control::EventRecord& event) {
  nlohmann::json body = nlohmann::json::parse(event.payload_json, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    body = nlohmann::json{{"event", event.kind}, {"payload", event.payload_json}};
  }
  body["id"] = event.id;
  body["emitted_at_ms"] = event.created_at_ms;
  return body.dump();
}

Status EventDispatcher::Send(const control::DeliveryRecord& delivery, DeliveryPass* pass) {
  const WebhookSpec* hook = nullptr;
  for (const WebhookSpec& w : webhooks_) {
    if (w.name == delivery.webhook) hook = &w;
  }
  const int attempt = delivery.attempts + 1;
  auto record_failure = [&](const std::string& error, bool final_failure) -> Status {
    const bool dead = final_failure || hook == nullptr || attempt >= hook->max_attempts;
    const int64_t next = clock_->NowMillis() + (hook != nullptr ? hook->RetryDelayMs(attempt) : 0);
    DEW_RETURN_IF_ERROR(store_.FinishDeliveryAttempt(
        delivery.id, dead ? control::DeliveryStatus::kDead : control::DeliveryStatus::kPending,
        next, error));
    std::lock_guard<std::mutex> lock(mu_);
    stats_.failed_attempts++;
    if (dead) {
      stats_.dead++;
      pass->dead++;
    } else {
      pass->retried++;
    }
    return Status::OK();
  };
  if (hook == nullptr) {
    return record_failure("no webhook named '" + delivery.webhook + "' in webhooks/ any more",
                          true);
  }
  auto secret = hook->ResolveSecret(env_);
  if (!secret.ok()) return record_failure(secret.status().message(), false);
  DEW_ASSIGN_OR_RETURN(control::EventRecord event, store_.GetEvent(delivery.event_id));
  HttpRequest request;
  request.method = "POST";
  request.url = hook->url;
  request.body = DeliveryBody(event);
  request.timeout_ms = hook->timeout_ms;
  request.connect_timeout_ms = std::min<int64_t>(hook->timeout_ms, 10000);
  request.headers = {{"Content-Type", "application/json"},
                     {"User-Agent", "dew-webhooks"},
                     {"X-Dew-Event", event.kind},
                     {"X-Dew-Delivery", std::to_string(delivery.id)}};
  if (!secret->empty()) {
    request.headers.push_back({"X-Dew-Signature", SignWebhookBody(*secret, request.body)});
  }
  auto response = http_->Send(request);
  if (!response.ok()) return record_failure(response.status().message(), false);
  if (response->status < 200 || response->status >= 300) {
    std::string snippet = response->body.substr(0, 200);
    return record_failure(
        "HTTP " + std::to_string(response->status) + (snippet.empty() ? "" : ": " + snippet),
        false);
  }
  DEW_RETURN_IF_ERROR(
      store_.FinishDeliveryAttempt(delivery.id, control::DeliveryStatus::kDelivered, 0, ""));
  std::lock_guard<std::mutex> lock(mu_);
  stats_.delivered++;
  pass->delivered++;
  return Status::OK();
}

Result<DeliveryPass> EventDispatcher::DeliverDue() {
  DEW_ASSIGN_OR_RETURN(std::vector<control::DeliveryRecord> due,
                       store_.ClaimDueDeliveries(options_.claim_lease_ms, options_.batch));
  DeliveryPass pass;
  for (const control::DeliveryRecord& d : due) DEW_RETURN_IF_ERROR(Send(d, &pass));
  return pass;
}

Status EventDispatcher::Replay(int64_t delivery_id) {
  return store_.ReplayDelivery(delivery_id);
}

void EventDispatcher::Run(const std::function<void(const Status&)>& on_error) {
  for (;;) {
    auto pass = DeliverDue();
    if (!pass.ok() && on_error) on_error(pass.status());
    // A store without deliveries will not grow them: say so once, not every second.
    if (!pass.ok() && pass.status().code() == Status::Code::kNotSupported) return;
    // A full batch means more are probably due: go on at once.
    const bool more = pass.ok() && pass->delivered + pass->retried + pass->dead >= options_.batch;
    std::unique_lock<std::mutex> lock(stop_mu_);
    if (!more) {
      stop_cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                        [&] { return stop_; });
    }
    if (stop_) return;
  }
}

void EventDispatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
}

EventDispatcherStats EventDispatcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace dew::orchestrator
