#!/usr/bin/env bash
# Instructions per invoke request, counted by valgrind's callgrind: unlike requests per second,
# the count hardly moves with whatever else the machine is doing, so small differences show.
# Measures the minimal Express app, bare Nest and the app (mock model, API key, audit row),
# each after a warm-up, with instrumentation on only while N requests are served.
#
#   npm run build && DATABASE_URL=postgres://… bench/instructions.sh [N]
#
# Needs valgrind and a PostgreSQL server (a database agentspec_bench_instr is created there).
# Extra environment for the app (say LOG_LEVEL=warn, to price one feature) is passed through.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1500}
WARM=${WARM:-2000}
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
KEY=bench-key-0123456789abcdef
BODY='{"input":"hello from the benchmark"}'
WORK=$(mktemp -d)
trap 'kill $(cat "$WORK"/pid 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
# callgrind_control finds the process through files named after these.
export USER=${USER:-root} LOGNAME=${LOGNAME:-root} HOST=127.0.0.1

admin_url=$DATABASE_URL
db_url="${DATABASE_URL%/*}/agentspec_bench_instr"
node -e "
const pg = require('pg'); const c = new pg.Client({ connectionString: process.argv[1] });
c.connect().then(() => c.query('DROP DATABASE IF EXISTS agentspec_bench_instr WITH (FORCE)'))
 .then(() => c.query('CREATE DATABASE agentspec_bench_instr')).then(() => c.end());" "$admin_url"

wait_for() { for _ in $(seq 600); do curl -sf "$1" >/dev/null && return 0; sleep 0.5; done; echo "$1 never answered" >&2; exit 1; }

# measure LABEL PORT PROBE_PATH HEADER -- COMMAND...
measure() {
  local label=$1 port=$2 probe=$3 header=$4; shift 5
  PORT=$port valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/cg.%p" "$@" >/dev/null 2>"$WORK/valgrind.log" &
  echo $! >"$WORK/pid"
  wait_for "http://127.0.0.1:$port$probe"
  local pid; pid=$(cat "$WORK/pid")
  local load=(node_modules/.bin/autocannon -c 10 -t 60 -m POST -H content-type=application/json -H "$header" -b "$BODY" "http://127.0.0.1:$port/v1/agents/bench-echo/invoke")
  "${load[@]}" -a "$WARM" >/dev/null 2>&1
  callgrind_control -i on "$pid" >/dev/null 2>&1
  "${load[@]}" -a "$N" -j 2>/dev/null >"$WORK/load.json"
  callgrind_control -i off "$pid" >/dev/null 2>&1
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local total; total=$(grep -h '^summary:\|^totals:' "$WORK"/cg.* | awk '{ s += $2 } END { print s }')
  rm -f "$WORK"/cg.*
  node -e "
const r = require(process.argv[1]); const n = r.requests.total;
console.log(process.argv[2].padEnd(18), String(Math.round(Number(process.argv[3]) / n)).padStart(10), 'instructions/request', '(' + n + ' requests, ' + r.non2xx + ' non-2xx)');
" "$WORK/load.json" "$label" "$total"
}

measure express 4181 /ping "x-unused: 1" -- node dist/bench/express-floor.js
measure "bare Nest" 4182 /ping "x-unused: 1" -- node dist/bench/nest-floor.js
# The pipeline worker polls the database on a timer: under valgrind its cost per request grows
# with the run's wall-clock time (2.16 M to 2.76 M per request for one build, depending on the
# machine's load), so it is off here; invoke does not use it.
DATABASE_URL=$db_url AGENTSPEC_API_KEY=$KEY AGENTSPEC_DEFINITIONS=bench/fixtures/bench.ias AGENTSPEC_PIPELINE_WORKER=false \
  measure app 4183 /livez "x-api-key: $KEY" -- node dist/src/main.js
