//! `ironflow inspect` and `ironflow predict` (issue 20): inspect's verdict agrees with what
//! `serve` does on every fixture the tests serve or refuse, and predict's values are the
//! server's for the same rows, from JSON, CSV, Parquet and Arrow IPC inputs.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use ironflow_server::cli::inspect::inspect;
use ironflow_server::cli::predict::{predict, PredictArgs};
use serde_json::Value;

use crate::harness::{read_json, serve_args, TestServer};
use crate::process::tempdir;

/// The folder holding a case's model (`model/`, `mlflow/`, or the case folder itself).
fn model_dir(case: &Path) -> PathBuf {
    for sub in ["model", "mlflow"] {
        if case.join(sub).is_dir() {
            return case.join(sub);
        }
    }
    case.to_owned()
}

/// Every fixture model the tests serve or refuse.
fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut dirs = Vec::new();
    for parent in [
        "corpus",
        "models",
        "models/catboost",
        "sklearn/predictors",
        "sklearn/transformers/cases",
        "kserve/models",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(parent)) else {
            continue;
        };
        let mut cases: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_dir()
                    && !p.ends_with("catboost")
                    && !p.ends_with("hostile")
                    && !p.ends_with("cases")
            })
            .map(|p| model_dir(&p))
            .filter(|p| p.join("MLmodel").is_file() || parent == "kserve/models")
            .collect();
        cases.sort();
        dirs.extend(cases);
    }
    dirs
}

