-- Generates an internally consistent Odoo-shaped company into the tables of schema.sql, with
-- set-based SQL only (generate_series, INSERT … SELECT; no row loops, no COPY of data).
--
--   psql -v ON_ERROR_STOP=1 -1 -v coa_csv=/path/account.account-generic_coa.csv \
--        [-v months=24] [-v scale=1.0] [-v end_month=2026-10] -f schema.sql -f generate.sql
--
-- months      accounting months generated, ending with end_month (the last closed month)
-- scale       1.0 is about 1,000,000 account_move_line rows over 24 months; every volume
--             (documents, partners, employees, rent, capital) is proportional to it, and the
--             documents also to `months`
-- end_month   YYYY-MM of the last generated month
-- coa_csv     Odoo's generic chart of accounts template (../shared/data/odoo/)
--
-- What it makes: the company; the chart of accounts (the template plus the bank, cash and
-- undistributed-profits accounts Odoo adds when it creates a company); journals INV (sale), BILL
-- (purchase), BNK1 (bank), SAL (payroll) and MISC (general); customers, vendors and employees;
-- customer invoices and credit notes (product, 15% tax, receivable lines) and vendor bills and
-- refunds (product, tax, payable); payments as bank statement lines reconciled with them, fully
-- (account_full_reconcile) or in part (amount_residual, payment_state 'partial'); monthly rent,
-- payroll and salary payments, payroll-tax and sales-tax settlements, bank fees, the opening
-- capital and December dividends; one bank statement per month whose balances equal the bank
-- account's balance in the ledger. Every move balances; every in-period move is posted; a few
-- draft invoices are dated in the month after end_month (as a live Odoo has). write_date is when
-- the record last changed: an invoice and its receivable line change when they are paid.
--
-- Deterministic: every random choice is a hash of the record's sequence number and a salt
-- (hashint8extended), so two runs with the same variables give identical tables whatever plan
-- or parallelism PostgreSQL picks (setseed/random() would depend on row order).

\if :{?coa_csv}
\else
DO $$ BEGIN RAISE EXCEPTION 'generate.sql: set -v coa_csv=PATH (Odoo''s account.account-generic_coa.csv)'; END $$;
\endif
\if :{?months}
\else
\set months 24
\endif
\if :{?scale}
\else
\set scale 1.0
\endif
\if :{?end_month}
\else
\set end_month 2026-10
\endif

-- Bulk load: the big tables get their primary keys back after the data.
ALTER TABLE account_move DROP CONSTRAINT account_move_pkey;
ALTER TABLE account_move_line DROP CONSTRAINT account_move_line_pkey;
ALTER TABLE account_partial_reconcile DROP CONSTRAINT account_partial_reconcile_pkey;
ALTER TABLE account_bank_statement_line DROP CONSTRAINT account_bank_statement_line_pkey;
SET work_mem = '256MB';
SET maintenance_work_mem = '256MB';

-- A uniform hash in [0, 2^63) and a uniform number in [0, 1) of (sequence number, salt).
CREATE FUNCTION pg_temp.gen_hash(a bigint, salt bigint) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT hashint8extended(a, salt) & 9223372036854775807 $$;
CREATE FUNCTION pg_temp.gen_u(a bigint, salt bigint) RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (pg_temp.gen_hash(a, salt) % 1000003) / 1000003.0 $$;

CREATE TEMP TABLE gen_params AS
WITH p AS (
  SELECT :'months'::int AS months, :'scale'::numeric AS scale,
         (:'end_month' || '-01')::date AS end_first)
SELECT months, scale,
       (end_first - (months - 1) * interval '1 month')::date AS period_start,
       (end_first + interval '1 month' - interval '1 day')::date AS period_end,
       -- partner ids: 1 is the company; then customers, vendors (the first is the landlord),
       -- employees
       greatest(5, round(300 * scale))::int AS n_customers,
       greatest(3, round(80 * scale))::int AS n_vendors,
       greatest(2, round(40 * scale))::int AS n_employees,
       -- documents per month, so that scale 1.0 over 24 months gives about 1,000,000 lines
       greatest(3, round(4917 * scale * months))::int AS n_invoices,
       greatest(2, round(833 * scale * months))::int AS n_bills,
       round(greatest(1000, 24000 * scale), 2) AS rent,
       round(greatest(100000, 2500000 * scale), 2) AS capital,
       round(greatest(10000, 400000 * scale), 2) AS dividend
FROM p;
DO $$
BEGIN
  IF (SELECT months < 1 OR scale <= 0 FROM gen_params) THEN
    RAISE EXCEPTION 'generate.sql: months must be >= 1 and scale > 0';
  END IF;
END $$;

CREATE TEMP TABLE gen_month AS
SELECT m, (period_start + m * interval '1 month')::date AS first_day,
       (period_start + (m + 1) * interval '1 month' - interval '1 day')::date AS last_day
FROM gen_params, generate_series(0, months - 1) m;

-- Company, chart of accounts, journals ---------------------------------------------------------
INSERT INTO res_company (id, name, partner_id, currency_id, sequence, active, create_uid,
                         create_date, write_uid, write_date)
SELECT 1, 'My Company (San Francisco)', 1, 2, 10, true, 1, t, 1, t
FROM (SELECT (period_start - 30)::timestamp + interval '8 hours' AS t FROM gen_params) s;

CREATE TEMP TABLE gen_coa (xml_id text, name text, code text, account_type text, tag_ids text,
                           reconcile text, non_trade text);
