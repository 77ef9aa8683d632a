{{ config(materialized='incremental', unique_key='paid_on', layer='silver') }}
{# late rows: recompute every day that got a new or changed payment #}
select paid_on, sum(amount) as amount, count(*) as payments, max(loaded_at) as max_loaded_at
from {{ ref('payments_inc') }}
{% if is_incremental() %}
where paid_on in (select paid_on from {{ ref('payments_inc') }}
                  where loaded_at > (select coalesce(max(max_loaded_at), TIMESTAMP '1970-01-01') from {{ this }}))
{% endif %}
group by 1
