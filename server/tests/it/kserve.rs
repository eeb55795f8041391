//! The binary started the way KServe's kserve-mlserver runtime starts MLServer
//! (`MLSERVER_MODEL_IMPLEMENTATION`, `MLSERVER_MODEL_URI`, `MLSERVER_MODEL_NAME`, ports from the
//! environment) on each bare model file of `examples/kserve/models`, answering v2 inference as
//! MLServer's runtime and v1 `:predict` as KServe's own servers, with the values the Python
//! libraries computed (`expected.json`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::process::{free_port, wait_for_200};

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/kserve/models")
}

/// A server process, killed (by its own id) when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kserve_command(uri: &Path, implementation: Option<&str>, name: &str) -> (Command, u16) {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ironflow"));
    command
        .arg("serve")
        .env("MLSERVER_MODEL_URI", uri)
        .env("MLSERVER_MODEL_NAME", name)
        .env("MLSERVER_HOST", "127.0.0.1")
        .env("MLSERVER_HTTP_PORT", port.to_string())
        .env("MLSERVER_GRPC_PORT", free_port().to_string())
        .env("MLSERVER_METRICS_PORT", free_port().to_string())
        .env_remove("MLSERVER_MODEL_IMPLEMENTATION")
        .env_remove("MODEL_INIT_MODE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(i) = implementation {
        command.env("MLSERVER_MODEL_IMPLEMENTATION", i);
    }
    (command, port)
}

fn start(mut command: Command, port: u16) -> Server {
    command.stderr(Stdio::null());
    let child = command.spawn().expect("spawn ironflow");
    let server = Server { child, port };
    wait_for_200(port, "/v2/health/ready", Duration::from_secs(60));
    server
}

async fn post(port: u16, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}{path}"))
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

async fn get(port: u16, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("http://127.0.0.1:{port}{path}"))
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

/// Numbers equal within `tolerance` (relative, 0: exactly), everything else equal. With
/// `fp32`, numbers are compared as the `f32` values they stand for (the v2 encoder writes FP32
/// in its shortest `f32` form, Python in the `f64` one).
fn same(got: &Value, want: &Value, tolerance: f64, fp32: bool) -> bool {
    match (got, want) {
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(g, w)| same(g, w, tolerance, fp32))
        }
        (Value::Number(g), Value::Number(w)) => {
            let (mut g, mut w) = (
                g.as_f64().unwrap_or(f64::NAN),
                w.as_f64().unwrap_or(f64::NAN),
            );
            if fp32 {
                (g, w) = (f64::from(g as f32), f64::from(w as f32));
            }
            (g - w).abs() <= tolerance * w.abs().max(1.0)
        }
        _ => got == want,
    }
}

/// The tolerance of the loader's fixture test (runtime/tests.rs) for this case.
fn tolerance(case: &str) -> f64 {
    if case.starts_with("onnx") {
        1e-6
    } else if ["lightgbm-multiclass", "sklearn-linear", "sklearn-pipeline"]
        .iter()
        .any(|p| case.starts_with(p))
    {
        1e-12
    } else {
        0.0
    }
}

fn v2_request(expected: &Value, outputs: Option<&[&str]>) -> Value {
    let rows = expected["inputs"].as_array().expect("rows");
    let k = rows[0].as_array().expect("row").len();
    let data: Vec<Value> = rows
        .iter()
        .flat_map(|r| r.as_array().expect("row").clone())
        .collect();
    let onnx = expected["implementation"] == "onnx";
    let mut request = json!({"inputs": [{
        "name": if onnx { "X" } else { "input-0" },
        "shape": [rows.len(), k],
        "datatype": if onnx { "FP32" } else { "FP64" },
        "data": data,
    }]});
    if let Some(names) = outputs {
        request["outputs"] = names.iter().map(|n| json!({"name": n})).collect();
    }
    request
}

