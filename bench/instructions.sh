#!/usr/bin/env bash
# Instructions per invoke request, counted by valgrind's callgrind: unlike requests per second,
# the count hardly moves with whatever else the machine is doing, so small differences show.
# Measures the minimal Express app, bare Nest and the app (mock model, API key, audit row),
# each after a warm-up, with instrumentation on only while N requests are served, less what the
# server's timers execute meanwhile (measured over IDLE seconds without load just before).
#
#   npm run build && DATABASE_URL=postgres://… bench/instructions.sh [N]
#
# Needs valgrind and a PostgreSQL server (a database agentspec_bench_instr_<pid> is created there, then dropped).
# Extra environment for the app (say LOG_LEVEL=warn, to price one feature) is passed through;
# ONLY=express,nest,app,turn picks servers (turn: the app answering session turns on one
# session and one connection, only when named), APP_NODE_ARGS adds node options to the app (see
# bench/instructions-features.sh), PROFILE_DIR keeps the callgrind files for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1500}
WARM=${WARM:-2000}
IDLE=${IDLE:-10}
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server}"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
KEY=bench-key-0123456789abcdef
BODY='{"input":"hello from the benchmark"}'
WORK=$(mktemp -d)
trap 'kill $(cat "$WORK"/pid 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"; [ -z "${db_name:-}" ] || database drop' EXIT
# callgrind_control finds the process through files named after these.
export USER=${USER:-root} LOGNAME=${LOGNAME:-root} HOST=127.0.0.1

admin_url=$DATABASE_URL
# Its own database and ports, so that two runs at once (say, two builds) cannot meet.
db_name=agentspec_bench_instr_$$
db_url="${DATABASE_URL%/*}/$db_name"
database() {
  node -e "
const pg = require('pg'); const c = new pg.Client({ connectionString: process.argv[1] });
c.connect().then(() => c.query('DROP DATABASE IF EXISTS ' + process.argv[2] + ' WITH (FORCE)'))
 .then(() => process.argv[3] === 'create' && c.query('CREATE DATABASE ' + process.argv[2])).then(() => c.end());" "$admin_url" "$db_name" "$1"
}
free_port() { node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"; }

wait_for() { for _ in $(seq 600); do curl -sf "$1" >/dev/null && return 0; sleep 0.5; done; echo "$1 never answered" >&2; exit 1; }

# measure LABEL PORT PROBE_PATH HEADER -- COMMAND...
measure() {
  local label=$1 port=$2 probe=$3 header=$4; shift 5
  PORT=$port valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/cg.%p" "$@" >/dev/null 2>"$WORK/valgrind.log" &
  echo $! >"$WORK/pid"
  wait_for "http://127.0.0.1:$port$probe"
  local pid; pid=$(cat "$WORK/pid")
  local target=/v1/agents/bench-echo/invoke connections=10
  if [ -n "${TURNS:-}" ]; then
    # Session turns: one session, one connection (a session answers one turn at a time); the
    # memory window fills to its 50 messages during the warm-up, as in a long conversation.
    local session
    session=$(curl -sf -X POST -H content-type:application/json -H "$header" -d '{}' "http://127.0.0.1:$port/v1/agents/bench-echo/sessions" |
      node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).session_id')
    target=/v1/agents/bench-echo/sessions/$session/continue connections=1
  fi
  local load=(node_modules/.bin/autocannon -c "$connections" -t 60 -m POST -H content-type=application/json -H "$header" -b "$BODY" "http://127.0.0.1:$port$target")
  "${load[@]}" -a "$WARM" >/dev/null 2>&1
  sleep 3 # the warm-up's last compilations and collections, uncounted
  # First an idle window: timers (the managed-key refresh every second, the sessions gauge, …)
  # run whatever the load, so their cost per request follows the wall-clock time valgrind takes,
  # which follows how busy the machine is. Their rate is measured here and taken off below.
  callgrind_control -i on "$pid" >/dev/null 2>&1
  local idle_started; idle_started=$(date +%s%3N)
  sleep "$IDLE"
  callgrind_control -d "$pid" >/dev/null 2>&1
  local idle_ms=$(($(date +%s%3N) - idle_started))
  "${load[@]}" -a "$N" -j 2>/dev/null >"$WORK/load.json"
  callgrind_control -i off "$pid" >/dev/null 2>&1
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local idle; idle=$(grep -h '^totals:' "$WORK"/cg.*.1 | awk '{ s += $2 } END { printf "%d", s }')
  local total; total=$(grep -h '^totals:' "$WORK"/cg.*.2 | awk '{ s += $2 } END { printf "%d", s }')
  if [ -n "${PROFILE_DIR:-}" ]; then mkdir -p "$PROFILE_DIR"; for f in "$WORK"/cg.*; do cp "$f" "$PROFILE_DIR/${label// /-}.${f##*/}"; done; fi
  rm -f "$WORK"/cg.*
  node -e "
const r = require(process.argv[1]); const n = r.requests.total;
const [label, total, idle, idleSeconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]) / 1000];
const background = (idle / idleSeconds) * r.duration;
const net = Math.round((total - background) / n);
console.log(label.padEnd(18), String(net).padStart(10), 'instructions/request', '(' + n + ' requests, ' + r.non2xx + ' non-2xx; with timers ' + Math.round(total / n) + ': ' + Math.round(idle / idleSeconds / 1000) + ' K/s idle over ' + r.duration.toFixed(0) + ' s)');
" "$WORK/load.json" "$label" "$total" "$idle" "$idle_ms"
}

want() { { [ -z "${ONLY:-}" ] && [ "$1" != turn ]; } || [[ ",${ONLY:-}," == *",$1,"* ]]; }
{ want app || want turn; } && database create
want express && measure express "$(free_port)" /ping "x-unused: 1" -- node dist/bench/express-floor.js
want nest && measure "bare Nest" "$(free_port)" /ping "x-unused: 1" -- node dist/bench/nest-floor.js
# The pipeline worker polls the database on a timer: under valgrind its cost per request grows
# with the run's wall-clock time (2.16 M to 2.76 M per request for one build, depending on the
# machine's load), so it is off here; invoke does not use it.
measure_app() {
  DATABASE_URL=$db_url AGENTSPEC_API_KEY=$KEY AGENTSPEC_DEFINITIONS=bench/fixtures/bench.ias AGENTSPEC_PIPELINE_WORKER=false \
    measure "$1" "$(free_port)" /livez "x-api-key: $KEY" -- node ${APP_NODE_ARGS:-} dist/src/main.js
}
if want app; then measure_app "${APP_LABEL:-app}"; fi
if want turn; then TURNS=1 measure_app "${APP_LABEL:-session turn}"; fi