/// Refusals made here: an unknown flavor, a flavor whose file is missing, a truncated ONNX
/// file, and the hostile joblib files each as a bare `model.joblib`.
fn refusal_fixtures() -> Vec<PathBuf> {
    let root = tempdir("inspect-refusals");
    let mut dirs = Vec::new();
    let mut add = |name: &str, files: &[(&str, &[u8])]| {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (file, bytes) in files {
            std::fs::write(dir.join(file), bytes).expect("write");
        }
        dirs.push(dir);
    };
    add(
        "pytorch",
        &[("MLmodel", b"flavors:\n  pytorch:\n    model_data: data\n")],
    );
    add(
        "missing-file",
        &[("MLmodel", b"flavors:\n  onnx:\n    data: model.onnx\n")],
    );
    add(
        "truncated-onnx",
        &[
            ("MLmodel", b"flavors:\n  onnx:\n    data: model.onnx\n"),
            ("model.onnx", b"\x08\x07\x12\x04trunc"),
        ],
    );
    let hostile = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/kserve/models/hostile");
    if let Ok(entries) = std::fs::read_dir(&hostile) {
        for entry in entries.flatten() {
            let bytes = std::fs::read(entry.path()).expect("read");
            let name = format!("hostile-{}", entry.file_name().to_string_lossy());
            add(&name, &[("model.joblib", &bytes)]);
        }
    }
    dirs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_agrees_with_serve_on_every_fixture() {
    let mut dirs = fixtures();
    let served_fixtures = dirs.len();
    dirs.extend(refusal_fixtures());
    let (mut serves, mut refused, mut disagreements) = (0, 0, Vec::new());
    for dir in &dirs {
        let args = serve_args(&[dir.as_os_str(), OsStr::new("--name"), OsStr::new("m")]);
        let report = inspect(&args).await;
        let verdict = report["verdict"].as_str().unwrap_or("").to_owned();
        let loaded = ironflow_server::load_state(&args).await;
        let serve_ok = loaded
            .as_ref()
            .is_ok_and(|state| state.models().count() == 1);
        if (verdict == "serves") != serve_ok {
            disagreements.push(format!(
                "{}: inspect {verdict}, serve {}",
                dir.display(),
                match &loaded {
                    Ok(_) => "loaded".to_owned(),
                    Err(e) => format!("{e:#}"),
                }
            ));
        }
        if verdict == "serves" {
            serves += 1;
        } else {
            refused += 1;
            let reasons = report["models"][0]["reasons"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let unreadable = report["error"].is_string();
            assert!(
                unreadable || !reasons.is_empty(),
                "{}: no reason: {report:#}",
                dir.display()
            );
            for reason in reasons.iter().filter(|r| r["kind"] == "unsupported_class") {
                let class = reason["class"].as_str().unwrap_or("");
                assert!(
                    class.contains('.'),
                    "{}: no class path in {reason}",
                    dir.display()
                );
            }
        }
        let code = report["exit_code"].as_u64();
        assert_eq!(code == Some(0), verdict == "serves", "{}", dir.display());
    }
    eprintln!("inspect vs serve: {} models ({served_fixtures} fixtures + made refusals): {serves} serve, {refused} refused", dirs.len());
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    assert!(
        serves > 300 && refused >= 10,
        "{serves} serve, {refused} refused"
    );
}

#[test]
fn inspect_exit_codes_and_json_schema() {
    let bin = env!("CARGO_BIN_EXE_ironflow");
    let run = |dir: &Path| {
        std::process::Command::new(bin)
            .args(["inspect", "--json"])
            .arg(dir)
            .output()
            .expect("run")
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let ok = run(&root.join("corpus/sk-columntransformer-rf-mixed-new/model"));
    assert_eq!(ok.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(report["schema_version"], 1);
    let model = &report["models"][0];
    assert_eq!(model["flavor"], "sklearn");
    assert_eq!(model["mlflow_version"], "3.17.2");
    assert_eq!(model["signature"]["inputs"][0]["name"], "city");
    assert!(
        model["plan"]["summary"].as_str().is_some_and(|s| s
            .starts_with("Pipeline > ColumnTransformer[OneHotEncoder(1 cols)")
            && s.ends_with("RandomForestClassifier(20 trees)")),
        "{model:#}"
    );
    assert!(model["load_ms"].as_f64().is_some_and(|ms| ms > 0.0));

    let refused = refusal_fixtures();
    let pytorch = refused
        .iter()
        .find(|d| d.ends_with("pytorch"))
        .expect("fixture");
    let out = run(pytorch);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        report["models"][0]["reasons"][0]["kind"],
        "unsupported_flavor"
    );
    assert!(report["models"][0]["reasons"][0]["advice"]
        .as_str()
        .is_some_and(|a| a.contains("MLServer")));

    let missing = refused
        .iter()
        .find(|d| d.ends_with("missing-file"))
        .expect("fixture");
    assert_eq!(run(missing).status.code(), Some(2));
    assert_eq!(run(Path::new("/nonexistent/model")).status.code(), Some(2));
}

/// The server's v2 outputs for `request` on the model at `dir`.
async fn server_outputs(dir: &Path, request: &Value) -> Value {
    let server = TestServer::start(dir, "m").await;
    let (status, body) = server.infer(request).await;
    assert_eq!(status, 200, "{body}");
    body["outputs"].clone()
}

/// A v2 request with one input per column (`[n]` or `[n, 1]`), or one `[n, k]` input, as a
/// record batch of columns.
fn request_batch(request: &Value) -> RecordBatch {
    let mut columns: Vec<(String, ArrayRef)> = Vec::new();
    for input in request["inputs"].as_array().expect("inputs") {
        let name = input["name"].as_str().expect("name");
        let shape: Vec<usize> = input["shape"]
            .as_array()
            .expect("shape")
            .iter()
            .map(|d| d.as_u64().expect("dim") as usize)
            .collect();
        let data = input["data"].as_array().expect("flat data");
        let (n, k) = (shape[0], shape.get(1).copied().unwrap_or(1));
        for j in 0..k {
            let cells: Vec<&Value> = (0..n).map(|i| &data[i * k + j]).collect();
            let column: ArrayRef = match input["datatype"].as_str().expect("datatype") {
                "FP64" => Arc::new(Float64Array::from_iter(cells.iter().map(|v| v.as_f64()))),
                "FP32" => Arc::new(Float32Array::from_iter(
                    cells.iter().map(|v| v.as_f64().map(|f| f as f32)),
                )),
                "INT64" => Arc::new(Int64Array::from_iter(cells.iter().map(|v| v.as_i64()))),
                "BOOL" => Arc::new(BooleanArray::from_iter(cells.iter().map(|v| v.as_bool()))),
                "BYTES" => Arc::new(StringArray::from_iter(cells.iter().map(|v| v.as_str()))),
                other => panic!("datatype {other}"),
            };
            let column_name = if k == 1 {
                name.to_owned()
            } else {
                format!("{name}_{j}")
            };
            columns.push((column_name, column));
        }
    }
    RecordBatch::try_from_iter(columns).expect("batch")
}

fn write_inputs(dir: &Path, batch: &RecordBatch) {
    let parquet = std::fs::File::create(dir.join("in.parquet")).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(parquet, batch.schema(), None).expect("parquet");
    writer.write(batch).expect("write");
    writer.close().expect("close");
    let ipc = std::fs::File::create(dir.join("in.arrow")).expect("create");
    let mut writer = arrow_ipc::writer::FileWriter::try_new(ipc, &batch.schema()).expect("ipc");
    writer.write(batch).expect("write");
    writer.finish().expect("finish");
    // CSV: the same cells as text (floats in shortest round-trip form).
    let mut csv = String::new();
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    csv.push_str(&names.join(","));
    csv.push('\n');
    let values = request_rows(batch);
    for row in values {
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    std::fs::write(dir.join("in.csv"), csv).expect("csv");
}

fn request_rows(batch: &RecordBatch) -> Vec<Vec<String>> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Float64Type, Int64Type};
    use arrow_array::Array;
    use arrow_schema::DataType;
    (0..batch.num_rows())
        .map(|i| {
            batch
                .columns()
                .iter()
                .map(|c| match c.data_type() {
                    _ if c.is_null(i) => String::new(),
                    DataType::Float64 => format!("{}", c.as_primitive::<Float64Type>().value(i)),
                    DataType::Float32 => format!("{}", c.as_primitive::<Float32Type>().value(i)),
                    DataType::Int64 => format!("{}", c.as_primitive::<Int64Type>().value(i)),
                    DataType::Boolean => if c.as_boolean().value(i) {
                        "True"
                    } else {
                        "False"
                    }
                    .to_owned(),
                    _ => c.as_string::<i32>().value(i).to_owned(),
                })
                .collect()
        })
        .collect()
}

async fn predict_json(model: &Path, input: &Path, output: &Path, batch_rows: &str) -> Value {
    let mut argv: Vec<&OsStr> = vec![
        OsStr::new("ironflow"),
        OsStr::new("predict"),
        OsStr::new("--input"),
        input.as_os_str(),
        OsStr::new("--output"),
        output.as_os_str(),
        OsStr::new("--batch-rows"),
        OsStr::new(batch_rows),
    ];
    argv.push(model.as_os_str());
    let cli = <ironflow_server::config::Cli as clap::Parser>::try_parse_from(argv).expect("args");
    let ironflow_server::config::Command::Predict(args) = cli.command else {
        panic!("not predict");
    };
    let args: PredictArgs = args;
    predict(&args)
        .await
        .unwrap_or_else(|e| panic!("{}: {e:#}", input.display()));
    read_json(output)
}

/// The values of every output, flattened, keyed by output name (NaN as null).
fn values(outputs: &Value) -> Vec<(String, Vec<Value>)> {
    outputs
        .as_array()
        .expect("outputs")
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap_or("").to_owned(),
                o["data"].as_array().cloned().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_gives_the_servers_values_for_json_csv_parquet_and_arrow() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/corpus");
    let mut checked = 0;
    for case in [
        "sk-columntransformer-rf-mixed-new",
        "sk-rf-classifier-new",
        "sk-logreg-multiclass-new",
        "sk-pipeline-imputer-minmax-ridge-new",
        "onnx-mlp-new",
        "onnx-skl-rf-zipmap-new",
        "onnx-two-inputs-two-outputs-new",
        "lgb-classifier-new",
        "sk-hgb-regressor-old",
    ] {
        let dir = corpus.join(case);
        let model = dir.join("model");
        let request = read_json(&dir.join("request.json"));
        let expected = server_outputs(&model, &request).await;
        let tmp = tempdir(&format!("predict-{case}"));
        std::fs::write(
            tmp.join("in.json"),
            serde_json::to_vec(&request).expect("json"),
        )
        .expect("write");
        write_inputs(&tmp, &request_batch(&request));
        for (input, batch_rows) in [
            ("in.json", "16384"),
            ("in.csv", "5"),
            ("in.parquet", "5"),
            ("in.arrow", "16384"),
        ] {
            // MLflow's CSV format has no multi-column tensor inputs (`dense_0..` columns).
            if input == "in.csv" && case == "onnx-two-inputs-two-outputs-new" {
                continue;
            }
            let got =
                predict_json(&model, &tmp.join(input), &tmp.join("out.json"), batch_rows).await;
            let got_outputs = &got["outputs"];
            let (want, have) = (values(&expected), values(got_outputs));
            assert_eq!(have, want, "{case} from {input}");
            for (g, e) in got_outputs
                .as_array()
                .into_iter()
                .flatten()
                .zip(expected.as_array().into_iter().flatten())
            {
                assert_eq!(g["shape"], e["shape"], "{case} from {input}");
                assert_eq!(g["datatype"], e["datatype"], "{case} from {input}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 35);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predict_writes_columnar_outputs_named_as_the_server_names_them() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/corpus/onnx-two-inputs-two-outputs-new/model");
    let request = read_json(&model.join("../request.json"));
    let expected = server_outputs(&model, &request).await;
    let tmp = tempdir("predict-columnar");
    write_inputs(&tmp, &request_batch(&request));
    let args_for = |out: &str| {
        let argv: Vec<std::ffi::OsString> = vec![
            "ironflow".into(),
            "predict".into(),
            "--input".into(),
            tmp.join("in.parquet").into(),
            "--output".into(),
            tmp.join(out).into(),
            model.clone().into(),
        ];
        match <ironflow_server::config::Cli as clap::Parser>::try_parse_from(argv)
            .expect("args")
            .command
        {
            ironflow_server::config::Command::Predict(a) => a,
            _ => panic!("not predict"),
        }
    };
    for out in ["out.parquet", "out.arrow", "out.csv"] {
        predict(&args_for(out)).await.expect("predict");
    }
    let file = std::fs::File::open(tmp.join("out.parquet")).expect("open");
    let batches: Vec<RecordBatch> =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet")
            .build()
            .expect("reader")
            .collect::<Result<_, _>>()
            .expect("batches");
    let ipc = arrow_ipc::reader::FileReader::try_new(
        std::fs::File::open(tmp.join("out.arrow")).expect("open"),
        None,
    )
    .expect("ipc");
    let ipc_batches: Vec<RecordBatch> = ipc.collect::<Result<_, _>>().expect("batches");
    assert_eq!(batches, ipc_batches);
    let csv = std::fs::read_to_string(tmp.join("out.csv")).expect("csv");
    let header = csv.lines().next().expect("header");
    // One column per output, `name_j` for [n, k] outputs, values as the server's.
    let mut names = Vec::new();
    for output in expected.as_array().expect("outputs") {
        let shape = output["shape"].as_array().expect("shape");
        let data = output["data"].as_array().expect("data");
        let k = if shape.len() == 2 {
            shape[1].as_u64().expect("k") as usize
        } else {
            1
        };
        for j in 0..k {
            let name = if k > 1 {
                format!("{}_{j}", output["name"].as_str().expect("name"))
            } else {
                output["name"].as_str().expect("name").to_owned()
            };
            let column = batches[0]
                .column_by_name(&name)
                .unwrap_or_else(|| panic!("column {name}"));
            let got = arrow_cast_f64(column);
            let single = column.data_type() == &arrow_schema::DataType::Float32;
            let want: Vec<f64> = (0..data.len() / k)
                .map(|i| data[i * k + j].as_f64().expect("number"))
                .map(|v| if single { f64::from(v as f32) } else { v })
                .collect();
            assert_eq!(got, want, "{name}");
            names.push(name);
        }
    }
    assert_eq!(header, names.join(","));
}

fn arrow_cast_f64(column: &ArrayRef) -> Vec<f64> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Float64Type, Int64Type};
    use arrow_schema::DataType;
    match column.data_type() {
        DataType::Float64 => column.as_primitive::<Float64Type>().values().to_vec(),
        DataType::Float32 => column
            .as_primitive::<Float32Type>()
            .values()
            .iter()
            .map(|&v| f64::from(v))
            .collect(),
        DataType::Int64 => column
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_infer_takes_an_arrow_stream_body() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/corpus");
    for case in ["sk-columntransformer-rf-mixed-new", "onnx-mlp-new"] {
        let dir = corpus.join(case);
        let request = read_json(&dir.join("request.json"));
        let server = TestServer::start(&dir.join("model"), "m").await;
        let (status, json_answer) = server.infer(&request).await;
        assert_eq!(status, 200);
        let batch = request_batch(&request);
        // Two batches in one stream: rows are concatenated.
        let (a, b) = (batch.slice(0, 3), batch.slice(3, batch.num_rows() - 3));
        let mut body = Vec::new();
        let mut writer =
            arrow_ipc::writer::StreamWriter::try_new(&mut body, &batch.schema()).expect("writer");
        writer.write(&a).expect("write");
        writer.write(&b).expect("write");
        writer.finish().expect("finish");
        drop(writer);
        let response = server
            .client
            .post(format!("{}/v2/models/m/infer", server.base))
            .header("content-type", "application/vnd.apache.arrow.stream")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.expect("json");
        assert_eq!(
            values(&answer["outputs"]),
            values(&json_answer["outputs"]),
            "{case}"
        );

        let garbage = server
            .client
            .post(format!("{}/v2/models/m/infer", server.base))
            .header("content-type", "application/vnd.apache.arrow.stream")
            .body(b"not arrow".to_vec())
            .send()
            .await
            .expect("send");
        assert_eq!(garbage.status(), 400);
        let text = garbage.text().await.expect("text");
        assert!(text.contains("Arrow IPC stream"), "{text}");
    }
}
