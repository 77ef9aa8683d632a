-- A correction after the October close, merged into silver by id:
--  * a vendor bill for October consulting arrived late (on 4 November): it is accrued into
--    October (debit Expenses, credit Bills to receive) as a new two-line entry;
--  * the largest October item booked to Expenses (6000) was R&D work: it is reclassified to
--    RD Expenses (9610) in place.
-- The first is a NOT MATCHED insert, the second a MATCHED update.
MERGE INTO silver.odoo_account_move_line AS t
USING (
  WITH account AS (SELECT id, code FROM silver.odoo_account_account),
  next_id AS (
    SELECT max(id) AS line_id, max(move_id) AS move_id FROM silver.odoo_account_move_line),
  accrual(line_no, account_code, debit, credit) AS (
    VALUES (1, '6000', 18500.00, 0.00), (2, '2111', 0.00, 18500.00)),
  new_items AS (
    SELECT CAST(n.line_id + a.line_no AS BIGINT) AS id,
           CAST(n.move_id + 1 AS INTEGER) AS move_id,
           CAST('MISC/2026/90001' AS VARCHAR) AS move_name,
           CAST('posted' AS VARCHAR) AS parent_state,
           DATE '2026-10-31' AS date,
           CAST('2026-10' AS VARCHAR) AS period,
           CAST(3 AS INTEGER) AS journal_id,
           CAST(1 AS INTEGER) AS company_id,
           CAST(acc.id AS INTEGER) AS account_id,
           CAST(305 AS INTEGER) AS partner_id,
           CAST('Accrual: October consulting, late bill' AS VARCHAR) AS name,
           CAST('ACCR/2026/10' AS VARCHAR) AS ref,
           CAST(a.debit AS DECIMAL(16, 2)) AS debit,
           CAST(a.credit AS DECIMAL(16, 2)) AS credit,
           CAST(a.debit - a.credit AS DECIMAL(16, 2)) AS balance,
           CAST(a.debit - a.credit AS DECIMAL(16, 2)) AS amount_currency,
           CAST(2 AS INTEGER) AS currency_id,
           CAST(CASE WHEN a.account_code = '2111' THEN a.debit - a.credit ELSE 0 END
                AS DECIMAL(16, 2)) AS amount_residual,
           false AS reconciled,
           CAST(NULL AS INTEGER) AS full_reconcile_id,
           CAST(NULL AS VARCHAR) AS matching_number,
           CAST(NULL AS DATE) AS date_maturity,
           CAST('product' AS VARCHAR) AS display_type,
           CAST(NULL AS INTEGER) AS product_id,
           CAST(NULL AS DECIMAL(12, 2)) AS quantity,
           CAST(NULL AS DECIMAL(12, 2)) AS price_unit,
           CAST(NULL AS INTEGER) AS tax_line_id,
           TIMESTAMP '2026-11-04 10:12:00' AS create_date,
           TIMESTAMP '2026-11-04 10:12:00' AS write_date,
           CAST(NULL AS VARCHAR) AS _bronze_run_id
    FROM next_id n, accrual a JOIN account acc ON acc.code = a.account_code),
reclassified AS (
  SELECT * REPLACE (
           CAST((SELECT id FROM account WHERE code = '9610') AS INTEGER) AS account_id,
           TIMESTAMP '2026-11-04 10:15:00' AS write_date,
           CAST(NULL AS VARCHAR) AS _bronze_run_id)
  FROM silver.odoo_account_move_line
  WHERE period = '2026-10' AND parent_state = 'posted'
    AND account_id = (SELECT id FROM account WHERE code = '6000')
  ORDER BY debit DESC, id
  LIMIT 1)
  SELECT * FROM new_items
  UNION ALL BY NAME
  SELECT * FROM reclassified
) AS s
ON t.id = s.id
WHEN MATCHED THEN UPDATE SET *
WHEN NOT MATCHED THEN INSERT *
