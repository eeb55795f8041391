"""Writes the bare model files KServe's storage initializer puts in /mnt/models for the
kserve-mlserver runtime (modelFormat sklearn, xgboost, lightgbm) and for the onnx format, plus
what the Python libraries answer for them, as MLServer 1.7.1's runtimes call them.

Each case is a folder holding one model file under one of MLServer's well-known names and an
`expected.json`:

    {"implementation": "mlserver_sklearn.SKLearnModel", "file": "model.joblib",
     "inputs": [[...], ...],                       # the request rows (float64)
     "outputs": {"predict": {"datatype": "INT64", "shape": [n, 1], "data": [...]},
                 "predict_proba": {...}},          # what each runtime output answers
     "v1": [...]}                                  # KServe's own server's `predictions`

The values are computed here with the real libraries, the way each runtime does it:
mlserver_sklearn: `joblib.load(file)` then `model.<output>(X)`; mlserver_xgboost:
`XGBRegressor().load_model(file)` (an sklearn-API classifier raises TypeError and is loaded as
`XGBClassifier`) then `.predict` / `.predict_proba`; mlserver_lightgbm:
`lightgbm.Booster(model_file=file).predict(X)`; onnx: onnxruntime. 1-D results are reported as
`[n, 1]` (MLServer's NumpyCodec). KServe's v1 servers: sklearnserver `model.predict(X)`,
xgbserver `Booster(model_file).predict(DMatrix(X))`, lgbserver `Booster.predict(X)`.

Run with the fixtures venv: /work/venv-fixtures/bin/python examples/kserve/models/generate.py
"""

import json
import os
import pickle
import shutil
import warnings

import joblib
import lightgbm as lgb
import numpy as np
import onnxruntime as ort
import sklearn
import xgboost as xgb
from skl2onnx import to_onnx
from sklearn.datasets import load_iris, load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 7


def datatype(arr):
    kind = {"f": "FP", "i": "INT", "u": "UINT", "b": "BOOL"}.get(arr.dtype.kind)
    if kind is None:
        return "BYTES"
    if kind == "BOOL":
        return kind
    return f"{kind}{arr.dtype.itemsize * 8}"


def tensor(arr, column=True):
    arr = np.asarray(arr)
    shape = list(arr.shape) if arr.ndim > 1 or not column else [arr.shape[0], 1]
    data = arr.reshape(-1)
    if arr.dtype.kind in "OUS":
        data = [str(x) for x in data]
    elif arr.dtype.kind == "f":
        data = [float(x) for x in data]
    elif arr.dtype.kind == "b":
        data = [bool(x) for x in data]
    else:
        data = [int(x) for x in data]
    return {"datatype": datatype(arr), "shape": shape, "data": data}


def v1(arr):
    arr = np.asarray(arr)
    if arr.dtype.kind in "OUS":
        return [str(x) for x in arr.reshape(-1)] if arr.ndim == 1 else arr.astype(str).tolist()
    return arr.tolist()


