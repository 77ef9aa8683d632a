#!/usr/bin/env bash
# The month-end finance close on dew, end to end (`make demo`).
#
# Creates a dew project in $DEMO_DIR (default ./demo, recreated each run), generates an
# Odoo-shaped general ledger (about 1,000,000 journal items over 24 months) exported as Odoo
# would, loads it into bronze, builds silver (typed, deduplicated) and gold (monthly trial
# balance and income statement), prints the last closed month, the history of a gold table,
# a time-travel query, and a late correction that is then rolled back with `dew table restore`.
#
# Environment: DEMO_DIR (project folder), DEW (the binary, default build/release/dew),
# DEW_SHARED_DIR (the shared data folder, default ../shared beside the repo),
# DEMO_INVOICES / DEMO_BILLS (scale of the ledger, default 118000 / 20000).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/examples/finance-close"
DEW=${DEW:-"$ROOT/build/release/dew"}
SHARED=${DEW_SHARED_DIR:-"$ROOT/../shared"}
COA_CSV="$SHARED/data/odoo/account.account-generic_coa.csv"
DEMO_DIR=${DEMO_DIR:-./demo}
INVOICES=${DEMO_INVOICES:-118000}
BILLS=${DEMO_BILLS:-20000}

[ -x "$DEW" ] || { echo "demo: $DEW not found; run 'make' first" >&2; exit 1; }
[ -f "$COA_CSV" ] || { echo "demo: chart of accounts not found at $COA_CSV" >&2; exit 1; }

# --- output helpers ----------------------------------------------------------------------------
if [ -t 1 ]; then BOLD=$'\e[1m'; DIM=$'\e[2m'; RESET=$'\e[0m'; else BOLD=""; DIM=""; RESET=""; fi
START=$EPOCHREALTIME
STEP_START=$START
STEP_NO=0

elapsed() { # seconds since $1, one decimal
  awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}
step() {
  STEP_NO=$((STEP_NO + 1))
  STEP_START=$EPOCHREALTIME
  printf '\n%s== %d. %s%s\n' "$BOLD" "$STEP_NO" "$1" "$RESET"
}
done_step() {
  printf '%s   (%ss)%s\n' "$DIM" "$(elapsed "$STEP_START")" "$RESET"
}
note() { printf '%s-- %s%s\n' "$DIM" "$*" "$RESET"; }

dew() { "$DEW" --project "$DEMO_DIR" "$@"; }
sql() { dew sql "$@"; }
# Runs a SQL file of this example, with {{…}} placeholders filled in; the rendered copy stays in
# the project's sql/ folder to be read or re-run.
sql_file() {
  local rendered
  rendered="$DEMO_DIR/sql/$1"
  mkdir -p "$(dirname "$rendered")"
  sed -e "s|{{EXPORT_DIR}}|$EXPORT_DIR|g" -e "s|{{COA_CSV}}|$COA_CSV|g" \
    -e "s|{{INVOICES}}|$INVOICES|g" -e "s|{{BILLS}}|$BILLS|g" "$HERE/sql/$1" >"$rendered"
  sql -f "$rendered"
}
# A single value from a query (CSV output without its header).
scalar() { dew --format csv sql "$1" | sed -n 2p | tr -d '"\r'; }
# The latest version of a lake table, from `dew table history` (newest first).
latest_version() {
  dew --format csv table history "$1" | awk -F, 'NR == 2 { gsub(/"/, "", $1); print $1; exit }'
}

# --- 1. project --------------------------------------------------------------------------------
step "Create the project ($DEMO_DIR)"
if [ -e "$DEMO_DIR" ]; then
  # Only ever delete a folder this demo made.
  if [ -f "$DEMO_DIR/dew.yml" ] || [ -z "$(ls -A "$DEMO_DIR")" ]; then
    rm -rf "$DEMO_DIR"
  else
    echo "demo: $DEMO_DIR exists and is not a dew project; set DEMO_DIR elsewhere" >&2
    exit 1
  fi
fi
"$DEW" init "$DEMO_DIR"
DEMO_DIR=$(cd "$DEMO_DIR" && pwd)
EXPORT_DIR="$DEMO_DIR/exports/odoo"
mkdir -p "$EXPORT_DIR/2026-10-20" "$EXPORT_DIR/2026-11-05"
done_step

