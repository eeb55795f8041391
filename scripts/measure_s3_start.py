#!/usr/bin/env python3
"""Time ironflow from process launch to model-ready when the model comes from S3.

Starts moto's S3-compatible server on loopback, uploads an MLflow model directory into a
bucket, then launches `ironflow serve s3://...` several times (each run with an empty cache
directory, so every run downloads the model) and times launch -> first 200 from
`/v2/models/NAME/ready`. For comparison it also times the same model served from the local
directory. Run it with the Python that has `moto[server]` (it brings boto3), e.g. the one
`.ci/run` installs:

    target/ci-venv/bin/python scripts/measure_s3_start.py --ironflow target/release/ironflow \
        --moto target/ci-venv/bin/moto_server --model ../shared/corpus/sk-rf-classifier-new/model
"""

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_status(port, path, deadline_s, proc=None):
    """Polls GET path until it answers 200; returns the time it did (perf_counter)."""
    end = time.perf_counter() + deadline_s
    while time.perf_counter() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.001)
    raise TimeoutError(f"{path} on port {port} not 200 after {deadline_s} s")


def upload(endpoint, bucket, prefix, model_dir):
    """Uploads model_dir under s3://bucket/prefix with boto3 (which moto[server] installs)."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="secret")
    s3.create_bucket(Bucket=bucket)
    count = 0
    for root, _, files in os.walk(model_dir):
        for name in files:
            path = os.path.join(root, name)
            key = os.path.relpath(path, model_dir).replace(os.sep, "/")
            s3.upload_file(path, bucket, f"{prefix}/{key}")
            count += 1
    return count


def time_start(ironflow, uri, env, name):
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    args = [ironflow, "serve", uri, "--name", name, "--host", "127.0.0.1",
            "--http-port", str(http_port), "--grpc-port", str(grpc_port),
            "--metrics-port", str(metrics_port)]
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ready = wait_status(http_port, f"/v2/models/{name}/ready", 30, proc)
        return (ready - started) * 1e3
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def summary(label, values):
    return (f"{label}: median {statistics.median(values):.1f} ms, min {min(values):.1f} ms, "
            f"max {max(values):.1f} ms over {len(values)} runs")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ironflow", default="target/release/ironflow")
    ap.add_argument("--moto", default="target/ci-venv/bin/moto_server")
    ap.add_argument("--model", required=True, help="an MLflow model directory (holds MLmodel)")
    ap.add_argument("--runs", type=int, default=10)
    opts = ap.parse_args()

    moto_port = free_port()
    moto = subprocess.Popen([opts.moto, "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache_root = tempfile.mkdtemp(prefix="ironflow-s3-start-")
    try:
        endpoint = f"http://127.0.0.1:{moto_port}"
        wait_until = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", moto_port), timeout=1).close()
                break
            except OSError:
                if time.time() > wait_until:
                    raise
                time.sleep(0.05)
        files = upload(endpoint, "models", "model/v1", opts.model)
        size = sum(os.path.getsize(os.path.join(r, f))
                   for r, _, fs in os.walk(opts.model) for f in fs)
        print(f"model {opts.model}: {files} files, {size / 1024:.0f} KiB, uploaded to s3://models/model/v1")
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="secret",
                   AWS_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint, AWS_ALLOW_HTTP="true",
                   RUST_LOG="warn")
        s3_times, local_times = [], []
        for run in range(opts.runs):
            cache = os.path.join(cache_root, f"run{run}")
            run_env = dict(env, IRONFLOW_MODEL_CACHE_DIR=cache)
            s3_times.append(time_start(opts.ironflow, "s3://models/model/v1", run_env, "m"))
            local_times.append(time_start(opts.ironflow, opts.model, env, "m"))
        print(summary("s3://  launch -> /v2/models/m/ready 200 (fresh cache each run)", s3_times))
        print(summary("local  launch -> /v2/models/m/ready 200", local_times))
    finally:
        moto.terminate()
        moto.wait()
        shutil.rmtree(cache_root, ignore_errors=True)


if __name__ == "__main__":
    main()
