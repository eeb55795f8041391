"""Real MLflow sklearn model directories for ironflow's per-family example tests.

Every case is `<env>/<case>/` holding

- `model/`: the directory `mlflow.sklearn.save_model` wrote (cloudpickle, pickle or skops);
- `request.json`: a KServe v2 request as MLServer's `pd` content type receives it: one input
  per signature column, shape `[N, 1]`, FP64 for float columns (missing values as null),
  INT64 for integer columns, BYTES for strings;
- `expected.json`: what `mlflow.pyfunc.load_model(model).predict(df)` returned for that request,
  encoded the way MLServer's MLflow runtime encodes a numpy array (a 1-D result becomes
  `[N, 1]`; int64 -> INT64, int32 -> INT32, float64 -> FP64, strings -> BYTES), with the
  tolerances the Rust test applies to floats (labels compare exactly);
- `case.json`: the estimator, serialization format, `predict_fn` and library versions.

`df` is rebuilt from `request.json` exactly as MLServer's pandas codec would, and the pyfunc
result is checked against calling the fitted estimator directly before anything is written.

Usage (one venv per environment, see README.md):

    <venv>/bin/python examples/sklearn/generate.py v1_9

It removes and rewrites `examples/sklearn/<env>/` and skips what a version lacks: `-skops`
variants need mlflow >= 3.14, `logreg-ovr` needs `LogisticRegression(multi_class=...)`
(sklearn < 1.8), `-proba` cases need `save_model(pyfunc_predict_fn=...)`.
"""

import inspect
import json
import pathlib
import platform
import re
import shutil
import sys
import warnings

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
from mlflow.models.signature import infer_signature
from sklearn import datasets
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Perceptron,
    Ridge,
    RidgeClassifier,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

warnings.filterwarnings("ignore")

ENV = sys.argv[1]
ROOT = pathlib.Path(__file__).resolve().parent / ENV
SK = tuple(int(p) for p in sklearn.__version__.split(".")[:2])
MLFLOW = tuple(int(p) for p in mlflow.__version__.split(".")[:2])
SAVE_PARAMS = inspect.signature(mlflow.sklearn.save_model).parameters
HAS_PREDICT_FN = "pyfunc_predict_fn" in SAVE_PARAMS
HAS_SKOPS = MLFLOW >= (3, 14)
HAS_OVR = "multi_class" in inspect.signature(LogisticRegression).parameters
# Every case is saved as cloudpickle (mlflow's default up to 3.13; from 3.14 on the default is
# skops, which stores each array as its own .npy in a zip and is several times larger), and some
# also as pickle and skops (suffix `-pickle`, `-skops`).
PRIMARY_FORMAT = "cloudpickle"
N_ROWS = 12
RTOL, ATOL = 1e-6, 1e-8


