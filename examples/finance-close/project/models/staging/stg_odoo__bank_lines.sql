-- Bank statement lines: what the bank says happened, each with the entry Odoo made for it
-- (Odoo 16+ keeps the line's date on that entry).
select
    b.id as bank_line_id,
    b.move_id,
    b.statement_id,
    b.journal_id,
    b.partner_id,
    m.date,
    m.state as move_state,
    b.payment_ref,
    cast(b.amount as decimal(18, 2)) as amount,
    coalesce(b.is_reconciled, false) as is_reconciled
from {{ source('odoo', 'account_bank_statement_line') }} as b
left join {{ ref('stg_odoo__moves') }} as m using (move_id)
where not coalesce(b._deleted, false)
