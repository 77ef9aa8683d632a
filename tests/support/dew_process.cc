#include "support/dew_process.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

namespace dew::testing {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

DewRun RunDew(const std::string& cwd, const std::vector<std::string>& args,
              const std::string& scratch_dir, const std::map<std::string, std::string>& env) {
  std::string cmd = "cd " + ShellQuote(cwd) + " && ";
  for (const auto& [name, value] : env) cmd += name + "=" + ShellQuote(value) + " ";
  cmd += ShellQuote(DEW_BINARY);
  for (const auto& a : args) cmd += " " + ShellQuote(a);
  const std::string out = scratch_dir + "/.stdout", err = scratch_dir + "/.stderr";
  cmd += " >" + ShellQuote(out) + " 2>" + ShellQuote(err) + " </dev/null";
  int status = std::system(cmd.c_str());
  DewRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadAll(out);
  r.err = ReadAll(err);
  return r;
}

}  // namespace dew::testing
