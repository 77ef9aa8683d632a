// The settings the email task kind reads from dew.yml's `smtp:` section:
//
//   smtp:
//     host: smtp.example.com
//     port: 587
//     from: dew@example.com
//     user: dew                      # optional; no AUTH without it
//     password: ${env:SMTP_PASSWORD}  # a reference only; a literal password is refused
//     starttls: true                 # default false
//
// Parsed when a task sends (not at pipeline load), so a project without e-mail needs none.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace dew::orchestrator {

struct SmtpSettings {
  std::string host;
  int port = 25;
  std::string from;
  std::string user;
  std::string password_ref;  //!< "${env:NAME}" as written, or empty
  bool starttls = false;
};

//! The `smtp:` section of dew.yml text; nullopt when there is none. InvalidArgument
//! "source:line:column: smtp.field: problem" for a missing host or from, a port out of 1-65535,
//! an unknown key, a non-boolean starttls or a literal password.
Result<std::optional<SmtpSettings>> ParseSmtpSettings(const std::string& yaml_text,
                                                      const std::string& source);

//! The address list of an email task's `to` field ("a@x, b@y" or "a@x; b@y"), trimmed.
//! InvalidArgument naming the entry that is not an address (no '@', spaces, angle brackets).
Result<std::vector<std::string>> ParseRecipients(const std::string& to);

}  // namespace dew::orchestrator
