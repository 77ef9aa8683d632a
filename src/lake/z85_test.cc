#include "lake/z85.h"

#include <gtest/gtest.h>

namespace dew::lake {
namespace {

TEST(Z85Test, SpecTestVector) {
  // The test vector of ZeroMQ RFC 32.
  const std::string bytes = {'\x86', '\x4F', '\xD2', '\x6F', '\xB5', '\x59', '\xF7', '\x5B'};
  auto encoded = Z85Encode(bytes);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  EXPECT_EQ(*encoded, "HelloWorld");
  auto decoded = Z85Decode("HelloWorld");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, bytes);
}

TEST(Z85Test, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  auto encoded = Z85Encode(bytes);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded->size(), 320u);
  auto decoded = Z85Decode(*encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, bytes);
  EXPECT_EQ(*Z85Encode(""), "");
}

TEST(Z85Test, RejectsBadInput) {
  EXPECT_TRUE(Z85Encode("abc").status().IsInvalidArgument());
  EXPECT_TRUE(Z85Decode("Hell").status().IsInvalidArgument());
  auto bad = Z85Decode("Hello World");
  EXPECT_FALSE(bad.ok());
  auto wrong_char = Z85Decode("Hel\"o");
  ASSERT_FALSE(wrong_char.ok());
  EXPECT_NE(wrong_char.status().message().find("character 4"), std::string::npos);
  // "#####" is 85^5 - 1, beyond 32 bits.
  EXPECT_TRUE(Z85Decode("#####").status().IsInvalidArgument());
}

}  // namespace
}  // namespace dew::lake
