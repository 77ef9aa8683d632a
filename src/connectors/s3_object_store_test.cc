#include "connectors/s3_object_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/clock.h"
#include "lake/lake_test_util.h"
#include "support/s3_server.h"

namespace dew::connectors {
namespace {

// The AWS SigV4 test suite's credentials and request (get-vanilla and friends).
SigV4Request SuiteRequest() {
  SigV4Request r;
  r.method = "GET";
  r.host = "example.amazonaws.com";
  r.path = "/";
  r.amz_date = "20150830T123600Z";
  r.region = "us-east-1";
  r.service = "service";
  r.payload_sha256 = Sha256Hex("");
  return r;
}
const SigV4Credentials kSuiteKey = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

TEST(SigV4Test, GetVanilla) {
  SigV4Signature s = SignV4(SuiteRequest(), kSuiteKey);
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, GetVanillaQueryOrderKeyCase) {
  SigV4Request r = SuiteRequest();
  r.query = {{"Param2", "value2"}, {"Param1", "value1"}};
  EXPECT_EQ(SignV4(r, kSuiteKey).signature,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

// The GetObject example of the S3 SigV4 documentation (a Range header, a signed payload hash).
TEST(SigV4Test, S3GetObjectExample) {
  SigV4Request r;
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test.txt";
  r.amz_date = "20130524T000000Z";
  r.payload_sha256 = Sha256Hex("");
  r.headers = {{"Range", "bytes=0-9"}, {"x-amz-content-sha256", r.payload_sha256}};
  SigV4Signature s =
      SignV4(r, {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""});
  EXPECT_EQ(s.signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4Test, SessionTokenIsSigned) {
  SigV4Credentials key = kSuiteKey;
  key.session_token = "token/with+chars";
  SigV4Signature s = SignV4(SuiteRequest(), key);
  EXPECT_EQ(s.signed_headers, "host;x-amz-date;x-amz-security-token");
  EXPECT_NE(s.signature, SignV4(SuiteRequest(), kSuiteKey).signature);
}

TEST(SigV4Test, QueryValuesAreEncodedOnce) {
  SigV4Request r = SuiteRequest();
  r.query = {{"prefix", "a b/c"}, {"list-type", "2"}};
  EXPECT_NE(SignV4(r, kSuiteKey).canonical_request.find("\nlist-type=2&prefix=a%20b%2Fc\n"),
            std::string::npos);
}

TEST(SigV4Test, AmzDateAndXmlText) {
  EXPECT_EQ(AmzDate(1440938160000), "20150830T123600Z");
  size_t pos = 0;
  const std::string xml = "<a><Key>x &amp; y&#47;z</Key><Key>second</Key></a>";
  EXPECT_EQ(XmlText(xml, "Key", &pos), "x & y/z");
  EXPECT_EQ(XmlText(xml, "Key", &pos), "second");
  EXPECT_EQ(XmlText(xml, "Key", &pos), "");
  EXPECT_EQ(XmlText(xml, "Missing"), "");
}

// Against s3rver behind an independent SigV4 verifier (tests/support/s3_server.h).
class S3ObjectStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    if (!dew::testing::S3Server::Available(&why)) {
      skip_reason_ = new std::string(why);
      return;
    }
    auto server = dew::testing::S3Server::Start("dew-bucket");
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = server->release();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(
          server_->Put("in/part-" + std::to_string(i) + ".csv", "id\n" + std::to_string(i) + "\n")
              .ok());
    }
    ASSERT_TRUE(server_->Put("in/deep/x y+z.csv", "id\n99\n").ok());
    ASSERT_TRUE(server_->Put("other/o.csv", "id\n7\n").ok());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete skip_reason_;
    skip_reason_ = nullptr;
  }
  void SetUp() override {
    if (skip_reason_) GTEST_SKIP() << "no S3 server: " << *skip_reason_;
  }

  S3Config Config() const {
    S3Config c;
    c.endpoint = server_->endpoint();
    c.bucket = server_->bucket();
    c.credentials = {server_->access_key_id(), server_->secret_access_key(), ""};
    return c;
  }
  std::unique_ptr<S3ObjectStore> Store(S3Config c) const {
    return std::make_unique<S3ObjectStore>(std::move(c), NewCurlHttpClient(), Clock::System());
  }

  static dew::testing::S3Server* server_;
  static std::string* skip_reason_;
};
dew::testing::S3Server* S3ObjectStoreTest::server_ = nullptr;
std::string* S3ObjectStoreTest::skip_reason_ = nullptr;

TEST_F(S3ObjectStoreTest, ListsEveryPageUnderThePrefix) {
  S3Config c = Config();
  c.page_size = 2;  // four pages: the continuation tokens are followed
  c.root = "in/";
  auto list = Store(c)->List("");
  ASSERT_TRUE(list.ok()) << list.status().ToString() << "\n" << server_->Log();
  std::vector<std::string> paths;
  for (const ObjectEntry& e : *list) {
    paths.push_back(e.path);
    EXPECT_FALSE(e.etag.empty());
    EXPECT_GT(e.mtime_millis, 0);
  }
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths, (std::vector<std::string>{"deep/x y+z.csv", "part-0.csv", "part-1.csv",
                                             "part-2.csv", "part-3.csv", "part-4.csv"}));
}

TEST_F(S3ObjectStoreTest, DownloadsAKeyWithSpecialCharacters) {
  S3Config c = Config();
  c.root = "in/";
  lake::testing::TempDir dir;
  const std::string local = dir.path() + "/x.csv";
  ASSERT_TRUE(Store(c)->Download("deep/x y+z.csv", local).ok());
  std::ifstream in(local);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "id\n99\n");
  Status missing = Store(c)->Download("nope.csv", local);
  EXPECT_EQ(missing.code(), Status::Code::kNotFound) << missing.ToString();
}

