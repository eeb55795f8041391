//! `loadtest`: a closed-loop load generator for any KServe v2 / Open Inference Protocol server,
//! over REST or gRPC.
//!
//! `--concurrency` workers each hold one keep-alive connection (an HTTP/1.1 connection, or one
//! HTTP/2 channel for gRPC) and send the same request back to back. Requests that start after
//! the warm-up and finish before the end are recorded in an HDR histogram; the tool prints
//! req/s, rows/s, latency p50/p90/p99/max and failures by status, optionally as one JSON object
//! (`--json`), and exits non-zero when any request failed unless `--allow-errors`.
//!
//! ```sh
//! cargo run --release -p ironflow-benches --bin loadtest -- --url http://127.0.0.1:8080 \
//!     --model iris_lr --request request.json --concurrency 64 --duration 15s --warmup 3s
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use ironflow_proto::inference::grpc_inference_service_client::GrpcInferenceServiceClient;
use ironflow_proto::inference::infer_parameter::ParameterChoice;
use ironflow_proto::inference::model_infer_request::InferInputTensor;
use ironflow_proto::inference::{InferParameter, InferTensorContents, ModelInferRequest};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Load-tests a v2 inference server with one request body.
#[derive(Debug, Parser)]
#[command(name = "loadtest", about)]
struct Args {
    /// The server's base URL (`http://HOST:PORT`); with `--grpc`, its gRPC endpoint.
    #[arg(long)]
    url: String,
    /// The model name (`/v2/models/{model}/infer`).
    #[arg(long)]
    model: String,
    /// The model version, if the server serves one (`/v2/models/{model}/versions/{v}/infer`).
    #[arg(long)]
    model_version: Option<String>,
    /// A v2 JSON inference request (with `--grpc`, converted to typed tensor contents).
    #[arg(long)]
    request: PathBuf,
    /// Concurrent workers, each with one connection and one request in flight.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// How long to measure (`15s`, `500ms`, `1m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unrecorded load before measuring.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Per-request timeout (a timed-out request counts as a failure).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Speak gRPC (`inference.GRPCInferenceService/ModelInfer`) instead of REST.
    #[arg(long)]
    grpc: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Exit 0 even when some requests failed.
    #[arg(long)]
    allow_errors: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 15s, 500ms or 1m"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "us" => value / 1e6,
        "m" => value * 60.0,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {text:?} (use ms, s or m)"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

/// What one worker saw in the measured window.
struct Tally {
    latencies: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            // microseconds, 1 us to 10 min, 3 significant digits
            latencies: Histogram::new_with_bounds(1, 600_000_000, 3)?,
            ok: 0,
            errors: BTreeMap::new(),
        })
    }

    fn merge(&mut self, other: Tally) -> anyhow::Result<()> {
        self.latencies.add(&other.latencies)?;
        self.ok += other.ok;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        Ok(())
    }
}

/// The measurement window shared by every worker.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
    timeout: Duration,
}

