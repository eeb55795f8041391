"""Generates the schema-enforcement fixture model served by server/tests/it/codecs.rs.

A scikit-learn LinearRegression over three columns whose MLflow types are `float` (float32),
`integer` (int32) and `double` (float64), logged with a params schema, so the HTTP tests can
check MLflow's type-conversion rules (docs/compat.md §4.4) and params enforcement against a real
signature. Run with the fixtures venv (mlflow 3.17.2, scikit-learn 1.9.1):

    /work/venv-fixtures/bin/python examples/enforcement/generate.py

Writes `float-int-params/{model/, request.json, expected.json}`; `expected.json` is what
`mlflow.pyfunc.load_model(...).predict(df, params=...)` returns for `request.json`, encoded as
MLServer encodes a numpy array (1-D as `[N, 1]`).
"""

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.linear_model import LinearRegression

HERE = Path(__file__).resolve().parent
CASE = HERE / "float-int-params"

rng = np.random.default_rng(7)
n = 40
train = pd.DataFrame(
    {
        "x_float": rng.normal(size=n).astype(np.float32),
        "x_int": rng.integers(0, 10, size=n).astype(np.int32),
        "x_double": rng.normal(size=n).astype(np.float64),
    }
)
y = 1.5 * train["x_float"] - 0.25 * train["x_int"] + 2.0 * train["x_double"] + 0.5
model = LinearRegression().fit(train, y)

params = {"alpha": 0.5, "k": 3, "mode": "fast", "tags": ["a", "b"]}
signature = infer_signature(train, model.predict(train), params=params)

if CASE.exists():
    shutil.rmtree(CASE)
CASE.mkdir()
mlflow.sklearn.save_model(
    model,
    str(CASE / "model"),
    signature=signature,
    serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_PICKLE,
)

rows = pd.DataFrame(
    {
        "x_float": np.array([0.5, -1.25, 2.0], dtype=np.float32),
        "x_int": np.array([1, 4, 9], dtype=np.int32),
        "x_double": np.array([0.1, 0.2, -0.3], dtype=np.float64),
    }
)
request = {
    "inputs": [
        {"name": "x_float", "shape": [3, 1], "datatype": "FP32", "data": rows["x_float"].tolist()},
        {"name": "x_int", "shape": [3, 1], "datatype": "INT32", "data": rows["x_int"].tolist()},
        {"name": "x_double", "shape": [3, 1], "datatype": "FP64", "data": rows["x_double"].tolist()},
    ],
    "parameters": {"content_type": "pd", "alpha": 1, "mode": "slow"},
}
loaded = mlflow.pyfunc.load_model(str(CASE / "model"))
prediction = loaded.predict(rows, params={"alpha": 1, "mode": "slow"})
direct = model.predict(rows)
assert np.allclose(prediction, direct), (prediction, direct)

# The conversions MLflow refuses, checked here so the Rust tests assert real behaviour.
for column, values in [
    ("x_float", rows["x_float"].astype(np.float64)),  # float64 -> float32
    ("x_int", rows["x_int"].astype(np.float64)),  # float -> int
]:
    bad = rows.copy()
    bad[column] = values
    try:
        loaded.predict(bad)
    except mlflow.exceptions.MlflowException as e:
        assert "Incompatible input types" in str(e), e
    else:
        raise AssertionError(f"mlflow accepted {values.dtype} for {column}")
try:
    loaded.predict(rows, params={"k": 1.5})
except mlflow.exceptions.MlflowException as e:
    assert "Invalid parameters found" in str(e), e
else:
    raise AssertionError("mlflow accepted a float for a long param")

(CASE / "request.json").write_text(json.dumps(request, indent=1) + "\n")
expected = {
    "outputs": [
        {
            "name": "output-1",
            "shape": [len(prediction), 1],
            "datatype": "FP64",
            "data": [float(v) for v in prediction],
        }
    ],
    "rtol": 1e-6,
    "atol": 1e-8,
    "source": f"mlflow.pyfunc.load_model('model').predict(df, params=...) with mlflow {mlflow.__version__}",
}
(CASE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
print(json.dumps(expected))
