select id, upper(region) as region, amount, cast(ordered_on as date) as ordered_on from {{ ref('orders') }}
