"""The repository's own MLflow model corpus: one case per flavor and family the tests need.

Every case is `examples/corpus/<case>/` holding

- `model/`: the directory real mlflow wrote (`mlflow.sklearn`, `mlflow.xgboost`,
  `mlflow.lightgbm` or `mlflow.onnx` `.save_model`);
- `request.json`: a KServe v2 request as a client sends it to MLServer's MLflow runtime (column
  models: one input per signature column, shape `[N, 1]`, `parameters.content_type` `pd`;
  tensor models: one input per named tensor, decoded by MLServer's `dict` codec);
- `expected.json`: what `mlflow.pyfunc.load_model(model).predict(<the decoded request>)`
  returned, encoded as MLServer's MLflow runtime encodes it (a 1-D array becomes `[N, 1]`;
  an ONNX ZipMap becomes an FP32 `[N, n_classes]` table), with the `rtol` / `atol` tests allow;
- `case.json`: estimator, data, serialization format, `predict_fn` and the library versions.

Case names end in the library environment that wrote them (`-new`, `-old`, `-legacy`, the
same three environments as the shared corpus the CI also runs); run this script once per
environment (see README.md):

    <venv>/bin/python examples/corpus/generate.py new|old|legacy

It rewrites the cases of that environment only, then `index.json` (every case present).
Data and estimators are seeded, so a rerun gives the same requests and predictions (MLmodel
gets a new `utc_time_created` / `model_uuid`).
"""

import inspect
import json
import math
import pathlib
import platform
import re
import shutil
import sys
import tempfile
import warnings

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import sklearn
from mlflow.models.signature import ModelSignature, infer_signature
from sklearn import datasets

warnings.filterwarnings("ignore")

ENV = sys.argv[1] if len(sys.argv) > 1 else ""
if ENV not in ("new", "old", "legacy"):
    sys.exit("usage: generate.py new|old|legacy")
ROOT = pathlib.Path(__file__).resolve().parent

# ---------------------------------------------------------------- versions


def _version(mod):
    try:
        return __import__(mod).__version__
    except ImportError:
        return None


def versions(*extra):
    out = {"name": ENV, "python": platform.python_version(), "mlflow": mlflow.__version__,
           "sklearn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__}
    for mod in ("scipy", "cloudpickle", "skops", *extra):
        v = _version(mod)
        if v:
            out[mod] = v
    return out


def requirements(*mods):
    """Pinned pip requirements (skips mlflow's slow requirement inference)."""
    names = {"sklearn": "scikit-learn"}
    reqs = [f"mlflow=={mlflow.__version__}"]
    for mod in ("sklearn", "numpy", "pandas", "scipy", "cloudpickle", *mods):
        v = _version(mod)
        if v:
            reqs.append(f"{names.get(mod, mod)}=={v}")
    return reqs


# ---------------------------------------------------------------- data sets


def snake(name):
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def split(x, y, seed, rows):
    """Shuffles with numpy's default_rng(seed): the first `rows` rows are the request, the
    rest the training set."""
    idx = np.random.default_rng(seed).permutation(len(x))
    req, train = idx[:rows], idx[rows:]
    y_train = None if y is None else y[train]
    return (x.iloc[train].reset_index(drop=True), y_train,
            x.iloc[req].reset_index(drop=True))


def bunch(loader, seed, rows, columns="snake", labels="int"):
    d = loader()
    names = [snake(c) if columns == "snake" else c for c in d.feature_names]
    x = pd.DataFrame(d.data, columns=names)
    if labels == "str":
        y = np.array(d.target_names, dtype=object)[d.target]
    else:
        y = d.target.astype(np.int64)  # diabetes' float targets are whole numbers
    return split(x, y, seed, rows)


def iris(seed, rows=12, **kw):
    return bunch(datasets.load_iris, seed, rows, **kw)


def wine(seed, rows=12, **kw):
    return bunch(datasets.load_wine, seed, rows, **kw)


def cancer(seed, rows=12, **kw):
    return bunch(datasets.load_breast_cancer, seed, rows, **kw)


def diabetes(seed, rows=12):
    return bunch(datasets.load_diabetes, seed, rows)


def classification(seed, n_features, n_classes, rows=12, n_samples=400):
    x, y = datasets.make_classification(
        n_samples=n_samples, n_features=n_features, n_classes=n_classes,
        n_informative=min(n_features, max(2, n_classes + 1)), n_redundant=0,
        random_state=seed)
    x = pd.DataFrame(x, columns=[f"f{i}" for i in range(n_features)])
    return split(x, y.astype(np.int64), seed, rows)


def regression(seed, n_features, noise=5.0, rows=12):
    x, y = datasets.make_regression(n_samples=300, n_features=n_features, noise=noise,
                                    random_state=seed)
    return split(pd.DataFrame(x, columns=[f"x{i}" for i in range(n_features)]), y, seed, rows)


def blobs(seed, n_features, centers, rows=10):
    x, _ = datasets.make_blobs(n_samples=300, n_features=n_features, centers=centers,
                               random_state=seed)
    return split(pd.DataFrame(x, columns=[f"coord_{i}" for i in range(n_features)]), None,
                 seed, rows)


def with_nans(data, seed, cols, frac):
    """Sets about `frac` of `cols` to NaN in the training set and the request."""
    x, y, req = data
    rng = np.random.default_rng(seed)
    x, req = x.copy(), req.copy()
    for c in cols:
        x.loc[rng.random(len(x)) < frac, c] = np.nan
        req.loc[rng.random(len(req)) < max(frac, 0.3), c] = np.nan
    return x, y, req


def retail(seed, rows=12, promo=False):
    """A synthetic mixed-dtype table: city (string), age (int64), income (float64),
    is_member (bool); label 1 for a likely buyer. Request row 0 has the unseen city 'oslo'."""
    n = 300
    rng = np.random.default_rng(seed)
    city = rng.choice(["berlin", "lisbon", "london", "madrid", "paris", "rome"], n)
    age = rng.integers(18, 80, n).astype(np.int64)
    income = np.round(rng.normal(52000, 14000, n), 2)
    member = rng.random(n) < 0.4
    score = (income / 10000 + member * 2.0 - np.abs(age - 45) / 15
             + (city == "paris") * 1.5 + rng.normal(0, 1.0, n))
    y = (score > np.median(score)).astype(np.int64)
    x = pd.DataFrame({"city": pd.Series(city, dtype=object), "age": age, "income": income,
                      "is_member": member})
    if promo:
        codes = np.array([f"A{i}" for i in rng.integers(10, 30, n)], dtype=object)
        x["promo_code"] = pd.Series(np.where(rng.random(n) < 0.15, codes, None), dtype=object)
    x_train, y_train, req = split(x, y, seed, rows)
    req.loc[0, "city"] = "oslo"
    return x_train, y_train, req


# ---------------------------------------------------------------- the v2 wire


def scalar(value, datatype):
    if datatype in ("FP32", "FP64"):
        f = float(value)
        if math.isnan(f):
            return None
        return float(str(np.float32(f))) if datatype == "FP32" else f
    if datatype == "BOOL":
        return bool(value)
    if datatype == "BYTES":
        return value.decode() if isinstance(value, bytes) else str(value)
    return int(value)


WIRE = {"float64": "FP64", "float32": "FP32", "int64": "INT64", "int32": "INT32",
        "bool": "BOOL"}


def datatype_of(arr):
    return "BYTES" if arr.dtype.kind in "OUS" else WIRE[str(arr.dtype)]


def tensor(name, arr, output=False):
    arr = np.asarray(arr)
    dt = datatype_of(arr)
    shape = list(arr.shape)
    if output and len(shape) == 1:
        shape.append(1)
    return {"name": name, "shape": shape, "datatype": dt,
            "data": [scalar(v, dt) for v in arr.reshape(-1).tolist()]}


def column_input(name, col, flat=False):
    """One request column as MLServer's `pd` content type receives it."""
    if pd.api.types.is_bool_dtype(col):
        dt, data = "BOOL", [bool(v) for v in col]
    elif pd.api.types.is_float_dtype(col):
        dt, data = "FP64", [None if np.isnan(v) else float(v) for v in col]
    elif pd.api.types.is_integer_dtype(col):
        dt, data = "INT64", [int(v) for v in col]
    else:
        dt, data = "BYTES", [str(v) for v in col]
    out = {"name": name, "shape": [len(col)] if flat else [len(col), 1], "datatype": dt}
    if dt == "BYTES":
        out["parameters"] = {"content_type": "str"}
    out["data"] = data
    return out


def decode_columns(request):
    """The DataFrame MLServer's pandas codec makes of a `pd` request."""
    cols = {}
    for inp in request["inputs"]:
        data, dt = inp["data"], inp["datatype"]
        if dt == "FP64":
            cols[inp["name"]] = np.array([np.nan if v is None else v for v in data], np.float64)
        elif dt == "INT64":
            cols[inp["name"]] = np.array(data, np.int64)
        elif dt == "BOOL":
            cols[inp["name"]] = np.array(data, np.bool_)
        else:
            cols[inp["name"]] = pd.Series(data, dtype=object)
    return pd.DataFrame(cols)


NUMPY = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64, "INT32": np.int32}


