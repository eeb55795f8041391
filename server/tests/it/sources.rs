//! Model URIs against real servers on loopback: moto's S3 server (PyPI), Azurite (npm) and an
//! in-process HTTP server for archives. `.ci/run` installs the emulators and sets
//! `IRONFLOW_REQUIRE_EMULATORS=1`, so CI fails instead of skipping when one is missing; a local run
//! without them skips those tests with a loud message.

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use ironflow_loader::{SourceError, SourceOptions};
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use serde_json::Value;

use crate::harness::{corpus, read_json, TestServer};

const AZURITE_ACCOUNT: &str = "devstoreaccount1";
// Azurite's published well-known development key, not a secret.
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// An emulator process; killed when dropped.
struct Emulator {
    child: Child,
    port: u16,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The emulator binary: `$env_var`, else the copy `.ci/run` installs under `target/`, else PATH.
fn find_binary(env_var: &str, installed: &str, name: &str) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env_var) {
        return Some(PathBuf::from(path));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(installed);
    if local.exists() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Says loudly that a test is skipped, or fails when CI requires the emulators.
fn skip(what: &str) {
    let message = format!(
        "\n!!!!!!!!!! SKIPPED: {what} not found (run .ci/run, or install it: see README \"Model URIs\") !!!!!!!!!!\n"
    );
    if std::env::var("IRONFLOW_REQUIRE_EMULATORS").is_ok_and(|v| v == "1") {
        panic!("{message}");
    }
    eprintln!("{message}");
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        assert!(Instant::now() < deadline, "{what} did not open port {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start_moto() -> Option<Emulator> {
    let Some(bin) = find_binary(
        "IRONFLOW_MOTO_SERVER",
        "target/ci-venv/bin/moto_server",
        "moto_server",
    ) else {
        skip("moto_server (pip install 'moto[server]')");
        return None;
    };
    let port = free_port();
    let mut child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    wait_for_port(port, &mut child, "moto_server").await;
    Some(Emulator { child, port })
}

async fn start_azurite() -> Option<Emulator> {
    let Some(bin) = find_binary(
        "IRONFLOW_AZURITE_BLOB",
        "target/ci-npm/node_modules/.bin/azurite-blob",
        "azurite-blob",
    ) else {
        skip("azurite-blob (npm install azurite)");
        return None;
    };
    let port = free_port();
    let mut child = Command::new(&bin)
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .args(["--inMemoryPersistence", "--skipApiVersionCheck", "--silent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    wait_for_port(port, &mut child, "azurite-blob").await;
    Some(Emulator { child, port })
}

/// Uploads every file under `dir` to `prefix` in `store`.
async fn upload_dir(store: &dyn ObjectStore, dir: &Path, prefix: &str) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(dir).expect("under dir");
            let key = format!("{prefix}/{}", rel.to_string_lossy());
            let bytes = std::fs::read(&path).expect("read");
            store
                .put(&ObjectPath::from(key.as_str()), PutPayload::from(bytes))
                .await
                .unwrap_or_else(|e| panic!("upload {key}: {e}"));
        }
    }
}

/// A `.tar.gz` of `dir` with its files under `top/`.
fn tar_gz(dir: &Path, top: &str) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    builder.append_dir_all(top, dir).expect("tar");
    builder.into_inner().expect("tar").finish().expect("gzip")
}

fn cache_dir(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ironflow-it-cache-{tag}-{}", std::process::id()))
}

