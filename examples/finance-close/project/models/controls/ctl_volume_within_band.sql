-- Control: the period's number of posted lines is within ±volume_tolerance of the mean of the
-- trailing months (months without data do not count; with no history the control passes).
with months as (
    select month, count(*) as lines from {{ ref('int_finance_gl') }} group by month
),
p as (select * from {{ ref('int_finance_period') }}),
history as (
    select avg(m.lines) as mean_lines, count(*) as months
    from months as m, p
    where m.month < p.period
      and m.month >= strftime(p.period_start - to_months({{ var('volume_trailing_months', 3) }}), '%Y-%m')
)
select p.period,
       coalesce((select lines from months where month = p.period), 0) as lines,
       t.months as trailing_months,
       round(t.mean_lines, 1) as trailing_mean,
       round(coalesce((select lines from months where month = p.period), 0) / t.mean_lines, 3) as ratio,
       t.months = 0
         or abs(coalesce((select lines from months where month = p.period), 0) / t.mean_lines - 1)
            <= {{ var('volume_tolerance', 0.2) }} as ok
from p, history as t
