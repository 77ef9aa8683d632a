#include "connectors/s3_object_store.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "core/clock.h"
#include "lake/lakehouse.h"

namespace dew::connectors {
namespace {

constexpr const char* kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Hex(const unsigned char* data, size_t size) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

std::string HmacSha256(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size);
  return std::string(reinterpret_cast<char*>(out), size);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Header values are trimmed and inner runs of spaces collapsed, as SigV4 canonicalises them.
std::string TrimValue(const std::string& v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// Each '/'-separated part percent-encoded (RFC 3986), '/' kept: S3's canonical URI encodes once.
std::string EncodeKey(const std::string& key) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t slash = key.find('/', start);
    out += UrlEncode(
        key.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    out += '/';
    start = slash + 1;
  }
  return out;
}

std::string DecodeEntities(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string::npos) {
      out += s[i];
      continue;
    }
    const std::string name = s.substr(i + 1, semi - i - 1);
    if (name == "amp") {
      out += '&';
    } else if (name == "lt") {
      out += '<';
    } else if (name == "gt") {
      out += '>';
    } else if (name == "quot") {
      out += '"';
    } else if (name == "apos") {
      out += '\'';
    } else if (!name.empty() && name[0] == '#') {
      unsigned long code = name.size() > 1 && (name[1] == 'x' || name[1] == 'X')
                               ? std::strtoul(name.c_str() + 2, nullptr, 16)
                               : std::strtoul(name.c_str() + 1, nullptr, 10);
      // UTF-8 encode the code point.
      if (code < 0x80) {
        out += static_cast<char>(code);
      } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
      } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
      }
    } else {
      out += s.substr(i, semi - i + 1);
    }
    i = semi;
  }
  return out;
}

// S3's error document: <Error><Code>NoSuchBucket</Code><Message>…</Message></Error>.
struct S3Error {
  std::string code;
  std::string message;
};

S3Error ParseError(const std::string& body) {
  return {XmlText(body, "Code"), XmlText(body, "Message")};
}

CheckProblem Classify(int status, const std::string& code) {
  if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "InvalidToken" ||
      code == "ExpiredToken" || code == "InvalidSecurity")
    return CheckProblem::kAuthRefused;
  if (code == "AccessDenied" || code == "AllAccessDisabled") return CheckProblem::kPermissionDenied;
  if (code == "NoSuchBucket") return CheckProblem::kMissingDatabase;
  if (status == 401) return CheckProblem::kAuthRefused;
  if (status == 403) return CheckProblem::kPermissionDenied;
  return CheckProblem::kOther;
}

}  // namespace

std::string XmlText(const std::string& xml, const std::string& tag, size_t* pos) {
  const std::string open = "<" + tag + ">";
  const std::string close = "</" + tag + ">";
  size_t start = xml.find(open, pos ? *pos : 0);
  if (start == std::string::npos) return std::string();
  start += open.size();
  size_t end = xml.find(close, start);
  if (end == std::string::npos) return std::string();
  if (pos) *pos = end + close.size();
  return DecodeEntities(xml.substr(start, end - start));
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(digest, sizeof digest);
}

std::string AmzDate(int64_t millis) {
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

SigV4Signature SignV4(const SigV4Request& request, const SigV4Credentials& credentials) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("host", TrimValue(request.host));
  headers.emplace_back("x-amz-date", request.amz_date);
  if (!credentials.session_token.empty())
    headers.emplace_back("x-amz-security-token", credentials.session_token);
  for (const auto& [name, value] : request.headers) {
    const std::string lower = Lower(name);
    if (lower == "host" || lower == "x-amz-date" || lower == "x-amz-security-token") continue;
    headers.emplace_back(lower, TrimValue(value));
  }
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers, signed_headers;
  for (size_t i = 0; i < headers.size(); ++i) {
    // Repeated headers join their values with commas under one name.
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.pop_back();
      canonical_headers += "," + headers[i].second + "\n";
      continue;
    }
    canonical_headers += headers[i].first + ":" + headers[i].second + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + headers[i].first;
  }
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [name, value] : request.query)
    query.emplace_back(UrlEncode(name), UrlEncode(value));
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [name, value] : query)
    canonical_query += (canonical_query.empty() ? "" : "&") + name + "=" + value;

  SigV4Signature out;
  out.signed_headers = signed_headers;
  out.canonical_request = request.method + "\n" + (request.path.empty() ? "/" : request.path) +
                          "\n" + canonical_query + "\n" + canonical_headers + "\n" +
                          signed_headers + "\n" + request.payload_sha256;
  const std::string date = request.amz_date.substr(0, 8);
  const std::string scope = date + "/" + request.region + "/" + request.service + "/aws4_request";
  out.string_to_sign = "AWS4-HMAC-SHA256\n" + request.amz_date + "\n" + scope + "\n" +
                       Sha256Hex(out.canonical_request);
  std::string key = HmacSha256("AWS4" + credentials.secret_access_key, date);
  key = HmacSha256(key, request.region);
  key = HmacSha256(key, request.service);
  key = HmacSha256(key, "aws4_request");
  const std::string mac = HmacSha256(key, out.string_to_sign);
  out.signature = Hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
                      ", SignedHeaders=" + signed_headers + ", Signature=" + out.signature;
  return out;
}

