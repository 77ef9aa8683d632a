// WebhookSpec: one webhook subscription file (webhooks/<name>.yml), parsed and validated with
// `file:line:column: field: problem` errors. See docs/scheduling.md ("Events and webhooks").
//
//   name: warehouse            # default: the file name without .yml
//   url: https://hooks.example.com/dew
//   secret: ${env:DEW_WEBHOOK_SECRET}   # HMAC-SHA256 key; a literal secret is refused
//   events: [data_ready]       # default [data_ready]
//   datasets: [gold.revenue]   # only these datasets; default: all
//   max_attempts: 5            # attempts before the dead-letter list, 1..100
//   backoff: 2s                # first retry delay, doubled each time ...
//   max_delay: 5m              # ... up to this
//   timeout: 10s               # per request
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace dew {

class FileSystem;

namespace orchestrator {

//! The event kinds a webhook may subscribe to.
const std::vector<std::string>& WebhookEventKinds();

//! A value; safe to share between threads for reading.
struct WebhookSpec {
  std::string file;  //!< as given to Parse, for messages
  std::string name;
  std::string url;
  std::string secret_ref;  //!< "${env:NAME}" as written, or empty (requests are then unsigned)
  int secret_line = 0;     //!< where secret_ref is, for errors when resolving it
  int secret_column = 0;
  std::vector<std::string> events = {"data_ready"};
  std::vector<std::string> datasets;  //!< empty: every dataset
  int max_attempts = 5;
  int64_t backoff_ms = 1000;
  int64_t max_delay_ms = 300000;
  int64_t timeout_ms = 10000;

  //! Parses `yaml_text`; `file_name` names it in messages and gives the default name.
  //! InvalidArgument "file:line:column: field: problem" on any syntax or validation error.
  static Result<WebhookSpec> Parse(const std::string& yaml_text, const std::string& file_name);

  //! Whether an event of `kind` about `dataset` goes to this webhook.
  bool Wants(const std::string& kind, const std::string& dataset) const;

  //! The secret with its ${env:NAME} resolved from `env`; "" when there is none.
  //! InvalidArgument "file:line:column: secret: environment variable NAME is not set".
  Result<std::string> ResolveSecret(const std::map<std::string, std::string>& env) const;

  //! The delay before attempt `attempt` + 1 after `attempt` failed (1-based):
  //! min(backoff * 2^(attempt-1), max_delay).
  int64_t RetryDelayMs(int attempt) const;
};

//! Every webhooks/*.yml (or .yaml) of `dir` (absent: none), by file name. The first broken
//! file's error, or a duplicate name (naming both files), fails the whole load: a subscription
//! must never be silently dropped.
Result<std::vector<WebhookSpec>> LoadWebhooks(const std::string& dir, FileSystem& fs);

}  // namespace orchestrator
}  // namespace dew
