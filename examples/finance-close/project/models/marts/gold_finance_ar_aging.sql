{{ config(unique_key=['period', 'partner_id']) }}
-- Open receivables at the end of the period per customer, by days past due (0-30 includes items not
-- yet due). An item is open when its reconciliation, counting only lines dated up to the period
-- end, does not net to zero (a partial payment leaves the rest open): a payment after the period end leaves the invoice open here.
-- depends_on: {{ ref('int_finance_close_controls') }}
with p as (select * from {{ ref('int_finance_period') }}),
items as (
    select coalesce(matching_number, 'r' || full_reconcile_id, 'l' || line_id) as item,
           any_value(partner_id) as partner_id,
           any_value(partner_name) as partner_name,
           min(coalesce(date_maturity, date)) as due_date,
           sum(balance) as open_amount
    from {{ ref('int_finance_gl') }}
    where account_type = 'asset_receivable'
    group by 1
    having sum(balance) <> 0
),
aged as (
    select i.*, p.period, p.period_end - i.due_date as days_past_due from items as i, p
)
select period, partner_id, any_value(partner_name) as partner_name,
       sum(open_amount) filter (where days_past_due <= 30) as days_0_30,
       sum(open_amount) filter (where days_past_due between 31 and 60) as days_31_60,
       sum(open_amount) filter (where days_past_due between 61 and 90) as days_61_90,
       sum(open_amount) filter (where days_past_due > 90) as days_90_plus,
       sum(open_amount) as total_open,
       count(*) as open_items
from aged
group by period, partner_id
