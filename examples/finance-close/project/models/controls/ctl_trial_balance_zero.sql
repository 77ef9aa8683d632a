-- Control: the trial balance at the end of the period sums to zero.
select p.period, coalesce(sum(g.debit), 0) as total_debit, coalesce(sum(g.credit), 0) as total_credit,
       coalesce(sum(g.balance), 0) as difference,
       coalesce(sum(g.balance), 0) = 0 as ok
from {{ ref('int_finance_period') }} as p
left join {{ ref('int_finance_gl') }} as g on true
group by p.period