def decode_tensors(request):
    """The dict of arrays MLServer's `dict` codec makes of a tensor request."""
    return {i["name"]: np.array(i["data"], NUMPY[i["datatype"]]).reshape(i["shape"])
            for i in request["inputs"]}


def zipmap_table(value):
    if isinstance(value, list) and value and isinstance(value[0], dict):
        keys = list(value[0].keys())
        return np.array([[row[k] for k in keys] for row in value], np.float32)
    return value


def encode_outputs(pred):
    if isinstance(pred, dict):
        return [tensor(k, zipmap_table(v), output=True) for k, v in pred.items()]
    if isinstance(pred, pd.DataFrame):
        pred = pred.to_numpy()
    return [tensor("output-1", np.asarray(pred), output=True)]


def dumps(obj, indent=0):
    """json.dumps(indent=1) except that lists of scalars stay on one line."""
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad} {json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(not isinstance(x, (dict, list)) for x in obj):
            return json.dumps(obj, allow_nan=False)
        items = [f"{pad} {dumps(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, allow_nan=False)


def write_json(path, obj):
    path.write_text(dumps(obj) + "\n")


# ---------------------------------------------------------------- writing one case

CASES = []


def case(name, env, **meta):
    """Registers a builder for case `name`, made in environment `env`."""
    def wrap(fn):
        CASES.append((name, env, fn, meta))
        return fn
    return wrap


def describe(model):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    cls = type(model)
    path = f"{cls.__module__}.{cls.__qualname__}"
    if isinstance(model, Pipeline):
        return f"{path}({', '.join(f'{n}={describe(s)}' for n, s in model.steps)})"
    if isinstance(model, ColumnTransformer):
        parts = [f"{n}={describe(t)} on {list(c)}" for n, t, c in model.transformers
                 if not isinstance(t, str)]
        return f"{path}({', '.join(parts)}, remainder={model.remainder})"
    return path


def finish(name, out, model_dir, request, meta, tol, mods=()):
    """Predicts with mlflow.pyfunc on the decoded request and writes the case files."""
    tensor_kind = meta.get("signature_kind") == "tensor"
    decoded = decode_tensors(request) if tensor_kind else decode_columns(request)
    pred = mlflow.pyfunc.load_model(str(model_dir)).predict(decoded)
    outputs = encode_outputs(pred)
    write_json(out / "request.json", request)
    content = "dict" if tensor_kind else "pd"
    source = (f"mlflow.pyfunc.load_model('model').predict(<request.json decoded as MLServer's "
              f"MLflow runtime decodes it: content type '{content}'>) with "
              + ", ".join(f"{k} {v}" for k, v in versions(*mods).items() if k != "name"))
    write_json(out / "expected.json", {"outputs": outputs, "rtol": tol[0], "atol": tol[1],
                                       "source": source})
    rows = request["inputs"][0]["shape"][0]
    info = {"name": name, "flavor": meta.pop("flavor"), "estimator": meta.pop("estimator"),
            "env": versions(*mods), "signature_kind": meta.pop("signature_kind", "columns"),
            "request_rows": rows, "mlserver_content_type": content, **meta,
            "model_files": sorted(p.name for p in model_dir.iterdir())}
    write_json(out / "case.json", info)
    return pred


def exact_or(pred_kind_float, rtol=1e-5, atol=1e-6):
    return (rtol, atol) if pred_kind_float else (0.0, 0.0)


def save_sklearn(name, model, data, fmt="cloudpickle", predict_fn="predict", signature=True,
                 reverse=False, flat=False, drop=(), data_note="", notes=""):
    """Fits `model`, saves it with mlflow.sklearn and writes the case."""
    import mlflow.sklearn
    x, y, req = data
    model.fit(x, y) if y is not None else model.fit(x)
    out = ROOT / name
    model_dir = out / "model"
    kwargs = {"pip_requirements": requirements()}
    params = inspect.signature(mlflow.sklearn.save_model).parameters
    if "serialization_format" in params:
        kwargs["serialization_format"] = fmt
    if predict_fn != "predict":
        kwargs["pyfunc_predict_fn"] = predict_fn
    if signature:
        kwargs["signature"] = infer_signature(x, getattr(model, predict_fn)(x))
        # Rows with missing values first, when there are any: MLflow then writes its bare `NaN`
        # token into serving_input_example.json, as the shared corpus's examples have it.
        missing = x.isna().any(axis=1)
        kwargs["input_example"] = (pd.concat([x[missing], x[~missing]]) if missing.any() else x).head(3)
    if fmt == "skops":
        import skops.io
        kwargs["skops_trusted_types"] = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    out.mkdir(parents=True)
    mlflow.sklearn.save_model(model, str(model_dir), **kwargs)
    cols = [c for c in req.columns if c not in drop]
    if reverse:
        cols = cols[::-1]
    request = {"inputs": [column_input(c, req[c], flat) for c in cols],
               "parameters": {"content_type": "pd"}}
    direct = getattr(model, predict_fn)(req[[c for c in x.columns if c not in drop]]
                                        if drop else req)
    meta = {"flavor": "sklearn", "estimator": describe(model), "data": data_note,
            "serialization_format": fmt, "pyfunc_predict_fn": predict_fn, "notes": notes}
    if hasattr(model, "classes_"):
        meta["fitted_classes"] = [v.item() if hasattr(v, "item") else v for v in model.classes_]
    tol = exact_or(np.asarray(direct).dtype.kind == "f")
    pred = finish(name, out, model_dir, request, meta, tol)
    np.testing.assert_array_equal(np.asarray(pred).shape, np.asarray(direct).shape)
    if np.asarray(direct).dtype.kind == "f":
        np.testing.assert_allclose(np.asarray(pred), direct, rtol=1e-12)
    else:
        assert (np.asarray(pred) == direct).all(), name


FILE_FORMATS = {".ubj": "ubj", ".json": "json", ".xgb": "xgb", ".lgb": "lgb (LightGBM text model)",
                ".pkl": "cloudpickle", ".skops": "skops"}


def save_gbdt(name, flavor, model, data, data_note, notes="", model_format=None,
              serialization_format=None):
    """Fits an XGBoost / LightGBM model and saves it with mlflow.xgboost / mlflow.lightgbm."""
    x, y, req = data
    out = ROOT / name
    model_dir = out / "model"
    out.mkdir(parents=True)
    mod = __import__(f"mlflow.{flavor}", fromlist=["save_model"])
    kwargs = {"pip_requirements": requirements(flavor),
              "signature": infer_signature(x, model.predict(x)), "input_example": x.head(3)}
    if model_format:
        kwargs["model_format"] = model_format
    if serialization_format:
        kwargs["serialization_format"] = serialization_format
    mod.save_model(model, str(model_dir), **kwargs)
    request = {"inputs": [column_input(c, req[c]) for c in req.columns],
               "parameters": {"content_type": "pd"}}
    direct = np.asarray(model.predict(req))
    files = [p.name for p in model_dir.iterdir() if p.suffix in (".ubj", ".json", ".xgb", ".lgb",
                                                                 ".pkl", ".skops")
             and p.name not in ("input_example.json", "serving_input_example.json")]
    cls = type(model)
    fmt = FILE_FORMATS[pathlib.Path(files[0]).suffix]
    meta = {"flavor": flavor, "estimator": f"{cls.__module__}.{cls.__qualname__}",
            "data": data_note, "serialization_format": fmt, "pyfunc_predict_fn": "predict",
            "notes": notes, "model_file": files}
    tol = (1e-4, 1e-5) if direct.dtype == np.float32 else exact_or(direct.dtype.kind == "f")
    pred = finish(name, out, model_dir, request, meta, tol, mods=(flavor,))
    if direct.dtype.kind == "f":
        np.testing.assert_allclose(np.asarray(pred), direct, rtol=1e-6)
    else:
        assert (np.asarray(pred) == direct).all(), name


def save_onnx(name, model, request, signature, data_note, estimator, notes=""):
    import mlflow.onnx
    import onnx
    out = ROOT / name
    model_dir = out / "model"
    out.mkdir(parents=True)
    mlflow.onnx.save_model(model, str(model_dir), signature=signature,
                           pip_requirements=requirements("onnx", "onnxruntime", "skl2onnx"))
    m = onnx.load(str(model_dir / "model.onnx"), load_external_data=False)
    meta = {"flavor": "onnx", "estimator": estimator, "data": data_note, "signature_kind": "tensor",
            "serialization_format": "onnx", "pyfunc_predict_fn": "predict", "notes": notes,
            "onnx_ir_version": m.ir_version,
            "onnx_opsets": {(o.domain or "ai.onnx"): o.version for o in m.opset_import},
            "onnx_ops": sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in m.graph.node}),
            "onnx_external_data": {t.name: e.value for t in m.graph.initializer
                                   for e in t.external_data if e.key == "location"}}
    finish(name, out, model_dir, request, meta, (1e-4, 1e-5),
           mods=("onnx", "onnxruntime", "skl2onnx"))