# --- 2. source data ----------------------------------------------------------------------------
step "Generate the Odoo export (chart of accounts, journals, partners, journal entries)"
note "24 months of posted entries: customer invoices and credit notes, vendor bills, payments,"
note "payroll, rent, bank fees, tax returns; every entry balances. Two export batches:"
note "a full export on 2026-10-20 and an incremental one on 2026-11-05."
sql_file generate_odoo_export.sql
(cd "$EXPORT_DIR" && find . -type f -printf '%P %s\n' | sort |
  awk '{ if ($2 < 1e6) printf "   exports/odoo/%-36s %7.1f kB\n", $1, $2 / 1e3;
         else printf "   exports/odoo/%-36s %7.1f MB\n", $1, $2 / 1e6 }')
done_step

# --- 3. bronze ---------------------------------------------------------------------------------
step "Load the export into bronze (dew load, with lineage columns)"
for batch in 2026-10-20 2026-11-05; do
  for f in "$EXPORT_DIR/$batch"/*; do
    entity=$(basename "$f"); entity=${entity%%.*}
    t0=$EPOCHREALTIME
    dew load "$f" "bronze.raw_odoo_$entity" >/dev/null
    printf '   %-12s %-26s -> bronze.raw_odoo_%-18s (%ss)\n' "$batch" "$(basename "$f")" "$entity" \
      "$(elapsed "$t0")"
  done
done
sql "SELECT 'bronze.raw_odoo_account_move_line' AS table_name, count(*) AS rows,
            count(DISTINCT _run_id) AS loads, min(_ingest_date) AS first_ingest
     FROM bronze.raw_odoo_account_move_line"
done_step

# --- 4. silver ---------------------------------------------------------------------------------
step "Build silver: typed, deduplicated by id (latest write_date wins)"
for entity in account_account account_journal res_partner account_move account_move_line; do
  t0=$EPOCHREALTIME
  sql_file "silver/odoo_$entity.sql" >/dev/null
  printf '   silver.odoo_%-20s (%ss)\n' "$entity" "$(elapsed "$t0")"
done
sql "SELECT (SELECT count(*) FROM bronze.raw_odoo_account_move_line) AS bronze_items,
            (SELECT count(*) FROM silver.odoo_account_move_line) AS silver_items,
            (SELECT count(*) FROM bronze.raw_odoo_account_move_line)
              - (SELECT count(*) FROM silver.odoo_account_move_line) AS duplicates_removed,
            (SELECT count(*) FROM silver.odoo_account_move_line WHERE reconciled) AS reconciled_items"
done_step

# --- 5. gold -----------------------------------------------------------------------------------
step "Build gold: monthly trial balance and income statement"
for t in gold_finance_trial_balance gold_finance_income_statement; do
  t0=$EPOCHREALTIME
  sql_file "gold/$t.sql" >/dev/null
  printf '   gold.%-32s (%ss)\n' "$t" "$(elapsed "$t0")"
done
note "check: in every month, openings, debits - credits and closings each sum to zero"
unbalanced=$(scalar "SELECT count(*) FROM (
    SELECT period FROM gold.gold_finance_trial_balance GROUP BY period
    HAVING sum(opening_balance) <> 0 OR sum(debit) <> sum(credit) OR sum(closing_balance) <> 0)")
if [ "$unbalanced" != "0" ]; then
  echo "demo: the trial balance does not balance in $unbalanced month(s)" >&2
  exit 1
fi
echo "   ok: $(scalar "SELECT count(DISTINCT period) FROM gold.gold_finance_trial_balance") months balance"
done_step

CLOSED=$(scalar "SELECT max(period) FROM gold.gold_finance_trial_balance")

# --- 6. reports --------------------------------------------------------------------------------
step "Trial balance, $CLOSED (the last closed month)"
sql "SELECT code, account, type, opening, debit, credit, closing FROM (
       SELECT 0 AS sort, account_code AS code, account_name AS account, account_type AS type,
              opening_balance AS opening, debit, credit, closing_balance AS closing
       FROM gold.gold_finance_trial_balance WHERE period = '$CLOSED'
       UNION ALL
       SELECT 1, '', 'Total', '', sum(opening_balance), sum(debit), sum(credit),
              sum(closing_balance)
       FROM gold.gold_finance_trial_balance WHERE period = '$CLOSED')
     ORDER BY sort, code"
done_step

step "Income statement, $CLOSED, with the two months before"
sql "PIVOT (SELECT section, account_type, period, amount FROM gold.gold_finance_income_statement
            WHERE period >= strftime(DATE '$CLOSED-01' - INTERVAL 2 MONTH, '%Y-%m'))
     ON period USING sum(amount) GROUP BY section, account_type
     ORDER BY CASE section WHEN 'revenue' THEN 1 WHEN 'expenses' THEN 2 ELSE 3 END, account_type"
done_step

step "History of gold.gold_finance_income_statement"
dew table history gold.gold_finance_income_statement
done_step

# --- 7. correction, time travel, restore ---------------------------------------------------------
SILVER_BEFORE=$(latest_version silver.odoo_account_move_line)
TB_BEFORE=$(latest_version gold.gold_finance_trial_balance)
IS_BEFORE=$(latest_version gold.gold_finance_income_statement)

step "A late correction to $CLOSED: MERGE into silver, rebuild gold"
note "accrue a late consulting bill (new entry) and reclassify one expense to R&D (update)"
sql_file correction/late_adjustment.sql
for t in gold_finance_trial_balance gold_finance_income_statement; do
  sql_file "gold/$t.sql" >/dev/null
done
dew table history silver.odoo_account_move_line --limit 2
done_step

step "Time travel: $CLOSED before (VERSION AS OF $TB_BEFORE) and after the correction"
sql "SELECT account_code AS code, coalesce(a.account_name, b.account_name) AS account,
            coalesce(b.closing_balance, 0) AS closing_before,
            coalesce(a.closing_balance, 0) AS closing_after,
            coalesce(a.closing_balance, 0) - coalesce(b.closing_balance, 0) AS change
     FROM (SELECT * FROM gold.gold_finance_trial_balance VERSION AS OF $TB_BEFORE
           WHERE period = '$CLOSED') AS b
     FULL JOIN (SELECT * FROM gold.gold_finance_trial_balance WHERE period = '$CLOSED') AS a
       USING (account_code)
     WHERE a.closing_balance IS DISTINCT FROM b.closing_balance
     ORDER BY code"
sql "SELECT 'version $IS_BEFORE (before)' AS income_statement, amount AS net_income
     FROM gold.gold_finance_income_statement VERSION AS OF $IS_BEFORE
     WHERE period = '$CLOSED' AND section = 'net_income'
     UNION ALL
     SELECT 'latest (after)', amount FROM gold.gold_finance_income_statement
     WHERE period = '$CLOSED' AND section = 'net_income'"
done_step

step "Roll the correction back with dew table restore"
dew table restore silver.odoo_account_move_line --version "$SILVER_BEFORE"
dew table restore gold.gold_finance_trial_balance --version "$TB_BEFORE"
dew table restore gold.gold_finance_income_statement --version "$IS_BEFORE"
sql "SELECT 'restored' AS income_statement, amount AS net_income
     FROM gold.gold_finance_income_statement
     WHERE period = '$CLOSED' AND section = 'net_income'"
differences=$(scalar "SELECT count(*) FROM (
    (SELECT * FROM gold.gold_finance_trial_balance
     EXCEPT ALL SELECT * FROM gold.gold_finance_trial_balance VERSION AS OF $TB_BEFORE)
    UNION ALL
    (SELECT * FROM gold.gold_finance_trial_balance VERSION AS OF $TB_BEFORE
     EXCEPT ALL SELECT * FROM gold.gold_finance_trial_balance))")
[ "$differences" = "0" ] || { echo "demo: restore left $differences differing rows" >&2; exit 1; }
echo "   ok: gold.gold_finance_trial_balance equals version $TB_BEFORE again"
dew table history gold.gold_finance_income_statement
done_step

step "Vacuum (dry run: files older than the 7-day retention that no version needs)"
dew table vacuum silver.odoo_account_move_line --dry-run
done_step

step "The lake"
dew table list
done_step

printf '\n%sTotal: %ss%s  (project in %s)\n' "$BOLD" "$(elapsed "$START")" "$RESET" "$DEMO_DIR"
