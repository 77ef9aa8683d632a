{{ config(materialized='table', layer='silver') }}
select t.id, now()::timestamp - to_hours({{ var('age_hours', 30) }}) as loaded_at from {{ source('helpdesk', 'tickets') }} t