# ---------------------------------------------------------------- scikit-learn cases


def sk():
    """scikit-learn's estimators, imported late (one import list for every environment)."""
    import sklearn.cluster as cluster
    import sklearn.compose as compose
    import sklearn.decomposition as decomposition
    import sklearn.ensemble as ensemble
    import sklearn.impute as impute
    import sklearn.linear_model as linear
    import sklearn.naive_bayes as nb
    import sklearn.neighbors as neighbors
    import sklearn.neural_network as nn
    import sklearn.pipeline as pipeline
    import sklearn.preprocessing as pre
    import sklearn.svm as svm
    import sklearn.tree as tree
    return type("sk", (), {**{k: getattr(m, k) for m in (
        cluster, compose, decomposition, ensemble, impute, linear, nb, neighbors, nn, pipeline,
        pre, svm, tree) for k in dir(m) if k[:1].isupper()}})


def retail_pipeline(seed, estimator, scaled=("age", "income"), remainder="passthrough"):
    s = sk()
    sparse = "sparse_output" if "sparse_output" in inspect.signature(
        s.OneHotEncoder).parameters else "sparse"
    prep = s.ColumnTransformer([
        ("onehot", s.OneHotEncoder(handle_unknown="ignore", **{sparse: False}), ["city"]),
        ("scale", s.StandardScaler(), list(scaled)),
    ], remainder=remainder)
    return s.Pipeline([("prep", prep), (estimator[0], estimator[1])])


CLOUDPICKLE_NEW = ("serialization_format='cloudpickle' given explicitly: mlflow 3.17's default "
                   "for sklearn is skops (see the skops cases).")
OLD = "mlflow 2.12 default sklearn format (cloudpickle)."
LEGACY = ("mlflow 1.30 default sklearn format (cloudpickle); signature ColSpecs have no "
          "\"required\".")


def rf(cls, n, depth, seed):
    return getattr(sk(), cls)(n_estimators=n, max_depth=depth, n_jobs=1, random_state=seed)


def snake_note(ds, seed, columns="snake", labels="int", extra=""):
    return f"sklearn.datasets.{ds} (columns {columns}, labels {labels}), seed {seed}{extra}"


def make_note(fn, **kw):
    return f"sklearn.datasets.{fn}({', '.join(f'{k}={v}' for k, v in kw.items())})"


# ---- new (mlflow 3.17, sklearn 1.9)

