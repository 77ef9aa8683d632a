select
  id,
  account,
  {{ account_group_case('account') }} as account_group,
  {{ cents_to_amount('debit_cents') }} as debit,
  {{ cents_to_amount('credit_cents') }} as credit,
  {{ signed_balance('debit_cents', 'credit_cents') }} as balance
from {{ only_posted('lines') }}