impl Window {
    /// Records one request that ran from `started` to now, if it lies inside the window.
    fn record(&self, tally: &mut Tally, started: Instant, outcome: Result<(), String>) {
        let now = Instant::now();
        if started < self.start || now > self.end {
            return;
        }
        match outcome {
            Ok(()) => {
                tally.ok += 1;
                let micros =
                    u64::try_from(now.duration_since(started).as_micros()).unwrap_or(u64::MAX);
                tally.latencies.saturating_record(micros.max(1));
            }
            Err(kind) => *tally.errors.entry(kind).or_default() += 1,
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadtest: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let text = std::fs::read_to_string(&args.request)
        .with_context(|| format!("cannot read {}", args.request.display()))?;
    let request: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", args.request.display()))?;
    let rows = request_rows(&request);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let tally = runtime.block_on(async {
        if args.grpc {
            load_grpc(args, &request).await
        } else {
            load_rest(args, Bytes::from(text)).await
        }
    })?;
    let report = report(args, &tally, rows);
    if args.json {
        println!("{report}");
    } else {
        print_text(args, &report);
    }
    let failed: u64 = tally.errors.values().sum();
    Ok(if tally.ok == 0 || (failed > 0 && !args.allow_errors) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The request's rows: the first dimension of its first input.
fn request_rows(request: &Value) -> u64 {
    request["inputs"][0]["shape"][0].as_u64().unwrap_or(1)
}

fn window(args: &Args) -> Window {
    let start = Instant::now() + args.warmup;
    Window {
        start,
        end: start + args.duration,
        timeout: args.timeout,
    }
}

async fn join_workers(
    workers: Vec<tokio::task::JoinHandle<anyhow::Result<Tally>>>,
) -> anyhow::Result<Tally> {
    let mut total = Tally::new()?;
    for worker in workers {
        total.merge(worker.await.context("worker panicked")??)?;
    }
    Ok(total)
}

// ---- REST: one HTTP/1.1 keep-alive connection per worker (hyper's low-level client) ----

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn load_rest(args: &Args, body: Bytes) -> anyhow::Result<Tally> {
    let base: hyper::Uri = args.url.parse().context("--url is not a URL")?;
    let authority = base
        .authority()
        .context("--url needs a host and port")?
        .clone();
    if base.scheme_str() != Some("http") {
        bail!("--url must be http:// (TLS is not supported)");
    }
    let prefix = base.path().trim_end_matches('/');
    let path = match &args.model_version {
        Some(v) => format!("{prefix}/v2/models/{}/versions/{v}/infer", args.model),
        None => format!("{prefix}/v2/models/{}/infer", args.model),
    };
    // Fail fast on a wrong address instead of counting every request as failed.
    connect(authority.as_str())
        .await
        .with_context(|| format!("cannot connect to {authority}"))?;
    let window = window(args);
    let workers = (0..args.concurrency)
        .map(|_| {
            let authority = authority.clone();
            let path = path.clone();
            let body = body.clone();
            tokio::spawn(async move { rest_worker(authority, path, body, window).await })
        })
        .collect();
    join_workers(workers).await
}

async fn connect(authority: &str) -> anyhow::Result<Sender> {
    let stream = TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn rest_worker(
    authority: hyper::http::uri::Authority,
    path: String,
    body: Bytes,
    window: Window,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new()?;
    let mut sender: Option<Sender> = None;
    while Instant::now() < window.end {
        let started = Instant::now();
        let outcome = tokio::time::timeout(
            window.timeout,
            rest_once(&mut sender, &authority, &path, &body),
        )
        .await
        .unwrap_or_else(|_| Err("timeout".to_owned()));
        if outcome.is_err() {
            // A fresh connection after any failure (the server may have closed this one).
            sender = None;
        }
        let refused = outcome.as_ref().is_err_and(|e| e == "connect");
        window.record(&mut tally, started, outcome);
        if refused {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok(tally)
}

async fn rest_once(
    sender: &mut Option<Sender>,
    authority: &hyper::http::uri::Authority,
    path: &str,
    body: &Bytes,
) -> Result<(), String> {
    if sender.is_none() {
        *sender = Some(
            connect(authority.as_str())
                .await
                .map_err(|_| "connect".to_owned())?,
        );
    }
    let Some(s) = sender.as_mut() else {
        return Err("connect".to_owned());
    };
    s.ready().await.map_err(|_| "connection".to_owned())?;
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body.clone()))
        .map_err(|e| e.to_string())?;
    let response = s
        .send_request(request)
        .await
        .map_err(|_| "connection".to_owned())?;
    let status = response.status();
    // Read the whole answer, as a real client would.
    response
        .into_body()
        .collect()
        .await
        .map_err(|_| "connection".to_owned())?;
    if status.is_success() {
        Ok(())
    } else {
        Err(status.as_u16().to_string())
    }
}

// ---- gRPC: one HTTP/2 channel per worker ----

async fn load_grpc(args: &Args, request: &Value) -> anyhow::Result<Tally> {
    let message = grpc_request(args, request)?;
    let endpoint = tonic::transport::Endpoint::from_shared(args.url.clone())
        .context("--url is not a URL")?
        .tcp_nodelay(true);
    endpoint
        .connect()
        .await
        .with_context(|| format!("cannot connect to {}", args.url))?;
    let window = window(args);
    let mut workers = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let channel = endpoint.connect().await?;
        let message = message.clone();
        workers.push(tokio::spawn(async move {
            let mut client = GrpcInferenceServiceClient::new(channel)
                .max_decoding_message_size(256 * 1024 * 1024)
                .max_encoding_message_size(256 * 1024 * 1024);
            let mut tally = Tally::new()?;
            while Instant::now() < window.end {
                let started = Instant::now();
                let outcome =
                    tokio::time::timeout(window.timeout, client.model_infer(message.clone()))
                        .await
                        .map_err(|_| "timeout".to_owned())
                        .and_then(|answer| {
                            answer
                                .map(drop)
                                .map_err(|status| format!("grpc {:?}", status.code()))
                        });
                window.record(&mut tally, started, outcome);
            }
            Ok(tally)
        }));
    }
    join_workers(workers).await
}

/// The JSON v2 request as a `ModelInferRequest` with typed contents.
fn grpc_request(args: &Args, request: &Value) -> anyhow::Result<ModelInferRequest> {
    let inputs = request["inputs"]
        .as_array()
        .context("the request has no \"inputs\" array")?
        .iter()
        .map(grpc_input)
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(ModelInferRequest {
        model_name: args.model.clone(),
        model_version: args.model_version.clone().unwrap_or_default(),
        id: request["id"].as_str().unwrap_or_default().to_owned(),
        parameters: grpc_parameters(&request["parameters"]),
        inputs,
        outputs: vec![],
        raw_input_contents: vec![],
    })
}

fn grpc_parameters(parameters: &Value) -> std::collections::HashMap<String, InferParameter> {
    let Some(map) = parameters.as_object() else {
        return Default::default();
    };
    map.iter()
        .filter_map(|(k, v)| {
            let choice = match v {
                Value::Bool(b) => ParameterChoice::BoolParam(*b),
                Value::String(s) => ParameterChoice::StringParam(s.clone()),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => ParameterChoice::Int64Param(i),
                    None => ParameterChoice::DoubleParam(n.as_f64()?),
                },
                _ => return None,
            };
            Some((
                k.clone(),
                InferParameter {
                    parameter_choice: Some(choice),
                },
            ))
        })
        .collect()
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other),
    }
}

fn grpc_input(input: &Value) -> anyhow::Result<InferInputTensor> {
    let name = input["name"].as_str().context("an input has no name")?;
    let datatype = input["datatype"]
        .as_str()
        .with_context(|| format!("input {name:?} has no datatype"))?;
    let shape = input["shape"]
        .as_array()
        .with_context(|| format!("input {name:?} has no shape"))?
        .iter()
        .map(|d| {
            d.as_i64()
                .with_context(|| format!("input {name:?}: bad shape"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut values = Vec::new();
    flatten(&input["data"], &mut values);
    let bad = || format!("input {name:?}: a value is not {datatype}");
    let ints = || -> anyhow::Result<Vec<i64>> {
        values
            .iter()
            .map(|v| v.as_i64().with_context(bad))
            .collect()
    };
    let uints = || -> anyhow::Result<Vec<u64>> {
        values
            .iter()
            .map(|v| v.as_u64().with_context(bad))
            .collect()
    };
    let floats = || -> anyhow::Result<Vec<f64>> {
        values
            .iter()
            .map(|v| v.as_f64().with_context(bad))
            .collect()
    };
    let mut contents = InferTensorContents::default();
    match datatype {
        "BOOL" => {
            contents.bool_contents = values
                .iter()
                .map(|v| v.as_bool().with_context(bad))
                .collect::<anyhow::Result<_>>()?;
        }
        "INT8" | "INT16" | "INT32" => {
            contents.int_contents = ints()?
                .into_iter()
                .map(i32::try_from)
                .collect::<Result<_, _>>()
                .with_context(bad)?;
        }
        "INT64" => contents.int64_contents = ints()?,
        "UINT8" | "UINT16" | "UINT32" => {
            contents.uint_contents = uints()?
                .into_iter()
                .map(u32::try_from)
                .collect::<Result<_, _>>()
                .with_context(bad)?;
        }
        "UINT64" => contents.uint64_contents = uints()?,
        "FP32" => contents.fp32_contents = floats()?.into_iter().map(|v| v as f32).collect(),
        "FP64" => contents.fp64_contents = floats()?,
        "BYTES" => {
            contents.bytes_contents = values
                .iter()
                .map(|v| v.as_str().map(|s| s.as_bytes().to_vec()).with_context(bad))
                .collect::<anyhow::Result<_>>()?;
        }
        other => bail!("input {name:?}: datatype {other} has no typed gRPC contents"),
    }
    Ok(InferInputTensor {
        name: name.to_owned(),
        datatype: datatype.to_owned(),
        shape,
        parameters: grpc_parameters(&input["parameters"]),
        contents: Some(contents),
    })
}

// ---- results ----

fn report(args: &Args, tally: &Tally, rows: u64) -> Value {
    let seconds = args.duration.as_secs_f64();
    let h = &tally.latencies;
    let ms = |micros: u64| micros as f64 / 1e3;
    let failed: u64 = tally.errors.values().sum();
    json!({
        "url": args.url,
        "model": args.model,
        "protocol": if args.grpc { "grpc" } else { "rest" },
        "request": args.request.display().to_string(),
        "rows_per_request": rows,
        "concurrency": args.concurrency,
        "duration_s": seconds,
        "warmup_s": args.warmup.as_secs_f64(),
        "ok": tally.ok,
        "failed": failed,
        "errors": tally.errors,
        "req_per_s": tally.ok as f64 / seconds,
        "rows_per_s": (tally.ok * rows) as f64 / seconds,
        "latency_ms": {
            "p50": ms(h.value_at_quantile(0.50)),
            "p90": ms(h.value_at_quantile(0.90)),
            "p99": ms(h.value_at_quantile(0.99)),
            "max": ms(h.max()),
            "mean": h.mean() / 1e3,
        },
    })
}

fn print_text(args: &Args, r: &Value) {
    let l = &r["latency_ms"];
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    println!(
        "{} {} {} ({} rows/request), concurrency {}, {:.1} s after {:.1} s warm-up",
        r["protocol"].as_str().unwrap_or_default(),
        args.url,
        args.model,
        r["rows_per_request"],
        args.concurrency,
        f(&r["duration_s"]),
        f(&r["warmup_s"]),
    );
    println!(
        "  requests: {} ok, {} failed   {:.1} req/s   {:.1} rows/s",
        r["ok"],
        r["failed"],
        f(&r["req_per_s"]),
        f(&r["rows_per_s"])
    );
    println!(
        "  latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  mean {:.3}",
        f(&l["p50"]),
        f(&l["p90"]),
        f(&l["p99"]),
        f(&l["max"]),
        f(&l["mean"])
    );
    if let Some(errors) = r["errors"].as_object() {
        for (kind, n) in errors {
            println!("  failed with {kind}: {n}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3h").is_err());
    }

    #[test]
    fn json_requests_become_typed_grpc_contents() {
        let args = Args::parse_from([
            "loadtest",
            "--url",
            "http://x:1",
            "--model",
            "m",
            "--request",
            "r.json",
        ]);
        let request = json!({
            "parameters": {"content_type": "pd"},
            "inputs": [
                {"name": "a", "shape": [2, 1], "datatype": "FP64", "data": [[1.5], [2.0]]},
                {"name": "b", "shape": [2], "datatype": "BYTES", "data": ["x", "y"]},
                {"name": "c", "shape": [2], "datatype": "INT32", "data": [1, -2]}
            ]
        });
        let m = grpc_request(&args, &request).expect("convert");
        assert_eq!(m.inputs[0].shape, vec![2, 1]);
        let contents = |i: usize| m.inputs[i].contents.clone().expect("contents");
        assert_eq!(contents(0).fp64_contents, vec![1.5, 2.0]);
        assert_eq!(
            contents(1).bytes_contents,
            vec![b"x".to_vec(), b"y".to_vec()]
        );
        assert_eq!(contents(2).int_contents, vec![1, -2]);
        assert_eq!(
            m.parameters["content_type"].parameter_choice,
            Some(ParameterChoice::StringParam("pd".into()))
        );
        let bad =
            json!({"inputs": [{"name": "a", "shape": [1], "datatype": "INT64", "data": ["x"]}]});
        assert!(grpc_request(&args, &bad).is_err());
        assert_eq!(request_rows(&request), 2);
    }
}