S3ObjectStore::S3ObjectStore(S3Config config, std::shared_ptr<HttpClient> http,
                             std::shared_ptr<Clock> clock)
    : config_(std::move(config)), http_(std::move(http)), clock_(std::move(clock)) {
  std::string endpoint = config_.endpoint.empty()
                             ? "https://s3." + config_.region + ".amazonaws.com"
                             : config_.endpoint;
  size_t colon = endpoint.find("://");
  scheme_ = colon == std::string::npos ? "https" : endpoint.substr(0, colon);
  std::string rest = colon == std::string::npos ? endpoint : endpoint.substr(colon + 3);
  size_t slash = rest.find('/');
  host_ = rest.substr(0, slash);
  base_path_ = slash == std::string::npos ? "" : rest.substr(slash);
  while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
}

std::string S3ObjectStore::Describe() const {
  return "s3://" + config_.bucket + "/" + config_.root + " at " + scheme_ + "://" + host_ +
         base_path_;
}

S3ObjectStore::Target S3ObjectStore::TargetFor(const std::string& key) const {
  Target t;
  if (config_.path_style) {
    t.host = host_;
    t.path = base_path_ + "/" + UrlEncode(config_.bucket) + "/" + EncodeKey(key);
  } else {
    t.host = config_.bucket + "." + host_;
    t.path = base_path_ + "/" + EncodeKey(key);
  }
  t.url = scheme_ + "://" + t.host + t.path;
  return t;
}

HttpRequest S3ObjectStore::SignedGet(
    const std::string& key, const std::vector<std::pair<std::string, std::string>>& query) const {
  Target target = TargetFor(key);
  SigV4Request sign;
  sign.method = "GET";
  sign.host = target.host;
  sign.path = target.path;
  sign.query = query;
  sign.headers = {{"x-amz-content-sha256", kEmptySha256}};
  sign.payload_sha256 = kEmptySha256;
  sign.amz_date = AmzDate(clock_->NowMillis());
  sign.region = config_.region;
  sign.service = "s3";
  SigV4Signature signature = SignV4(sign, config_.credentials);

  HttpRequest request;
  request.method = "GET";
  request.url = target.url;
  std::string q;
  for (const auto& [name, value] : query)
    q += (q.empty() ? "?" : "&") + UrlEncode(name) + "=" + UrlEncode(value);
  request.url += q;
  request.headers = {{"Host", target.host},
                     {"x-amz-date", sign.amz_date},
                     {"x-amz-content-sha256", kEmptySha256},
                     {"Authorization", signature.authorization}};
  if (!config_.credentials.session_token.empty())
    request.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
  request.timeout_ms = config_.timeout_ms;
  return request;
}

