#include "connectors/files_source.h"

#include <gtest/gtest.h>
#include <sys/time.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "connectors/connection_spec.h"
#include "connectors/local_object_store.h"
#include "connectors/source_factory.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "core/http_client.h"
#include "engine/connection.h"
#include "lake/lake_test_util.h"
#include "lake/lakehouse.h"

namespace dew::connectors {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::trunc) << text;
}

// Sets a file's mtime so "changed" does not depend on the clock's resolution.
void Touch(const std::string& path, int64_t seconds) {
  struct timeval times[2] = {{seconds, 0}, {seconds, 0}};
  ASSERT_EQ(utimes(path.c_str(), times), 0) << path;
}

class FilesSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() + "/inbox";
    std::filesystem::create_directories(root_);
    lake::LakehouseOptions o;
    o.lake_root = dir_.path() + "/lake";
    o.cwd = dir_.path();
    o.user = "tester";
    o.run_id = "run-files-1";
    auto lake = lake::Lakehouse::Open(o, FileSystem::Posix(), Clock::System());
    ASSERT_TRUE(lake.ok()) << lake.status().ToString();
    lake_ = std::move(*lake);
  }

  SourceEnv Env() const {
    SourceEnv env;
    env.fs = FileSystem::Posix();
    env.clock = Clock::System();
    env.http = NewCurlHttpClient();
    env.project_dir = dir_.path();
    env.spool_dir = dir_.path() + "/spool";
    return env;
  }

  Result<std::unique_ptr<Source>> Make(const std::string& yaml) {
    DEW_ASSIGN_OR_RETURN(ConnectionSpec spec, ConnectionSpec::Parse(yaml, "connections/inbox.yml"));
    return MakeSource(spec, Env());
  }

  std::unique_ptr<Source> MakeOk(const std::string& yaml) {
    auto source = Make(yaml);
    EXPECT_TRUE(source.ok()) << source.status().ToString();
    return source.ok() ? std::move(*source) : nullptr;
  }

  std::string Query(const std::string& sql) {
    auto r = lake_->connection().QueryScalar(sql);
    EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << sql;
    return r.ok() ? r->value_or("NULL") : "ERROR";
  }

  Result<ReadResult> Read(Source& source, const std::string& stream,
                          const std::string& mode = "incremental") {
    StreamRequest request;
    request.name = stream;
    request.sync_mode = mode;
    return source.Read(request, nlohmann::json(), lake_.get());
  }

  lake::testing::TempDir dir_;
  std::string root_;
  std::unique_ptr<lake::Lakehouse> lake_;
};

constexpr const char* kStatements = R"(name: inbox
source_type: files
files:
  store: local
  root: inbox
streams:
  - name: bank_statements
    glob: "statements/*.csv"
    primary_key: [id]
)";

