-- Journal entries in every state (the close checks that none of the period is still draft).
select
    id as move_id,
    name as move_name,
    ref,
    cast(date as date) as date,
    state,
    move_type,
    journal_id,
    partner_id,
    cast(invoice_date as date) as invoice_date,
    cast(invoice_date_due as date) as invoice_date_due,
    cast(amount_total as decimal(18, 2)) as amount_total,
    cast(amount_residual as decimal(18, 2)) as amount_residual,
    payment_state,
    write_date,
    _cursor as source_cursor,
    _run_id as sync_run_id
from {{ source('odoo', 'account_move') }}
where not coalesce(_deleted, false)
