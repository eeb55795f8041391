//! Command-line and environment configuration. Every flag can also be set through the
//! environment variable KServe's MLServer runtime sets (`MLSERVER_*`), so ironflow drops into an
//! MLServer ClusterServingRuntime unchanged.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Serve an MLflow model directory, or a repository of them (folders with
    /// `model-settings.json` or `MLmodel`), over the v2 REST and gRPC protocols.
    Serve(ServeArgs),
    /// Read a model as `serve` would and say whether it serves: flavor, format, signature,
    /// compiled plan, load time and memory, or every reason it is refused. Exit code 0: serves,
    /// 1: refused, 2: could not be read.
    Inspect(InspectArgs),
    /// Score a file (CSV, JSON, Parquet, Arrow IPC) with the model, without a server: the same
    /// compiled model, schema enforcement and outputs as `serve`.
    Predict(PredictArgs),
}

/// Options of `ironflow inspect`: the model as `serve` takes it, plus the output form.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// Print the report as JSON (a stable schema, see `ironflow inspect --help` in the docs).
    #[arg(long)]
    pub json: bool,
    /// The model and every `serve` option that decides how it is read.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Options of `ironflow predict`.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// The file to score; `-` reads standard input (then `--format` is required).
    #[arg(long, short = 'i')]
    pub input: PathBuf,
    /// Where to write the predictions (`.json`, `.csv`, `.parquet`, `.arrow`); default: the v2
    /// JSON response on standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// The input format, when the extension does not say (required for `-`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The most rows scored in one batch (CSV, Parquet and Arrow inputs).
    #[arg(long, default_value_t = 16_384, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_rows: u32,
    /// The model and every `serve` option that decides how it is read.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// File formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// MLflow's CSV scoring format (header row of column names).
    Csv,
    /// MLflow's JSON scoring formats, or a v2 inference request.
    Json,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC, file or stream.
    Arrow,
}

/// Options of `ironflow serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The MLflow model: a directory (the one holding `MLmodel`), a model repository (a
    /// directory whose sub-folders hold `model-settings.json` or `MLmodel`), or a URI: `file://`, `s3://`,
    /// `gs://`, `az://`, `abfs[s]://` prefixes, or a `.tar.gz`/`.tgz`/`.zip` archive (also over
    /// `http(s)://`). Remote models are downloaded into `--model-cache-dir` first.
    #[arg(env = "MLSERVER_MODEL_URI", value_name = "MODEL_URI")]
    pub model_dir: PathBuf,

    /// The name the model is served under (default: the directory's name). When set, models
    /// load at start-up and `--repository` is not given, the server is ready only while a
    /// model of that name is.
    #[arg(long, env = "MLSERVER_MODEL_NAME")]
    pub name: Option<String>,

    /// The MLServer runtime that reads the model, as KServe's kserve-mlserver runtime sets it
    /// (`mlserver_sklearn.SKLearnModel`, `mlserver_xgboost.XGBoostModel`,
    /// `mlserver_lightgbm.LightGBMModel`, `mlserver_mlflow.MLflowRuntime`); default: what the
    /// folder holds (`MLmodel`, or a well-known file name such as `model.joblib`).
    #[arg(long, env = "MLSERVER_MODEL_IMPLEMENTATION")]
    pub implementation: Option<String>,

    /// Serve the folder as a model repository even when it holds a single model below it (by
    /// default one model below the folder is served as that model, under `--name`); the
    /// repository names its models, and readiness does not wait for `--name`.
    #[arg(
        long,
        env = "IRONFLOW_MODEL_REPOSITORY",
        num_args = 0..=1,
        require_equals = true,
        default_value_t = false,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub repository: bool,

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

    /// The metrics path on the metrics port; empty (or `metrics_endpoint: null` in
    /// `settings.json`) turns the metrics server off (`/metrics` on the HTTP port stays).
    #[arg(long, env = "MLSERVER_METRICS_ENDPOINT", default_value = "/metrics")]
    pub metrics_endpoint: String,

    /// The largest request body accepted, in bytes; larger bodies get HTTP 413.
    #[arg(long, env = "IRONFLOW_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// The most memory one model load may use, in bytes, whatever the model's size (each load's
    /// budget is 16x its size on disk, at least 128 MiB; a load past it is refused, naming the
    /// file). Default: no cap beyond that budget.
    #[arg(long, env = "IRONFLOW_MAX_LOAD_BYTES")]
    pub max_load_bytes: Option<u64>,

    /// How many inferences may run at once (default: the number of CPU cores).
    #[arg(long, env = "IRONFLOW_INFERENCE_THREADS")]
    pub inference_threads: Option<usize>,

    /// Where remote model URIs are downloaded (default: /tmp/ironflow-models).
    #[arg(long, env = "IRONFLOW_MODEL_CACHE_DIR")]
    pub model_cache_dir: Option<PathBuf>,

    /// Adaptive batching: the most requests merged into one batch (0 or 1: off). A model's own
    /// `model-settings.json` `max_batch_size` wins over this.
    #[arg(long, env = "MLSERVER_MODEL_MAX_BATCH_SIZE")]
    pub max_batch_size: Option<usize>,

    /// Adaptive batching: how long, in seconds, a batch waits for more requests (0: off). A
    /// model's own `model-settings.json` `max_batch_time` wins over this.
    #[arg(long, env = "MLSERVER_MODEL_MAX_BATCH_TIME", value_parser = parse_seconds)]
    pub max_batch_time: Option<f64>,

    /// The most requests admitted for one model (waiting or running); past it, requests are
    /// refused at once (503 / gRPC UNAVAILABLE). 0: no limit.
    #[arg(long, env = "IRONFLOW_MAX_QUEUE", default_value_t = 1024)]
    pub max_queue: usize,

    /// Seconds to keep serving after SIGTERM with readiness already false, so endpoint
    /// controllers remove the server from rotation before it stops accepting connections.
    #[arg(long, env = "IRONFLOW_SHUTDOWN_DELAY_SECONDS", default_value_t = 0.0, value_parser = parse_seconds)]
    pub shutdown_delay: f64,

    /// Seconds in-flight requests get to finish once the server stops accepting connections;
    /// past it the process exits anyway (and logs it).
    #[arg(long, env = "IRONFLOW_SHUTDOWN_GRACE_SECONDS", default_value_t = 30.0, value_parser = parse_seconds)]
    pub shutdown_grace: f64,

    /// Whether the repository API (`/v2/repository/*`, gRPC `Repository*`) answers; wins over
    /// `settings.json`'s `repository_api_enabled` and `MLSERVER_REPOSITORY_API_ENABLED`
    /// (default: on, as in MLServer).
    #[arg(long, value_name = "BOOL")]
    pub repository_api_enabled: Option<bool>,

    /// A bearer token the repository API requires (`Authorization: Bearer <token>`); wins over
    /// `settings.json`'s `repository_api_token` and `MLSERVER_REPOSITORY_API_TOKEN` (prefer
    /// those: a flag shows in the process list).
    #[arg(long, value_name = "TOKEN")]
    pub repository_api_token: Option<String>,
}

