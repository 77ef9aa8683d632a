// lake_open_bench: the cost of opening a Delta table, and of reading a past version, as its log
// grows (benchmark 3 of `make bench`).
//
// Appends tiny batches to one table with DeltaTable::Append until it has 10, 100, 1,000 …
// commits; at each mark it times, as the median of several runs on a fresh DeltaLog:
//   open_latest  DeltaLog::LoadSnapshot() of the latest version;
//   read_v5      DeltaLog::LoadSnapshot(5) plus SELECT count(*) over its ScanSql;
//   count_latest SELECT count(*) over the latest snapshot's ScanSql (grows with the number of
//                data files, not with the log: shown for context, not part of the goal).
// With a checkpoint every 10 commits, open_latest reads one checkpoint and at most nine JSON
// commits whatever the table's age, so the goal is that it stays within 2x between the first
// and the last mark.
//
// Usage: lake_open_bench [--dir DIR] [--marks 10,100,1000] [--runs 7] [--json FILE]
// DIR (default: a new folder under /tmp) must not hold a table yet; it is left in place.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/file_system.h"
#include "core/id_generator.h"
#include "core/status.h"
#include "engine/connection.h"
#include "engine/database.h"
#include "lake/delta_log.h"
#include "lake/delta_table.h"
#include "lake/schema.h"
#include "lake/table_scan.h"

