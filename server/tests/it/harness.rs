//! Starting a server in-process on `127.0.0.1:0` and reading fixtures.

use std::path::{Path, PathBuf};

use ironflow_server::config::ServeArgs;
use serde_json::Value;
use tokio::sync::oneshot;

/// The repository's own fixture models (`examples/models/<case>`).
pub fn example(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/models")
        .join(case)
}

/// The shared corpus beside the repository (`../shared/corpus/<case>`).
pub fn corpus(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus")
        .join(case)
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
            model_version: None,
            host: "127.0.0.1".parse().expect("ip"),
            http_port: 0,
            grpc_port: 0,
            metrics_port: 0,
            metrics_endpoint: "/metrics".to_owned(),
            grpc_max_message_bytes: 64 * 1024 * 1024,
            max_body_bytes: 64 * 1024 * 1024,
            inference_threads: Some(2),
            model_cache_dir: None,
            max_batch_size: None,
            max_batch_time: None,
            max_queue: 1024,
            shutdown_delay: 0.0,
            shutdown_grace: 30.0,
        };
        adjust(&mut args);
        let state = ironflow_server::load_state(&args)
            .await
            .map_err(|e| format!("{}: {e:#}", model_dir.display()))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(ironflow_server::serve_on(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            base,
            name: name.to_owned(),
            stop: Some(stop),
            client: reqwest::Client::new(),
        })
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

fn flatten(v: &Value, out: &mut Vec<Value>) {
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