NEW_SIMPLE = [
    # name, estimator factory, data factory, data note, extra notes
    ("sk-linreg-diabetes-new", lambda s: s.LinearRegression(), lambda: diabetes(1),
     snake_note("load_diabetes", 1), ""),
    ("sk-lasso-diabetes-new", lambda s: s.Lasso(alpha=0.05), lambda: diabetes(2, rows=10),
     snake_note("load_diabetes", 2), ""),
    ("sk-elasticnet-synth-new", lambda s: s.ElasticNet(alpha=0.5, l1_ratio=0.3),
     lambda: regression(3, 8), make_note("make_regression", n_samples=300, n_features=8,
                                         noise=5.0, random_state=3), ""),
    ("sk-logreg-binary-new", lambda s: s.LogisticRegression(C=0.5, max_iter=5000),
     lambda: cancer(4, rows=15, columns="raw"), snake_note("load_breast_cancer", 4, "raw"),
     "Column names are sklearn's raw ones, with spaces ('mean radius')."),
    ("sk-logreg-multiclass-new", lambda s: s.LogisticRegression(max_iter=1000),
     lambda: iris(5), snake_note("load_iris", 5), ""),
    ("sk-sgd-classifier-new",
     lambda s: s.SGDClassifier(alpha=0.001, max_iter=2000, tol=1e-4, random_state=6),
     lambda: classification(6, 6, 3), make_note("make_classification", n_samples=400,
                                                n_features=6, n_classes=3, random_state=6), ""),
    ("sk-dtree-classifier-new", lambda s: s.DecisionTreeClassifier(max_depth=5, random_state=7),
     lambda: wine(7, rows=14), snake_note("load_wine", 7),
     "Wine's raw column 'od280/od315_of_diluted_wines' is snake_cased."),
    ("sk-rf-classifier-new", lambda s: rf("RandomForestClassifier", 30, 8, 8),
     lambda: cancer(8), snake_note("load_breast_cancer", 8), ""),
    ("sk-extratrees-classifier-new", lambda s: rf("ExtraTreesClassifier", 25, 8, 9),
     lambda: wine(9), snake_note("load_wine", 9), ""),
    ("sk-gb-classifier-binary-new",
     lambda s: s.GradientBoostingClassifier(n_estimators=40, random_state=10),
     lambda: cancer(10), snake_note("load_breast_cancer", 10), ""),
    ("sk-kmeans-new", lambda s: s.KMeans(n_clusters=4, n_init=10, random_state=14),
     lambda: blobs(14, 3, 4), make_note("make_blobs", n_samples=300, n_features=3, centers=4,
                                        random_state=14),
     "KMeans.predict returns int32 cluster ids (datatype INT32)."),
    ("sk-knn-classifier-new", lambda s: s.KNeighborsClassifier(),
     lambda: classification(15, 5, 3), make_note("make_classification", n_samples=400,
                                                 n_features=5, n_classes=3, random_state=15),
     "Continuous synthetic features, so no distance ties."),
    ("sk-svc-rbf-new", lambda s: s.SVC(), lambda: classification(16, 6, 2),
     make_note("make_classification", n_samples=400, n_features=6, n_classes=2,
               random_state=16), ""),
    ("sk-mlp-classifier-new",
     lambda s: s.MLPClassifier(hidden_layer_sizes=(16,), max_iter=800, random_state=17),
     lambda: iris(17, rows=10), snake_note("load_iris", 17), ""),
    ("sk-pipeline-scaler-logreg-new",
     lambda s: s.Pipeline([("scaler", s.StandardScaler()),
                           ("clf", s.LogisticRegression(max_iter=1000))]),
     lambda: wine(18), snake_note("load_wine", 18), ""),
    ("sk-string-labels-new", lambda s: s.LogisticRegression(max_iter=1000),
     lambda: iris(22, labels="str"), snake_note("load_iris", 22, labels="str"),
     "classes_ are the strings 'setosa', 'versicolor', 'virginica' (object dtype); "
     "predictions come back as BYTES."),
]

for _name, _est, _data, _note, _extra in NEW_SIMPLE:
    def _build(name=_name, est=_est, data=_data, note=_note, extra=_extra):
        save_sklearn(name, est(sk()), data(), data_note=note,
                     notes=f"{CLOUDPICKLE_NEW} {extra}".strip())
    case(_name, "new")(_build)


@case("sk-gb-regressor-new", "new")
def _():
    save_sklearn("sk-gb-regressor-new",
                 sk().GradientBoostingRegressor(n_estimators=50, random_state=11), diabetes(11),
                 reverse=True, data_note=snake_note("load_diabetes", 11),
                 notes=CLOUDPICKLE_NEW + " The request lists the columns in REVERSE signature "
                 "order: MLflow matches columns by name, so the server must too.")


@case("sk-hgb-classifier-new", "new")
def _():
    data = with_nans(classification(12, 8, 3, n_samples=600),
                     12, [f"f{i}" for i in range(7)], 0.05)
    save_sklearn("sk-hgb-classifier-new",
                 sk().HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=15,
                                                     random_state=12), data,
                 data_note=make_note("make_classification", n_samples=600, n_features=8,
                                     n_classes=3, random_state=12)
                 + ", 5% NaN in training, ~30% null in the request's f0..f6",
                 notes=CLOUDPICKLE_NEW + " NaN cells (JSON null in the request) go down the "
                 "missing-value branch HistGradientBoosting learned; the inferred signature "
                 "marks those columns optional.")


@case("sk-pipeline-imputer-minmax-ridge-new", "new")
def _():
    s = sk()
    cols = ["bmi", "bp", "s1", "s5"]
    save_sklearn("sk-pipeline-imputer-minmax-ridge-new",
                 s.Pipeline([("impute", s.SimpleImputer()), ("scale", s.MinMaxScaler()),
                             ("ridge", s.Ridge(alpha=0.5))]),
                 with_nans(diabetes(19), 19, cols, 0.1),
                 data_note=snake_note("load_diabetes", 19, extra=", NaN injected in "
                                      "bmi/bp/s1/s5"),
                 notes=CLOUDPICKLE_NEW + " The request has nulls (NaN) that SimpleImputer fills "
                 "with training means; columns that had NaN in training are optional in the "
                 "inferred signature.")


@case("sk-columntransformer-rf-mixed-new", "new")
def _():
    save_sklearn("sk-columntransformer-rf-mixed-new",
                 retail_pipeline(21, ("rf", rf("RandomForestClassifier", 20, 6, 21))),
                 retail(21), data_note="synthetic mixed-dtype table 'retail', seed 21",
                 notes=CLOUDPICKLE_NEW + " Mixed dtypes: city string (BYTES), age int64, "
                 "income float64, is_member bool; is_member reaches the forest through "
                 "remainder='passthrough'. Request row 0 has city 'oslo', unseen in training "
                 "(OneHotEncoder handle_unknown='ignore' -> all-zero one-hot).")


