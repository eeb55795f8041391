#!/usr/bin/env python3
"""Times catboost's own predict on the same models and rows as
benches/benches/catboost_predict.rs (examples/models/catboost/cb-bench-*: the fixture's test rows
tiled to 1, 100 and 10,000 rows): the loaded model's `predict` with `thread_count=1`, and
mlflow.pyfunc's predict (catboost's default thread count, as served), plus trees per model for
ns/tree/row.

usage: /work/venv-fixtures/bin/python benches/python/time_catboost.py [out.jsonl]
(needs catboost, numpy, pandas; mlflow for the pyfunc figure; not part of the tests)
"""
import json
import os
import sys

from _common import ROWS, report, time_call

import catboost  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "models", "catboost"))
CASES = ["cb-bench-binary", "cb-bench-ctr"]


def frame(case, rows):
    """The case's test rows cycled to `rows` rows (null -> NaN), as the Rust bench tiles them."""
    cols = {}
    for name in case["columns"]:
        values = case["rows"][name]
        if name not in case["cat_columns"]:
            values = [np.nan if v is None else v for v in values]
        cols[name] = [values[r % len(values)] for r in range(rows)]
    return pd.DataFrame(cols)


def load(model_dir):
    """(the CatBoost model, mlflow.pyfunc's model or None): without mlflow (anchors.sh's venv),
    the flavor's `model.cb` read by catboost itself and no pyfunc figure."""
    try:
        import mlflow.catboost
        import mlflow.pyfunc
    except ImportError:
        mlmodel = open(os.path.join(model_dir, "MLmodel")).read()
        kind = next((line.split(":", 1)[1].strip() for line in mlmodel.splitlines()
                     if line.strip().startswith("model_type:")), "CatBoost")
        model = getattr(catboost, kind)()  # CatBoostClassifier / CatBoostRegressor
        model.load_model(os.path.join(model_dir, "model.cb"))
        return model, None
    return mlflow.catboost.load_model(model_dir), mlflow.pyfunc.load_model(model_dir)


def main():
    out = open(sys.argv[1], "w") if len(sys.argv) > 1 else None
    for name in CASES:
        case_dir = os.path.join(MODELS, name)
        case = json.load(open(os.path.join(case_dir, "case.json")))
        model, pyfunc = load(os.path.join(case_dir, "mlflow"))
        for rows in ROWS:
            x = frame(case, rows)
            t_own = time_call(lambda: model.predict(x, thread_count=1))
            t_pyfunc = time_call(lambda: pyfunc.predict(x)) if pyfunc else None
            report(out, engine="catboost", case=name, rows=rows, trees=model.tree_count_,
                   raw_s=t_own, pyfunc_s=t_pyfunc,
                   ns_tree_row=t_own * 1e9 / (rows * model.tree_count_))


if __name__ == "__main__":
    main()
