// EventDispatcher: turns finished runs into `data_ready` events and delivers them to the
// webhooks subscribed to them (webhooks/*.yml), durably.
//
// Every event and every delivery lives in the control store first, so nothing is lost when
// the process dies: a delivery is pending until a POST of the event's JSON (signed with
// `X-Dew-Signature: sha256=<hex HMAC-SHA256 of the body>`) gets a 2xx answer; a failed attempt
// is retried with exponential backoff (the webhook's backoff doubling up to max_delay); after
// max_attempts failures it is dead (the dead-letter list) until replayed. Deliveries are
// claimed with a lease, so two dispatchers on one store do not send one delivery at once.
// See docs/scheduling.md.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/control_store.h"
#include "core/clock.h"
#include "core/http_client.h"
#include "core/status.h"
#include "orchestrator/webhook_spec.h"

namespace dew::orchestrator {

//! "sha256=" + lower-case hex of HMAC-SHA256(key = `secret`, message = `body`).
std::string SignWebhookBody(const std::string& secret, const std::string& body);

//! One dataset a run wrote, as reported to the dispatcher.
struct DatasetReady {
  std::string dataset;         //!< e.g. "gold.revenue"
  int64_t row_count = 0;       //!< rows in the table after the run
  int64_t schema_version = 0;  //!< the table version whose schema readers will see
};

struct EventDispatcherOptions {
  //! How long a claimed delivery is reserved for the sender before another may take it.
  int64_t claim_lease_ms = 60000;
  //! Most deliveries sent in one DeliverDue pass.
  int batch = 50;
  //! How often Run looks for due deliveries.
  int64_t poll_interval_ms = 1000;
};

//! What one DeliverDue pass did.
struct DeliveryPass {
  int delivered = 0;
  int retried = 0;  //!< failed, to be tried again later
  int dead = 0;     //!< failed for the last time: moved to the dead-letter list
};

struct EventDispatcherStats {
  int64_t delivered = 0;
  int64_t failed_attempts = 0;
  int64_t dead = 0;
};

//! Thread-safe: OnRunSucceeded may be called from executor threads while Run delivers.
class EventDispatcher {
 public:
  //! `store` must outlive the dispatcher. `env` resolves the webhooks' ${env:...} secrets.
  EventDispatcher(control::ControlStore& store, std::shared_ptr<HttpClient> http,
                  std::shared_ptr<Clock> clock, std::vector<WebhookSpec> webhooks,
                  std::map<std::string, std::string> env, EventDispatcherOptions options = {});
  EventDispatcher(const EventDispatcher&) = delete;
  EventDispatcher& operator=(const EventDispatcher&) = delete;

  //! Records one `data_ready` event per dataset of a succeeded run (payload: event, dataset,
  //! row_count, schema_version, run_id, pipeline, logical_date) and a pending delivery for each
  //! webhook that wants it. Returns the event ids. Store errors are returned; the run itself is
  //! not affected (the caller logs them).
  Result<std::vector<int64_t>> OnRunSucceeded(const control::RunRecord& run,
                                              const std::vector<DatasetReady>& datasets);

  //! Sends the due pending deliveries once (at most options.batch). Store errors are returned;
  //! HTTP failures are recorded on the delivery, not returned.
  Result<DeliveryPass> DeliverDue();

  //! Puts a delivery (typically a dead one) back to pending with its attempts reset, due now.
  //! NotFound for an unknown id.
  Status Replay(int64_t delivery_id);

  //! Delivers until Stop(), every poll interval (real time). Errors go to `on_error`; returns
  //! at once after a NotSupported one (a store that keeps no deliveries).
  void Run(const std::function<void(const Status&)>& on_error);
  void Stop();

  EventDispatcherStats stats() const;

  //! The request body of a delivery: the event's payload with its `id` added, as JSON.
  static std::string DeliveryBody(const control::EventRecord& event);

 private:
  //! Sends one claimed delivery and records the outcome.
  Status Send(const control::DeliveryRecord& delivery, DeliveryPass* pass);

  control::ControlStore& store_;
  const std::shared_ptr<HttpClient> http_;
  const std::shared_ptr<Clock> clock_;
  const std::vector<WebhookSpec> webhooks_;
  const std::map<std::string, std::string> env_;
  const EventDispatcherOptions options_;

  mutable std::mutex mu_;
  EventDispatcherStats stats_;  // guarded by mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_
};

}  // namespace dew::orchestrator
