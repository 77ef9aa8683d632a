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
  EXPECT_EQ(
      Render("{% macro m() %}{% endmacro %}"),
      "PARSE: models/m.sql:1:4: unknown statement 'macro' (dew supports if, elif, else, for, set)");
  EXPECT_EQ(Render("{{ x | nosuch }}", RenderContext{{{"x", 1}}, {}}),
            "RENDER: models/m.sql:1:6: unknown filter 'nosuch' (dew knows default, upper, lower, "
            "capitalize, title, trim, replace, length, count, join, first, last, sort, list, "
            "string, int, float, round, abs, tojson)");
  EXPECT_EQ(Render("{{ nope() }}"), "RENDER: models/m.sql:1:4: unknown function 'nope'");
  EXPECT_EQ(Render("{{ 1 / 0 }}"), "RENDER: models/m.sql:1:6: division by zero");
}

}  // namespace
}  // namespace dew::transform
