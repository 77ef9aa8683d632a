select 1 as x
{% if true %}
where 1 = 1
