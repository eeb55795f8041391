#!/usr/bin/env python3
"""The tree-engine anchors of issue 18 (run by benches/anchors.sh, not part of the tests).

  anchors.py prepare OUT      trains / loads the models, writes them with their rows and the
                              library's own answers under OUT, and OUT/manifest.json for the Rust
                              `anchors` binary (ironflow's column)
  anchors.py time OUT IRONFLOW.jsonl
                              checks and times the other engines on the same rows (one thread
                              each) and prints ONE markdown table with ironflow's figures

Models (seeded, so every run trains the same ones):
  lgb-100x31   LightGBM regressor, 100 trees of <= 31 leaves  (synthetic regression, 28 features)
  lgb-500x63   LightGBM regressor, 500 trees of <= 63 leaves
  xgb-500xd6   XGBoost regressor, 500 trees of depth <= 6 (hist)
  bc-rf-100x10 the bc_rf forest of examples/bench (RandomForestClassifier, 100 trees, depth 10)
  cb-200xd6    CatBoost classifier, 200 oblivious trees of depth 6

Engines: ironflow (the model file served by its MLServer runtime: lightgbm `model.bst`-style text,
xgboost JSON, catboost `.cbm`; bc_rf as its MLflow model), lleaves (LightGBM only), tl2cgen (treelite's model
compiled to C with gcc; not for CatBoost, which treelite does not read), the library's own predict
(LightGBM `Booster.predict`, XGBoost `inplace_predict`, scikit-learn `predict_proba`, CatBoost
`predict_proba`; ironflow's bc_rf and CatBoost answers, the MLflow flavor's and mlserver_catboost's
`predict`, are checked as labels) and onnxruntime on the onnxmltools / skl2onnx / CatBoost ONNX export. Every
engine's answers on the 10,000 rows are compared with the library's before it is timed; the
table's `check` column names any that differ beyond its tolerance (float32 engines on float64
models: thresholds rounded to float32 can send a row down another branch).
"""
import json
import os
import pickle
import sys

from _common import time_call  # one thread everywhere, before numpy loads

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
ROWS = (1, 100, 10_000)
N_ROWS = 10_000
ENGINES = ("ironflow", "lleaves", "tl2cgen", "library", "onnxruntime")


