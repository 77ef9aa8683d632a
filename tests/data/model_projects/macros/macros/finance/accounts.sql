{# A macro that returns a value (a list) rather than text, and one that reads the relation of a
   model through ref(). #}
{% macro account_groups() -%}
  {{ return({'4': 'revenue', '6': 'expense', '1': 'asset'}) }}
{%- endmacro %}

{% macro account_group_case(column) -%}
  case
  {%- for prefix, group in account_groups().items() | sort %}
    when {{ column }}::varchar like '{{ prefix }}%' then '{{ group }}'
  {%- endfor %}
    else 'other'
  end
{%- endmacro %}

{% macro only_posted(model) -%}
  (select * from {{ ref(model) }} where status = 'posted')
{%- endmacro %}
