-- Journals: typed, one row per id (the latest write wins).
CREATE OR REPLACE TABLE silver.odoo_account_journal AS
SELECT CAST(id AS INTEGER) AS id,
       CAST(code AS VARCHAR) AS code,
       CAST(name AS VARCHAR) AS name,
       CAST(type AS VARCHAR) AS type,
       CAST(default_account_id AS INTEGER) AS default_account_id,
       CAST(company_id AS INTEGER) AS company_id,
       CAST(create_date AS TIMESTAMP) AS create_date,
       CAST(write_date AS TIMESTAMP) AS write_date,
       _run_id AS _bronze_run_id
FROM bronze.raw_odoo_account_journal
QUALIFY row_number() OVER (PARTITION BY id ORDER BY write_date DESC, _emitted_at DESC) = 1