@case("sk-predict-proba-new", "new")
def _():
    save_sklearn("sk-predict-proba-new", rf("RandomForestClassifier", 20, 5, 23),
                 iris(23, rows=9), predict_fn="predict_proba",
                 data_note=snake_note("load_iris", 23),
                 notes=CLOUDPICKLE_NEW + " Saved with pyfunc_predict_fn='predict_proba': "
                 "pyfunc returns [N, 3] probabilities.")


@case("sk-optional-column-new", "new")
def _():
    model = retail_pipeline(24, ("clf", sk().LogisticRegression(max_iter=1000)),
                            scaled=("age", "income", "is_member"), remainder="drop")
    save_sklearn("sk-optional-column-new", model, retail(24, promo=True), drop=("promo_code",),
                 data_note="synthetic mixed-dtype table 'retail', seed 24, optional promo_code "
                 "column",
                 notes=CLOUDPICKLE_NEW + " promo_code is mostly None in training, so "
                 "infer_signature marks it \"required\": false; the model drops it "
                 "(ColumnTransformer remainder='drop'). The request OMITS promo_code: a server "
                 "must accept a request without an optional column.")


@case("sk-pickle-format-new", "new")
def _():
    save_sklearn("sk-pickle-format-new", rf("RandomForestRegressor", 20, 6, 25),
                 regression(25, 5), fmt="pickle",
                 data_note=make_note("make_regression", n_samples=300, n_features=5, noise=5.0,
                                     random_state=25),
                 notes="serialization_format='pickle' (plain pickle.dump instead of "
                 "cloudpickle.dump; protocol pickle.DEFAULT_PROTOCOL, 4 on Python 3.11).")


@case("sk-skops-rf-new", "new")
def _():
    save_sklearn("sk-skops-rf-new", rf("RandomForestClassifier", 20, 6, 26), iris(26),
                 fmt="skops", data_note=snake_note("load_iris", 26),
                 notes="mlflow 3.17's DEFAULT sklearn format, skops (model.skops: a zip of "
                 "schema.json + .npy files); skops_trusted_types in MLmodel lists the types skops "
                 "does not trust by default (sklearn.tree._tree.Tree).")


@case("sk-skops-pipeline-new", "new")
def _():
    s = sk()
    save_sklearn("sk-skops-pipeline-new",
                 s.Pipeline([("scaler", s.StandardScaler()),
                             ("clf", s.LogisticRegression(max_iter=1000))]),
                 cancer(27, rows=8), fmt="skops", data_note=snake_note("load_breast_cancer", 27),
                 notes="mlflow 3.17's default sklearn format, skops.")


@case("sk-no-signature-new", "new")
def _():
    save_sklearn("sk-no-signature-new", rf("RandomForestClassifier", 20, 6, 28),
                 wine(28, rows=10), signature=False, data_note=snake_note("load_wine", 28),
                 notes=CLOUDPICKLE_NEW + " Saved WITHOUT signature (and input example): the "
                 "request names the pandas codec itself (parameters.content_type 'pd'), columns "
                 "in training order.")


@case("sk-predict-log-proba-new", "new")
def _():
    save_sklearn("sk-predict-log-proba-new", sk().GaussianNB(var_smoothing=1e-8),
                 classification(29, 5, 3), predict_fn="predict_log_proba",
                 data_note=make_note("make_classification", n_samples=400, n_features=5,
                                     n_classes=3, random_state=29),
                 notes=CLOUDPICKLE_NEW + " pyfunc_predict_fn='predict_log_proba': pyfunc "
                 "returns [N, 3] log-probabilities.")


# ---- old (mlflow 2.12, sklearn 1.3)

OLD_SIMPLE = [
    ("sk-ridge-diabetes-old", lambda s: s.Ridge(alpha=1.0), lambda: diabetes(501),
     snake_note("load_diabetes", 501), {"flat": True},
     "The request gives each column shape [n] (1-D), as clients of MLServer < 1.6 had to."),
    ("sk-linreg-synth-old", lambda s: s.LinearRegression(), lambda: regression(502, 4, 2.0),
     make_note("make_regression", n_samples=300, n_features=4, noise=2.0, random_state=502), {},
     ""),
    ("sk-linearsvc-old", lambda s: s.LinearSVC(dual=True, max_iter=20000, random_state=503),
     lambda: classification(503, 6, 2), make_note("make_classification", n_samples=400,
                                                  n_features=6, n_classes=2, random_state=503),
     {}, ""),
    ("sk-rf-regressor-old", lambda s: rf("RandomForestRegressor", 20, 8, 504),
     lambda: regression(504, 6), make_note("make_regression", n_samples=300, n_features=6,
                                           noise=5.0, random_state=504), {}, ""),
    ("sk-gb-classifier-multiclass-old",
     lambda s: s.GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=505),
     lambda: iris(505), snake_note("load_iris", 505), {}, ""),
    ("sk-gaussian-nb-old", lambda s: s.GaussianNB(), lambda: iris(508, columns="raw"),
     snake_note("load_iris", 508, "raw"), {}, "Raw iris column names ('sepal length (cm)')."),
    ("sk-mlp-regressor-old",
     lambda s: s.MLPRegressor(hidden_layer_sizes=(16,), max_iter=2000, random_state=509),
     lambda: diabetes(509), snake_note("load_diabetes", 509), {}, ""),
    ("sk-pipeline-pca-logreg-old",
     lambda s: s.Pipeline([("pca", s.PCA(n_components=5)),
                           ("clf", s.LogisticRegression(max_iter=5000))]),
     lambda: wine(510), snake_note("load_wine", 510), {}, ""),
    ("sk-logreg-ovr-old", lambda s: s.LogisticRegression(multi_class="ovr", max_iter=1000),
     lambda: iris(511), snake_note("load_iris", 511), {},
     "multi_class='ovr' (one-vs-rest; the option was removed in later sklearn)."),
    ("sk-string-labels-svc-old",
     lambda s: s.Pipeline([("scale", s.StandardScaler()), ("svc", s.SVC())]),
     lambda: wine(513, labels="str"), snake_note("load_wine", 513, labels="str"), {},
     "String class labels 'class_0'..'class_2'."),
    ("sk-rf-classifier-old", lambda s: rf("RandomForestClassifier", 20, 6, 515),
     lambda: iris(515, columns="raw"), snake_note("load_iris", 515, "raw"), {},
     "sklearn 1.3 forest; raw iris column names."),
]

for _name, _est, _data, _note, _kw, _extra in OLD_SIMPLE:
    def _build(name=_name, est=_est, data=_data, note=_note, kw=_kw, extra=_extra):
        save_sklearn(name, est(sk()), data(), data_note=note, notes=f"{OLD} {extra}".strip(),
                     **kw)
    case(_name, "old")(_build)


