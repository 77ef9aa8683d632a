#include "support/s3_server.h"

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

#include "connectors/s3_object_store.h"
#include "core/http_client.h"

namespace dew::testing {
namespace {

std::string ModulesDir() {
#ifdef DEW_SOURCE_DIR
  return std::string(DEW_SOURCE_DIR) + "/third_party/s3rver/node_modules";
#else
  return "third_party/s3rver/node_modules";
#endif
}

// s3rver behind a SigV4 verifier built on aws4 (see the header).
constexpr const char* kServerScript = R"JS('use strict';
const path = require('path');
const [modules, port, dir, accessKeyId, secretAccessKey, bucket] = process.argv.slice(2);
const S3rver = require(path.join(modules, 's3rver'));
const AWSAccount = require(path.join(modules, 's3rver/lib/models/account'));
const aws4 = require(path.join(modules, 'aws4'));

// Only this test's key pair exists: s3rver then knows the account behind it.
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);

function fail(ctx, status, code, message) {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + code +
      '</Code><Message>' + message + '</Message></Error>';
}

async function verifySigV4(ctx, next) {
  const auth = ctx.get('authorization');
  if (!auth) return fail(ctx, 403, 'AccessDenied', 'Anonymous access is not allowed');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, *SignedHeaders=([a-z0-9;-]+), *Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return fail(ctx, 400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed');
  if (m[1] !== accessKeyId) {
    return fail(ctx, 403, 'InvalidAccessKeyId',
                'The AWS Access Key Id you provided does not exist in our records.');
  }
  const headers = {};
  for (const name of m[4].split(';')) headers[name] = ctx.get(name);
  // Exactly the headers the client signed: aws4 must neither add nor drop any.
  const signer = new aws4.RequestSigner(
      {method: ctx.method, host: ctx.get('host'), path: ctx.originalUrl, service: 's3',
       region: m[3], headers, doNotModifyHeaders: true},
      {accessKeyId, secretAccessKey});
  signer.datetime = headers['x-amz-date'] || '';
  const expected = signer.signature();
  if (expected !== m[5]) {
    return fail(ctx, 403, 'SignatureDoesNotMatch',
                'The request signature we calculated does not match the signature you provided.');
  }
  return next();
}

const server = new S3rver({port: Number(port), address: '127.0.0.1', directory: dir, silent: true,
                           vhostBuckets: false, configureBuckets: [{name: bucket, configs: []}]});
server.middleware.unshift(verifySigV4);
server.run().then(() => console.log('s3 server listening on ' + port),
                  (err) => { console.error(err); process.exit(1); });
)JS";

std::string RandomSecret() {
  std::random_device rd;
  static const char* kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+";
  std::string out;
  for (int i = 0; i < 40; ++i) out += kChars[rd() % 64];
  return out;
}

}  // namespace

bool S3Server::Available(std::string* why) {
  std::string reason;
  if (!RunCommand({"node", "--version"}).ok()) {
    reason = "node is not installed";
  } else if (access((ModulesDir() + "/s3rver/package.json").c_str(), R_OK) != 0 ||
             access((ModulesDir() + "/aws4/package.json").c_str(), R_OK) != 0) {
    reason = "s3rver/aws4 are not installed in " + ModulesDir() + " (run scripts/install-deps)";
  }
  if (why) *why = reason;
  return reason.empty();
}

Result<std::unique_ptr<S3Server>> S3Server::Start(const std::string& bucket) {
  std::unique_ptr<S3Server> s(new S3Server());
  s->bucket_ = bucket;
  s->secret_access_key_ = RandomSecret();
  DEW_ASSIGN_OR_RETURN(s->dir_, MakeTempFolder("dew_s3_"));
  const std::string script = s->dir_ + "/server.js";
  {
    std::ofstream out(script);
    out << kServerScript;
    if (!out) return Status::IOError("cannot write " + script);
  }
  std::filesystem::create_directories(s->dir_ + "/data");
  Status last = Status::Internal("s3 server not started");
  for (int attempt = 0; attempt < 5; ++attempt) {
    DEW_ASSIGN_OR_RETURN(s->port_, PickLoopbackPort());
    // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its
    // legacy provider.
    DEW_ASSIGN_OR_RETURN(
        s->process_, PeerProcess::Start({"node", "--openssl-legacy-provider", script, ModulesDir(),
                                         std::to_string(s->port_), s->dir_ + "/data",
                                         s->access_key_id_, s->secret_access_key_, bucket},
                                        s->dir_, s->dir_ + "/server.log"));
    last = s->process_->WaitForPort(s->port_, 20000);
    if (last.ok()) return s;
    s->process_.reset();
  }
  return last;
}

S3Server::~S3Server() {
  process_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

Status S3Server::Put(const std::string& key, const std::string& data, const std::string& bucket) {
  const std::string b = bucket.empty() ? bucket_ : bucket;
  std::string path = "/" + UrlEncode(b) + "/";
  for (char c : key) path += c == '/' ? std::string("/") : UrlEncode(std::string(1, c));
  connectors::SigV4Request sign;
  sign.method = "PUT";
  sign.host = "127.0.0.1:" + std::to_string(port_);
  sign.path = path;
  sign.payload_sha256 = connectors::Sha256Hex(data);
  sign.headers = {{"x-amz-content-sha256", sign.payload_sha256}};
  sign.amz_date = connectors::AmzDate(static_cast<int64_t>(std::time(nullptr)) * 1000);
  connectors::SigV4Credentials credentials{access_key_id_, secret_access_key_, ""};
  connectors::SigV4Signature signature = connectors::SignV4(sign, credentials);
  HttpRequest request;
  request.method = "PUT";
  request.url = endpoint() + path;
  request.body = data;
  request.headers = {{"Host", sign.host},
                     {"x-amz-date", sign.amz_date},
                     {"x-amz-content-sha256", sign.payload_sha256},
                     {"Authorization", signature.authorization}};
  DEW_ASSIGN_OR_RETURN(HttpResponse response, NewCurlHttpClient()->Send(request));
  if (response.status != 200)
    return Status::IOError("PUT " + key + " failed: HTTP " + std::to_string(response.status) + " " +
                           response.body);
  return Status::OK();
}

}  // namespace dew::testing
