#!/usr/bin/env python3
"""Generate the MLflow ONNX fixtures under examples/models/.

Each case directory holds:
  model/         an MLflow model directory written by ``mlflow.onnx.save_model``
  request.json   a KServe v2 inference request (named ONNX inputs)
  expected.json  the outputs ``mlflow.pyfunc.load_model('model').predict(...)``
                 returned for that request, encoded as MLServer's MLflow runtime
                 encodes them (see ``encode_output``)
  case.json      what the case is: estimator, ONNX ops/opsets, library versions, notes

Every expected output is computed twice, by mlflow.pyfunc and by a plain
onnxruntime.InferenceSession on model/model.onnx, and the two must agree before
anything is written. Where a scikit-learn estimator exists, its own prediction is
compared too and the largest difference is recorded in case.json.

Run once from the repository root (see README.md). The script deletes and rewrites
only the case directories it owns. Data and seeds are fixed; MLflow itself stamps a
uuid/time into MLmodel and names external-data files with a uuid, so those bytes
change from run to run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
import warnings
from importlib import metadata
from pathlib import Path

os.environ.setdefault("MLFLOW_TRACKING_URI", "file:///tmp/ironflow-fixtures-mlruns")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import mlflow  # noqa: E402
import mlflow.onnx  # noqa: E402
import mlflow.pyfunc  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402

from sklearn import datasets  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import FeatureUnion, Pipeline  # noqa: E402
from sklearn.preprocessing import (  # noqa: E402
    Binarizer,
    Normalizer,
    OneHotEncoder,
    StandardScaler,
)
from sklearn.svm import SVC, SVR, LinearSVC, OneClassSVM  # noqa: E402
from skl2onnx import convert_sklearn  # noqa: E402
from skl2onnx.common.data_types import (  # noqa: E402
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
)

warnings.filterwarnings("ignore")

HERE = Path(__file__).resolve().parent
MAX_MODEL_BYTES = 200 * 1024
RTOL = 1e-4
ATOL = 1e-5


def _v(pkg: str) -> str:
    return metadata.version(pkg)


ENV = {
    "name": "fixtures",
    "python": platform.python_version(),
    "mlflow": _v("mlflow"),
    "sklearn": _v("scikit-learn"),
    "numpy": _v("numpy"),
    "pandas": _v("pandas"),
    "cloudpickle": _v("cloudpickle"),
    "onnx": _v("onnx"),
    "onnxruntime": _v("onnxruntime"),
    "skl2onnx": _v("skl2onnx"),
}
SOURCE = (
    "mlflow.pyfunc.load_model('model').predict(<request.json decoded as MLServer's MLflow "
    "runtime decodes it: content type 'dict', i.e. a dict of numpy arrays, one per input>) "
    "with " + ", ".join(f"{k} {v}" for k, v in ENV.items() if k != "name")
)
ZIPMAP_NOTE = (
    "output {name} is an ONNX ZipMap (sequence of maps): onnxruntime/mlflow.pyfunc return a list "
    "of dicts keyed by class label {keys}. MLServer's MLflow runtime cannot encode it (NumpyCodec "
    "needs an ndarray), so expected.json gives it as an FP32 [N, n_classes] tensor with columns in "
    "the map's key order; the label output is unaffected."
)

# ---------------------------------------------------------------------------
# JSON helpers
# ---------------------------------------------------------------------------


def _scalar(value, datatype):
    if datatype in ("FP32", "FP64", "FP16"):
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            raise ValueError("infinite value cannot be written to JSON")
        if datatype == "FP32":
            # shortest decimal that round-trips to the same float32
            return float(str(np.float32(f)))
        return f
    if datatype == "BOOL":
        return bool(value)
    if datatype == "BYTES":
        if isinstance(value, bytes):
            return value.decode("utf-8")
        return str(value)
    return int(value)


def datatype_of(arr: np.ndarray) -> str:
    k = arr.dtype
    if k == np.float32:
        return "FP32"
    if k == np.float64:
        return "FP64"
    if k == np.float16:
        return "FP16"
    if k == np.int64:
        return "INT64"
    if k == np.int32:
        return "INT32"
    if k == np.int16:
        return "INT16"
    if k == np.int8:
        return "INT8"
    if k == np.uint8:
        return "UINT8"
    if k == np.bool_:
        return "BOOL"
    if k.kind in ("U", "S", "O"):
        return "BYTES"
    raise TypeError(f"no v2 datatype for {k}")


def tensor_json(name: str, arr: np.ndarray, *, output: bool) -> dict:
    arr = np.asarray(arr)
    dt = datatype_of(arr)
    shape = list(arr.shape)
    if output and len(shape) == 1:
        shape = [shape[0], 1]
    data = [_scalar(v, dt) for v in arr.reshape(-1).tolist()]
    return {"name": name, "shape": shape, "datatype": dt, "data": data}


def dumps(obj, indent: int = 0) -> str:
    """json.dumps(indent=1) except that lists of scalars stay on one line (corpus style)."""
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


def write_json(path: Path, obj) -> None:
    path.write_text(dumps(obj) + "\n")


# ---------------------------------------------------------------------------
# ONNX inspection
# ---------------------------------------------------------------------------


def _iter_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _iter_nodes(attr.g)
            for g in attr.graphs:
                yield from _iter_nodes(g)


def _attr_summary(attr):
    v = helper.get_attribute_value(attr)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (int, float)):
        return _json_safe(v)
    if isinstance(v, onnx.TensorProto):
        a = numpy_helper.to_array(v)
        if a.size <= 12:
            return {"tensor": onnx.helper.tensor_dtype_to_np_dtype(v.data_type).name,
                    "values": [_json_safe(x) for x in a.reshape(-1).tolist()]}
        out = {"tensor": onnx.helper.tensor_dtype_to_np_dtype(v.data_type).name,
               "len": int(a.size)}
        uniq = sorted({_json_safe(x) for x in a.reshape(-1).tolist()}, key=str)
        if len(uniq) <= 8:
            out["distinct"] = uniq
        return out
    if isinstance(v, list):
        vals = [x.decode() if isinstance(x, bytes) else x for x in v]
        if attr.name == "nodes_modes" or len(vals) > 12:
            uniq = sorted({_json_safe(x) for x in vals}, key=str)
            if attr.name in ("nodes_modes",) or len(uniq) <= 6:
                return {"len": len(vals), "distinct": uniq}
            return {"len": len(vals)}
        return [_json_safe(x) for x in vals]
    return str(type(v))


def _json_safe(x):
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, bytes):
        return x.decode()
    return x


def inspect_model(model_dir: Path) -> dict:
    path = model_dir / "model.onnx"
    light = onnx.load(str(path), load_external_data=False)
    ops = sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in _iter_nodes(light.graph)})
    opsets = dict(sorted({(o.domain or "ai.onnx"): o.version for o in light.opset_import}.items()))
    external = {}
    for init in light.graph.initializer:
        if init.data_location == TensorProto.EXTERNAL:
            loc = {e.key: e.value for e in init.external_data}
            external[init.name] = loc["location"]
    ml_nodes = []
    for n in _iter_nodes(light.graph):
        if n.domain == "ai.onnx.ml":
            ml_nodes.append({
                "op": n.op_type,
                "attributes": {a.name: _attr_summary(a) for a in n.attribute if a.name != "name"},
            })
    info = {
        "onnx_ops": ops,
        "onnx_opsets": opsets,
        "onnx_ir_version": light.ir_version,
        "onnx_inputs": [
            {"name": i.name, "elem_type": TensorProto.DataType.Name(i.type.tensor_type.elem_type),
             "shape": [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]}
            for i in light.graph.input
        ],
        "onnx_outputs": [o.name for o in light.graph.output],
    }
    if external:
        info["onnx_external_data"] = external
    if ml_nodes:
        info["ml_op_attributes"] = ml_nodes
    return info


# ---------------------------------------------------------------------------
# predictions
# ---------------------------------------------------------------------------


def _is_zipmap(value) -> bool:
    return isinstance(value, list) and (not value or isinstance(value[0], dict))


def encode_output(name: str, value):
    """One pyfunc output -> (v2 output dict, note or None)."""
    if _is_zipmap(value):
        keys = list(value[0].keys())
        table = np.array([[row[k] for k in keys] for row in value], dtype=np.float32)
        t = tensor_json(name, table, output=True)
        return t, ZIPMAP_NOTE.format(name=name, keys=json.dumps([_json_safe(k) for k in keys]))
    return tensor_json(name, np.asarray(value), output=True), None


def assert_same(name, a, b):
    if _is_zipmap(a):
        assert _is_zipmap(b) and len(a) == len(b), name
        for ra, rb in zip(a, b):
            assert list(ra.keys()) == list(rb.keys()), name
            np.testing.assert_allclose(list(ra.values()), list(rb.values()), rtol=1e-6, atol=1e-7)
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (name, a.shape, b.shape, a.dtype, b.dtype)
    if a.dtype.kind in "fc":
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7, equal_nan=True, err_msg=name)
    else:
        assert (a == b).all(), name


def to_plain(value):
    if _is_zipmap(value):
        keys = list(value[0].keys())
        return np.array([[row[k] for k in keys] for row in value], dtype=np.float64)
    return np.asarray(value)


# ---------------------------------------------------------------------------
# writing one case
# ---------------------------------------------------------------------------

WRITTEN: list[dict] = []


def save_case(
    name: str,
    onnx_model: onnx.ModelProto,
    inputs: dict[str, np.ndarray],
    *,
    estimator: str,
    data: str,
    notes: str,
    sig_output="onnx",
    input_example=None,
    reference: dict | None = None,
    reference_check: str = "report",
    extra: dict | None = None,
    expect_external: bool = False,
):
    """Save the model with mlflow, predict, cross-check, write the case files.

    sig_output: "onnx" -> signature outputs inferred from the named onnxruntime outputs (when all
    are tensors); None -> no output schema; anything else -> passed to infer_signature as the
    model output (e.g. sklearn's predict(), as the usual tutorials do).
    reference: {onnx output name: array computed by scikit-learn (or numpy)}; the largest
    difference is written to case.json; with reference_check='assert' it must be within tolerance.
    """
    case_dir = HERE / name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    model_dir = case_dir / "model"

    onnx.checker.check_model(onnx_model)
    # direct onnxruntime run on the in-memory model first (fails fast before mlflow)
    sess = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    out_names = [o.name for o in sess.get_outputs()]
    direct_mem = dict(zip(out_names, sess.run(None, inputs)))

    if isinstance(sig_output, str) and sig_output == "onnx":
        if all(isinstance(v, np.ndarray) for v in direct_mem.values()):
            signature = infer_signature(inputs, direct_mem)
        else:
            signature = infer_signature(inputs)
    elif sig_output is None:
        signature = infer_signature(inputs)
    else:
        signature = infer_signature(inputs, sig_output)

    mlflow.onnx.save_model(onnx_model, str(model_dir), signature=signature,
                           input_example=input_example)

    model_bytes = sum(p.stat().st_size for p in model_dir.iterdir())
    onnx_bytes = sum(p.stat().st_size for p in model_dir.iterdir()
                     if p.name not in ("MLmodel", "conda.yaml", "python_env.yaml",
                                       "requirements.txt", "input_example.json",
                                       "serving_input_example.json"))
    assert onnx_bytes < MAX_MODEL_BYTES, f"{name}: model files {onnx_bytes} bytes"

    # 1. the real mlflow pyfunc
    pyfunc_model = mlflow.pyfunc.load_model(str(model_dir))
    pred = pyfunc_model.predict({k: v.copy() for k, v in inputs.items()})
    assert isinstance(pred, dict), type(pred)
    assert list(pred.keys()) == out_names, (list(pred.keys()), out_names)

    # 2. onnxruntime directly on the saved file (this also proves external data resolves)
    sess2 = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    direct = dict(zip(out_names, sess2.run(None, inputs)))
    for k in out_names:
        assert_same(k, pred[k], direct[k])
        assert_same(k, pred[k], direct_mem[k])

    info = inspect_model(model_dir)
    if expect_external:
        assert info.get("onnx_external_data"), f"{name}: expected external data"
        for loc in set(info["onnx_external_data"].values()):
            assert (model_dir / loc).is_file(), loc

    outputs, out_notes = [], []
    for k in out_names:
        t, note = encode_output(k, pred[k])
        outputs.append(t)
        if note:
            out_notes.append(note)
    expected = {"outputs": outputs, "rtol": RTOL, "atol": ATOL, "source": SOURCE}
    if out_notes:
        expected["notes"] = " ".join(out_notes)

    request = {"inputs": [tensor_json(k, v, output=False) for k, v in inputs.items()]}
    n_rows = {int(np.asarray(v).shape[0]) for v in inputs.values()}
    assert len(n_rows) == 1, n_rows

    null_cells = sum(1 for t in request["inputs"] for x in t["data"] if x is None)
    case = {
        "name": name,
        "flavor": "onnx",
        "estimator": estimator,
        "env": ENV,
        "signature_kind": "tensor",
        "serialization_format": "onnx",
        "pyfunc_predict_fn": "predict",
        "notes": notes + (
            f" request.json encodes NaN input cells as JSON null ({null_cells} cells); decode "
            "them as NaN." if null_cells else ""),
        "mlflow_version_in_mlmodel": ENV["mlflow"],
        "request_rows": n_rows.pop(),
        "request_content_type": None,
        "mlserver_content_type": "dict",
        "model_files": sorted(p.name for p in model_dir.iterdir()),
        "model_size_bytes": model_bytes,
        "data": data,
        "signature": {
            "inputs": json.loads(signature.inputs.to_json()),
            "outputs": json.loads(signature.outputs.to_json()) if signature.outputs else None,
        },
    }
    case.update(info)

    if reference:
        diffs = {}
        for k, ref in reference.items():
            got = to_plain(pred[k])
            ref = np.asarray(ref)
            if got.dtype.kind in "fc" or ref.dtype.kind in "fc":
                got = got.astype(np.float64).reshape(ref.shape)
                d = float(np.nanmax(np.abs(got - ref.astype(np.float64)))) if got.size else 0.0
                diffs[k] = {"max_abs_diff": d}
                if reference_check == "assert":
                    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL * 10, err_msg=k)
            else:
                got = got.reshape(ref.shape)
                mism = int((got.astype(str) != ref.astype(str)).sum())
                diffs[k] = {"mismatches": mism}
                if reference_check == "assert":
                    assert mism == 0, (k, got, ref)
        case["reference_comparison"] = diffs
    if extra:
        case.update(extra)

    write_json(case_dir / "request.json", request)
    write_json(case_dir / "expected.json", expected)
    write_json(case_dir / "case.json", case)
    WRITTEN.append({"name": name, "estimator": estimator, "ops": info["onnx_ops"],
                    "bytes": model_bytes, "notes": notes})
    print(f"wrote {name}: {info['onnx_ops']} ({model_bytes} bytes)")


# ---------------------------------------------------------------------------
# data helpers
# ---------------------------------------------------------------------------


def pick_mixed(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of n rows, round-robin over the distinct labels (so predictions are mixed)."""
    rng = np.random.default_rng(seed)
    groups = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    out, i = [], 0
    while len(out) < n:
        progressed = False
        for g in groups:
            if i < len(g) and len(out) < n:
                out.append(int(g[i]))
                progressed = True
        if not progressed:
            break
        i += 1
    return np.array(sorted(out, key=lambda _: rng.random()))


def f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def skl(model, initial_types, **kw) -> onnx.ModelProto:
    # a fixed graph name (skl2onnx's default is a random uuid) keeps model.onnx byte-stable
    kw.setdefault("name", type(model).__name__)
    m = convert_sklearn(model, initial_types=initial_types, **kw)
    # skl2onnx lists opset_import in set order (varies with hash seed); sort it, same content
    ops = sorted((o.domain, o.version) for o in m.opset_import)
    del m.opset_import[:]
    m.opset_import.extend(helper.make_opsetid(d, v) for d, v in ops)
    return m


def diabetes():
    X, y = datasets.load_diabetes(return_X_y=True)
    return f32(X), y


# ---------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------


def case_iris_logreg():
    X, y = datasets.load_iris(return_X_y=True)
    X = f32(X)
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=301, stratify=y)
    pipe = Pipeline([("scaler", StandardScaler()), ("logreg", LogisticRegression(max_iter=1000))])
    pipe.fit(Xtr, ytr)
    rows = Xte[pick_mixed(pipe.predict(Xte), 10, 301)]
    m = skl(pipe, [("float_input", FloatTensorType([None, 4]))])
    save_case(
        "iris-logreg-onnx", m, {"float_input": rows},
        estimator="skl2onnx(Pipeline(StandardScaler, LogisticRegression))",
        data="sklearn.datasets.load_iris, float32, test split seed 301",
        notes="The README demo model. skl2onnx defaults (ZipMap on); signature inferred from the "
              "named input example {'float_input': float32 [N,4]} and sklearn's predict() "
              "(one unnamed int64 tensor, as the usual tutorial does); input_example saved.",
        sig_output=pipe.predict(Xtr),
        input_example={"float_input": Xtr[:3]},
        reference={"output_label": pipe.predict(rows),
                   "output_probability": pipe.predict_proba(rows)},
        reference_check="assert",
    )


