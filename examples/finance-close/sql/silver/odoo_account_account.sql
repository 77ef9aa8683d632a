-- Chart of accounts: typed, one row per id (the latest write wins).
CREATE OR REPLACE TABLE silver.odoo_account_account AS
SELECT CAST(id AS INTEGER) AS id,
       CAST(code AS VARCHAR) AS code,
       CAST(name AS VARCHAR) AS name,
       CAST(account_type AS VARCHAR) AS account_type,
       CAST(account_type AS VARCHAR) IN ('income', 'income_other', 'expense', 'expense_depreciation',
                                         'expense_direct_cost') AS is_profit_and_loss,
       CAST(reconcile AS BOOLEAN) AS reconcile,
       CAST(non_trade AS BOOLEAN) AS non_trade,
       CAST(company_id AS INTEGER) AS company_id,
       CAST(xml_id AS VARCHAR) AS xml_id,
       CAST(create_date AS TIMESTAMP) AS create_date,
       CAST(write_date AS TIMESTAMP) AS write_date,
       _run_id AS _bronze_run_id
FROM bronze.raw_odoo_account_account
QUALIFY row_number() OVER (PARTITION BY id ORDER BY write_date DESC, _emitted_at DESC) = 1
