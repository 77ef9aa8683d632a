// SmtpSink: a STAND-IN for an SMTP server (none can run here). It listens on 127.0.0.1 and
// speaks enough of RFC 5321 for a mail submission: the 220 greeting, EHLO/HELO (EHLO advertises
// AUTH PLAIN LOGIN and 8BITMIME, never STARTTLS), AUTH PLAIN and AUTH LOGIN (RFC 4954), MAIL
// FROM, RCPT TO, DATA with dot-unstuffing up to the lone "." line, RSET, NOOP and QUIT, with the
// RFC's reply codes (503 for a command out of sequence, 500 for an unknown one). Each accepted
// message is recorded; a test may make it refuse one recipient (550) or all logins (535).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace dew::testing {

struct ReceivedMail {
  std::string helo;  //!< the name given with EHLO/HELO
  std::string user;  //!< the authenticated user; empty without AUTH
  std::string password;
  std::string mail_from;             //!< the envelope sender, without angle brackets
  std::vector<std::string> rcpt_to;  //!< the envelope recipients, without angle brackets
  std::string data;                  //!< the message as sent after DATA, unstuffed, CRLF kept

  //! The first header named `name` (case-insensitive), unfolded; empty when absent.
  std::string Header(const std::string& name) const;
  //! The text after the blank line ending the headers.
  std::string Body() const;
};

//! Thread-safe. One connection at a time (a submission client sends one message per session).
class SmtpSink {
 public:
  SmtpSink() = default;
  ~SmtpSink();
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  //! Binds 127.0.0.1 on a free port and serves in a thread. IOError when binding fails.
  Status Start();
  void Stop();
  int port() const { return port_; }

  //! RCPT TO this address is answered "550 5.1.1 <address>: no such user".
  void RejectRecipient(const std::string& address);
  //! Any AUTH is answered "535 5.7.8 authentication credentials invalid".
  void RejectLogins() { reject_logins_ = true; }

  std::vector<ReceivedMail> messages() const;

 private:
  void Serve();
  void Session(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reject_logins_{false};
  mutable std::mutex mu_;
  std::vector<std::string> rejected_;   // guarded by mu_
  std::vector<ReceivedMail> messages_;  // guarded by mu_
};

}  // namespace dew::testing
