-- The general ledger up to the end of the period: every posted line with its account, journal
-- and partner. Lines whose account is unknown keep a NULL account_code (a control catches them).
select
    l.line_id,
    l.move_id,
    l.move_name,
    l.date,
    strftime(l.date, '%Y-%m') as month,
    l.date >= p.period_start as in_period,
    l.account_id,
    a.account_code,
    a.account_name,
    a.account_type,
    a.account_group,
    a.statement,
    l.journal_id,
    j.journal_code,
    j.journal_type,
    l.partner_id,
    pa.partner_name,
    l.label,
    l.debit,
    l.credit,
    l.balance,
    l.full_reconcile_id,
    l.matching_number,
    l.date_maturity,
    l.statement_line_id,
    l.source_cursor,
    l.sync_run_id
from {{ ref('stg_odoo__move_lines') }} as l
cross join {{ ref('int_finance_period') }} as p
left join {{ ref('stg_odoo__accounts') }} as a using (account_id)
left join {{ ref('stg_odoo__journals') }} as j using (journal_id)
left join {{ ref('stg_odoo__partners') }} as pa using (partner_id)
where l.parent_state = 'posted' and l.date <= p.period_end