@case("sk-hgb-regressor-old", "old")
def _():
    save_sklearn("sk-hgb-regressor-old",
                 sk().HistGradientBoostingRegressor(max_iter=30, max_leaf_nodes=15,
                                                    random_state=506),
                 with_nans(diabetes(506), 506, ["bmi", "bp"], 0.1),
                 data_note=snake_note("load_diabetes", 506, extra=", NaN in bmi/bp"),
                 notes=OLD + " Request has nulls (NaN -> missing-value branch).")


@case("sk-pickle-format-old", "old")
def _():
    save_sklearn("sk-pickle-format-old", sk().DecisionTreeClassifier(max_depth=6,
                                                                      random_state=512),
                 cancer(512), fmt="pickle", data_note=snake_note("load_breast_cancer", 512),
                 notes="serialization_format='pickle'. sklearn 1.3 Tree nodes dtype has 8 fields "
                 "incl. missing_go_to_left; numpy 1.26 pickles reference numpy.core.multiarray.")


@case("sk-columntransformer-rf-mixed-old", "old")
def _():
    save_sklearn("sk-columntransformer-rf-mixed-old",
                 retail_pipeline(514, ("rf", rf("RandomForestClassifier", 20, 6, 514))),
                 retail(514), data_note="synthetic mixed-dtype table 'retail', seed 514",
                 notes=OLD + " string/int64/float64/bool columns; sklearn 1.3 OneHotEncoder "
                 "(sparse_output).")


# ---- legacy (mlflow 1.30, sklearn 1.1)

LEGACY_SIMPLE = [
    ("sk-dtree-regressor-legacy",
     lambda s: s.DecisionTreeRegressor(max_depth=6, random_state=1001), lambda: diabetes(1001),
     snake_note("load_diabetes", 1001), {},
     "sklearn 1.1 Tree nodes dtype has 7 fields (no missing_go_to_left)."),
    ("sk-logreg-multiclass-legacy", lambda s: s.LogisticRegression(max_iter=1000),
     lambda: iris(1002, columns="raw"), snake_note("load_iris", 1002, "raw"), {},
     "Raw iris column names."),
    ("sk-pipeline-scaler-logreg-legacy",
     lambda s: s.Pipeline([("scaler", s.StandardScaler()),
                           ("clf", s.LogisticRegression(max_iter=1000))]),
     lambda: cancer(1003), snake_note("load_breast_cancer", 1003), {}, ""),
    ("sk-gb-classifier-binary-legacy",
     lambda s: s.GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=1004),
     lambda: classification(1004, 6, 2), make_note("make_classification", n_samples=400,
                                                   n_features=6, n_classes=2,
                                                   random_state=1004), {}, ""),
    ("sk-no-signature-legacy",
     lambda s: s.DecisionTreeClassifier(max_depth=4, random_state=1005),
     lambda: iris(1005, rows=6), snake_note("load_iris", 1005), {"signature": False},
     "No signature: the request carries parameters.content_type 'pd'."),
    ("sk-predict-proba-legacy",
     lambda s: s.GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=1007),
     lambda: cancer(1007, rows=10), snake_note("load_breast_cancer", 1007),
     {"predict_fn": "predict_proba"}, "pyfunc_predict_fn='predict_proba'."),
    ("sk-mlp-classifier-legacy",
     lambda s: s.MLPClassifier(hidden_layer_sizes=(12,), max_iter=1000, random_state=1008),
     lambda: classification(1008, 4, 3), make_note("make_classification", n_samples=400,
                                                   n_features=4, n_classes=3,
                                                   random_state=1008), {}, ""),
    ("sk-kmeans-legacy", lambda s: s.KMeans(n_clusters=3, n_init=10, random_state=1009),
     lambda: blobs(1009, 2, 3), make_note("make_blobs", n_samples=300, n_features=2, centers=3,
                                          random_state=1009), {}, "int32 cluster ids."),
    ("sk-ridge-legacy", lambda s: s.Ridge(alpha=0.5), lambda: diabetes(1010),
     snake_note("load_diabetes", 1010), {}, ""),
]

for _name, _est, _data, _note, _kw, _extra in LEGACY_SIMPLE:
    def _build(name=_name, est=_est, data=_data, note=_note, kw=_kw, extra=_extra):
        save_sklearn(name, est(sk()), data(), data_note=note, notes=f"{LEGACY} {extra}".strip(),
                     **kw)
    case(_name, "legacy")(_build)


@case("sk-knn-classifier-legacy", "legacy")
def _():
    save_sklearn("sk-knn-classifier-legacy", sk().KNeighborsClassifier(),
                 classification(1006, 3, 2), fmt="pickle",
                 data_note=make_note("make_classification", n_samples=400, n_features=3,
                                     n_classes=2, random_state=1006),
                 notes="serialization_format='pickle' on mlflow 1.30.")


@case("sk-columntransformer-rf-mixed-legacy", "legacy")
def _():
    save_sklearn("sk-columntransformer-rf-mixed-legacy",
                 retail_pipeline(1011, ("rf", rf("RandomForestClassifier", 20, 6, 1011))),
                 retail(1011), data_note="synthetic mixed-dtype table 'retail', seed 1011",
                 notes=LEGACY + " sklearn 1.1 OneHotEncoder (pre-'sparse_output'); pandas 1.5 "
                 "object string column; request row 0 has an unseen city.")


# ---------------------------------------------------------------- XGBoost and LightGBM


def xgb(cls, **kw):
    import xgboost
    return getattr(xgboost, cls)(n_jobs=1, random_state=0, **kw)


def fit(model, data):
    x, y, _ = data
    model.fit(x, y)
    return model


@case("xgb-classifier-binary-new", "new")
def _():
    data = cancer(301)
    save_gbdt("xgb-classifier-binary-new", "xgboost",
              fit(xgb("XGBClassifier", n_estimators=25), data), data,
              snake_note("load_breast_cancer", 301),
              notes="mlflow 3.17 default model_format 'ubj' (model.ubj, UBJSON). pyfunc calls "
              "XGBClassifier.predict -> int64 labels.")


@case("xgb-regressor-json-new", "new")
def _():
    data = diabetes(302)
    save_gbdt("xgb-regressor-json-new", "xgboost",
              fit(xgb("XGBRegressor", n_estimators=30), data), data,
              snake_note("load_diabetes", 302), model_format="json",
              notes="model_format='json' (model.json). Predictions are float32.")


@case("xgb-classifier-multiclass-new", "new")
def _():
    data = iris(305, columns="raw")
    save_gbdt("xgb-classifier-multiclass-new", "xgboost",
              fit(xgb("XGBClassifier", n_estimators=5), data), data,
              snake_note("load_iris", 305, "raw"), model_format="json",
              notes="multi:softprob with 3 classes (trees per round = 3), model_format='json'; "
              "raw iris column names with spaces and parentheses become xgboost feature names.")


