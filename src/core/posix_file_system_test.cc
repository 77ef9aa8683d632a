#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <string>

#include "core/file_system.h"

namespace dew {
namespace {

class PosixFileSystemTest : public ::testing::Test {
 protected:
  // A temp folder under `parent`, removed afterwards.
  std::string TempDir(const std::string& parent) {
    std::string tmpl = parent + "/dew_fs_test_XXXXXX";
    const char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr) << parent;
    if (made) dirs_.push_back(made);
    return made ? made : "";
  }
  ~PosixFileSystemTest() override {
    for (const auto& d : dirs_) (void)fs_->RemoveAll(d);
  }

  std::shared_ptr<FileSystem> fs_ = FileSystem::Posix();
  std::vector<std::string> dirs_;
};

ino_t Inode(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

TEST_F(PosixFileSystemTest, LinkGivesAFileASecondNameThatOutlivesTheFirst) {
  const std::string dir = TempDir("/tmp");
  const std::string a = dir + "/a.parquet", b = dir + "/b.parquet";
  ASSERT_TRUE(fs_->WriteFile(a, "PAR1 rows PAR1").ok());
  ASSERT_TRUE(fs_->Link(a, b).ok());
  EXPECT_EQ(Inode(a), Inode(b));  // a hard link: no bytes copied
  EXPECT_TRUE(fs_->Link(a, b).IsAlreadyExists());
  ASSERT_TRUE(fs_->RemoveFile(a).ok());
  auto read = fs_->ReadFile(b);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "PAR1 rows PAR1");
  EXPECT_TRUE(fs_->Link(a, dir + "/c.parquet").IsNotFound());
}

// /dev/shm is another file system than /tmp's where both exist: link() fails with EXDEV there,
// and Link copies the bytes instead.
TEST_F(PosixFileSystemTest, LinkCopiesAcrossFileSystems) {
  struct stat tmp = {};
  struct stat shm = {};
  if (stat("/tmp", &tmp) != 0 || stat("/dev/shm", &shm) != 0 || tmp.st_dev == shm.st_dev) {
    GTEST_SKIP() << "needs /tmp and /dev/shm on different file systems";
  }
  const std::string a = TempDir("/tmp") + "/a.parquet";
  const std::string b = TempDir("/dev/shm") + "/b.parquet";
  std::string bytes(200000, 'x');
  for (size_t i = 0; i < bytes.size(); i += 7) bytes[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(fs_->WriteFile(a, bytes).ok());
  ASSERT_TRUE(fs_->Link(a, b).ok());
  auto read = fs_->ReadFile(b);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, bytes);
  EXPECT_TRUE(fs_->Link(a, b).IsAlreadyExists());
}

}  // namespace
}  // namespace dew