def case_rf_regressor():
    X, y = diabetes()
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.2, random_state=302)
    rf = RandomForestRegressor(n_estimators=10, max_depth=6, random_state=302).fit(Xtr, ytr)
    rows = Xte[np.random.default_rng(302).choice(len(Xte), 12, replace=False)]
    m = skl(rf, [("float_input", FloatTensorType([None, 10]))])
    save_case(
        "rf-regressor-onnx", m, {"float_input": rows},
        estimator="skl2onnx(RandomForestRegressor(n_estimators=10, max_depth=6))",
        data="sklearn.datasets.load_diabetes, float32, test split seed 302",
        notes="TreeEnsembleRegressor aggregate_function AVERAGE, float attributes.",
        sig_output=rf.predict(Xtr),
        reference={"variable": rf.predict(rows).reshape(-1, 1)},
    )


def _as_tensor_regressor(rf, float_model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite skl2onnx's float TreeEnsembleRegressor into the ai.onnx.ml opset-3 form with
    double attributes (nodes_values_as_tensor, target_weights_as_tensor) and a double input,
    taking the exact float64 thresholds from the fitted sklearn trees."""
    (node,) = [n for n in float_model.graph.node if n.op_type == "TreeEnsembleRegressor"]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute if a.name != "name"}
    thresholds = []
    for t, nid, fid, mode in zip(attrs["nodes_treeids"], attrs["nodes_nodeids"],
                                 attrs["nodes_featureids"], attrs["nodes_modes"]):
        tree = rf.estimators_[t].tree_
        if mode == b"LEAF":
            thresholds.append(0.0)
        else:
            assert mode == b"BRANCH_LEQ" and tree.feature[nid] == fid
            thresholds.append(float(tree.threshold[nid]))
    weights = []
    for t, nid in zip(attrs["target_treeids"], attrs["target_nodeids"]):
        weights.append(float(rf.estimators_[t].tree_.value[nid].ravel()[0]) / len(rf.estimators_))
    attrs.pop("nodes_values")
    attrs.pop("target_weights")
    attrs.pop("nodes_hitrates", None)
    attrs["nodes_values_as_tensor"] = numpy_helper.from_array(np.array(thresholds), "nv")
    attrs["target_weights_as_tensor"] = numpy_helper.from_array(np.array(weights), "tw")
    attrs["nodes_modes"] = [m.decode() for m in attrs["nodes_modes"]]
    attrs["post_transform"] = attrs["post_transform"].decode()
    attrs.pop("aggregate_function", None)
    # the averaging is folded into the weights, so SUM
    attrs["aggregate_function"] = "SUM"
    n_features = rf.n_features_in_
    new = helper.make_node("TreeEnsembleRegressor", ["double_input"], ["variable"],
                           domain="ai.onnx.ml", **attrs)
    graph = helper.make_graph(
        [new], "rf_double",
        [helper.make_tensor_value_info("double_input", TensorProto.DOUBLE, ["N", n_features])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", 1])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                   helper.make_opsetid("ai.onnx.ml", 3)],
                             ir_version=8, producer_name="ironflow-fixtures")


def case_rf_regressor_double():
    X, y = datasets.load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.2, random_state=319)
    rf = RandomForestRegressor(n_estimators=5, max_depth=5, random_state=319).fit(Xtr, ytr)
    rows = np.ascontiguousarray(Xte[np.random.default_rng(319).choice(len(Xte), 8, replace=False)])
    m = _as_tensor_regressor(rf, skl(rf, [("float_input", FloatTensorType([None, 10]))]))
    save_case(
        "rf-regressor-double-onnx", m, {"double_input": rows},
        estimator="TreeEnsembleRegressor (ai.onnx.ml opset 3, double attributes) from "
                  "RandomForestRegressor(n_estimators=5, max_depth=5)",
        data="sklearn.datasets.load_diabetes, float64, test split seed 319",
        notes="ai.onnx.ml opset-3 attribute form: nodes_values_as_tensor and "
              "target_weights_as_tensor are double tensors (exact sklearn thresholds), input is "
              "FP64, output FP32 (the operator's output is always float). Built by rewriting "
              "skl2onnx's float model: skl2onnx 1.20 with a DoubleTensorType input emits a "
              "TreeEnsembleRegressor with a double output that onnxruntime 1.32 rejects (Type "
              "Error). The 1/n_trees averaging is folded into the weights (aggregate SUM). "
              "Comparisons must be done in double: one request row (index 1) has a feature value "
              "2.4e-11 above a threshold, so onnxruntime goes right while sklearn (which casts X "
              "to float32 before walking its trees) goes left; reference_comparison shows that "
              "difference.",
        sig_output=rf.predict(Xtr),
        reference={"variable": rf.predict(rows).reshape(-1, 1)},
    )


def case_gb_regressor():
    X, y = diabetes()
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.2, random_state=303)
    gb = GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=303).fit(Xtr, ytr)
    rows = Xte[np.random.default_rng(303).choice(len(Xte), 10, replace=False)]
    m = skl(gb, [("float_input", FloatTensorType([None, 10]))])
    save_case(
        "gb-regressor-onnx", m, {"float_input": rows},
        estimator="skl2onnx(GradientBoostingRegressor(n_estimators=20, max_depth=3))",
        data="sklearn.datasets.load_diabetes, float32, test split seed 303",
        notes="TreeEnsembleRegressor aggregate_function SUM with base_values (the init mean); "
              "learning rate folded into the leaf weights.",
        sig_output=gb.predict(Xtr),
        reference={"variable": gb.predict(rows).reshape(-1, 1)},
    )


def case_gb_classifier_binary():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X = f32(X)
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.25, random_state=304, stratify=y)
    gb = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=304).fit(Xtr, ytr)
    rows = Xte[pick_mixed(gb.predict(Xte), 12, 304)]
    m = skl(gb, [("float_input", FloatTensorType([None, 30]))], options={id(gb): {"zipmap": False}})
    save_case(
        "gb-classifier-binary-onnx", m, {"float_input": rows},
        estimator="skl2onnx(GradientBoostingClassifier(n_estimators=20, max_depth=3)), binary",
        data="sklearn.datasets.load_breast_cancer, float32, test split seed 304",
        notes="zipmap=False. Binary form: TreeEnsembleClassifier with one weight per leaf "
              "(class id 0 only), classlabels_int64s [0,1], base_values (log-odds prior) and "
              "post_transform LOGISTIC; onnxruntime expands the single score to [1-p, p].",
        sig_output=gb.predict(Xtr),
        reference={"label": gb.predict(rows), "probabilities": gb.predict_proba(rows)},
    )


def case_gb_classifier_multiclass():
    X, y = datasets.load_wine(return_X_y=True)
    X = f32(X)
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=305, stratify=y)
    gb = GradientBoostingClassifier(n_estimators=12, max_depth=3, random_state=305).fit(Xtr, ytr)
    rows = Xte[pick_mixed(gb.predict(Xte), 12, 305)]
    m = skl(gb, [("float_input", FloatTensorType([None, 13]))], options={id(gb): {"zipmap": False}})
    save_case(
        "gb-classifier-multiclass-onnx", m, {"float_input": rows},
        estimator="skl2onnx(GradientBoostingClassifier(n_estimators=12, max_depth=3)), 3 classes",
        data="sklearn.datasets.load_wine, float32, test split seed 305",
        notes="zipmap=False. TreeEnsembleClassifier with 3 trees per stage (one per class), "
              "base_values (class priors), post_transform SOFTMAX.",
        sig_output=gb.predict(Xtr),
        reference={"label": gb.predict(rows), "probabilities": gb.predict_proba(rows)},
    )


def case_rf_classifier_strlabels():
    data = datasets.load_iris()
    X = f32(data.data)
    y = np.array(data.target_names)[data.target].astype(object)
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=306, stratify=y)
    rf = RandomForestClassifier(n_estimators=8, max_depth=5, random_state=306).fit(Xtr, ytr)
    rows = Xte[pick_mixed(rf.predict(Xte), 12, 306)]
    m = skl(rf, [("float_input", FloatTensorType([None, 4]))])
    save_case(
        "rf-classifier-strlabels-onnx", m, {"float_input": rows},
        estimator="skl2onnx(RandomForestClassifier(n_estimators=8, max_depth=5)), string labels",
        data="sklearn.datasets.load_iris with labels replaced by target_names "
             "('setosa','versicolor','virginica'), float32, test split seed 306",
        notes="String class labels, ZipMap on: TreeEnsembleClassifier with classlabels_strings "
              "(post_transform NONE, leaf weights are class fractions averaged over trees), ZipMap "
              "with classlabels_strings; output_label is a string tensor (BYTES).",
        sig_output=rf.predict(Xtr).astype(str),
        reference={"output_label": rf.predict(rows).astype(str),
                   "output_probability": rf.predict_proba(rows)},
        reference_check="assert",
    )


def case_extratrees():
    X, y = datasets.load_wine(return_X_y=True)
    X = f32(X)
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=307, stratify=y)
    et = ExtraTreesClassifier(n_estimators=8, max_depth=5, random_state=307).fit(Xtr, ytr)
    rows = Xte[pick_mixed(et.predict(Xte), 12, 307)]
    m = skl(et, [("float_input", FloatTensorType([None, 13]))], options={id(et): {"zipmap": False}})
    save_case(
        "extratrees-classifier-onnx", m, {"float_input": rows},
        estimator="skl2onnx(ExtraTreesClassifier(n_estimators=8, max_depth=5)), 3 classes",
        data="sklearn.datasets.load_wine, float32, test split seed 307",
        notes="zipmap=False. TreeEnsembleClassifier post_transform NONE, classlabels_int64s, "
              "leaf class weights averaged over trees.",
        sig_output=et.predict(Xtr),
        reference={"label": et.predict(rows), "probabilities": et.predict_proba(rows)},
    )


def _patch_skl2onnx_hgb_missing_flag():
    """skl2onnx 1.20 passes Python bools (missing = False for leaves, numpy bools for splits) as
    nodes_missing_value_tracks_true; onnx 1.23's make_attribute rejects bools in an ints field.
    Cast them to int (the attribute's meaning is unchanged)."""
    import skl2onnx.common.tree_ensemble as te

    if getattr(te.add_node, "_ironflow_patched", False):
        return
    original = te.add_node

    def add_node(*args, **kwargs):
        if "nodes_missing_value_tracks_true" in kwargs:
            kwargs["nodes_missing_value_tracks_true"] = int(
                kwargs["nodes_missing_value_tracks_true"])
        return original(*args, **kwargs)

    add_node._ironflow_patched = True
    te.add_node = add_node


def case_hgb_regressor():
    _patch_skl2onnx_hgb_missing_flag()
    X, y = diabetes()
    rng = np.random.default_rng(308)
    Xn = X.copy()
    Xn[rng.random(Xn.shape) < 0.1] = np.nan
    Xtr, Xte, ytr, _ = train_test_split(Xn, y, test_size=0.2, random_state=308)
    hgb = HistGradientBoostingRegressor(max_iter=15, max_depth=4, random_state=308).fit(Xtr, ytr)
    rows = Xte[rng.choice(len(Xte), 12, replace=False)].copy()
    rows[0, 2] = np.nan
    rows[3, 0] = np.nan
    rows[3, 8] = np.nan
    rows[7, 5] = np.nan
    m = skl(hgb, [("float_input", FloatTensorType([None, 10]))])
    info_ops = ", ".join(sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in m.graph.node}))
    ml_opset = {o.domain: o.version for o in m.opset_import}.get("ai.onnx.ml")
    save_case(
        "hgb-regressor-onnx", m, {"float_input": rows},
        estimator="skl2onnx(HistGradientBoostingRegressor(max_iter=15, max_depth=4))",
        data="sklearn.datasets.load_diabetes, float32, ~10% of training cells set to NaN "
             "(seed 308); request rows keep their NaNs and have 4 more",
        notes=f"skl2onnx 1.20 emits {info_ops} (ai.onnx.ml opset {ml_opset}; not the opset-5 "
              "TreeEnsemble) with nodes_missing_value_tracks_true set where sklearn sends missing "
              "values left, aggregate SUM and base_values (the baseline prediction). generate.py "
              "casts skl2onnx's bool missing-value flags to int (skl2onnx 1.20 + onnx 1.23 "
              "otherwise fail with 'Expected an int, got a boolean').",
        sig_output=hgb.predict(Xtr),
        reference={"variable": hgb.predict(rows).reshape(-1, 1)},
    )


