"""Generates the CatBoost fixtures ironflow's catboost reader is tested against.

Run with a Python that has catboost, mlflow, numpy and pandas (e.g. /work/venv-fixtures):

    python examples/models/catboost/generate.py

Each case directory holds an MLflow model saved by `mlflow.catboost.save_model` (its `model.cb`
is a CatBoost binary model, the same bytes a bare `model.cbm` for MLServer holds) and `case.json`:
the test rows (column -> values, NaN as null), what catboost's own predict returned
(`RawFormulaVal`, `Probability`, from the model reloaded as `mlflow.catboost.load_model`
does), what `mlflow.pyfunc` returned,
and for classifiers what MLServer's catboost runtime (`CatBoostClassifier().load_model(path)` then
`predict` on the numpy matrix) returned. Models are small (a few dozen trees) to keep the fixtures
to a few hundred KB.
"""

import json
import shutil
from pathlib import Path

import catboost as cb
import mlflow.catboost
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

OUT = Path(__file__).resolve().parent
RNG = np.random.default_rng(7)
N_TRAIN, N_TEST = 300, 24
LONG = "a-rather-long-categorical-value-that-exercises-cityhash-long-inputs-" * 2


def frame(n, cats=(), nan=True, ints=()):
    """`n` rows: three float columns (with NaN), string categorical columns and int ones."""
    df = pd.DataFrame(
        {
            "f0": RNG.normal(size=n),
            "f1": RNG.uniform(-2, 2, size=n),
            "f2": RNG.normal(size=n) * 3,
        }
    )
    if nan:
        df.loc[RNG.random(n) < 0.1, "f1"] = np.nan
    for name, values in cats:
        df[name] = RNG.choice(values, size=n)
    for name, k in ints:
        df[name] = RNG.integers(-3, k, size=n)
    return df


def signal(df):
    s = df["f0"] + 0.5 * df["f1"].fillna(0) - 0.2 * df["f2"]
    for col in df.columns:
        if df[col].dtype == object:
            s = s + df[col].map(lambda v: (len(str(v)) % 3) - 1)
        elif col.startswith("i"):
            s = s + (df[col] % 2) - 0.5
    return s


def plain(values):
    """JSON-friendly list (NaN -> None, numpy scalars -> Python)."""
    out = []
    for v in np.asarray(values, dtype=object).ravel().tolist():
        if isinstance(v, float) and np.isnan(v):
            out.append(None)
        elif isinstance(v, (np.integer,)):
            out.append(int(v))
        elif isinstance(v, (np.floating,)):
            out.append(float(v))
        else:
            out.append(v)
    return out


def save(name, model, train, test, cat_features=(), mlserver=False):
    case_dir = OUT / name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    pred = model.predict(test)
    signature = infer_signature(test, pred)
    mlflow.catboost.save_model(model, str(case_dir / "mlflow"), signature=signature)
    # The MLmodel records mlflow's version and a creation time; keep the fixture stable.
    loaded = mlflow.pyfunc.load_model(str(case_dir / "mlflow"))
    pyfunc = loaded.predict(test)
    # Raw values and probabilities from the saved model, as served: the in-memory model that
    # training returns can differ from the reloaded one in the last bit of a sum.
    model = mlflow.catboost.load_model(str(case_dir / "mlflow"))
    pyfunc = np.asarray(pyfunc)
    case = {
        "model_type": type(model).__name__,
        "columns": list(test.columns),
        "cat_columns": list(cat_features),
        "rows": {c: plain(test[c].to_numpy()) for c in test.columns},
        "n_rows": len(test),
        "raw": np.asarray(cb.CatBoost.predict(model, test, prediction_type="RawFormulaVal"), dtype=float)
        .reshape(len(test), -1)
        .tolist(),
        "pyfunc": plain(pyfunc),
        "pyfunc_dtype": str(pyfunc.dtype),
        "pyfunc_shape": list(pyfunc.shape),
    }
    if isinstance(model, cb.CatBoostClassifier):
        case["proba"] = np.asarray(model.predict_proba(test), dtype=float).tolist()
    if mlserver:
        bare = cb.CatBoostClassifier()
        bare.load_model(str(case_dir / "mlflow" / "model.cb"))
        answer = np.asarray(bare.predict(test.to_numpy()))
        case["mlserver"] = plain(answer)
        case["mlserver_dtype"] = str(answer.dtype)
        case["mlserver_shape"] = list(answer.shape)
    # serde_json's default float parsing may be an ulp off: the exact values as f64 bits too.
    for key in ("raw", "proba", "pyfunc"):
        if key in case and case.get(f"{key}_dtype", "float64") == "float64":
            flat = np.asarray(case[key], dtype=float).ravel()
            case[f"{key}_bits"] = [int(b) for b in flat.view(np.uint64)]
    (case_dir / "case.json").write_text(json.dumps(case, indent=1) + "\n")
    print(name, case["pyfunc_dtype"], case["pyfunc_shape"])


