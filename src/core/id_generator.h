// IdGenerator: random identifiers (UUID v4 text) for data files and runs.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace dew {

//! Thread-safe. Seeded from the OS unless a seed is given (tests pass one to be repeatable).
class IdGenerator {
 public:
  IdGenerator();
  explicit IdGenerator(uint64_t seed);

  //! A random UUID, version 4, lower-case with dashes.
  std::string NewUuid();

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

}  // namespace dew