def versions():
    out = {"python": platform.python_version(), "mlflow": mlflow.__version__,
           "sklearn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__}
    for mod in ("scipy", "cloudpickle", "skops"):
        try:
            out[mod] = __import__(mod).__version__
        except ImportError:
            pass
    return out


# ---------------------------------------------------------------- data sets (train, request)


def split(x, y, seed, n=N_ROWS):
    """Shuffles with `seed`; the first `n` rows are the request, the rest train."""
    idx = np.random.RandomState(seed).permutation(len(x))
    test, train = idx[:n], idx[n:]
    return x.iloc[train].reset_index(drop=True), y[train], x.iloc[test].reset_index(drop=True)


def iris(seed, labels="int"):
    d = datasets.load_iris()
    x = pd.DataFrame(d.data, columns=["sepal_length_cm", "sepal_width_cm", "petal_length_cm",
                                      "petal_width_cm"])
    y = d.target.astype(np.int64)
    if labels == "str":
        y = np.array(d.target_names, dtype=object)[d.target]
    return split(x, y, seed)


def diabetes(seed):
    d = datasets.load_diabetes()
    x = pd.DataFrame(d.data, columns=["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5",
                                      "s6"])
    return split(x, d.target.astype(np.float64), seed)


def binary(seed, n_features=6):
    x, y = datasets.make_classification(n_samples=300, n_features=n_features, n_informative=4,
                                        n_redundant=1, n_classes=2, random_state=seed)
    return split(pd.DataFrame(x, columns=[f"f{i}" for i in range(n_features)]),
                 y.astype(np.int64), seed)


def multiclass(seed, n_features=6, n_classes=4):
    x, y = datasets.make_classification(n_samples=400, n_features=n_features, n_informative=5,
                                        n_redundant=1, n_classes=n_classes, random_state=seed)
    return split(pd.DataFrame(x, columns=[f"f{i}" for i in range(n_features)]),
                 y.astype(np.int64), seed)


def regression(seed, n_features=6):
    x, y = datasets.make_regression(n_samples=300, n_features=n_features, n_informative=5,
                                    noise=5.0, random_state=seed)
    return split(pd.DataFrame(x, columns=[f"x{i}" for i in range(n_features)]), y, seed)


def with_nans(x, seed, cols, frac=0.3):
    """Sets about `frac` of `cols` to NaN (train and request alike)."""
    x = x.copy()
    rng = np.random.RandomState(seed)
    for c in cols:
        x.loc[rng.rand(len(x)) < frac, c] = np.nan
    return x


def mixed(seed, n=300):
    """A mixed-dtype table: string, int64 and float64 columns; target a float."""
    rng = np.random.RandomState(seed)
    city = rng.choice(["berlin", "lisbon", "madrid", "paris", "rome"], n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    rooms = rng.randint(1, 5, n).astype(np.int64)
    age = rng.randint(18, 80, n).astype(np.int64)
    income = np.round(rng.normal(50000, 12000, n), 2)
    x = pd.DataFrame({"city": city.astype(object), "plan": plan.astype(object), "rooms": rooms,
                      "age": age, "income": income})
    y = (income / 1000 + 3 * rooms + (city == "paris") * 10 + (plan == "pro") * 7
         + rng.normal(0, 2, n))
    train, y_train, test = split(x, y, seed)
    # An unseen city exercises handle_unknown='ignore'.
    test.loc[3, "city"] = "oslo"
    return train, y_train, test


# ---------------------------------------------------------------- cases


CASES = []


def case(name, formats=(), proba=False):
    """Registers a builder returning (fitted model, x_train, x_request), or None where the
    version lacks the estimator; `formats` are saved besides cloudpickle, `proba` adds a
    `-proba` case saved with `pyfunc_predict_fn="predict_proba"`."""
    def wrap(fn):
        CASES.append((name, fn, formats, proba))
        return fn
    return wrap


def logreg(**kw):
    return LogisticRegression(max_iter=2000, **kw)


def fitted(model, data):
    x, y, req = data
    model.fit(x, y)
    return model, x, req


@case("linear-regression")
def _():
    return fitted(LinearRegression(), diabetes(1))


@case("ridge")
def _():
    return fitted(Ridge(alpha=0.5), diabetes(2))


@case("lasso")
def _():
    return fitted(Lasso(alpha=0.05), diabetes(3))


@case("elasticnet")
def _():
    return fitted(ElasticNet(alpha=0.3, l1_ratio=0.4), regression(4))


@case("sgd-regressor")
def _():
    return fitted(SGDRegressor(random_state=5, max_iter=2000, tol=1e-4), regression(5))


@case("sgd-classifier-logloss", proba=True)
def _():
    return fitted(SGDClassifier(loss="log_loss", random_state=6, max_iter=2000), iris(6))


@case("logreg-binary", formats=("pickle", "skops"))
def _():
    return fitted(logreg(), binary(7))


@case("logreg-multinomial", proba=True)
def _():
    return fitted(logreg(), iris(8))


@case("logreg-ovr", proba=True)
def _():
    return fitted(logreg(multi_class="ovr"), iris(9)) if HAS_OVR else None


@case("logreg-string-labels")
def _():
    return fitted(logreg(), iris(10, labels="str"))


@case("linear-svc")
def _():
    return fitted(LinearSVC(dual=True, max_iter=20000, random_state=11), iris(11))


@case("perceptron")
def _():
    return fitted(Perceptron(random_state=12), binary(12))


@case("ridge-classifier")
def _():
    return fitted(RidgeClassifier(alpha=1.0), iris(13, labels="str"))


@case("dtree-classifier", formats=("skops",), proba=True)
def _():
    return fitted(DecisionTreeClassifier(max_depth=4, random_state=14), iris(14))


@case("dtree-regressor")
def _():
    return fitted(DecisionTreeRegressor(max_depth=5, random_state=15), diabetes(15))


@case("rf-classifier", formats=("pickle",), proba=True)
def _():
    return fitted(RandomForestClassifier(n_estimators=8, max_depth=4, random_state=16),
                  iris(16))


@case("rf-regressor")
def _():
    return fitted(RandomForestRegressor(n_estimators=8, max_depth=4, random_state=17),
                  diabetes(17))


@case("extratrees-classifier", proba=True)
def _():
    return fitted(ExtraTreesClassifier(n_estimators=8, max_depth=4, random_state=18),
                  multiclass(18))


@case("extratrees-regressor")
def _():
    return fitted(ExtraTreesRegressor(n_estimators=8, max_depth=4, random_state=19),
                  regression(19))


@case("gb-classifier-binary", proba=True)
def _():
    return fitted(GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=20),
                  binary(20))


@case("gb-classifier-multiclass", proba=True)
def _():
    return fitted(GradientBoostingClassifier(n_estimators=6, max_depth=2, random_state=21),
                  iris(21))


@case("gb-regressor")
def _():
    return fitted(GradientBoostingRegressor(n_estimators=10, max_depth=3, random_state=22),
                  diabetes(22))


@case("hgb-classifier-nan", proba=True)
def _():
    x, y, req = multiclass(23, n_classes=3)
    x, req = with_nans(x, 23, ["f0", "f2"]), with_nans(req, 24, ["f0", "f2"], frac=0.4)
    return fitted(HistGradientBoostingClassifier(max_iter=10, max_depth=3, max_bins=63,
                                                         random_state=23),
                  (x, y, req))


@case("hgb-regressor-nan", formats=("skops",))
def _():
    x, y, req = diabetes(25)
    x, req = with_nans(x, 25, ["bmi", "bp"]), with_nans(req, 26, ["bmi", "bp"], frac=0.4)
    return fitted(HistGradientBoostingRegressor(max_iter=15, max_depth=3, max_bins=63,
                                                        random_state=25),
                  (x, y, req))


@case("kmeans", formats=("skops",))
def _():
    x, _, req = regression(27, n_features=3)
    return fitted(KMeans(n_clusters=4, n_init=10, random_state=27), (x, None, req))


@case("gaussian-nb", formats=("skops",), proba=True)
def _():
    return fitted(GaussianNB(), iris(28))


@case("knn-classifier", proba=True)
def _():
    return fitted(KNeighborsClassifier(n_neighbors=5), iris(29))


@case("knn-regressor")
def _():
    x, y, req = diabetes(30)
    knn = KNeighborsRegressor(n_neighbors=4, weights="distance")
    return fitted(knn, (x.head(120), y[:120], req))


for _kernel in ("rbf", "poly", "linear", "sigmoid"):
    def _svc(kernel=_kernel):
        svc = SVC(kernel=kernel, degree=3, gamma="scale", C=1.0, random_state=31)
        return fitted(Pipeline([("scale", StandardScaler()), ("svc", svc)]), iris(31))
    case(f"svc-{_kernel}", formats=("skops",) if _kernel == "rbf" else ())(_svc)


@case("mlp-classifier", proba=True)
def _():
    return fitted(MLPClassifier(hidden_layer_sizes=(8,), max_iter=500, random_state=32),
                  iris(32))


@case("mlp-regressor")
def _():
    mlp = MLPRegressor(hidden_layer_sizes=(10, 5), max_iter=800, random_state=33)
    return fitted(Pipeline([("scale", StandardScaler()), ("mlp", mlp)]), regression(33))


@case("pipeline-pca-logreg", proba=True)
def _():
    return fitted(Pipeline([("pca", PCA(n_components=3)), ("clf", logreg())]), multiclass(34))


for _scaler in (StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, Normalizer):
    def _scaled(scaler=_scaler):
        return fitted(Pipeline([("scale", scaler()), ("ridge", Ridge(alpha=0.1))]),
                      regression(35))
    skops = ("skops",) if _scaler is StandardScaler else ()
    case(f"pipeline-{_scaler.__name__.lower()}-ridge", formats=skops)(_scaled)


for _strategy in ("mean", "median", "most_frequent", "constant"):
    def _imputed(strategy=_strategy):
        x, y, req = diabetes(36)
        cols = ["bmi", "bp", "s1"]
        x, req = with_nans(x, 36, cols, frac=0.2), with_nans(req, 37, cols, frac=0.4)
        imp = SimpleImputer(strategy=strategy, fill_value=0.01 if strategy == "constant" else None)
        return fitted(Pipeline([("impute", imp), ("ridge", Ridge(alpha=0.1))]), (x, y, req))
    case(f"pipeline-imputer-{_strategy.replace('_', '-')}")(_imputed)


def onehot(**kw):
    sparse = "sparse_output" if SK >= (1, 2) else "sparse"
    return OneHotEncoder(**{sparse: False}, **kw)


def column_transformer():
    return ColumnTransformer([
        ("city", onehot(handle_unknown="ignore"), ["city"]),
        ("rooms", onehot(drop="first"), ["rooms"]),
        ("plan", OrdinalEncoder(), ["plan"]),
        ("scale", StandardScaler(), ["income"]),
    ], remainder="passthrough")


@case("column-transformer-ridge", formats=("pickle", "skops"))
def _():
    return fitted(Pipeline([("prep", column_transformer()), ("ridge", Ridge(alpha=0.1))]),
                  mixed(38))


@case("column-transformer-logreg", proba=True)
def _():
    x, y, req = mixed(39)
    y = np.where(y > np.median(y), "high", "low").astype(object)
    clf = Pipeline([("prep", column_transformer()), ("scale", StandardScaler()),
                    ("clf", logreg())])
    return fitted(clf, (x, y, req))


@case("feature-union-logreg", proba=True)
def _():
    union = FeatureUnion([("pca", PCA(n_components=2)), ("scale", StandardScaler())])
    return fitted(Pipeline([("union", union), ("clf", logreg())]), iris(40))


@case("isolation-forest")
def _():
    x, _, req = regression(41, n_features=4)
    req.iloc[:3] = req.iloc[:3] * 4  # a few outliers
    forest = IsolationForest(n_estimators=10, max_samples=32, random_state=41)
    return fitted(forest, (x, None, req))


# ---------------------------------------------------------------- the v2 wire


def wire_input(name, col):
    if pd.api.types.is_float_dtype(col):
        data = [None if np.isnan(v) else float(v) for v in col]
        datatype = "FP64"
    elif pd.api.types.is_integer_dtype(col):
        data, datatype = [int(v) for v in col], "INT64"
    else:
        data, datatype = [str(v) for v in col], "BYTES"
    return {"name": name, "shape": [len(col), 1], "datatype": datatype, "data": data}


def decode_request(request):
    """Rebuilds the DataFrame MLServer's pandas codec makes of `request`."""
    cols = {}
    for inp in request["inputs"]:
        data = inp["data"]
        if inp["datatype"] == "FP64":
            cols[inp["name"]] = np.array([np.nan if v is None else v for v in data], np.float64)
        elif inp["datatype"] == "INT64":
            cols[inp["name"]] = np.array(data, np.int64)
        else:
            cols[inp["name"]] = pd.Series(data, dtype=object)
    return pd.DataFrame(cols)


WIRE_TYPES = {"float64": "FP64", "float32": "FP32", "int64": "INT64", "int32": "INT32",
              "bool": "BOOL"}


def wire_output(pred):
    pred = np.asarray(pred)
    shape = [pred.shape[0], 1] if pred.ndim == 1 else list(pred.shape)
    if pred.dtype.kind in "OUS":
        datatype, data = "BYTES", [str(v) for v in pred.ravel()]
    else:
        datatype = WIRE_TYPES[str(pred.dtype)]
        data = pred.ravel().tolist()
    return {"name": "output-1", "shape": shape, "datatype": datatype, "data": data}


def dump(path, obj):
    """Indented JSON with lists of scalars kept on one line (no value holds a comma)."""
    text = json.dumps(obj, indent=1)
    text = re.sub(r"\[([^\[\]{}]*)\]",
                  lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
                  text)
    path.write_text(text + "\n")


def requirements():
    """Given explicitly so that mlflow does not infer them by loading the model again."""
    return [f"mlflow=={mlflow.__version__}", f"scikit-learn=={sklearn.__version__}",
            f"numpy=={np.__version__}", f"pandas=={pd.__version__}"]


def save(name, model, x_train, req, fmt, predict_fn):
    out = ROOT / name
    model_dir = out / "model"
    method = getattr(model, predict_fn)
    signature = infer_signature(x_train.head(20), method(x_train.head(20)))
    kwargs = {"serialization_format": fmt, "signature": signature,
              "pip_requirements": requirements()}
    if HAS_PREDICT_FN:
        kwargs["pyfunc_predict_fn"] = predict_fn
    if fmt == "skops":
        import skops.io
        kwargs["skops_trusted_types"] = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    out.mkdir(parents=True)
    mlflow.sklearn.save_model(model, str(model_dir), **kwargs)

    request = {"inputs": [wire_input(c, req[c]) for c in req.columns],
               "parameters": {"content_type": "pd"}}
    df = decode_request(request)
    pred = mlflow.pyfunc.load_model(str(model_dir)).predict(df)
    direct = method(df)
    assert np.asarray(pred).dtype == np.asarray(direct).dtype, name
    if np.asarray(pred).dtype.kind == "f":
        np.testing.assert_allclose(pred, direct, rtol=1e-12, atol=0)
    else:
        np.testing.assert_array_equal(pred, direct)
    dump(out / "request.json", request)
    dump(out / "expected.json", {"outputs": [wire_output(pred)], "rtol": RTOL, "atol": ATOL})
    dump(out / "case.json", {
        "name": name, "env": ENV, "estimator": describe(model), "serialization_format": fmt,
        "pyfunc_predict_fn": predict_fn, "request_rows": len(req), "versions": versions()})


def describe(model):
    cls = type(model)
    path = f"{cls.__module__}.{cls.__qualname__}"
    if isinstance(model, Pipeline):
        return f"{path}({', '.join(describe(step) for _, step in model.steps)})"
    if isinstance(model, FeatureUnion):
        return f"{path}({', '.join(describe(t) for _, t in model.transformer_list)})"
    if isinstance(model, ColumnTransformer):
        parts = [describe(t) for _, t, _ in model.transformers if not isinstance(t, str)]
        return f"{path}({', '.join(parts)}, remainder={model.remainder})"
    return path


def main():
    if ROOT.exists():
        shutil.rmtree(ROOT)
    made, skipped = [], []
    for name, build, formats, proba in CASES:
        built = build()
        if built is None:
            skipped.append(name)
            continue
        model, x_train, req = built
        for fmt in (PRIMARY_FORMAT, *formats):
            if fmt == "skops" and not HAS_SKOPS:
                skipped.append(f"{name}-skops")
                continue
            case_name = name if fmt == PRIMARY_FORMAT else f"{name}-{fmt}"
            save(case_name, model, x_train, req, fmt, "predict")
            made.append(case_name)
        if proba:
            if not HAS_PREDICT_FN:
                skipped.append(f"{name}-proba")
                continue
            save(f"{name}-proba", model, x_train, req, PRIMARY_FORMAT, "predict_proba")
            made.append(f"{name}-proba")
    print(f"{ENV}: sklearn {sklearn.__version__}, mlflow {mlflow.__version__}: "
          f"{len(made)} cases, skipped {skipped}")


if __name__ == "__main__":
    main()
