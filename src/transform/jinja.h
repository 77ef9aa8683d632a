// Template: the part of Jinja that dbt models use, so a dbt user's model files render the same
// in dew: `{{ expression }}`, `{% if %}/{% elif %}/{% else %}`, `{% for x in xs %}` (with
// `loop.index`, `loop.first`, `loop.last`, `{% else %}`), `{% set x = … %}`, `{# comments #}`,
// whitespace control (`{%-`, `-%}`, `{{-`, `-}}`), literals (strings, numbers, true/false/none,
// lists, dicts), attribute and index access, calls of the functions the caller provides
// (`ref`, `source`, `config`, `var`, `is_incremental` …) with positional and keyword
// arguments, the usual operators (`and or not == != < <= > >= in not in + - * / // % ~`),
// conditional expressions (`a if c else b`), tests (`is defined`, `is none`, `is string`,
// `is number`) and common filters (upper, lower, trim, default, length, join, replace, first,
// last, sort, string, int, float, round, abs, tojson, capitalize, title, list).
//
// Macros, as dbt uses them: `{% macro name(a, b='default') %}…{% endmacro %}` defines one,
// `{{ name(x, b=y) }}` calls it and gives its rendered body, or the value it passes to
// `{{ return(v) }}` (or `{% do return(v) %}`). A macro sees its arguments, the context's
// variables and functions, and every macro, but not the caller's `set` variables. Macros come
// from the template itself or, through RenderContext::macros, from other files (dbt's
// `macros/` folder); `{% do expr %}` evaluates an expression for its effect.
//
// Values are JSON values. An undefined name is an error (not an empty string), because a typo
// in a model should fail its build, not compile to different SQL; `is defined` and `default`
// still work on it. Every error reads "<name>:<line>:<column>: <problem>".
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace dew::transform {

using Value = nlohmann::json;

//! The arguments of one call in a template, e.g. `config(materialized='table', tags=['a'])`.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  //! The keyword argument `name`, or nullptr.
  const Value* Keyword(const std::string& name) const;
};

//! A function templates may call. A failing Status becomes a render error at the call's
//! position (its message is kept).
using TemplateFunction = std::function<Result<Value>(const CallArgs&)>;

namespace jinja_internal {
struct Node;
class Renderer;
}  // namespace jinja_internal

//! One `{% macro %}` definition, callable from templates that get it through
//! RenderContext::macros. Cheap to copy; keeps the template it came from alive.
class Macro {
 public:
  const std::string& name() const { return name_; }
  //! The file that defines it, for errors ("macros/money.sql:3:5: …").
  const std::string& file() const { return file_; }

 private:
  friend class Template;
  friend class jinja_internal::Renderer;
  std::string name_;
  std::string file_;
  std::shared_ptr<const jinja_internal::Node> root_;  // owns def_
  const jinja_internal::Node* def_ = nullptr;
};

struct RenderContext {
  std::map<std::string, Value> variables;
  std::map<std::string, TemplateFunction> functions;
  //! Macros defined elsewhere; a template's own macros of the same name take precedence.
  std::map<std::string, Macro> macros;
};

class Template {
 public:
  //! Parses `text`; `name` (a model's path) prefixes error positions. InvalidArgument
  //! "<name>:<line>:<col>: <problem>" on syntax errors (an unclosed block names the block and
  //! where it was opened).
  static Result<Template> Parse(std::string_view text, std::string name);

  //! Renders with `context` (borrowed for the call). Thread-safe: a Template is immutable.
  Result<std::string> Render(const RenderContext& context) const;

  const std::string& name() const { return name_; }

  //! The macros defined at the top level of this template, in file order (a macros/ file).
  std::vector<Macro> Macros() const;

 private:
  std::string name_;
  std::shared_ptr<const jinja_internal::Node> root_;
};

}  // namespace dew::transform