TEST_F(FilesSourceTest, LandsNewAndChangedFilesOnly) {
  Write(root_ + "/statements/2026-01.csv", "id,amount\n1,10.5\n2,20\n3,-1\n");
  Write(root_ + "/statements/2026-02.csv", "id,amount\n4,7\n5,8\n");
  Write(root_ + "/statements/notes.txt", "not a statement\n");
  Write(root_ + "/statements/old/2025-12.csv", "id,amount\n0,0\n");
  Touch(root_ + "/statements/2026-01.csv", 1767225600);
  Touch(root_ + "/statements/2026-02.csv", 1769904000);
  auto source = MakeOk(kStatements);
  ASSERT_TRUE(source);

  auto first = Read(*source, "bank_statements");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->rows, 5);
  EXPECT_EQ(first->table, "bronze.raw_inbox_bank_statements");
  EXPECT_EQ(first->state["files"].size(), 2u);
  EXPECT_EQ(Query("SELECT string_agg(DISTINCT _source_file, ',' ORDER BY _source_file) FROM "
                  "bronze.raw_inbox_bank_statements"),
            "statements/2026-01.csv,statements/2026-02.csv");
  EXPECT_EQ(
      Query("SELECT _cursor FROM bronze.raw_inbox_bank_statements WHERE id = 4"),
      "2026-02-01T00:00:00.000Z statements/2026-02.csv@" +
          std::to_string(first->state["files"]["statements/2026-02.csv"]["size"].get<int64_t>()));
  EXPECT_EQ(Query("SELECT sum(amount) FROM bronze.raw_inbox_bank_statements"), "44.5");

  auto again = Read(*source, "bank_statements");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows, 0);
  EXPECT_EQ(Query("SELECT count(*) FROM bronze.raw_inbox_bank_statements"), "5");

  // A new file and a changed one (same size, new mtime) land; the unchanged one does not.
  Write(root_ + "/statements/2026-03.csv", "id,amount\n6,1\n");
  Write(root_ + "/statements/2026-01.csv", "id,amount\n1,10.5\n2,25\n3,-1\n");
  Touch(root_ + "/statements/2026-01.csv", 1772323200);
  auto third = Read(*source, "bank_statements");
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->rows, 4);
  EXPECT_EQ(third->state["files"].size(), 3u);
  EXPECT_EQ(Query("SELECT count(*) FROM bronze.raw_inbox_bank_statements WHERE _source_file = "
                  "'statements/2026-01.csv'"),
            "6");
  EXPECT_EQ(Query("SELECT count(*) FROM bronze.raw_inbox_bank_statements WHERE _source_file = "
                  "'statements/2026-02.csv'"),
            "2");
  // A file gone from the folder leaves the state; nothing is landed for it.
  std::filesystem::remove(root_ + "/statements/2026-03.csv");
  auto fourth = Read(*source, "bank_statements");
  ASSERT_TRUE(fourth.ok()) << fourth.status().ToString();
  EXPECT_EQ(fourth->rows, 0);
  EXPECT_EQ(fourth->state["files"].size(), 2u);
  EXPECT_FALSE(fourth->state["files"].contains("statements/2026-03.csv"));
  // Key 2 is in the old and the new version of 2026-01.csv: the newest file has the greatest
  // cursor (silver keeps the row with the greatest cursor).
  EXPECT_EQ(Query("SELECT amount FROM bronze.raw_inbox_bank_statements WHERE id = 2 ORDER BY "
                  "_cursor DESC LIMIT 1"),
            "25");
}

TEST_F(FilesSourceTest, StateCommittedInBronzeWinsOverTheCallersCopy) {
  Write(root_ + "/statements/a.csv", "id\n1\n");
  auto source = MakeOk(kStatements);
  ASSERT_TRUE(source);
  ASSERT_TRUE(Read(*source, "bank_statements").ok());
  // The caller lost its state (a kill before it was mirrored): bronze still knows the file.
  auto again = Read(*source, "bank_statements");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->rows, 0);
  // A full refresh lands everything again.
  auto full = Read(*source, "bank_statements", "full_refresh");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->rows, 1);
  EXPECT_EQ(Query("SELECT count(*) FROM bronze.raw_inbox_bank_statements"), "2");
}