// Temporary credentials: the token is sent and signed (the verifier recomputes the signature
// over every header the request lists as signed, x-amz-security-token included).
TEST_F(S3ObjectStoreTest, SessionTokenIsSentSigned) {
  S3Config c = Config();
  c.credentials.session_token = "FwoGZXIvYXdzEBYaDH+token/with=specials";
  c.root = "in/";
  auto list = Store(c)->List("");
  ASSERT_TRUE(list.ok()) << list.status().ToString() << "\n" << server_->Log();
  EXPECT_EQ(list->size(), 6u);
}

TEST_F(S3ObjectStoreTest, CheckTellsTheProblemsApart) {
  CheckProblem problem = CheckProblem::kOther;
  EXPECT_TRUE(Store(Config())->Check(&problem).ok());
  EXPECT_EQ(problem, CheckProblem::kNone);

  S3Config wrong_secret = Config();
  wrong_secret.credentials.secret_access_key = "not-the-secret";
  Status s = Store(wrong_secret)->Check(&problem);
  EXPECT_EQ(problem, CheckProblem::kAuthRefused);
  EXPECT_NE(s.message().find("SignatureDoesNotMatch"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("check access_key_id and secret_access_key"), std::string::npos);
  EXPECT_EQ(s.message().find("not-the-secret"), std::string::npos);

  S3Config wrong_key = Config();
  wrong_key.credentials.access_key_id = "NOSUCHKEY";
  s = Store(wrong_key)->Check(&problem);
  EXPECT_EQ(problem, CheckProblem::kAuthRefused);
  EXPECT_NE(s.message().find("InvalidAccessKeyId"), std::string::npos) << s.ToString();

  S3Config no_bucket = Config();
  no_bucket.bucket = "no-such-bucket";
  s = Store(no_bucket)->Check(&problem);
  EXPECT_EQ(problem, CheckProblem::kMissingDatabase);
  EXPECT_NE(s.message().find("no-such-bucket"), std::string::npos) << s.ToString();

  S3Config no_prefix = Config();
  no_prefix.root = "nothing-here/";
  s = Store(no_prefix)->Check(&problem);
  EXPECT_EQ(problem, CheckProblem::kMissingDatabase) << s.ToString();

  auto port = dew::testing::PickLoopbackPort();
  ASSERT_TRUE(port.ok());
  S3Config nobody = Config();
  nobody.endpoint = "http://127.0.0.1:" + std::to_string(*port);
  s = Store(nobody)->Check(&problem);
  EXPECT_EQ(problem, CheckProblem::kUnreachable) << s.ToString();
}

}  // namespace
}  // namespace dew::connectors
