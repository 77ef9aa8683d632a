// The model corpus: every folder of tests/data/model_projects/ is a small dbt-style project run
// end to end through the dew binary, checked against its expected outputs. A project holds
//   steps.txt   one step a line: `ok ARGS…` / `fail ARGS…` runs `dew ARGS…` and expects exit 0 /
//               non-zero; `cp FROM TO` copies a file inside the project (a new load of a seed
//               between builds); `expect TEXT` needs TEXT in the previous step's output;
//               `#` starts a comment.
//   expected/<layer>.<table>.csv   the table after the last step (`SELECT * … ORDER BY ALL`,
//               as `dew --format csv sql` prints it).
//   expected/<name>.sql + <name>.csv   a query of its own and its output, for what a whole-table
//               comparison cannot pin down (run ids, build times) or for catalog questions.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "core/file_system.h"
#include "support/dew_process.h"

namespace dew {
namespace {

using testing::RunDew;

std::string CorpusDir() {
  return std::string(DEW_SOURCE_DIR) + "/tests/data/model_projects";
}

std::vector<std::string> CorpusProjects() {
  std::vector<std::string> names;
  auto entries = FileSystem::Posix()->ListDir(CorpusDir());
  if (!entries.ok()) return names;
  for (const auto& e : *entries) {
    if (e.is_dir) names.push_back(e.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> Split(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string word;
  while (in >> word) out.push_back(word);
  return out;
}

class ModelCorpusTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dew_corpus_XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs_ = FileSystem::Posix();
    scratch_ = dir_ + "/.scratch";
    ASSERT_TRUE(fs_->CreateDirs(scratch_).ok());
    auto init = RunDew(dir_, {"init", "p"}, scratch_);
    ASSERT_EQ(init.code, 0) << init.err;
    root_ = dir_ + "/p";
    // The project's files over the fresh `dew init` (its dew.yml replaces init's).
    const std::string from = CorpusDir() + "/" + GetParam();
    auto files = fs_->ListRecursive(from);
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    for (const auto& f : *files) {
      auto text = fs_->ReadFile(from + "/" + f.name);
      ASSERT_TRUE(text.ok());
      const std::string to = root_ + "/" + f.name;
      ASSERT_TRUE(fs_->CreateDirs(to.substr(0, to.rfind('/'))).ok());
      ASSERT_TRUE(fs_->WriteFile(to, *text).ok());
    }
  }
  void TearDown() override { (void)fs_->RemoveAll(dir_); }

  std::string dir_, scratch_, root_;
  std::shared_ptr<FileSystem> fs_;
};

TEST_P(ModelCorpusTest, MatchesExpectedOutputs) {
  auto steps = fs_->ReadFile(root_ + "/steps.txt");
  ASSERT_TRUE(steps.ok()) << GetParam() << ": no steps.txt";
  std::istringstream lines(*steps);
  std::string line, last_output;
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    const std::string where = GetParam() + "/steps.txt:" + std::to_string(n);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("expect ", 0) == 0) {
      EXPECT_NE(last_output.find(line.substr(7)), std::string::npos)
          << where << ": missing '" << line.substr(7) << "' in:\n"
          << last_output;
      continue;
    }
    std::vector<std::string> words = Split(line);
    if (words[0] == "cp") {
      ASSERT_EQ(words.size(), 3u) << where;
      auto text = fs_->ReadFile(root_ + "/" + words[1]);
      ASSERT_TRUE(text.ok()) << where << ": " << text.status().ToString();
      ASSERT_TRUE(fs_->WriteFile(root_ + "/" + words[2], *text).ok()) << where;
      continue;
    }
    ASSERT_TRUE(words[0] == "ok" || words[0] == "fail") << where << ": unknown step " << words[0];
    std::vector<std::string> args(words.begin() + 1, words.end());
    auto run = RunDew(root_, args, scratch_);
    last_output = run.out + run.err;
    if (words[0] == "ok")
      ASSERT_EQ(run.code, 0) << where << ":\n" << last_output;
    else
      ASSERT_NE(run.code, 0) << where << ":\n" << last_output;
  }
  if (!fs_->Exists(root_ + "/expected")) return;
  auto expected = fs_->ListDir(root_ + "/expected");
  ASSERT_TRUE(expected.ok());
  for (const auto& e : *expected) {
    if (e.name.size() < 4 || e.name.substr(e.name.size() - 4) != ".csv") continue;
    const std::string name = e.name.substr(0, e.name.size() - 4);
    auto want = fs_->ReadFile(root_ + "/expected/" + e.name);
    ASSERT_TRUE(want.ok());
    std::string query = "SELECT * FROM " + name + " ORDER BY ALL";
    if (auto own = fs_->ReadFile(root_ + "/expected/" + name + ".sql"); own.ok()) query = *own;
    auto got = RunDew(root_, {"--format", "csv", "sql", query}, scratch_);
    ASSERT_EQ(got.code, 0) << GetParam() << ": " << name << ": " << got.err;
    EXPECT_EQ(got.out, *want) << GetParam() << ": " << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Projects, ModelCorpusTest, ::testing::ValuesIn(CorpusProjects()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace dew
