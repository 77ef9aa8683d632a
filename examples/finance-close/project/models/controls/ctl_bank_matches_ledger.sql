-- Control: for every bank journal, the balance per bank statements at the end of the period
-- equals the ledger balance of the journal's bank account.
with p as (select * from {{ ref('int_finance_period') }}),
statement as (
    select b.journal_id, sum(b.amount) as statement_balance, count(*) as statement_lines
    from {{ ref('stg_odoo__bank_lines') }} as b, p
    where b.date <= p.period_end
    group by b.journal_id
),
ledger as (
    select j.journal_id, coalesce(sum(g.balance), 0) as ledger_balance
    from {{ ref('stg_odoo__journals') }} as j
    left join {{ ref('int_finance_gl') }} as g on g.account_id = j.default_account_id
    where j.journal_type = 'bank'
    group by j.journal_id
)
select j.journal_code, j.journal_name,
       coalesce(s.statement_balance, 0) as statement_balance,
       l.ledger_balance,
       coalesce(s.statement_balance, 0) - l.ledger_balance as difference,
       coalesce(s.statement_lines, 0) as statement_lines,
       coalesce(s.statement_balance, 0) = l.ledger_balance as ok
from ledger as l
join {{ ref('stg_odoo__journals') }} as j using (journal_id)
left join statement as s using (journal_id)
