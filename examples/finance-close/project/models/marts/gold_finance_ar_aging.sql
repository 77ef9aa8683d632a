{{ config(unique_key=['period', 'partner_id']) }}
-- Open receivables at the end of the period per customer, by days past due (int_finance_aging).
-- depends_on: {{ ref('int_finance_close_controls') }}
select * exclude (side) from {{ ref('int_finance_aging') }} where side = 'receivable'