/// A non-negative, finite number of seconds.
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(format!(
            "expected a number of seconds, 0 or more, not {text:?}"
        )),
    }
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

impl ServeArgs {
    /// The serving settings the command line gives every model (a model's own
    /// `model-settings.json` overrides the batching ones).
    pub fn serving_defaults(&self) -> crate::state::ModelServingSettings {
        crate::state::ModelServingSettings {
            max_batch_size: self.max_batch_size.unwrap_or(0),
            max_batch_time: std::time::Duration::from_secs_f64(self.max_batch_time.unwrap_or(0.0)),
            max_queue: self.max_queue,
        }
    }

    /// Applies the network fields of a repository's `settings.json` to the options the command
    /// line did not set: as in MLServer, the file wins over the `MLSERVER_*` environment and
    /// the defaults; a flag given on the command line wins over the file.
    pub fn apply_settings_file(
        &mut self,
        file: &crate::repository::NetworkSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) {
        // MLServer tests the endpoint for truth: an empty MLSERVER_METRICS_ENDPOINT disables
        // metrics (clap reads an empty variable as unset, leaving the default).
        if env("MLSERVER_METRICS_ENDPOINT").is_some_and(|v| v.is_empty())
            && self.metrics_endpoint == "/metrics"
        {
            self.metrics_endpoint.clear();
        }
        fn apply<T: PartialEq + std::str::FromStr + std::fmt::Debug + Clone>(
            field: &str,
            current: &mut T,
            default: T,
            env_name: &str,
            from_file: Option<&T>,
            env: &dyn Fn(&str) -> Option<String>,
        ) {
            let Some(from_file) = from_file else { return };
            // Where `current` came from: the environment, the default, or else the command line.
            let from_env = env(env_name).and_then(|v| v.trim().parse::<T>().ok());
            let on_command_line = match from_env {
                Some(from_env) => *current != from_env,
                None => *current != default,
            };
            if on_command_line {
                tracing::info!(
                    "settings.json {field} = {from_file:?} is overridden by the command line ({current:?})"
                );
            } else {
                *current = from_file.clone();
            }
        }
        apply(
            "host",
            &mut self.host,
            IpAddr::from([0, 0, 0, 0]),
            "MLSERVER_HOST",
            file.host.as_ref(),
            env,
        );
        apply(
            "http_port",
            &mut self.http_port,
            8080,
            "MLSERVER_HTTP_PORT",
            file.http_port.as_ref(),
            env,
        );
        apply(
            "grpc_port",
            &mut self.grpc_port,
            8081,
            "MLSERVER_GRPC_PORT",
            file.grpc_port.as_ref(),
            env,
        );
        apply(
            "metrics_port",
            &mut self.metrics_port,
            8082,
            "MLSERVER_METRICS_PORT",
            file.metrics_port.as_ref(),
            env,
        );
        apply(
            "metrics_endpoint",
            &mut self.metrics_endpoint,
            "/metrics".to_owned(),
            "MLSERVER_METRICS_ENDPOINT",
            file.metrics_endpoint.as_ref(),
            env,
        );
        apply(
            "grpc_max_message_length",
            &mut self.grpc_max_message_bytes,
            64 * 1024 * 1024,
            "MLSERVER_GRPC_MAX_MESSAGE_LENGTH",
            file.grpc_max_message_length.as_ref(),
            env,
        );
    }