def fit(cls, train, y, **params):
    params.setdefault("iterations", 30)
    params.setdefault("depth", 4)
    params.setdefault("random_seed", 0)
    params.setdefault("verbose", 0)
    params.setdefault("allow_writing_files", False)
    params.setdefault("thread_count", 1)
    return cls(**params).fit(train, y)


def main():
    # Float features only, every loss type.
    tr, te = frame(N_TRAIN), frame(N_TEST)
    s = signal(tr)
    save("cb-binary", fit(cb.CatBoostClassifier, tr, (s > 0).astype(int)), tr, te, mlserver=True)
    save(
        "cb-binary-nanmax-strings",
        fit(cb.CatBoostClassifier, tr, np.where(s > 0.3, "yes", "no"), nan_mode="Max"),
        tr,
        te,
        mlserver=True,
    )
    y3 = np.digitize(s, [-0.7, 0.7])
    save("cb-multiclass", fit(cb.CatBoostClassifier, tr, np.array(["a", "b", "c"])[y3]), tr, te,
         mlserver=True)
    save(
        "cb-multiclass-ova",
        fit(cb.CatBoostClassifier, tr, y3 + 10, loss_function="MultiClassOneVsAll"),
        tr,
        te,
    )
    save("cb-rmse", fit(cb.CatBoostRegressor, tr, s), tr, te)
    counts = RNG.poisson(np.exp(np.clip(s, -2, 2)))
    save("cb-poisson", fit(cb.CatBoostRegressor, tr, counts, loss_function="Poisson"), tr, te)
    save(
        "cb-tweedie",
        fit(cb.CatBoostRegressor, tr, counts.astype(float), loss_function="Tweedie:variance_power=1.5"),
        tr,
        te,
    )
    save("cb-quantile", fit(cb.CatBoostRegressor, tr, s, loss_function="Quantile:alpha=0.8"), tr, te)
    save(
        "cb-multirmse",
        fit(cb.CatBoostRegressor, tr, np.stack([s, -2 * s], axis=1), loss_function="MultiRMSE"),
        tr,
        te,
    )
    scaled = fit(cb.CatBoostRegressor, tr, s, iterations=10)
    scaled.set_scale_and_bias(0.5, 1.25)
    save("cb-scale-bias", scaled, tr, te)
    save(
        "cb-depthwise",
        fit(cb.CatBoostRegressor, tr, s, grow_policy="Depthwise", depth=4),
        tr,
        te,
    )
    save(
        "cb-lossguide-multiclass",
        fit(cb.CatBoostClassifier, tr, y3, grow_policy="Lossguide", max_leaves=6),
        tr,
        te,
    )
    # Ranker.
    group = np.sort(RNG.integers(0, 30, size=N_TRAIN))
    rel = np.clip(np.round(s + 1), 0, 3)
    ranker = cb.CatBoostRanker(iterations=30, depth=4, random_seed=0, verbose=0,
                               allow_writing_files=False, thread_count=1, loss_function="YetiRank")
    ranker.fit(tr, rel, group_id=group)
    save("cb-ranker", ranker, tr, te)

    # One-hot categorical features (few values), as strings and ints.
    cats = [("c_str", ["red", "green", "blue"]), ("c_long", [LONG, LONG + "x", "short"])]
    tr = frame(N_TRAIN, cats=cats, ints=[("i_cat", 2)])
    te = frame(N_TEST, cats=cats, ints=[("i_cat", 2)])
    te.loc[0, "c_str"] = "never-seen"
    catf = ["c_str", "c_long", "i_cat"]
    s = signal(tr)
    save(
        "cb-onehot-binary",
        fit(cb.CatBoostClassifier, tr, (s > 0).astype(int), cat_features=catf, one_hot_max_size=10),
        tr, te, cat_features=catf,
    )
    # CTR categorical features (many values) and their combinations.
    many = [("c_city", [f"city-{i}" for i in range(12)]), ("c_long", [LONG + str(i) for i in range(8)])]
    tr = frame(N_TRAIN, cats=many, ints=[("i_store", 9)])
    te = frame(N_TEST, cats=many, ints=[("i_store", 9)])
    te.loc[1, "c_city"] = "atlantis"
    te.loc[2, "i_store"] = 1234
    catf = ["c_city", "c_long", "i_store"]
    s = signal(tr)
    save("cb-ctr-binary", fit(cb.CatBoostClassifier, tr, (s > 0).astype(int), cat_features=catf),
         tr, te, cat_features=catf)
    save("cb-ctr-multiclass",
         fit(cb.CatBoostClassifier, tr, np.digitize(s, [-0.7, 0.7]), cat_features=catf),
         tr, te, cat_features=catf)
    save("cb-ctr-rmse", fit(cb.CatBoostRegressor, tr, s, cat_features=catf), tr, te,
         cat_features=catf)
    save("cb-ctr-depthwise",
         fit(cb.CatBoostRegressor, tr, s, cat_features=catf, grow_policy="Depthwise"),
         tr, te, cat_features=catf)

    text_case()
    threshold_case()
    # Bench models (benches/benches/catboost_predict.rs, benches/python/time_catboost.py): more
    # and deeper trees, float-only and with CTRs.
    tr, te = frame(N_TRAIN * 2), frame(N_TEST)
    s = signal(tr)
    save("cb-bench-binary", fit(cb.CatBoostClassifier, tr, (s > 0).astype(int), iterations=200,
                                depth=6), tr, te)
    tr = frame(N_TRAIN * 2, cats=many, ints=[("i_store", 9)])
    te = frame(N_TEST, cats=many, ints=[("i_store", 9)])
    s = signal(tr)
    save("cb-bench-ctr", fit(cb.CatBoostRegressor, tr, s, cat_features=catf, iterations=200,
                             depth=6), tr, te, cat_features=catf)


def threshold_case():
    """A binary classifier whose probability threshold was moved (`set_probability_threshold`)."""
    tr, te = frame(N_TRAIN), frame(N_TEST)
    model = fit(cb.CatBoostClassifier, tr, (signal(tr) > 0).astype(int), iterations=20)
    model.set_probability_threshold(0.7)
    save("cb-binary-threshold", model, tr, te, mlserver=True)


def text_case():
    """A model with a text feature: ironflow refuses it (text features are not implemented)."""
    words = ["good", "bad", "fine", "awful", "great", "poor"]
    tr = frame(N_TRAIN)
    te = frame(N_TEST)
    tr["t_text"] = [" ".join(RNG.choice(words, size=3)) for _ in range(N_TRAIN)]
    te["t_text"] = [" ".join(RNG.choice(words, size=3)) for _ in range(N_TEST)]
    y = tr["t_text"].str.contains("good|great").astype(int)
    save("cb-text-refused", fit(cb.CatBoostClassifier, tr, y, text_features=["t_text"],
                                iterations=10), tr, te)


if __name__ == "__main__":
    main()