-- \copy does not expand psql variables; the path reaches it through the environment.
\setenv GEN_COA_CSV :coa_csv
\copy gen_coa FROM PROGRAM 'cat "$GEN_COA_CSV"' WITH (FORMAT csv, HEADER true)
INSERT INTO gen_coa VALUES
  ('bank', 'Bank', '101401', 'asset_cash', '', 'False', 'False'),
  ('cash', 'Cash', '101501', 'asset_cash', '', 'False', 'False'),
  ('bank_suspense', 'Bank Suspense Account', '101402', 'asset_current', '', 'False', 'False'),
  ('undistributed_profits', 'Undistributed Profits/Losses', '999999', 'equity_unaffected', '',
   'False', 'False');

INSERT INTO account_account (id, name, code, account_type, internal_group, reconcile, non_trade,
                             active, company_id, create_uid, create_date, write_uid, write_date)
SELECT row_number() OVER (ORDER BY code), jsonb_build_object('en_US', name), code, account_type,
       CASE WHEN account_type LIKE 'asset%' THEN 'asset'
            WHEN account_type LIKE 'liability%' THEN 'liability'
            WHEN account_type LIKE 'equity%' THEN 'equity'
            WHEN account_type LIKE 'income%' THEN 'income'
            WHEN account_type LIKE 'expense%' THEN 'expense' ELSE 'off' END,
       reconcile = 'True', non_trade = 'True', true, 1, 1, t, 1, t
FROM gen_coa, (SELECT (period_start - 30)::timestamp + interval '8 hours' AS t FROM gen_params) s;

-- account xml id → id, for the lines below
CREATE TEMP TABLE gen_account AS
SELECT c.xml_id, a.id, a.reconcile FROM gen_coa c JOIN account_account a ON a.code = c.code;
DO $$
BEGIN
  IF (SELECT count(*) FROM gen_account WHERE xml_id IN
        ('receivable', 'payable', 'income', 'tax_received', 'tax_paid', 'tax_payable',
         'cost_of_goods_sold', 'expense', 'expense_rent', 'expense_salary', 'expense_finance',
         'salary_payable', 'employee_payroll_taxes', 'employer_payroll_taxes', 'capital',
         'dividends', 'bank')) <> 17 THEN
    RAISE EXCEPTION 'generate.sql: the chart of accounts lacks accounts the generator posts to';
  END IF;
END $$;

INSERT INTO account_journal (id, name, code, type, active, sequence, company_id, currency_id,
                             default_account_id, suspense_account_id, create_uid, create_date,
                             write_uid, write_date)
SELECT j.id, jsonb_build_object('en_US', j.name), j.code, j.type, true, j.id * 10, 1, NULL,
       (SELECT id FROM gen_account WHERE xml_id = j.default_account),
       (SELECT id FROM gen_account WHERE xml_id = j.suspense_account), 1, t, 1, t
FROM (VALUES (1, 'Customer Invoices', 'INV', 'sale', 'income', NULL),
             (2, 'Vendor Bills', 'BILL', 'purchase', 'expense', NULL),
             (3, 'Bank', 'BNK1', 'bank', 'bank', 'bank_suspense'),
             (4, 'Salaries', 'SAL', 'general', 'expense_salary', NULL),
             (5, 'Miscellaneous Operations', 'MISC', 'general', NULL, NULL))
       AS j(id, name, code, type, default_account, suspense_account),
     (SELECT (period_start - 30)::timestamp + interval '8 hours' AS t FROM gen_params) s;

-- Partners -------------------------------------------------------------------------------------
CREATE TEMP TABLE gen_partner AS
SELECT id,
       CASE WHEN id = 1 THEN 'company'
            WHEN id <= 1 + n_customers THEN 'customer'
            WHEN id <= 1 + n_customers + n_vendors THEN 'vendor' ELSE 'employee' END AS role,
       (ARRAY[15, 30, 30, 45, 60])[1 + pg_temp.gen_hash(id, 11) % 5]::int AS terms
FROM gen_params, generate_series(1, 1 + n_customers + n_vendors + n_employees) id;

INSERT INTO res_partner (id, name, complete_name, type, is_company, active, company_id,
                         commercial_partner_id, ref, email, city, zip, country_id, lang, employee,
                         customer_rank, supplier_rank, create_uid, create_date, write_uid,
                         write_date)
SELECT id, name, name, 'contact', role <> 'employee', true, NULL, id,
       CASE role WHEN 'customer' THEN 'C' || lpad(id::text, 5, '0')
                 WHEN 'vendor' THEN 'V' || lpad(id::text, 5, '0') END,
       CASE WHEN role <> 'company' THEN lower(replace(name, ' ', '.')) || '@example.com' END,
       (ARRAY['San Francisco', 'Chicago', 'Toronto', 'London', 'Berlin', 'Lyon', 'Brussels',
              'Rotterdam', 'Madrid', 'Milan'])[1 + pg_temp.gen_hash(id, 12) % 10],
       lpad((pg_temp.gen_hash(id, 13) % 90000 + 10000)::text, 5, '0'),
       -- Odoo's base data ids: US 233, CA 38, GB 231, DE 57, FR 75, BE 21, NL 165, ES 68, IT 109
       (ARRAY[233, 233, 38, 231, 57, 75, 21, 165, 68, 109])[1 + pg_temp.gen_hash(id, 12) % 10],
       'en_US', role = 'employee', (role = 'customer')::int, (role = 'vendor')::int,
       1, created, 1, created
