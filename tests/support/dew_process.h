// Runs the built `dew` binary (DEW_BINARY) from tests, the way a user's shell would.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dew::testing {

//! What one run of dew printed and returned.
struct DewRun {
  int code = -1;  //!< exit code; -1 when killed by a signal
  std::string out;
  std::string err;
};

//! Runs dew with `args` in folder `cwd`, stdin empty, with `env` added to the environment.
//! Output goes through files in `scratch_dir` (which must exist).
DewRun RunDew(const std::string& cwd, const std::vector<std::string>& args,
              const std::string& scratch_dir, const std::map<std::string, std::string>& env = {});

//! Quotes `s` for /bin/sh.
std::string ShellQuote(const std::string& s);
//! The whole file, or "" when it cannot be read.
std::string ReadAll(const std::string& path);

}  // namespace dew::testing
