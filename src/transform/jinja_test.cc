#include "transform/jinja.h"

#include <gtest/gtest.h>

namespace dew::transform {
namespace {

std::string Render(const std::string& text, RenderContext ctx = {}) {
  auto t = Template::Parse(text, "models/m.sql");
  if (!t.ok()) return "PARSE: " + t.status().message();
  auto r = t->Render(ctx);
  if (!r.ok()) return "RENDER: " + r.status().message();
  return *r;
}

TEST(JinjaTest, TextAndExpressions) {
  EXPECT_EQ(Render("select 1"), "select 1");
  EXPECT_EQ(Render("{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}"),
            "7|9|3|-4|1");
  EXPECT_EQ(Render("{{ 1 / 2 }} {{ 2.0 }} {{ 2 ** 10 }}"), "0.5 2.0 1024");
  EXPECT_EQ(Render("{{ 'a' ~ 1 ~ none }} {{ 'x' + 'y' }} {{ 'ab' * 2 }}"), "a1None xy abab");
  EXPECT_EQ(Render("{{ true and not false }} {{ none or 'd' }} {{ 0 or '' }}"), "True d ");
  EXPECT_EQ(Render("{{ [1, 'a', none] }} {{ {'k': 1} }}"), "[1, 'a', None] {'k': 1}");
  EXPECT_EQ(Render("{{ 'yes' if 2 > 1 else 'no' }}{{ 'x' if false }}"), "yes");
  EXPECT_EQ(Render("{{ 2 in [1, 2] }} {{ 'b' in 'abc' }} {{ 'k' not in {'k': 1} }}"),
            "True True False");
  EXPECT_EQ(Render("{{ 'it''s' }}"), "its");
  EXPECT_EQ(Render(R"({{ "say \"hi\"" }})"), "say \"hi\"");
}

TEST(JinjaTest, VariablesAttributesAndItems) {
  RenderContext ctx;
  ctx.variables["cfg"] = Value{{"schema", "gold"}, {"cols", {"a", "b"}}};
  EXPECT_EQ(Render("{{ cfg.schema }}.{{ cfg['cols'][1] }}.{{ cfg.cols[-1] }}", ctx), "gold.b.b");
  EXPECT_EQ(Render("{{ cfg.missing is defined }} {{ nope is undefined }}", ctx), "False True");
  EXPECT_EQ(Render("{{ nope | default('x') }} {{ cfg.schema | default('y') }}", ctx), "x gold");
  EXPECT_EQ(Render("{{ '' | default('e', true) }}|{{ '' | default('e') }}", ctx), "e|");
}

TEST(JinjaTest, IfElifElse) {
  const std::string t = "{% if n > 10 %}big{% elif n > 5 %}mid{% else %}small{% endif %}";
  for (auto [n, want] :
       std::vector<std::pair<int, std::string>>{{11, "big"}, {6, "mid"}, {1, "small"}}) {
    RenderContext ctx;
    ctx.variables["n"] = n;
    EXPECT_EQ(Render(t, ctx), want);
  }
}

