{{ config(layer='gold') }}
select c.id as customer_id, c.name, sum(o.amount) as amount
from {{ ref('stg_orders') }} o join {{ ref('stg_customers') }} c on c.id = o.customer_id
group by 1, 2
