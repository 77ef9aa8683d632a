#include "cli/args.h"

#include <algorithm>
#include <cctype>

namespace dew::cli {

std::string ParsedArgs::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

Result<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                             const std::vector<OptionSpec>& specs) {
  ParsedArgs out;
  bool options_done = false;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name;
    std::optional<std::string> inline_value;
    const OptionSpec* spec = nullptr;
    if (a[1] == '-') {
      name = a.substr(2);
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      for (const auto& s : specs) {
        if (s.name == name) spec = &s;
      }
    } else {
      // A negative number is a value, not an option.
      if (std::isdigit(static_cast<unsigned char>(a[1]))) {
        out.positional.push_back(a);
        continue;
      }
      if (a.size() != 2) return Status::InvalidArgument("unknown option '" + a + "'");
      for (const auto& s : specs) {
        if (s.short_name == a[1]) spec = &s;
      }
      if (spec) name = spec->name;
    }
    if (spec == nullptr) {
      std::string known;
      for (const auto& s : specs) known += (known.empty() ? "--" : ", --") + s.name;
      return Status::InvalidArgument("unknown option '" + a + "'" +
                                     (known.empty() ? "" : " (this verb takes " + known + ")"));
    }
    if (!spec->takes_value) {
      if (inline_value) return Status::InvalidArgument("option --" + name + " takes no value");
      out.Set(name, "true");
      continue;
    }
    if (inline_value) {
      out.Set(name, *inline_value);
    } else if (i + 1 < args.size()) {
      out.Set(name, args[++i]);
    } else {
      return Status::InvalidArgument("option --" + name + " needs a value (" + spec->value_name +
                                     ")");
    }
  }
  return out;
}

std::string OptionsHelp(const std::vector<OptionSpec>& specs) {
  std::vector<std::string> left;
  size_t width = 0;
  for (const auto& s : specs) {
    std::string l = s.short_name ? std::string("-") + s.short_name + ", " : "    ";
    l += "--" + s.name;
    if (s.takes_value) l += " " + s.value_name;
    width = std::max(width, l.size());
    left.push_back(l);
  }
  std::string out;
  for (size_t i = 0; i < specs.size(); i++) {
    out += "  " + left[i] + std::string(width - left[i].size() + 2, ' ') + specs[i].help + "\n";
  }
  return out;
}

Result<int64_t> ParseCount(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(what + " must be a whole non-negative number, not '" + text +
                                   "'");
  }
  return std::stoll(text);
}

}  // namespace dew::cli