def case(name, implementation, file, inputs, outputs, v1_predictions, write):
    folder = os.path.join(HERE, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    path = os.path.join(folder, file)
    write(path)
    expected = {
        "implementation": implementation,
        "file": file,
        "inputs": np.asarray(inputs, dtype=np.float64).tolist(),
        "outputs": {k: tensor(v(path), implementation != "onnx") for k, v in outputs.items()},
        "v1": v1(v1_predictions(path)),
        "versions": {
            "sklearn": sklearn.__version__,
            "xgboost": xgb.__version__,
            "lightgbm": lgb.__version__,
            "joblib": joblib.__version__,
        },
    }
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


def sklearn_cases():
    iris = load_iris()
    X, y = iris.data, iris.target
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    rows = X[::15]
    # A forest (structured `nodes` arrays) with string labels (an object `classes_` array, which
    # joblib stores as a nested pickle).
    forest = RandomForestClassifier(n_estimators=4, max_depth=4, random_state=SEED).fit(X, names)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    diab = load_diabetes()
    reg = LinearRegression().fit(diab.data, diab.target)

    def sk(model, X_rows, proba=True):
        outs = {"predict": lambda p: joblib.load(p).predict(X_rows)}
        if proba:
            outs["predict_proba"] = lambda p: joblib.load(p).predict_proba(X_rows)
        return outs

    compressions = {
        "none": 0,
        "zlib": ("zlib", 3),
        "gzip": ("gzip", 3),
        "bz2": ("bz2", 3),
        "lzma": ("lzma", 3),
        "xz": ("xz", 3),
        "lz4": ("lz4", 3),
    }
    for tag, compress in compressions.items():
        case(
            f"sklearn-forest-joblib-{tag}",
            "mlserver_sklearn.SKLearnModel",
            "model.joblib",
            rows,
            sk(forest, rows),
            lambda p: joblib.load(p).predict(rows),
            lambda p, c=compress: joblib.dump(forest, p, compress=c),
        )
    case(
        "sklearn-pipeline-pickle",
        "mlserver_sklearn.SKLearnModel",
        "model.pkl",
        rows,
        sk(pipe, rows),
        lambda p: joblib.load(p).predict(rows),
        lambda p: pickle.dump(pipe, open(p, "wb"), protocol=4),
    )
    # A Fortran-ordered coefficient array, in an uncompressed joblib file named model.pickle.
    reg.coef_ = np.asfortranarray(reg.coef_)
    drows = diab.data[::50]
    case(
        "sklearn-linear-joblib-pickle-name",
        "mlserver_sklearn.SKLearnModel",
        "model.pickle",
        drows,
        sk(reg, drows, proba=False),
        lambda p: joblib.load(p).predict(drows),
        lambda p: joblib.dump(reg, p),
    )


def mlserver_xgb(path):
    try:
        model = xgb.XGBRegressor()
        model.load_model(path)
    except TypeError:
        model = xgb.XGBClassifier()
        model.load_model(path)
    return model


def xgb_cases():
    bc = load_breast_cancer()
    X, y = bc.data[:, :8], bc.target
    rows = X[::60]
    iris = load_iris()
    irows = iris.data[::15]

    def outs(rows, proba):
        o = {"predict": lambda p: mlserver_xgb(p).predict(rows)}
        if proba:
            o["predict_proba"] = lambda p: mlserver_xgb(p).predict_proba(rows)
        return o

    def booster_v1(rows):
        return lambda p: xgb.Booster(model_file=p).predict(xgb.DMatrix(rows))

    clf = xgb.XGBClassifier(n_estimators=5, max_depth=3, random_state=SEED).fit(X, y)
    case("xgboost-classifier-json", "mlserver_xgboost.XGBoostModel", "model.json", rows,
         outs(rows, True), booster_v1(rows), lambda p: clf.save_model(p))
    soft = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3},
                     xgb.DMatrix(iris.data, iris.target), num_boost_round=4)
    case("xgboost-softprob-booster-ubj", "mlserver_xgboost.XGBoostModel", "model.ubj", irows,
         outs(irows, False), booster_v1(irows), lambda p: soft.save_model(p))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = xgb.train({"objective": "reg:squarederror", "max_depth": 3},
                        xgb.DMatrix(X, y.astype(float)), num_boost_round=6)
        case("xgboost-regressor-booster-bst", "mlserver_xgboost.XGBoostModel", "model.bst", rows,
             outs(rows, False), booster_v1(rows), lambda p: reg.save_model(p))
    lin = xgb.train({"booster": "gblinear", "objective": "binary:logistic"},
                    xgb.DMatrix(X, y), num_boost_round=5)
    case("xgboost-gblinear-booster-json", "mlserver_xgboost.XGBoostModel", "model.json", rows,
         outs(rows, False), booster_v1(rows), lambda p: lin.save_model(p))
    linreg = xgb.XGBRegressor(booster="gblinear", n_estimators=4).fit(X, y.astype(float))
    case("xgboost-gblinear-regressor-ubj", "mlserver_xgboost.XGBoostModel", "model.ubj", rows,
         outs(rows, False), booster_v1(rows), lambda p: linreg.save_model(p))
    dart = xgb.XGBClassifier(booster="dart", n_estimators=5, max_depth=2, rate_drop=0.3,
                             random_state=SEED, objective="multi:softprob").fit(iris.data, iris.target)
    case("xgboost-dart-classifier-json", "mlserver_xgboost.XGBoostModel", "model.json", irows,
         outs(irows, True), booster_v1(irows), lambda p: dart.save_model(p))