TEST(JinjaTest, ForLoopsWithLoopVariableAndElse) {
  EXPECT_EQ(Render("{% for c in ['a','b','c'] %}{{ c }}{% if not loop.last %}, {% endif %}"
                   "{% endfor %}"),
            "a, b, c");
  EXPECT_EQ(Render("{% for c in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(Render("{% for i in range(3) %}{{ loop.index }}/{{ loop.length }} {% endfor %}"),
            "1/3 2/3 3/3 ");
  EXPECT_EQ(Render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"),
            "a=1;b=2;");
}

TEST(JinjaTest, SetAndSetBlock) {
  EXPECT_EQ(Render("{% set cols = ['id', 'amount'] %}select {{ cols | join(', ') }}"),
            "select id, amount");
  EXPECT_EQ(Render("{% set sql %}select {{ 1 }}{% endset %}[{{ sql | upper }}]"), "[SELECT 1]");
}

TEST(JinjaTest, WhitespaceControlAndComments) {
  EXPECT_EQ(Render("a  {{- 'b' -}}  c"), "abc");
  EXPECT_EQ(Render("select\n{%- if true %}\n  1{% endif -%}\n;"), "select\n  1;");
  EXPECT_EQ(Render("x{# a comment with {{ braces }} #}y"), "xy");
}

TEST(JinjaTest, FiltersAndMethods) {
  EXPECT_EQ(Render("{{ ' Ab ' | trim | lower }}|{{ 'ab' | upper }}|{{ 'hello world' | title }}"),
            "ab|AB|Hello World");
  EXPECT_EQ(Render("{{ [3, 1, 2] | sort }} {{ [3,1] | length }} {{ 'a-b' | replace('-', '_') }}"),
            "[1, 2, 3] 2 a_b");
  EXPECT_EQ(Render("{{ '3' | int + 1 }} {{ 2.567 | round(2) }} {{ (-3) | abs }} {{ -3 | abs }} {{ "
                   "[1] | tojson }}"),
            "4 2.57 3 -3 [1]");
  EXPECT_EQ(Render("{{ 'a,b'.split(',') }} {{ 'Ab'.lower() }} {{ 'abc'.startswith('ab') }}"),
            "['a', 'b'] ab True");
}

TEST(JinjaTest, CallsProvidedFunctionsWithKeywordArguments) {
  RenderContext ctx;
  Value seen;
  ctx.functions["ref"] = [](const CallArgs& a) -> Result<Value> {
    if (a.positional.size() != 1) return Status::InvalidArgument("ref() takes one model name");
    return Value("silver.\"" + a.positional[0].get<std::string>() + "\"");
  };
  ctx.functions["config"] = [&seen](const CallArgs& a) -> Result<Value> {
    for (const auto& [k, v] : a.keyword) seen[k] = v;
    return Value("");
  };
  EXPECT_EQ(
      Render("{{ config(materialized='table', tags=['a']) }}select * from {{ ref('stg') }}", ctx),
      "select * from silver.\"stg\"");
  EXPECT_EQ(seen["materialized"], "table");
  EXPECT_EQ(seen["tags"], Value::array({"a"}));
  EXPECT_EQ(Render("{{ ref('a', 'b') }}", ctx),
            "RENDER: models/m.sql:1:4: ref() takes one model name");
}

TEST(JinjaTest, ErrorsNameTheLineAndColumn) {
  EXPECT_EQ(Render("select\n  {{ amount }}"), "RENDER: models/m.sql:2:6: 'amount' is undefined");
  EXPECT_EQ(Render("a\n{% if x %}\nb"),
            "PARSE: models/m.sql:2:1: '{% if %}' is never closed with '{% endif %}'");
  EXPECT_EQ(Render("{% for x in y %}{% endif %}"),
            "PARSE: models/m.sql:1:17: '{% endif %}' without a block to close");
  EXPECT_EQ(Render("x {{ 1 + }}"),
            "PARSE: models/m.sql:1:10: expected an expression, got the end of the expression");
  EXPECT_EQ(Render("{{ 'a' "), "PARSE: models/m.sql:1:1: unclosed '{{' without its '}}'");
  EXPECT_EQ(Render("{% call m() %}{% endcall %}"),
            "PARSE: models/m.sql:1:4: unknown statement 'call' (dew supports if, elif, else, for, "
            "set, macro, test, do)");
  EXPECT_EQ(Render("{{ x | nosuch }}", RenderContext{{{"x", 1}}, {}, {}}),
            "RENDER: models/m.sql:1:6: unknown filter 'nosuch' (dew knows default, upper, lower, "
            "capitalize, title, trim, replace, length, count, join, first, last, sort, list, "
            "string, int, float, round, abs, tojson)");
  EXPECT_EQ(Render("{{ nope() }}"), "RENDER: models/m.sql:1:4: unknown function 'nope'");
  EXPECT_EQ(Render("{{ 1 / 0 }}"), "RENDER: models/m.sql:1:6: division by zero");
}

TEST(JinjaTest, MacrosInTheSameTemplate) {
  EXPECT_EQ(Render("{% macro cents(col, scale=2) -%}\n"
                   "  ({{ col }} / 100)::decimal(16, {{ scale }})\n"
                   "{%- endmacro %}"
                   "select {{ cents('amount') }}, {{ cents('fee', scale=4) }}, {{ cents(scale=0, "
                   "col='x') }}"),
            "select (amount / 100)::decimal(16, 2), (fee / 100)::decimal(16, 4), (x / "
            "100)::decimal(16, 0)");
  // return() gives a value instead of text; the rest of the macro is skipped.
  EXPECT_EQ(Render("{% macro cols(n) %}{% set out = [] %}{% for i in range(n) %}"
                   "{% do out.append('c' ~ i) %}{% endfor %}{{ return(out) }}never{% endmacro %}"
                   "{{ cols(3) | join(', ') }}|{{ cols(0) | length }}"),
            "c0, c1, c2|0");
  EXPECT_EQ(Render("{% set d = {'a': 1} %}{% set l = [1] %}{% do d.update({'b': 2}) %}"
                   "{% do d.update(c=3) %}{% do l.extend([2, 3]) %}{{ d }} {{ l }}"),
            "{'a': 1, 'b': 2, 'c': 3} [1, 2, 3]");
  EXPECT_EQ(Render("{% macro pick(x) %}{% if x %}{% do return('yes') %}{% endif %}"
                   "no{% endmacro %}{{ pick(1) }} {{ pick(0) }}"),
            "yes no");
  // A macro sees its arguments and the context, not the caller's variables; it may call others.
  RenderContext ctx;
  ctx.variables["target"] = "dev";
  EXPECT_EQ(Render("{% macro inner() %}{{ target }}{% endmacro %}"
                   "{% macro outer(a) %}{{ a }}-{{ inner() }}{% endmacro %}"
                   "{% set local = 1 %}{{ outer('x') }}",
                   ctx),
            "x-dev");
  EXPECT_EQ(Render("{% macro leak() %}{{ local }}{% endmacro %}{% set local = 1 %}{{ leak() }}"),
            "RENDER: models/m.sql:1:66: in macro 'leak': models/m.sql:1:22: 'local' is undefined");
}

TEST(JinjaTest, MacrosFromAnotherFile) {
  auto lib = Template::Parse(
      "text outside macros is ignored\n"
      "{% macro money(col) %}round({{ col }}, 2){% endmacro %}\n"
      "{% macro total(cols) %}{% for c in cols %}{{ money(c) }}{{ ' + ' if not loop.last }}"
      "{% endfor %}{% endmacro %}\n"
      "{% macro broken() %}\n  {{ nope }}{% endmacro %}",
      "macros/money.sql");
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  RenderContext ctx;
  for (const Macro& m : lib->Macros()) ctx.macros[m.name()] = m;
  ASSERT_EQ(ctx.macros.size(), 3u);
  EXPECT_EQ(ctx.macros["money"].file(), "macros/money.sql");
  EXPECT_EQ(Render("select {{ total(['debit', 'credit']) }}", ctx),
            "select round(debit, 2) + round(credit, 2)");
  // A template's own macro wins over a shared one of the same name.
  EXPECT_EQ(
      Render("{% macro money(c) %}{{ c }}{% endmacro %}{{ total(['a']) }}|{{ money('b') }}", ctx),
      "round(a, 2)|b");
  EXPECT_EQ(Render("\n{{ broken() }}", ctx),
            "RENDER: models/m.sql:2:4: in macro 'broken': macros/money.sql:5:6: 'nope' is "
            "undefined");
}

TEST(JinjaTest, GenericTestBlocksAreMacrosNamedTestUnderscore) {
  auto lib = Template::Parse(
      "{% test positive(model, column_name) %}select * from {{ model }} where {{ column_name }} "
      "<= 0{% endtest %}",
      "macros/tests.sql");
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  ASSERT_EQ(lib->Macros().size(), 1u);
  EXPECT_EQ(lib->Macros()[0].name(), "test_positive");
  EXPECT_EQ(Render("{% test t(model) %}x"),
            "PARSE: models/m.sql:1:1: '{% test t %}' is never closed with '{% endtest %}'");
}

TEST(JinjaTest, MacroErrors) {
  EXPECT_EQ(Render("{% macro m(a) %}{{ a }}"),
            "PARSE: models/m.sql:1:1: '{% macro m %}' is never closed with '{% endmacro %}'");
  EXPECT_EQ(Render("{% endmacro %}"),
            "PARSE: models/m.sql:1:1: '{% endmacro %}' without a block to close");
  EXPECT_EQ(Render("{% macro m(a=1, b) %}{% endmacro %}"),
            "PARSE: models/m.sql:1:17: parameter 'b' without a default follows one with a "
            "default");
  EXPECT_EQ(Render("{% macro m(a, a) %}{% endmacro %}"),
            "PARSE: models/m.sql:1:15: macro 'm' has two parameters named 'a'");
  const std::string m = "{% macro m(a, b=2) %}{{ a }}{{ b }}{% endmacro %}";
  EXPECT_EQ(Render(m + "{{ m() }}"),
            "RENDER: models/m.sql:1:53: macro 'm' needs an argument for 'a'");
  EXPECT_EQ(Render(m + "{{ m(1, 2, 3) }}"),
            "RENDER: models/m.sql:1:53: macro 'm' takes 2 arguments, got 3");
  EXPECT_EQ(Render(m + "{{ m(1, c=3) }}"),
            "RENDER: models/m.sql:1:53: macro 'm' has no parameter 'c'");
  EXPECT_EQ(Render(m + "{{ m(1, a=3) }}"),
            "RENDER: models/m.sql:1:53: macro 'm' got two values for 'a'");
  EXPECT_EQ(Render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").substr(0, 60),
            "RENDER: models/m.sql:1:42: in macro 'f': models/m.sql:1:19: ");
  EXPECT_NE(Render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("nest deeper than 64"),
            std::string::npos);
  EXPECT_EQ(Render("{{ return(1) }}"), "RENDER: models/m.sql:1:4: return() outside a macro");
  RenderContext ctx;
  ctx.functions["ref"] = [](const CallArgs&) -> Result<Value> { return Value("x"); };
  EXPECT_EQ(Render("{% macro ref(m) %}{% endmacro %}", ctx),
            "RENDER: models/m.sql:1:1: macro 'ref' would hide dew's built-in ref(); give it "
            "another name");
  EXPECT_EQ(Render("{% do %}"), "PARSE: models/m.sql:1:1: '{% do %}' needs an expression");
}

}  // namespace
}  // namespace dew::transform
