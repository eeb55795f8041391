#!/usr/bin/env bash
# Side by side: MLServer and ironflow serve the same MLflow models in turn, and the same load
# tool (benches' `loadtest`) measures both; prints ONE table of ratios (issue 5).
#
# usage: benches/compare.sh [options]
#   --models DIR        the baseline models and requests (shared/baselines/make_models.py DIR):
#                       DIR/{iris_lr,bc_rf,onnx_mlp} and DIR/requests/<model>-{1,100}.json
#                       (default /work/baseline-models)
#   --only "M ..."      models to run (default "iris_lr bc_rf onnx_mlp")
#   --mlserver CMD      command serving MODEL_DIR on PORT (default: shared/baselines/serve.sh,
#                       with VENV from --venv); called as: CMD MODEL_DIR PORT
#   --venv DIR          MLServer's venv (default /work/venvs/mlserver-new)
#   --ironflow BIN      ironflow binary (default /work/target-rel/release/ironflow)
#   --loadtest BIN      loadtest binary (default: beside --ironflow)
#   --fixed-server BIN  also measure iris_lr 1-row against this bare axum server (the HTTP
#                       ceiling; default: beside --ironflow, skipped if missing)
#   --concurrency "C …" default "1 8 64"
#   --duration S        seconds per load point (default 10)
#   --warmup S          unrecorded seconds before each point (default 2)
#   --coldstarts N      cold starts per server and model, the median is reported (default 3)
#   --mlserver-best     also run MLServer on iris_lr 1-row at c=64 with adaptive batching
#                       (32, 5 ms) and with parallel_workers=0, and compare ironflow with the best
#   --port P            HTTP port for both servers (gRPC P+1, metrics P+2; default 18086)
#   --out DIR           raw results (default /tmp/ironflow-compare)
#
# Cold start is launch -> first 200 from GET /v2/models/M/ready (polled every 2 ms). RSS sums
# VmRSS over the server's whole process tree: "after load" 2 s after ready, "under load" the peak
# while the c=64 1-row point runs. Ratios are "ironflow's advantage": MLServer/ironflow for
# times and memory, ironflow/MLServer for req/s.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$(cd "$HERE/../../shared" 2>/dev/null && pwd || echo /work/shared)}

MODELS=/work/baseline-models ONLY="iris_lr bc_rf onnx_mlp" MLSERVER="" VENV=/work/venvs/mlserver-new
IRONFLOW=/work/target-rel/release/ironflow LOADTEST="" FIXED="" CONC="1 8 64" DUR=10 WARM=2
COLD=3 BEST=0 PORT=18086 OUT=/tmp/ironflow-compare
while [ $# -gt 0 ]; do
  case "$1" in
    --models) MODELS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --mlserver) MLSERVER=$2; shift 2 ;;
    --venv) VENV=$2; shift 2 ;;
    --ironflow) IRONFLOW=$2; shift 2 ;;
    --loadtest) LOADTEST=$2; shift 2 ;;
    --fixed-server) FIXED=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --warmup) WARM=$2; shift 2 ;;
    --coldstarts) COLD=$2; shift 2 ;;
    --mlserver-best) BEST=1; shift ;;
    --port) PORT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
BIN_DIR=$(dirname "$IRONFLOW")
LOADTEST=${LOADTEST:-$BIN_DIR/loadtest}
if [ -z "$FIXED" ] && [ -x "$BIN_DIR/fixed_server" ]; then FIXED=$BIN_DIR/fixed_server; fi
MLSERVER=${MLSERVER:-"env VENV=$VENV $SHARED/baselines/serve.sh"}
for f in "$IRONFLOW" "$LOADTEST"; do
  [ -x "$f" ] || { echo "missing $f (cargo build --release -p ironflow-server -p ironflow-benches)" >&2; exit 2; }
done
PROC="python3 $HERE/python/v2proc.py"
URL=http://127.0.0.1:$PORT
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"

SERVER_PID=""
cleanup() { if [ -n "$SERVER_PID" ]; then $PROC stop --pid "$SERVER_PID"; SERVER_PID=""; fi; }
trap cleanup EXIT

emit() { echo "$1" >> "$RESULTS"; }

