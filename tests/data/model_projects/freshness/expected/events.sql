SELECT id FROM silver.events ORDER BY id
