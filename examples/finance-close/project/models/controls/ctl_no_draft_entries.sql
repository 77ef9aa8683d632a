-- Control: no entry dated in the period is still a draft.
select m.move_id, m.move_name, m.date, m.state, m.move_type, m.state <> 'draft' as ok
from {{ ref('stg_odoo__moves') }} as m
join {{ ref('int_finance_period') }} as p on m.date between p.period_start and p.period_end