# launch_cmd SERVER MODEL -> the command line serving MODEL
launch_cmd() {
  case "$1" in
    mlserver*) echo "$MLSERVER $MODELS/$2 $PORT" ;;
    ironflow) echo "$IRONFLOW serve $MODELS/$2 --name $2 --host 127.0.0.1 --http-port $PORT --grpc-port $((PORT + 1)) --metrics-port $((PORT + 2))" ;;
    fixed) echo "$FIXED --port $PORT" ;;
  esac
}

# start SERVER MODEL [ENV...] -> sets SERVER_PID and READY_MS (launch to first 200, ms)
start() {
  local server=$1 model=$2; shift 2
  local out
  out=$(env "$@" $PROC launch --url "$URL" --model "$model" --log "$OUT/$server-$model.log" -- \
        bash -c "exec $(launch_cmd "$server" "$model")") || true
  SERVER_PID=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("pid", ""))' 2>/dev/null || true)
  READY_MS=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("ready_ms", ""))' 2>/dev/null || true)
  if [ -z "$READY_MS" ]; then
    echo "$server $model never became ready: $out (log $OUT/$server-$model.log)" >&2
    cleanup
    exit 1
  fi
}

# load SERVER MODEL REQUEST C [WATCH] -> one JSON line into results
load() {
  local server=$1 model=$2 req=$3 c=$4 watch=${5:-0} rss=""
  local file=$MODELS/requests/$model-$req.json
  if [ "$watch" = 1 ]; then
    $PROC rss --pid "$SERVER_PID" --watch "$((WARM + DUR))" > "$OUT/rss-watch.json" &
    local watcher=$!
  fi
  local result
  result=$("$LOADTEST" --url "$URL" --model "$model" --request "$file" --concurrency "$c" \
           --duration "${DUR}s" --warmup "${WARM}s" --json --allow-errors) || true
  if [ "$watch" = 1 ]; then
    wait "$watcher"
    rss=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rss_mib"])' "$OUT/rss-watch.json")
    emit "{\"server\":\"$server\",\"model\":\"$model\",\"metric\":\"rss_load\",\"value\":$rss}"
  fi
  [ -n "$result" ] || result='{"req_per_s":0,"latency_ms":{"p99":null},"failed":-1}'
  emit "{\"server\":\"$server\",\"model\":\"$model\",\"metric\":\"load\",\"request\":\"$req\",\"c\":$c,\"result\":$result}"
  echo "  $server $model $req-row c=$c: $(echo "$result" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.1f req/s p99 %s ms failed %s" % (d["req_per_s"], d["latency_ms"]["p99"], d["failed"]))')" >&2
}

