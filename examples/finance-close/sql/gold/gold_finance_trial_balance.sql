-- Monthly trial balance: for every month and account, the opening balance, the month's debits
-- and credits, and the closing balance (opening + debit - credit), from posted journal items.
--
-- Fiscal years are calendar years. Profit-and-loss accounts open each year at zero: their
-- balance of earlier years is carried in the opening balance of the "Undistributed
-- Profits/Losses" account (account_type equity_unaffected), as Odoo reports it. Every month's
-- openings, debits - credits and closings therefore each sum to zero.
CREATE OR REPLACE TABLE gold.gold_finance_trial_balance AS
WITH account AS (
  SELECT id, code, name, account_type, is_profit_and_loss FROM silver.odoo_account_account),
movement AS (
  SELECT account_id, date_trunc('month', date)::DATE AS month,
         sum(debit) AS debit, sum(credit) AS credit
  FROM silver.odoo_account_move_line
  WHERE parent_state = 'posted'
  GROUP BY ALL),
month AS (
  SELECT range::DATE AS month
  FROM range((SELECT min(month) FROM movement), (SELECT max(month) FROM movement) + INTERVAL 1 MONTH,
             INTERVAL 1 MONTH)),
grid AS (
  SELECT m.month, a.id AS account_id, a.code, a.name, a.account_type, a.is_profit_and_loss,
         coalesce(mv.debit, 0) AS debit, coalesce(mv.credit, 0) AS credit
  FROM month m CROSS JOIN account a
  LEFT JOIN movement mv ON mv.account_id = a.id AND mv.month = m.month),
running AS (
  SELECT *,
         coalesce(sum(debit - credit) OVER (PARTITION BY account_id ORDER BY month
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS balance_before,
         coalesce(sum(debit - credit) OVER (PARTITION BY account_id, year(month) ORDER BY month
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS balance_before_this_year
  FROM grid),
-- Profit or loss of the years before each month's fiscal year, carried to equity.
carried AS (
  SELECT m.month, coalesce(sum(g.debit - g.credit), 0) AS result_of_earlier_years
  FROM month m LEFT JOIN grid g ON g.is_profit_and_loss AND g.month < date_trunc('year', m.month)
  GROUP BY m.month),
opening AS (
  SELECT r.*,
         CASE WHEN r.is_profit_and_loss THEN r.balance_before_this_year
              WHEN r.account_type = 'equity_unaffected'
                THEN r.balance_before + c.result_of_earlier_years
              ELSE r.balance_before END AS opening_balance
  FROM running r JOIN carried c USING (month))
SELECT month,
       strftime(month, '%Y-%m') AS period,
       account_id,
       code AS account_code,
       name AS account_name,
       account_type,
       CAST(opening_balance AS DECIMAL(18, 2)) AS opening_balance,
       CAST(debit AS DECIMAL(18, 2)) AS debit,
       CAST(credit AS DECIMAL(18, 2)) AS credit,
       CAST(opening_balance + debit - credit AS DECIMAL(18, 2)) AS closing_balance
FROM opening
WHERE opening_balance <> 0 OR debit <> 0 OR credit <> 0
ORDER BY month, account_code