# --- TreeEnsemble (ai.onnx.ml opset 5) built from a fitted HistGradientBoostingRegressor ------


def _hgb_to_tree_ensemble(hgb, n_features: int) -> onnx.ModelProto:
    """Translate a fitted HistGradientBoostingRegressor into one ai.onnx.ml TreeEnsemble node.

    Numerical splits -> BRANCH_LEQ (mode 0) on num_threshold; categorical splits -> BRANCH_MEMBER
    (mode 6) with the categories that go left listed in membership_values. missing_go_to_left ->
    nodes_missing_value_tracks_true. TreeEnsemble has no base_values, so the baseline prediction
    is added to every leaf of the first tree.
    """
    baseline = float(np.asarray(hgb._baseline_prediction).ravel()[0])
    # sklearn >= 1.4 runs categorical features through an internal ColumnTransformer that puts
    # them first (ordinal-encoded); tree feature ids and bitsets refer to that layout.
    col_of = list(range(n_features))
    cats_of: dict[int, np.ndarray] = {}
    pre = getattr(hgb, "_preprocessor", None)
    if pre is not None:
        col_of = []
        for tname, trans, cols in pre.transformers_:
            if isinstance(trans, str) and trans == "drop":
                continue
            cols = np.arange(n_features)[cols].tolist() if not isinstance(cols, list) else cols
            for j, c in enumerate(cols):
                if tname == "encoder":
                    cats_of[len(col_of)] = np.asarray(trans.categories_[j], dtype=np.float64)
                col_of.append(int(c))
        assert sorted(col_of) == list(range(n_features)), col_of
    feat, splits, modes, tids, tleaf, fids, fleaf, miss = [], [], [], [], [], [], [], []
    membership: list[float] = []
    leaf_w: list[float] = []
    roots: list[int] = []

    for t, per_class in enumerate(hgb._predictors):
        pred = per_class[0]
        nodes = pred.nodes
        bitsets = pred.raw_left_cat_bitsets

        def visit(i):
            nd = nodes[i]
            if nd["is_leaf"]:
                leaf_w.append(float(nd["value"]) + (baseline if t == 0 else 0.0))
                return len(leaf_w) - 1, 1
            k = len(feat)
            fidx = int(nd["feature_idx"])
            feat.append(col_of[fidx])
            miss.append(int(nd["missing_go_to_left"]))
            if nd["is_categorical"]:
                words = bitsets[nd["bitset_idx"]]
                codes = [c for c in range(32 * len(words)) if (int(words[c // 32]) >> (c % 32)) & 1]
                values = cats_of.get(fidx)
                cats = [float(values[c]) if values is not None else float(c) for c in codes
                        if values is None or c < len(values)]
                modes.append(6)
                splits.append(0.0)
                membership.extend(cats + [float("nan")])
            else:
                modes.append(0)
                splits.append(float(nd["num_threshold"]))
            tids.append(-1), tleaf.append(0), fids.append(-1), fleaf.append(0)
            li, ll = visit(int(nd["left"]))
            ri, rl = visit(int(nd["right"]))
            tids[k], tleaf[k], fids[k], fleaf[k] = li, ll, ri, rl
            return k, 0

        root, is_leaf = visit(0)
        assert not is_leaf, "a tree that is a single leaf cannot be expressed"
        roots.append(root)

    # float32 thresholds: round down so that x <= t (float64) <=> x <= t32 for float32 x
    sp = np.array(splits, dtype=np.float64)
    sp32 = sp.astype(np.float32)
    over = sp32.astype(np.float64) > sp
    sp32[over] = np.nextafter(sp32[over], np.float32(-np.inf))
    attrs = dict(
        n_targets=1,
        aggregate_function=1,  # SUM
        post_transform=0,  # NONE
        tree_roots=roots,
        nodes_featureids=feat,
        nodes_splits=numpy_helper.from_array(sp32, "nodes_splits"),
        nodes_modes=numpy_helper.from_array(np.array(modes, dtype=np.uint8), "nodes_modes"),
        nodes_truenodeids=tids,
        nodes_trueleafs=tleaf,
        nodes_falsenodeids=fids,
        nodes_falseleafs=fleaf,
        nodes_missing_value_tracks_true=miss,
        leaf_targetids=[0] * len(leaf_w),
        leaf_weights=numpy_helper.from_array(np.array(leaf_w, dtype=np.float32), "leaf_weights"),
    )
    if membership:
        attrs["membership_values"] = numpy_helper.from_array(
            np.array(membership, dtype=np.float32), "membership_values")
    node = helper.make_node("TreeEnsemble", ["X"], ["variable"], domain="ai.onnx.ml", **attrs)
    graph = helper.make_graph(
        [node], "hgb_tree_ensemble",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", n_features])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", 1])],
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 5)],
        ir_version=10, producer_name="ironflow-fixtures")


