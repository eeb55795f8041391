//! Starting a server in-process on `127.0.0.1:0` (REST or gRPC) and reading fixtures.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use clap::Parser;
use ironflow_proto::inference::grpc_inference_service_client::GrpcInferenceServiceClient;
use ironflow_proto::inference::model_infer_request::InferInputTensor;
use ironflow_proto::inference::{InferTensorContents, ModelInferRequest};
use ironflow_server::config::{Cli, Command, ServeArgs};
use ironflow_server::state::AppState;
use serde_json::Value;
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// The repository's own fixture models (`examples/models/<case>`).
pub fn example(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/models")
        .join(case)
}

/// The repository's MLflow corpus (`examples/corpus/<case>`, written by
/// `examples/corpus/generate.py`): every flavor and family of the shared corpus, same case names.
pub fn corpus(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/corpus")
        .join(case)
}

/// The shared corpus beside the repository (`../shared/corpus`, laid out by CI), if present.
/// `IRONFLOW_SHARED_CORPUS` names another place.
pub fn shared_corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("IRONFLOW_SHARED_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    dir.join("index.json").is_file().then_some(dir)
}

/// The corpora a sweep runs: the repository's always, then the shared one when present. When
/// it is absent, says so on the terminal (past the test harness's capture) for `test`, or fails
/// when `IRONFLOW_REQUIRE_SHARED_CORPUS` is set (CI, where it must be there).
pub fn corpus_roots(test: &str) -> Vec<PathBuf> {
    let mut roots = vec![corpus("")];
    match shared_corpus() {
        Some(shared) => roots.push(shared),
        None => {
            assert!(
                std::env::var_os("IRONFLOW_REQUIRE_SHARED_CORPUS").is_none(),
                "{test}: IRONFLOW_REQUIRE_SHARED_CORPUS is set but ../shared/corpus is absent"
            );
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped ../shared/corpus (not present: a fresh clone); \
                 the repository's examples/corpus ran instead"
            );
        }
    }
    roots
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A running server; stops when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The served model name.
    pub name: String,
    stop: Option<oneshot::Sender<()>>,
    pub client: reqwest::Client,
}

impl TestServer {
    /// Serves the MLflow model at `model_dir` under `name`.
    pub async fn start(model_dir: &Path, name: &str) -> Self {
        Self::start_with(model_dir, name, |_| {}).await
    }

