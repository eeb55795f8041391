#!/usr/bin/env bash
# Batch scoring of one 1,000,000-row Parquet file, three ways, on the same rows and model:
#   ironflow predict (release build) -- Parquet in, Parquet out, record batches, all cores
#   mlflow models predict --env-manager local -- the same rows as CSV (it reads CSV/JSON only)
#   mlflow.pyfunc in a Python script -- pandas.read_parquet + model.predict
# Prints wall seconds, rows/s and peak RSS (GNU time's maximum resident set size) for each.
# Wall-clock figures are noisy on a shared machine: compare them as ratios from one run.
#
#   benches/predict_parquet.sh [MODEL_DIR] [ROWS]
# Environment: IRONFLOW (the binary; default target/release/ironflow), PYTHON (a Python with
# mlflow, pandas, pyarrow, scikit-learn; default /work/venv-fixtures/bin/python), WORK (scratch
# folder, removed at the end unless KEEP=1).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
model="${1:-$here/examples/bench/bc-rf-100x10/model}"
rows="${2:-1000000}"
ironflow="${IRONFLOW:-$here/target/release/ironflow}"
python="${PYTHON:-/work/venv-fixtures/bin/python}"
work="${WORK:-$(mktemp -d /tmp/ironflow-predict-bench.XXXXXX)}"
mkdir -p "$work"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
[ -x "$ironflow" ] || { echo "no $ironflow: cargo build --release -p ironflow-server" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "GNU time is needed: apt-get install -y time" >&2; exit 1; }

# The rows: the model's request.json rows, tiled to ROWS (columns as the signature names them).
"$python" - "$model/../request.json" "$rows" "$work" <<'PY'
import json, sys
import numpy as np, pandas as pd
request, rows, work = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
cols = {}
for inp in request["inputs"]:
    data = np.asarray(inp["data"]).reshape(inp["shape"])
    cols[inp["name"]] = data.reshape(data.shape[0], -1)[:, 0]
df = pd.DataFrame(cols)
reps = -(-rows // len(df))
df = pd.concat([df] * reps, ignore_index=True).iloc[:rows]
df.to_parquet(f"{work}/in.parquet", index=False)
df.to_csv(f"{work}/in.csv", index=False)
PY

measure() { # name, command...: prints "name wall_s rows/s peak_rss_mib"
  local name="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/$name.log" 2>&1 || { echo "$name failed:"; tail -5 "$work/$name.log"; return; }
  read -r wall kb < "$work/time"
  awk -v n="$name" -v w="$wall" -v kb="$kb" -v r="$rows" 'BEGIN { printf "%-26s %8.2f s %12.0f rows/s %8.1f MiB peak RSS\n", n, w, r / w, kb / 1024 }'
}

echo "model: $model   rows: $rows   cores: $(nproc)"
measure "ironflow predict" "$ironflow" predict "$model" --input "$work/in.parquet" --output "$work/out.parquet"
measure "pyfunc (read_parquet)" "$python" -c "
import sys, mlflow.pyfunc, pandas as pd
m = mlflow.pyfunc.load_model(sys.argv[1]); df = pd.read_parquet(sys.argv[2])
pd.DataFrame({'p': m.predict(df)}).to_parquet(sys.argv[3])" "$model" "$work/in.parquet" "$work/out-pyfunc.parquet"
measure "mlflow models predict" env MLFLOW_TRACKING_URI="file://$work/mlruns" "$(dirname "$python")/mlflow" models predict \
  -m "$model" -i "$work/in.csv" -t csv -o "$work/out-mlflow.json" --env-manager local

# The same answers: ironflow's Parquet output against pyfunc's.
"$python" - "$work" <<'PY'
import sys, numpy as np, pandas as pd
w = sys.argv[1]
a = pd.read_parquet(f"{w}/out.parquet").iloc[:, 0].to_numpy()
b = pd.read_parquet(f"{w}/out-pyfunc.parquet")["p"].to_numpy()
print("ironflow == pyfunc on every row:", bool(np.array_equal(a, b)))
PY