FROM (
  SELECT p.id, p.role,
         CASE WHEN p.role = 'company' THEN 'My Company (San Francisco)'
              WHEN p.role = 'employee' THEN
                (ARRAY['Alex', 'Maria', 'Chen', 'Fatima', 'Lars', 'Aiko', 'Diego', 'Priya', 'Tom',
                       'Nadia'])[1 + pg_temp.gen_hash(p.id, 14) % 10] || ' ' ||
                (ARRAY['Martin', 'Garcia', 'Nguyen', 'Okafor', 'Schmidt', 'Rossi', 'Dubois',
                       'Kowalski', 'Silva', 'Tanaka'])[1 + pg_temp.gen_hash(p.id, 15) % 10]
              ELSE
                (ARRAY['Acme', 'Northwind', 'Blue Harbor', 'Redwood', 'Silverline', 'Granite',
                       'Evergreen', 'Summit', 'Lakeside', 'Ironbridge', 'Sunrise', 'Maple', 'Orion',
                       'Atlas', 'Cedar', 'Falcon', 'Harbor', 'Juniper', 'Keystone',
                       'Meridian'])[1 + pg_temp.gen_hash(p.id, 16) % 20] || ' ' ||
                (ARRAY['Trading', 'Logistics', 'Foods', 'Systems', 'Consulting', 'Retail',
                       'Industries', 'Labs', 'Supplies', 'Textiles', 'Energy',
                       'Media'])[1 + pg_temp.gen_hash(p.id, 17) % 12] || ' ' ||
                (ARRAY['Inc', 'LLC', 'Ltd', 'GmbH', 'SA', 'BV', 'SARL',
                       'Corp'])[1 + pg_temp.gen_hash(p.id, 18) % 8] || ' ' || p.id
         END AS name,
         (g.period_start - 30)::timestamp + interval '9 hours'
           + (pg_temp.gen_hash(p.id, 19) % 20000) * interval '1 minute' AS created
  FROM gen_partner p, gen_params g) s;

-- Moves and their lines, before ids: a move is keyed by mkey = kind * 10^12 + seq ------------
-- kinds: 1 customer invoice/credit note, 2 vendor bill/refund, 3 their payment, 4 rent bill,
-- 5 rent payment, 6 payroll, 7 salary payment, 8 payroll-tax payment, 9 bank fees, 10 sales-tax
-- settlement, 11 sales-tax payment, 12 opening capital, 13 dividend.
CREATE TEMP TABLE gen_move (
  mkey bigint PRIMARY KEY, date date, journal text, move_type text, partner_id int, state text,
  ref text, created timestamp, payment_ref text, terms int);
CREATE TEMP TABLE gen_line (
  mkey bigint, line_no int, account text, partner_id int, balance numeric, display_type text,
  label text, product_id int, quantity numeric, price_unit numeric, tax_line_id int,
  rec_key bigint);

-- Customer invoices and vendor bills: spread evenly over the period, one in 50 (80) a credit
-- note (refund); a few drafts dated in the month after the period.
INSERT INTO gen_move (mkey, date, journal, move_type, partner_id, state, ref, created, terms)
SELECT d.mkey, d.date, d.journal, d.move_type, d.partner_id, d.state, d.ref,
       d.date + interval '8 hours' + (pg_temp.gen_hash(d.mkey, 21) % 600) * interval '1 minute',
       p.terms
FROM (
  SELECT 1 * 1000000000000 + i AS mkey, 'INV' AS journal,
         CASE WHEN pg_temp.gen_hash(i, 22) % 50 = 0 THEN 'out_refund' ELSE 'out_invoice' END
           AS move_type,
         2 + (pg_temp.gen_hash(i, 23) % g.n_customers)::int AS partner_id, NULL AS ref,
         CASE WHEN i <= g.n_invoices
              THEN g.period_start + floor(pg_temp.gen_u(i, 24) * (g.period_end - g.period_start + 1))::int
              ELSE g.period_end + 1 + (pg_temp.gen_hash(i, 24) % 20)::int END AS date,
         CASE WHEN i <= g.n_invoices THEN 'posted' ELSE 'draft' END AS state
  FROM gen_params g, generate_series(1, g.n_invoices + greatest(2, g.n_invoices / g.months / 200)) i
  UNION ALL
  SELECT 2 * 1000000000000 + i, 'BILL',
         CASE WHEN pg_temp.gen_hash(i, 25) % 80 = 0 THEN 'in_refund' ELSE 'in_invoice' END,
         -- vendor 1 is the landlord, billed by the rent entries below
         2 + g.n_customers + 1 + (pg_temp.gen_hash(i, 26) % (g.n_vendors - 1))::int,
         'V' || (100000 + pg_temp.gen_hash(i, 27) % 900000),
         g.period_start + floor(pg_temp.gen_u(i, 28) * (g.period_end - g.period_start + 1))::int,
         'posted'
  FROM gen_params g, generate_series(1, g.n_bills) i) d
JOIN gen_partner p ON p.id = d.partner_id;

-- Product lines: 1-6 per invoice (products 1-250), 1-4 per bill (products 1001-1120, booked to
-- cost of goods sold or an expense account by product). balance > 0 is a debit.
INSERT INTO gen_line (mkey, line_no, account, partner_id, balance, display_type, label, product_id,
                      quantity, price_unit)
SELECT mkey, k, account, partner_id, sign * round(quantity * price_unit, 2), 'product',
       'Product ' || product_id, product_id, quantity, price_unit
FROM (
  SELECT m.mkey, k, m.partner_id, pr.product_id,
         CASE WHEN m.journal = 'INV' THEN 'income'
              ELSE (ARRAY['cost_of_goods_sold', 'cost_of_goods_sold', 'cost_of_goods_sold',
                          'expense', 'expense', 'expense_sales', 'expense_rd',
                          'expense_invest'])[1 + pg_temp.gen_hash(pr.product_id, 31) % 8] END
           AS account,
         (1 + pg_temp.gen_hash(m.mkey * 8 + k, 32) % CASE WHEN m.journal = 'INV' THEN 10 ELSE 20 END)
           ::numeric AS quantity,
         CASE WHEN m.journal = 'INV' THEN 2 + (pg_temp.gen_hash(pr.product_id, 33) % 7800) / 100.0
              ELSE 9 + (pg_temp.gen_hash(pr.product_id, 33) % 26000) / 100.0 END AS price_unit,
         CASE m.move_type WHEN 'out_invoice' THEN -1 WHEN 'in_refund' THEN -1 ELSE 1 END AS sign
  FROM gen_move m
  CROSS JOIN LATERAL generate_series(1, CASE WHEN m.journal = 'INV'
                                             THEN 1 + (pg_temp.gen_hash(m.mkey, 34) % 6)::int
                                             ELSE 1 + (pg_temp.gen_hash(m.mkey, 34) % 4)::int END) k
  CROSS JOIN LATERAL (SELECT CASE WHEN m.journal = 'INV'
                                  THEN 1 + (pg_temp.gen_hash(m.mkey * 8 + k, 35) % 250)::int
                                  ELSE 1001 + (pg_temp.gen_hash(m.mkey * 8 + k, 35) % 120)::int
                             END AS product_id) pr
  WHERE m.mkey < 3 * 1000000000000) s;