    /// Serves with adjusted arguments.
    pub async fn start_with(
        model_dir: &Path,
        name: &str,
        adjust: impl FnOnce(&mut ServeArgs),
    ) -> Self {
        Self::try_start_with(model_dir, name, adjust)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Serves with adjusted arguments, or says why the model did not load.
    pub async fn try_start_with(
        model_dir: &Path,
        name: &str,
        adjust: impl FnOnce(&mut ServeArgs),
    ) -> Result<Self, String> {
        let mut args = ServeArgs {
            model_dir: model_dir.to_owned(),
            name: Some(name.to_owned()),
            repository: false,
            model_version: None,
            implementation: None,
            host: "127.0.0.1".parse().expect("ip"),
            http_port: 0,
            grpc_port: 0,
            metrics_port: 0,
            metrics_endpoint: "/metrics".to_owned(),
            grpc_max_message_bytes: 64 * 1024 * 1024,
            max_body_bytes: 64 * 1024 * 1024,
            max_load_bytes: None,
            inference_threads: Some(2),
            model_cache_dir: None,
            max_batch_size: None,
            max_batch_time: None,
            max_queue: 1024,
            shutdown_delay: 0.0,
            shutdown_grace: 30.0,
            repository_api_enabled: None,
            repository_api_token: None,
        };
        adjust(&mut args);
        let state = ironflow_server::load_state(&args)
            .await
            .map_err(|e| format!("{}: {e:#}", model_dir.display()))?;
        Ok(Self::serve(state, name).await)
    }

    /// Serves an already built `state` over REST; `name` is the model [`TestServer::infer`] posts to.
    pub async fn serve(state: AppState, name: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(ironflow_server::serve_on(listener, state, async {
            let _ = stopped.await;
        }));
        Self {
            base,
            name: name.to_owned(),
            stop: Some(stop),
            client: reqwest::Client::new(),
        }
    }

    /// GET a path; returns status and body text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    /// POST a raw body to a path; returns status and body text.
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    /// POST JSON to this model's infer endpoint; returns status and parsed body.
    pub async fn infer(&self, body: &Value) -> (u16, Value) {
        let (status, text) = self
            .post(&format!("/v2/models/{}/infer", self.name), body.to_string())
            .await;
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (status, json)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `ironflow serve <args>` parsed as the command line parses it, so every option not named keeps
/// its default.
pub fn serve_args(args: &[&OsStr]) -> ServeArgs {
    let argv = [OsStr::new("ironflow"), OsStr::new("serve")]
        .into_iter()
        .chain(args.iter().copied());
    match Cli::try_parse_from(argv).expect("arguments").command {
        Command::Serve(args) => args,
        other => panic!("not `ironflow serve`: {other:?}"),
    }
}

/// A gRPC server on `127.0.0.1:0` with a connected client; stops when dropped.
pub struct GrpcServer {
    /// The inference client (accepts answers up to 64 MiB).
    pub client: GrpcInferenceServiceClient<Channel>,
    /// The connection, for other services (health).
    pub channel: Channel,
    _stop: oneshot::Sender<()>,
}

impl GrpcServer {
    /// Loads what `args` names and serves it over gRPC.
    pub async fn start(args: &ServeArgs) -> Self {
        let state = ironflow_server::load_state(args).await.expect("load");
        Self::serve(state, args.grpc_max_message_bytes).await
    }

    /// Serves an already built `state` over gRPC.
    pub async fn serve(state: AppState, max_message_bytes: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(ironflow_server::grpc::serve_grpc_on(
            listener,
            state,
            max_message_bytes,
            async {
                let _ = stopped.await;
            },
        ));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        Self {
            client: GrpcInferenceServiceClient::new(channel.clone())
                .max_decoding_message_size(64 * 1024 * 1024),
            channel,
            _stop: stop,
        }
    }
}

/// The inputs of a JSON `request.json` as a gRPC request to `model`, in typed `contents` (FP32,
/// FP64, INT32, INT64, BOOL and BYTES); the request's own parameters are not carried over.
pub fn proto_request(model: &str, request: &Value) -> ModelInferRequest {
    let inputs = request["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|input| {
            let datatype = input["datatype"].as_str().expect("datatype");
            let mut data = vec![];
            flatten(&input["data"], &mut data);
            let data = data.iter();
            let mut contents = InferTensorContents::default();
            match datatype {
                "FP32" => {
                    contents.fp32_contents =
                        data.filter_map(Value::as_f64).map(|v| v as f32).collect()
                }
                "FP64" => contents.fp64_contents = data.filter_map(Value::as_f64).collect(),
                "INT32" => {
                    contents.int_contents =
                        data.filter_map(Value::as_i64).map(|v| v as i32).collect()
                }
                "INT64" => contents.int64_contents = data.filter_map(Value::as_i64).collect(),
                "BOOL" => contents.bool_contents = data.filter_map(Value::as_bool).collect(),
                "BYTES" => {
                    contents.bytes_contents = data
                        .filter_map(Value::as_str)
                        .map(|s| s.as_bytes().to_vec())
                        .collect()
                }
                other => panic!("test helper does not handle {other}"),
            }
            InferInputTensor {
                name: input["name"].as_str().expect("name").to_owned(),
                datatype: datatype.to_owned(),
                shape: serde_json::from_value(input["shape"].clone()).expect("shape"),
                parameters: Default::default(),
                contents: Some(contents),
            }
        })
        .collect();
    ModelInferRequest {
        model_name: model.to_owned(),
        inputs,
        ..Default::default()
    }
}

/// Appends the leaves of a nested JSON array to `out`, in order.
pub fn flatten(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other.clone()),
    }
}

/// Compares a response's outputs with an `expected.json`: same names, datatypes and shapes, values
/// equal (labels, strings) or within the file's rtol/atol (floats). Returns the first difference.
pub fn compare_outputs(got: &Value, expected: &Value) -> Result<(), String> {
    let rtol = expected.get("rtol").and_then(Value::as_f64).unwrap_or(1e-5);
    let atol = expected.get("atol").and_then(Value::as_f64).unwrap_or(1e-6);
    let exp = expected["outputs"]
        .as_array()
        .ok_or("expected.json has no outputs")?;
    let outs = got["outputs"]
        .as_array()
        .ok_or_else(|| format!("no outputs in {got}"))?;
    if outs.len() != exp.len() {
        return Err(format!("{} outputs, expected {}", outs.len(), exp.len()));
    }
    for (g, e) in outs.iter().zip(exp) {
        for key in ["name", "datatype", "shape"] {
            if g[key] != e[key] {
                return Err(format!(
                    "{}: {key} {} != expected {}",
                    e["name"], g[key], e[key]
                ));
            }
        }
        let (mut gd, mut ed) = (vec![], vec![]);
        flatten(&g["data"], &mut gd);
        flatten(&e["data"], &mut ed);
        if gd.len() != ed.len() {
            return Err(format!(
                "{}: {} values, expected {}",
                e["name"],
                gd.len(),
                ed.len()
            ));
        }
        for (j, (a, b)) in gd.iter().zip(&ed).enumerate() {
            let same = match (a, b) {
                (Value::Number(x), Value::Number(y)) if x.is_i64() && y.is_i64() => x == y,
                (Value::Number(x), Value::Number(y)) => {
                    let (x, y) = (
                        x.as_f64().unwrap_or(f64::NAN),
                        y.as_f64().unwrap_or(f64::NAN),
                    );
                    (x - y).abs() <= atol + rtol * y.abs()
                }
                (a, b) => a == b,
            };
            if !same {
                return Err(format!("{}[{j}]: got {a}, expected {b}", e["name"]));
            }
        }
    }
    Ok(())
}
