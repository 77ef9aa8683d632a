// optimize_bench: what OPTIMIZE buys a silver-like table with deletion vectors.
//
// Creates a table of ROWS rows (id, name, amount, write_date) with deletion vectors on, then runs
// SYNCS upserts as a connector's silver table gets them (DeltaTable::Merge by id of 1% changed
// rows plus 0.1% new ones; each adds a file and marks the replaced rows in DVs). Auto compaction
// is not involved (it runs in SilverTable::Update, not in Merge). Then it measures, before and
// after one DeltaTable::Optimize: live files, files with a DV, rows hidden by DVs, the length of
// the scan SQL, and the median time of `SELECT count(*), sum(amount)` over the scan (RUNS runs,
// each on a fresh snapshot and SQL, as every dew query does), and the OPTIMIZE's own time.
//
// Usage: optimize_bench [--rows N] [--syncs N] [--runs N] [--json FILE]
// Defaults: 200000 rows, 50 syncs, 7 runs. The table lives in a new folder under /tmp, removed
// at the end.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/file_system.h"
#include "core/id_generator.h"
#include "engine/connection.h"
#include "engine/database.h"
#include "lake/delta_table.h"
#include "lake/table_scan.h"

namespace dew::bench {
namespace {

struct State {
  size_t files = 0;
  size_t files_with_dv = 0;
  int64_t hidden_rows = 0;
  int64_t live_rows = 0;
  size_t scan_sql_bytes = 0;
  double scan_ms = 0;  // median
  std::string result;  // count|sum, to check the rows did not change
};

double Millis(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

Result<State> Measure(lake::DeltaTable& table, engine::Connection& con, FileSystem& fs, int runs) {
  State state;
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    DEW_ASSIGN_OR_RETURN(lake::Snapshot snapshot, table.Latest());
    DEW_ASSIGN_OR_RETURN(std::string scan, lake::ScanSql(fs, snapshot));
    DEW_ASSIGN_OR_RETURN(
        auto rows, con.QueryText("SELECT count(*) || '|' || sum(amount) FROM (" + scan + ")"));
    times.push_back(Millis(start));
    state.result = rows.rows.at(0).at(0).value_or("NULL");
    state.scan_sql_bytes = scan.size();
    state.files = snapshot.files.size();
    state.files_with_dv = 0;
    state.hidden_rows = 0;
    for (const auto& f : snapshot.files) {
      if (!f.deletion_vector) continue;
      ++state.files_with_dv;
      state.hidden_rows += f.deletion_vector->cardinality;
    }
    state.live_rows = snapshot.NumRecords();
  }
  std::sort(times.begin(), times.end());
  state.scan_ms = times[times.size() / 2];
  return state;
}

void Print(const char* label, const State& s) {
  std::printf(
      "%-8s files %5zu  with DV %5zu  hidden rows %8lld  live rows %9lld  scan SQL %8zu B"
      "  scan %8.1f ms\n",
      label, s.files, s.files_with_dv, static_cast<long long>(s.hidden_rows),
      static_cast<long long>(s.live_rows), s.scan_sql_bytes, s.scan_ms);
}

int Run(int64_t rows, int syncs, int runs, const std::string& json_path) {
  char tmpl[] = "/tmp/dew_optimize_bench_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = tmpl;
  auto fs = FileSystem::Posix();
  auto db = engine::Database::Open(engine::DatabaseOptions{});
  if (!db.ok()) return 1;
  auto con = (*db)->Connect();
  if (!con.ok()) return 1;
  IdGenerator ids;
  lake::TableEnv env{fs, Clock::System(), con->get(), &ids};
  lake::WriteOptions options;
  options.user = "bench";
  auto fail = [&](const Status& s) {
    std::fprintf(stderr, "optimize_bench: %s\n", s.ToString().c_str());
    (void)fs->RemoveAll(dir);
    return 1;
  };

  const std::string row = "'name ' || id AS name, CAST(id % 1000 AS DECIMAL(12,2)) AS amount";
  auto created = lake::DeltaTable::CreateAs(
      env, dir + "/t", "t",
      "SELECT range AS id, " + row + ", 0 AS write_date FROM range(" + std::to_string(rows) + ")",
      {}, options);
  if (!created.ok()) return fail(created.status());
  lake::DeltaTable& table = **created;
  if (auto s = table.EnableDeletionVectors(options); !s.ok()) return fail(s.status());
  const int64_t changed = std::max<int64_t>(1, rows / 100);
  const int64_t added = std::max<int64_t>(1, rows / 1000);
  const auto sync_start = std::chrono::steady_clock::now();
  for (int s = 1; s <= syncs; ++s) {
    // 1% of the keys change (spread over the table by a stride), 0.1% are new.
    const std::string stride = std::to_string(rows / changed);
    const std::string first_new = std::to_string(rows + (s - 1) * added);
    const std::string sql =
        "SELECT id, " + row + ", " + std::to_string(s) + " AS write_date FROM (SELECT (range * " +
        stride + " + " + std::to_string(s) + ") % " + std::to_string(rows) + " AS id FROM range(" +
        std::to_string(changed) + ") UNION ALL SELECT range AS id FROM range(" + first_new + ", " +
        first_new + " + " + std::to_string(added) + "))";
    auto merged = table.Merge(sql, {"id"}, options);
    if (!merged.ok()) return fail(merged.status());
  }
  const double sync_ms = Millis(sync_start);

  auto before = Measure(table, **con, *fs, runs);
  if (!before.ok()) return fail(before.status());
  const auto optimize_start = std::chrono::steady_clock::now();
  auto optimized = table.Optimize(lake::OptimizeOptions{}, options);
  if (!optimized.ok()) return fail(optimized.status());
  const double optimize_ms = Millis(optimize_start);
  auto after = Measure(table, **con, *fs, runs);
  if (!after.ok()) return fail(after.status());

  std::printf("optimize_bench: %lld rows, %d upserts of %lld changed + %lld new rows (%.0f ms)\n",
              static_cast<long long>(rows), syncs, static_cast<long long>(changed),
              static_cast<long long>(added), sync_ms);
  Print("before", *before);
  Print("after", *after);
  std::printf("optimize %.1f ms; scan time after/before %.3f; rows %s\n", optimize_ms,
              after->scan_ms / before->scan_ms,
              before->result == after->result ? "unchanged" : "CHANGED");
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << "{\"rows\": " << rows << ", \"syncs\": " << syncs << ", \"optimize_ms\": " << optimize_ms
        << ", \"before\": {\"files\": " << before->files << ", \"scan_ms\": " << before->scan_ms
        << ", \"hidden_rows\": " << before->hidden_rows
        << "}, \"after\": {\"files\": " << after->files << ", \"scan_ms\": " << after->scan_ms
        << ", \"hidden_rows\": " << after->hidden_rows << "}}\n";
  }
  con->reset();
  (void)fs->RemoveAll(dir);
  return before->result == after->result ? 0 : 1;
}

}  // namespace
}  // namespace dew::bench

int main(int argc, char** argv) {
  int64_t rows = 200000;
  int syncs = 50;
  int runs = 7;
  std::string json;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rows")
      rows = std::atoll(argv[i + 1]);
    else if (flag == "--syncs")
      syncs = std::atoi(argv[i + 1]);
    else if (flag == "--runs")
      runs = std::atoi(argv[i + 1]);
    else if (flag == "--json")
      json = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: optimize_bench [--rows N] [--syncs N] [--runs N] [--json F]\n");
      return 2;
    }
  }
  if (rows < 1000 || syncs < 1 || runs < 1) {
    std::fprintf(stderr, "optimize_bench: --rows >= 1000, --syncs and --runs >= 1\n");
    return 2;
  }
  return dew::bench::Run(rows, syncs, runs, json);
}