-- Tax (15% of the untaxed amount) and the receivable/payable line that balances the document.
INSERT INTO gen_line (mkey, line_no, account, partner_id, balance, display_type, label,
                      tax_line_id, rec_key)
SELECT t.mkey, n.line_no, n.account, m.partner_id, n.balance, n.display_type, n.label,
       n.tax_line_id, CASE WHEN n.display_type = 'payment_term' THEN t.mkey END
FROM (SELECT mkey, sum(balance) AS untaxed, round(sum(balance) * 0.15, 2) AS tax
      FROM gen_line GROUP BY mkey) t
JOIN gen_move m USING (mkey)
CROSS JOIN LATERAL (VALUES
  (100, CASE WHEN m.journal = 'INV' THEN 'tax_received' ELSE 'tax_paid' END, t.tax, 'tax',
   'Tax 15%', CASE WHEN m.journal = 'INV' THEN 1 ELSE 2 END),
  (101, CASE WHEN m.journal = 'INV' THEN 'receivable' ELSE 'payable' END, -(t.untaxed + t.tax),
   'payment_term', coalesce(m.ref, ''), NULL)) n(line_no, account, balance, display_type, label,
                                                 tax_line_id);

-- Monthly rent from the landlord (vendor bill without tax) and its payment five days later.
INSERT INTO gen_move (mkey, date, journal, move_type, partner_id, state, ref, created, terms)
SELECT 4 * 1000000000000 + mo.m, mo.first_day, 'BILL', 'in_invoice', 2 + g.n_customers, 'posted',
       'RENT-' || to_char(mo.first_day, 'YYYY-MM'), mo.first_day + interval '9 hours', 5
FROM gen_month mo, gen_params g;
INSERT INTO gen_line (mkey, line_no, account, partner_id, balance, display_type, label, quantity,
                      price_unit, rec_key)
SELECT 4 * 1000000000000 + mo.m, n.line_no, n.account, 2 + g.n_customers, n.balance,
       n.display_type, n.label, n.quantity, n.price_unit,
       CASE WHEN n.line_no = 101 THEN 4 * 1000000000000 + mo.m END
FROM gen_month mo, gen_params g
CROSS JOIN LATERAL (VALUES (1, 'expense_rent', g.rent, 'product', 'Office rent', 1, g.rent),
                           (101, 'payable', -g.rent, 'payment_term', '', NULL, NULL))
  n(line_no, account, balance, display_type, label, quantity, price_unit);

-- Payments: a document is paid, through the bank, around its due date (terms -10 .. +14 days);
-- one in 40 never; one in 10 only half; whatever falls after the period is still open. Rent is
-- paid on the 5th. The payment is a bank statement line whose move holds the bank line and the
-- receivable/payable counterpart, reconciled with the document's line (rec_key).
CREATE TEMP TABLE gen_payment AS
SELECT 3 * 1000000000000 + (d.mkey % 1000000000000) * 4 + d.mkey / 1000000000000 AS mkey,
       d.mkey AS doc_mkey, d.partner_id, d.journal,
       CASE WHEN d.mkey >= 4 * 1000000000000 THEN d.date + 4
            ELSE d.date + d.terms - 10 + (pg_temp.gen_hash(d.mkey, 41) % 25)::int END AS date,
       CASE WHEN d.mkey < 4 * 1000000000000 AND pg_temp.gen_hash(d.mkey, 42) % 10 = 0
            THEN round(l.balance * 0.5, 2) ELSE l.balance END AS doc_part,
       l.account
FROM gen_move d
JOIN gen_line l ON l.mkey = d.mkey AND l.line_no = 101
WHERE d.state = 'posted' AND (d.mkey >= 4 * 1000000000000 OR pg_temp.gen_hash(d.mkey, 43) % 40 <> 0);
DELETE FROM gen_payment WHERE date > (SELECT period_end FROM gen_params);

INSERT INTO gen_move (mkey, date, journal, move_type, partner_id, state, created, payment_ref)
SELECT p.mkey, p.date, 'BNK1', 'entry', p.partner_id, 'posted',
       p.date + interval '7 hours' + (pg_temp.gen_hash(p.mkey, 44) % 600) * interval '1 minute',
       CASE WHEN d.journal = 'INV' THEN 'Customer payment ' ELSE 'Vendor payment ' END
         || coalesce(d.ref, d.mkey::text)
FROM gen_payment p JOIN gen_move d ON d.mkey = p.doc_mkey;
INSERT INTO gen_line (mkey, line_no, account, partner_id, balance, display_type, label, rec_key)
SELECT mkey, 1, 'bank', partner_id, doc_part, 'product', 'Payment', NULL FROM gen_payment
UNION ALL
SELECT mkey, 2, account, partner_id, -doc_part, 'payment_term', 'Payment', doc_mkey
FROM gen_payment;

