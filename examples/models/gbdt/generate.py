"""Small XGBoost and LightGBM Booster fixtures for ironflow's native GBDT loaders.

Covers the objectives, missing-value rules, categorical splits and booster kinds that the
shared MLflow corpus lacks. Each case is a directory holding the model file as the library
saved it and `case.json`: the input rows (`x`, null = missing), the model file name and
Python class, and what `Booster.predict` returned (`expected`, flattened row-major, with its
`shape` and `dtype`). Predictions are checked against the library before they are written.

Run with the fixtures venv (xgboost 3.2.0, lightgbm 4.7.0):

    /work/venv-fixtures/bin/python examples/models/gbdt/generate.py
"""

import json
import pathlib
import pickle
import shutil

import lightgbm as lgb
import numpy as np
import xgboost as xgb

OUT = pathlib.Path(__file__).resolve().parent
RNG = np.random.default_rng(20261124)


def data(n=200, k=4, missing=0.1, zeros=0.1):
    x = RNG.normal(size=(n, k))
    x[RNG.random((n, k)) < zeros] = 0.0
    x[RNG.random((n, k)) < missing] = np.nan
    return x


def rows(x):
    return [[None if np.isnan(v) else float(v) for v in row] for row in x]


def write(name, model_file, model_class, x, pred, extra=None):
    d = OUT / name
    d.mkdir(exist_ok=True)
    pred = np.asarray(pred)
    case = {
        "model": model_file,
        "model_class": model_class,
        "x": rows(x),
        "expected": [float(v) for v in pred.ravel()],
        "shape": list(pred.shape),
        "dtype": str(pred.dtype),
        "rtol": 1e-5 if pred.dtype == np.float32 else 1e-9,
        "atol": 1e-6 if pred.dtype == np.float32 else 1e-12,
    }
    case.update(extra or {})
    (d / "case.json").write_text(json.dumps(case, indent=1) + "\n")


def xgb_case(name, params, y_fn, rounds=8, fmt="json", x=None, dmatrix_kw=None):
    x = data() if x is None else x
    y = y_fn(x)
    dtrain = xgb.DMatrix(x, label=y, missing=np.nan, **(dmatrix_kw or {}))
    params = {"max_depth": 3, "eta": 0.3, "nthread": 1, "seed": 1, **params}
    booster = xgb.train(params, dtrain, num_boost_round=rounds)
    d = OUT / name
    d.mkdir(exist_ok=True)
    booster.save_model(str(d / f"model.{fmt}"))
    test = data(n=24)
    if x.dtype != test.dtype or (dmatrix_kw or {}).get("enable_categorical"):
        test = x[:24]
    pred = booster.predict(xgb.DMatrix(test, missing=np.nan, **(dmatrix_kw or {})))
    reloaded = xgb.Booster(model_file=str(d / f"model.{fmt}"))
    np.testing.assert_allclose(
        reloaded.predict(xgb.DMatrix(test, missing=np.nan, **(dmatrix_kw or {}))), pred
    )
    write(name, f"model.{fmt}", "xgboost.core.Booster", test, pred)


def lgb_case(name, params, y_fn, rounds=8, x=None, categorical=None):
    x = data() if x is None else x
    y = y_fn(x)
    params = {"num_leaves": 7, "learning_rate": 0.3, "num_threads": 1, "verbose": -1,
              "min_data_in_leaf": 5, "seed": 1, **params}
    ds = lgb.Dataset(x, label=y, categorical_feature=categorical or "auto")
    booster = lgb.train(params, ds, num_boost_round=rounds)
    d = OUT / name
    d.mkdir(exist_ok=True)
    booster.save_model(str(d / "model.lgb"))
    test = np.vstack([x[:12], data(n=12)])
    if categorical:
        test = x[:24].copy()
        test[0, categorical[0]] = -1.0  # negative categories go right
        test[1, categorical[0]] = np.nan
        test[2, categorical[0]] = 2.7  # truncated to 2
    pred = booster.predict(test)
    reloaded = lgb.Booster(model_file=str(d / "model.lgb"))
    np.testing.assert_allclose(reloaded.predict(test), pred)
    write(name, "model.lgb", "lightgbm.basic.Booster", test, pred)


def sklearn_case(name, estimator, y, fmt):
    """A scikit-learn API LightGBM model, pickled (protocol 4) or saved with skops."""
    x = data()
    estimator.fit(x, y)
    d = OUT / name
    d.mkdir(exist_ok=True)
    test = x[:24]
    if fmt == "pkl":
        (d / "model.pkl").write_bytes(pickle.dumps(estimator, protocol=4))
        reloaded = pickle.loads((d / "model.pkl").read_bytes())
    else:
        import skops.io as sio

        sio.dump(estimator, d / "model.skops")
        reloaded = sio.load(d / "model.skops", trusted=sio.get_untrusted_types(file=d / "model.skops"))
    pred = estimator.predict(test)
    assert (reloaded.predict(test) == pred).all()
    case = {
        "model": f"model.{fmt}",
        "model_class": f"{type(estimator).__module__}.{type(estimator).__name__}",
        "x": rows(test),
        "expected": [v.item() if hasattr(v, "item") else v for v in pred],
        "shape": list(pred.shape),
        "dtype": str(pred.dtype),
        "rtol": 1e-9,
        "atol": 1e-12,
    }
    (d / "case.json").write_text(json.dumps(case, indent=1) + "\n")


