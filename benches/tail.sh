#!/usr/bin/env bash
# Tail latency at saturation (issue 18): ironflow pinned to core 0, wrk pinned to core 1, 64
# keep-alive connections, 1-row v2 requests, three 5 s rounds per model; prints p50 / p99 per
# round and whether each meets p99 <= 5 ms and p99 <= 5x p50. Exits 1 if any round fails.
#
# usage: benches/tail.sh [--bin PATH] [--rounds N] [--duration S] [--connections C]
#                        [--models "iris_lr onnx_mlp bc_rf"] [--nagle] [--nice N]
#   --bin PATH   the ironflow binary (default: built here with `cargo build --release`,
#                CARGO_TARGET_DIR or ./target)
#   --nagle      also run every model with IRONFLOW_TCP_NODELAY=0 first (Nagle's algorithm left
#                on, the server before the fix), to show the difference in one run; also
#                times two pipelined requests (python/pipelined.py), which Nagle does stall
#   --nice N     run the server at nice N (e.g. -19, as root): on a shared machine, shows how
#                much of the tail is other processes holding core 0 (see runq_wait)
# Needs wrk (Debian: apt-get install -y wrk), taskset, curl and python3 (to cut a 1-row request
# out of the fixtures' request.json). Models are the repository's fixtures:
#   iris_lr   examples/corpus/sk-logreg-multiclass-new (LogisticRegression on iris, 4 columns)
#   onnx_mlp  examples/corpus/onnx-mlp-new (30-64-64-2 MLP, ONNX)
#   bc_rf     examples/bench/bc-rf-100x10 (RandomForest, 100 trees of depth 10, 30 columns)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=""
ROUNDS=3
DURATION=5
CONNECTIONS=64
MODELS="iris_lr onnx_mlp bc_rf"
NAGLE=0
NICE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) BIN=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --connections) CONNECTIONS=$2; shift 2 ;;
        --models) MODELS=$2; shift 2 ;;
        --nagle) NAGLE=1; shift ;;
        --nice) NICE=$2; shift 2 ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
for tool in wrk taskset curl python3; do
    command -v "$tool" >/dev/null || { echo "tail.sh needs $tool" >&2; exit 2; }
done
if [ -z "$BIN" ]; then
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
    (cd "$ROOT" && nice -n 10 cargo build --release -p ironflow-server --bin ironflow)
    BIN=$CARGO_TARGET_DIR/release/ironflow
fi

WORK=$(mktemp -d)
SERVER=""
cleanup() {
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

model_dir() {
    case "$1" in
        iris_lr) echo "$ROOT/examples/corpus/sk-logreg-multiclass-new" ;;
        onnx_mlp) echo "$ROOT/examples/corpus/onnx-mlp-new" ;;
        bc_rf) echo "$ROOT/examples/bench/bc-rf-100x10" ;;
        *) echo "unknown model $1" >&2; exit 2 ;;
    esac
}

# The first row of every input of request.json, as a 1-row v2 request.
one_row() {
    python3 - "$1" <<'EOF'
import json, sys
req = json.load(open(sys.argv[1]))
for inp in req["inputs"]:
    n = inp["shape"][0]
    per = len(inp["data"]) // n
    inp["data"] = inp["data"][:per]
    inp["shape"] = [1] + inp["shape"][1:]
print(json.dumps(req))
EOF
}

# wrk's latency ("620.00us", "55.20ms", "1.02s") in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else printf "nan" }'
}