-- Payroll: one entry per month (gross salary and employer taxes as expenses, employee and
-- employer taxes and net pay owed), each employee's net pay paid the same day, and last month's
-- payroll taxes paid on the 15th.
CREATE TEMP TABLE gen_employee AS
SELECT id AS partner_id, row_number() OVER (ORDER BY id) AS e,
       round((3500 + pg_temp.gen_hash(id, 51) % 6000)::numeric, 2) AS gross
FROM gen_partner WHERE role = 'employee';

INSERT INTO gen_move (mkey, date, journal, move_type, partner_id, state, ref, created, payment_ref)
SELECT 6 * 1000000000000 + m, last_day, 'SAL', 'entry', NULL::int, 'posted',
       'Payslips ' || to_char(first_day, 'FMMonth YYYY'), last_day + interval '16 hours', NULL
FROM gen_month
UNION ALL
SELECT 7 * 1000000000000 + m * 1000000 + e, last_day, 'BNK1', 'entry', partner_id, 'posted', NULL,
       last_day + interval '17 hours' + e * interval '1 second',
       'Salary ' || to_char(first_day, 'YYYY-MM')
FROM gen_month, gen_employee
UNION ALL
SELECT 8 * 1000000000000 + m, first_day + 14, 'BNK1', 'entry', NULL::int, 'posted', NULL,
       first_day + 14 + interval '11 hours', 'Payroll taxes ' || to_char(first_day - 1, 'YYYY-MM')
FROM gen_month WHERE m > 0;

INSERT INTO gen_line (mkey, line_no, account, partner_id, balance, display_type, label, rec_key)
SELECT 6 * 1000000000000 + m, e * 5 + n.k, n.account, partner_id, n.balance, 'product', n.label,
       CASE WHEN n.k = 4 THEN 7 * 1000000000000 + m * 1000000 + e END
FROM gen_month, gen_employee
CROSS JOIN LATERAL (VALUES
  (0, 'expense_salary', gross, 'Gross salary'),
  (1, 'expense_salary', round(gross * 0.0765, 2), 'Employer payroll taxes'),
  (2, 'employee_payroll_taxes', -round(gross * 0.22, 2), 'Employee payroll taxes'),
  (3, 'employer_payroll_taxes', -round(gross * 0.0765, 2), 'Employer payroll taxes'),
  (4, 'salary_payable', -(gross - round(gross * 0.22, 2)), 'Net salary')) n(k, account, balance, label)
UNION ALL
SELECT 7 * 1000000000000 + m * 1000000 + e, n.k, n.account, partner_id, n.balance, 'product',
       'Salary payment', CASE WHEN n.k = 2 THEN 7 * 1000000000000 + m * 1000000 + e END
FROM gen_month, gen_employee
CROSS JOIN LATERAL (VALUES (1, 'bank', -(gross - round(gross * 0.22, 2))),
                           (2, 'salary_payable', gross - round(gross * 0.22, 2))) n(k, account, balance)
UNION ALL
SELECT 8 * 1000000000000 + m, n.k, n.account, NULL::int, n.balance, 'product', 'Payroll taxes', NULL
FROM gen_month
CROSS JOIN LATERAL (SELECT sum(round(gross * 0.22, 2)) AS employee_tax,
                           sum(round(gross * 0.0765, 2)) AS employer_tax FROM gen_employee) t
CROSS JOIN LATERAL (VALUES (1, 'bank', -(t.employee_tax + t.employer_tax)),
                           (2, 'employee_payroll_taxes', t.employee_tax),
                           (3, 'employer_payroll_taxes', t.employer_tax)) n(k, account, balance)
WHERE m > 0;

-- Bank fees, the opening capital, December dividends.
INSERT INTO gen_move (mkey, date, journal, move_type, partner_id, state, ref, created, payment_ref)
SELECT 9 * 1000000000000 + m, last_day, 'BNK1', 'entry', NULL::int, 'posted', NULL,
       last_day + interval '18 hours', 'Bank fees ' || to_char(first_day, 'YYYY-MM')
FROM gen_month
UNION ALL
SELECT 12 * 1000000000000, period_start, 'BNK1', 'entry', 1, 'posted', 'Opening capital',
       period_start + interval '7 hours', 'Capital contribution'
FROM gen_params
UNION ALL
SELECT 13 * 1000000000000 + m, last_day, 'BNK1', 'entry', 1, 'posted', NULL,
       last_day + interval '15 hours', 'Dividend ' || extract(year FROM first_day)
FROM gen_month WHERE extract(month FROM first_day) = 12;

INSERT INTO gen_line (mkey, line_no, account, partner_id, balance, display_type, label)
SELECT 9 * 1000000000000 + m, n.k, n.account, NULL::int, n.balance, 'product', 'Bank fees'
FROM gen_month
CROSS JOIN LATERAL (SELECT round((120 + pg_temp.gen_hash(m, 61) % 380)::numeric, 2) AS fee) f
CROSS JOIN LATERAL (VALUES (1, 'bank', -f.fee), (2, 'expense_finance', f.fee)) n(k, account, balance)
UNION ALL
SELECT 12 * 1000000000000, n.k, n.account, 1, n.balance, 'product', 'Capital contribution'
FROM gen_params g
CROSS JOIN LATERAL (VALUES (1, 'bank', g.capital), (2, 'capital', -g.capital)) n(k, account, balance)
UNION ALL
SELECT 13 * 1000000000000 + m, n.k, n.account, 1, n.balance, 'product', 'Dividend'
FROM gen_month, gen_params g
CROSS JOIN LATERAL (VALUES (1, 'bank', -g.dividend), (2, 'dividends', g.dividend)) n(k, account, balance)
WHERE extract(month FROM first_day) = 12;