def case_tree_ensemble_opset5():
    rng = np.random.default_rng(309)
    n = 600
    X = np.column_stack([
        rng.normal(size=n), rng.uniform(-2, 2, size=n), rng.normal(size=n),
        rng.integers(0, 6, size=n).astype(np.float64),
    ])
    effect = np.array([0.0, 2.0, -1.5, 3.0, 0.5, -2.5])
    y = 2 * X[:, 0] - X[:, 1] ** 2 + 0.5 * X[:, 2] + effect[X[:, 3].astype(int)] \
        + rng.normal(scale=0.2, size=n)
    X = f32(X)
    X[rng.random(n) < 0.05, 0] = np.nan
    hgb = HistGradientBoostingRegressor(max_iter=6, max_depth=3, categorical_features=[3],
                                        random_state=309).fit(X, y)
    m = _hgb_to_tree_ensemble(hgb, 4)
    rows = f32(np.column_stack([
        rng.normal(size=10), rng.uniform(-2, 2, size=10), rng.normal(size=10),
        np.arange(10) % 6,
    ]))
    rows[2, 0] = np.nan
    rows[5, 3] = np.nan
    save_case(
        "tree-ensemble-opset5-onnx", m, {"X": rows},
        estimator="onnx.helper TreeEnsemble (ai.onnx.ml opset 5) translated from "
                  "HistGradientBoostingRegressor(max_iter=6, max_depth=3, categorical_features=[3])",
        data="numpy default_rng(309): 3 float features (5% NaN in feature 0) + 1 categorical "
             "feature with codes 0..5 stored as float; request rows have a NaN in a numerical "
             "and in the categorical feature",
        notes="skl2onnx 1.20 cannot emit the opset-5 TreeEnsemble (its tree converters stop at "
              "TreeEnsembleRegressor/Classifier, ml opset <= 3), so the node is built with "
              "onnx.helper: tensor attributes nodes_splits (float), nodes_modes (uint8: 0=BRANCH_LEQ, "
              "6=BRANCH_MEMBER for the categorical splits), leaf_weights, membership_values (the "
              "left-going categories of each BRANCH_MEMBER node, each set terminated by NaN); "
              "nodes_missing_value_tracks_true from missing_go_to_left; aggregate_function SUM; "
              "the baseline prediction is folded into the leaves of tree 0 (TreeEnsemble has no "
              "base_values). sklearn's internal categorical preprocessor (categorical columns first, "
              "ordinal codes) is undone, so feature ids and members refer to the raw input. "
              "Unknown categories would differ from sklearn (which treats them as missing); the "
              "request has none. onnxruntime accepts BRANCH_MEMBER.",
        reference={"variable": hgb.predict(rows).reshape(-1, 1)},
        reference_check="assert",
    )


# --- helper-built tree ensembles covering the remaining attribute variants ------------------

