select
    id as partner_id,
    name as partner_name,
    coalesce(customer_rank, 0) > 0 as is_customer,
    coalesce(supplier_rank, 0) > 0 as is_vendor
from {{ source('odoo', 'res_partner') }}
where not coalesce(_deleted, false)