/// Serves `uri` with `env` as the store settings, infers the corpus case's request and checks
/// the expected outputs.
async fn serve_and_check(uri: &str, case: &str, env: &[(&str, String)], tag: &str) {
    let server = if env.is_empty() {
        // Needs no store settings: straight through `load_state`, as `ironflow serve <URI>`.
        TestServer::start_with(Path::new(uri), case, |args| {
            args.model_cache_dir = Some(cache_dir(tag));
        })
        .await
    } else {
        let opts = SourceOptions {
            cache_root: cache_dir(tag),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            ..SourceOptions::default()
        };
        let dir = ironflow_loader::resolve(uri, &opts)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(dir.join("MLmodel").is_file(), "{}", dir.display());
        TestServer::start(&dir, case).await
    };
    let request = read_json(&corpus(case).join("request.json"));
    let expected = read_json(&corpus(case).join("expected.json"));
    let (status, body) = server.infer(&request).await;
    assert_eq!(status, 200, "{body}");
    check_outputs(&body, &expected);
    let _ = std::fs::remove_dir_all(cache_dir(tag));
}

fn check_outputs(body: &Value, expected: &Value) {
    let rtol = expected["rtol"].as_f64().unwrap_or(1e-6);
    let atol = expected["atol"].as_f64().unwrap_or(1e-6);
    let outputs = expected["outputs"].as_array().expect("outputs");
    for want in outputs {
        let got = body["outputs"]
            .as_array()
            .and_then(|o| o.iter().find(|g| g["name"] == want["name"]))
            .unwrap_or_else(|| panic!("no output {} in {body}", want["name"]));
        assert_eq!(got["shape"], want["shape"], "{body}");
        let (g, w) = (
            got["data"].as_array().expect("data"),
            want["data"].as_array().expect("data"),
        );
        assert_eq!(g.len(), w.len(), "{body}");
        for (a, b) in g.iter().zip(w) {
            match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => assert!((a - b).abs() <= atol + rtol * b.abs(), "{a} vs {b}"),
                _ => assert_eq!(a, b),
            }
        }
    }
}

fn s3_env(port: u16, key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", key.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
    ]
}

#[tokio::test]
async fn s3_prefix_and_archive_from_moto() {
    let Some(moto) = start_moto().await else {
        return;
    };
    let endpoint = format!("http://127.0.0.1:{}", moto.port);
    // moto creates a bucket on an unsigned PUT.
    let status = reqwest::Client::new()
        .put(format!("{endpoint}/models"))
        .send()
        .await
        .expect("create bucket")
        .status();
    assert!(status.is_success(), "create bucket: {status}");
    let store: Arc<dyn ObjectStore> = Arc::new(
        AmazonS3Builder::new()
            .with_endpoint(&endpoint)
            .with_allow_http(true)
            .with_bucket_name("models")
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("secret")
            .build()
            .expect("s3 store"),
    );
    let case = "sk-logreg-multiclass-new";
    upload_dir(store.as_ref(), &corpus(case).join("model"), "iris/v1").await;
    let archive = tar_gz(&corpus(case).join("model"), "model");
    store
        .put(&ObjectPath::from("iris/v1.tar.gz"), archive.into())
        .await
        .expect("upload archive");
    let env = s3_env(moto.port, "test");

    serve_and_check("s3://models/iris/v1", case, &env, "s3").await;
    serve_and_check("s3://models/iris/v1.tar.gz", case, &env, "s3-archive").await;

    // KServe's spelling of the endpoint works too.
    let kserve_env = vec![
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "secret".to_owned()),
        ("S3_ENDPOINT", format!("127.0.0.1:{}", moto.port)),
        ("S3_USE_HTTPS", "0".to_owned()),
    ];
    serve_and_check("s3://models/iris/v1", case, &kserve_env, "s3-kserve").await;

    let opts = SourceOptions {
        cache_root: cache_dir("s3-missing"),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        ..SourceOptions::default()
    };
    for uri in ["s3://no-such-bucket/iris/v1", "s3://models/no/such/prefix"] {
        let err = ironflow_loader::resolve(uri, &opts)
            .await
            .expect_err("missing bucket / prefix");
        let text = err.to_string();
        assert!(text.contains(uri), "{text}");
        assert!(
            matches!(err, SourceError::Empty { .. }) || text.contains("missing object or bucket"),
            "{text}"
        );
    }
    // No half-downloaded directory is left behind.
    let leftovers = std::fs::read_dir(cache_dir("s3-missing"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0);
    let _ = std::fs::remove_dir_all(cache_dir("s3-missing"));
}

