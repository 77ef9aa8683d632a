-- Posted journal items, money as exact decimals (Odoo stores numeric without a scale).
select
    id as line_id,
    move_id,
    move_name,
    cast(date as date) as date,
    journal_id,
    account_id,
    partner_id,
    name as label,
    cast(debit as decimal(18, 2)) as debit,
    cast(credit as decimal(18, 2)) as credit,
    cast(debit as decimal(18, 2)) - cast(credit as decimal(18, 2)) as balance,
    cast(amount_residual as decimal(18, 2)) as amount_residual,
    coalesce(reconciled, false) as reconciled,
    full_reconcile_id,
    matching_number,
    cast(date_maturity as date) as date_maturity,
    statement_line_id,
    parent_state,
    write_date,
    _cursor as source_cursor,
    _run_id as sync_run_id
from {{ source('odoo', 'account_move_line') }}
where not coalesce(_deleted, false)
