// S3Server: a throwaway S3-compatible server for tests: s3rver (npm, installed by
// scripts/install-deps into third_party/s3rver) on a free loopback port, with a data folder in
// a temp dir and one bucket. s3rver itself does not verify SigV4 signatures (it only looks the
// access key up), so the server runs behind a verifier that recomputes every request's
// signature with the `aws4` npm package (an implementation independent of dew's) and answers
// SignatureDoesNotMatch / InvalidAccessKeyId / AccessDenied (anonymous) like S3 does.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "support/peer_process.h"

namespace dew::testing {

class S3Server {
 public:
  //! True when node and the s3rver and aws4 packages are installed; otherwise `*why` says
  //! what is missing.
  static bool Available(std::string* why);
  //! Starts the server with `bucket` created and waits until it listens.
  static Result<std::unique_ptr<S3Server>> Start(const std::string& bucket);
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  //! "http://127.0.0.1:<port>"
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const std::string& bucket() const { return bucket_; }
  const std::string& access_key_id() const { return access_key_id_; }
  const std::string& secret_access_key() const { return secret_access_key_; }
  std::string Log() const { return process_ ? process_->Log() : std::string(); }

  //! PUTs `data` as `key` in `bucket` (a signed request).
  Status Put(const std::string& key, const std::string& data, const std::string& bucket = "");

 private:
  S3Server() = default;
  std::string dir_;
  std::string bucket_;
  std::string access_key_id_ = "DEWTESTKEY";
  std::string secret_access_key_;
  int port_ = 0;
  std::unique_ptr<PeerProcess> process_;
};

}  // namespace dew::testing
