#!/usr/bin/env bash
# The month-end finance close on dew, end to end (`make demo`).
#
# Creates a dew project in $DEMO_DIR (default ./demo, recreated each run) from project/, starts a
# throwaway PostgreSQL 15 holding a generated Odoo 18-shaped company (odoo/odoo-db: about
# 1,000,000 journal items over 24 months), and runs the pipeline month_end_close for one period:
# extract through the odoo connector (incremental) into bronze and silver, staging models, the
# close controls (the quality gate), the gold finance marts. Then it prints the reports, the
# checklist, the run's per-step row counts and timings, the audit trail of one number, a blocked
# close (a draft entry appears in the period) and its fix, a rollback, and the commands to explore.
#
# Environment: DEMO_DIR (project folder), DEW (the binary, default build/release/dew),
# DEW_SHARED_DIR (the shared data folder, default ../shared beside the repo), DEMO_SCALE (size of
# the company, default 1.0 = about 1,000,000 journal items; 5.0 for a benchmark), DEMO_PERIOD
# (the month closed, default 2026-10, the last generated month), DEMO_KEEP_DB=1 (leave the Odoo
# database and the stand-ins running at the end; stop them with `odoo/odoo-db stop DIR` and
# `kill $(cat DIR/.standins/pids)`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/examples/finance-close"
DEW=${DEW:-"$ROOT/build/release/dew"}
export DEW_SHARED_DIR=${DEW_SHARED_DIR:-"$ROOT/../shared"}
DEMO_DIR=${DEMO_DIR:-./demo}
SCALE=${DEMO_SCALE:-1.0}
PERIOD=${DEMO_PERIOD:-2026-10}

[ -x "$DEW" ] || { echo "demo: $DEW not found; run 'make' first" >&2; exit 1; }

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
# A single value from a query (CSV output without its header).
scalar() { dew --format csv sql "$1" | sed -n 2p | tr -d '"\r'; }
# Runs month_end_close with the given --param arguments and --wait; sets RUN_ID and RUN_RC.
close_run() {
  local log
  log=$(mktemp)
  RUN_RC=0
  dew run month_end_close "$@" --wait 2>"$log" || RUN_RC=$?
  RUN_ID=$(sed -n 's/^dew: run \([^ ]*\) of pipeline.*/\1/p' "$log" | head -1)
  sed -e '/^dew: run .* of pipeline .* started$/d' "$log" >&2
  rm -f "$log"
  [ -n "$RUN_ID" ] || { echo "demo: the run did not start" >&2; exit 1; }
}
odoo_sql() { # runs SQL on the Odoo database as its administrator
  PGPASSWORD=$(cat "$DEMO_DIR/.odoo-pg/admin-password") psql -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$ODOO_PG_PORT" -U odoo_admin -d odoo "$@"
}

# --- 1. project --------------------------------------------------------------------------------
step "Create the project ($DEMO_DIR)"
if [ -e "$DEMO_DIR" ]; then
  # Only ever delete a folder this demo made.
  if [ -f "$DEMO_DIR/dew.yml" ] || [ -z "$(ls -A "$DEMO_DIR")" ]; then
    "$HERE/odoo/odoo-db" stop "$DEMO_DIR" || true
    rm -rf "$DEMO_DIR"
  else
    echo "demo: $DEMO_DIR exists and is not a dew project; set DEMO_DIR elsewhere" >&2
    exit 1
  fi
fi
"$DEW" init "$DEMO_DIR" >/dev/null
cp -R "$HERE/project/." "$DEMO_DIR/"
DEMO_DIR=$(cd "$DEMO_DIR" && pwd)
(cd "$DEMO_DIR" && find dew.yml connections pipelines models -type f | sort | sed 's/^/   /')
done_step

# --- 2. the source ------------------------------------------------------------------------------
step "Start the Odoo database (PostgreSQL 15, a generated company, scale $SCALE)"
note "chart of accounts from shared/data/odoo, journals, customers, vendors, employees;"
note "24 months of posted invoices, bills, payments, payroll and bank statement lines"
"$HERE/odoo/odoo-db" start "$DEMO_DIR" --scale "$SCALE" --end-month "$PERIOD" | sed 's/^/   /'
# ODOO_PG_HOST, ODOO_PG_PORT and ODOO_PG_PASSWORD, which connections/odoo.yml reads.
eval "$("$HERE/odoo/odoo-db" env "$DEMO_DIR")"
STANDINS="$DEMO_DIR/.standins"
mkdir -p "$STANDINS"
stop_all() { # DEMO_KEEP_DB=1 leaves the database and the stand-ins running, to explore
  [ -z "${DEMO_KEEP_DB:-}" ] || return 0
  [ -f "$STANDINS/pids" ] && kill $(cat "$STANDINS/pids") 2>/dev/null || true
  "$HERE/odoo/odoo-db" stop "$DEMO_DIR" >/dev/null 2>&1 || true
}
trap stop_all EXIT
done_step

