#!/usr/bin/env python3
"""Reference compute figures for issue 5's targets, on shared/baselines/make_models.py's models:
scikit-learn's own `predict` of bc_rf (RandomForest, 100 trees) and onnxruntime's Python session
on onnx_mlp, single-threaded (onnxruntime also with its default thread count), on the same rows
`cargo bench --bench serve_path` gives ironflow (the 100-row request's rows cycled to 1, 100 and
10,000 rows).

usage: BASELINE_MODELS=/work/baseline-models \
       /work/venvs/mlserver-new/bin/python benches/python/time_baselines.py [out.jsonl]
"""
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

MODELS = os.environ.get("BASELINE_MODELS", "/work/baseline-models")
SECONDS = float(os.environ.get("BENCH_SECONDS", "2"))


def best_per_call(fn):
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < SECONDS:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n


def columns(name, rows):
    req = json.load(open(os.path.join(MODELS, "requests", f"{name}-100.json")))
    idx = np.arange(rows) % 100
    return pd.DataFrame({i["name"]: np.asarray(i["data"], dtype=np.float64)[idx]
                         for i in req["inputs"]})


def tensor(name, rows):
    req = json.load(open(os.path.join(MODELS, "requests", f"{name}-100.json")))
    x = np.asarray(req["inputs"][0]["data"], dtype=np.float32).reshape(100, -1)
    return x[np.arange(rows) % 100]


def main():
    out = open(sys.argv[1], "w") if len(sys.argv) > 1 else None
    import mlflow.sklearn
    import onnxruntime as ort

    rf = mlflow.sklearn.load_model(os.path.join(MODELS, "bc_rf"))
    rf.set_params(n_jobs=1)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(MODELS, "onnx_mlp", "model.onnx"), opts,
                                providers=["CPUExecutionProvider"])
    # onnxruntime's default: one intra-op thread per physical core.
    sess_default = ort.InferenceSession(os.path.join(MODELS, "onnx_mlp", "model.onnx"),
                                        providers=["CPUExecutionProvider"])
    for rows in (1, 100, 10_000):
        X = columns("bc_rf", rows)
        per = best_per_call(lambda: rf.predict(X))
        trees = len(rf.estimators_)
        rec = {"engine": "sklearn", "model": "bc_rf", "rows": rows, "s_per_call": per,
               "ns_per_tree_row": per * 1e9 / trees / rows}
        print(json.dumps(rec))
        if out:
            out.write(json.dumps(rec) + "\n")
        x = tensor("onnx_mlp", rows)
        per = best_per_call(lambda: sess.run(None, {"input": x}))
        rec = {"engine": "onnxruntime", "model": "onnx_mlp", "rows": rows, "s_per_call": per}
        print(json.dumps(rec))
        if out:
            out.write(json.dumps(rec) + "\n")
        per = best_per_call(lambda: sess_default.run(None, {"input": x}))
        rec = {"engine": "onnxruntime-default-threads", "model": "onnx_mlp", "rows": rows,
               "s_per_call": per}
        print(json.dumps(rec))
        if out:
            out.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
