#include "support/smtp_sink.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace dew::testing {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Base64Decode(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else {
      continue;  // '=' padding and whitespace
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

//! "<a@b>" or "a@b" after "MAIL FROM:"/"RCPT TO:", parameters (SIZE=…, BODY=…) dropped.
std::string PathArg(const std::string& rest) {
  std::string s = rest;
  while (!s.empty() && s[0] == ' ') s.erase(0, 1);
  if (!s.empty() && s[0] == '<') {
    const size_t close = s.find('>');
    return close == std::string::npos ? s.substr(1) : s.substr(1, close - 1);
  }
  return s.substr(0, s.find(' '));
}

//! Reads CRLF-terminated lines from a socket, polling so Stop is noticed.
class LineReader {
 public:
  LineReader(int fd, const std::atomic<bool>& stop) : fd_(fd), stop_(stop) {}
  //! False at end of stream, on error or on stop.
  bool Next(std::string* line) {
    for (;;) {
      const size_t nl = buf_.find("\r\n");
      if (nl != std::string::npos) {
        *line = buf_.substr(0, nl);
        buf_.erase(0, nl + 2);
        return true;
      }
      if (stop_.load()) return false;
      pollfd p{fd_, POLLIN, 0};
      const int r = poll(&p, 1, 100);
      if (r < 0) return false;
      if (r == 0) continue;
      char chunk[4096];
      const ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n <= 0) return false;
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  const std::atomic<bool>& stop_;
  std::string buf_;
};

void Reply(int fd, const std::string& text) {
  const std::string line = text + "\r\n";
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = write(fd, line.data() + off, line.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

std::string ReceivedMail::Header(const std::string& name) const {
  const size_t end = data.find("\r\n\r\n");
  const std::string head = data.substr(0, end);
  size_t pos = 0;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    const std::string line = head.substr(pos, eol - pos);
    const size_t colon = line.find(':');
    if (colon != std::string::npos && Lower(line.substr(0, colon)) == Lower(name)) {
      std::string value = line.substr(colon + 1);
      // Folded continuation lines start with white space.
      size_t next = eol + 2;
      while (next < head.size() && (head[next] == ' ' || head[next] == '\t')) {
        size_t e = head.find("\r\n", next);
        if (e == std::string::npos) e = head.size();
        value += head.substr(next, e - next);
        next = e + 2;
      }
      while (!value.empty() && value[0] == ' ') value.erase(0, 1);
      return value;
    }
    pos = eol + 2;
  }
  return "";
}

std::string ReceivedMail::Body() const {
  const size_t end = data.find("\r\n\r\n");
  return end == std::string::npos ? "" : data.substr(end + 4);
}

SmtpSink::~SmtpSink() {
  Stop();
}

Status SmtpSink::Start() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) return Status::IOError("smtp sink: socket: " + std::string(strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 8) != 0) {
    return Status::IOError("smtp sink: bind/listen: " + std::string(strerror(errno)));
  }
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
  return Status::OK();
}

void SmtpSink::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
}

void SmtpSink::RejectRecipient(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  rejected_.push_back(address);
}

std::vector<ReceivedMail> SmtpSink::messages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return messages_;
}

void SmtpSink::Serve() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    Session(fd);
    close(fd);
  }
}

