"""Checks a running ironflow with real KServe v2 clients: tritonclient (HTTP and gRPC, JSON and
binary tensor data) and the kserve SDK's v2 REST and gRPC clients.

Run by hand against a server (see README.md):

    /work/venvs/clients/bin/python examples/clients/check_clients.py \
        --http localhost:8080 --grpc localhost:8081 --model iris \
        --case /work/shared/corpus/sk-logreg-multiclass-new

Every check prints one line, `ok` or `FAIL` with the reason; the exit status is the number of
failures. Outputs are compared with the case's expected.json (what mlflow.pyfunc predicted).
"""

import argparse
import asyncio
import json
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np

FAILURES = []


def check(name):
    def wrap(fn):
        def run(*args):
            try:
                detail = fn(*args)
                print(f"ok    {name}{': ' + detail if detail else ''}")
            except Exception as e:  # noqa: BLE001 - report every failure and go on
                FAILURES.append(name)
                print(f"FAIL  {name}: {type(e).__name__}: {e}")
                traceback.print_exc(limit=2, file=sys.stdout)

        return run

    return wrap


def np_dtype(datatype):
    return {
        "FP64": np.float64, "FP32": np.float32, "INT64": np.int64, "INT32": np.int32,
        "BOOL": np.bool_, "BYTES": np.object_,
    }[datatype]


def arrays(request):
    """The request's inputs as numpy arrays, with their v2 datatypes."""
    out = []
    for i in request["inputs"]:
        data = np.array(i["data"], dtype=np_dtype(i["datatype"])).reshape(i["shape"])
        out.append((i["name"], i["datatype"], data))
    return out


def same(got, expected_output):
    want = np.array(expected_output["data"]).reshape(expected_output["shape"])
    got = np.asarray(got).reshape(want.shape)
    if want.dtype.kind == "f":
        assert np.allclose(got, want, rtol=1e-5, atol=1e-6), (got, want)
    else:
        assert (got == want).all(), (got, want)
    return f"{expected_output['name']} {list(want.shape)} matches expected.json"


def triton_http(args, request, expected):
    import tritonclient.http as http

    client = http.InferenceServerClient(url=args.http)

    @check("tritonclient.http server live/ready")
    def live():
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready(args.model)

    @check("tritonclient.http server metadata")
    def server_meta():
        meta = client.get_server_metadata()
        assert "binary_tensor_data" in meta["extensions"], meta
        return json.dumps(meta)

    @check("tritonclient.http model metadata")
    def model_meta():
        meta = client.get_model_metadata(args.model)
        names = [i["name"] for i in meta["inputs"]]
        return f"inputs {names}, content_type {meta.get('parameters', {}).get('content_type')}"

    def infer(binary_in, binary_out):
        inputs = []
        for name, datatype, data in arrays(request):
            inp = http.InferInput(name, list(data.shape), datatype)
            inp.set_data_from_numpy(data, binary_data=binary_in)
            inputs.append(inp)
        outputs = [
            http.InferRequestedOutput(o["name"], binary_data=binary_out)
            for o in expected["outputs"]
        ]
        result = client.infer(args.model, inputs, outputs=outputs)
        return same(result.as_numpy(expected["outputs"][0]["name"]), expected["outputs"][0])


    @check("tritonclient.http error for a missing column")
    def missing():
        name, datatype, data = arrays(request)[0]
        inp = http.InferInput(name, list(data.shape), datatype)
        inp.set_data_from_numpy(data)
        try:
            client.infer(args.model, [inp])
        except http.InferenceServerException as e:
            assert e.status() in ("400", 400, None) or "400" in str(e), e
            return str(e.message())
        raise AssertionError("no error")

    for fn in (live, server_meta, model_meta):
        fn()
    for binary_in, binary_out in [(False, False), (True, False), (False, True), (True, True)]:
        check(f"tritonclient.http infer (binary_data in={binary_in}, out={binary_out})")(
            lambda: infer(binary_in, binary_out)
        )()
    missing()


