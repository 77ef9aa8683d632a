{# Generic tests of the project's own, as dbt's {% test %} blocks: used in properties YAML like
   the built-in ones, with severity, where and their own arguments. #}
{% test non_negative(model, column_name) %}
select * from {{ model }} where {{ column_name }} < 0
{% endtest %}

{% test balanced(model, debit='debit', credit='credit') %}
select sum({{ debit }}) - sum({{ credit }}) as difference
from {{ model }}
having sum({{ debit }}) <> sum({{ credit }})
{% endtest %}
