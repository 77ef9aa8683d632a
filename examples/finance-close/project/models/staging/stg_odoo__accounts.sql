-- The chart of accounts, with the statement each account type reports in.
select
    id as account_id,
    cast(code as varchar) as account_code,
    -- Odoo 17+ keeps translatable names as jsonb: {"en_US": "…"}.
    coalesce(json_extract_string(cast(name as varchar), '$.en_US'), cast(name as varchar)) as account_name,
    account_type,
    case
        when account_type in ('income', 'income_other', 'expense', 'expense_depreciation',
                              'expense_direct_cost') then 'income_statement'
        else 'balance_sheet'
    end as statement,
    case
        when account_type like 'asset%' then 'asset'
        when account_type like 'liability%' then 'liability'
        when account_type like 'equity%' then 'equity'
        when account_type like 'income%' then 'income'
        else 'expense'
    end as account_group
from {{ source('odoo', 'account_account') }}
where not coalesce(_deleted, false)
