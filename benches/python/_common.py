"""Shared by the timing scripts: single-threaded environment, corpus rows tiled like the Rust
benches (benches/src/lib.rs `Request::tile`), and a fixed-duration timer."""
import os

# Before numpy/sklearn/xgboost/lightgbm load their thread pools: one thread everywhere.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
            "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[var] = "1"

import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

warnings.filterwarnings("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpus"))
ROWS = (1, 100, 10_000)
SECONDS = float(os.environ.get("BENCH_SECONDS", "1.5"))

DTYPES = {"FP64": "float64", "FP32": "float32", "INT64": "int64", "INT32": "int32", "BOOL": "bool",
          "BYTES": "object"}


BENCH_MODELS = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "bench"))


def case_dir(case):
    """The corpus case, else the repository's bench-only examples/bench/<case>."""
    corpus = os.path.join(CORPUS, case)
    return corpus if os.path.isdir(corpus) else os.path.join(BENCH_MODELS, case)


def case_json(case):
    return json.load(open(os.path.join(case_dir(case), "case.json")))


def request_frame(case, rows):
    """The case's request.json as MLServer's `pd` decoding makes it (one column per input),
    its rows cycled to `rows` rows, as the Rust benches tile them."""
    req = json.load(open(os.path.join(case_dir(case), "request.json")))
    cols = {}
    for inp in req["inputs"]:
        data = np.array(inp["data"], dtype=DTYPES[inp["datatype"]])
        n = inp["shape"][0]
        cols[inp["name"]] = data.reshape(n, -1)[np.arange(rows) % n].reshape(rows)
    return pd.DataFrame(cols)


def time_call(fn):
    """Seconds per call of `fn()`: one warm-up call, then as many calls as fit in SECONDS
    (at least 3); the best of three equal slices, to damp noise from other processes."""
    fn()
    n, t0 = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - t0 < SECONDS:
        fn()
        n += 1
    per = (time.perf_counter() - t0) / n
    k = max(1, n // 3)
    slices = []
    for _ in range(3):
        s0 = time.perf_counter()
        for _ in range(k):
            fn()
        slices.append((time.perf_counter() - s0) / k)
    return min(per, *slices)


def report(out, **row):
    print(json.dumps(row), flush=True)
    if out is not None:
        out.write(json.dumps(row) + "\n")
        out.flush()
