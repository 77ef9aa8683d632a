select id, customer_id, amount, status from {{ ref('orders') }}