MODES = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"]


def _random_trees(rng, n_trees, depth, n_features, int_features, n_targets, weight_fn):
    """Full binary trees with random features / modes / thresholds, in the
    TreeEnsembleRegressor attribute layout."""
    a = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values",
                         "nodes_modes", "nodes_truenodeids", "nodes_falsenodeids",
                         "nodes_missing_value_tracks_true", "target_treeids", "target_nodeids",
                         "target_ids", "target_weights"]}
    for t in range(n_trees):
        n_nodes = 2 ** (depth + 1) - 1
        for i in range(n_nodes):
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(i)
            if i < 2 ** depth - 1:
                f = int(rng.integers(0, n_features))
                if f in int_features:
                    mode = MODES[int(rng.integers(0, 6))]
                    thr = float(rng.integers(0, 4))
                else:
                    mode = MODES[int(rng.integers(0, 4))]
                    thr = float(np.float32(rng.normal()))
                a["nodes_featureids"].append(f)
                a["nodes_values"].append(thr)
                a["nodes_modes"].append(mode)
                a["nodes_truenodeids"].append(2 * i + 1)
                a["nodes_falsenodeids"].append(2 * i + 2)
                a["nodes_missing_value_tracks_true"].append(int(rng.integers(0, 2)))
            else:
                a["nodes_featureids"].append(0)
                a["nodes_values"].append(0.0)
                a["nodes_modes"].append("LEAF")
                a["nodes_truenodeids"].append(0)
                a["nodes_falsenodeids"].append(0)
                a["nodes_missing_value_tracks_true"].append(0)
                for tgt, w in weight_fn(rng, t, i):
                    a["target_treeids"].append(t)
                    a["target_nodeids"].append(i)
                    a["target_ids"].append(tgt)
                    a["target_weights"].append(float(np.float32(w)))
    return a


def case_tree_ensemble_variants():
    rng = np.random.default_rng(310)
    n_features, int_features = 5, {3, 4}
    nodes = []
    outputs = []

    def reg(name, aggregate, post, n_targets, weight_fn, base_values=None, n_trees=3, depth=3):
        a = _random_trees(rng, n_trees, depth, n_features, int_features, n_targets, weight_fn)
        kw = dict(a, n_targets=n_targets, aggregate_function=aggregate,
                  post_transform=post)
        if base_values is not None:
            kw["base_values"] = base_values
        nodes.append(helper.make_node("TreeEnsembleRegressor", ["X"], [name],
                                      domain="ai.onnx.ml", **kw))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", n_targets]))

    def one(lo, hi):
        return lambda r, t, i: [(0, r.uniform(lo, hi))]

    reg("reg_min", "MIN", "NONE", 1, one(-2, 2))
    reg("reg_max", "MAX", "NONE", 1, one(-2, 2), base_values=[0.5])
    reg("reg_avg_2targets", "AVERAGE", "NONE", 2,
        lambda r, t, i: [(0, r.uniform(-1, 1)), (1, r.uniform(0, 3))], base_values=[1.0, -1.0])
    # PROBIT needs a score in (0, 1): 2 trees with leaves in (0.05, 0.45)
    reg("reg_probit", "SUM", "PROBIT", 1, one(0.05, 0.45), n_trees=2)
    # SOFTMAX_ZERO: target 2 only gets weight on some leaves, so some rows score exactly 0 there
    reg("reg_softmax_zero", "SUM", "SOFTMAX_ZERO", 3,
        lambda r, t, i: [(0, r.uniform(-1, 1)), (1, r.uniform(-1, 1))]
        + ([(2, r.uniform(0.5, 2))] if i % 2 == 0 else []))
    reg("reg_logistic", "SUM", "LOGISTIC", 1, one(-1, 1), base_values=[0.25])

    # a classifier with non-contiguous int64 labels, SOFTMAX_ZERO, base_values
    a = _random_trees(rng, 3, 3, n_features, int_features, 3,
                      lambda r, t, i: [(0, r.uniform(-1, 1)), (1, r.uniform(-1, 1))]
                      + ([(2, r.uniform(0.5, 2))] if i % 3 == 0 else []))
    ckw = {k: v for k, v in a.items() if not k.startswith("target_")}
    ckw.update(class_treeids=a["target_treeids"], class_nodeids=a["target_nodeids"],
               class_ids=a["target_ids"], class_weights=a["target_weights"],
               classlabels_int64s=[10, 20, 30], post_transform="SOFTMAX_ZERO",
               base_values=[0.0, 0.1, 0.0])
    nodes.append(helper.make_node("TreeEnsembleClassifier", ["X"], ["clf_label", "clf_scores"],
                                  domain="ai.onnx.ml", **ckw))
    outputs.append(helper.make_tensor_value_info("clf_label", TensorProto.INT64, ["N"]))
    outputs.append(helper.make_tensor_value_info("clf_scores", TensorProto.FLOAT, ["N", 3]))

    # a binary classifier with a single class id and PROBIT-free LOGISTIC: covered by
    # gb-classifier-binary-onnx; here a 2-class classifier with string labels and no post transform
    b = _random_trees(rng, 2, 2, n_features, int_features, 1,
                      lambda r, t, i: [(0, r.uniform(0, 0.5))])
    bkw = {k: v for k, v in b.items() if not k.startswith("target_")}
    bkw.update(class_treeids=b["target_treeids"], class_nodeids=b["target_nodeids"],
               class_ids=b["target_ids"], class_weights=b["target_weights"],
               classlabels_strings=["no", "yes"], post_transform="NONE")
    nodes.append(helper.make_node("TreeEnsembleClassifier", ["X"], ["bin_label", "bin_scores"],
                                  domain="ai.onnx.ml", **bkw))
    outputs.append(helper.make_tensor_value_info("bin_label", TensorProto.STRING, ["N"]))
    outputs.append(helper.make_tensor_value_info("bin_scores", TensorProto.FLOAT, ["N", 2]))

    graph = helper.make_graph(nodes, "tree_variants",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT,
                                                             ["N", n_features])], outputs)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                helper.make_opsetid("ai.onnx.ml", 1)],
                          ir_version=8, producer_name="ironflow-fixtures")
    rows = np.column_stack([rng.normal(size=14), rng.normal(size=14), rng.normal(size=14),
                            rng.integers(0, 4, size=14), rng.integers(0, 4, size=14)])
    rows = f32(rows)
    rows[1, 0] = np.nan
    rows[4, 3] = np.nan
    rows[9, 2] = np.nan
    save_case(
        "tree-ensemble-variants-onnx", m, {"X": rows},
        estimator="onnx.helper graph: 6 TreeEnsembleRegressor + 2 TreeEnsembleClassifier nodes "
                  "over random full binary trees",
        data="numpy default_rng(310): 3 normal features + 2 integer-valued features (0..3) as "
             "float, a few NaNs",
        notes="Attribute variants sklearn never produces: nodes_modes BRANCH_LEQ/LT/GTE/GT/EQ/NEQ "
              "(EQ/NEQ only on the integer-valued features 3 and 4), random "
              "nodes_missing_value_tracks_true, aggregate MIN / MAX / AVERAGE (2 targets) / SUM, "
              "post_transform NONE / PROBIT / SOFTMAX_ZERO / LOGISTIC, base_values; a classifier "
              "with classlabels_int64s [10,20,30], SOFTMAX_ZERO and base_values, and a binary "
              "classifier with classlabels_strings ['no','yes'], one class id (0) and "
              "post_transform NONE (onnxruntime fills the other column). Outputs are in "
              "graph-output order. onnxruntime quirk kept on purpose: for a single-target "
              "TreeEnsembleRegressor it applies only PROBIT and ignores LOGISTIC/SOFTMAX, so "
              "reg_logistic is the raw sum plus base_values (not in (0,1)); an implementation "
              "matching onnxruntime must do the same.",
    )


