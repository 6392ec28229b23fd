#!/usr/bin/env bash
# What each feature of the invoke path costs, in instructions per request: the app with
# everything on, then with one feature switched off at a time (bench/feature-off.ts replaces it
# before the app starts), side by side with the floors, all in one run.
#
#   npm run build && DATABASE_URL=postgres://… bench/instructions-features.sh [N] [feature ...]
#
# Features: logs metrics correlation auth validation audit-row helmet refusal-audit body-checks
# agent-run (all by default). Takes about 1.5 minutes per measurement with N=1500 on an idle
# machine. SKIP_FLOORS=1 leaves the floors out; APP_NODE_ARGS is passed on to the app.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1500}
shift || true
FEATURES=("$@")
[ ${#FEATURES[@]} -gt 0 ] || FEATURES=(logs metrics correlation auth validation audit-row helmet refusal-audit body-checks agent-run)
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
[ -n "${SKIP_FLOORS:-}" ] || ONLY=express,nest bench/instructions.sh "$N" | tee -a "$OUT"
ONLY=app bench/instructions.sh "$N" | tee -a "$OUT"
for feature in "${FEATURES[@]}"; do
  BENCH_FEATURES_OFF=$feature APP_LABEL="app -$feature" APP_NODE_ARGS="${APP_NODE_ARGS:-} --import ./dist/bench/feature-off.js" ONLY=app \
    bench/instructions.sh "$N" | tee -a "$OUT"
done
echo
echo "| configuration | instructions/request | feature's cost |"
echo "|---|---:|---:|"
awk '
  { label = $0; sub(/ +[0-9]+ instructions\/request.*/, "", label) }
  /instructions\/request/ {
    for (i = 1; i <= NF; i++) if ($i == "instructions/request") n = $(i - 1) + 0
    if (label == "app") all = n
    if (label ~ /^app -/) printf "| %s | %.2f M | %.2f M |\n", "app without " substr(label, 6), n / 1e6, (all - n) / 1e6
    else printf "| %s | %.2f M | |\n", label, n / 1e6
  }' "$OUT"
