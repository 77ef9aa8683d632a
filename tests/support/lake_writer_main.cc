// dew_lake_writer: a writer the kill test SIGKILLs at random moments.
//
// Usage: dew_lake_writer TABLE_ROOT FIRST_BATCH BATCHES [--optimize]
// Batch b holds the ids [b*1000, b*1000 + BatchSize(b)). Most batches are appended; every 7th is
// merged together with a re-upsert of batch b-1, every 5th deletes batch b-2, and with
// --optimize, batches with b % 6 == 3 compact the table (OPTIMIZE, which must change no row)
// instead (a lone writer only: a concurrent one's merges would conflict with it). Each commit
// records in operationParameters which batches it added (dewTestAdded) and deleted
// (dewTestDeleted), so the test can tell from the log alone what the table must hold.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/file_system.h"
#include "core/id_generator.h"
#include "engine/connection.h"
#include "engine/database.h"
#include "lake/delta_table.h"

namespace {

int64_t BatchSize(int64_t batch) {
  return 50 + (batch * 37) % 200;
}

std::string BatchSql(int64_t batch, const std::string& name) {
  return "SELECT range AS id, '" + name + "' AS name FROM range(" + std::to_string(batch * 1000) +
         ", " + std::to_string(batch * 1000 + BatchSize(batch)) + ")";
}

int Fail(const std::string& what, const dew::Status& status) {
  std::fprintf(stderr, "dew_lake_writer: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const bool optimize = argc == 5 && std::string(argv[4]) == "--optimize";
  if (argc != 4 && !optimize) {
    std::fprintf(stderr, "usage: dew_lake_writer TABLE_ROOT FIRST_BATCH BATCHES [--optimize]\n");
    return 2;
  }
  const std::string root = argv[1];
  const int64_t first = std::atoll(argv[2]);
  const int64_t batches = std::atoll(argv[3]);

  dew::engine::DatabaseOptions db_options;
  db_options.threads = 1;
  auto db = dew::engine::Database::Open(db_options);
  if (!db.ok()) return Fail("open database", db.status());
  auto con = (*db)->Connect();
  if (!con.ok()) return Fail("connect", con.status());
  dew::IdGenerator ids;
  dew::lake::TableEnv env{dew::FileSystem::Posix(), dew::Clock::System(), con->get(), &ids};
  auto table = dew::lake::DeltaTable::Open(env, root);
  if (!table.ok()) return Fail("open " + root, table.status());

  dew::lake::WriteOptions options;
  options.run_id = ids.NewUuid();
  options.user = "kill-test";
  for (int64_t b = first; b < first + batches; ++b) {
    dew::lake::WriteOptions o = options;
    dew::Result<dew::lake::CommitResult> r = dew::Status::Internal("no operation");
    if (optimize && b % 6 == 3 && b > first) {
      auto optimized = (*table)->Optimize(dew::lake::OptimizeOptions{}, o);
      if (!optimized.ok())
        return Fail("optimize at batch " + std::to_string(b), optimized.status());
      continue;
    } else if (b % 5 == 0 && b >= first + 2) {
      o.parameters["dewTestDeleted"] = "[" + std::to_string(b - 2) + "]";
      r = (*table)->DeleteWhere(
          "id >= " + std::to_string((b - 2) * 1000) + " AND id < " + std::to_string((b - 1) * 1000),
          o);
    } else if (b % 7 == 0 && b > first) {
      o.parameters["dewTestAdded"] = "[" + std::to_string(b - 1) + "," + std::to_string(b) + "]";
      r = (*table)->Merge(BatchSql(b, "merged") + " UNION ALL " + BatchSql(b - 1, "remerged"),
                          {"id"}, o);
    } else {
      o.parameters["dewTestAdded"] = "[" + std::to_string(b) + "]";
      r = (*table)->Append(BatchSql(b, "appended"), o);
    }
    if (!r.ok()) return Fail("batch " + std::to_string(b), r.status());
  }
  con->reset();
  return 0;
}
