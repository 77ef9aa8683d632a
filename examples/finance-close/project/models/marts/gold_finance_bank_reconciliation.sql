{{ config(unique_key=['period', 'journal_code']) }}
-- Bank reconciliation of the period per bank journal: statement lines matched to a posted
-- entry on the bank account for the same amount, lines not matched, and the difference between
-- the balance per statements and the ledger at the period end.
-- depends_on: {{ ref('int_finance_close_controls') }}
with p as (select * from {{ ref('int_finance_period') }}),
bank_gl as (
    select g.statement_line_id, sum(g.balance) as ledger_amount
    from {{ ref('int_finance_gl') }} as g
    join {{ ref('stg_odoo__journals') }} as j on g.account_id = j.default_account_id
    where j.journal_type = 'bank' and g.statement_line_id is not null
    group by g.statement_line_id
),
lines as (
    select b.journal_id, b.amount, b.is_reconciled,
           coalesce(gl.ledger_amount = b.amount, false) as matched
    from {{ ref('stg_odoo__bank_lines') }} as b
    join p on b.date between p.period_start and p.period_end
    left join bank_gl as gl on gl.statement_line_id = b.bank_line_id
)
select p.period, c.journal_code, c.journal_name,
       count(l.amount) as statement_lines,
       count(l.amount) filter (where l.matched) as matched_lines,
       count(l.amount) filter (where not l.matched) as unmatched_lines,
       coalesce(sum(l.amount) filter (where not l.matched), 0) as unmatched_amount,
       any_value(c.statement_balance) as statement_balance,
       any_value(c.ledger_balance) as ledger_balance,
       any_value(c.difference) as difference
from p
cross join {{ ref('ctl_bank_matches_ledger') }} as c
join {{ ref('stg_odoo__journals') }} as j on j.journal_code = c.journal_code
left join lines as l on l.journal_id = j.journal_id
group by p.period, c.journal_code, c.journal_name
