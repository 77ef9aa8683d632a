import pandas as pd


def model(dew):
    # dew.ref('in_a_comment') is not a dependency
    dew.config(materialized="table", layer="gold")
    orders = dew.ref("stg_orders")
    totals = orders.groupby("customer", as_index=False).agg(
        amount=("amount", "sum"), orders=("id", "count"))
    totals["vip"] = totals["amount"] >= dew.var("vip_min")
    return totals
