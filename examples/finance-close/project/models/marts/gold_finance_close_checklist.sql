{{ config(unique_key=['period', 'control']) }}
-- The close checklist: every control of the period with its status. Published only when every
-- control passed (the gate), so a failed close leaves the previous checklist in place and the
-- failure is in the run's test results.
select p.period, c.control_no, c.control, c.description, c.checked_unit, c.checked, c.failing,
       c.status
from {{ ref('int_finance_close_controls') }} as c
cross join {{ ref('int_finance_period') }} as p