@case("xgb-classifier-json-old", "old")
def _():
    data = cancer(801)
    save_gbdt("xgb-classifier-json-old", "xgboost",
              fit(xgb("XGBClassifier", n_estimators=20), data), data,
              snake_note("load_breast_cancer", 801), model_format="json",
              notes="xgboost 2.0, model_format='json'.")


@case("xgb-regressor-old", "old")
def _():
    data = regression(802, 5)
    save_gbdt("xgb-regressor-old", "xgboost", fit(xgb("XGBRegressor", n_estimators=20), data),
              data, make_note("make_regression", n_samples=300, n_features=5, noise=5.0,
                              random_state=802),
              notes="mlflow 2.12's default model_format 'xgb': with xgboost 2.0 model.xgb is the "
              "LEGACY binary format (starts with 'binf'), not JSON/UBJSON.")


def lgbm(cls, **kw):
    import lightgbm
    return getattr(lightgbm, cls)(n_jobs=1, verbose=-1, **kw)


@case("lgb-classifier-new", "new")
def _():
    data = wine(401)
    save_gbdt("lgb-classifier-new", "lightgbm",
              fit(lgbm("LGBMClassifier", n_estimators=20, num_leaves=8, learning_rate=0.2,
                       random_state=401), data), data, snake_note("load_wine", 401),
              notes="LGBMClassifier with mlflow 3.17's default format for sklearn-API LightGBM "
              "models: skops (model.skops); the Booster inside is kept as LightGBM's model "
              "string.")


@case("lgb-regressor-cloudpickle-new", "new")
def _():
    data = regression(402, 5)
    model = fit(lgbm("LGBMRegressor", n_estimators=30, num_leaves=12, random_state=402), data)
    save_gbdt("lgb-regressor-cloudpickle-new", "lightgbm", model, data,
              make_note("make_regression", n_samples=300, n_features=5, noise=5.0,
                        random_state=402),
              notes="LGBMRegressor saved as cloudpickle (model.pkl): the pickle holds the "
              "Booster's model string.", serialization_format="cloudpickle")


@case("lgb-classifier-old", "old")
def _():
    data = iris(902)
    save_gbdt("lgb-classifier-old", "lightgbm",
              fit(lgbm("LGBMClassifier", n_estimators=15, num_leaves=8, random_state=902), data),
              data, snake_note("load_iris", 902),
              notes="LGBMClassifier saved by mlflow 2.12 as model.pkl (cloudpickle).")


@case("lgb-booster-regressor-old", "old")
def _():
    import lightgbm
    x, y, req = diabetes(901)
    booster = lightgbm.train({"objective": "regression", "num_leaves": 8, "learning_rate": 0.1,
                              "seed": 901, "verbose": -1, "num_threads": 1},
                             lightgbm.Dataset(x, y.astype(np.float64)), num_boost_round=30)
    save_gbdt("lgb-booster-regressor-old", "lightgbm", booster, (x, y, req),
              snake_note("load_diabetes", 901),
              notes="Raw lightgbm.Booster saved as model.lgb (LightGBM text format).")


# ---------------------------------------------------------------- ONNX


def tensor_signature(inputs, outputs):
    """A named-tensor signature: [(name, dtype, shape)] for inputs and outputs."""
    from mlflow.types.schema import Schema, TensorSpec
    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(d), s, n) for n, d, s in inputs]),
        outputs=None if outputs is None else Schema([TensorSpec(np.dtype(d), s, n)
                                                     for n, d, s in outputs]))


def f32(a):
    return np.asarray(a, dtype=np.float32)


def tensor_request(**arrays):
    return {"inputs": [tensor(n, a) for n, a in arrays.items()]}


def helper_model(name, nodes, inputs, outputs, inits, opset, ir):
    from onnx import TensorProto, helper, numpy_helper
    types = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64}
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, types[t], s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, types[t], s) for n, t, s in outputs],
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="ironflow-examples-corpus")
    model.ir_version = ir
    return model


@case("onnx-mlp-new", "new")
def _():
    from onnx import helper
    rng = np.random.default_rng(204)
    sizes = [30, 32, 16, 2]
    inits, nodes, prev = {}, [], "input"
    for i in range(3):
        inits[f"W{i}"] = f32(rng.normal(0, 1 / math.sqrt(sizes[i]), (sizes[i], sizes[i + 1])))
        inits[f"B{i}"] = f32(rng.normal(0, 0.1, sizes[i + 1]))
        nodes += [helper.make_node("MatMul", [prev, f"W{i}"], [f"mm{i}"]),
                  helper.make_node("Add", [f"mm{i}", f"B{i}"], [f"z{i}"])]
        if i < 2:
            nodes.append(helper.make_node("Relu", [f"z{i}"], [f"h{i}"]))
            prev = f"h{i}"
    nodes.append(helper.make_node("Softmax", ["z2"], ["probabilities"], axis=-1))
    model = helper_model("mlp_30x32x16x2", nodes, [("input", np.float32, ["N", 30])],
                         [("probabilities", np.float32, ["N", 2])], inits, 17, 8)
    _, _, req = cancer(204, rows=10)
    save_onnx("onnx-mlp-new", model, tensor_request(input=f32(req.to_numpy() / 100)),
              tensor_signature([("input", "float32", (-1, 30))],
                               [("probabilities", "float32", (-1, 2))]),
              snake_note("load_breast_cancer", 204, extra=", features / 100"),
              "onnx.helper MLP 30-32-16-2 (MatMul, Add, Relu, Softmax), random weights",
              notes="Built with onnx.helper, opset 17, IR 8, batch dimension 'N' symbolic; "
              "mlflow.onnx saved the larger weights as external data.")


