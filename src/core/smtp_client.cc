#include "core/smtp_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>

namespace dew {

namespace {

//! Header values never carry CR or LF: a subject with a newline must not add a header.
std::string OneLine(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

std::string Base64(const std::string& in) {
  static const char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) |
                       (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kTable[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

//! RFC 2047 encoded-word for a header value that is not plain printable ASCII.
std::string HeaderText(const std::string& value) {
  const std::string line = OneLine(value);
  for (unsigned char c : line) {
    if (c >= 0x80 || (c < 0x20 && c != '\t')) return "=?UTF-8?B?" + Base64(line) + "?=";
  }
  return line;
}

std::string Crlf(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 40);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

struct Conversation {
  const std::string* data = nullptr;
  size_t sent = 0;
  const std::function<bool()>* cancelled = nullptr;
  std::string last_reply;  //!< the server's last response line
};

size_t ReadBody(char* buffer, size_t size, size_t nitems, void* userp) {
  auto* c = static_cast<Conversation*>(userp);
  const size_t n = std::min(size * nitems, c->data->size() - c->sent);
  std::memcpy(buffer, c->data->data() + c->sent, n);
  c->sent += n;
  return n;
}

int OnDebug(CURL*, curl_infotype type, char* data, size_t size, void* userp) {
  if (type != CURLINFO_HEADER_IN) return 0;
  auto* c = static_cast<Conversation*>(userp);
  std::string line(data, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  // Keep the last refusal (4xx/5xx): replies after it (QUIT's 221) would hide the reason.
  if (!line.empty() && (line[0] == '4' || line[0] == '5')) c->last_reply = line;
  return 0;
}

int OnProgress(void* userp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* c = static_cast<Conversation*>(userp);
  return *c->cancelled && (*c->cancelled)() ? 1 : 0;
}

class CurlSmtpClient final : public SmtpClient {
 public:
  CurlSmtpClient() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  Status Send(const SmtpServer& server, const EmailMessage& message,
              const std::function<bool()>& cancelled) override {
    const std::string where = "SMTP " + server.host + ":" + std::to_string(server.port);
    if (message.to.empty())
      return Status::InvalidArgument(where + ": the message has no recipient");
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return Status::Internal(where + ": curl_easy_init failed");
    char error[CURL_ERROR_SIZE] = {0};
    curl_slist* rcpts = nullptr;
    for (const std::string& r : message.to)
      rcpts = curl_slist_append(rcpts, ("<" + r + ">").c_str());
    EmailMessage complete = message;
    if (complete.date.empty()) {
      complete.date = Rfc5322Date(static_cast<int64_t>(std::time(nullptr)) * 1000);
    }
    if (complete.message_id.empty()) {
      std::random_device rd;
      complete.message_id = "<" + std::to_string(std::time(nullptr)) + "." + std::to_string(rd()) +
                            std::to_string(rd()) + "@dew>";
    }
    const std::string data = FormatEmail(complete);
    Conversation conv;
    conv.data = &data;
    conv.cancelled = &cancelled;
    const std::string url = "smtp://" + server.host + ":" + std::to_string(server.port);
    const std::string from = "<" + message.from + ">";
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(curl, CURLOPT_READDATA, &conv);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data.size()));
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(server.timeout_ms));
    // The debug hook is how libcurl hands out the server's reply lines, which errors quote.
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, OnDebug);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &conv);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &conv);
    if (server.starttls) curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!server.user.empty()) {
      curl_easy_setopt(curl, CURLOPT_USERNAME, server.user.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, server.password.c_str());
    }
    const CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(rcpts);
    curl_easy_cleanup(curl);
    if (rc == CURLE_OK) return Status::OK();
    if (rc == CURLE_ABORTED_BY_CALLBACK) return Status::Interrupted(where + ": sending cancelled");
    std::string msg = where + ": " + (error[0] != '\0' ? error : curl_easy_strerror(rc));
    // Transport errors have no reply; a refusal names what the server said.
    if (!conv.last_reply.empty() && conv.last_reply[0] >= '4' && conv.last_reply[0] <= '5') {
      msg += " (server replied: " + conv.last_reply + ")";
    }
    return Status::IOError(msg);
  }
};

}  // namespace

std::string Rfc5322Date(int64_t epoch_millis) {
  const std::time_t t = static_cast<std::time_t>(epoch_millis / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string FormatEmail(const EmailMessage& message) {
  std::string to;
  for (const std::string& r : message.to) to += (to.empty() ? "" : ", ") + OneLine(r);
  std::string out;
  out += "From: " + OneLine(message.from) + "\r\n";
  out += "To: " + to + "\r\n";
  out += "Subject: " + HeaderText(message.subject) + "\r\n";
  out += "Date: " + OneLine(message.date) + "\r\n";
  out += "Message-ID: " + OneLine(message.message_id) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  for (const auto& [name, value] : message.headers) {
    out += OneLine(name) + ": " + HeaderText(value) + "\r\n";
  }
  out += "\r\n";
  out += Crlf(message.body);
  return out;
}

std::shared_ptr<SmtpClient> NewCurlSmtpClient() {
  return std::make_shared<CurlSmtpClient>();
}

}  // namespace dew
