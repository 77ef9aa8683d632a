-- Partners: typed, one row per id (the latest write wins).
CREATE OR REPLACE TABLE silver.odoo_res_partner AS
SELECT CAST(id AS INTEGER) AS id,
       CAST(name AS VARCHAR) AS name,
       CAST(is_company AS BOOLEAN) AS is_company,
       CAST(customer_rank AS INTEGER) > 0 AS is_customer,
       CAST(supplier_rank AS INTEGER) > 0 AS is_vendor,
       CAST(email AS VARCHAR) AS email,
       CAST(city AS VARCHAR) AS city,
       CAST(country_code AS VARCHAR) AS country_code,
       CAST(payment_term_days AS INTEGER) AS payment_term_days,
       CAST(create_date AS TIMESTAMP) AS create_date,
       CAST(write_date AS TIMESTAMP) AS write_date,
       _run_id AS _bronze_run_id
FROM bronze.raw_odoo_res_partner
QUALIFY row_number() OVER (PARTITION BY id ORDER BY write_date DESC, _emitted_at DESC) = 1
