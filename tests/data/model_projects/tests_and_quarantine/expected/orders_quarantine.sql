SELECT * EXCLUDE (_dew_run_id) FROM silver.stg_orders__quarantine ORDER BY ALL
