-- Generates an Odoo-shaped general ledger and writes it as an Odoo export would: one folder per
-- export batch under {{EXPORT_DIR}}, small tables as CSV, journal items as Parquet.
--
--   {{EXPORT_DIR}}/2026-10-20/  full export taken on 2026-10-20 (records as they were then)
--   {{EXPORT_DIR}}/2026-11-05/  incremental export: records created or modified since
--
-- So a journal item reconciled after 2026-10-20 appears twice (open, then reconciled, with a
-- later write_date), which is what silver's deduplication is for.
--
-- Deterministic: every random choice is a hash of the record's sequence number (no random()).
-- Period: 24 months, 2024-11-01 .. 2026-10-31; October 2026 is the last closed month.
-- Scale: {{INVOICES}} customer invoices and {{BILLS}} vendor bills, about 1,000,000 journal
-- items with the default scale.

-- A uniform number in [0, 1) drawn from the hash of its arguments.
CREATE OR REPLACE TEMP MACRO u(a, b) AS (hash(a, b) % 1000003) / 1000003.0;
CREATE OR REPLACE TEMP MACRO u3(a, b, c) AS (hash(a, b, c) % 1000003) / 1000003.0;

CREATE OR REPLACE TEMP TABLE params AS
SELECT DATE '2024-11-01' AS period_start, DATE '2026-10-31' AS period_end,
       TIMESTAMP '2026-10-20 00:00:00' AS full_export_at,
       TIMESTAMP '2026-11-05 00:00:00' AS incremental_export_at;