TEST_F(FilesSourceTest, ReadsCsvJsonNdjsonAndParquet) {
  Write(root_ + "/d/a.csv", "id;name\n1;ann\n2;bob\n");
  Write(root_ + "/d/b.json", R"([{"id": 3, "name": "cy"}, {"id": 4, "name": "di"}])");
  Write(root_ + "/d/c.ndjson", "{\"id\": 5, \"name\": \"ed\"}\n{\"id\": 6, \"name\": \"flo\"}\n");
  ASSERT_TRUE(lake_->connection()
                  .Execute("COPY (SELECT 7 AS id, 'gus' AS name UNION ALL SELECT 8, 'hal') TO " +
                           engine::SqlString(root_ + "/d/e.parquet") + " (FORMAT parquet)")
                  .ok());
  Write(root_ + "/d/semi.txt", "id|name\n9|ivy\n");
  // DuckDB would expand this name as a glob: it is read from a copy.
  Write(root_ + "/d/odd[1].csv", "id;name\n10;jo\n");
  auto source = MakeOk(R"(name: mix
source_type: files
files: {store: local, root: inbox}
streams:
  - name: people_csv
    glob: "d/*.csv"
    csv: {delimiter: ";", header: true}
  - name: people_json
    glob: "d/*.json"
  - name: people_ndjson
    glob: "d/*.ndjson"
  - name: people_parquet
    glob: "d/*.parquet"
  - name: people_txt
    glob: "d/*.txt"
    format: csv
    csv: {delimiter: "|"}
)");
  ASSERT_TRUE(source);
  for (const char* stream :
       {"people_csv", "people_json", "people_ndjson", "people_parquet", "people_txt"}) {
    auto read = Read(*source, stream);
    ASSERT_TRUE(read.ok()) << stream << ": " << read.status().ToString();
    const std::string table = std::string("bronze.raw_mix_") + stream;
    EXPECT_EQ(Query("SELECT string_agg(id || '=' || name, ',' ORDER BY id) FROM " + table),
              std::string(stream) == "people_csv"       ? "1=ann,2=bob,10=jo"
              : std::string(stream) == "people_json"    ? "3=cy,4=di"
              : std::string(stream) == "people_ndjson"  ? "5=ed,6=flo"
              : std::string(stream) == "people_parquet" ? "7=gus,8=hal"
                                                        : "9=ivy")
        << stream;
  }

  auto discovered = (*source).Discover();
  ASSERT_TRUE(discovered.ok()) << discovered.status().ToString();
  ASSERT_EQ(discovered->size(), 5u);
  const StreamInfo& parquet = (*discovered)[3];
  EXPECT_EQ(parquet.name, "people_parquet");
  ASSERT_EQ(parquet.columns.size(), 3u);
  EXPECT_EQ(parquet.columns[0].name, "id");
  EXPECT_EQ(parquet.columns[0].lake_type, "INTEGER");
  EXPECT_EQ(parquet.columns[1].lake_type, "VARCHAR");
  EXPECT_EQ(parquet.columns[2].name, "_source_file");
  // What Discover reports is what bronze holds besides the lineage columns, so the sync
  // engine's drift check sees no change.
  std::string described;
  for (const ColumnInfo& c : parquet.columns) described += (described.empty() ? "" : ",") + c.name;
  EXPECT_EQ(Query("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                  "information_schema.columns WHERE table_schema = 'bronze' AND table_name = "
                  "'raw_mix_people_parquet' AND column_name NOT IN ('_emitted_at', '_source', "
                  "'_stream', '_cursor', '_ingest_date', '_run_id', '_deleted', '_batch')"),
            described);

  auto one = static_cast<FilesSource&>(*source).DescribeStream("people_csv");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->columns.size(), 3u);
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() + "/spool"));
  EXPECT_EQ(static_cast<FilesSource&>(*source).DescribeStream("nope").status().code(),
            Status::Code::kNotFound);
}

TEST_F(FilesSourceTest, SmallFilesLandInGroupsOneCommitEach) {
  for (int i = 0; i < 5; ++i) {
    Write(root_ + "/many/f" + std::to_string(i) + ".csv", "id\n" + std::to_string(i) + "\n");
    Touch(root_ + "/many/f" + std::to_string(i) + ".csv", 1767225600 + i);
  }
  auto source = MakeOk(R"(name: many
source_type: files
files: {store: local, root: inbox, batch_files: 2}
streams:
  - {name: parts, glob: "many/**"}
)");
  ASSERT_TRUE(source);
  auto read = Read(*source, "parts");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 5);
  EXPECT_EQ(Query("SELECT count(DISTINCT _batch) FROM bronze.raw_many_parts"), "3");
  EXPECT_EQ(read->commits, 3);
  EXPECT_EQ(Query("SELECT count(DISTINCT _cursor) FROM bronze.raw_many_parts"), "5");
}

TEST_F(FilesSourceTest, ABadFileFailsNamingItAndKeepsTheEarlierOnes) {
  Write(root_ + "/s/1.json", R"([{"id": 1}])");
  Write(root_ + "/s/2.json", R"([{"id": 2}, {"id": )");
  Touch(root_ + "/s/1.json", 1767225600);
  Touch(root_ + "/s/2.json", 1767225601);
  auto source = MakeOk(R"(name: bad
source_type: files
files: {store: local, root: inbox, batch_files: 1}
streams:
  - {name: s, glob: "s/*.json"}
)");
  ASSERT_TRUE(source);
  auto read = Read(*source, "s");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("s/2.json"), std::string::npos)
      << read.status().ToString();
  EXPECT_EQ(Query("SELECT count(*) FROM bronze.raw_bad_s"), "1");
  // Fixed, the next sync lands only the file that failed.
  Write(root_ + "/s/2.json", R"([{"id": 2}])");
  auto retry = Read(*source, "s");
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(retry->rows, 1);
  EXPECT_EQ(Query("SELECT string_agg(CAST(id AS VARCHAR), ',' ORDER BY id) FROM bronze.raw_bad_s"),
            "1,2");
}

