#!/usr/bin/env bash
# Soak and shutdown under load (issue 17): one command, two phases, one summary.
#
#  1. RSS drift: wrk posts a 100-row request to a forest (examples/bench/bc-rf-100x10) for
#     --soak seconds; the server's VmRSS is sampled every second. Prints RSS at 5 s, 10 s and the
#     end, the end/10 s ratio (target <= 1.3) and RSS after --idle seconds without load.
#  2. SIGTERM under load: wrk with --connections keep-alive connections; SIGTERM after 2 s with a
#     --delay s shutdown delay; wrk stops before the delay ends (as a load balancer stops sending
#     during it). Prints wrk's requests, non-2xx and socket errors (connect/read/write/timeout) and
#     the server's exit code (target: 0 errors, exit 0).
#
# usage: benches/soak.sh [--bin PATH] [--model DIR] [--soak S] [--idle S] [--connections C]
#                        [--threads T] [--delay S] [--port P] [--env "VAR=value ..."]
#   --bin     ironflow binary (default target/release/ironflow; build it with
#             `cargo build --release -p ironflow-server`)
#   --env     extra environment for the server (e.g. "MIMALLOC_PURGE_DELAY=0" or
#             "IRONFLOW_INFERENCE_THREADS=1") to compare allocator settings
# Needs wrk (apt-get install -y wrk) and python3 (only to build the 100-row request).
# The machine's other load changes the numbers: compare runs made back to back.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=target/release/ironflow
MODEL=examples/bench/bc-rf-100x10
SOAK=40
IDLE=10
CONNECTIONS=32
THREADS=2
DELAY=5
PORT=18190
EXTRA_ENV=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --soak) SOAK=$2; shift 2 ;;
    --idle) IDLE=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --delay) DELAY=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --env) EXTRA_ENV=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "$BIN not found: cargo build --release -p ironflow-server" >&2; exit 2; }

WORK=$(mktemp -d /tmp/ironflow-soak.XXXXXX)
SERVER=""
cleanup() {
  if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The model's request with its rows repeated to 100.
python3 - "$MODEL/request.json" "$WORK/request.json" <<'PY'
import json, sys
request = json.load(open(sys.argv[1]))
for tensor in request["inputs"]:
    rows, width = tensor["shape"][0], (tensor["shape"][1] if len(tensor["shape"]) > 1 else 1)
    data = tensor["data"]
    flat = [v for row in data for v in (row if isinstance(row, list) else [row])]
    out = [flat[(i % rows) * width + j] for i in range(100) for j in range(width)]
    tensor["data"] = out
    tensor["shape"] = [100] + tensor["shape"][1:]
json.dump(request, open(sys.argv[2], "w"))
PY
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$WORK/request.json", "rb")
wrk.body = f:read("*a")
f:close()
LUA

start_server() {
  # shellcheck disable=SC2086
  env $EXTRA_ENV "$BIN" serve "$MODEL/model" --name m --host 127.0.0.1 --http-port "$PORT" \
    --grpc-port $((PORT + 1)) --metrics-port $((PORT + 2)) "$@" 2>"$WORK/server.log" &
  SERVER=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server not ready:" >&2; cat "$WORK/server.log" >&2; exit 1
}
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
URL="http://127.0.0.1:$PORT/v2/models/m/infer"

echo "== 1. RSS under ${SOAK}s of 100-row load (c=$CONNECTIONS, wrk -t$THREADS) ${EXTRA_ENV:+[$EXTRA_ENV]}"
start_server
curl -sf -X POST -H 'content-type: application/json' --data-binary "@$WORK/request.json" "$URL" >/dev/null \
  || { echo "the 100-row request fails:" >&2; curl -s -X POST -H 'content-type: application/json' \
       --data-binary "@$WORK/request.json" "$URL" >&2; exit 1; }
echo "after load: $(rss_mb "$SERVER") MB"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SOAK}s" -s "$WORK/post.lua" "$URL" >"$WORK/wrk-soak.txt" 2>&1 &
WRK=$!
: >"$WORK/rss.txt"
for t in $(seq 1 "$SOAK"); do
  sleep 1
  echo "$t $(rss_mb "$SERVER")" >>"$WORK/rss.txt"
done
wait "$WRK" || true
sleep "$IDLE"
IDLE_RSS=$(rss_mb "$SERVER")
at() { awk -v t="$1" '$1 == t {print $2}' "$WORK/rss.txt"; }
R5=$(at 5); R10=$(at 10); REND=$(at "$SOAK")
PEAK=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$WORK/rss.txt")
RATIO=$(awk -v a="$REND" -v b="$R10" 'BEGIN {printf "%.2f", a / b}')
REQS=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk-soak.txt")
echo "RSS MB: 5 s $R5, 10 s $R10, ${SOAK} s $REND (peak $PEAK), after ${IDLE} s idle $IDLE_RSS"
echo "end / 10 s = $RATIO (target <= 1.3); $REQS req/s"
grep -E "Non-2xx|Socket errors" "$WORK/wrk-soak.txt" || true
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

echo "== 2. SIGTERM under load (c=$CONNECTIONS keep-alive, shutdown delay ${DELAY}s)"
start_server --shutdown-delay "$DELAY"
# wrk stops 1 s before the delay ends.
RUN=$((DELAY + 1))
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${RUN}s" -s "$WORK/post.lua" "$URL" >"$WORK/wrk-term.txt" 2>&1 &
WRK=$!
sleep 2
kill -TERM "$SERVER"
wait "$WRK" || true
set +e
wait "$SERVER"; CODE=$?
set -e
SERVER=""
TOTAL=$(awk '/requests in/ {print $1}' "$WORK/wrk-term.txt")
NON2XX=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk-term.txt"); NON2XX=${NON2XX:-0}
ERRORS=$(grep -E "Socket errors" "$WORK/wrk-term.txt" || echo "Socket errors: none")
echo "$TOTAL requests; non-2xx $NON2XX; $ERRORS; server exit code $CODE"
grep -E "readiness is false|no longer accepting|in-flight" "$WORK/server.log" | sed 's/^/  server: /'

echo "== 3. The same, wrk running 3 s past the delay (after the listener closes, wrk counts each refused connect as a connect or write error: nothing was sent; read errors and timeouts would be lost requests)"
start_server --shutdown-delay "$DELAY"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$((DELAY + 5))s" -s "$WORK/post.lua" "$URL" >"$WORK/wrk-past.txt" 2>&1 &
WRK=$!
sleep 2
kill -TERM "$SERVER"
set +e
wait "$SERVER"; CODE=$?
set -e
SERVER=""
wait "$WRK" || true
TOTAL=$(awk '/requests in/ {print $1}' "$WORK/wrk-past.txt")
ERRORS=$(grep -E "Socket errors" "$WORK/wrk-past.txt" || echo "Socket errors: none")
echo "$TOTAL requests; $ERRORS; server exit code $CODE"
