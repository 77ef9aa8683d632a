SELECT count(DISTINCT _dew_run_id) AS runs FROM silver.stg_orders__quarantine
