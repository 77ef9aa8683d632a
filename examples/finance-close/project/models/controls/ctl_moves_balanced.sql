-- Control: every posted entry of the period balances (debits = credits).
select move_id, move_name, sum(debit) as debit, sum(credit) as credit,
       sum(debit) - sum(credit) as difference,
       sum(debit) = sum(credit) as ok
from {{ ref('int_finance_gl') }}
where in_period
group by move_id, move_name
