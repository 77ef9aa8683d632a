// SmtpClient: outbound e-mail (RFC 5321 submission), passed in like the HttpClient so the email
// task is tested against a real SMTP conversation on loopback. CurlSmtpClient is the
// implementation over libcurl's SMTP support.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace dew {

//! Where and how to submit mail.
struct SmtpServer {
  std::string host;
  int port = 25;
  std::string user;      //!< empty: no AUTH
  std::string password;  //!< the resolved secret (never a ${env:…} reference)
  //! Upgrade the connection with STARTTLS and refuse to send when the server does not offer it.
  bool starttls = false;
  int64_t timeout_ms = 60000;  //!< the whole conversation, connect included
};

struct EmailMessage {
  std::string from;             //!< envelope sender and From: header, e.g. "dew@example.com"
  std::vector<std::string> to;  //!< envelope recipients and To: header
  std::string subject;          //!< UTF-8; encoded as RFC 2047 when not plain ASCII
  std::string body;             //!< text/plain, UTF-8; line ends normalized to CRLF
  //! Extra headers, e.g. {"X-Dew-Run", id}.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string date;        //!< Date: value (see Rfc5322Date); empty: the time of sending
  std::string message_id;  //!< Message-ID: value with angle brackets; empty: one is made
};

//! The RFC 5322 text of `message` (headers, blank line, body, CRLF line ends, no dot-stuffing:
//! that is the transport's). Its date and message_id must be set. CR and LF in header values
//! become spaces, so no value can add a header.
std::string FormatEmail(const EmailMessage& message);

//! "Sat, 05 Dec 2026 09:30:00 +0000" for milliseconds since the epoch (UTC).
std::string Rfc5322Date(int64_t epoch_millis);

class SmtpClient {
 public:
  virtual ~SmtpClient() = default;
  //! Submits one message to every recipient. `cancelled`, when set, is polled during the
  //! conversation; true aborts it with Status::Interrupted. IOError naming host:port and the
  //! server's last reply (e.g. "550 5.1.1 no such user") when the server refuses, or the transport
  //! error (refused, TLS, timeout). Thread-safe.
  virtual Status Send(const SmtpServer& server, const EmailMessage& message,
                      const std::function<bool()>& cancelled) = 0;
};

//! The libcurl client (TLS verified with the system CA store).
std::shared_ptr<SmtpClient> NewCurlSmtpClient();

}  // namespace dew