# one server, one model: cold starts, RSS, load points
measure() {
  local server=$1 model=$2
  local starts=()
  for _ in $(seq 1 "$COLD"); do
    cleanup
    start "$server" "$model"
    starts+=("$READY_MS")
  done
  echo "  $server $model cold starts ms: ${starts[*]}" >&2
  local median
  median=$(printf '%s\n' "${starts[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  emit "{\"server\":\"$server\",\"model\":\"$model\",\"metric\":\"coldstart_ms\",\"value\":$median}"
  sleep 2
  emit "{\"server\":\"$server\",\"model\":\"$model\",\"metric\":\"rss_ready\",\"value\":$($PROC rss --pid "$SERVER_PID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rss_mib"])')}"
  for req in 1 100; do
    for c in $CONC; do
      local watch=0
      if [ "$req" = 1 ] && [ "$c" = "$(echo "$CONC" | awk '{print $NF}')" ]; then watch=1; fi
      load "$server" "$model" "$req" "$c" "$watch"
    done
  done
  cleanup
}

echo "== $(date -u +%FT%TZ) $(nproc) cores; models: $ONLY; ${DUR}s per point after ${WARM}s" >&2
for model in $ONLY; do
  for server in mlserver ironflow; do
    echo "== $server $model" >&2
    measure "$server" "$model"
  done
done

if [ "$BEST" = 1 ]; then
  c=$(echo "$CONC" | awk '{print $NF}')
  echo "== MLServer variants on iris_lr, 1 row, c=$c" >&2
  start mlserver-batching iris_lr MLSERVER_MODEL_MAX_BATCH_SIZE=32 MLSERVER_MODEL_MAX_BATCH_TIME=0.005
  load mlserver-batching iris_lr 1 "$c"; cleanup
  start mlserver-workers0 iris_lr MLSERVER_PARALLEL_WORKERS=0
  load mlserver-workers0 iris_lr 1 "$c"; cleanup
fi

if [ -n "$FIXED" ]; then
  echo "== fixed_server (HTTP ceiling), iris_lr 1-row request" >&2
  start fixed iris_lr
  for c in $CONC; do load fixed iris_lr 1 "$c"; done
  cleanup
fi

python3 - "$RESULTS" "$CONC" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
conc = sys.argv[2].split()
def get(server, model, metric, req=None, c=None, key=None):
    for r in rows:
        if r["server"] == server and r["model"] == model and r["metric"] == metric:
            if metric != "load":
                return r["value"]
            if r["request"] == req and str(r["c"]) == str(c):
                res = r["result"]
                v = res["req_per_s"] if key == "rps" else res["latency_ms"]["p99"]
                return v, res.get("failed", 0)
    return None
def fmt(v, unit=""):
    if v is None: return "—"
    if isinstance(v, float) and v >= 100: return f"{v:,.0f}{unit}"
    return f"{v:.3g}{unit}" if isinstance(v, float) else f"{v}{unit}"
def ratio(m, i, lower_better):
    if not m or not i: return "—"
    r = m / i if lower_better else i / m
    return f"{r:,.1f}×" if r < 1000 else f"{r:,.0f}×"
print("| model | metric | MLServer | ironflow | ironflow advantage |")
print("|---|---|---:|---:|---:|")
models = sorted({r["model"] for r in rows if r["server"] == "ironflow"}, key=lambda m: ["iris_lr", "bc_rf", "onnx_mlp"].index(m) if m in ["iris_lr", "bc_rf", "onnx_mlp"] else 9)
for model in models:
    for metric, label, unit in [("coldstart_ms", "cold start to ready", " ms"), ("rss_ready", "RSS after load", " MiB"), ("rss_load", f"RSS under load (1 row, c={conc[-1]})", " MiB")]:
        m, i = get("mlserver", model, metric), get("ironflow", model, metric)
        print(f"| {model} | {label} | {fmt(m, unit)} | {fmt(i, unit)} | {ratio(m, i, True)} |")
    for req in ["1", "100"]:
        for key, label, unit, lower in [("rps", "req/s", "", False), ("p99", "p99", " ms", True)]:
            for c in conc:
                m, i = get("mlserver", model, "load", req, c, key), get("ironflow", model, "load", req, c, key)
                note = ""
                for who, x in (("MLServer", m), ("ironflow", i)):
                    if x and x[1]:
                        note += f" ({who}: {x[1]} failed)"
                mv, iv = (m[0] if m else None), (i[0] if i else None)
                print(f"| {model} | {req}-row {label} c={c}{note} | {fmt(mv, unit)} | {fmt(iv, unit)} | {ratio(mv, iv, lower)} |")
extra = []
c = conc[-1]
best = None
for server in ["mlserver", "mlserver-batching", "mlserver-workers0"]:
    v = get(server, "iris_lr", "load", "1", c, "rps")
    if v:
        extra.append(f"{server}: {v[0]:,.0f} req/s")
        best = max(best or 0, v[0])
i = get("ironflow", "iris_lr", "load", "1", c, "rps")
if best and i:
    print(f"\niris_lr 1-row c={c}: MLServer variants {', '.join(extra)}; ironflow {i[0]:,.0f} req/s = {i[0]/best:.1f}× MLServer's best")
for cc in conc:
    f = get("fixed", "iris_lr", "load", "1", cc, "rps")
    i = get("ironflow", "iris_lr", "load", "1", cc, "rps")
    if f and i:
        print(f"iris_lr 1-row c={cc}: ironflow {i[0]:,.0f} req/s, fixed_server {f[0]:,.0f} req/s: {100*i[0]/f[0]:.0f}% of the HTTP ceiling")
EOF