/// Creates a container in Azurite with a Shared Key signed request (object_store cannot).
async fn create_container(port: u16, container: &str) {
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let version = "2021-08-06";
    let string_to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{container}\nrestype:container"
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(AZURITE_KEY)
        .expect("key");
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
        string_to_sign.as_bytes(),
    );
    let signature = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    let response = reqwest::Client::new()
        .put(format!(
            "http://127.0.0.1:{port}/{AZURITE_ACCOUNT}/{container}?restype=container"
        ))
        .header("x-ms-date", date)
        .header("x-ms-version", version)
        .header("content-length", "0")
        .header(
            "authorization",
            format!("SharedKey {AZURITE_ACCOUNT}:{signature}"),
        )
        .send()
        .await
        .expect("create container");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "create container: {status} {text}");
}

fn azure_env(port: u16, key: &str) -> Vec<(&'static str, String)> {
    vec![(
        "AZURE_STORAGE_CONNECTION_STRING",
        format!(
            "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
        ),
    )]
}

#[tokio::test]
async fn azure_blob_from_azurite() {
    let Some(azurite) = start_azurite().await else {
        return;
    };
    create_container(azurite.port, "models").await;
    let store: Arc<dyn ObjectStore> = Arc::new(
        MicrosoftAzureBuilder::new()
            .with_account(AZURITE_ACCOUNT)
            .with_access_key(AZURITE_KEY)
            .with_endpoint(format!(
                "http://127.0.0.1:{}/{AZURITE_ACCOUNT}",
                azurite.port
            ))
            .with_allow_http(true)
            .with_container_name("models")
            .build()
            .expect("azure store"),
    );
    let case = "onnx-mlp-new";
    upload_dir(store.as_ref(), &corpus(case).join("model"), "mlp").await;
    serve_and_check(
        "az://models/mlp",
        case,
        &azure_env(azurite.port, AZURITE_KEY),
        "az",
    )
    .await;

    // A wrong key is refused with the URI and the object named.
    let wrong = base64::engine::general_purpose::STANDARD.encode([7u8; 64]);
    let opts = SourceOptions {
        cache_root: cache_dir("az-wrong"),
        env: azure_env(azurite.port, &wrong)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        ..SourceOptions::default()
    };
    let err = ironflow_loader::resolve("az://models/mlp", &opts)
        .await
        .expect_err("wrong key");
    let text = err.to_string();
    assert!(text.contains("az://models/mlp"), "{text}");
    assert!(text.contains("check the credentials"), "{text}");
    let _ = std::fs::remove_dir_all(cache_dir("az-wrong"));
}

#[tokio::test]
async fn tar_gz_over_http_and_file_uri() {
    let case = "sk-logreg-multiclass-new";
    let archive = tar_gz(&corpus(case).join("model"), "model");
    let app = axum::Router::new().route(
        "/models/iris.tar.gz",
        axum::routing::get(move || {
            let archive = archive.clone();
            async move { archive }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    serve_and_check(&format!("{base}/models/iris.tar.gz"), case, &[], "http").await;

    let err = ironflow_loader::resolve(
        &format!("{base}/models/missing.tar.gz"),
        &SourceOptions {
            cache_root: cache_dir("http-missing"),
            ..SourceOptions::default()
        },
    )
    .await
    .expect_err("missing archive");
    assert!(err.to_string().contains("missing.tar.gz"), "{err}");
    let _ = std::fs::remove_dir_all(cache_dir("http-missing"));

    let model = corpus(case)
        .join("model")
        .canonicalize()
        .expect("canonical");
    let uri = format!("file://{}", model.display());
    serve_and_check(&uri, case, &[], "file").await;
}
