"""Makes the small hostile model files of issue 17 (loader/tests/hostile.rs asserts each is refused
or loaded within a time bound and with bounded memory). Large hostile files (a 10 MB pickle of
empty lists, 100,000-deep YAML, a 200,000-column signature) are written by the test itself.

Run with the fixtures venv (scikit-learn 1.9.1, numpy 2.x):
    /work/venv-fixtures/bin/python examples/hostile/generate.py

Files (each a model folder with an MLmodel, or a bare file):
- amplify-pipeline/: a pickle (protocol 4, as mlflow writes) of a Pipeline whose two steps are
  the same Pipeline, 30 levels deep, above one fitted StandardScaler, then a LinearRegression:
  a few KB that expand to 2^30 steps if shared references are compiled each time.
- amplify-forest/: a RandomForestRegressor whose estimators_ list repeats one fitted tree
  200,000 times (the pickle stores the tree once and 200,000 memo references to it).
- skops-bomb-declared/: a model.skops whose array entry's zip headers declare 1 GiB.
- skops-bomb-lying/: a model.skops whose array entry's headers declare 1,000 bytes but inflates
  to 64 MiB of zeros.
- joblib-bomb.joblib: a zlib joblib file (120 KB) inflating to 60 MiB of pickle opcodes, under the
  decompression limit, that build 60 million empty lists.
"""

import json
import os
import pickle
import shutil
import struct
import zipfile
import zlib

import numpy as np
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))

MLMODEL = """flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: {file}
    predict_fn: predict
  sklearn:
    pickled_model: {file}
    serialization_format: {fmt}
    sklearn_version: 1.9.1
mlflow_version: 3.17.2
"""


def folder(name, file, fmt, data):
    path = os.path.join(HERE, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    with open(os.path.join(path, file), "wb") as f:
        f.write(data)
    with open(os.path.join(path, "MLmodel"), "w") as f:
        f.write(MLMODEL.format(file=file, fmt=fmt))


def amplify_pipeline():
    rng = np.random.RandomState(0)
    x = rng.rand(20, 3)
    y = x.sum(axis=1)
    node = StandardScaler().fit(x)
    for _ in range(30):
        # Both steps are the same object: the pickle memo stores it once.
        node = Pipeline([("a", node), ("b", node)])
    head = LinearRegression().fit(x, y)
    root = Pipeline([("dag", node), ("lr", head)])
    folder("amplify-pipeline", "model.pkl", "cloudpickle", pickle.dumps(root, protocol=4))


def amplify_forest():
    rng = np.random.RandomState(0)
    x = rng.rand(200, 4)
    y = x @ np.array([1.0, 2.0, -1.0, 0.5])
    forest = RandomForestRegressor(n_estimators=1, max_depth=8, random_state=0).fit(x, y)
    forest.estimators_ = [forest.estimators_[0]] * 200_000
    forest.n_estimators = len(forest.estimators_)
    folder("amplify-forest", "model.pkl", "cloudpickle", pickle.dumps(forest, protocol=4))


def skops_zip(entry_bytes, compress):
    """A minimal skops archive: schema.json with one float64 array entry."""
    schema = {
        "__class__": "ndarray",
        "__module__": "numpy",
        "__loader__": "NdArrayNode",
        "type": "numpy",
        "file": "a.npy",
        "protocol": 2,
        "_skops_version": "0.16.0",
    }
    path = os.path.join(HERE, "tmp.zip")
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        z.writestr("schema.json", json.dumps(schema))
        z.writestr("a.npy", entry_bytes)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    os.remove(path)
    return data


def patch_sizes(data, entry, declared):
    """Rewrites the uncompressed size of `entry` in its local header and central directory."""
    name = entry.encode()
    # Local file header: signature PK\3\4, uncompressed size at offset 22.
    at = 0
    while True:
        at = data.find(b"PK\x03\x04", at)
        if at < 0:
            break
        n = struct.unpack_from("<H", data, at + 26)[0]
        if data[at + 30 : at + 30 + n] == name:
            struct.pack_into("<I", data, at + 22, declared)
        at += 4
    # Central directory header: signature PK\1\2, uncompressed size at offset 24.
    at = 0
    while True:
        at = data.find(b"PK\x01\x02", at)
        if at < 0:
            break
        n = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + n] == name:
            struct.pack_into("<I", data, at + 24, declared)
        at += 4
    return bytes(data)


def npy_header(n):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }" % n
    header += " " * (63 - len(header) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def skops_bombs():
    zeros = 64 << 20
    real = npy_header(zeros // 8) + bytes(zeros)
    data = skops_zip(real, zipfile.ZIP_DEFLATED)
    folder("skops-bomb-declared", "model.skops", "skops", patch_sizes(data, "a.npy", (1 << 30) - 1))
    folder("skops-bomb-lying", "model.skops", "skops", patch_sizes(data, "a.npy", 1000))


def joblib_bomb():
    # An empty-list flood: PROTO 4, EMPTY_LIST, then (MARK, 1000 x EMPTY_LIST, APPENDS) blocks.
    block = b"(" + b"]" * 1000 + b"e"
    comp = zlib.compressobj(9)
    out = [comp.compress(b"\x80\x04]")]
    total = 0
    while total < (60 << 20):
        out.append(comp.compress(block * 1024))
        total += len(block) * 1024
    out.append(comp.compress(b"."))
    out.append(comp.flush())
    with open(os.path.join(HERE, "joblib-bomb.joblib"), "wb") as f:
        f.write(b"".join(out))


if __name__ == "__main__":
    amplify_pipeline()
    amplify_forest()
    skops_bombs()
    joblib_bomb()
    shutil.rmtree(os.path.join(HERE, "__pycache__"), ignore_errors=True)
    for name in sorted(os.listdir(HERE)):
        p = os.path.join(HERE, name)
        size = sum(os.path.getsize(os.path.join(p, f)) for f in os.listdir(p)) if os.path.isdir(p) else os.path.getsize(p)
        print(f"{name}: {size} bytes")
