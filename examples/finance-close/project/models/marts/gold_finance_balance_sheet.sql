{{ config(unique_key=['period', 'line_no']) }}
-- The balance sheet at the end of the period. Assets are debit balances, liabilities and equity
-- credit balances; the year's profit not yet closed to equity shows as current-year earnings,
-- so total assets equal total liabilities and equity.
-- depends_on: {{ ref('int_finance_close_controls') }}
{%- set lines = [
    [10, 'Bank and cash', "account_type = 'asset_cash'", 'asset'],
    [20, 'Receivables', "account_type = 'asset_receivable'", 'asset'],
    [30, 'Current assets', "account_type in ('asset_current', 'asset_prepayments')", 'asset'],
    [40, 'Fixed and non-current assets', "account_type in ('asset_fixed', 'asset_non_current')", 'asset'],
    [50, 'Total assets', "account_group = 'asset'", 'asset'],
    [60, 'Payables', "account_type = 'liability_payable'", 'credit'],
    [70, 'Current liabilities', "account_type in ('liability_current', 'liability_credit_card')", 'credit'],
    [80, 'Non-current liabilities', "account_type = 'liability_non_current'", 'credit'],
    [90, 'Total liabilities', "account_group = 'liability'", 'credit'],
    [100, 'Equity', "account_type = 'equity'", 'credit'],
    [110, 'Retained and current-year earnings', "account_type = 'equity_unaffected' or statement = 'income_statement'", 'credit'],
    [120, 'Total liabilities and equity', "account_group in ('liability', 'equity') or statement = 'income_statement'", 'credit'],
] %}
with p as (select * from {{ ref('int_finance_period') }}),
gl as (select * from {{ ref('int_finance_gl') }})
{%- for no, caption, predicate, side in lines %}
{%- if not loop.first %}
union all{% endif %}
select p.period, {{ no }} as line_no, '{{ caption }}' as caption,
       {{ 'true' if caption.startswith('Total') else 'false' }} as is_total,
       coalesce(sum({{ 'g.balance' if side == 'asset' else '-g.balance' }}), 0) as amount
from p left join gl as g on {{ predicate }}
group by p.period
{%- endfor %}
