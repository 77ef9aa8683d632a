SELECT * EXCLUDE (_dew_run_id) FROM silver.stg_customers__quarantine ORDER BY ALL