def synthetic(n, features=28, seed=0):
    """Rows with a nonlinear target (Friedman-like, plus interactions and noise)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    y = (10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2 + 10 * x[:, 3]
         + 5 * x[:, 4] + np.tanh(x[:, 5] * x[:, 6]) * 3 + x[:, 7:].sum(axis=1) * 0.3
         + rng.normal(scale=0.5, size=n))
    return x, y


def save_f64(path, a):
    np.ascontiguousarray(a, dtype="<f8").tofile(path)


def prepare(out):
    import catboost
    import lightgbm as lgb
    import xgboost as xgb
    from sklearn.datasets import load_breast_cancer

    os.makedirs(out, exist_ok=True)
    x_train, y_train = synthetic(20_000)
    x_test, _ = synthetic(N_ROWS, seed=1)
    save_f64(os.path.join(out, "synthetic.f64"), x_test)
    models = []

    def entry(name, path, implementation, output, trees, x_file, n_features, expected, rtol,
              **extra):
        save_f64(os.path.join(out, f"{name}.expected.f64"), expected)
        models.append(dict(name=name, path=path, implementation=implementation, output=output,
                           trees=trees, x=x_file, n_features=n_features,
                           expected=f"{name}.expected.f64",
                           n_outputs=int(expected.size // N_ROWS), rtol=rtol, **extra))

    for trees, leaves in ((100, 31), (500, 63)):
        name = f"lgb-{trees}x{leaves}"
        booster = lgb.train(
            {"objective": "regression", "num_leaves": leaves, "learning_rate": 0.05,
             "min_data_in_leaf": 5, "num_threads": 1, "verbose": -1, "seed": 0,
             "deterministic": True},
            lgb.Dataset(x_train, y_train), num_boost_round=trees)
        booster.save_model(os.path.join(out, f"{name}.txt"))
        expected = booster.predict(x_test, num_threads=1)
        entry(name, f"{name}.txt", "mlserver_lightgbm.LightGBMModel", "predict",
              booster.num_trees(), "synthetic.f64", x_test.shape[1], expected, 1e-12,
              kind="lightgbm")

    reg = xgb.XGBRegressor(n_estimators=500, max_depth=6, learning_rate=0.05, tree_method="hist",
                           n_jobs=1, random_state=0)
    reg.fit(x_train, y_train)
    booster = reg.get_booster()
    booster.save_model(os.path.join(out, "xgb-500xd6.json"))
    booster.set_param({"nthread": 1})
    expected = booster.inplace_predict(x_test)
    entry("xgb-500xd6", "xgb-500xd6.json", "mlserver_xgboost.XGBoostModel", "predict",
          booster.num_boosted_rounds(), "synthetic.f64", x_test.shape[1], expected, 1e-6,
          kind="xgboost")

    # The bench forest of examples/bench (fitted on the breast-cancer DataFrame), on the
    # dataset's 569 rows cycled to 10,000.
    rf_path = os.path.join(REPO, "examples", "bench", "bc-rf-100x10", "model", "model.pkl")
    with open(rf_path, "rb") as f:
        rf = pickle.load(f)
    rf.set_params(n_jobs=1)
    bc = load_breast_cancer().data.astype("float64")  # the request's column order
    x_bc = bc[np.arange(N_ROWS) % len(bc)]
    save_f64(os.path.join(out, "bc.f64"), x_bc)
    # Served as the MLflow model it is (the signature's 30 columns, pyfunc `predict`: labels, one
    # method; mlserver_sklearn would run predict and predict_proba): ironflow's answers are
    # checked as labels, the other engines' as probabilities.
    save_f64(os.path.join(out, "bc-rf-100x10.proba.f64"), rf.predict_proba(x_bc))
    request = json.load(open(os.path.join(os.path.dirname(os.path.dirname(rf_path)),
                                          "request.json")))
    entry("bc-rf-100x10", os.path.relpath(os.path.dirname(rf_path), out),
          "mlserver_mlflow.MLflowRuntime", "", len(rf.estimators_), "bc.f64", x_bc.shape[1],
          rf.predict(x_bc).astype("float64"), 0.0, kind="sklearn",
          columns=[i["name"] for i in request["inputs"]],
          expected_python="bc-rf-100x10.proba.f64")

    y_cls = (y_train > np.median(y_train)).astype(int)
    cb = catboost.CatBoostClassifier(iterations=200, depth=6, learning_rate=0.1, thread_count=1,
                                     random_seed=0, verbose=False,
                                     train_dir=os.path.join(out, "catboost_info"))
    cb.fit(x_train, y_cls)
    cb.save_model(os.path.join(out, "cb-200xd6.cbm"))
    cb.save_model(os.path.join(out, "cb-200xd6.onnx"), format="onnx")
    # mlserver_catboost answers `predict` only (class labels): ironflow's answers are checked as
    # labels, the other engines' as probabilities.
    save_f64(os.path.join(out, "cb-200xd6.proba.f64"), cb.predict_proba(x_test, thread_count=1))
    entry("cb-200xd6", "cb-200xd6.cbm", "mlserver_catboost.CatboostModel", "predict",
          cb.tree_count_, "synthetic.f64", x_test.shape[1],
          cb.predict(x_test, thread_count=1).astype("float64"), 0.0, kind="catboost",
          expected_python="cb-200xd6.proba.f64")

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"rows": list(ROWS), "seconds": float(os.environ.get("BENCH_SECONDS", "1.5")),
                   "models": models}, f, indent=1)
    for m in models:
        print(f"prepared {m['name']}: {m['trees']} trees", file=sys.stderr)


def load_x(out, m):
    return np.fromfile(os.path.join(out, m["x"]), dtype="<f8").reshape(-1, m["n_features"])


def engines_for(out, m, x):
    """{engine: (predict(rows) -> array, tolerance)} for the Python engines of model `m`."""
    import onnxruntime as ort

    path = os.path.join(out, m["path"])
    kind = m["kind"]
    if os.path.isdir(path):  # an MLflow model: the library reads its model file
        path = os.path.join(path, "model.pkl")
    found = {}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    x32 = x.astype(np.float32)

    def ort_engine(onnx_bytes, output):
        sess = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        return lambda rows: unzip(sess.run([output], {name: x32[:rows]})[0])

    if kind == "lightgbm":
        import lightgbm as lgb
        import lleaves
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType

        booster = lgb.Booster(model_file=path)
        found["library"] = (lambda rows: booster.predict(x[:rows], num_threads=1), 1e-12)
        ll = lleaves.Model(model_file=path)
        ll.compile(cache=os.path.join(out, m["name"] + ".lleaves.so"))
        found["lleaves"] = (lambda rows: ll.predict(x[:rows], n_jobs=1), 1e-12)
        onx = onnxmltools.convert_lightgbm(
            booster, initial_types=[("input", FloatTensorType([None, x.shape[1]]))])
        found["onnxruntime"] = (ort_engine(onx.SerializeToString(), onx.graph.output[0].name),
                                1e-3)
    elif kind == "xgboost":
        import onnxmltools
        import xgboost as xgb
        from onnxmltools.convert.common.data_types import FloatTensorType

        booster = xgb.Booster(model_file=path)
        booster.set_param({"nthread": 1})
        found["library"] = (lambda rows: booster.inplace_predict(x[:rows]), 1e-6)
        onx = onnxmltools.convert_xgboost(
            booster, initial_types=[("input", FloatTensorType([None, x.shape[1]]))])
        found["onnxruntime"] = (ort_engine(onx.SerializeToString(), onx.graph.output[0].name),
                                1e-3)
    elif kind == "sklearn":
        from skl2onnx import to_onnx

        with open(path, "rb") as f:
            rf = pickle.load(f)
        rf.set_params(n_jobs=1)
        found["library"] = (lambda rows: rf.predict_proba(x[:rows]), 1e-12)
        onx = to_onnx(rf, x32[:1], options={"zipmap": False})
        found["onnxruntime"] = (ort_engine(onx.SerializeToString(), "probabilities"), 1e-5)
    elif kind == "catboost":
        import catboost

        cb = catboost.CatBoostClassifier()
        cb.load_model(path)
        found["library"] = (lambda rows: cb.predict_proba(x[:rows], thread_count=1), 1e-12)
        with open(os.path.join(out, m["name"] + ".onnx"), "rb") as f:
            onnx_bytes = f.read()
        found["onnxruntime"] = (ort_engine(onnx_bytes, "probabilities"), 1e-5)

    if kind in ("lightgbm", "xgboost", "sklearn"):
        found["tl2cgen"] = tl2cgen_engine(path, kind, x, os.path.join(out, m["name"] + ".tl2cgen.so"))
    return found


def unzip(out):
    """An ONNX ZipMap output (a list of {class: probability}, CatBoost's export) as an array."""
    if isinstance(out, list) and out and isinstance(out[0], dict):
        return np.array([[d[k] for k in sorted(d)] for d in out])
    return out


def tl2cgen_engine(path, kind, x, lib):
    """treelite's model compiled to a shared library by tl2cgen (gcc), predicting on a tl2cgen
    DMatrix built outside the timing."""
    import tl2cgen
    import treelite

    if kind == "lightgbm":
        model = treelite.frontend.load_lightgbm_model(path)
        dtype = "float64"
    elif kind == "xgboost":
        model = treelite.frontend.load_xgboost_model(path)
        dtype = "float32"
    else:
        with open(path, "rb") as f:
            model = treelite.sklearn.import_model(pickle.load(f))
        dtype = "float64"
    if not os.path.exists(lib):
        tl2cgen.export_lib(model, toolchain="gcc", libpath=lib,
                           params={"parallel_comp": 8}, nthread=2)
    predictor = tl2cgen.Predictor(lib, nthread=1)
    mats = {rows: tl2cgen.DMatrix(x[:rows].astype(dtype), dtype=dtype) for rows in ROWS}
    mats[N_ROWS] = tl2cgen.DMatrix(x.astype(dtype), dtype=dtype)
    tol = 1e-6 if kind == "xgboost" else 1e-12
    return (lambda rows: predictor.predict(mats[rows]), tol)


def compare(got, expected, n_out):
    got = np.asarray(got, dtype="float64").reshape(N_ROWS, -1)
    if got.shape[1] != n_out and got.shape[1] == 1 and n_out == 2:
        got = np.hstack([1 - got, got])  # positive-class probability only
    if got.shape[1] != n_out:
        return float("inf")
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)))


