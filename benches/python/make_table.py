#!/usr/bin/env python3
"""Joins criterion's estimates with the Python timings into the README's markdown table.

usage: python benches/python/make_table.py <criterion dir> <timings.jsonl>...
(<criterion dir> is $CARGO_TARGET_DIR/criterion; the jsonl files are what time_sklearn.py,
time_gbdt.py and time_onnxruntime.py write when given a path)
"""
import glob
import json
import os
import sys

BENCH_OF = {"sklearn": "sklearn_predict", "xgboost": "gbdt_predict", "lightgbm": "gbdt_predict",
            "onnxruntime": "onnx_predict"}


def criterion_s(root, bench, case, rows):
    """Criterion's median seconds per call for `bench/case` at `rows`, or None."""
    for group in (f"{bench}_{case}", f"{bench}/{case}"):
        path = os.path.join(root, group, str(rows), "new", "estimates.json")
        if os.path.exists(path):
            return json.load(open(path))["median"]["point_estimate"] * 1e-9
    return None


def fmt_t(s):
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    return f"{s * 1e3:.2f} ms"


def fmt_rate(rows, s):
    return "—" if s is None else f"{rows / s:,.0f}"


def ratio(other, ours):
    return "—" if other is None or ours is None else f"{other / ours:.1f}×"


def ns_tree_row(s, trees, rows):
    return "—" if s is None or not trees else f"{s * 1e9 / (trees * rows):,.0f}"


def main():
    root = sys.argv[1]
    rows_in = [json.loads(line) for path in sys.argv[2:] for line in open(path) if line.strip()]
    print("| model | rows | ironflow / call | ironflow rows/s | Python raw / call | raw rows/s "
          "| pyfunc / call | pyfunc rows/s | raw ÷ ironflow | pyfunc ÷ ironflow "
          "| trees | ns/tree/row ironflow | ns/tree/row Python raw |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows_in:
        rows, case, trees = r["rows"], r["case"], r.get("trees")
        ours = criterion_s(root, BENCH_OF[r["engine"]], case, rows)
        raw, pyf = r.get("raw_s"), r.get("pyfunc_s")
        print(f"| {case} ({r['engine']}) | {rows:,} | {fmt_t(ours)} | {fmt_rate(rows, ours)} "
              f"| {fmt_t(raw)} | {fmt_rate(rows, raw)} | {fmt_t(pyf)} | {fmt_rate(rows, pyf)} "
              f"| {ratio(raw, ours)} | {ratio(pyf, ours)} | {trees or '—'} "
              f"| {ns_tree_row(ours, trees, rows)} | {ns_tree_row(raw, trees, rows)} |")
    direct = [r for r in rows_in if "direct_s" in r]
    if direct:
        print()
        print("| model | rows | ironflow / call | Booster direct / call | direct ÷ ironflow "
              "| ns/tree/row ironflow | ns/tree/row Booster direct |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in direct:
            rows, case, trees = r["rows"], r["case"], r.get("trees")
            ours = criterion_s(root, BENCH_OF[r["engine"]], case, rows)
            d = r["direct_s"]
            print(f"| {case} ({r['engine']}) | {rows:,} | {fmt_t(ours)} | {fmt_t(d)} "
                  f"| {ratio(d, ours)} | {ns_tree_row(ours, trees, rows)} "
                  f"| {ns_tree_row(d, trees, rows)} |")
    seen = {f"{BENCH_OF[r['engine']]}_{r['case']}" for r in rows_in}
    only = sorted({os.path.relpath(p, root).split(os.sep)[0]
                   for p in glob.glob(os.path.join(root, "*", "*", "new", "estimates.json"))} - seen)
    if only:
        print()
        print("| ironflow only (no Python figure) | rows | ironflow / call | ironflow rows/s |")
        print("|---|---:|---:|---:|")
        for group in only:
            for rows in (1, 100, 10_000):
                path = os.path.join(root, group, str(rows), "new", "estimates.json")
                if os.path.exists(path):
                    s = json.load(open(path))["median"]["point_estimate"] * 1e-9
                    print(f"| {group} | {rows:,} | {fmt_t(s)} | {fmt_rate(rows, s)} |")

if __name__ == "__main__":
    main()