-- Chart of accounts: Odoo's generic template, plus the accounts Odoo creates itself when the
-- company is set up (bank and cash journals' accounts, undistributed profits).
CREATE OR REPLACE TEMP TABLE account AS
WITH template AS (
  SELECT id AS xml_id, name, code, account_type, reconcile = 'True' AS reconcile,
         non_trade = 'True' AS non_trade
  FROM read_csv('{{COA_CSV}}', header = true, all_varchar = true)
  UNION ALL VALUES ('bank', 'Bank', '101401', 'asset_cash', false, false),
                   ('cash', 'Cash', '101501', 'asset_cash', false, false),
                   ('undistributed_profits', 'Undistributed Profits/Losses', '999999',
                    'equity_unaffected', false, false))
SELECT row_number() OVER (ORDER BY code)::INTEGER AS id, xml_id, code, name, account_type,
       reconcile, non_trade
FROM template;

CREATE OR REPLACE TEMP TABLE journal AS
SELECT * FROM (VALUES
  (1, 'INV', 'Customer Invoices', 'sale', 'income'),
  (2, 'BILL', 'Vendor Bills', 'purchase', 'expense'),
  (3, 'MISC', 'Miscellaneous Operations', 'general', NULL),
  (4, 'BNK1', 'Bank', 'bank', 'bank'),
  (5, 'CSH1', 'Cash', 'cash', 'cash'),
  (6, 'SLR', 'Salaries', 'general', 'expense_salary'))
  t(id, code, name, type, default_account);

-- Partners: the company, 300 customers, 80 vendors, 40 employees.
CREATE OR REPLACE TEMP TABLE partner AS
WITH words AS (
  SELECT ['Acme', 'Northwind', 'Blue Harbor', 'Redwood', 'Silverline', 'Granite', 'Evergreen',
          'Summit', 'Lakeside', 'Ironbridge', 'Sunrise', 'Maple', 'Orion', 'Atlas', 'Cedar',
          'Falcon', 'Harbor', 'Juniper', 'Keystone', 'Meridian'] AS a,
         ['Trading', 'Logistics', 'Foods', 'Systems', 'Consulting', 'Retail', 'Industries',
          'Labs', 'Supplies', 'Textiles', 'Energy', 'Media'] AS b,
         ['Inc', 'LLC', 'Ltd', 'GmbH', 'SA', 'BV', 'SARL', 'Corp'] AS c,
         ['Alex', 'Maria', 'Chen', 'Fatima', 'Lars', 'Aiko', 'Diego', 'Priya', 'Tom', 'Nadia'] AS f,
         ['Martin', 'Garcia', 'Nguyen', 'Okafor', 'Schmidt', 'Rossi', 'Dubois', 'Kowalski',
          'Silva', 'Tanaka'] AS l,
         [('San Francisco', 'US'), ('Chicago', 'US'), ('Toronto', 'CA'), ('London', 'GB'),
          ('Berlin', 'DE'), ('Lyon', 'FR'), ('Brussels', 'BE'), ('Rotterdam', 'NL'),
          ('Madrid', 'ES'), ('Milan', 'IT')] AS city)
SELECT id::INTEGER AS id,
       CASE WHEN id = 1 THEN 'My Company (San Francisco)'
            WHEN id <= 381 THEN a[(1 + hash(id, 'a') % 20)::INTEGER] || ' ' || b[(1 + hash(id, 'b') % 12)::INTEGER]
                                || ' ' || c[(1 + hash(id, 'c') % 8)::INTEGER]
            ELSE f[(1 + hash(id, 'f') % 10)::INTEGER] || ' ' || l[(1 + hash(id, 'l') % 10)::INTEGER] END AS name,
       id <= 381 AS is_company,
       CASE WHEN id BETWEEN 2 AND 301 THEN 1 ELSE 0 END AS customer_rank,
       CASE WHEN id BETWEEN 302 AND 381 THEN 1 ELSE 0 END AS supplier_rank,
       CASE WHEN id > 381 THEN 'employee' WHEN id = 1 THEN 'company'
            WHEN id <= 301 THEN 'customer' ELSE 'vendor' END AS role,
       city[(1 + hash(id, 'city') % 10)::INTEGER][1] AS city,
       city[(1 + hash(id, 'city') % 10)::INTEGER][2] AS country_code,
       lower(replace(name, ' ', '.')) || '@example.com' AS email,
       -- payment terms in days, fixed per partner
       [15, 30, 30, 45, 60][(1 + hash(id, 'terms') % 5)::INTEGER] AS payment_term_days,
       TIMESTAMP '2024-10-01 09:00:00' + to_minutes((hash(id, 'created') % 40000)::BIGINT)
         AS create_date
FROM range(1, 422) t(id), words;

-- Documents -----------------------------------------------------------------------------------
-- Invoice and bill dates follow a growing business: density rising by 60% over the period
-- (inverse CDF of a linear density, a = 0.6).
CREATE OR REPLACE TEMP MACRO growth_day(x) AS
  least(729, floor(730 * (sqrt(1 + 2 * 0.6 * x * 1.3) - 1) / 0.6))::INTEGER;

CREATE OR REPLACE TEMP TABLE doc AS
SELECT 'out_invoice' AS kind, i AS seq,
       (SELECT period_start FROM params) + growth_day((i + u(i, 'jitter')) / {{INVOICES}}) AS date,
       (2 + hash(i, 'customer') % 300)::INTEGER AS partner_id,
       (1 + hash(i, 'lines') % 6)::INTEGER AS n_lines
FROM range({{INVOICES}}) t(i)
UNION ALL
SELECT 'in_invoice', i,
       (SELECT period_start FROM params) + growth_day((i + u(i, 'jitter')) / {{BILLS}}),
       (302 + hash(i, 'vendor') % 80)::INTEGER, (1 + hash(i, 'lines') % 4)::INTEGER
FROM range({{BILLS}}) t(i);

-- Two in a hundred customer documents are credit notes; the most recent few are still drafts;
-- some were cancelled.
CREATE OR REPLACE TEMP TABLE doc2 AS
SELECT d.*,
       CASE WHEN kind = 'out_invoice' AND hash(seq, 'refund') % 50 = 0 THEN 'out_refund'
            WHEN kind = 'in_invoice' AND hash(seq, 'refund') % 80 = 0 THEN 'in_refund'
            ELSE kind END AS move_type,
       CASE WHEN date > (SELECT period_end FROM params) - 6 AND hash(seq, kind, 'draft') % 8 = 0
              THEN 'draft'
            WHEN hash(seq, kind, 'cancel') % 400 = 0 THEN 'cancel'
            ELSE 'posted' END AS state,
       p.payment_term_days,
       date::TIMESTAMP + to_minutes((8 * 60 + hash(seq, kind, 'time') % 600)::BIGINT) AS created_at
FROM doc d JOIN partner p ON p.id = d.partner_id;

-- Product and tax lines of invoices and bills; balance > 0 is a debit.
CREATE OR REPLACE TEMP TABLE doc_line AS
WITH l AS (
  SELECT d.kind, d.seq, d.move_type, unnest(range(d.n_lines)) AS k FROM doc2 d),
priced AS (
  SELECT l.*,
         CASE WHEN kind = 'out_invoice' THEN 1 + hash(seq, k, 'product') % 250
              ELSE 1001 + hash(seq, k, 'product') % 120 END::INTEGER AS product_id
  FROM l)
SELECT kind, seq, k AS line_no, product_id,
       CASE WHEN kind = 'out_invoice' THEN 'income'
            ELSE CASE WHEN hash(product_id, 'acct') % 20 < 11 THEN 'cost_of_goods_sold'
                      WHEN hash(product_id, 'acct') % 20 < 15 THEN 'expense'
                      WHEN hash(product_id, 'acct') % 20 < 17 THEN 'expense_sales'
                      WHEN hash(product_id, 'acct') % 20 < 19 THEN 'expense_rd'
                      ELSE 'expense_invest' END END AS account_xml,
       (1 + hash(seq, k, kind, 'qty') % CASE WHEN kind = 'out_invoice' THEN 10 ELSE 20 END)
         ::DECIMAL(12, 2) AS quantity,
       CASE WHEN kind = 'out_invoice' THEN 2 + (hash(product_id, 'price') % 7800) / 100
            ELSE 9 + (hash(product_id, 'price') % 26000) / 100 END::DECIMAL(12, 2) AS price_unit,
       CASE move_type WHEN 'out_invoice' THEN -1 WHEN 'in_refund' THEN -1 ELSE 1 END AS sign
FROM priced;

-- Recurring entries: opening capital, rent, payroll, bank fees, tax settlements, dividends.
CREATE OR REPLACE TEMP TABLE month AS
SELECT m::INTEGER AS m, ((SELECT period_start FROM params) + to_months(m::INTEGER))::DATE AS first_day,
       ((SELECT period_start FROM params) + to_months(m::INTEGER + 1))::DATE - 1 AS last_day
FROM range(24) t(m);

-- Journal items as (document key, account, partner, label, balance, ...). doc_key identifies the
-- account_move: (kind, seq).
CREATE OR REPLACE TEMP TABLE item AS
-- invoices and bills: product lines
SELECT kind, seq, line_no, account_xml, product_id, quantity, price_unit,
       sign * round(quantity * price_unit, 2)::DECIMAL(16, 2) AS balance,
       'product' AS display_type, 'Product ' || product_id AS label
FROM doc_line
UNION ALL
-- tax lines: 15% of the untaxed amount
SELECT kind, seq, 100, CASE WHEN kind = 'out_invoice' THEN 'tax_received' ELSE 'tax_paid' END,
       NULL, NULL, NULL, round(sum(sign * round(quantity * price_unit, 2)) * 0.15, 2)::DECIMAL(16, 2),
       'tax', 'Tax 15%'
FROM doc_line GROUP BY kind, seq
UNION ALL
-- receivable / payable line: the opposite of all the others, so the move balances exactly
SELECT kind, seq, 101, CASE WHEN kind = 'out_invoice' THEN 'receivable' ELSE 'payable' END,
       NULL, NULL, NULL,
       -(sum(sign * round(quantity * price_unit, 2))
         + round(sum(sign * round(quantity * price_unit, 2)) * 0.15, 2))::DECIMAL(16, 2),
       'payment_term', ''
FROM doc_line GROUP BY kind, seq;

-- Payments: most posted documents are paid around their due date; a few never are; anything due
-- after the period end is still open.
CREATE OR REPLACE TEMP TABLE payment AS
SELECT d.kind AS doc_kind, d.seq AS doc_seq, i.balance AS doc_balance,
       (d.date + d.payment_term_days + (hash(d.seq, d.kind, 'late') % 25)::INTEGER - 10) AS pay_date,
       CASE WHEN d.kind = 'out_invoice' THEN 'receivable' ELSE 'payable' END AS counter_xml,
       d.partner_id, d.created_at
FROM doc2 d JOIN item i ON i.kind = d.kind AND i.seq = d.seq AND i.line_no = 101
WHERE d.state = 'posted' AND hash(d.seq, d.kind, 'unpaid') % 40 <> 0;
DELETE FROM payment WHERE pay_date > (SELECT period_end FROM params);

CREATE OR REPLACE TEMP TABLE move_src AS
-- kind, seq, date, journal, move_type, partner, state, ref, created_at
SELECT kind, seq, date, CASE WHEN kind = 'out_invoice' THEN 'INV' ELSE 'BILL' END AS journal,
       move_type, partner_id, state,
       CASE WHEN kind = 'in_invoice' THEN 'V' || (100000 + hash(seq, 'vendor_ref') % 900000)::VARCHAR
            ELSE NULL END AS ref,
       created_at
FROM doc2
UNION ALL
SELECT 'payment_' || doc_kind, doc_seq, pay_date, 'BNK1', 'entry', partner_id, 'posted',
       NULL, pay_date::TIMESTAMP + to_minutes((7 * 60 + hash(doc_seq, doc_kind, 'pt') % 600)::BIGINT)
FROM payment
UNION ALL
SELECT 'opening', 0, first_day, 'MISC', 'entry', 1, 'posted', 'Opening capital',
       first_day::TIMESTAMP + INTERVAL 7 HOUR
FROM month WHERE m = 0
UNION ALL
SELECT 'rent', m, first_day, 'BILL', 'in_invoice', 302, 'posted', 'RENT-' || strftime(first_day, '%Y-%m'),
       first_day::TIMESTAMP + INTERVAL 9 HOUR
FROM month
UNION ALL
SELECT 'rent_payment', m, first_day + 4, 'BNK1', 'entry', 302, 'posted', NULL,
       (first_day + 4)::TIMESTAMP + INTERVAL 10 HOUR
FROM month
UNION ALL
SELECT 'payroll', m, last_day, 'SLR', 'entry', NULL, 'posted', 'Payslips ' || strftime(first_day, '%B %Y'),
       last_day::TIMESTAMP + INTERVAL 16 HOUR
FROM month
UNION ALL
SELECT 'salary_payment', m * 100 + e, last_day, 'BNK1', 'entry', 381 + e, 'posted', NULL,
       last_day::TIMESTAMP + INTERVAL 17 HOUR
FROM month, range(1, 41) t(e)
UNION ALL
SELECT 'payroll_tax_payment', m, first_day + 14, 'BNK1', 'entry', NULL, 'posted', NULL,
       (first_day + 14)::TIMESTAMP + INTERVAL 11 HOUR
FROM month WHERE m > 0
UNION ALL
SELECT 'bank_fees', m, last_day, 'BNK1', 'entry', NULL, 'posted', 'Bank fees',
       last_day::TIMESTAMP + INTERVAL 18 HOUR
FROM month
UNION ALL
SELECT 'tax_settlement', m, first_day + 9, 'MISC', 'entry', NULL, 'posted',
       'Tax return ' || strftime(first_day - 1, '%Y-%m'), (first_day + 9)::TIMESTAMP + INTERVAL 12 HOUR
FROM month WHERE m > 0
UNION ALL
SELECT 'tax_payment', m, first_day + 19, 'BNK1', 'entry', NULL, 'posted', NULL,
       (first_day + 19)::TIMESTAMP + INTERVAL 12 HOUR
FROM month WHERE m > 0
UNION ALL
SELECT 'dividend', m, last_day, 'BNK1', 'entry', 1, 'posted', 'Dividend ' || year(first_day),
       last_day::TIMESTAMP + INTERVAL 15 HOUR
FROM month WHERE month(first_day) = 12;

-- Items of the entries above.
CREATE OR REPLACE TEMP TABLE employee AS
SELECT 381 + e AS partner_id, e,
       (3500 + hash(e, 'salary') % 6000)::DECIMAL(16, 2) AS gross
FROM range(1, 41) t(e);

-- Sales tax collected and paid per month (posted documents only), for the settlements.
CREATE OR REPLACE TEMP TABLE tax_month AS
SELECT date_trunc('month', d.date)::DATE AS month,
       sum(CASE WHEN i.account_xml = 'tax_received' THEN i.balance ELSE 0 END) AS received,
       sum(CASE WHEN i.account_xml = 'tax_paid' THEN i.balance ELSE 0 END) AS paid
FROM item i JOIN doc2 d USING (kind, seq)
WHERE i.line_no = 100 AND d.state = 'posted'
GROUP BY ALL;

INSERT INTO item
SELECT 'payment_' || doc_kind, doc_seq, 0, counter_xml, NULL, NULL, NULL, -doc_balance,
       'payment_term', 'Payment'
FROM payment
UNION ALL
SELECT 'payment_' || doc_kind, doc_seq, 1, 'bank', NULL, NULL, NULL, doc_balance, 'product', 'Payment'
FROM payment
UNION ALL
SELECT 'opening', 0, 0, 'bank', NULL, NULL, NULL, 2500000, 'product', 'Capital contribution'
UNION ALL
SELECT 'opening', 0, 1, 'capital', NULL, NULL, NULL, -2500000, 'product', 'Capital contribution'
UNION ALL
SELECT 'rent', m, 0, 'expense_rent', NULL, 1, 24000, 24000, 'product', 'Office rent'
FROM month
UNION ALL
SELECT 'rent', m, 1, 'payable', NULL, NULL, NULL, -24000, 'payment_term', ''
FROM month
UNION ALL
SELECT 'rent_payment', m, 0, 'payable', NULL, NULL, NULL, 24000, 'payment_term', 'Rent payment'
FROM month
UNION ALL
SELECT 'rent_payment', m, 1, 'bank', NULL, NULL, NULL, -24000, 'product', 'Rent payment'
FROM month
UNION ALL
-- payroll: gross salary and employer taxes are expenses; net pay and both taxes are owed
SELECT 'payroll', m, e * 5 + 0, 'expense_salary', NULL, NULL, NULL, gross, 'product', 'Gross salary'
FROM month, employee
UNION ALL
SELECT 'payroll', m, e * 5 + 1, 'expense_salary', NULL, NULL, NULL, round(gross * 0.0765, 2),
       'product', 'Employer payroll taxes'
FROM month, employee
UNION ALL
SELECT 'payroll', m, e * 5 + 2, 'employee_payroll_taxes', NULL, NULL, NULL,
       -round(gross * 0.22, 2), 'product', 'Employee payroll taxes'
FROM month, employee
UNION ALL
SELECT 'payroll', m, e * 5 + 3, 'employer_payroll_taxes', NULL, NULL, NULL,
       -round(gross * 0.0765, 2), 'product', 'Employer payroll taxes'
FROM month, employee
UNION ALL
SELECT 'payroll', m, e * 5 + 4, 'salary_payable', NULL, NULL, NULL,
       -(gross - round(gross * 0.22, 2)), 'product', 'Net salary'
FROM month, employee
UNION ALL
SELECT 'salary_payment', m * 100 + e, 0, 'salary_payable', NULL, NULL, NULL,
       gross - round(gross * 0.22, 2), 'product', 'Salary payment'
FROM month, employee
UNION ALL
SELECT 'salary_payment', m * 100 + e, 1, 'bank', NULL, NULL, NULL,
       -(gross - round(gross * 0.22, 2)), 'product', 'Salary payment'
FROM month, employee
UNION ALL
SELECT 'payroll_tax_payment', m, 0, 'employee_payroll_taxes', NULL, NULL, NULL,
       (SELECT sum(round(gross * 0.22, 2)) FROM employee), 'product', 'Payroll taxes'
FROM month WHERE m > 0
UNION ALL
SELECT 'payroll_tax_payment', m, 1, 'employer_payroll_taxes', NULL, NULL, NULL,
       (SELECT sum(round(gross * 0.0765, 2)) FROM employee), 'product', 'Payroll taxes'
FROM month WHERE m > 0
UNION ALL
SELECT 'payroll_tax_payment', m, 2, 'bank', NULL, NULL, NULL,
       -(SELECT sum(round(gross * 0.22, 2)) + sum(round(gross * 0.0765, 2)) FROM employee),
       'product', 'Payroll taxes'
FROM month WHERE m > 0
UNION ALL
SELECT 'bank_fees', m, 0, 'expense_finance', NULL, NULL, NULL,
       (120 + hash(m, 'fees') % 380)::DECIMAL(16, 2), 'product', 'Bank fees'
FROM month
UNION ALL
SELECT 'bank_fees', m, 1, 'bank', NULL, NULL, NULL,
       -(120 + hash(m, 'fees') % 380)::DECIMAL(16, 2), 'product', 'Bank fees'
FROM month
UNION ALL
-- tax settlement of the previous month: clear collected and paid tax into tax payable
SELECT 'tax_settlement', m, 0, 'tax_received', NULL, NULL, NULL, -t.received, 'product', 'Tax return'
FROM month JOIN tax_month t ON t.month = month.first_day - INTERVAL 1 MONTH
UNION ALL
SELECT 'tax_settlement', m, 1, 'tax_paid', NULL, NULL, NULL, -t.paid, 'product', 'Tax return'
FROM month JOIN tax_month t ON t.month = month.first_day - INTERVAL 1 MONTH
UNION ALL
SELECT 'tax_settlement', m, 2, 'tax_payable', NULL, NULL, NULL, t.received + t.paid, 'product',
       'Tax return'
FROM month JOIN tax_month t ON t.month = month.first_day - INTERVAL 1 MONTH
UNION ALL
SELECT 'tax_payment', m, 0, 'tax_payable', NULL, NULL, NULL, -(t.received + t.paid), 'product',
       'Tax payment'
FROM month JOIN tax_month t ON t.month = month.first_day - INTERVAL 1 MONTH
UNION ALL
SELECT 'tax_payment', m, 1, 'bank', NULL, NULL, NULL, t.received + t.paid, 'product', 'Tax payment'
FROM month JOIN tax_month t ON t.month = month.first_day - INTERVAL 1 MONTH
UNION ALL
SELECT 'dividend', m, 0, 'dividends', NULL, NULL, NULL, 400000, 'product', 'Dividend'
FROM month WHERE month(first_day) = 12
UNION ALL
SELECT 'dividend', m, 1, 'bank', NULL, NULL, NULL, -400000, 'product', 'Dividend'
FROM month WHERE month(first_day) = 12;

-- account_move: ids in creation order, names per journal and year as Odoo numbers them.
CREATE OR REPLACE TEMP TABLE account_move AS
WITH numbered AS (
  SELECT s.*, row_number() OVER (ORDER BY created_at, kind, seq)::INTEGER AS id,
         CASE WHEN s.move_type IN ('out_refund', 'in_refund') THEN 'R' ELSE '' END || journal AS prefix
  FROM move_src s),
totals AS (
  SELECT kind, seq,
         sum(CASE WHEN display_type = 'product' THEN abs(balance) ELSE 0 END) AS untaxed,
         sum(CASE WHEN display_type = 'tax' THEN abs(balance) ELSE 0 END) AS tax,
         sum(CASE WHEN balance > 0 THEN balance ELSE 0 END) AS total_debit
  FROM item GROUP BY kind, seq),
paid AS (SELECT doc_kind AS kind, doc_seq AS seq, pay_date FROM payment)
SELECT n.id,
       CASE WHEN n.state = 'draft' THEN '/'
            ELSE n.prefix || '/' || year(n.date) || '/'
                 || lpad(row_number() OVER (PARTITION BY n.prefix, year(n.date), n.state = 'draft'
                                            ORDER BY n.date, n.id)::VARCHAR, 5, '0') END AS name,
       n.ref, n.date, n.state, n.move_type, j.id AS journal_id, 1 AS company_id, 2 AS currency_id,
       n.partner_id, n.kind, n.seq,
       CASE WHEN n.move_type <> 'entry' THEN n.date END AS invoice_date,
       CASE WHEN n.move_type <> 'entry'
            THEN n.date + coalesce((SELECT payment_term_days FROM partner p WHERE p.id = n.partner_id), 30)
       END AS invoice_date_due,
       CASE WHEN n.move_type <> 'entry' THEN t.untaxed ELSE 0 END::DECIMAL(16, 2) AS amount_untaxed,
       CASE WHEN n.move_type <> 'entry' THEN t.tax ELSE 0 END::DECIMAL(16, 2) AS amount_tax,
       CASE WHEN n.move_type <> 'entry' THEN t.untaxed + t.tax ELSE t.total_debit END
         ::DECIMAL(16, 2) AS amount_total,
       p.pay_date,
       n.created_at
FROM numbered n
JOIN journal j ON j.code = n.journal
JOIN totals t ON t.kind = n.kind AND t.seq = n.seq
LEFT JOIN paid p ON p.kind = n.kind AND p.seq = n.seq;

-- account_move_line in its final state; reconciled receivable/payable lines change at payment.
CREATE OR REPLACE TEMP TABLE account_move_line AS
WITH reconciled AS (
  SELECT m.kind, m.seq, m.pay_date, m.id AS move_id FROM account_move m WHERE m.pay_date IS NOT NULL
  UNION ALL
  SELECT 'payment_' || kind, seq, pay_date, id FROM account_move WHERE pay_date IS NOT NULL),
rec AS (
  -- the reconciliation is named after the invoice's move id
  SELECT r.kind, r.seq, r.pay_date, min(r.move_id) OVER (PARTITION BY
           CASE WHEN r.kind LIKE 'payment_%' THEN substr(r.kind, 9) ELSE r.kind END, r.seq) AS rec_id
  FROM reconciled r)
SELECT row_number() OVER (ORDER BY m.id, i.line_no)::BIGINT AS id,
       m.id AS move_id, m.name AS move_name, m.state AS parent_state, m.date, m.journal_id,
       1 AS company_id, a.id AS account_id,
       coalesce(m.partner_id, CASE WHEN i.kind = 'payroll' THEN 381 + i.line_no // 5 END) AS partner_id,
       i.label AS name, m.ref,
       greatest(i.balance, 0)::DECIMAL(16, 2) AS debit,
       greatest(-i.balance, 0)::DECIMAL(16, 2) AS credit,
       i.balance::DECIMAL(16, 2) AS balance,
       i.balance::DECIMAL(16, 2) AS amount_currency, 2 AS currency_id,
       CASE WHEN a.reconcile AND rec.rec_id IS NULL THEN i.balance ELSE 0 END::DECIMAL(16, 2)
         AS amount_residual,
       a.reconcile AND rec.rec_id IS NOT NULL AS reconciled,
       CASE WHEN a.reconcile THEN rec.rec_id END AS full_reconcile_id,
       CASE WHEN a.reconcile AND rec.rec_id IS NOT NULL THEN 'A' || rec.rec_id END AS matching_number,
       CASE WHEN i.display_type = 'payment_term' THEN m.invoice_date_due END AS date_maturity,
       i.display_type, i.product_id, i.quantity, i.price_unit,
       CASE WHEN i.display_type = 'tax' THEN CASE WHEN i.kind = 'out_invoice' THEN 1 ELSE 2 END END
         AS tax_line_id,
       NULL::INTEGER AS statement_line_id,
       2 AS create_uid, m.created_at AS create_date, 2 AS write_uid,
       CASE WHEN a.reconcile AND rec.rec_id IS NOT NULL
            THEN greatest(m.created_at, rec.pay_date::TIMESTAMP + INTERVAL 18 HOUR)
            ELSE m.created_at END AS write_date
FROM item i
JOIN account_move m ON m.kind = i.kind AND m.seq = i.seq
JOIN account a ON a.xml_id = i.account_xml
LEFT JOIN rec ON rec.kind = i.kind AND rec.seq = i.seq;

-- Every move must balance before anything is written.
SELECT CASE WHEN count(*) = 0 THEN 'ok: every move balances'
            ELSE error('unbalanced moves: ' || count(*)) END AS check_balanced
FROM (SELECT move_id FROM account_move_line GROUP BY move_id HAVING sum(balance) <> 0);

-- Exports -------------------------------------------------------------------------------------
COPY (SELECT id, code, name, account_type, reconcile, non_trade, 1 AS company_id,
             'l10n_generic_coa.' || xml_id AS xml_id, 1 AS create_uid,
             TIMESTAMP '2024-10-01 08:00:00' AS create_date, 1 AS write_uid,
             TIMESTAMP '2024-10-01 08:00:00' AS write_date
      FROM account ORDER BY id)
  TO '{{EXPORT_DIR}}/2026-10-20/account_account.csv' (HEADER, DELIMITER ',');

COPY (SELECT j.id, j.name, j.code, j.type, a.id AS default_account_id, 1 AS company_id,
             1 AS create_uid, TIMESTAMP '2024-10-01 08:00:00' AS create_date, 1 AS write_uid,
             TIMESTAMP '2024-10-01 08:00:00' AS write_date
      FROM journal j LEFT JOIN account a ON a.xml_id = j.default_account ORDER BY j.id)
  TO '{{EXPORT_DIR}}/2026-10-20/account_journal.csv' (HEADER, DELIMITER ',');

COPY (SELECT id, name, is_company, customer_rank, supplier_rank, email, city, country_code,
             CASE role WHEN 'employee' THEN NULL ELSE payment_term_days END AS payment_term_days,
             1 AS company_id, 1 AS create_uid, create_date, 1 AS write_uid, create_date AS write_date
      FROM partner ORDER BY id)
  TO '{{EXPORT_DIR}}/2026-10-20/res_partner.csv' (HEADER, DELIMITER ',');

-- account_move: state at each export. payment_state follows the payment date.
CREATE OR REPLACE TEMP MACRO move_as_of(at_ts) AS TABLE
SELECT id, name, ref, date, state, move_type, journal_id, company_id, currency_id, partner_id,
       invoice_date, invoice_date_due, amount_untaxed, amount_tax, amount_total,
       CASE WHEN move_type = 'entry' THEN 0
            WHEN pay_date IS NOT NULL AND pay_date::TIMESTAMP + INTERVAL 18 HOUR <= at_ts THEN 0
            ELSE amount_total END::DECIMAL(16, 2) AS amount_residual,
       CASE WHEN move_type = 'entry' OR state <> 'posted' THEN NULL
            WHEN pay_date IS NOT NULL AND pay_date::TIMESTAMP + INTERVAL 18 HOUR <= at_ts THEN 'paid'
            ELSE 'not_paid' END AS payment_state,
       2 AS create_uid, created_at AS create_date, 2 AS write_uid,
       CASE WHEN pay_date IS NOT NULL AND pay_date::TIMESTAMP + INTERVAL 18 HOUR <= at_ts
            THEN greatest(created_at, pay_date::TIMESTAMP + INTERVAL 18 HOUR)
            ELSE created_at END AS write_date
FROM account_move WHERE created_at < at_ts;

COPY (SELECT * FROM move_as_of((SELECT full_export_at FROM params)) ORDER BY id)
  TO '{{EXPORT_DIR}}/2026-10-20/account_move.csv' (HEADER, DELIMITER ',');
COPY (SELECT * FROM move_as_of((SELECT incremental_export_at FROM params))
      WHERE write_date >= (SELECT full_export_at FROM params) ORDER BY id)
  TO '{{EXPORT_DIR}}/2026-11-05/account_move.csv' (HEADER, DELIMITER ',');

-- Journal items: the full export shows lines reconciled later as still open.
COPY (SELECT * REPLACE (
        CASE WHEN write_date >= (SELECT full_export_at FROM params) THEN balance
             ELSE amount_residual END::DECIMAL(16, 2) AS amount_residual,
        CASE WHEN write_date >= (SELECT full_export_at FROM params) THEN false
             ELSE reconciled END AS reconciled,
        CASE WHEN write_date >= (SELECT full_export_at FROM params) THEN NULL
             ELSE full_reconcile_id END AS full_reconcile_id,
        CASE WHEN write_date >= (SELECT full_export_at FROM params) THEN NULL
             ELSE matching_number END AS matching_number,
        CASE WHEN write_date >= (SELECT full_export_at FROM params) THEN create_date
             ELSE write_date END AS write_date)
      FROM account_move_line WHERE create_date < (SELECT full_export_at FROM params) ORDER BY id)
  TO '{{EXPORT_DIR}}/2026-10-20/account_move_line.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT * FROM account_move_line WHERE write_date >= (SELECT full_export_at FROM params)
      ORDER BY id)
  TO '{{EXPORT_DIR}}/2026-11-05/account_move_line.parquet' (FORMAT parquet, COMPRESSION zstd);

SELECT (SELECT count(*) FROM account) AS accounts, (SELECT count(*) FROM partner) AS partners,
       (SELECT count(*) FROM account_move) AS moves,
       (SELECT count(*) FROM account_move_line) AS journal_items,
       (SELECT count(*) FROM account_move_line WHERE write_date >= (SELECT full_export_at FROM params)
          AND create_date < (SELECT full_export_at FROM params)) AS items_exported_twice;
