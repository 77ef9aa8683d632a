{% set w = var('weights') %}
select id,
  case status
  {% for k, v in w.items() | sort -%}
    when '{{ k }}' then {{ v }}
  {% endfor -%}
  else {{ var('missing_weight', 0) | int }} end as weight,
  {{ "'%s'" | format(var('prefix')) if false else "'" ~ var('prefix') | title ~ "'" }} as prefix
from {{ ref('invoices') }}
{% if var('skip_status', none) is not none %}where status <> '{{ var('skip_status') }}'{% endif %}
