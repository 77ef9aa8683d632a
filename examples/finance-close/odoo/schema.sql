-- Odoo 18's accounting tables as its ORM creates them in PostgreSQL: the stored columns of the
-- models the finance close reads (and the few they point at), with Odoo's column types:
--   ids           serial (int4), many2one columns int4
--   Monetary      numeric (unconstrained, so dew's PostgreSQL source lands it as exact text)
--   Float         numeric when the field has digits (quantity, price_unit), else float8
--   Char/Selection varchar; Text text; Boolean bool; Date date
--   Datetime      timestamp without time zone (UTC, as Odoo writes it)
--   translatable Char (account.account.name, account.journal.name): jsonb {"en_US": "…"}
-- Differences from a real Odoo 18 database, on purpose: no res_currency/res_country/account_tax
-- tables (their ids are plain integers here: currency 2 is USD as in Odoo's base data, taxes 1
-- and 2 are the 15% sales and purchase taxes), and account_account keeps `code` and `company_id`
-- as plain columns as Odoo 17 stored them (Odoo 18 moved them to the company-dependent jsonb
-- `code_store` and the many2many `company_ids`); account_move_line.account_id gets no foreign
-- key, so tests can plant a line with an unknown account.
--
-- Foreign keys and indexes are created by generate.sql after the data is loaded (it also drops
-- and re-adds the primary keys of the big tables around the load); run this file on an empty
-- database, then generate.sql.

CREATE TABLE res_company (
  id serial PRIMARY KEY,
  name varchar NOT NULL,
  partner_id int4 NOT NULL,
  currency_id int4 NOT NULL,
  sequence int4,
  active bool,
  create_uid int4, create_date timestamp, write_uid int4, write_date timestamp
);

CREATE TABLE res_partner (
  id serial PRIMARY KEY,
  name varchar,
  complete_name varchar,
  type varchar,
  is_company bool,
  active bool,
  company_id int4,
  parent_id int4,
  commercial_partner_id int4,
  ref varchar,
  email varchar,
  phone varchar,
  street varchar,
  city varchar,
  zip varchar,
  country_id int4,
  vat varchar,
  lang varchar,
  employee bool,
  customer_rank int4,
  supplier_rank int4,
  create_uid int4, create_date timestamp, write_uid int4, write_date timestamp
);

CREATE TABLE account_account (
  id serial PRIMARY KEY,
  name jsonb NOT NULL,
  code varchar(64) NOT NULL,
  account_type varchar NOT NULL,
  internal_group varchar,
  reconcile bool,
  non_trade bool,
  active bool,
  currency_id int4,
  company_id int4,
  note text,
  create_uid int4, create_date timestamp, write_uid int4, write_date timestamp
);

CREATE TABLE account_journal (
  id serial PRIMARY KEY,
  name jsonb NOT NULL,
  code varchar(5) NOT NULL,
  type varchar NOT NULL,
  active bool,
  sequence int4,
  company_id int4 NOT NULL,
  currency_id int4,
  default_account_id int4,
  suspense_account_id int4,
  create_uid int4, create_date timestamp, write_uid int4, write_date timestamp
);

CREATE TABLE account_move (
  id serial PRIMARY KEY,
  name varchar,
  ref varchar,
  date date NOT NULL,
  state varchar NOT NULL,
  move_type varchar NOT NULL,
  journal_id int4 NOT NULL,
  company_id int4,
  currency_id int4 NOT NULL,
  partner_id int4,
  commercial_partner_id int4,
  statement_line_id int4,
  sequence_prefix varchar,
  sequence_number int4,
  invoice_date date,
  invoice_date_due date,
  payment_reference varchar,
  amount_untaxed numeric,
  amount_tax numeric,
  amount_total numeric,
  amount_residual numeric,
  amount_untaxed_signed numeric,
  amount_tax_signed numeric,
  amount_total_signed numeric,
  amount_residual_signed numeric,
  payment_state varchar,
  auto_post varchar,
  checked bool,
  create_uid int4, create_date timestamp, write_uid int4, write_date timestamp
);

CREATE TABLE account_full_reconcile (
  id serial PRIMARY KEY,
  exchange_move_id int4,
  create_uid int4, create_date timestamp, write_uid int4, write_date timestamp
);

CREATE TABLE account_move_line (
  id serial PRIMARY KEY,
  move_id int4 NOT NULL,
  journal_id int4,
  company_id int4,
  company_currency_id int4,
  move_name varchar,
  parent_state varchar,
  date date,
  invoice_date date,
  ref varchar,
  sequence int4,
  account_id int4,
  name varchar,
  debit numeric,
  credit numeric,
  balance numeric,
  amount_currency numeric,
  currency_id int4 NOT NULL,
  amount_residual numeric,
  amount_residual_currency numeric,
  reconciled bool,
  full_reconcile_id int4,
  matching_number varchar,
  partner_id int4,
  date_maturity date,
  display_type varchar NOT NULL,
  product_id int4,
  quantity numeric,
  price_unit numeric,
  discount numeric,
  price_subtotal numeric,
  price_total numeric,
  tax_line_id int4,
  tax_base_amount numeric,
  statement_line_id int4,
  statement_id int4,
  payment_id int4,
  create_uid int4, create_date timestamp, write_uid int4, write_date timestamp
);

CREATE TABLE account_partial_reconcile (
  id serial PRIMARY KEY,
  debit_move_id int4 NOT NULL,
  credit_move_id int4 NOT NULL,
  full_reconcile_id int4,
  exchange_move_id int4,
  debit_currency_id int4,
  credit_currency_id int4,
  company_id int4,
  amount numeric,
  debit_amount_currency numeric,
  credit_amount_currency numeric,
  max_date date,
  create_uid int4, create_date timestamp, write_uid int4, write_date timestamp
);

CREATE TABLE account_bank_statement (
  id serial PRIMARY KEY,
  name varchar,
  reference varchar,
  date date,
  first_line_index varchar,
  balance_start numeric,
  balance_end numeric,
  balance_end_real numeric,
  company_id int4,
  journal_id int4,
  is_complete bool,
  create_uid int4, create_date timestamp, write_uid int4, write_date timestamp
);

-- A statement line is an account.move by delegation (_inherits): its date, state and name live
-- on the account_move row `move_id` points at; the table holds only the line's own fields.
-- (running_balance is computed on the fly by Odoo and not stored.)
CREATE TABLE account_bank_statement_line (
  id serial PRIMARY KEY,
  move_id int4 NOT NULL,
  journal_id int4 NOT NULL,
  company_id int4 NOT NULL,
  statement_id int4,
  sequence int4,
  partner_id int4,
  account_number varchar,
  partner_name varchar,
  transaction_type varchar,
  payment_ref varchar,
  currency_id int4,
  amount numeric,
  foreign_currency_id int4,
  amount_currency numeric,
  amount_residual float8,
  internal_index varchar,
  is_reconciled bool,
  transaction_details jsonb,
  create_uid int4, create_date timestamp, write_uid int4, write_date timestamp
);
