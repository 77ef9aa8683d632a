{{ config(materialized='scd2', unique_key='id', updated_at='updated_at', layer='gold') }}
select id, name, tier, cast(updated_at as timestamp) as updated_at from {{ ref('customers') }}