void SmtpSink::Session(int fd) {
  LineReader in(fd, stop_);
  Reply(fd, "220 sink.test ESMTP dew test sink");
  ReceivedMail mail;
  bool greeted = false;
  bool have_from = false;
  std::string line;
  auto read_auth = [&](std::string* out) {
    std::string l;
    if (!in.Next(&l)) return false;
    *out = Base64Decode(l);
    return true;
  };
  while (in.Next(&line)) {
    const std::string verb = Lower(line.substr(0, line.find(' ')));
    const std::string upper_line = Lower(line);
    if (verb == "ehlo" || verb == "helo") {
      mail = ReceivedMail{};
      mail.helo = line.size() > 5 ? line.substr(5) : "";
      greeted = true;
      have_from = false;
      if (verb == "ehlo") {
        Reply(fd, "250-sink.test greets " + mail.helo);
        Reply(fd, "250-8BITMIME");
        Reply(fd, "250 AUTH PLAIN LOGIN");
      } else {
        Reply(fd, "250 sink.test");
      }
    } else if (verb == "auth") {
      if (!greeted) {
        Reply(fd, "503 5.5.1 EHLO first");
        continue;
      }
      const std::string rest = line.size() > 5 ? line.substr(5) : "";
      const std::string mech = Lower(rest.substr(0, rest.find(' ')));
      std::string user, password;
      if (mech == "plain") {
        std::string decoded;
        if (rest.find(' ') != std::string::npos) {
          decoded = Base64Decode(rest.substr(rest.find(' ') + 1));
        } else {
          Reply(fd, "334 ");
          if (!read_auth(&decoded)) return;
        }
        // authzid NUL authcid NUL password
        const size_t a = decoded.find('\0');
        const size_t b = a == std::string::npos ? a : decoded.find('\0', a + 1);
        if (b != std::string::npos) {
          user = decoded.substr(a + 1, b - a - 1);
          password = decoded.substr(b + 1);
        }
      } else if (mech == "login") {
        if (rest.find(' ') != std::string::npos) {
          user = Base64Decode(rest.substr(rest.find(' ') + 1));
        } else {
          Reply(fd, "334 VXNlcm5hbWU6");
          if (!read_auth(&user)) return;
        }
        Reply(fd, "334 UGFzc3dvcmQ6");
        if (!read_auth(&password)) return;
      } else {
        Reply(fd, "504 5.5.4 unrecognized authentication type");
        continue;
      }
      if (reject_logins_.load()) {
        Reply(fd, "535 5.7.8 authentication credentials invalid");
        continue;
      }
      mail.user = user;
      mail.password = password;
      Reply(fd, "235 2.7.0 authentication successful");
    } else if (upper_line.rfind("mail from:", 0) == 0) {
      if (!greeted) {
        Reply(fd, "503 5.5.1 EHLO first");
        continue;
      }
      mail.mail_from = PathArg(line.substr(10));
      mail.rcpt_to.clear();
      have_from = true;
      Reply(fd, "250 2.1.0 sender ok");
    } else if (upper_line.rfind("rcpt to:", 0) == 0) {
      if (!have_from) {
        Reply(fd, "503 5.5.1 need MAIL before RCPT");
        continue;
      }
      const std::string to = PathArg(line.substr(8));
      bool rejected;
      {
        std::lock_guard<std::mutex> lock(mu_);
        rejected = std::find(rejected_.begin(), rejected_.end(), to) != rejected_.end();
      }
      if (rejected) {
        Reply(fd, "550 5.1.1 <" + to + ">: no such user");
        continue;
      }
      mail.rcpt_to.push_back(to);
      Reply(fd, "250 2.1.5 recipient ok");
    } else if (verb == "data") {
      if (mail.rcpt_to.empty()) {
        Reply(fd, "503 5.5.1 need RCPT before DATA");
        continue;
      }
      Reply(fd, "354 end data with <CR><LF>.<CR><LF>");
      std::string data;
      bool ended = false;
      while (in.Next(&line)) {
        if (line == ".") {
          ended = true;
          break;
        }
        // RFC 5321 4.5.2: a leading dot was doubled by the sender.
        if (!line.empty() && line[0] == '.') line.erase(0, 1);
        data += line + "\r\n";
      }
      if (!ended) return;
      mail.data = data;
      {
        std::lock_guard<std::mutex> lock(mu_);
        messages_.push_back(mail);
      }
      mail.mail_from.clear();
      mail.rcpt_to.clear();
      have_from = false;
      Reply(fd, "250 2.0.0 queued as " + std::to_string(messages().size()));
    } else if (verb == "rset") {
      mail.mail_from.clear();
      mail.rcpt_to.clear();
      have_from = false;
      Reply(fd, "250 2.0.0 ok");
    } else if (verb == "noop") {
      Reply(fd, "250 2.0.0 ok");
    } else if (verb == "quit") {
      Reply(fd, "221 2.0.0 bye");
      return;
    } else {
      Reply(fd, "500 5.5.2 command not recognized");
    }
  }
}

}  // namespace dew::testing