-- Sales tax: on the 10th, last month's collected and deductible tax is moved to tax payable
-- (MISC), and paid on the 20th.
CREATE TEMP TABLE gen_tax_month AS
SELECT mo.m, coalesce(t.received, 0) AS received, coalesce(t.paid, 0) AS paid
FROM gen_month mo
JOIN gen_month prev ON prev.m = mo.m - 1
LEFT JOIN (
  SELECT date_trunc('month', d.date)::date AS month,
         sum(l.balance) FILTER (WHERE l.account = 'tax_received') AS received,
         sum(l.balance) FILTER (WHERE l.account = 'tax_paid') AS paid
  FROM gen_line l JOIN gen_move d USING (mkey)
  WHERE l.mkey < 3 * 1000000000000 AND l.line_no = 100 AND d.state = 'posted'
  GROUP BY 1) t ON t.month = prev.first_day;

INSERT INTO gen_move (mkey, date, journal, move_type, partner_id, state, ref, created, payment_ref)
SELECT 10 * 1000000000000 + m, first_day + 9, 'MISC', 'entry', NULL::int, 'posted',
       'Tax return ' || to_char(first_day - 1, 'YYYY-MM'), first_day + 9 + interval '12 hours', NULL
FROM gen_month JOIN gen_tax_month USING (m)
UNION ALL
SELECT 11 * 1000000000000 + m, first_day + 19, 'BNK1', 'entry', NULL::int, 'posted', NULL,
       first_day + 19 + interval '12 hours', 'Tax payment ' || to_char(first_day - 1, 'YYYY-MM')
FROM gen_month JOIN gen_tax_month USING (m);

INSERT INTO gen_line (mkey, line_no, account, partner_id, balance, display_type, label)
SELECT 10 * 1000000000000 + m, n.k, n.account, NULL::int, n.balance, 'product', 'Tax return'
FROM gen_tax_month
CROSS JOIN LATERAL (VALUES (1, 'tax_received', -received), (2, 'tax_paid', -paid),
                           (3, 'tax_payable', received + paid)) n(k, account, balance)
UNION ALL
SELECT 11 * 1000000000000 + m, n.k, n.account, NULL::int, n.balance, 'product', 'Tax payment'
FROM gen_tax_month
CROSS JOIN LATERAL (VALUES (1, 'bank', received + paid), (2, 'tax_payable', -(received + paid)))
  n(k, account, balance);

-- Ids, names and reconciliation ----------------------------------------------------------------
-- Moves get ids in creation order and names per journal prefix and year as Odoo numbers them
-- (INV/2026/00042; credit notes RINV, refunds RBILL; drafts '/').
CREATE TEMP TABLE gen_move_id AS
SELECT m.*, row_number() OVER (ORDER BY m.created, m.mkey)::int AS id,
       CASE WHEN m.move_type IN ('out_refund', 'in_refund') THEN 'R' ELSE '' END || m.journal
         || '/' || extract(year FROM m.date) || '/' AS prefix,
       (SELECT id FROM account_journal j WHERE j.code = m.journal) AS journal_id
FROM gen_move m;
CREATE TEMP TABLE gen_move_named AS
SELECT m.*,
       CASE WHEN m.state = 'posted'
            THEN row_number() OVER (PARTITION BY m.prefix, m.state = 'posted' ORDER BY m.date, m.id)
       END::int AS sequence_number
FROM gen_move_id m;

