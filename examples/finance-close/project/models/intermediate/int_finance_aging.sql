-- Open receivables and payables at the end of the period per partner, by days past due (0-30
-- includes items not yet due), for the two aging marts. An item is open when its reconciliation,
-- counting only lines dated up to the period end, does not net to zero (a partial payment leaves
-- the rest open): a payment after the period end leaves the invoice open here. Payables are shown
-- as positive amounts.
with p as (select * from {{ ref('int_finance_period') }}),
items as (
    select account_type,
           coalesce(matching_number, 'r' || full_reconcile_id, 'l' || line_id) as item,
           any_value(partner_id) as partner_id,
           any_value(partner_name) as partner_name,
           min(coalesce(date_maturity, date)) as due_date,
           case when account_type = 'liability_payable' then -sum(balance) else sum(balance) end
               as open_amount
    from {{ ref('int_finance_gl') }}
    where account_type in ('asset_receivable', 'liability_payable')
    group by account_type, item
    having sum(balance) <> 0
),
aged as (
    select i.*, p.period, p.period_end - i.due_date as days_past_due from items as i, p
)
select case account_type when 'asset_receivable' then 'receivable' else 'payable' end as side,
       period, partner_id, any_value(partner_name) as partner_name,
       sum(open_amount) filter (where days_past_due <= 30) as days_0_30,
       sum(open_amount) filter (where days_past_due between 31 and 60) as days_31_60,
       sum(open_amount) filter (where days_past_due between 61 and 90) as days_61_90,
       sum(open_amount) filter (where days_past_due > 90) as days_90_plus,
       sum(open_amount) as total_open,
       count(*) as open_items
from aged
group by side, period, partner_id
