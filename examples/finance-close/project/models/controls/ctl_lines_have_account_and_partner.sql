-- Control: every line of the period has a known account, and a partner where the account
-- needs one (receivables and payables).
select line_id, move_name, account_id, account_code, account_type, partner_id,
       case
           when account_code is null then 'unknown account ' || coalesce(cast(account_id as varchar), 'NULL')
           when account_type in ('asset_receivable', 'liability_payable') and partner_id is null
               then 'no partner on a ' || account_type || ' line'
       end as problem,
       problem is null as ok
from {{ ref('int_finance_gl') }}
where in_period