def case_onehot_linreg():
    import pandas as pd

    rng = np.random.default_rng(311)
    n = 300
    colors = np.array(["red", "green", "blue", "yellow"], dtype=object)
    sizes = np.array([1, 2, 3, 5], dtype=np.int64)
    df = pd.DataFrame({
        "color": colors[rng.integers(0, 4, n)],
        "size": sizes[rng.integers(0, 4, n)],
        "x1": rng.normal(10, 3, n).astype(np.float32),
        "x2": rng.normal(-2, 0.5, n).astype(np.float32),
    })
    eff_c = {"red": 1.0, "green": -2.0, "blue": 0.5, "yellow": 3.0}
    y = (df["color"].map(eff_c) + 0.7 * df["size"] + 0.3 * df["x1"] - 2 * df["x2"]
         + rng.normal(0, 0.1, n)).to_numpy()
    pipe = Pipeline([
        ("pre", ColumnTransformer([
            ("onehot", OneHotEncoder(handle_unknown="ignore"), ["color", "size"]),
            ("scale", StandardScaler(), ["x1", "x2"]),
        ])),
        ("linreg", LinearRegression()),
    ]).fit(df, y)
    k = 10
    req = pd.DataFrame({
        "color": np.array(list(colors[rng.integers(0, 4, k - 2)]) + ["purple", "blue"], dtype=object),
        "size": np.array(list(sizes[rng.integers(0, 4, k - 2)]) + [3, 7], dtype=np.int64),
        "x1": rng.normal(10, 3, k).astype(np.float32),
        "x2": rng.normal(-2, 0.5, k).astype(np.float32),
    })
    inputs = {
        "color": req["color"].to_numpy(dtype=object).reshape(-1, 1),
        "size": req["size"].to_numpy(dtype=np.int64).reshape(-1, 1),
        "x1": req["x1"].to_numpy(dtype=np.float32).reshape(-1, 1),
        "x2": req["x2"].to_numpy(dtype=np.float32).reshape(-1, 1),
    }
    m = skl(pipe, [("color", StringTensorType([None, 1])), ("size", Int64TensorType([None, 1])),
                   ("x1", FloatTensorType([None, 1])), ("x2", FloatTensorType([None, 1]))])
    save_case(
        "onehot-linreg-onnx", m, inputs,
        estimator="skl2onnx(Pipeline(ColumnTransformer([OneHotEncoder(handle_unknown='ignore') on "
                  "color (str) and size (int64), StandardScaler on x1, x2]), LinearRegression))",
        data="synthetic, numpy default_rng(311): color in {red, green, blue, yellow}, size in "
             "{1,2,3,5}, x1 ~ N(10,3), x2 ~ N(-2,0.5)",
        notes="Four named [N,1] inputs (BYTES, INT64, FP32, FP32). OneHotEncoder with "
              "cats_strings and with cats_int64s (zeros=1 because handle_unknown='ignore'); the "
              "last two rows carry unseen categories ('purple', size 7) which encode to all-zero. "
              "The two float inputs are joined by FeatureVectorizer before the Scaler. "
              "The string input is given to pyfunc as a numpy object array of str.",
        sig_output=pipe.predict(df),
        reference={"variable": pipe.predict(req).reshape(-1, 1)},
        reference_check="assert",
    )


def case_imputer_binarizer():
    X, y = datasets.load_iris(return_X_y=True)
    X = f32(X)
    rng = np.random.default_rng(312)
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=312, stratify=y)
    Xtr = Xtr.copy()
    Xtr[rng.random(Xtr.shape) < 0.05] = np.nan
    pipe = Pipeline([
        ("features", ColumnTransformer([
            ("bin", Pipeline([("impute", SimpleImputer(strategy="mean")),
                              ("binarize", Binarizer(threshold=0.5))]), [3]),
            ("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                              ("scale", StandardScaler())]), [0, 1, 2]),
        ])),
        ("logreg", LogisticRegression(max_iter=1000)),
    ]).fit(Xtr, ytr)
    rows = Xte[pick_mixed(pipe.predict(Xte), 12, 312)].copy()
    rows[1, 3] = np.nan
    rows[6, 0] = np.nan
    rows[10, 2] = np.nan
    m = skl(pipe, [("float_input", FloatTensorType([None, 4]))],
            options={id(pipe.steps[-1][1]): {"zipmap": False}})
    save_case(
        "imputer-binarizer-onnx", m, {"float_input": rows},
        estimator="skl2onnx(Pipeline(ColumnTransformer([SimpleImputer(mean)+Binarizer(0.5) on "
                  "col 3, SimpleImputer(median)+StandardScaler on cols 0-2]), "
                  "LogisticRegression(multinomial)))",
        data="sklearn.datasets.load_iris, float32, 5% of training cells NaN (seed 312), test split",
        notes="zipmap=False. Imputer (imputed_value_floats = training means, replaced_value_float "
              "NaN; means for col 3, medians for cols 0-2), Binarizer threshold 0.5, Scaler, "
              "column selection, LinearClassifier "
              "(multinomial) with softmax probabilities.",
        sig_output=pipe.predict(Xtr),
        reference={"label": pipe.predict(rows), "probabilities": pipe.predict_proba(rows)},
        reference_check="assert",
    )


def case_labelencoder():
    mk = helper.make_node
    nodes = [
        mk("LabelEncoder", ["fruit"], ["fruit_id"], domain="ai.onnx.ml",
           keys_strings=["apple", "banana", "cherry", "date"], values_int64s=[10, 20, 30, 40],
           default_int64=-1),
        mk("LabelEncoder", ["code"], ["code_name"], domain="ai.onnx.ml",
           keys_int64s=[1, 2, 3], values_strings=["one", "two", "three"],
           default_string="UNKNOWN"),
        mk("LabelEncoder", ["code"], ["code_weight"], domain="ai.onnx.ml",
           keys_int64s=[1, 2, 3], values_floats=[0.5, 1.5, 2.5], default_float=-0.25),
        mk("LabelEncoder", ["fruit"], ["fruit_color"], domain="ai.onnx.ml",
           keys_strings=["apple", "banana", "cherry"], values_strings=["red", "yellow", "red"],
           default_string="_Unused"),
    ]
    graph = helper.make_graph(
        nodes, "label_encoders",
        [helper.make_tensor_value_info("fruit", TensorProto.STRING, ["N"]),
         helper.make_tensor_value_info("code", TensorProto.INT64, ["N"])],
        [helper.make_tensor_value_info("fruit_id", TensorProto.INT64, ["N"]),
         helper.make_tensor_value_info("code_name", TensorProto.STRING, ["N"]),
         helper.make_tensor_value_info("code_weight", TensorProto.FLOAT, ["N"]),
         helper.make_tensor_value_info("fruit_color", TensorProto.STRING, ["N"])],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                helper.make_opsetid("ai.onnx.ml", 2)],
                          ir_version=8, producer_name="ironflow-fixtures")
    inputs = {
        "fruit": np.array(["apple", "banana", "kiwi", "cherry", "date", "", "banana", "Apple"],
                          dtype=object),
        "code": np.array([1, 2, 3, 4, 0, -1, 3, 2], dtype=np.int64),
    }
    save_case(
        "labelencoder-onnx", m, inputs,
        estimator="onnx.helper graph: 4 LabelEncoder nodes (ai.onnx.ml opset 2)",
        data="hand-written strings and int64 codes, including unknown keys ('kiwi', '', 'Apple', "
             "4, 0, -1)",
        notes="LabelEncoder string->int64 (default_int64 -1), int64->string (default_string "
              "'UNKNOWN'), int64->float (default_float -0.25), string->string (default "
              "'_Unused'). Inputs are 1-D [N]; 1-D outputs are encoded as [N,1]. skl2onnx has no "
              "standalone path to these key/value type pairs, so the graph is built with "
              "onnx.helper.",
    )


def case_labelencoder_opset4():
    mk = helper.make_node
    t = numpy_helper.from_array
    nodes = [
        mk("LabelEncoder", ["code"], ["code_value"], domain="ai.onnx.ml",
           keys_tensor=t(np.array([3, 5, 8], dtype=np.int64), "keys"),
           values_tensor=t(np.array([0.125, -2.5, 1e6], dtype=np.float64), "values"),
           default_tensor=t(np.array([np.nan], dtype=np.float64), "default")),
        mk("LabelEncoder", ["word"], ["word_upper"], domain="ai.onnx.ml",
           keys_tensor=t(np.array(["a", "b", "c"], dtype=object), "keys"),
           values_tensor=t(np.array(["A", "B", "C"], dtype=object), "values"),
           default_tensor=t(np.array(["?"], dtype=object), "default")),
    ]
    graph = helper.make_graph(
        nodes, "label_encoders_v4",
        [helper.make_tensor_value_info("code", TensorProto.INT64, ["N"]),
         helper.make_tensor_value_info("word", TensorProto.STRING, ["N"])],
        [helper.make_tensor_value_info("code_value", TensorProto.DOUBLE, ["N"]),
         helper.make_tensor_value_info("word_upper", TensorProto.STRING, ["N"])],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21),
                                                helper.make_opsetid("ai.onnx.ml", 4)],
                          ir_version=10, producer_name="ironflow-fixtures")
    inputs = {
        "code": np.array([3, 5, 8, 4, 0], dtype=np.int64),
        "word": np.array(["a", "c", "z", "b", "A"], dtype=object),
    }
    save_case(
        "labelencoder-opset4-onnx", m, inputs,
        estimator="onnx.helper graph: 2 LabelEncoder nodes (ai.onnx.ml opset 4, tensor attributes)",
        data="hand-written int64 codes and strings with unknown keys",
        notes="ai.onnx.ml opset 4 form: keys_tensor / values_tensor / default_tensor. int64 -> "
              "double with default NaN (written as null in expected.json), string -> string with "
              "default '?'.",
    )


def case_category_mapper():
    node = helper.make_node("CategoryMapper", ["animal"], ["animal_id"], domain="ai.onnx.ml",
                            cats_strings=["cat", "dog", "cow"], cats_int64s=[7, 8, 9],
                            default_int64=0)
    node2 = helper.make_node("CategoryMapper", ["id"], ["id_name"], domain="ai.onnx.ml",
                             cats_strings=["cat", "dog", "cow"], cats_int64s=[7, 8, 9],
                             default_string="none")
    graph = helper.make_graph(
        [node, node2], "category_mapper",
        [helper.make_tensor_value_info("animal", TensorProto.STRING, ["N", 1]),
         helper.make_tensor_value_info("id", TensorProto.INT64, ["N", 1])],
        [helper.make_tensor_value_info("animal_id", TensorProto.INT64, ["N", 1]),
         helper.make_tensor_value_info("id_name", TensorProto.STRING, ["N", 1])],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                helper.make_opsetid("ai.onnx.ml", 1)],
                          ir_version=8, producer_name="ironflow-fixtures")
    inputs = {
        "animal": np.array([["dog"], ["cat"], ["horse"], ["cow"], ["Dog"]], dtype=object),
        "id": np.array([[9], [7], [8], [1], [0]], dtype=np.int64),
    }
    save_case(
        "category-mapper-onnx", m, inputs,
        estimator="onnx.helper graph: CategoryMapper both directions",
        data="hand-written strings / int64 ids with unknowns",
        notes="CategoryMapper string->int64 (default_int64 0) and int64->string (default_string "
              "'none'); [N,1] inputs. Not emitted by skl2onnx; included for operator coverage.",
    )


