{{ config(materialized='incremental', unique_key='id', layer='silver') }}
select id, invoice, cast(amount as decimal(18,2)) as amount, cast(paid_on as date) as paid_on,
       cast(loaded_at as timestamp) as loaded_at
from {{ ref('payments') }}
{% if is_incremental() %}
where cast(loaded_at as timestamp) > (select max(loaded_at) from {{ this }})
{% endif %}
