select id, customer, amount from {{ ref('orders') }} where customer is not null
