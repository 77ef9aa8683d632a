select
    id as journal_id,
    cast(code as varchar) as journal_code,
    coalesce(json_extract_string(cast(name as varchar), '$.en_US'), cast(name as varchar)) as journal_name,
    type as journal_type,
    default_account_id
from {{ source('odoo', 'account_journal') }}
where not coalesce(_deleted, false)
