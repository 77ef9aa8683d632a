// S3ObjectStore: an S3-compatible bucket (AWS S3, MinIO, Ceph, s3rver …) over the S3 REST API:
// ListObjectsV2 with continuation tokens and GetObject, every request signed with AWS
// Signature Version 4 (SignV4 below, HMAC-SHA256 from OpenSSL), sent through the HttpClient
// passed in. Custom endpoints use path-style URLs (http://host:port/bucket/key); AWS itself
// uses virtual-hosted URLs (https://bucket.s3.<region>.amazonaws.com/key).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/object_store.h"
#include "core/http_client.h"

namespace dew {
class Clock;
}

namespace dew::connectors {

struct SigV4Credentials {
  std::string access_key_id;
  std::string secret_access_key;  //!< never logged or put in a Status
  std::string session_token;      //!< temporary credentials (STS); empty when none
};

//! One request to sign. Names and values are as sent; the signer canonicalises them.
struct SigV4Request {
  std::string method = "GET";
  std::string host;  //!< the Host header: "example.amazonaws.com" or "127.0.0.1:4568"
  std::string path;  //!< URI-encoded path as sent, e.g. "/bucket/a%20b.csv" ("/" at least)
  std::vector<std::pair<std::string, std::string>> query;  //!< decoded names and values
  HttpHeaders headers;         //!< further headers to sign (range, x-amz-content-sha256 …)
  std::string payload_sha256;  //!< hex SHA-256 of the body (or "UNSIGNED-PAYLOAD")
  std::string amz_date;        //!< "20150830T123600Z" (UTC)
  std::string region = "us-east-1";
  std::string service = "s3";
};

struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  //!< "host;x-amz-date"
  std::string signature;       //!< lower-case hex
  std::string authorization;   //!< the whole Authorization header value
};

//! Signs `request` per AWS Signature Version 4 (header-based). Signs host, x-amz-date,
//! x-amz-security-token (when the credentials carry one) and every header in request.headers.
//! Pure function; thread-safe.
SigV4Signature SignV4(const SigV4Request& request, const SigV4Credentials& credentials);

//! Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(const std::string& data);

//! "20150830T123600Z" for a time in ms since the epoch.
std::string AmzDate(int64_t millis);

struct S3Config {
  //! "http://127.0.0.1:4568" for a custom endpoint; empty: AWS (https://s3.<region>.amazonaws.com).
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  std::string root;        //!< key prefix the stream globs are relative to ("" or "a/b/")
  bool path_style = true;  //!< false: virtual-hosted (AWS default when endpoint is empty)
  SigV4Credentials credentials;
  int page_size = 1000;  //!< max-keys of one ListObjectsV2 page
  int64_t timeout_ms = 300000;
};

//! Thread-safe when the HttpClient is (the store keeps no per-request state).
class S3ObjectStore : public ObjectStore {
 public:
  //! `http` and `clock` are shared and must stay usable while the store lives.
  S3ObjectStore(S3Config config, std::shared_ptr<HttpClient> http, std::shared_ptr<Clock> clock);

  std::string Describe() const override;
  //! Lists at most one key under the root: kUnreachable when no HTTP answer came,
  //! kAuthRefused for InvalidAccessKeyId/SignatureDoesNotMatch, kPermissionDenied for
  //! AccessDenied, kMissingDatabase for NoSuchBucket or an empty root prefix.
  Status Check(CheckProblem* problem) override;
  //! Pages through ListObjectsV2 (continuation tokens) under root + prefix.
  Result<std::vector<ObjectEntry>> List(const std::string& prefix) override;
  std::string LocalPath(const std::string&) const override { return std::string(); }
  //! GetObject streamed to `local_path`. NotFound for NoSuchKey; IOError naming the key, the
  //! HTTP status and S3's error code otherwise.
  Status Download(const std::string& path, const std::string& local_path) override;

 private:
  struct Target {
    std::string url;
    std::string host;
    std::string path;
  };
  //! The URL, Host header and canonical path for `key` ("" for the bucket itself).
  Target TargetFor(const std::string& key) const;
  //! A signed GET of `key` with `query` (decoded names/values).
  HttpRequest SignedGet(const std::string& key,
                        const std::vector<std::pair<std::string, std::string>>& query) const;
  //! Lists one page; `*problem` classifies a failure.
  Status ListPage(const std::string& prefix, const std::string& token, int max_keys,
                  std::vector<ObjectEntry>* out, std::string* next_token, CheckProblem* problem);

  const S3Config config_;
  const std::shared_ptr<HttpClient> http_;
  const std::shared_ptr<Clock> clock_;
  std::string scheme_;     //!< "http" or "https"
  std::string host_;       //!< endpoint host[:port]
  std::string base_path_;  //!< endpoint path prefix, usually empty
};

//! The text of the first <tag>…</tag> in `xml` with XML entities decoded, or empty.
std::string XmlText(const std::string& xml, const std::string& tag, size_t* pos = nullptr);

}  // namespace dew::connectors
