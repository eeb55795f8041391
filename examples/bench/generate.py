#!/usr/bin/env python3
"""Generate the bench-only models under examples/bench/ (not test fixtures).

bc-rf-100x10: the baseline RandomForest of /work/shared/baselines/make_models.py (`bc_rf`):
breast cancer, 30 features, RandomForestClassifier(n_estimators=100, max_depth=10,
random_state=0), saved as an MLflow sklearn model (cloudpickle, like the corpus' sk-rf cases),
with a 12-row v2 request (one FP64 input per column) that the benches tile to 1/100/10,000 rows.
The corpus forests have 20-30 trees of depth 6-8; this is the 100-tree, depth-10 size the
issue's compute target names.

usage (from the repository root): /work/venv-fixtures/bin/python examples/bench/generate.py
"""
import json
import os
import shutil

os.environ.setdefault("MLFLOW_TRACKING_URI", "file:///tmp/ironflow-fixtures-mlruns")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow.sklearn  # noqa: E402
import sklearn  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def bc_rf(out):
    d = load_breast_cancer(as_frame=True)
    X = d.data.astype("float64")
    X.columns = [c.replace(" ", "_") for c in X.columns]
    y = d.target
    m = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0, n_jobs=1).fit(X, y)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    sig = infer_signature(X, m.predict(X))
    mlflow.sklearn.save_model(m, os.path.join(out, "model"), signature=sig,
                              serialization_format="cloudpickle")
    rows = X.sample(12, random_state=8)
    request = {
        "parameters": {"content_type": "pd"},
        "inputs": [
            {"name": c, "shape": [len(rows), 1], "datatype": "FP64",
             "data": [float(v) for v in rows[c].tolist()]}
            for c in X.columns
        ],
    }
    with open(os.path.join(out, "request.json"), "w") as f:
        json.dump(request, f, indent=1)
    depths = [e.tree_.max_depth for e in m.estimators_]
    nodes = [e.tree_.node_count for e in m.estimators_]
    case = {
        "name": "bc-rf-100x10",
        "flavor": "sklearn",
        "estimator": "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn": sklearn.__version__,
        "mlflow": mlflow.__version__,
        "pyfunc_predict_fn": "predict",
        "trees": len(m.estimators_),
        "max_depth": [min(depths), max(depths)],
        "mean_nodes": sum(nodes) / len(nodes),
        "notes": "bench-only: the baseline bc_rf of shared/baselines/make_models.py",
    }
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump(case, f, indent=1)
    print(case)


if __name__ == "__main__":
    bc_rf(os.path.join(HERE, "bc-rf-100x10"))