TEST_F(FilesSourceTest, CheckTellsAMissingFolderFromAnEmptyGlob) {
  Write(root_ + "/statements/a.csv", "id\n1\n");
  auto source = MakeOk(kStatements);
  ASSERT_TRUE(source);
  CheckProblem problem = CheckProblem::kOther;
  EXPECT_TRUE(source->Check({"bank_statements"}, &problem).ok());
  EXPECT_EQ(problem, CheckProblem::kNone);

  std::filesystem::remove(root_ + "/statements/a.csv");
  Status s = source->Check({"bank_statements"}, &problem);
  EXPECT_EQ(problem, CheckProblem::kMissingTable);
  EXPECT_NE(s.message().find("statements/*.csv"), std::string::npos) << s.ToString();

  std::filesystem::remove_all(root_);
  s = source->Check({}, &problem);
  EXPECT_EQ(problem, CheckProblem::kMissingDatabase);
  EXPECT_NE(s.message().find(root_), std::string::npos) << s.ToString();
}

TEST_F(FilesSourceTest, SpecErrorsNameFileLineAndColumn) {
  auto error = [&](const std::string& yaml) {
    auto source = Make(yaml);
    EXPECT_FALSE(source.ok());
    return source.ok() ? std::string() : source.status().message();
  };
  EXPECT_EQ(error("name: x\nsource_type: files\nfiles:\n  store: local\n  rot: inbox\n"
                  "streams:\n  - {name: s, glob: '*.csv'}\n"),
            "connections/inbox.yml:5:8: files.rot: unknown key (did you mean 'root'?)");
  EXPECT_EQ(error("name: x\nsource_type: files\nfiles: {store: ftp}\n"
                  "streams:\n  - {name: s, glob: '*.csv'}\n"),
            "connections/inbox.yml:3:16: files.store: 'ftp' is not a store (did you mean "
            "'sftp'?)");
  EXPECT_NE(error("name: x\nsource_type: files\nfiles: {store: local, root: inbox}\n"
                  "streams:\n  - name: s\n")
                .find("connections/inbox.yml:5:5: streams[0]: missing required field glob"),
            std::string::npos);
  EXPECT_NE(error("name: x\nsource_type: files\nfiles: {store: local, root: inbox}\n"
                  "streams:\n  - {name: s, glob: '*.x', format: xlsx}\n")
                .find("streams[0].format: 'xlsx' is not a format"),
            std::string::npos);
  EXPECT_NE(error("name: x\nsource_type: files\nfiles: {store: local, root: inbox, bucket: b}\n"
                  "streams:\n  - {name: s, glob: '*.csv'}\n")
                .find("files.bucket: does not apply to store local"),
            std::string::npos);
  EXPECT_NE(error("name: x\nsource_type: files\nfiles: {store: s3, bucket: b}\n"
                  "auth: {access_key_id: AK, secret_access_key: plain}\n"
                  "streams:\n  - {name: s, glob: '*.csv'}\n")
                .find("literal secret"),
            std::string::npos);
  EXPECT_NE(error("name: x\nsource_type: files\nfiles: {store: s3, bucket: b}\n"
                  "auth: {access_key_id: AK, secret_access_key: '${env:DEW_NO_SUCH_VAR}'}\n"
                  "streams:\n  - {name: s, glob: '*.csv'}\n")
                .find("DEW_NO_SUCH_VAR"),
            std::string::npos);
  EXPECT_NE(error("name: x\nsource_type: files\nfiles: {store: sftp, host: h}\n"
                  "auth: {user: u}\nstreams:\n  - {name: s, glob: '*.csv'}\n")
                .find("auth: needs exactly one of password, private_key, private_key_file"),
            std::string::npos);
  EXPECT_NE(error("name: x\nsource_type: files\nfiles: {store: local, root: inbox}\n"
                  "streams:\n  - {name: s, glob: '*.csv', csv: {delimiter: 1}}\n")
                .find("streams[0].csv.delimiter: wrong type"),
            std::string::npos);
}

