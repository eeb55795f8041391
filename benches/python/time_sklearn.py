#!/usr/bin/env python3
"""Times scikit-learn on the same corpus models, rows and inputs as
benches/benches/sklearn_predict.rs: the raw estimator's own predict method (the case's
`pyfunc_predict_fn`) and mlflow.pyfunc's predict, single-threaded, so the criterion figures can
be read as ratios against baselines measured on the same machine.

usage: /work/venv-fixtures/bin/python benches/python/time_sklearn.py [out.jsonl]
(needs mlflow, scikit-learn, numpy, pandas, skops; not part of the tests)
"""
import sys

from _common import ROWS, case_dir, case_json, report, request_frame, time_call

import os  # noqa: E402

import mlflow.pyfunc  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

CASES = [
    "sk-linreg-diabetes-new",
    "sk-logreg-multiclass-new",
    "sk-dtree-classifier-new",
    "sk-rf-classifier-new",
    "sk-gb-classifier-binary-new",
    "sk-hgb-classifier-new",
    "sk-mlp-classifier-new",
    "sk-knn-classifier-new",
    "sk-svc-rbf-new",
    "sk-columntransformer-rf-mixed-new",
    "sk-gaussian-nb-old",
    "sk-kmeans-new",
    "bc-rf-100x10",  # examples/bench: the baseline 100-tree depth-10 forest
]


def trees(est):
    """Trees the estimator walks per row (for ns/tree/row), or None for non-tree models."""
    est = est.steps[-1][1] if hasattr(est, "steps") else est
    name = type(est).__name__
    if name.startswith("DecisionTree"):
        return 1
    if name.startswith("HistGradientBoosting"):
        return int(est.n_iter_ * est.n_trees_per_iteration_)
    if name.startswith("GradientBoosting"):
        return int(est.estimators_.size)
    if hasattr(est, "estimators_"):
        return len(est.estimators_)
    return None


def single_thread(est):
    """n_jobs=1 wherever an estimator has it (forests and KNN default to joblib)."""
    for step in ([s for _, s in est.steps] if hasattr(est, "steps") else [est]):
        if "n_jobs" in step.get_params(deep=False):
            step.set_params(n_jobs=1)


def main():
    out = open(sys.argv[1], "w") if len(sys.argv) > 1 else None
    for case in CASES:
        model_dir = os.path.join(case_dir(case), "model")
        try:
            pyfunc = mlflow.pyfunc.load_model(model_dir)
            raw = pyfunc.get_raw_model()
        except Exception as e:  # an old-env pickle this sklearn cannot read
            print(f"skipping {case}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        single_thread(raw)
        method = getattr(raw, case_json(case).get("pyfunc_predict_fn", "predict"))
        n_trees = trees(raw)
        for rows in ROWS:
            x = request_frame(case, rows)
            t_raw = time_call(lambda: method(x))
            t_pyfunc = time_call(lambda: pyfunc.predict(x))
            report(out, engine="sklearn", case=case, rows=rows, trees=n_trees, raw_s=t_raw,
                   pyfunc_s=t_pyfunc)


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()