def lgb_cases():
    bc = load_breast_cancer()
    X, y = bc.data[:, :8], bc.target
    rows = X[::60]
    iris = load_iris()
    irows = iris.data[::15]
    params = {"verbose": -1, "num_leaves": 7, "seed": SEED}

    def outs(rows):
        return {"predict": lambda p: lgb.Booster(model_file=p).predict(rows)}

    def booster_v1(rows):
        return lambda p: lgb.Booster(model_file=p).predict(rows)

    binary = lgb.train({**params, "objective": "binary"}, lgb.Dataset(X, y), num_boost_round=6)
    case("lightgbm-binary-bst", "mlserver_lightgbm.LightGBMModel", "model.bst", rows,
         outs(rows), booster_v1(rows), lambda p: binary.save_model(p))
    multi = lgb.train({**params, "objective": "multiclass", "num_class": 3},
                      lgb.Dataset(iris.data, iris.target), num_boost_round=4)
    case("lightgbm-multiclass-bst", "mlserver_lightgbm.LightGBMModel", "model.bst", irows,
         outs(irows), booster_v1(irows), lambda p: multi.save_model(p))


def onnx_cases():
    iris = load_iris()
    X = iris.data.astype(np.float32)
    rows = X[::15]
    clf = LogisticRegression(max_iter=500).fit(X, iris.target)
    onx = to_onnx(clf, X[:1], options={id(clf): {"zipmap": False}})

    def run(p, name):
        sess = ort.InferenceSession(p)
        got = dict(zip([o.name for o in sess.get_outputs()],
                       sess.run(None, {sess.get_inputs()[0].name: rows})))
        return got[name]

    def write(p):
        with open(p, "wb") as f:
            f.write(onx.SerializeToString())

    case("onnx-logreg", "onnx", "model.onnx", rows,
         {"label": lambda p: run(p, "label"), "probabilities": lambda p: run(p, "probabilities")},
         lambda p: run(p, "label"), write)


if __name__ == "__main__":
    sklearn_cases()
    xgb_cases()
    lgb_cases()
    onnx_cases()


def hostile_cases():
    """joblib files with broken NumpyArrayWrapper records (the Rust tests expect clear errors)."""
    import copyreg

    class NumpyArrayWrapper:
        pass

    NumpyArrayWrapper.__module__ = "joblib.numpy_pickle"
    NumpyArrayWrapper.__qualname__ = "NumpyArrayWrapper"

    def wrapper(state):
        w = NumpyArrayWrapper()
        w.__dict__.update(state)
        return w

    def reduce_ex(self, protocol):
        return (copyreg.__newobj__, (NumpyArrayWrapper,), self.__dict__)

    NumpyArrayWrapper.__reduce_ex__ = reduce_ex
    import sys
    import types

    mod = types.ModuleType("joblib.numpy_pickle")
    mod.NumpyArrayWrapper = NumpyArrayWrapper
    saved = sys.modules.get("joblib.numpy_pickle")
    sys.modules["joblib.numpy_pickle"] = mod
    folder = os.path.join(HERE, "hostile")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    f8 = np.dtype("f8")
    base = {"subclass": np.ndarray, "order": "C", "dtype": f8, "allow_mmap": False,
            "numpy_array_alignment_bytes": None}
    cases = {
        "huge-shape": ({**base, "shape": (1 << 40, 1 << 40)}, b"\0" * 16),
        "short-data": ({**base, "shape": (1000,)}, b"\0" * 16),
        "negative-shape": ({**base, "shape": (-1,)}, b"\0" * 16),
        "bad-order": ({**base, "shape": (2,), "order": "X"}, b"\0" * 16),
        "matrix-subclass": ({**base, "shape": (2,), "subclass": np.matrix}, b"\0" * 16),
        "padding-past-end": ({**base, "shape": (2,), "numpy_array_alignment_bytes": 16}, b"\xff"),
    }
    try:
        for name, (state, tail) in cases.items():
            data = pickle.dumps(wrapper(state), protocol=4)
            # The wrapper's bytes follow its BUILD, before STOP.
            assert data.endswith(b"b.")
            with open(os.path.join(folder, f"{name}.joblib"), "wb") as f:
                f.write(data[:-1] + tail + b".")
    finally:
        if saved is not None:
            sys.modules["joblib.numpy_pickle"] = saved


if __name__ == "__main__":
    hostile_cases()