-- Reconciliation groups: the lines sharing a rec_key, when there are two (a document's line
-- and its payment's). Full when they sum to zero, else partial.
CREATE TEMP TABLE gen_rec AS
WITH g AS (
  SELECT rec_key, sum(balance) AS remaining, max(m.created) AS reconciled_at,
         max(m.date) AS max_date
  FROM gen_line l JOIN gen_move m USING (mkey)
  WHERE rec_key IS NOT NULL
  GROUP BY rec_key HAVING count(*) = 2),
numbered AS (
  SELECT g.*, row_number() OVER (ORDER BY rec_key)::int AS partial_id,
         CASE WHEN remaining = 0
              THEN count(*) FILTER (WHERE remaining = 0) OVER (ORDER BY rec_key) END::int AS full_id
  FROM g)
-- matching_number as Odoo 17+ writes it: the full reconcile's id, or 'P' and the partial's id
SELECT numbered.*, coalesce(full_id::text, 'P' || partial_id) AS matching_number FROM numbered;

-- Bank statement lines: one per bank move, numbered by date; one statement per month.
CREATE TEMP TABLE gen_st_line AS
SELECT m.id AS move_id, m.date, m.mkey,
       row_number() OVER (ORDER BY m.date, m.id)::int AS id,
       dense_rank() OVER (ORDER BY date_trunc('month', m.date))::int AS statement_id
FROM gen_move_named m WHERE m.journal = 'BNK1' AND m.state = 'posted';

INSERT INTO account_move_line (
  id, move_id, journal_id, company_id, company_currency_id, move_name, parent_state, date,
  invoice_date, ref, sequence, account_id, name, debit, credit, balance, amount_currency,
  currency_id, amount_residual, amount_residual_currency, reconciled, full_reconcile_id,
  matching_number, partner_id, date_maturity, display_type, product_id, quantity, price_unit,
  discount, price_subtotal, price_total, tax_line_id, tax_base_amount, statement_line_id,
  statement_id, create_uid, create_date, write_uid, write_date)
SELECT row_number() OVER (ORDER BY m.id, l.line_no)::int, m.id, m.journal_id, 1, 2,
       CASE WHEN m.state = 'posted' THEN m.prefix || lpad(m.sequence_number::text, 5, '0') ELSE '/' END,
       m.state, m.date, CASE WHEN m.move_type <> 'entry' THEN m.date END, m.ref,
       l.line_no, a.id, l.label, greatest(l.balance, 0), greatest(-l.balance, 0), l.balance,
       l.balance, 2,
       r.residual, r.residual, r.reconciled, rec.full_id,
       rec.matching_number,
       l.partner_id,
       CASE WHEN l.display_type = 'payment_term' THEN m.date + coalesce(m.terms, 0) END,
       l.display_type, l.product_id, l.quantity, l.price_unit,
       CASE WHEN l.display_type = 'product' AND l.product_id IS NOT NULL THEN 0 END,
       CASE WHEN l.display_type = 'product' AND m.move_type <> 'entry' THEN abs(l.balance) END,
       CASE WHEN l.display_type = 'product' AND m.move_type <> 'entry'
            THEN abs(l.balance) + CASE WHEN m.mkey < 3 * 1000000000000
                                       THEN round(abs(l.balance) * 0.15, 2) ELSE 0 END END,
       l.tax_line_id, CASE WHEN l.display_type = 'tax' THEN round(abs(l.balance) / 0.15, 2) END,
       st.id, st.statement_id, 2, m.created, 2,
       CASE WHEN rec.rec_key IS NOT NULL THEN greatest(m.created, rec.reconciled_at) ELSE m.created END
FROM gen_line l
JOIN gen_move_named m USING (mkey)
JOIN gen_account a ON a.xml_id = l.account
LEFT JOIN gen_rec rec ON rec.rec_key = l.rec_key
LEFT JOIN gen_st_line st ON st.mkey = m.mkey
CROSS JOIN LATERAL (
  SELECT CASE WHEN NOT a.reconcile THEN 0
              WHEN rec.rec_key IS NULL THEN l.balance
              WHEN sign(l.balance) = sign(rec.remaining) THEN rec.remaining
              ELSE 0 END AS residual) r0
CROSS JOIN LATERAL (SELECT r0.residual, a.reconcile AND r0.residual = 0 AS reconciled) r;

INSERT INTO account_full_reconcile (id, create_uid, create_date, write_uid, write_date)
SELECT full_id, 2, reconciled_at, 2, reconciled_at FROM gen_rec WHERE full_id IS NOT NULL;

INSERT INTO account_partial_reconcile (id, debit_move_id, credit_move_id, full_reconcile_id,
  debit_currency_id, credit_currency_id, company_id, amount, debit_amount_currency,
  credit_amount_currency, max_date, create_uid, create_date, write_uid, write_date)
SELECT r.partial_id, x.debit_id, x.credit_id, r.full_id, 2, 2, 1, x.amount, x.amount, x.amount,
       r.max_date, 2, r.reconciled_at, 2, r.reconciled_at
FROM (SELECT matching_number, min(id) FILTER (WHERE balance > 0) AS debit_id,
             min(id) FILTER (WHERE balance < 0) AS credit_id,
             least(max(balance), -min(balance)) AS amount
      FROM account_move_line WHERE matching_number IS NOT NULL GROUP BY matching_number) x
JOIN gen_rec r ON r.matching_number = x.matching_number;

INSERT INTO account_move (
  id, name, ref, date, state, move_type, journal_id, company_id, currency_id, partner_id,
  commercial_partner_id, statement_line_id, sequence_prefix, sequence_number, invoice_date,
  invoice_date_due, payment_reference, amount_untaxed, amount_tax, amount_total, amount_residual,
  amount_untaxed_signed, amount_tax_signed, amount_total_signed, amount_residual_signed,
  payment_state, auto_post, checked, create_uid, create_date, write_uid, write_date)
SELECT m.id, CASE WHEN m.state = 'posted' THEN m.prefix || lpad(m.sequence_number::text, 5, '0')
                  ELSE '/' END,
       m.ref, m.date, m.state, m.move_type, m.journal_id, 1, 2, m.partner_id, m.partner_id, st.id,
       m.prefix, m.sequence_number,
       CASE WHEN m.move_type <> 'entry' THEN m.date END,
       CASE WHEN m.move_type <> 'entry' THEN m.date + m.terms END,
       CASE WHEN m.move_type <> 'entry' THEN m.ref END,
       t.untaxed, t.tax, t.untaxed + t.tax, t.residual,
       s.sign * t.untaxed, s.sign * t.tax, s.sign * (t.untaxed + t.tax), s.sign * t.residual,
       CASE WHEN m.move_type = 'entry' OR m.state <> 'posted' THEN 'not_paid'
            WHEN t.residual = 0 THEN 'paid'
            WHEN t.residual < t.untaxed + t.tax THEN 'partial' ELSE 'not_paid' END,
       'no', m.state = 'posted', 2, m.created, 2, t.write_date
FROM gen_move_named m
LEFT JOIN gen_st_line st ON st.mkey = m.mkey
CROSS JOIN LATERAL (
  SELECT CASE m.move_type WHEN 'out_invoice' THEN 1 WHEN 'in_refund' THEN 1
                          WHEN 'entry' THEN 1 ELSE -1 END AS sign) s
JOIN (
  SELECT l.move_id,
         CASE WHEN max(mm.move_type) = 'entry' THEN sum(l.debit)
              ELSE abs(sum(l.balance) FILTER (WHERE l.display_type = 'product')) END AS untaxed,
         coalesce(abs(sum(l.balance) FILTER (WHERE l.display_type = 'tax')), 0) AS tax,
         CASE WHEN max(mm.move_type) = 'entry' THEN 0
              ELSE abs(sum(l.amount_residual) FILTER (WHERE l.display_type = 'payment_term')) END
           AS residual,
         max(l.write_date) AS write_date
  FROM account_move_line l JOIN gen_move_named mm ON mm.id = l.move_id
  GROUP BY l.move_id) t ON t.move_id = m.id;

INSERT INTO account_bank_statement_line (
  id, move_id, journal_id, company_id, statement_id, sequence, partner_id, payment_ref,
  currency_id, amount, amount_residual, internal_index, is_reconciled, create_uid, create_date,
  write_uid, write_date)
SELECT st.id, st.move_id, m.journal_id, 1, st.statement_id, 1, m.partner_id, m.payment_ref, 2,
       l.balance, 0,
       to_char(st.date, 'YYYYMMDD') || lpad((2147483647 - 1)::text, 10, '0')
         || lpad(st.id::text, 10, '0'),
       true, 2, m.created, 2, m.created
FROM gen_st_line st
JOIN gen_move_named m ON m.mkey = st.mkey
JOIN account_move_line l ON l.move_id = st.move_id
  AND l.account_id = (SELECT id FROM gen_account WHERE xml_id = 'bank');

-- Statements: balance_start is the bank balance before the month's first line, balance_end
-- (and the real one, as the bank printed it) after its last.
INSERT INTO account_bank_statement (id, name, reference, date, first_line_index, balance_start,
  balance_end, balance_end_real, company_id, journal_id, is_complete, create_uid, create_date,
  write_uid, write_date)
SELECT statement_id, 'BNK1 Statement ' || to_char(last_date, 'YYYY-MM'), NULL, last_date,
       first_index, closing - total, closing, closing, 1, journal_id, true, 2, created, 2, created
FROM (
  SELECT s.statement_id, max(m.date) AS last_date, min(s.internal_index) AS first_index,
         sum(s.amount) AS total, max(s.journal_id) AS journal_id,
         max(s.create_date) AS created,
         sum(sum(s.amount)) OVER (ORDER BY s.statement_id) AS closing
  FROM account_bank_statement_line s JOIN account_move m ON m.id = s.move_id
  GROUP BY s.statement_id) x;

-- Sequences continue after the generated ids, as if the ORM had inserted them.
SELECT setval('res_company_id_seq', (SELECT max(id) FROM res_company)),
       setval('res_partner_id_seq', (SELECT max(id) FROM res_partner)),
       setval('account_account_id_seq', (SELECT max(id) FROM account_account)),
       setval('account_journal_id_seq', (SELECT max(id) FROM account_journal)),
       setval('account_move_id_seq', (SELECT max(id) FROM account_move)),
       setval('account_move_line_id_seq', (SELECT max(id) FROM account_move_line)),
       setval('account_full_reconcile_id_seq', greatest(1, (SELECT max(id) FROM account_full_reconcile))),
       setval('account_partial_reconcile_id_seq', greatest(1, (SELECT max(id) FROM account_partial_reconcile))),
       setval('account_bank_statement_id_seq', greatest(1, (SELECT max(id) FROM account_bank_statement))),
       setval('account_bank_statement_line_id_seq', greatest(1, (SELECT max(id) FROM account_bank_statement_line)))
\gset gen_ignored_

-- Keys, foreign keys and indexes, after the data (as Odoo declares them) ------------------------
ALTER TABLE account_move ADD PRIMARY KEY (id);
ALTER TABLE account_move_line ADD PRIMARY KEY (id);
ALTER TABLE account_partial_reconcile ADD PRIMARY KEY (id);
ALTER TABLE account_bank_statement_line ADD PRIMARY KEY (id);
ALTER TABLE res_company ADD FOREIGN KEY (partner_id) REFERENCES res_partner;
ALTER TABLE account_journal ADD FOREIGN KEY (default_account_id) REFERENCES account_account,
  ADD FOREIGN KEY (suspense_account_id) REFERENCES account_account;
ALTER TABLE account_move ADD FOREIGN KEY (journal_id) REFERENCES account_journal,
  ADD FOREIGN KEY (partner_id) REFERENCES res_partner,
  ADD FOREIGN KEY (statement_line_id) REFERENCES account_bank_statement_line;
-- account_move_line.account_id has no foreign key here (Odoo declares one), so a test can plant
-- a line whose account is unknown: the close's controls must catch what a broken replica shows.
ALTER TABLE account_move_line ADD FOREIGN KEY (move_id) REFERENCES account_move ON DELETE CASCADE,
  ADD FOREIGN KEY (partner_id) REFERENCES res_partner,
  ADD FOREIGN KEY (journal_id) REFERENCES account_journal,
  ADD FOREIGN KEY (full_reconcile_id) REFERENCES account_full_reconcile,
  ADD FOREIGN KEY (statement_line_id) REFERENCES account_bank_statement_line;
ALTER TABLE account_partial_reconcile
  ADD FOREIGN KEY (debit_move_id) REFERENCES account_move_line ON DELETE CASCADE,
  ADD FOREIGN KEY (credit_move_id) REFERENCES account_move_line ON DELETE CASCADE;
ALTER TABLE account_bank_statement_line ADD FOREIGN KEY (move_id) REFERENCES account_move ON DELETE CASCADE,
  ADD FOREIGN KEY (statement_id) REFERENCES account_bank_statement;
CREATE INDEX account_move_line_move_id_index ON account_move_line (move_id);
CREATE INDEX account_move_line_account_id_index ON account_move_line (account_id);
CREATE INDEX account_move_line_partner_id_index ON account_move_line (partner_id);
CREATE INDEX account_move_line_date_index ON account_move_line (date);
CREATE INDEX account_move_date_index ON account_move (date);
CREATE INDEX account_move_journal_id_index ON account_move (journal_id);
CREATE INDEX account_bank_statement_line_move_id_index ON account_bank_statement_line (move_id);

-- Every move must balance; the whole load fails (and, under psql -1, leaves nothing) if not.
DO $$
DECLARE bad int;
BEGIN
  SELECT count(*) INTO bad FROM (
    SELECT move_id FROM account_move_line GROUP BY move_id HAVING sum(debit) <> sum(credit)) u;
  IF bad > 0 THEN RAISE EXCEPTION 'generate.sql: % unbalanced moves', bad; END IF;
END $$;
