-- Monthly income statement by account type: revenue (income, other income) and expenses
-- (direct costs, operating expenses, depreciation) as positive amounts, and net income.
CREATE OR REPLACE TABLE gold.gold_finance_income_statement AS
WITH by_type AS (
  SELECT month, period, account_type,
         CASE WHEN account_type LIKE 'income%' THEN 'revenue' ELSE 'expenses' END AS section,
         sum(CASE WHEN account_type LIKE 'income%' THEN credit - debit ELSE debit - credit END)
           AS amount
  FROM gold.gold_finance_trial_balance
  WHERE account_type IN ('income', 'income_other', 'expense_direct_cost', 'expense',
                         'expense_depreciation')
  GROUP BY month, period, account_type)
SELECT month, period, section, account_type,
       CASE section WHEN 'revenue' THEN 1 ELSE 2 END AS line_order,
       CAST(amount AS DECIMAL(18, 2)) AS amount
FROM by_type
UNION ALL
SELECT month, period, 'net_income', 'total', 3,
       CAST(sum(CASE section WHEN 'revenue' THEN amount ELSE -amount END) AS DECIMAL(18, 2))
FROM by_type
GROUP BY month, period
ORDER BY month, line_order, account_type