def fmt_ns(v):
    if v is None or v != v:
        return "—"
    return f"{v:.1f}" if v < 100 else f"{v:,.0f}"


def time_all(out, ironflow_jsonl):
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    results = {}  # (model, rows, engine) -> ns/tree/row
    checks = {}  # (model, engine) -> max relative difference, when beyond tolerance
    engines = list(ENGINES)
    for line in open(ironflow_jsonl):
        r = json.loads(line)
        e = r["engine"]  # "ironflow", or "ironflow-<layout>" with IRONFLOW_TREE_LAYOUT
        if e not in engines:
            engines.insert(1, e)
        results[(r["model"], r["rows"], e)] = r["ns_tree_row"]
        if not r["equal"]:
            checks[(r["model"], e)] = r["max_rel_diff"]
    for m in manifest["models"]:
        x = load_x(out, m)
        expected_file = m.get("expected_python", m["expected"])
        expected = np.fromfile(os.path.join(out, expected_file), dtype="<f8").reshape(N_ROWS, -1)
        for engine, (predict, tol) in engines_for(out, m, x).items():
            diff = compare(predict(N_ROWS), expected, expected.shape[1])
            if not diff <= tol:
                checks[(m["name"], engine)] = diff
            for rows in ROWS:
                s = time_call(lambda: predict(rows))
                results[(m["name"], rows, engine)] = s * 1e9 / (rows * m["trees"])
                print(json.dumps({"engine": engine, "model": m["name"], "rows": rows,
                                  "ns_tree_row": results[(m["name"], rows, engine)],
                                  "max_rel_diff": diff}), file=sys.stderr, flush=True)

    print("| model | trees | rows | " + " | ".join(engines)
          + " | lleaves ÷ ironflow | tl2cgen ÷ ironflow | library ÷ ironflow | check |")
    print("|---|---:|---:|" + "---:|" * len(engines) + "---:|---:|---:|---|")
    for m in manifest["models"]:
        diffs = [f"{e} {d:.1e}" for (name, e), d in checks.items() if name == m["name"]]
        for rows in ROWS:
            cells = [results.get((m["name"], rows, e)) for e in engines]
            own = cells[0]
            other = {e: results.get((m["name"], rows, e)) for e in ENGINES}

            def ratio(v):
                return "—" if v is None or own is None or own != own else f"{v / own:.2f}×"

            print(f"| {m['name']} | {m['trees']} | {rows:,} | "
                  + " | ".join(fmt_ns(v) for v in cells)
                  + f" | {ratio(other['lleaves'])} | {ratio(other['tl2cgen'])}"
                  + f" | {ratio(other['library'])} | "
                  + ("equal" if not diffs else "differ: " + ", ".join(diffs)) + " |")
    print("\nns per tree per row, one thread each; ratios > 1× mean ironflow is faster.")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "time":
        time_all(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        main()
