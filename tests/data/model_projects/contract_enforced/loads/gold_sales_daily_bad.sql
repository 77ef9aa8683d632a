{{ config(materialized='table', layer='gold') }}
select cast(day as date) as day, sum(amount) as amount, list(region) as regions
from {{ ref('sales') }} group by 1
