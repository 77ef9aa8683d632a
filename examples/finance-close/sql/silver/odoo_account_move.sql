-- Journal entries: typed, one row per id (the latest write wins: an invoice exported open and
-- later exported paid keeps its paid version).
CREATE OR REPLACE TABLE silver.odoo_account_move AS
SELECT CAST(id AS INTEGER) AS id,
       CAST(name AS VARCHAR) AS name,
       CAST(ref AS VARCHAR) AS ref,
       CAST(date AS DATE) AS date,
       CAST(state AS VARCHAR) AS state,
       CAST(move_type AS VARCHAR) AS move_type,
       CAST(journal_id AS INTEGER) AS journal_id,
       CAST(company_id AS INTEGER) AS company_id,
       CAST(currency_id AS INTEGER) AS currency_id,
       CAST(partner_id AS INTEGER) AS partner_id,
       CAST(invoice_date AS DATE) AS invoice_date,
       CAST(invoice_date_due AS DATE) AS invoice_date_due,
       CAST(amount_untaxed AS DECIMAL(16, 2)) AS amount_untaxed,
       CAST(amount_tax AS DECIMAL(16, 2)) AS amount_tax,
       CAST(amount_total AS DECIMAL(16, 2)) AS amount_total,
       CAST(amount_residual AS DECIMAL(16, 2)) AS amount_residual,
       CAST(payment_state AS VARCHAR) AS payment_state,
       CAST(create_date AS TIMESTAMP) AS create_date,
       CAST(write_date AS TIMESTAMP) AS write_date,
       _run_id AS _bronze_run_id
FROM bronze.raw_odoo_account_move
QUALIFY row_number() OVER (PARTITION BY id ORDER BY write_date DESC, _emitted_at DESC) = 1