def lin(x):
    return np.nan_to_num(x[:, 0]) - 2 * np.nan_to_num(x[:, 1]) + 0.5 * np.nan_to_num(x[:, 2])


def positive(x):
    return np.exp(0.3 * lin(x)) + RNG.random(len(x)) * 0.1


def binary(x):
    return (lin(x) > 0).astype(float)


def three(x):
    return np.digitize(lin(x), [-1.0, 1.0]).astype(float)


def main():
    for d in OUT.iterdir():
        if d.is_dir():
            shutil.rmtree(d)
    # XGBoost
    xgb_case("xgb-tiny-ubj", {"objective": "reg:squarederror", "max_depth": 2}, lin, rounds=2, fmt="ubj")
    xgb_case("xgb-tiny-json", {"objective": "reg:squarederror", "max_depth": 2}, lin, rounds=2)
    xgb_case("xgb-poisson", {"objective": "count:poisson"}, positive)
    xgb_case("xgb-gamma", {"objective": "reg:gamma"}, positive, fmt="ubj")
    xgb_case("xgb-tweedie", {"objective": "reg:tweedie", "tweedie_variance_power": 1.3}, positive)
    xgb_case("xgb-logitraw", {"objective": "binary:logitraw"}, binary)
    xgb_case("xgb-logistic-nan", {"objective": "binary:logistic"}, binary, fmt="ubj")
    xgb_case("xgb-hinge", {"objective": "binary:hinge"}, binary)
    xgb_case("xgb-softmax", {"objective": "multi:softmax", "num_class": 3}, three)
    xgb_case("xgb-softprob", {"objective": "multi:softprob", "num_class": 3}, three, fmt="ubj")
    xgb_case("xgb-absoluteerror", {"objective": "reg:absoluteerror"}, lin)
    xgb_case("xgb-dart", {"objective": "reg:squarederror", "booster": "dart", "rate_drop": 0.3,
                          "skip_drop": 0.0}, lin)
    xgb_case("xgb-forest", {"objective": "reg:squarederror", "num_parallel_tree": 3,
                            "subsample": 0.8, "colsample_bynode": 0.8}, lin, rounds=3)
    cat_x = data()
    cat_x[:, 3] = RNG.integers(0, 6, size=len(cat_x))
    cat_x[RNG.random(len(cat_x)) < 0.1, 3] = np.nan
    xgb_case("xgb-categorical", {"objective": "reg:squarederror", "max_cat_to_onehot": 1,
                                 "tree_method": "hist"},
             lambda x: lin(x) + np.where(np.isin(x[:, 3], [1, 4]), 3.0, 0.0), x=cat_x,
             dmatrix_kw={"enable_categorical": True, "feature_types": ["q", "q", "q", "c"]})
    # LightGBM
    lgb_case("lgb-tiny", {"objective": "regression", "num_leaves": 3}, lin, rounds=2)
    lgb_case("lgb-binary", {"objective": "binary", "sigmoid": 1.5}, binary)
    lgb_case("lgb-multiclass", {"objective": "multiclass", "num_class": 3}, three)
    lgb_case("lgb-multiclassova", {"objective": "multiclassova", "num_class": 3}, three)
    lgb_case("lgb-cross-entropy", {"objective": "cross_entropy"}, binary)
    lgb_case("lgb-poisson", {"objective": "poisson"}, positive)
    lgb_case("lgb-gamma", {"objective": "gamma"}, positive)
    lgb_case("lgb-tweedie", {"objective": "tweedie"}, positive)
    lgb_case("lgb-huber", {"objective": "huber"}, lin)
    lgb_case("lgb-zero-missing", {"objective": "regression", "zero_as_missing": True}, lin)
    lgb_case("lgb-nan-missing", {"objective": "regression", "use_missing": True}, lin)
    lgb_case("lgb-no-missing", {"objective": "regression", "use_missing": False}, lin)
    lgb_case("lgb-sqrt", {"objective": "regression", "reg_sqrt": True}, positive)
    lgb_case("lgb-rf", {"objective": "regression", "boosting": "rf", "bagging_freq": 1,
                        "bagging_fraction": 0.7}, lin)
    cat_x = data()
    cat_x[:, 3] = RNG.integers(0, 8, size=len(cat_x))
    lgb_case("lgb-categorical", {"objective": "regression", "min_data_per_group": 2,
                                 "cat_smooth": 1.0, "max_cat_to_onehot": 2},
             lambda x: lin(x) + np.where(np.isin(x[:, 3], [1, 4, 6]), 3.0, 0.0), x=cat_x,
             categorical=[3])
    # LightGBM scikit-learn wrappers
    small = {"n_estimators": 6, "num_leaves": 5, "verbose": -1, "n_jobs": 1, "random_state": 1}
    x = data()
    sklearn_case("lgb-sklearn-strings-pkl", lgb.LGBMClassifier(**small),
                 np.where(binary(x) > 0, "yes", "no"), "pkl")
    x = data()
    sklearn_case("lgb-sklearn-binary-skops", lgb.LGBMClassifier(**small), binary(x).astype(int), "skops")
    x = data()
    sklearn_case("lgb-sklearn-regressor-skops", lgb.LGBMRegressor(**small), lin(x), "skops")


if __name__ == "__main__":
    main()