fn check_output(case: &str, got: &Value, name: &str, want: &Value) {
    assert_eq!(got["name"], name, "{case}");
    assert_eq!(got["datatype"], want["datatype"], "{case} {name}");
    // The v2 encoder reports 1-D outputs as `[n, 1]` (MLServer's NumpyCodec), ONNX graphs too.
    let mut want_shape = want["shape"].clone();
    if want_shape.as_array().is_some_and(|s| s.len() == 1) {
        want_shape.as_array_mut().expect("shape").push(json!(1));
    }
    assert_eq!(got["shape"], want_shape, "{case} {name}");
    assert!(
        same(
            &got["data"],
            &want["data"],
            tolerance(case),
            want["datatype"] == "FP32"
        ),
        "{case} {name}: {} vs {}",
        got["data"],
        want["data"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bare_model_files_answer_v2_and_v1_as_mlserver_and_kserve() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(models())
        .expect("models")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 17, "{} cases", cases.len());
    for dir in cases {
        let case = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expected.json")).expect("read"),
        )
        .expect("json");
        let implementation = expected["implementation"].as_str().expect("impl");
        let onnx = implementation == "onnx";
        let (command, port) = kserve_command(&dir, (!onnx).then_some(implementation), "model");
        let server = start(command, port);
        let want = expected["outputs"].as_object().expect("outputs");

        // v2, no outputs named: `predict` only (every graph output for ONNX), no response
        // parameters.
        let (status, body) = post(
            server.port,
            "/v2/models/model/infer",
            &v2_request(&expected, None),
        )
        .await;
        assert_eq!(status, 200, "{case}: {body}");
        assert!(body.get("parameters").is_none(), "{case}: {body}");
        let outputs = body["outputs"].as_array().expect("outputs");
        if onnx {
            assert_eq!(outputs.len(), want.len(), "{case}");
            for out in outputs {
                let name = out["name"].as_str().expect("name");
                check_output(&case, out, name, &want[name]);
            }
        } else {
            assert_eq!(outputs.len(), 1, "{case}: {body}");
            check_output(&case, &outputs[0], "predict", &want["predict"]);
        }

        // v2 naming predict_proba then predict: both, in that order.
        if want.contains_key("predict_proba") {
            let request = v2_request(&expected, Some(&["predict_proba", "predict"]));
            let (status, body) = post(server.port, "/v2/models/model/infer", &request).await;
            assert_eq!(status, 200, "{case}: {body}");
            check_output(
                &case,
                &body["outputs"][0],
                "predict_proba",
                &want["predict_proba"],
            );
            check_output(&case, &body["outputs"][1], "predict", &want["predict"]);
        } else if !onnx {
            let request = v2_request(&expected, Some(&["predict_proba"]));
            let (status, body) = post(server.port, "/v2/models/model/infer", &request).await;
            assert_eq!(status, 400, "{case}: {body}");
            assert!(
                body["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("predict_proba")),
                "{case}: {body}"
            );
        }

        // v1, as KServe's sklearnserver / xgbserver / lgbserver answer.
        let (status, body) = get(server.port, "/v1/models/model").await;
        assert_eq!(
            (status, body),
            (200, json!({"name": "model", "ready": true})),
            "{case}"
        );
        let (_, body) = get(server.port, "/v1/models").await;
        assert_eq!(body, json!({"models": ["model"]}), "{case}");
        let v1 = json!({"instances": expected["inputs"]});
        let (status, body) = post(server.port, "/v1/models/model:predict", &v1).await;
        assert_eq!(status, 200, "{case}: {body}");
        assert!(
            same(
                &body["predictions"],
                &expected["v1"],
                tolerance(&case),
                false
            ),
            "{case} v1: {} vs {}",
            body["predictions"],
            expected["v1"]
        );
        let (status, body) = post(server.port, "/v1/models/other:predict", &v1).await;
        assert_eq!(
            (status, body),
            (
                404,
                json!({"error": "Model with name other does not exist."})
            ),
            "{case}"
        );
        drop(server);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn async_init_waits_for_the_model_folder_and_is_not_ready_before() {
    let root = std::env::temp_dir().join(format!("ironflow-kserve-async-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("mkdir");
    let mnt = root.join("models");
    let (mut command, port) =
        kserve_command(&mnt, Some("mlserver_lightgbm.LightGBMModel"), "model");
    command.env("MODEL_INIT_MODE", "async");
    command.stderr(Stdio::null());
    let child = command.spawn().expect("spawn");
    let server = Server { child, port };
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !crate::process::http_request(port, "GET", "/v2/health/ready")
            .is_some_and(|r| r.starts_with("HTTP/1.1 200")),
        "ready before the model exists"
    );
    // The model appears in one sub-folder, as the storage initializer may lay it out.
    let sub = mnt.join("lgb");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::copy(
        models().join("lightgbm-binary-bst/model.bst"),
        sub.join("model.bst"),
    )
    .expect("copy");
    wait_for_200(port, "/v2/health/ready", Duration::from_secs(60));
    let (status, body) = get(port, "/v2/models/model").await;
    assert_eq!(status, 200, "{body}");
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn models_ironflow_cannot_run_are_refused_at_once_with_what_to_use() {
    let root = std::env::temp_dir().join(format!("ironflow-kserve-refuse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::write(
        root.join("MLmodel"),
        "flavors:\n  python_function:\n    loader_module: mlflow.pytorch\n    data: data\n  pytorch:\n    model_data: data\n    pytorch_version: 2.5.0\n",
    )
    .expect("write");
    for implementation in [
        Some("mlserver_mlflow.MLflowRuntime"),
        Some("my_module.MyModel"),
    ] {
        let (mut command, _) = kserve_command(&root, implementation, "model");
        let started = Instant::now();
        let output = command.output().expect("run");
        assert!(!output.status.success());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("kserve-mlserver"), "{stderr}");
        match implementation {
            Some("my_module.MyModel") => assert!(stderr.contains("my_module.MyModel"), "{stderr}"),
            _ => assert!(
                stderr.contains("pytorch") && stderr.contains("mlflow.pytorch"),
                "{stderr}"
            ),
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}