def _svc_case(name, est, X, y, seed, n_rows, estimator, data, notes, zipmap=False,
              scale=True, ref_assert=True, options=None):
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    steps = ([("scaler", StandardScaler())] if scale else []) + [("svm", est)]
    pipe = Pipeline(steps).fit(Xtr, ytr)
    rows = Xte[pick_mixed(pipe.predict(Xte), n_rows, seed)]
    opts = {"zipmap": zipmap}
    opts.update(options or {})
    m = skl(pipe, [("float_input", FloatTensorType([None, X.shape[1]]))],
            options={id(est): opts})
    ref = {"label": pipe.predict(rows)}
    if getattr(est, "probability", None) is True:  # sklearn 1.9 default is 'deprecated' (truthy)
        ref["probabilities"] = pipe.predict_proba(rows)
    save_case(name, m, {"float_input": rows}, estimator=estimator, data=data, notes=notes,
              sig_output=pipe.predict(Xtr), reference=ref,
              reference_check="assert" if ref_assert else "report")
    return pipe, rows


def case_svc_rbf():
    X, y = datasets.load_iris(return_X_y=True)
    _svc_case("svc-rbf-onnx", SVC(kernel="rbf", probability=True, random_state=313), f32(X), y,
              313, 12,
              "skl2onnx(Pipeline(StandardScaler, SVC(kernel='rbf', probability=True)))",
              "sklearn.datasets.load_iris, float32, test split seed 313",
              "zipmap=False. SVMClassifier kernel RBF with prob_a/prob_b (Platt scaling, "
              "pairwise coupling in onnxruntime), vectors_per_class, rho, coefficients. (SVC's "
              "probability parameter is deprecated in sklearn 1.9 but still honoured.)",
              ref_assert=False)


def case_svc_linear_binary():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X = f32(X[:, :8])
    _svc_case("svc-linear-binary-onnx", SVC(kernel="linear", C=0.5), X, y, 314, 12,
              "skl2onnx(Pipeline(StandardScaler, SVC(kernel='linear'))), binary, no probability",
              "sklearn.datasets.load_breast_cancer, first 8 features, float32, test split seed 314",
              "zipmap=False, probability=False: SVMClassifier kernel LINEAR without prob_a/prob_b; "
              "the second output holds decision-function scores, not probabilities.")


def case_svr_poly():
    X, y = diabetes()
    X = X[:, [0, 2, 3, 8]]
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.2, random_state=315)
    pipe = Pipeline([("scaler", StandardScaler()),
                     ("svr", SVR(kernel="poly", degree=3, C=50.0, coef0=1.0))]).fit(Xtr[:200],
                                                                                       ytr[:200])
    rows = Xte[np.random.default_rng(315).choice(len(Xte), 10, replace=False)]
    m = skl(pipe, [("float_input", FloatTensorType([None, 4]))])
    save_case(
        "svr-poly-onnx", m, {"float_input": rows},
        estimator="skl2onnx(Pipeline(StandardScaler, SVR(kernel='poly', degree=3, coef0=1, C=50)))",
        data="sklearn.datasets.load_diabetes features [age, bmi, bp, s5], float32, first 200 "
             "training rows, test split seed 315",
        notes="SVMRegressor kernel POLY, kernel_params [gamma, coef0, degree].",
        sig_output=pipe.predict(Xtr),
        reference={"variable": pipe.predict(rows).reshape(-1, 1)},
    )


def case_svr_sigmoid():
    X, y = diabetes()
    X = X[:, [2, 3, 8]]
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.2, random_state=316)
    pipe = Pipeline([("scaler", StandardScaler()),
                     ("svr", SVR(kernel="sigmoid", C=20.0, gamma=0.05))]).fit(Xtr[:150], ytr[:150])
    rows = Xte[np.random.default_rng(316).choice(len(Xte), 10, replace=False)]
    m = skl(pipe, [("float_input", FloatTensorType([None, 3]))])
    save_case(
        "svr-sigmoid-onnx", m, {"float_input": rows},
        estimator="skl2onnx(Pipeline(StandardScaler, SVR(kernel='sigmoid', gamma=0.05, C=20)))",
        data="sklearn.datasets.load_diabetes features [bmi, bp, s5], float32, first 150 "
             "training rows, test split seed 316",
        notes="SVMRegressor kernel SIGMOID.",
        sig_output=pipe.predict(Xtr),
        reference={"variable": pipe.predict(rows).reshape(-1, 1)},
    )


def case_oneclass_svm():
    X, _ = datasets.load_iris(return_X_y=True)
    X = f32(X[:, :2])
    oc = OneClassSVM(kernel="rbf", nu=0.1, gamma=0.5).fit(X[:100])
    pred = oc.predict(X)
    rows = X[pick_mixed(pred, 10, 317)]
    m = skl(oc, [("float_input", FloatTensorType([None, 2]))])
    save_case(
        "oneclass-svm-onnx", m, {"float_input": rows},
        estimator="skl2onnx(OneClassSVM(kernel='rbf', nu=0.1, gamma=0.5))",
        data="sklearn.datasets.load_iris first 2 features, fitted on the first 100 rows, float32",
        notes="SVMRegressor with one_class=1 (returns +1/-1 style) plus the raw score; rows "
              "mix inliers and outliers.",
        sig_output=oc.predict(X),
        reference={"label": oc.predict(rows), "scores": oc.decision_function(rows).reshape(-1, 1)},
    )


def case_normalizer_l1():
    rng = np.random.default_rng(318)
    X = f32(np.abs(rng.normal(1.0, 0.6, size=(200, 4))) + 0.05)
    y = X @ np.array([1.5, -2.0, 0.5, 3.0]) / X.sum(axis=1) + rng.normal(0, 0.01, 200)
    pipe = Pipeline([("norm", Normalizer(norm="l1")), ("linreg", LinearRegression())]).fit(X, y)
    rows = f32(np.vstack([X[:8], [[0.0, 0.0, 0.0, 0.0]], [[-1.0, 2.0, -3.0, 4.0]]]))
    m = skl(pipe, [("a", FloatTensorType([None, 1])), ("b", FloatTensorType([None, 3]))])
    save_case(
        "normalizer-l1-onnx", m, {"a": f32(rows[:, :1]), "b": f32(rows[:, 1:])},
        estimator="skl2onnx(Pipeline(Normalizer(norm='l1'), LinearRegression))",
        data="synthetic, numpy default_rng(318), positive features; the request adds an "
             "all-zero row and a row with negative values",
        notes="Two named inputs a [N,1] and b [N,3] (the 4 feature columns split 1+3): "
              "skl2onnx joins them with FeatureVectorizer (inputdimensions [1,3]) before "
              "Normalizer norm L1, then LinearRegressor (1 target). The all-zero row exercises "
              "the 0/0 case of the normalizer.",
        sig_output=pipe.predict(X),
        reference={"variable": pipe.predict(rows).reshape(-1, 1)},
    )


def case_normalizer_max_l2_multitarget():
    rng = np.random.default_rng(320)
    X = f32(rng.normal(0, 2, size=(200, 3)))
    Y = np.column_stack([X @ [1.0, 2.0, -1.0], X[:, 0] - X[:, 2] + 4.0]) + rng.normal(0, .05,
                                                                                      (200, 2))
    pipe = Pipeline([
        ("norms", FeatureUnion([("max", Normalizer(norm="max")), ("l2", Normalizer(norm="l2"))])),
        ("linreg", LinearRegression()),
    ]).fit(X, Y)
    rows = f32(np.vstack([X[:8], [[-3.0, 0.5, 1.0]]]))
    m = skl(pipe, [("float_input", FloatTensorType([None, 3]))])
    save_case(
        "normalizer-max-l2-multitarget-onnx", m, {"float_input": rows},
        estimator="skl2onnx(Pipeline(FeatureUnion([Normalizer('max'), Normalizer('l2')]), "
                  "LinearRegression with 2 targets))",
        data="synthetic, numpy default_rng(320), 3 normal features, 2 targets",
        notes="Normalizer MAX and L2 (sklearn's 'max' divides by max |x|), Concat, "
              "LinearRegressor with targets=2 (output [N,2]). A row whose largest-magnitude value "
              "is negative is included. Note: onnxruntime's Normalizer MAX divides by max(x) "
              "(ONNX spec), sklearn's by max(|x|), so the pyfunc output (the expected values) "
              "differs from sklearn on rows whose max |x| is reached by a negative value; "
              "reference_comparison records that gap. The Rust side must match onnxruntime.",
        sig_output=pipe.predict(X),
        reference={"variable": pipe.predict(rows)},
    )


