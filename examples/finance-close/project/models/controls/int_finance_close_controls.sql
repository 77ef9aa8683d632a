-- Every close control with its outcome: the gate gold depends on (a failing control's test
-- stops the build here, so no gold table of the run is written) and the checklist's source.
{%- set controls = [
    ['ctl_moves_balanced', 'Every posted entry of the period balances', 'entries'],
    ['ctl_trial_balance_zero', 'The trial balance sums to zero', 'trial balance'],
    ['ctl_lines_have_account_and_partner', 'Every line has a known account, and a partner on receivables and payables', 'lines'],
    ['ctl_no_draft_entries', 'No draft entries dated in the period', 'entries'],
    ['ctl_volume_within_band', 'Posted lines within the band of the trailing months', 'period'],
    ['ctl_bank_matches_ledger', 'Bank balance per statements equals the ledger', 'bank journals'],
] %}
{%- for name, description, unit in controls %}
select {{ loop.index }} as control_no, '{{ name | replace("ctl_", "") }}' as control, '{{ description }}' as description,
       '{{ unit }}' as checked_unit, count(*) as checked, count(*) filter (where not ok) as failing,
       case when count(*) filter (where not ok) = 0 then 'pass' else 'fail' end as status
from {{ ref(name) }}
{% if not loop.last %}union all
{% endif %}
{%- endfor %}