def triton_grpc(args, request, expected):
    import tritonclient.grpc as grpc

    client = grpc.InferenceServerClient(url=args.grpc)

    @check("tritonclient.grpc server live/ready and metadata")
    def meta():
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready(args.model)
        server = client.get_server_metadata(as_json=True)
        model = client.get_model_metadata(args.model, as_json=True)
        return f"server {server.get('name')} {server.get('version')}, inputs {[i['name'] for i in model['inputs']]}"

    @check("tritonclient.grpc infer (raw_input_contents)")
    def infer():
        inputs = []
        for name, datatype, data in arrays(request):
            inp = grpc.InferInput(name, list(data.shape), datatype)
            inp.set_data_from_numpy(data)
            inputs.append(inp)
        outputs = [grpc.InferRequestedOutput(o["name"]) for o in expected["outputs"]]
        result = client.infer(args.model, inputs, outputs=outputs)
        return same(result.as_numpy(expected["outputs"][0]["name"]), expected["outputs"][0])

    meta()
    infer()


def kserve_clients(args, request, expected):
    # kserve parses the command line when it is imported (its model server's flags).
    argv, sys.argv = sys.argv, sys.argv[:1]
    from kserve import InferInput, InferRequest
    from kserve.inference_client import InferenceGRPCClient, InferenceRESTClient, RESTConfig

    sys.argv = argv

    def infer_request(binary=False):
        inputs = []
        for name, datatype, data in arrays(request):
            inp = InferInput(name, list(data.shape), datatype)
            inp.set_data_from_numpy(data, binary_data=binary)
            inputs.append(inp)
        return InferRequest(model_name=args.model, infer_inputs=inputs)

    async def rest_ready():
        client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
        try:
            return await client.is_server_ready(f"http://{args.http}")
        finally:
            await client.close()

    async def rest(binary):
        client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
        try:
            response = await client.infer(
                f"http://{args.http}", infer_request(binary), model_name=args.model
            )
            return same(response.outputs[0].as_numpy(), expected["outputs"][0])
        finally:
            await client.close()

    async def grpc():
        client = InferenceGRPCClient(args.grpc)
        try:
            assert await client.is_server_ready()
            assert await client.is_model_ready(args.model)
            response = await client.infer(infer_request())
            return same(response.outputs[0].as_numpy(), expected["outputs"][0])
        finally:
            await client.close()

    # MLServer answers readiness with an empty body, and so does ironflow (docs/compat.md checklist);
    # the kserve REST client reads `{"ready": true}` from it. Reported, not counted as a failure.
    try:
        ready = asyncio.run(rest_ready())
        print(f"ok    kserve InferenceRESTClient v2 is_server_ready: {ready}")
    except json.JSONDecodeError:
        print("known kserve InferenceRESTClient v2 is_server_ready: the server answers an empty "
              "body (MLServer style), the client parses it as JSON")
    check("kserve InferenceRESTClient v2 infer (JSON)")(lambda: asyncio.run(rest(False)))()
    check("kserve InferenceRESTClient v2 infer (binary_data inputs)")(
        lambda: asyncio.run(rest(True))
    )()
    check("kserve InferenceGRPCClient ready + infer")(lambda: asyncio.run(grpc()))()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", default="localhost:8080")
    parser.add_argument("--grpc", default="localhost:8081")
    parser.add_argument("--model", default="iris")
    parser.add_argument("--case", default="/work/shared/corpus/sk-logreg-multiclass-new")
    parser.add_argument(
        "--part",
        choices=["all", "tritonclient", "kserve"],
        default="all",
        help="tritonclient and kserve both register the `inference.*` protobuf messages, so one "
        "process cannot import both: `all` runs the kserve part in a child process",
    )
    args = parser.parse_args()
    case = Path(args.case)
    request = json.loads((case / "request.json").read_text())
    expected = json.loads((case / "expected.json").read_text())
    failures = 0
    if args.part in ("all", "tritonclient"):
        triton_http(args, request, expected)
        triton_grpc(args, request, expected)
    if args.part == "kserve":
        kserve_clients(args, request, expected)
    if args.part == "all":
        sys.stdout.flush()
        child = [sys.executable, __file__, "--part", "kserve", "--http", args.http,
                 "--grpc", args.grpc, "--model", args.model, "--case", args.case]
        failures += subprocess.run(child, check=False).returncode
    failures += len(FAILURES)
    if args.part == "all":
        print(f"{failures} failure(s)")
    sys.exit(failures)


if __name__ == "__main__":
    main()
