select customer, amount from {{ ref('gold_sales_customers') }} where vip
