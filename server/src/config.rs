//! Command-line and environment configuration. Every flag can also be set through the
//! environment variable KServe's MLServer runtime sets (`MLSERVER_*`), so ironflow drops into an
//! MLServer ClusterServingRuntime unchanged.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// ironflow: a native server for MLflow models speaking the KServe v2 inference protocol.
#[derive(Debug, Parser)]
#[command(name = "ironflow", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load an MLflow model directory and serve it over the v2 REST protocol.
    Serve(ServeArgs),
}

/// Options of `ironflow serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The MLflow model: a directory (the one holding `MLmodel`) or a URI: `file://`, `s3://`,
    /// `gs://`, `az://`, `abfs[s]://` prefixes, or a `.tar.gz`/`.tgz`/`.zip` archive (also over
    /// `http(s)://`). Remote models are downloaded into `--model-cache-dir` first.
    #[arg(env = "MLSERVER_MODEL_URI", value_name = "MODEL_URI")]
    pub model_dir: PathBuf,

    /// The name the model is served under (default: the directory's name).
    #[arg(long, env = "MLSERVER_MODEL_NAME")]
    pub name: Option<String>,

    /// The model version; when set, `/versions/{version}` paths answer for it.
    #[arg(long = "model-version", env = "MLSERVER_MODEL_VERSION")]
    pub model_version: Option<String>,

    /// The address to listen on.
    #[arg(long, env = "MLSERVER_HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,

    /// The HTTP (REST) port.
    #[arg(long, env = "MLSERVER_HTTP_PORT", default_value_t = 8080)]
    pub http_port: u16,

    /// The gRPC port.
    #[arg(long, env = "MLSERVER_GRPC_PORT", default_value_t = 8081)]
    pub grpc_port: u16,

    /// The largest gRPC message received or sent, in bytes (tonic's own default is 4 MiB).
    #[arg(
        long,
        env = "MLSERVER_GRPC_MAX_MESSAGE_LENGTH",
        default_value_t = 64 * 1024 * 1024
    )]
    pub grpc_max_message_bytes: usize,

    /// The Prometheus metrics port (`/metrics` is also served on the HTTP port).
    #[arg(long, env = "MLSERVER_METRICS_PORT", default_value_t = 8082)]
    pub metrics_port: u16,

    /// The metrics path on the metrics port.
    #[arg(long, env = "MLSERVER_METRICS_ENDPOINT", default_value = "/metrics")]
    pub metrics_endpoint: String,

    /// The largest request body accepted, in bytes; larger bodies get HTTP 413.
    #[arg(long, env = "IRONFLOW_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// How many inferences may run at once (default: the number of CPU cores).
    #[arg(long, env = "IRONFLOW_INFERENCE_THREADS")]
    pub inference_threads: Option<usize>,

    /// Where remote model URIs are downloaded (default: /tmp/ironflow-models).
    #[arg(long, env = "IRONFLOW_MODEL_CACHE_DIR")]
    pub model_cache_dir: Option<PathBuf>,
}

impl ServeArgs {
    /// The served model name: `--name`, else the model directory's name.
    pub fn model_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            self.model_dir
                .canonicalize()
                .unwrap_or_else(|_| self.model_dir.clone())
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".to_owned())
        })
    }
}
