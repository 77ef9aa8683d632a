{{ config(materialized='table', layer='gold') }}
select cast(day as date) as day, cast(sum(amount) as decimal(18,2)) as amount, count(*) as orders
from {{ ref('sales') }} group by 1
