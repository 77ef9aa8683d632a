{# A macro defined in the model itself, next to the shared ones. #}
{% macro total(column) %}sum({{ column }}){% endmacro -%}
select account_group, {{ total('debit') }} as debit, {{ total('credit') }} as credit,
       {{ total('balance') }} as balance
from {{ ref('stg_lines') }}
group by account_group
order by account_group