Status S3ObjectStore::ListPage(const std::string& prefix, const std::string& token, int max_keys,
                               std::vector<ObjectEntry>* out, std::string* next_token,
                               CheckProblem* problem) {
  std::vector<std::pair<std::string, std::string>> query = {{"list-type", "2"},
                                                            {"max-keys", std::to_string(max_keys)},
                                                            {"prefix", config_.root + prefix}};
  if (!token.empty()) query.emplace_back("continuation-token", token);
  Result<HttpResponse> response = http_->Send(SignedGet("", query));
  if (!response.ok()) {
    *problem = CheckProblem::kUnreachable;
    return Status::IOError("cannot reach " + Describe() + ": " + response.status().message());
  }
  if (response->status != 200) {
    S3Error error = ParseError(response->body);
    *problem = Classify(response->status, error.code);
    std::string what = "listing " + Describe() + " failed: HTTP " +
                       std::to_string(response->status) +
                       (error.code.empty() ? "" : " " + error.code) +
                       (error.message.empty() ? "" : ": " + error.message);
    switch (*problem) {
      case CheckProblem::kAuthRefused:
        return Status::InvalidArgument(what + " (check access_key_id and secret_access_key)");
      case CheckProblem::kPermissionDenied:
        return Status::InvalidArgument(what + " (the key may not list this bucket)");
      case CheckProblem::kMissingDatabase:
        return Status::NotFound(what + " (bucket " + config_.bucket + " does not exist)");
      default:
        return Status::IOError(what);
    }
  }
  const std::string& xml = response->body;
  size_t pos = 0;
  while (true) {
    size_t start = xml.find("<Contents>", pos);
    if (start == std::string::npos) break;
    size_t end = xml.find("</Contents>", start);
    if (end == std::string::npos) break;
    const std::string item = xml.substr(start, end - start);
    pos = end;
    ObjectEntry e;
    std::string key = XmlText(item, "Key");
    if (key.size() < config_.root.size() || key.compare(0, config_.root.size(), config_.root) != 0)
      continue;
    e.path = key.substr(config_.root.size());
    if (e.path.empty() || e.path.back() == '/') continue;  // folder markers
    e.size = std::strtoll(XmlText(item, "Size").c_str(), nullptr, 10);
    e.etag = XmlText(item, "ETag");
    e.etag.erase(std::remove(e.etag.begin(), e.etag.end(), '"'), e.etag.end());
    Result<int64_t> mtime = lake::ParseTimestampMillis(XmlText(item, "LastModified"));
    e.mtime_millis = mtime.ok() ? *mtime : 0;
    out->push_back(std::move(e));
  }
  next_token->clear();
  if (XmlText(xml, "IsTruncated") == "true") {
    *next_token = XmlText(xml, "NextContinuationToken");
    if (next_token->empty()) {
      *problem = CheckProblem::kOther;
      return Status::IOError("listing " + Describe() +
                             ": the page is truncated but has no NextContinuationToken");
    }
  }
  return Status::OK();
}

Status S3ObjectStore::Check(CheckProblem* problem) {
  CheckProblem local = CheckProblem::kNone;
  if (problem == nullptr) problem = &local;
  *problem = CheckProblem::kNone;
  std::vector<ObjectEntry> entries;
  std::string token;
  DEW_RETURN_IF_ERROR(ListPage("", "", 1, &entries, &token, problem));
  if (entries.empty() && token.empty() && !config_.root.empty()) {
    *problem = CheckProblem::kMissingDatabase;
    return Status::NotFound("no object under " + Describe() + " (is the root prefix right?)");
  }
  return Status::OK();
}

Result<std::vector<ObjectEntry>> S3ObjectStore::List(const std::string& prefix) {
  std::vector<ObjectEntry> out;
  std::string token;
  do {
    CheckProblem problem = CheckProblem::kNone;
    const std::string current = token;
    DEW_RETURN_IF_ERROR(ListPage(prefix, current, config_.page_size, &out, &token, &problem));
  } while (!token.empty());
  return out;
}

Status S3ObjectStore::Download(const std::string& path, const std::string& local_path) {
  HttpRequest request = SignedGet(config_.root + path, {});
  std::FILE* file = std::fopen(local_path.c_str(), "wb");
  if (file == nullptr) return Status::IOError("cannot create " + local_path);
  std::string head;  // the start of the body, for an error document
  bool write_failed = false;
  request.on_body = [&](const char* data, size_t size) {
    if (head.size() < 4096) head.append(data, std::min(size, 4096 - head.size()));
    if (std::fwrite(data, 1, size, file) != size) write_failed = true;
    return !write_failed;
  };
  Result<HttpResponse> response = http_->Send(request);
  const bool closed = std::fclose(file) == 0;
  const std::string where = "s3://" + config_.bucket + "/" + config_.root + path;
  if (!response.ok()) {
    if (write_failed) return Status::IOError("cannot write " + local_path + " from " + where);
    return Status::IOError("cannot download " + where + ": " + response.status().message());
  }
  if (response->status != 200) {
    S3Error error = ParseError(head);
    std::string what = "downloading " + where + " failed: HTTP " +
                       std::to_string(response->status) +
                       (error.code.empty() ? "" : " " + error.code) +
                       (error.message.empty() ? "" : ": " + error.message);
    if (error.code == "NoSuchKey") return Status::NotFound(what);
    return Status::IOError(what);
  }
  if (write_failed || !closed) return Status::IOError("cannot write " + local_path);
  return Status::OK();
}

}  // namespace dew::connectors
