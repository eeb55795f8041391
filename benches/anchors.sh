#!/usr/bin/env bash
# Tree-engine anchors (issue 18, and issue 21's CatBoost bench): one table, one run, one thread
# per engine: ns per tree per row at batch 1, 100 and 10,000 for ironflow, lleaves, tl2cgen
# (treelite compiled with gcc), the library's own predict and onnxruntime, on LightGBM 100 x 31
# leaves and 500 x 63, XGBoost 500 x depth 6, the bc_rf forest (examples/bench) and a CatBoost
# model; every engine's answers are checked against the library's before it is timed.
#
# usage: benches/anchors.sh [--venv DIR] [--out DIR] [--seconds S] [--no-catboost-bench]
#   --venv DIR   Python environment with benches/python/requirements.txt (created there with
#                python3 -m venv + pip install when missing; default $CARGO_TARGET_DIR/anchors-venv)
#   --out DIR    where the models, rows and answers go (default $CARGO_TARGET_DIR/anchors)
#   --seconds S  each timing loop's length (default 1.5; BENCH_SECONDS)
#   --no-catboost-bench  skip the criterion catboost_predict bench and time_catboost.py (issue
#                21's comparison on the repository's cb-bench-* fixtures), run after the table
# Builds ironflow's `anchors` binary in release mode (nice -n 10). Needs python3 (3.10-3.12),
# gcc (tl2cgen compiles the treelite models) and a network for the first pip install.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=$CARGO_TARGET_DIR/anchors-venv
OUT=$CARGO_TARGET_DIR/anchors
CATBOOST_BENCH=1
export BENCH_SECONDS=${BENCH_SECONDS:-1.5}
while [ $# -gt 0 ]; do
    case "$1" in
        --venv) VENV=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --seconds) BENCH_SECONDS=$2; shift 2 ;;
        --no-catboost-bench) CATBOOST_BENCH=0; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$ROOT/benches/python/requirements.txt"
fi
# One thread everywhere: ironflow's tree pool, and the Python libraries' pools (_common.py).
export IRONFLOW_TREE_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

(cd "$ROOT" && nice -n 10 cargo build --release -p ironflow-benches --bin anchors)
mkdir -p "$OUT"
cd "$ROOT/benches/python"
echo "== preparing models in $OUT" >&2
"$VENV/bin/python" anchors.py prepare "$OUT"
echo "== ironflow (default layouts, then IRONFLOW_TREE_LAYOUT=quickscorer)" >&2
"$CARGO_TARGET_DIR/release/anchors" "$OUT/manifest.json" | tee "$OUT/ironflow.jsonl" >&2
IRONFLOW_TREE_LAYOUT=quickscorer "$CARGO_TARGET_DIR/release/anchors" "$OUT/manifest.json" \
    | tee -a "$OUT/ironflow.jsonl" >&2
echo "== lleaves, tl2cgen, the libraries, onnxruntime (compiling the first time)" >&2
"$VENV/bin/python" anchors.py time "$OUT" "$OUT/ironflow.jsonl" | tee "$OUT/table.md"

if [ "$CATBOOST_BENCH" = 1 ]; then
    echo "== issue 21: criterion catboost_predict, then catboost's own predict (one thread)" >&2
    (cd "$ROOT" && nice -n 10 cargo bench -p ironflow-benches --bench catboost_predict)
    "$VENV/bin/python" time_catboost.py "$OUT/catboost.jsonl"
fi