// A remote store stand-in over a real folder: files must be downloaded (no LocalPath), and a
// download can be made to fail once, as a dropped connection or a killed sync would.
class FlakyStore : public ObjectStore {
 public:
  FlakyStore(std::shared_ptr<FileSystem> fs, std::string root, std::string fail_on)
      : local_(fs, std::move(root)), fail_on_(std::move(fail_on)) {}
  std::string Describe() const override { return "flaky:" + local_.Describe(); }
  Status Check(CheckProblem* problem) override { return local_.Check(problem); }
  Result<std::vector<ObjectEntry>> List(const std::string& prefix) override {
    return local_.List(prefix);
  }
  std::string LocalPath(const std::string&) const override { return std::string(); }
  Status Download(const std::string& path, const std::string& local_path) override {
    downloads++;
    if (path == fail_on_) {
      fail_on_.clear();
      return Status::IOError("connection reset while downloading " + path);
    }
    return local_.Download(path, local_path);
  }
  int downloads = 0;

 private:
  LocalObjectStore local_;
  std::string fail_on_;
};

TEST_F(FilesSourceTest, AFailedDownloadResumesAtThatFileWithNothingDoubled) {
  for (int i = 0; i < 5; ++i) {
    const std::string path = root_ + "/r/" + std::to_string(i) + ".ndjson";
    Write(path, "{\"id\": " + std::to_string(i) + "}\n{\"id\": " + std::to_string(i + 10) + "}\n");
    Touch(path, 1767225600 + i);
  }
  FilesConfig config;
  config.source = "flaky";
  config.spool_dir = dir_.path() + "/spool";
  config.batch_files = 1;
  config.streams.push_back({"r", "r/*.ndjson", "", {"id"}, nlohmann::json::object()});
  auto store = std::make_unique<FlakyStore>(FileSystem::Posix(), root_, "r/3.ndjson");
  FlakyStore* flaky = store.get();
  FilesSource source(config, std::move(store), FileSystem::Posix());

  auto first = Read(source, "r");
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.status().message().find("r/3.ndjson"), std::string::npos)
      << first.status().ToString();
  EXPECT_EQ(Query("SELECT count(*) FROM bronze.raw_flaky_r"), "6");  // files 0, 1, 2

  flaky->downloads = 0;
  auto resumed = Read(source, "r");
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(flaky->downloads, 2);  // only 3 and 4
  EXPECT_EQ(resumed->rows, 4);
  EXPECT_EQ(Query("SELECT count(*) || '/' || count(DISTINCT id) FROM bronze.raw_flaky_r"), "10/10");
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() + "/spool"));
}

TEST_F(FilesSourceTest, ACancelledSyncStopsBetweenFiles) {
  Write(root_ + "/statements/a.csv", "id\n1\n");
  auto source = MakeOk(kStatements);
  ASSERT_TRUE(source);
  std::atomic<bool> cancel{true};
  StreamRequest request;
  request.name = "bank_statements";
  request.sync_mode = "incremental";
  request.cancel = &cancel;
  auto read = source->Read(request, nlohmann::json(), lake_.get());
  EXPECT_TRUE(read.status().IsInterrupted()) << read.status().ToString();
  cancel = false;
  read = source->Read(request, nlohmann::json(), lake_.get());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rows, 1);
}

TEST(FilesSourceFormatTest, FormatFromTheFileName) {
  EXPECT_EQ(FilesSource::FormatFromName("a/b.CSV"), "csv");
  EXPECT_EQ(FilesSource::FormatFromName("a/b.tsv.gz"), "csv");
  EXPECT_EQ(FilesSource::FormatFromName("x.jsonl"), "ndjson");
  EXPECT_EQ(FilesSource::FormatFromName("x.ndjson.gz"), "ndjson");
  EXPECT_EQ(FilesSource::FormatFromName("x.json"), "json");
  EXPECT_EQ(FilesSource::FormatFromName("x.parquet"), "parquet");
  EXPECT_EQ(FilesSource::FormatFromName("x.xlsx"), "");
}

}  // namespace
}  // namespace dew::connectors