# The server's threads' time spent runnable but waiting for a CPU (ns, /proc/PID/task/*/schedstat
# field 2) and their involuntary context switches: a stall that these do not grow by was the
# server's own doing; one they grow by was another process holding core 0.
runq_ns() {
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $2} END {printf "%d", s}'
}
preempted() {
    cat /proc/"$1"/task/*/status 2>/dev/null \
        | awk '/^nonvoluntary_ctxt_switches/ {s += $2} END {printf "%d", s}'
}

PORT=$((20000 + RANDOM % 20000))
FAILED=0
printf '%-9s %-7s %5s %9s %8s %8s %10s %9s %6s %6s %s\n' model nodelay round req/s p50_ms \
    p99_ms runq_wait preempted load1 errors verdict
for model in $MODELS; do
    dir=$(model_dir "$model")
    one_row "$dir/request.json" > "$WORK/$model.json"
    cat > "$WORK/$model.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$WORK/$model.json", "rb"))
wrk.body = f:read("*a")
f:close()
EOF
    variants="1"
    [ "$NAGLE" = 1 ] && variants="0 1"
    for nodelay in $variants; do
        PORT=$((PORT + 3))
        IRONFLOW_TCP_NODELAY=$nodelay nice -n "$NICE" taskset -c 0 "$BIN" serve "$dir/model" --name m \
            --host 127.0.0.1 --http-port "$PORT" --grpc-port $((PORT + 1)) \
            --metrics-port $((PORT + 2)) > "$WORK/server.log" 2>&1 &
        SERVER=$!
        for _ in $(seq 1 300); do
            curl -sf "http://127.0.0.1:$PORT/v2/models/m/ready" >/dev/null 2>&1 && break
            sleep 0.05
        done
        curl -sf "http://127.0.0.1:$PORT/v2/models/m/ready" >/dev/null || {
            echo "$model: server not ready" >&2; cat "$WORK/server.log" >&2; exit 1; }
        url="http://127.0.0.1:$PORT/v2/models/m/infer"
        # One answer checked by hand, then a 1 s warm-up.
        curl -sf -H 'Content-Type: application/json' --data-binary "@$WORK/$model.json" "$url" \
            >/dev/null || { echo "$model: the request fails" >&2; exit 1; }
        taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d1s -s "$WORK/$model.lua" "$url" >/dev/null
        for round in $(seq 1 "$ROUNDS"); do
            load1=$(cut -d' ' -f1 /proc/loadavg)
            runq0=$(runq_ns "$SERVER")
            pre0=$(preempted "$SERVER")
            out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
                -s "$WORK/$model.lua" "$url")
            runq=$(awk -v a="$runq0" -v b="$(runq_ns "$SERVER")" 'BEGIN {printf "%.1fms", (b - a) / 1e6}')
            pre=$(( $(preempted "$SERVER") - pre0 ))
            p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
            p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
            rps=$(echo "$out" | awk '/^Requests\/sec/ {printf "%.0f", $2}')
            errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {s = s $0 "; "} END {print (s == "" ? 0 : s)}')
            verdict=$(awk -v a="$p50" -v b="$p99" 'BEGIN { print (b <= 5 && b <= 5 * a) ? "pass" : "FAIL" }')
            [ "$errors" != 0 ] && verdict=FAIL
            [ "$verdict" = FAIL ] && [ "$nodelay" = 1 ] && FAILED=1
            printf '%-9s %-7s %5s %9s %8s %8s %10s %9s %6s %6s %s\n' "$model" "$nodelay" "$round" \
                "$rps" "$p50" "$p99" "$runq" "$pre" "$load1" "$errors" "$verdict"
        done
        if [ "$NAGLE" = 1 ]; then
            read -r med max < <(python3 "$ROOT/benches/python/pipelined.py" "$PORT" m "$WORK/$model.json")
            echo "$model nodelay=$nodelay: two pipelined requests answered in median $med ms, max $max ms"
        fi
        kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
    done
done
echo "runq_wait: time the server's threads were runnable but not running during the round;" \
    "preempted: their involuntary context switches; load1: the load average before it"
echo "target: p99 <= 5 ms and p99 <= 5x p50 in every round (server on core 0, wrk on core 1," \
    "$CONNECTIONS keep-alive connections, 1-row requests, ${DURATION} s rounds);" \
    "rounds with nodelay 0 (--nagle) are the before and do not count"
exit $FAILED
