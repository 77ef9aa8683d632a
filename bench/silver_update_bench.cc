// silver_update_bench: the silver side of benchmark 4's 1% incremental step, without PostgreSQL.
//
//   silver_update_bench setup DIR [--rows N]
//     Lands N rows shaped like benchmark 4's account_move_line (default 5,000,000) in
//     bronze.raw_inc_account_move_line of a lake in DIR, as an incremental stream's first read
//     does (chunks of 500,000 rows of one unique-key set, in key order), then
//     SilverTable::Update creates silver from them.
//   silver_update_bench run DIR [--kind recent|spread] [--steps K] [--pct P]
//     Copies DIR to DIR.run, then K times (default 3): lands P% (default 1) of the rows changed
//     as one bronze batch (recent: the highest ids; spread: every (100/P)th id, a different
//     residue each step) and times SilverTable::Update alone: wall and CPU (user + sys of this
//     process, DuckDB's threads included) per step, then their medians. Removes DIR.run.
//
// Each run starts from the same copy, so runs of two binaries over one DIR compare; alternate
// them when the machine is shared.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "connectors/bronze_landing.h"
#include "connectors/silver_table.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "lake/lakehouse.h"

namespace dew::bench {
namespace {

constexpr const char* kSource = "inc";
constexpr const char* kStream = "account_move_line";

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// The rows of ids [lo, hi) (or of the ids `ids_sql` returns, a query with one column i), as
// benchmark 4's generator makes them; `step` moves debit, balance and write_date as its UPDATE.
std::string RowsSql(const std::string& ids_sql, int step) {
  const std::string s = std::to_string(step);
  return "SELECT CAST(i AS INTEGER) AS id, CAST(i // 4 + 1 AS INTEGER) AS move_id, "
         "'INV/2025/' || lpad(CAST(i // 4 + 1 AS VARCHAR), 7, '0') AS move_name, "
         "CAST(DATE '2025-01-01' + CAST(i % 730 AS INTEGER) AS DATE) AS date, "
         "CAST(1 + i % 5 AS INTEGER) AS journal_id, CAST(1 + (i * 7) % 48 AS INTEGER) AS "
         "account_id, "
         "CASE WHEN i % 9 = 0 THEN NULL ELSE CAST(1 + (i * 13) % 400 AS INTEGER) END AS "
         "partner_id, "
         "'Product ' || (1 + (i * 31) % 250) AS name, "
         "CASE WHEN i % 4 = 3 THEN 'PAY-' || (i // 4) END AS ref, "
         "CAST(CASE WHEN i % 2 = 0 THEN ((i * 7919) % 1000000) / 100.0 ELSE 0 END + " +
         s +
         " AS DECIMAL(16,2)) AS debit, "
         "CAST(CASE WHEN i % 2 = 1 THEN ((i * 7919) % 1000000) / 100.0 ELSE 0 END AS "
         "DECIMAL(16,2)) "
         "AS credit, "
         "CAST(CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END * ((i * 7919) % 1000000) / 100.0 + " +
         s +
         " AS DECIMAL(16,2)) AS balance, 2 AS currency_id, i % 3 = 0 AS reconciled, "
         "'posted' AS parent_state, "
         "TIMESTAMP '2025-01-01 08:00:00' + to_seconds(i // 10) AS create_date, " +
         (step == 0 ? std::string("TIMESTAMP '2025-01-01 09:00:00' + to_seconds(i // 10)")
                    : "TIMESTAMP '2030-01-01' + to_days(" + s + ") + to_microseconds(i)") +
         " AS write_date FROM (" + ids_sql + ") AS _ids(i)";
}

struct Lake {
  std::shared_ptr<FileSystem> fs = FileSystem::Posix();
  std::unique_ptr<lake::Lakehouse> lake;
};

Result<Lake> OpenLake(const std::string& dir) {
  Lake out;
  lake::LakehouseOptions o;
  o.lake_root = dir + "/lake";
  o.cwd = dir;
  o.user = "bench";
  o.run_id = "bench";
  DEW_ASSIGN_OR_RETURN(out.lake, lake::Lakehouse::Open(o, out.fs, Clock::System()));
  return out;
}

Status Land(lake::Lakehouse* lake, const std::string& select, int64_t batch_seq,
            int64_t unique_since) {
  connectors::BronzeLanding landing(lake, kSource, kStream);
  connectors::LandingBatch b;
  b.select_sql = select;
  b.cursor_sql = "CAST(write_date AS VARCHAR)";
  b.state = nlohmann::json{{"seq", batch_seq}};
  b.unique_keys = true;
  b.unique_since_batch = unique_since;
  DEW_ASSIGN_OR_RETURN(auto landed, landing.Land(b));
  (void)landed;
  return Status::OK();
}

int Fail(const Status& s) {
  std::fprintf(stderr, "silver_update_bench: %s\n", s.ToString().c_str());
  return 1;
}

int Setup(const std::string& dir, int64_t rows) {
  auto opened = OpenLake(dir);
  if (!opened.ok()) return Fail(opened.status());
  lake::Lakehouse* lake = opened->lake.get();
  const int64_t chunk = 500000;
  int64_t seq = 0;
  for (int64_t lo = 1; lo <= rows; lo += chunk) {
    const int64_t hi = std::min(rows + 1, lo + chunk);
    ++seq;
    Status s = Land(
        lake,
        RowsSql("SELECT range FROM range(" + std::to_string(lo) + ", " + std::to_string(hi) + ")",
                0),
        seq, 1);
    if (!s.ok()) return Fail(s);
  }
  connectors::SilverTable silver(lake, kSource, kStream);
  const auto start = std::chrono::steady_clock::now();
  auto r = silver.Update({"id"});
  if (!r.ok()) return Fail(r.status());
  std::printf("setup: %lld rows in %lld bronze batches; silver created in %.2f s\n",
              static_cast<long long>(rows), static_cast<long long>(seq),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

int Run(const std::string& dir, const std::string& kind, int steps, int pct) {
  const std::string copy = dir + ".run";
  if (std::system(("rm -rf '" + copy + "' && cp -a '" + dir + "' '" + copy + "'").c_str()) != 0) {
    return Fail(Status::IOError("cannot copy " + dir));
  }
  std::vector<double> walls, cpus;
  {
    auto opened = OpenLake(copy);
    if (!opened.ok()) return Fail(opened.status());
    lake::Lakehouse* lake = opened->lake.get();
    auto rows_text = lake->connection().QueryScalar("SELECT max(id) FROM silver." +
                                                    std::string(kSource) + "_" + kStream);
    if (!rows_text.ok()) return Fail(rows_text.status());
    const int64_t rows = std::atoll(rows_text->value_or("0").c_str());
    connectors::BronzeLanding landing(lake, kSource, kStream);
    auto last = landing.LastCommitted();
    if (!last.ok()) return Fail(last.status());
    int64_t seq = last->batch;
    const int64_t stride = 100 / pct;
    for (int step = 1; step <= steps; ++step) {
      const std::string ids =
          kind == "recent"
              ? "SELECT range FROM range(" + std::to_string(rows - rows * pct / 100 + 1) + ", " +
                    std::to_string(rows + 1) + ")"
              : "SELECT range FROM range(" + std::to_string(rows + 1) + ") WHERE range % " +
                    std::to_string(stride) + " = " + std::to_string(step % stride);
      ++seq;
      Status s = Land(lake, RowsSql(ids, step), seq, 0);
      if (!s.ok()) return Fail(s);
      connectors::SilverTable silver(lake, kSource, kStream);
      const double cpu0 = CpuSeconds();
      const auto start = std::chrono::steady_clock::now();
      auto r = silver.Update({"id"});
      if (!r.ok()) return Fail(r.status());
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double cpu = CpuSeconds() - cpu0;
      walls.push_back(wall);
      cpus.push_back(cpu);
      std::printf("step %d (%s, %lld rows upserted): Update wall %.3f s, cpu %.3f s\n", step,
                  kind.c_str(), static_cast<long long>(r->rows_written), wall, cpu);
    }
  }
  (void)std::system(("rm -rf '" + copy + "'").c_str());
  std::sort(walls.begin(), walls.end());
  std::sort(cpus.begin(), cpus.end());
  std::printf("median (%s, %d steps): Update wall %.3f s, cpu %.3f s\n", kind.c_str(), steps,
              walls[walls.size() / 2], cpus[cpus.size() / 2]);
  return 0;
}

}  // namespace
}  // namespace dew::bench

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: silver_update_bench setup DIR [--rows N]\n"
                 "       silver_update_bench run DIR [--kind recent|spread] [--steps K] "
                 "[--pct P]\n");
    return 2;
  }
  const std::string cmd = argv[1];
  const std::string dir = argv[2];
  int64_t rows = 5000000;
  std::string kind = "recent";
  int steps = 3;
  int pct = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rows") {
      rows = std::atoll(argv[i + 1]);
    } else if (flag == "--kind") {
      kind = argv[i + 1];
    } else if (flag == "--steps") {
      steps = std::atoi(argv[i + 1]);
    } else if (flag == "--pct") {
      pct = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "silver_update_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (cmd == "setup" && rows >= 100) return dew::bench::Setup(dir, rows);
  if (cmd == "run" && (kind == "recent" || kind == "spread") && steps >= 1 && pct >= 1 &&
      pct <= 100) {
    return dew::bench::Run(dir, kind, steps, pct);
  }
  std::fprintf(stderr, "silver_update_bench: bad arguments\n");
  return 2;
}
