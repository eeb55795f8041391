"""Generates the optional-column / null-cell fixture (issue 14's seed case) served by
server/tests/it/invocations.rs.

A scikit-learn Pipeline (OneHotEncoder over two string columns, one of them optional; the numeric
and boolean columns passed through) into a HistGradientBoostingClassifier, which takes NaN, logged
with a signature inferred by mlflow from training data whose `promo_code`, `score` and `flag`
columns are mostly missing, so `infer_signature` marks them `"required": false`. Run with the
fixtures venv (mlflow 3.17.2, scikit-learn 1.9.1):

    /work/venv-fixtures/bin/python examples/enforcement/generate_nulls.py

Writes `optional-nulls/{model/, cases.json}`. Each case is an `/invocations` JSON body and what
MLflow's own scoring server (`mlflow.pyfunc.scoring_server.invocations`) answered for it: the HTTP
status and, for a 200, the predictions. Cases: optional columns left out (split, records, dict),
JSON nulls in optional and required columns of each type (string, boolean, double, long), and the
same columns sent in another order.
"""

import json
import logging
import shutil
import warnings
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from mlflow.pyfunc import scoring_server
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

HERE = Path(__file__).resolve().parent
CASE = HERE / "optional-nulls"

rng = np.random.default_rng(14)
n = 200
cities = np.array(["oslo", "rome", "paris", "lisbon"], dtype=object)
city = cities[rng.integers(0, len(cities), size=n)]
age = rng.integers(18, 80, size=n).astype(np.int64)
score = rng.normal(size=n)
flag = rng.integers(0, 2, size=n).astype(bool)
promo = np.where(rng.random(n) < 0.3, np.array(["A", "B"], dtype=object)[rng.integers(0, 2, size=n)], None)
y = ((city == "rome") | (age > 60) | (score > 0.8) | (promo == "A")).astype(np.int64)
train = pd.DataFrame(
    {
        "city": city,
        "age": age,
        "score": pd.Series(np.where(rng.random(n) < 0.2, np.nan, score), dtype="float64"),
        "flag": pd.Series(np.where(rng.random(n) < 0.2, None, flag), dtype="object"),
        "promo_code": pd.Series(promo, dtype="object"),
    }
)
model = Pipeline(
    [
        (
            "prep",
            ColumnTransformer(
                [
                    ("onehot", OneHotEncoder(handle_unknown="ignore"), ["city", "promo_code"]),
                    ("num", "passthrough", ["age", "score"]),
                ],
                remainder="drop",
            ),
        ),
        ("clf", HistGradientBoostingClassifier(max_iter=30, random_state=0)),
    ]
)
model.fit(train, y)
signature = infer_signature(train, model.predict(train))
inputs = {c["name"]: c for c in signature.inputs.to_dict()}
assert inputs["promo_code"]["required"] is False, inputs
assert inputs["score"]["required"] is False, inputs
assert inputs["city"]["required"] is True, inputs

if CASE.exists():
    shutil.rmtree(CASE)
CASE.mkdir()
mlflow.sklearn.save_model(
    model,
    str(CASE / "model"),
    signature=signature,
    serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
)
loaded = mlflow.pyfunc.load_model(str(CASE / "model"))
schema = loaded.metadata.get_input_schema()

columns = ["city", "age", "score", "flag", "promo_code"]
rows = [
    ["oslo", 30, -0.5, True, "A"],
    ["rome", 25, 0.1, False, None],
    ["paris", 70, 0.2, True, "B"],
    ["lisbon", 40, 1.5, False, None],
    ["paris", 35, -1.0, True, "A"],
    ["oslo", 22, 0.0, False, "B"],
]


def split(cols, data):
    return {"dataframe_split": {"columns": cols, "data": data}}


def without(col):
    j = columns.index(col)
    return split([c for c in columns if c != col], [[v for i, v in enumerate(r) if i != j] for r in rows])


def with_null(col, at=(1, 3)):
    j = columns.index(col)
    data = [list(r) for r in rows]
    for i in at:
        data[i][j] = None
    return split(columns, data)


bodies = {
    "all columns": split(columns, rows),
    "optional string column left out": without("promo_code"),
    "optional double column left out": without("score"),
    "optional boolean column left out": without("flag"),
    "required string column left out": without("city"),
    "required long column left out": without("age"),
    "null in an optional string column": with_null("promo_code", at=(0, 2)),
    "only nulls in an optional string column": with_null("promo_code", at=range(len(rows))),
    "null in a required string column": with_null("city"),
    "null in an optional double column": with_null("score"),
    "null in an optional boolean column": with_null("flag"),
    "null in a required long column": with_null("age"),
    "records without the optional columns": {
        "dataframe_records": [{"city": r[0], "age": r[1]} for r in rows]
    },
    "records with null optional cells": {
        "dataframe_records": [dict(zip(columns, r[:4] + [None])) for r in rows]
    },
    "columns in another order": split(columns[::-1], [r[::-1] for r in rows]),
    "inputs dict without the optional columns": {
        "inputs": {"city": [r[0] for r in rows], "age": [r[1] for r in rows]}
    },
}

cases = []
for name, body in bodies.items():
    text = json.dumps(body)
    try:
        answer = scoring_server.invocations(text, "application/json", loaded, schema)
        status, predictions = answer.status, json.loads(answer.response)["predictions"]
    except mlflow.exceptions.MlflowException as e:
        status, predictions = e.get_http_status_code(), None
    cases.append({"name": name, "body": body, "status": status, "predictions": predictions})
    print(f"{status} {name}: {predictions}")

# The rows must tell the classes apart, or a wrong answer could pass.
assert len(set(cases[0]["predictions"])) == 2, cases[0]
(CASE / "cases.json").write_text(
    json.dumps(
        {
            "source": f"mlflow.pyfunc.scoring_server.invocations with mlflow {mlflow.__version__}, "
            f"scikit-learn {__import__('sklearn').__version__}, pandas {pd.__version__}",
            "cases": cases,
        },
        indent=1,
    )
    + "\n"
)
