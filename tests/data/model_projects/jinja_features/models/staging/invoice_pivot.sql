{# one row: amount per status, from the statuses var #}
{%- set statuses = var('statuses') -%}
{%- set label = var('prefix') | upper ~ '-' ~ (statuses | length) -%}
select
  '{{ label }}' as label,
  '{{ statuses | join("|") }}' as statuses,
  {%- for s in statuses %}
  sum(case when status = '{{ s }}' then amount else 0 end) as {{ s | lower }}_amount{{ "," if not loop.last }}
  {%- endfor %}
from {{ ref('invoices') }}