@case("onnx-conv-pool-gemm-old", "old")
def _():
    from onnx import helper
    rng = np.random.default_rng(206)
    inits = {"conv_W": f32(rng.normal(0, 0.3, (4, 1, 3, 3))), "conv_B": f32(rng.normal(0, 0.1, 4)),
             "fc_W": f32(rng.normal(0, 0.2, (64, 10))), "fc_B": f32(rng.normal(0, 0.1, 10))}
    nodes = [
        helper.make_node("Conv", ["image", "conv_W", "conv_B"], ["c"], kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc_W", "fc_B"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    model = helper_model("tiny_cnn_8x8", nodes, [("image", np.float32, ["N", 1, 8, 8])],
                         [("probabilities", np.float32, ["N", 10])], inits, 13, 7)
    digits = datasets.load_digits()
    idx = np.random.default_rng(206).permutation(len(digits.images))[:8]
    images = f32(digits.images[idx] / 16).reshape(8, 1, 8, 8)
    save_onnx("onnx-conv-pool-gemm-old", model, tensor_request(image=images),
              tensor_signature([("image", "float32", (-1, 1, 8, 8))],
                               [("probabilities", "float32", (-1, 10))]),
              "sklearn load_digits images / 16, [N,1,8,8]",
              "onnx.helper CNN: Conv(4x3x3, pad 1) Relu MaxPool(2x2) Flatten Gemm Softmax",
              notes="opset 13, IR 7, random weights.")


@case("onnx-two-inputs-two-outputs-new", "new")
def _():
    from onnx import helper
    rng = np.random.default_rng(205)
    inits = {"embedding": f32(rng.normal(0, 1, (5, 4))), "W": f32(rng.normal(0, 1, (4, 3))),
             "B": f32(rng.normal(0, 0.1, 3))}
    nodes = [
        helper.make_node("Gather", ["embedding", "category"], ["emb"], axis=0),
        helper.make_node("Add", ["dense", "emb"], ["h"]),
        helper.make_node("MatMul", ["h", "W"], ["hw"]),
        helper.make_node("Add", ["hw", "B"], ["logits"]),
        helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0),
    ]
    model = helper_model("two_inputs_two_outputs", nodes,
                         [("dense", np.float32, ["batch", 4]), ("category", np.int64, ["batch"])],
                         [("logits", np.float32, ["batch", 3]), ("label", np.int64, ["batch"])],
                         inits, 17, 8)
    dense = f32(rng.normal(0, 1, (7, 4)))
    category = rng.integers(0, 5, 7).astype(np.int64)
    save_onnx("onnx-two-inputs-two-outputs-new", model,
              tensor_request(dense=dense, category=category),
              tensor_signature([("dense", "float32", (-1, 4)), ("category", "int64", (-1,))],
                               [("logits", "float32", (-1, 3)), ("label", "int64", (-1,))]),
              "numpy default_rng(205) normals and ints",
              "onnx.helper graph: Gather(embedding, category) + dense -> MatMul -> Add -> "
              "logits; ArgMax -> label",
              notes="Two named inputs (FP32 [N,4], INT64 [N]) and two outputs (FP32 [N,3], "
              "INT64 [N]); MLServer decodes named tensors with its 'dict' codec.")


def skl2onnx_case(name, model, data, data_note, estimator, notes, zipmap=True,
                  named_outputs=False, infer_outputs=False):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    x, y, req = data
    model.fit(x.to_numpy(), y)
    n = x.shape[1]
    options = None if zipmap else {id(model): {"zipmap": False}}
    onx = convert_sklearn(model, initial_types=[("float_input", FloatTensorType([None, n]))],
                          options=options)
    outputs = None
    if named_outputs:
        outputs = [("label", "int64", (-1,)), ("probabilities", "float32", (-1, 3))]
    elif infer_outputs:
        sig = infer_signature(f32(x.to_numpy()), model.predict(x.to_numpy()))
        outputs = None
        signature = ModelSignature(
            inputs=tensor_signature([("float_input", "float32", (-1, n))], None).inputs,
            outputs=sig.outputs)
    if not infer_outputs:
        signature = tensor_signature([("float_input", "float32", (-1, n))], outputs)
    save_onnx(name, onx, tensor_request(float_input=f32(req.to_numpy())), signature, data_note,
              estimator, notes)


@case("onnx-skl-logreg-zipmap-new", "new")
def _():
    skl2onnx_case("onnx-skl-logreg-zipmap-new", sk().LogisticRegression(max_iter=1000),
                  iris(201), snake_note("load_iris", 201),
                  "skl2onnx(sklearn.linear_model.LogisticRegression)",
                  "skl2onnx defaults (ZipMap on): output_probability is a sequence of maps, "
                  "written to expected.json as an FP32 [N, 3] table. Signature as in the usual "
                  "tutorial: named input tensor, outputs inferred from sklearn's predict (one "
                  "unnamed int64 tensor, which does not describe the ONNX outputs).",
                  infer_outputs=True)


@case("onnx-skl-rf-zipmap-new", "new")
def _():
    skl2onnx_case("onnx-skl-rf-zipmap-new", rf("RandomForestClassifier", 10, 5, 202), cancer(202),
                  snake_note("load_breast_cancer", 202),
                  "skl2onnx(sklearn.ensemble.RandomForestClassifier)",
                  "skl2onnx defaults (ZipMap on).")


@case("onnx-skl-rf-nozipmap-new", "new")
def _():
    skl2onnx_case("onnx-skl-rf-nozipmap-new", rf("RandomForestClassifier", 10, 5, 203), wine(203),
                  snake_note("load_wine", 203),
                  "skl2onnx(sklearn.ensemble.RandomForestClassifier, zipmap=False)",
                  "zipmap disabled: skl2onnx then names the outputs 'label' (int64 [N]) and "
                  "'probabilities' (float32 [N, 3]). Explicit named tensor signature for inputs "
                  "and outputs.", zipmap=False, named_outputs=True)


@case("onnx-skl-logreg-nozipmap-old", "old")
def _():
    s = sk()
    skl2onnx_case("onnx-skl-logreg-nozipmap-old",
                  s.Pipeline([("scaler", s.StandardScaler()),
                              ("clf", s.LogisticRegression(max_iter=1000))]),
                  cancer(705, rows=10), snake_note("load_breast_cancer", 705),
                  "skl2onnx(Pipeline(StandardScaler, LogisticRegression), zipmap=False)",
                  "Binary LogisticRegression without ZipMap: outputs 'label' and "
                  "'probabilities' [N, 2].", zipmap=False)


@case("onnx-skl-scaler-linreg-old", "old")
def _():
    s = sk()
    skl2onnx_case("onnx-skl-scaler-linreg-old",
                  s.Pipeline([("scaler", s.StandardScaler()), ("lr", s.LinearRegression())]),
                  diabetes(701), snake_note("load_diabetes", 701),
                  "skl2onnx(Pipeline(StandardScaler, LinearRegression))",
                  "Scaler + LinearRegressor (ai.onnx.ml).")


# ---------------------------------------------------------------- main


def write_index():
    cases = []
    for d in sorted(p for p in ROOT.iterdir() if (p / "case.json").is_file()):
        info = json.loads((d / "case.json").read_text())
        size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
        cases.append({"name": info["name"], "flavor": info["flavor"],
                      "estimator": info["estimator"], "env": info["env"]["name"],
                      "serialization_format": info["serialization_format"],
                      "size_bytes": size})
    write_json(ROOT / "index.json", {
        "description": "MLflow models saved by real mlflow (see generate.py), each with a KServe "
                       "v2 request and the outputs mlflow.pyfunc produced for it, encoded as "
                       "MLServer's MLflow runtime encodes them.",
        "count": len(cases), "cases": cases})


def main():
    only = set(sys.argv[2:])
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(f"file://{tmp}/mlruns")
        for name, env, build, _ in CASES:
            if env != ENV or (only and name not in only):
                continue
            if (ROOT / name).exists():
                shutil.rmtree(ROOT / name)
            build()
            made.append(name)
    write_index()
    print(f"{ENV}: mlflow {mlflow.__version__}, sklearn {sklearn.__version__}: "
          f"{len(made)} cases")


if __name__ == "__main__":
    main()