step "Start the stand-ins for the finance team's mail server and Superset"
note "a local SMTP sink (python3 smtpd, printing what it receives) and a stand-in speaking"
note "Superset's REST API (standins/superset_standin.py); point dew.yml and the pipeline at yours"
SMTP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -W ignore -m smtpd -n -c DebuggingServer "127.0.0.1:$SMTP_PORT" >"$STANDINS/mail.log" 2>&1 &
echo $! >>"$STANDINS/pids"
python3 "$HERE/standins/superset_standin.py" "$STANDINS/superset.port" >"$STANDINS/superset.log" 2>&1 &
echo $! >>"$STANDINS/pids"
for _ in $(seq 50); do [ -s "$STANDINS/superset.port" ] && break; sleep 0.1; done
SUPERSET_PORT=$(cat "$STANDINS/superset.port")
sed -i "/^smtp:/,\$ s/^  port: .*/  port: $SMTP_PORT/" "$DEMO_DIR/dew.yml"
sed -i "s|url: http://127.0.0.1:[0-9]*|url: http://127.0.0.1:$SUPERSET_PORT|" \
  "$DEMO_DIR/pipelines/month_end_close.yml"
SUPERSET_PASSWORD=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
export SUPERSET_PASSWORD ODOO_PG_PASSWORD
echo "   SMTP sink on 127.0.0.1:$SMTP_PORT, Superset stand-in on 127.0.0.1:$SUPERSET_PORT"
done_step

# --- 3. the close -------------------------------------------------------------------------------
step "Run the month-end close for $PERIOD (pipeline month_end_close)"
note "extract (odoo connector, incremental) -> staging -> controls (the gate) -> gold marts"
close_run --param "period=$PERIOD"
CLOSE_SECONDS=$(elapsed "$STEP_START")
[ "$RUN_RC" -eq 0 ] || { echo "demo: the close failed; see: dew --project $DEMO_DIR run show $RUN_ID" >&2; exit 1; }
FIRST_RUN=$RUN_ID
echo "   run $RUN_ID succeeded in ${CLOSE_SECONDS}s"
done_step

step "What the run told the world: the e-mail and the Superset refresh"
note "(a data_ready event per gold table is recorded too, for webhooks/*.yml subscribers: dew events list)"
note "the e-mail the finance team received (SMTP sink)"
sed -n '/^---------- MESSAGE FOLLOWS/,/^------------ END MESSAGE/p' "$STANDINS/mail.log" |
  sed -e "s/^b'\(.*\)'$/\1/" -e '/^X-Peer/d' -e 's/^/   /' | head -20
note "Superset (stand-in)"
sed 's/^/   /' "$STANDINS/superset.log"
done_step

step "Per-step row counts and timings of run $FIRST_RUN"
dew run show "$FIRST_RUN"
done_step

step "Close checklist, $PERIOD"
sql "SELECT control_no AS no, control, description, checked, checked_unit AS of, failing, status
     FROM gold.gold_finance_close_checklist WHERE period = '$PERIOD' ORDER BY control_no"
done_step

step "Trial balance, $PERIOD"
sql "SELECT code, account, type, opening, debit, credit, closing FROM (
       SELECT 0 AS sort, account_code AS code, account_name AS account, account_type AS type,
              opening_balance AS opening, debit, credit, closing_balance AS closing
       FROM gold.gold_finance_trial_balance WHERE period = '$PERIOD'
       UNION ALL
       SELECT 1, '', 'Total', '', sum(opening_balance), sum(debit), sum(credit),
              sum(closing_balance)
       FROM gold.gold_finance_trial_balance WHERE period = '$PERIOD')
     ORDER BY sort, code"
done_step

step "Income statement, $PERIOD (month and year to date)"
sql "SELECT caption, amount_period AS month, amount_ytd AS year_to_date
     FROM gold.gold_finance_income_statement WHERE period = '$PERIOD' ORDER BY line_no"
done_step

step "Receivables aging and bank reconciliation, $PERIOD"
sql "SELECT count(*) AS customers, sum(days_0_30) AS days_0_30, sum(days_31_60) AS days_31_60,
            sum(days_61_90) AS days_61_90, sum(days_90_plus) AS days_90_plus,
            sum(total_open) AS total_open
     FROM gold.gold_finance_ar_aging WHERE period = '$PERIOD'"
sql "SELECT journal_code AS journal, statement_lines, matched_lines, unmatched_lines,
            statement_balance, ledger_balance, difference
     FROM gold.gold_finance_bank_reconciliation WHERE period = '$PERIOD'"