def case_linearsvc_multiclass():
    X, y = datasets.load_wine(return_X_y=True)
    X = f32(X)
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=321, stratify=y)
    pipe = Pipeline([("scaler", StandardScaler()),
                     ("svc", LinearSVC(C=0.1, random_state=321))]).fit(Xtr, ytr)
    rows = Xte[pick_mixed(pipe.predict(Xte), 12, 321)]
    # skl2onnx 1.20 fails on a Pipeline ending in LinearSVC ("Option 'zipmap' not in [...]")
    # unless some option is given for LinearSVC; nocl=False is the default value.
    m = skl(pipe, [("float_input", FloatTensorType([None, 13]))],
            options={LinearSVC: {"nocl": False}})
    save_case(
        "linearsvc-multiclass-onnx", m, {"float_input": rows},
        estimator="skl2onnx(Pipeline(StandardScaler, LinearSVC(C=0.1))), 3 classes",
        data="sklearn.datasets.load_wine, float32, test split seed 321",
        notes="LinearSVC has no ZipMap in skl2onnx. LinearClassifier post_transform NONE, OvR: the second "
              "output holds the raw decision scores.",
        sig_output=pipe.predict(Xtr),
        reference={"label": pipe.predict(rows), "probabilities": pipe.decision_function(rows)},
        reference_check="assert",
    )


def case_logreg_binary():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    X = f32(X[:, :10])
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=322, stratify=y)
    pipe = Pipeline([("scaler", StandardScaler()),
                     ("logreg", LogisticRegression(max_iter=1000))]).fit(Xtr, ytr)
    rows = Xte[pick_mixed(pipe.predict(Xte), 10, 322)]
    m = skl(pipe, [("float_input", FloatTensorType([None, 10]))],
            options={id(pipe.steps[-1][1]): {"zipmap": False}})
    save_case(
        "logreg-binary-onnx", m, {"float_input": rows},
        estimator="skl2onnx(Pipeline(StandardScaler, LogisticRegression)), binary",
        data="sklearn.datasets.load_breast_cancer first 10 features, float32, test split seed 322",
        notes="zipmap=False. Binary LinearClassifier (one coefficient row) with post_transform "
              "LOGISTIC; onnxruntime expands the score to two columns.",
        sig_output=pipe.predict(Xtr),
        reference={"label": pipe.predict(rows), "probabilities": pipe.predict_proba(rows)},
        reference_check="assert",
    )


def case_mlp_external_data():
    rng = np.random.default_rng(323)
    X, _ = diabetes()
    W0 = rng.normal(0, 0.8, size=(10, 32)).astype(np.float32)
    b0 = rng.normal(0, 0.1, size=(32,)).astype(np.float32)
    W1 = rng.normal(0, 0.3, size=(32, 16)).astype(np.float32)
    b1 = rng.normal(0, 0.1, size=(16,)).astype(np.float32)
    W2 = rng.normal(0, 0.5, size=(16, 1)).astype(np.float32)
    b2 = np.array([0.1], dtype=np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(W0, "W0"), (b0, "b0"), (W1, "W1"), (b1, "b1"), (W2, "W2"), (b2, "b2")]]
    mk = helper.make_node
    nodes = [
        mk("MatMul", ["x", "W0"], ["h0"]), mk("Add", ["h0", "b0"], ["a0"]),
        mk("Relu", ["a0"], ["r0"]),
        mk("MatMul", ["r0", "W1"], ["h1"]), mk("Add", ["h1", "b1"], ["a1"]),
        mk("Relu", ["a1"], ["r1"]),
        mk("MatMul", ["r1", "W2"], ["h2"]), mk("Add", ["h2", "b2"], ["logit"]),
        mk("Sigmoid", ["logit"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 10])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["N", 1])],
        initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8,
                          producer_name="ironflow-fixtures")
    rows = X[np.random.default_rng(323).choice(len(X), 10, replace=False)] * 10
    rows = f32(rows)
    h = np.maximum(rows @ W0 + b0, 0)
    h = np.maximum(h @ W1 + b1, 0)
    logit = h @ W2 + b2
    save_case(
        "mlp-external-data-onnx", m, {"x": rows},
        estimator="onnx.helper MLP 10-32-16-1 (MatMul, Add, Relu, Sigmoid), random weights",
        data="sklearn.datasets.load_diabetes features * 10, float32, rows chosen with seed 323; "
             "weights numpy default_rng(323)",
        notes="W0 (1280 bytes) and W1 (2048 bytes) exceed onnx's 1024-byte threshold, so "
              "mlflow.onnx.save_model (save_as_external_data=True by default) writes them to one "
              "external-data side file named with a uuid beside model.onnx (see "
              "onnx_external_data); smaller tensors stay inline. Two outputs: score and logit.",
        reference={"logit": logit, "score": 1 / (1 + np.exp(-logit))},
        reference_check="assert",
        expect_external=True,
    )


def case_array_feature_extractor():
    mk = helper.make_node
    classes = numpy_helper.from_array(np.array(["low", "mid", "high"], dtype=object), "classes")
    cols = numpy_helper.from_array(np.array([4, 0, 2], dtype=np.int64), "cols")
    shape1 = numpy_helper.from_array(np.array([-1], dtype=np.int64), "shape1")
    nodes = [
        mk("ArrayFeatureExtractor", ["X", "cols"], ["selected"], domain="ai.onnx.ml"),
        mk("ArgMax", ["selected"], ["argmax"], axis=1, keepdims=1),
        # what skl2onnx does for string class labels: take classes[argmax], then reshape to [N]
        mk("ArrayFeatureExtractor", ["classes", "argmax"], ["label_2d"], domain="ai.onnx.ml"),
        mk("Reshape", ["label_2d", "shape1"], ["label"]),
        mk("Cast", ["selected"], ["selected_double"], to=TensorProto.DOUBLE),
        mk("Cast", ["argmax"], ["argmax_float"], to=TensorProto.FLOAT),
        mk("Cast", ["argmax"], ["argmax_int32"], to=TensorProto.INT32),
        mk("Cast", ["selected"], ["selected_positive"], to=TensorProto.BOOL),
    ]
    graph = helper.make_graph(
        nodes, "afe",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 5])],
        [helper.make_tensor_value_info("selected", TensorProto.FLOAT, ["N", 3]),
         helper.make_tensor_value_info("label", TensorProto.STRING, ["N"]),
         helper.make_tensor_value_info("selected_double", TensorProto.DOUBLE, ["N", 3]),
         helper.make_tensor_value_info("argmax_float", TensorProto.FLOAT, ["N", 1]),
         helper.make_tensor_value_info("argmax_int32", TensorProto.INT32, ["N", 1]),
         helper.make_tensor_value_info("selected_positive", TensorProto.BOOL, ["N", 3])],
        initializer=[classes, cols, shape1])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                helper.make_opsetid("ai.onnx.ml", 1)],
                          ir_version=8, producer_name="ironflow-fixtures")
    rng = np.random.default_rng(324)
    rows = f32(np.round(rng.normal(size=(8, 5)), 3))
    rows[2, 0] = 0.0
    rows[2, 2] = 0.0
    rows[2, 4] = 0.0
    sel = rows[:, [4, 0, 2]]
    save_case(
        "array-feature-extractor-onnx", m, {"X": rows},
        estimator="onnx.helper graph: ArrayFeatureExtractor (column pick, and string class "
                  "lookup as skl2onnx emits for string labels), ArgMax, Reshape, Cast",
        data="numpy default_rng(324) normals rounded to 3 decimals; one row of selected zeros",
        notes="ArrayFeatureExtractor on a float [N,5] input with indices [4,0,2], and on a 1-D "
              "string tensor with [N,1] int64 indices (output [1,N], reshaped to [N]). Cast to "
              "DOUBLE, FLOAT, INT32 and BOOL give FP64, FP32, INT32 and BOOL outputs.",
        reference={"selected": sel, "label": np.array(["low", "mid", "high"])[sel.argmax(1)]},
        reference_check="assert",
    )


CASES = [
    case_iris_logreg,
    case_rf_regressor,
    case_rf_regressor_double,
    case_gb_regressor,
    case_gb_classifier_binary,
    case_gb_classifier_multiclass,
    case_rf_classifier_strlabels,
    case_extratrees,
    case_hgb_regressor,
    case_tree_ensemble_opset5,
    case_tree_ensemble_variants,
    case_onehot_linreg,
    case_imputer_binarizer,
    case_labelencoder,
    case_labelencoder_opset4,
    case_category_mapper,
    case_svc_rbf,
    case_svc_linear_binary,
    case_svr_poly,
    case_svr_sigmoid,
    case_oneclass_svm,
    case_normalizer_l1,
    case_normalizer_max_l2_multitarget,
    case_linearsvc_multiclass,
    case_logreg_binary,
    case_mlp_external_data,
    case_array_feature_extractor,
]


def main(argv):
    only = set(argv[1:])
    for fn in CASES:
        name = fn.__name__
        if only and not any(o in name for o in only):
            continue
        fn()
    if not only:
        index = {
            "description": "MLflow ONNX models written by examples/models/generate.py, each with a "
                           "KServe v2 request and the outputs mlflow.pyfunc produced for it.",
            "env": ENV,
            "cases": [{"name": w["name"], "estimator": w["estimator"], "onnx_ops": w["ops"],
                       "model_size_bytes": w["bytes"]} for w in WRITTEN],
        }
        write_json(HERE / "index.json", index)
    print(f"{len(WRITTEN)} cases written")


if __name__ == "__main__":
    main(sys.argv)