    /// Whether the metrics server runs on its own port.
    pub fn metrics_enabled(&self) -> bool {
        !self.metrics_endpoint.is_empty()
    }

    /// `--shutdown-delay`.
    pub fn shutdown_delay(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.shutdown_delay)
    }

    /// `--shutdown-grace`.
    pub fn shutdown_grace(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.shutdown_grace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let mut all = vec!["ironflow", "serve", "/models/iris"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).map(|cli| match cli.command {
            Command::Serve(args) => args,
            other => panic!("not serve: {other:?}"),
        })
    }

    #[test]
    fn serving_and_shutdown_flags_have_mlserver_defaults() {
        let args = parse(&[]).unwrap();
        assert_eq!(
            args.serving_defaults(),
            crate::state::ModelServingSettings::default()
        );
        assert_eq!(args.shutdown_delay(), std::time::Duration::ZERO);
        assert_eq!(args.shutdown_grace(), std::time::Duration::from_secs(30));

        let args = parse(&[
            "--max-batch-size",
            "16",
            "--max-batch-time",
            "0.05",
            "--max-queue",
            "8",
            "--shutdown-delay",
            "2.5",
        ])
        .unwrap();
        let s = args.serving_defaults();
        assert_eq!(s.max_batch_size, 16);
        assert_eq!(s.max_batch_time, std::time::Duration::from_millis(50));
        assert_eq!(s.max_queue, 8);
        assert_eq!(
            args.shutdown_delay(),
            std::time::Duration::from_millis(2500)
        );
    }

    #[test]
    fn settings_file_network_fields_yield_to_the_command_line_only() {
        let file = crate::repository::NetworkSettings {
            http_port: Some(9000),
            grpc_port: Some(9001),
            metrics_port: Some(9002),
            host: Some("127.0.0.1".parse().unwrap()),
            ..Default::default()
        };
        // MLSERVER_GRPC_PORT=7000 is in the environment (and so in the parsed value): the file
        // wins over it. --metrics-port 7002 was given on the command line: it wins over the file.
        let env = |name: &str| (name == "MLSERVER_GRPC_PORT").then(|| "7000".to_owned());
        let mut args = parse(&["--metrics-port", "7002"]).unwrap();
        args.grpc_port = 7000;
        args.apply_settings_file(&file, &env);
        assert_eq!(args.http_port, 9000);
        assert_eq!(args.grpc_port, 9001);
        assert_eq!(args.metrics_port, 7002);
        assert_eq!(args.host, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(args.metrics_endpoint, "/metrics");
    }

    #[test]
    fn an_empty_or_null_metrics_endpoint_turns_the_metrics_server_off() {
        let no_env = |_: &str| None;
        let mut args = parse(&[]).unwrap();
        args.apply_settings_file(&crate::repository::NetworkSettings::default(), &no_env);
        assert!(args.metrics_enabled());
        // settings.json `"metrics_endpoint": null` is read as an empty endpoint.
        let null = crate::repository::NetworkSettings {
            metrics_endpoint: Some(String::new()),
            ..Default::default()
        };
        args.apply_settings_file(&null, &no_env);
        assert!(!args.metrics_enabled());
        let empty_env = |name: &str| (name == "MLSERVER_METRICS_ENDPOINT").then(String::new);
        let mut args = parse(&[]).unwrap();
        args.apply_settings_file(&crate::repository::NetworkSettings::default(), &empty_env);
        assert!(!args.metrics_enabled());
        // A path on the command line wins over the file's null.
        let mut args = parse(&["--metrics-endpoint", "/prom"]).unwrap();
        args.apply_settings_file(&null, &no_env);
        assert_eq!(args.metrics_endpoint, "/prom");
    }

    #[test]
    fn negative_or_non_numeric_seconds_are_refused() {
        for bad in ["-1", "soon", "inf", "NaN"] {
            assert!(parse(&["--shutdown-grace", bad]).is_err(), "{bad}");
            assert!(parse(&["--max-batch-time", bad]).is_err(), "{bad}");
        }
    }
}
