#!/usr/bin/env python3
"""Times onnxruntime on the same models, rows and inputs as benches/benches/onnx_predict.rs, so the
criterion figures can be read as ratios against a baseline measured on the same machine.

usage: python benches/python/time_onnxruntime.py [out.jsonl]   (needs onnxruntime and numpy; not part of
the tests)
"""
import json, os, sys, time
import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "examples", "models")
CASES = [("iris-logreg-onnx", "float_input", 4), ("rf-regressor-onnx", "float_input", 10)]


def batch(case, features, rows):
    req = json.load(open(os.path.join(MODELS, case, "request.json")))
    sample = np.array(req["inputs"][0]["data"], dtype=np.float32)
    idx = np.arange(rows * features) % len(sample)
    return sample[idx].reshape(rows, features)


def main():
    out = open(sys.argv[1], "w") if len(sys.argv) > 1 else None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    for case, name, features in CASES:
        sess = ort.InferenceSession(os.path.join(MODELS, case, "model", "model.onnx"), opts,
                                    providers=["CPUExecutionProvider"])
        for rows in (1, 100, 10_000):
            x = batch(case, features, rows)
            sess.run(None, {name: x})
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < 2.0:
                sess.run(None, {name: x})
                n += 1
            per = (time.perf_counter() - t0) / n
            print(f"onnxruntime {case} rows={rows}: {per * 1e6:.1f} us/call, {rows / per:,.0f} rows/s")
            if out is not None:
                out.write(json.dumps({"engine": "onnxruntime", "case": case, "rows": rows,
                                      "raw_s": per}) + "\n")


if __name__ == "__main__":
    main()
