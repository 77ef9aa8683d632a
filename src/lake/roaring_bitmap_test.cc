#include "lake/roaring_bitmap.h"

#include <gtest/gtest.h>

#include "lake/z85.h"

namespace dew::lake {
namespace {

void PutLe(std::string* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

TEST(RoaringBitmapTest, RoundTripsArrayAndBitmapContainersAcrossBuckets) {
  std::vector<uint64_t> values = {5, 3, 3, 70000, (uint64_t{7} << 32) + 1};
  for (uint64_t v = 1 << 20; v < (1 << 20) + 10000; ++v) values.push_back(v);  // a bitmap
  RoaringBitmapArray bitmap(values);
  EXPECT_EQ(bitmap.Cardinality(), 10004u);
  EXPECT_TRUE(bitmap.Contains(3));
  EXPECT_FALSE(bitmap.Contains(4));
  auto back = RoaringBitmapArray::DeserializePortable(bitmap.SerializePortable());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Values(), bitmap.Values());
  EXPECT_EQ(RoaringBitmapArray::DeserializePortable(RoaringBitmapArray().SerializePortable())
                ->Cardinality(),
            0u);
}

TEST(RoaringBitmapTest, LayoutMatchesTheSpecsBitmap64Sample) {
  // RoaringFormatSpec testdata64/README.md: every other value of [0, 2^16) is one bitset
  // container in bucket 0, whose key is at byte 8, so bucket 1's key is at byte 8220.
  RoaringBitmapArray bitmap;
  for (uint64_t v = 0; v < 65536; v += 2) bitmap.Add(v);
  bitmap.Add(uint64_t{1} << 32);
  const std::string bytes = bitmap.SerializePortable();
  ASSERT_GT(bytes.size(), 8224u);
  EXPECT_EQ(bytes.substr(8220, 4), std::string("\x01\x00\x00\x00", 4));
}

TEST(RoaringBitmapTest, ReadsRunContainersWithTheRunCookie) {
  // Bucket 2, one 32-bit bitmap with the run cookie (12347, one container): container key 1
  // is a run container holding runs [10, 12] and [100, 100].
  std::string bytes;
  PutLe(&bytes, 1, 8);      // one bucket
  PutLe(&bytes, 2, 4);      // key: high 32 bits = 2
  PutLe(&bytes, 12347, 4);  // cookie, container count - 1 = 0 in the high 16 bits
  bytes.push_back('\x01');  // run flags: container 0 is a run container
  PutLe(&bytes, 1, 2);      // container key
  PutLe(&bytes, 3, 2);      // cardinality - 1
  PutLe(&bytes, 2, 2);      // two runs (no offset header under 4 containers)
  PutLe(&bytes, 10, 2);
  PutLe(&bytes, 2, 2);  // 10, 11, 12
  PutLe(&bytes, 100, 2);
  PutLe(&bytes, 0, 2);  // 100
  auto bitmap = RoaringBitmapArray::DeserializePortable(bytes);
  ASSERT_TRUE(bitmap.ok()) << bitmap.status().ToString();
  const uint64_t base = (uint64_t{2} << 32) | (1 << 16);
  EXPECT_EQ(bitmap->Values(), (std::vector<uint64_t>{base + 10, base + 11, base + 12, base + 100}));
}

TEST(RoaringBitmapTest, ReadsTheProtocolsInlineExample) {
  // PROTOCOL.md "JSON Example 3 — Inline": rows 3, 4, 7, 11, 18, 29, in delta-spark's native
  // layout (magic 1681511376 big-endian first).
  auto bytes = Z85Decode("wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L");
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->size(), 40u);
  auto bitmap = RoaringBitmapArray::DeserializeNative(std::string_view(*bytes).substr(4));
  ASSERT_TRUE(bitmap.ok()) << bitmap.status().ToString();
  EXPECT_EQ(bitmap->Values(), (std::vector<uint64_t>{3, 4, 7, 11, 18, 29}));
}

TEST(RoaringBitmapTest, UnionAndMalformedInput) {
  RoaringBitmapArray a({1, 5});
  a.Union(RoaringBitmapArray({2, 5, 9}));
  EXPECT_EQ(a.Values(), (std::vector<uint64_t>{1, 2, 5, 9}));
  const std::string good = a.SerializePortable();
  auto truncated = RoaringBitmapArray::DeserializePortable(good.substr(0, good.size() - 1));
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), Status::Code::kCorruption);
  std::string bad_cookie = good;
  bad_cookie[12] = 'x';
  EXPECT_EQ(RoaringBitmapArray::DeserializePortable(bad_cookie).status().code(),
            Status::Code::kCorruption);
}

}  // namespace
}  // namespace dew::lake
