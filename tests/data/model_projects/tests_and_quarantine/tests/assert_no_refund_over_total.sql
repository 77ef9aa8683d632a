select status, sum(amount) as total from {{ ref('stg_orders') }} where status = 'refunded' group by 1 having sum(amount) > 100
