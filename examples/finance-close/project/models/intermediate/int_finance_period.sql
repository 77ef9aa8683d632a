-- The month being closed, as one row. var('period') (YYYY-MM) wins; else the month before the
-- run's logical date (a scheduled run on the first business day closes the previous month);
-- else the month before today.
{%- set period = var('period', '') -%}
{%- set logical_date = var('logical_date', '') %}
with chosen as (
    select cast(
    {%- if period %}
        strptime('{{ period }}-01', '%Y-%m-%d')
    {%- elif logical_date %}
        date_trunc('month', date '{{ logical_date }}') - interval 1 month
    {%- else %}
        date_trunc('month', current_date) - interval 1 month
    {%- endif %} as date) as period_start
)
select
    strftime(period_start, '%Y-%m') as period,
    period_start,
    last_day(period_start) as period_end,
    cast(date_trunc('year', period_start) as date) as year_start
from chosen