namespace dew::bench {
namespace {

struct Options {
  std::string dir;
  std::vector<int64_t> marks = {10, 100, 1000};
  int runs = 7;
  std::string json_path;
};

struct Mark {
  int64_t commits = 0;
  int64_t checkpoints = 0;
  double append_ms = 0;  // mean time of one Append while reaching this mark
  double open_latest_ms = 0;
  double read_v5_ms = 0;
  double count_latest_ms = 0;
};

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Runs `fn` `runs` times and returns the median wall time in milliseconds, or the first error.
Result<double> TimeMedian(int runs, const std::function<Status()>& fn) {
  std::vector<double> ms;
  for (int i = 0; i < runs; i++) {
    const auto start = std::chrono::steady_clock::now();
    DEW_RETURN_IF_ERROR(fn());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  return Median(std::move(ms));
}

Status CountRows(engine::Connection& con, const lake::Snapshot& snapshot, int64_t expected) {
  DEW_ASSIGN_OR_RETURN(std::string scan, lake::ScanSql(snapshot));
  DEW_ASSIGN_OR_RETURN(auto count, con.QueryScalar("SELECT count(*) FROM (" + scan + ")"));
  if (!count.has_value() || std::stoll(*count) != expected) {
    return Status::Internal("table " + snapshot.table_root + " version " +
                            std::to_string(snapshot.version) + ": expected " +
                            std::to_string(expected) + " rows, counted " + count.value_or("NULL"));
  }
  return Status::OK();
}

Result<int64_t> CountCheckpoints(FileSystem& fs, const std::string& log_dir) {
  DEW_ASSIGN_OR_RETURN(auto entries, fs.ListDir(log_dir));
  int64_t n = 0;
  for (const auto& e : entries) {
    if (e.name.find(".checkpoint.parquet") != std::string::npos) n++;
  }
  return n;
}

Status Run(const Options& options, std::vector<Mark>* marks) {
  std::shared_ptr<FileSystem> fs = FileSystem::Posix();
  std::shared_ptr<Clock> clock = Clock::System();
  IdGenerator ids;
  engine::DatabaseOptions db_options;
  DEW_ASSIGN_OR_RETURN(auto db, engine::Database::Open(db_options));
  DEW_ASSIGN_OR_RETURN(auto con, db->Connect());

  const std::string root = options.dir + "/bench_table";
  lake::TableEnv env{fs, clock, con.get(), &ids};
  lake::WriteOptions write;
  write.run_id = "lake-open-bench";
  write.user = "bench";
  lake::Schema schema({{"id", "long", true, "{}"}, {"label", "string", true, "{}"}});
  DEW_ASSIGN_OR_RETURN(auto table,
                       lake::DeltaTable::Create(env, root, "bench_table", schema, {}, write));

  // Version 0 is the CREATE TABLE commit; each append adds one version holding one row.
  int64_t version = 0;
  for (int64_t mark : options.marks) {
    const auto start = std::chrono::steady_clock::now();
    const int64_t appends = mark - version;
    while (version < mark) {
      DEW_ASSIGN_OR_RETURN(
          lake::CommitResult commit,
          table->Append("SELECT " + std::to_string(version) + "::BIGINT AS id, 'row " +
                            std::to_string(version) + "' AS label",
                        write));
      version = commit.version;
    }
    Mark m;
    m.commits = version;
    m.append_ms =
        appends > 0
            ? std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                      .count() /
                  appends
            : 0;
    DEW_ASSIGN_OR_RETURN(m.checkpoints, CountCheckpoints(*fs, root + "/_delta_log"));

    DEW_ASSIGN_OR_RETURN(m.open_latest_ms, TimeMedian(options.runs, [&]() -> Status {
                           lake::DeltaLog log(fs, root, con.get());
                           DEW_ASSIGN_OR_RETURN(lake::Snapshot s, log.LoadSnapshot());
                           if (s.version != version) {
                             return Status::Internal("latest version is " +
                                                     std::to_string(s.version) + ", expected " +
                                                     std::to_string(version));
                           }
                           return Status::OK();
                         }));
    DEW_ASSIGN_OR_RETURN(m.read_v5_ms, TimeMedian(options.runs, [&]() -> Status {
                           lake::DeltaLog log(fs, root, con.get());
                           DEW_ASSIGN_OR_RETURN(lake::Snapshot s, log.LoadSnapshot(5));
                           return CountRows(*con, s, 5);
                         }));
    DEW_ASSIGN_OR_RETURN(m.count_latest_ms, TimeMedian(options.runs, [&]() -> Status {
                           lake::DeltaLog log(fs, root, con.get());
                           DEW_ASSIGN_OR_RETURN(lake::Snapshot s, log.LoadSnapshot());
                           return CountRows(*con, s, version);
                         }));
    marks->push_back(m);
    std::fprintf(stderr, "lake_open_bench: %lld commits done\n", static_cast<long long>(version));
  }
  return Status::OK();
}

std::string ToJson(const Options& options, const std::vector<Mark>& marks) {
  std::ostringstream out;
  const double ratio_latest = marks.back().open_latest_ms / marks.front().open_latest_ms;
  const double ratio_v5 = marks.back().read_v5_ms / marks.front().read_v5_ms;
  out << "{\n  \"name\": \"lake_open\",\n  \"runs\": " << options.runs << ",\n  \"marks\": [\n";
  for (size_t i = 0; i < marks.size(); i++) {
    const Mark& m = marks[i];
    out << "    {\"commits\": " << m.commits << ", \"checkpoints\": " << m.checkpoints
        << ", \"append_ms\": " << m.append_ms << ", \"open_latest_ms\": " << m.open_latest_ms
        << ", \"read_v5_ms\": " << m.read_v5_ms << ", \"count_latest_ms\": " << m.count_latest_ms
        << "}" << (i + 1 < marks.size() ? "," : "") << "\n";
  }
  out << "  ],\n  \"open_latest_ratio\": " << ratio_latest << ",\n  \"read_v5_ratio\": " << ratio_v5
      << ",\n  \"goal\": 2.0,\n  \"pass\": "
      << ((ratio_latest <= 2.0 && ratio_v5 <= 2.0) ? "true" : "false") << "\n}\n";
  return out.str();
}

void PrintTable(const std::vector<Mark>& marks) {
  std::printf("%8s %12s %12s %15s %12s %16s\n", "commits", "checkpoints", "append (ms)",
              "open latest(ms)", "read v5 (ms)", "count latest(ms)");
  for (const Mark& m : marks) {
    std::printf("%8lld %12lld %12.2f %15.2f %12.2f %16.2f\n", static_cast<long long>(m.commits),
                static_cast<long long>(m.checkpoints), m.append_ms, m.open_latest_ms, m.read_v5_ms,
                m.count_latest_ms);
  }
  std::printf("open latest: %lld -> %lld commits = %.2fx; read v5: %.2fx (goal <= 2x)\n",
              static_cast<long long>(marks.front().commits),
              static_cast<long long>(marks.back().commits),
              marks.back().open_latest_ms / marks.front().open_latest_ms,
              marks.back().read_v5_ms / marks.front().read_v5_ms);
}

bool ParseMarks(const std::string& text, std::vector<int64_t>* marks) {
  marks->clear();
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (end == item.c_str() || *end != '\0' || v < 6) return false;  // version 5 must exist
    if (!marks->empty() && v <= marks->back()) return false;
    marks->push_back(v);
  }
  return !marks->empty();
}

int Main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; i++) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--dir" && has_value) {
      options.dir = argv[++i];
    } else if (arg == "--marks" && has_value) {
      if (!ParseMarks(argv[++i], &options.marks)) {
        std::fprintf(stderr, "lake_open_bench: --marks wants increasing numbers >= 6: %s\n",
                     argv[i]);
        return 2;
      }
    } else if (arg == "--runs" && has_value) {
      options.runs = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--json" && has_value) {
      options.json_path = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: lake_open_bench [--dir DIR] [--marks 10,100,1000] [--runs N] "
                   "[--json FILE]\n");
      return 2;
    }
  }
  if (options.dir.empty()) {
    char tmpl[] = "/tmp/dew-lake-open-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::perror("lake_open_bench: mkdtemp");
      return 1;
    }
    options.dir = tmpl;
  }

  std::vector<Mark> marks;
  const Status status = Run(options, &marks);
  if (!status.ok()) {
    std::fprintf(stderr, "lake_open_bench: %s\n", status.ToString().c_str());
    return 1;
  }
  PrintTable(marks);
  if (!options.json_path.empty()) {
    std::ofstream out(options.json_path);
    out << ToJson(options, marks);
    if (!out) {
      std::fprintf(stderr, "lake_open_bench: cannot write %s\n", options.json_path.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace dew::bench

int main(int argc, char** argv) {
  return dew::bench::Main(argc, argv);
}
