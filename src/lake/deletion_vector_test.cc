#include "lake/deletion_vector.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "lake/z85.h"

namespace dew::lake {
namespace {

TEST(DeletionVectorTest, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
}

TEST(DeletionVectorTest, PathOfTheProtocolsExample) {
  // PROTOCOL.md "JSON Example 1": prefix "ab", then the Z85 UUID.
  DeletionVectorDescriptor dv;
  dv.storage_type = "u";
  dv.path_or_inline_dv = "ab^-aqEH.-t@S}K{vb[*k^";
  dv.offset = 4;
  auto path = DeletionVectorPath("/t", dv);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(*path, "/t/ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
  EXPECT_EQ(dv.UniqueId(), "uab^-aqEH.-t@S}K{vb[*k^@4");
  dv.storage_type = "i";
  EXPECT_FALSE(DeletionVectorPath("/t", dv).ok());
}

TEST(DeletionVectorTest, ReadsTheProtocolsInlineExample) {
  DeletionVectorDescriptor dv;
  dv.storage_type = "i";
  dv.path_or_inline_dv = "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L";
  dv.size_in_bytes = 40;
  dv.cardinality = 6;
  auto fs = FileSystem::Posix();
  auto bitmap = ReadDeletionVector(*fs, "/nowhere", dv);
  ASSERT_TRUE(bitmap.ok()) << bitmap.status().ToString();
  EXPECT_EQ(bitmap->Values(), (std::vector<uint64_t>{3, 4, 7, 11, 18, 29}));
  dv.cardinality = 7;
  EXPECT_FALSE(ReadDeletionVector(*fs, "/nowhere", dv).ok());
}

class DeletionVectorFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = (std::filesystem::temp_directory_path() /
             ("dew_dv_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
  std::shared_ptr<FileSystem> fs_ = FileSystem::Posix();
};

TEST_F(DeletionVectorFileTest, WritesSeveralDvsToOneFileAndReadsThemBack) {
  std::vector<RoaringBitmapArray> bitmaps = {RoaringBitmapArray({0, 2, 4}),
                                             RoaringBitmapArray({uint64_t{1} << 33, 9})};
  auto dvs = WriteDeletionVectors(*fs_, root_, "d2c639aa-8816-431a-aaf6-d3fe2512ff61", bitmaps);
  ASSERT_TRUE(dvs.ok()) << dvs.status().ToString();
  ASSERT_EQ(dvs->size(), 2u);
  EXPECT_EQ((*dvs)[0].path_or_inline_dv, "^-aqEH.-t@S}K{vb[*k^");
  EXPECT_EQ((*dvs)[0].offset, 1);
  EXPECT_EQ((*dvs)[1].offset, 1 + 4 + (*dvs)[0].size_in_bytes + 4);
  EXPECT_TRUE(
      std::filesystem::exists(root_ + "/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin"));
  for (size_t i = 0; i < 2; ++i) {
    auto back = ReadDeletionVector(*fs_, root_, (*dvs)[i]);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->Values(), bitmaps[i].Values());
  }
  // The same UUID again is refused rather than overwriting the file.
  EXPECT_FALSE(
      WriteDeletionVectors(*fs_, root_, "d2c639aa-8816-431a-aaf6-d3fe2512ff61", bitmaps).ok());
}

TEST_F(DeletionVectorFileTest, DetectsACorruptedByte) {
  auto dvs = WriteDeletionVectors(*fs_, root_, "00000000-0000-4000-8000-000000000001",
                                  {RoaringBitmapArray({1, 2, 3})});
  ASSERT_TRUE(dvs.ok());
  auto path = DeletionVectorPath(root_, (*dvs)[0]);
  ASSERT_TRUE(path.ok());
  std::string bytes = *fs_->ReadFile(*path);
  bytes[bytes.size() - 6] ^= 0x01;  // inside the bitmap
  ASSERT_TRUE(fs_->WriteFile(*path, bytes).ok());
  auto read = ReadDeletionVector(*fs_, root_, (*dvs)[0]);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("CRC-32"), std::string::npos) << read.status().ToString();
}

}  // namespace
}  // namespace dew::lake