done_step

# --- 4. audit -----------------------------------------------------------------------------------
step "The audit trail of one number: the closing balance of the receivable account"
AR_CODE=$(scalar "SELECT account_code FROM gold.gold_finance_trial_balance
                  WHERE period = '$PERIOD' AND account_type = 'asset_receivable'
                  ORDER BY abs(closing_balance) DESC LIMIT 1")
note "the number"
sql "SELECT period, account_code, account_name, closing_balance
     FROM gold.gold_finance_trial_balance WHERE period = '$PERIOD' AND account_code = '$AR_CODE'"
note "which run wrote it (the commit of the gold table names the run), who started it, with which params"
dew table history gold.gold_finance_trial_balance --limit 1
dew run show "$FIRST_RUN" | sed -n '1,/params/p'
note "which source rows fed it: Odoo journal items by id and write_date (the sync cursor), and the sync run"
sql "SELECT count(*) AS source_lines, min(line_id) AS first_id, max(line_id) AS last_id,
            max(source_cursor) AS newest_write_date, count(DISTINCT sync_run_id) AS sync_runs,
            sum(balance) AS closing_balance
     FROM silver.int_finance_gl WHERE account_code = '$AR_CODE'"
done_step

# --- 5. a blocked close and its fix ------------------------------------------------------------
TB_VERSION=$(dew --format csv table history gold.gold_finance_trial_balance |
  awk -F, 'NR == 2 { gsub(/"/, "", $1); print $1; exit }')
step "A draft entry appears in $PERIOD: the close is blocked, gold is untouched"
odoo_sql -c "INSERT INTO account_move (name, date, state, move_type, journal_id, company_id, currency_id,
                                       create_date, write_date)
             SELECT 'MISC/DRAFT/0001', DATE '$PERIOD-28', 'draft', 'entry', id, company_id,
                    (SELECT currency_id FROM account_move LIMIT 1), now(), now()
             FROM account_journal WHERE type = 'general' LIMIT 1"
close_run --param "period=$PERIOD" || true
[ "$RUN_RC" -ne 0 ] || { echo "demo: a draft in the period did not block the close" >&2; exit 1; }
dew run show "$RUN_ID" | grep -E "error|close" | head -5 || true
AFTER=$(dew --format csv table history gold.gold_finance_trial_balance |
  awk -F, 'NR == 2 { gsub(/"/, "", $1); print $1; exit }')
echo "   gold.gold_finance_trial_balance still at version $AFTER (was $TB_VERSION)"
[ "$AFTER" = "$TB_VERSION" ] || { echo "demo: a blocked close changed gold" >&2; exit 1; }
note "finance cancels the stray draft in Odoo, and the close runs again"
odoo_sql -c "UPDATE account_move SET state = 'cancel', write_date = now() WHERE name = 'MISC/DRAFT/0001'"
close_run --param "period=$PERIOD"
[ "$RUN_RC" -eq 0 ] || { echo "demo: the close failed after the fix" >&2; exit 1; }
echo "   run $RUN_ID succeeded; checklist:"
sql "SELECT control, status FROM gold.gold_finance_close_checklist WHERE period = '$PERIOD'
     ORDER BY control_no"
done_step

# --- 6. rollback ---------------------------------------------------------------------------------
step "Roll back the last run (dew run rollback $RUN_ID)"
dew run rollback "$RUN_ID" 2>&1 | sed 's/^/   /' || note "dew run rollback is not available in this build"
dew table history gold.gold_finance_trial_balance --limit 3
done_step

step "The lake"
dew table list
done_step

printf '\n%sTotal: %ss%s  (the close itself: %ss; project in %s)\n' "$BOLD" "$(elapsed "$START")" \
  "$RESET" "$CLOSE_SECONDS" "$DEMO_DIR"
cat <<EOF

Explore further:
  dew --project $DEMO_DIR runs                                   # every run, who started it, status
  dew --project $DEMO_DIR run show $FIRST_RUN          # per-task rows and timings
  dew --project $DEMO_DIR table history gold.gold_finance_trial_balance
  dew --project $DEMO_DIR sql "SELECT * FROM gold.gold_finance_trial_balance VERSION AS OF 0 LIMIT 5"
  dew --project $DEMO_DIR sql "SELECT * FROM silver.int_finance_gl WHERE account_code = '$AR_CODE' LIMIT 5"
  # close another month: DEMO_KEEP_DB=1 make demo leaves the Odoo database running, then
  eval "\$($HERE/odoo/odoo-db env $DEMO_DIR)" && export ODOO_PG_PASSWORD &&
    dew --project $DEMO_DIR run month_end_close --param period=2026-09 --wait
EOF
