-- Journal items: typed, one row per id (the latest write wins: a receivable line exported open
-- and exported again once reconciled keeps its reconciled version). Partitioned by accounting
-- period so that a month's correction rewrites only that month's files.
CREATE OR REPLACE TABLE silver.odoo_account_move_line PARTITIONED BY (period) AS
SELECT CAST(id AS BIGINT) AS id,
       CAST(move_id AS INTEGER) AS move_id,
       CAST(move_name AS VARCHAR) AS move_name,
       CAST(parent_state AS VARCHAR) AS parent_state,
       CAST(date AS DATE) AS date,
       strftime(CAST(date AS DATE), '%Y-%m') AS period,
       CAST(journal_id AS INTEGER) AS journal_id,
       CAST(company_id AS INTEGER) AS company_id,
       CAST(account_id AS INTEGER) AS account_id,
       CAST(partner_id AS INTEGER) AS partner_id,
       CAST(name AS VARCHAR) AS name,
       CAST(ref AS VARCHAR) AS ref,
       CAST(debit AS DECIMAL(16, 2)) AS debit,
       CAST(credit AS DECIMAL(16, 2)) AS credit,
       CAST(balance AS DECIMAL(16, 2)) AS balance,
       CAST(amount_currency AS DECIMAL(16, 2)) AS amount_currency,
       CAST(currency_id AS INTEGER) AS currency_id,
       CAST(amount_residual AS DECIMAL(16, 2)) AS amount_residual,
       CAST(reconciled AS BOOLEAN) AS reconciled,
       CAST(full_reconcile_id AS INTEGER) AS full_reconcile_id,
       CAST(matching_number AS VARCHAR) AS matching_number,
       CAST(date_maturity AS DATE) AS date_maturity,
       CAST(display_type AS VARCHAR) AS display_type,
       CAST(product_id AS INTEGER) AS product_id,
       CAST(quantity AS DECIMAL(12, 2)) AS quantity,
       CAST(price_unit AS DECIMAL(12, 2)) AS price_unit,
       CAST(tax_line_id AS INTEGER) AS tax_line_id,
       CAST(create_date AS TIMESTAMP) AS create_date,
       CAST(write_date AS TIMESTAMP) AS write_date,
       _run_id AS _bronze_run_id
FROM bronze.raw_odoo_account_move_line
QUALIFY row_number() OVER (PARTITION BY id ORDER BY write_date DESC, _emitted_at DESC) = 1
