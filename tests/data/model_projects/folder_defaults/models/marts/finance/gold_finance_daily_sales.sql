{{ config(unique_key='ordered_on') }}
select ordered_on, sum(amount) as amount from {{ ref('stg_orders') }} group by 1
