{{ config(layer='platinum', tags=['ops']) }}
select region, count(*) as orders from {{ ref('stg_orders') }} group by 1
