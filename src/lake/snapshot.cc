#include "lake/snapshot.h"

namespace dew::lake {

int64_t Snapshot::NumRecords() const {
  int64_t total = 0;
  for (const auto& f : files) {
    const int64_t n = f.NumRecords();
    if (n < 0) return -1;
    total += n - (f.deletion_vector ? f.deletion_vector->cardinality : 0);
  }
  return total;
}

int64_t Snapshot::SizeBytes() const {
  int64_t total = 0;
  for (const auto& f : files) total += f.size;
  return total;
}

}  // namespace dew::lake
