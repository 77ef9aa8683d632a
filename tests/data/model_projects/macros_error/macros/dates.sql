{% macro month_start(column) %}
  date_trunc('month', {{ column }})
{% macro nested() %}{% endmacro %}
