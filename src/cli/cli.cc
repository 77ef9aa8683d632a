#include "cli/cli.h"

#include <cstdio>

namespace dew::cli {

int Main(int argc, char** argv) {
  std::fprintf(stderr, "dew: no verbs yet\n");
  return 2;
}

}  // namespace dew::cli
