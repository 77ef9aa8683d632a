// Command-line arguments: options (`--name value`, `--name=value`, `-f value`, flags) and
// positional arguments, checked against what a verb accepts.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace dew::cli {

struct OptionSpec {
  std::string name;     //!< long name without dashes, e.g. "format"
  char short_name = 0;  //!< e.g. 'f', or 0
  bool takes_value = false;
  std::string value_name;  //!< for help, e.g. "FILE"
  std::string help;
};

class ParsedArgs {
 public:
  std::vector<std::string> positional;

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  //! The option's value, or `fallback` when absent.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  void Set(const std::string& name, std::string value) { values_[name] = std::move(value); }

 private:
  std::map<std::string, std::string> values_;
};

//! Parses `args` against `specs`. InvalidArgument naming an unknown option or a missing value.
//! "--" ends the options; "-" alone is positional.
Result<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                             const std::vector<OptionSpec>& specs);

//! The option lines of a help text, aligned.
std::string OptionsHelp(const std::vector<OptionSpec>& specs);

//! Parses a whole non-negative number; InvalidArgument naming the option otherwise.
Result<int64_t> ParseCount(const std::string& text, const std::string& what);

}  // namespace dew::cli
