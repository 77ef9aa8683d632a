// Near matches for "did you mean …?" in error messages about unknown names.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dew {

//! Levenshtein distance between two strings (bytes).
size_t EditDistance(std::string_view a, std::string_view b);

//! The candidate closest to `word` when it is within max(2, |word| / 3) edits, else nullopt.
//! Ties go to the earliest candidate.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

}  // namespace dew
