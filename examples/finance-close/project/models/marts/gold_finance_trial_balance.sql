{{ config(unique_key=['period', 'account_code']) }}
-- The trial balance of the period: per account, the opening balance, the period's debits and
-- credits, the closing balance; one set of rows per closed period. As in Odoo, income and
-- expense accounts start each (calendar) fiscal year at zero: their earlier years' result is
-- shown on one line, 999999 Undistributed Profits/Losses, so the balance still sums to zero.
-- depends_on: {{ ref('int_finance_close_controls') }}
with p as (select * from {{ ref('int_finance_period') }}),
lines as (
    select g.*, g.statement = 'income_statement' and g.date < p.year_start as earlier_year
    from {{ ref('int_finance_gl') }} as g, p
)
select p.period,
       case when earlier_year then '999999' else account_code end as account_code,
       case when earlier_year then 'Undistributed Profits/Losses' else account_name end as account_name,
       case when earlier_year then 'equity_unaffected' else account_type end as account_type,
       sum(case when not in_period then balance else 0 end) as opening_balance,
       sum(case when in_period then debit else 0 end) as debit,
       sum(case when in_period then credit else 0 end) as credit,
       sum(balance) as closing_balance,
       count(*) filter (where in_period) as period_lines
from lines, p
group by all
