#!/usr/bin/env python3
"""Times xgboost and lightgbm on the same corpus models, rows and inputs as
benches/benches/gbdt_predict.rs: the loaded model's own predict (the sklearn wrapper's, or the
Booster's), the Booster's direct predict (xgboost `inplace_predict`, lightgbm `Booster.predict`)
and mlflow.pyfunc's predict, all with one thread, plus trees per model for ns/tree/row.

usage: /work/venv-fixtures/bin/python benches/python/time_gbdt.py [out.jsonl]
(needs mlflow, xgboost, lightgbm, numpy, pandas, skops; not part of the tests)
"""
import sys

from _common import ROWS, CORPUS, report, request_frame, time_call

import os  # noqa: E402

import lightgbm as lgb  # noqa: E402
import mlflow.pyfunc  # noqa: E402
import xgboost as xgb  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

CASES = [
    "xgb-classifier-multiclass-new",
    "xgb-classifier-binary-new",
    "xgb-regressor-json-new",
    "xgb-classifier-json-old",
    "xgb-regressor-old",
    "lgb-classifier-new",
    "lgb-regressor-cloudpickle-new",
    "lgb-booster-regressor-old",
    "lgb-classifier-old",
]


def prepare(raw):
    """(engine, booster direct predict, tree count) with every thread pool set to one."""
    if isinstance(raw, (xgb.XGBModel, xgb.Booster)):
        if isinstance(raw, xgb.XGBModel):
            raw.set_params(n_jobs=1)
            booster = raw.get_booster()
        else:
            booster = raw
        booster.set_param({"nthread": 1})
        return "xgboost", (lambda x: booster.inplace_predict(x.to_numpy())), len(booster.get_dump())
    if isinstance(raw, lgb.LGBMModel):
        raw.set_params(n_jobs=1)
        booster = raw.booster_
    else:
        booster = raw
    return ("lightgbm", (lambda x: booster.predict(x.to_numpy(), num_threads=1)),
            booster.num_trees())


def main():
    out = open(sys.argv[1], "w") if len(sys.argv) > 1 else None
    for case in CASES:
        model_dir = os.path.join(CORPUS, case, "model")
        try:
            pyfunc = mlflow.pyfunc.load_model(model_dir)
            raw = pyfunc.get_raw_model()
        except Exception as e:  # a format this library version no longer reads
            print(f"skipping {case}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        engine, direct, n_trees = prepare(raw)
        own = (lambda x: raw.predict(x, num_threads=1)) if isinstance(raw, lgb.Booster) else raw.predict
        for rows in ROWS:
            x = request_frame(case, rows)
            t_raw = time_call(lambda: own(x))
            t_direct = time_call(lambda: direct(x))
            t_pyfunc = time_call(lambda: pyfunc.predict(x))
            report(out, engine=engine, case=case, rows=rows, trees=n_trees, raw_s=t_raw,
                   direct_s=t_direct, pyfunc_s=t_pyfunc)


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()
