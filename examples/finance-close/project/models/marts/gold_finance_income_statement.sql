{{ config(unique_key=['period', 'line_no']) }}
-- The income statement of the period and of the year to date (calendar fiscal year).
-- Income and expenses are shown positive; profit lines (is_total) are income minus expenses.
-- depends_on: {{ ref('int_finance_close_controls') }}
{%- set lines = [
    [10, 'Revenue', "account_type = 'income'", 1],
    [20, 'Cost of revenue', "account_type = 'expense_direct_cost'", 1],
    [30, 'Gross profit', "account_type in ('income', 'expense_direct_cost')", 0],
    [40, 'Operating expenses', "account_type = 'expense'", 1],
    [50, 'Depreciation', "account_type = 'expense_depreciation'", 1],
    [60, 'Operating profit', "account_type in ('income', 'expense_direct_cost', 'expense', 'expense_depreciation')", 0],
    [70, 'Other income', "account_type = 'income_other'", 1],
    [80, 'Net income', "statement = 'income_statement'", 0],
] %}
with p as (select * from {{ ref('int_finance_period') }}),
ytd as (
    select g.* from {{ ref('int_finance_gl') }} as g, p
    where g.statement = 'income_statement' and g.date >= p.year_start
)
{%- for no, caption, predicate, detail in lines %}
{%- if not loop.first %}
union all{% endif %}
{%- set signed = "case when g.account_group = 'income' then -g.balance else g.balance end" if detail else "-g.balance" %}
select p.period, {{ no }} as line_no, '{{ caption }}' as caption, {{ 'false' if detail else 'true' }} as is_total,
       coalesce(sum(case when g.in_period then {{ signed }} end), 0) as amount_period,
       coalesce(sum({{ signed }}), 0) as amount_ytd
from p left join ytd as g on {{ predicate }}
group by p.period
{%- endfor %}
