#include "connectors/object_store.h"

namespace dew::connectors {
namespace {

// Matches one segment (no '/') against one pattern segment.
bool SegmentMatch(const char* p, const char* pe, const char* s, const char* se) {
  while (p < pe) {
    if (*p == '*') {
      while (p < pe && *p == '*') ++p;
      if (p == pe) return true;
      for (const char* t = s; t <= se; ++t) {
        if (SegmentMatch(p, pe, t, se)) return true;
      }
      return false;
    }
    if (s == se) return false;
    if (*p == '?') {
      ++p;
      ++s;
      continue;
    }
    if (*p == '[') {
      const char* q = p + 1;
      bool negate = q < pe && (*q == '!' || *q == '^');
      if (negate) ++q;
      bool matched = false;
      const char* start = q;
      while (q < pe && (*q != ']' || q == start)) {
        if (q + 2 < pe && q[1] == '-' && q[2] != ']') {
          if (*s >= q[0] && *s <= q[2]) matched = true;
          q += 3;
        } else {
          if (*s == *q) matched = true;
          ++q;
        }
      }
      if (q == pe) {  // no closing bracket: a literal '['
        if (*s != '[') return false;
        ++p;
        ++s;
        continue;
      }
      if (matched == negate) return false;
      p = q + 1;
      ++s;
      continue;
    }
    if (*p != *s) return false;
    ++p;
    ++s;
  }
  return s == se;
}

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    out.push_back(
        text.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

bool Match(const std::vector<std::string>& p, size_t pi, const std::vector<std::string>& s,
           size_t si) {
  if (pi == p.size()) return si == s.size();
  if (p[pi] == "**") {
    for (size_t k = si; k <= s.size(); ++k) {
      if (Match(p, pi + 1, s, k)) return true;
    }
    return false;
  }
  if (si == s.size()) return false;
  const std::string& ps = p[pi];
  const std::string& ss = s[si];
  if (!SegmentMatch(ps.data(), ps.data() + ps.size(), ss.data(), ss.data() + ss.size()))
    return false;
  return Match(p, pi + 1, s, si + 1);
}

}  // namespace

bool GlobMatch(const std::string& pattern, const std::string& path) {
  return Match(Split(pattern), 0, Split(path), 0);
}

std::string GlobPrefix(const std::string& pattern) {
  size_t wild = pattern.find_first_of("*?[");
  std::string head = wild == std::string::npos ? pattern : pattern.substr(0, wild);
  size_t slash = head.rfind('/');
  return slash == std::string::npos ? std::string() : head.substr(0, slash + 1);
}

}  // namespace dew::connectors
