"""Writes XGBoost models in the legacy binary format (what `Booster.save_model("model.bst")`
wrote up to xgboost 2.0; xgboost 2.1 made UBJSON the default and 3.0 dropped the format), as
KServe users still hold them under `/mnt/models/model.bst`, with the answers of the xgboost that
wrote them. Same folder layout and `expected.json` as generate.py (which needs xgboost 3.2 and
cannot write this format).

Cases: a `gblinear` booster (binary:logistic; `gblinear` was readable only from JSON/UBJSON
before), a 3-class `gblinear` (multi:softprob), and a `gbtree` regressor whose `base_score` is
not 0.5 (the base margin's float order, asserted bit-exact).

Run with a venv pinned to the last xgboost that writes the format:

    python3.11 -m venv /tmp/xgb-legacy && /tmp/xgb-legacy/bin/pip install \\
        xgboost==2.0.3 numpy==1.26.4 scipy==1.11.4 scikit-learn==1.3.2
    /tmp/xgb-legacy/bin/python examples/kserve/models/generate_legacy.py
"""

import json
import os
import shutil
import warnings

import numpy as np
import sklearn
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 7


def tensor(arr):
    arr = np.asarray(arr)
    assert arr.dtype.kind == "f", arr.dtype
    shape = list(arr.shape) if arr.ndim > 1 else [arr.shape[0], 1]
    return {"datatype": f"FP{arr.dtype.itemsize * 8}", "shape": shape,
            "data": [float(x) for x in arr.reshape(-1)]}


def mlserver_xgb(path):
    # mlserver_xgboost 1.7.1 `_load_sklearn_interface`: XGBRegressor, XGBClassifier on TypeError.
    try:
        model = xgb.XGBRegressor()
        model.load_model(path)
    except TypeError:
        model = xgb.XGBClassifier()
        model.load_model(path)
    return model


def case(name, booster, rows):
    folder = os.path.join(HERE, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    path = os.path.join(folder, "model.bst")
    with warnings.catch_warnings():
        # xgboost 2.0 warns that the binary format is deprecated: writing it is the point.
        warnings.simplefilter("ignore")
        booster.save_model(path)
    with open(path, "rb") as f:
        head = f.read(4)
    assert head[:1] not in (b"{", b"["), "not the legacy binary format"
    expected = {
        "implementation": "mlserver_xgboost.XGBoostModel",
        "file": "model.bst",
        "inputs": np.asarray(rows, dtype=np.float64).tolist(),
        "outputs": {"predict": tensor(mlserver_xgb(path).predict(rows))},
        # xgbserver: Booster(model_file=...).predict(DMatrix(X)).
        "v1": xgb.Booster(model_file=path).predict(xgb.DMatrix(rows)).tolist(),
        "versions": {"xgboost": xgb.__version__, "numpy": np.__version__,
                     "sklearn": sklearn.__version__},
    }
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


def main():
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(300, 6)) * np.array([1.0, 10.0, 0.1, 3.0, 100.0, 1.0])
    logit = X[:, 0] - 0.2 * X[:, 1] + 8 * X[:, 2] + 0.01 * X[:, 4]
    y = (logit + rng.normal(size=300) > 0).astype(float)
    rows = X[::30]

    lin = xgb.train({"booster": "gblinear", "objective": "binary:logistic", "seed": SEED},
                    xgb.DMatrix(X, y), num_boost_round=6)
    case("xgboost-gblinear-booster-legacy-bst", lin, rows)

    y3 = np.digitize(logit, np.quantile(logit, [1 / 3, 2 / 3]))
    lin3 = xgb.train({"booster": "gblinear", "objective": "multi:softprob", "num_class": 3,
                      "seed": SEED}, xgb.DMatrix(X, y3), num_boost_round=5)
    case("xgboost-gblinear-softprob-legacy-bst", lin3, rows)

    target = 3.0 + 0.5 * X[:, 0] - 0.1 * X[:, 3] + rng.normal(size=300) * 0.1
    reg = xgb.train({"objective": "reg:squarederror", "max_depth": 3, "seed": SEED},
                    xgb.DMatrix(X, target), num_boost_round=7)
    case("xgboost-regressor-booster-legacy-bst", reg, rows)


if __name__ == "__main__":
    main()
