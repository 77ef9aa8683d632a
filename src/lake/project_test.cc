#include "lake/project.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace dew::lake {
namespace {

class ProjectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_project_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs_ = FileSystem::Posix();
  }
  void TearDown() override { (void)fs_->RemoveAll(dir_); }
  std::string dir_;
  std::shared_ptr<FileSystem> fs_;
};

TEST_F(ProjectTest, InitLaysOutFoldersConfigAndGitignore) {
  auto p = Project::Init(*fs_, dir_ + "/acme", "");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->config().name, "acme");
  EXPECT_EQ(p->lake_root(), dir_ + "/acme/lake");
  for (const char* f :
       {"connections", "pipelines", "models", "notebooks", "seeds", ".dew", "lake"}) {
    auto info = fs_->Stat(dir_ + "/acme/" + f);
    ASSERT_TRUE(info.ok()) << f;
    EXPECT_TRUE(info->is_dir);
  }
  auto ignore = fs_->ReadFile(dir_ + "/acme/.gitignore");
  ASSERT_TRUE(ignore.ok());
  EXPECT_NE(ignore->find("/lake/"), std::string::npos);
  EXPECT_NE(ignore->find("/.dew/"), std::string::npos);
  auto again = Project::Open(*fs_, dir_ + "/acme");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->config().name, "acme");
  EXPECT_EQ(again->config().lake, "lake");
}

TEST_F(ProjectTest, InitRefusesAnExistingProject) {
  ASSERT_TRUE(Project::Init(*fs_, dir_, "x").ok());
  auto p = Project::Init(*fs_, dir_, "x");
  EXPECT_TRUE(p.status().IsAlreadyExists());
  EXPECT_NE(p.status().message().find(dir_), std::string::npos);
}

TEST_F(ProjectTest, DiscoverWalksUpLikeGit) {
  ASSERT_TRUE(Project::Init(*fs_, dir_ + "/p", "proj").ok());
  ASSERT_TRUE(fs_->CreateDirs(dir_ + "/p/models/deep/er").ok());
  auto p = Project::Discover(*fs_, dir_ + "/p/models/deep/er");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->root(), dir_ + "/p");
  EXPECT_EQ(p->config().name, "proj");
}

TEST_F(ProjectTest, DiscoverOutsideAProjectSaysHowToCreateOne) {
  auto p = Project::Discover(*fs_, dir_);
  ASSERT_TRUE(p.status().IsNotFound());
  EXPECT_NE(p.status().message().find("dew init"), std::string::npos);
  EXPECT_NE(p.status().message().find(dir_), std::string::npos);
  EXPECT_TRUE(Project::Open(*fs_, dir_).status().IsNotFound());
}

TEST_F(ProjectTest, ConfigParsingAndErrors) {
  auto c = ParseProjectConfig("name: fin\nversion: '2'\nlake: /data/lake\n", "dew.yml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->lake, "/data/lake");
  EXPECT_EQ(c->version, "2");
  auto bad = ParseProjectConfig("name: [1, 2\n", "x/dew.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("x/dew.yml:"), std::string::npos);
  EXPECT_FALSE(ParseProjectConfig("- a\n- b\n", "dew.yml").ok());
  EXPECT_FALSE(ParseProjectConfig("name: {a: 1}\n", "dew.yml").ok());
  auto round =
      ParseProjectConfig(ProjectConfigYaml(ProjectConfig{"a: b", "1.0", "lk", "sqlite"}), "y");
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->name, "a: b");
  EXPECT_EQ(round->control, "sqlite");
}

TEST(AbsolutePathTest, Normalises) {
  EXPECT_EQ(AbsolutePath("a/./b/../c", "/w"), "/w/a/c");
  EXPECT_EQ(AbsolutePath("/x/y/", "/w"), "/x/y");
  EXPECT_EQ(AbsolutePath("../..", "/w"), "/");
}

}  // namespace
}  // namespace dew::lake
