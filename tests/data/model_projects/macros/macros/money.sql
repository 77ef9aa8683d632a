{# Shared money helpers, as a dbt project keeps them in macros/. Text outside macros is ignored. #}
{% macro cents_to_amount(column, scale=var('currency_scale')) -%}
  round({{ column }} / 100.0, {{ scale }})::decimal(16, {{ scale }})
{%- endmacro %}

{% macro signed_balance(debit, credit) -%}
  {{ cents_to_amount(debit) }} - {{ cents_to_amount(credit) }}
{%- endmacro %}
