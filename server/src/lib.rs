//! ironflow's server: loads MLflow models with `ironflow-loader` (one model, or a repository of
//! them) and serves them over the KServe v2 / Open Inference Protocol REST and gRPC APIs,
//! following MLServer's wire conventions.

pub mod arrow_io;
pub mod batching;
pub mod cli;
pub mod codec;
pub mod config;
pub mod docs;
pub mod error;
pub mod grpc;
pub mod metrics;
pub mod pipeline;
pub mod repository;
pub mod rest;
pub mod served;
pub mod shutdown;
pub mod startup;
pub mod state;
pub mod tcp;
pub mod telemetry;
pub mod tracing_otel;

/// The model metadata lives in the codec (it is a wire message); the old path stays valid.
pub use codec::metadata;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use config::{Cli, Command, ServeArgs};
use repository::{LoadOptions, ModelSpec, Registry, ServerSettings};
use shutdown::Readiness;
use state::AppState;

/// Runs the command the CLI asked for; `Ok` holds the process exit code (`inspect` answers 0,
/// 1 or 2).
pub fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Inspect(args) => Ok(cli::inspect::main(&args)),
        Command::Predict(args) => {
            cli::predict::main(&args).map(|()| std::process::ExitCode::SUCCESS)
        }
        Command::Serve(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            let result = runtime.block_on(serve(args));
            // An inference still running on the blocking pool after the grace period must not
            // keep the process alive.
            runtime.shutdown_timeout(Duration::from_secs(1));
            tracing_otel::shutdown();
            result.map(|()| std::process::ExitCode::SUCCESS)
        }
    }
}

/// What to load once the ports are open.
#[derive(Debug)]
pub struct Startup {
    /// The models to load (empty when `load_models_at_startup` is false).
    pub models: Vec<ModelSpec>,
    /// Whether the directory is one MLflow model (a failure then stops the server) rather than
    /// a repository (a failure leaves that model UNAVAILABLE and the rest serve).
    pub single: bool,
    /// The network fields of the root `settings.json`, for [`ServeArgs::apply_settings_file`].
    pub network: repository::NetworkSettings,
}

impl Startup {
    /// Loads the startup models concurrently, each on the blocking pool, then marks the server
    /// ready. In single-model mode a failure is returned; in a repository it is logged, the
    /// model is UNAVAILABLE with its reason, and readiness does not wait for it.
    pub async fn run(self, state: AppState) -> anyhow::Result<()> {
        let mut loads = tokio::task::JoinSet::new();
        for spec in self.models {
            let registry = state.registry().clone();
            loads.spawn(async move { registry.load_spec(spec).await });
        }
        let mut failed = 0;
        let mut first_error = None;
        while let Some(joined) = loads.join_next().await {
            let result = joined
                .map_err(|e| anyhow::anyhow!("model loading task failed: {e}"))
                .and_then(|r| r.map_err(anyhow::Error::from));
            if let Err(e) = result {
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            // The registry logged a load failure where it happened.
            Some(e) if self.single => match e.downcast_ref::<error::ServeError>() {
                Some(error::ServeError::ModelLoad { .. }) => {
                    Err(telemetry::AlreadyLogged(format!("{e:#}")).into())
                }
                _ => Err(e),
            },
            _ => {
                if failed > 0 {
                    tracing::warn!(
                        failed,
                        "some models failed to load and are UNAVAILABLE (see POST /v2/repository/index); the others serve"
                    );
                }
                state.readiness().set_started();
                match state.required_model() {
                    Some(required) if !state.ready() => {
                        let served: Vec<String> = state.models().map(|m| m.name.clone()).collect();
                        required.explain_if_missing(false, &served);
                    }
                    _ => tracing::info!("startup settled: server ready"),
                }
                Ok(())
            }
        }
    }
}

/// Serves until SIGTERM. One MLflow model loads before the ports open (a failure exits
/// non-zero, and a TCP probe never sees a half-ready server); a repository's models load after
/// the ports open, as MLServer does, with `/v2/health/ready` false until they have settled.
pub async fn serve(mut args: ServeArgs) -> anyhow::Result<()> {
    let (state, startup) = prepare_state(&args).await?;
    args.apply_settings_file(&startup.network, &|name| std::env::var(name).ok());
    let single = startup.single;
    let mut startup = Some(startup);
    if single {
        if let Some(startup) = startup.take() {
            startup.run(state.clone()).await?;
        }
    }
    let addr = SocketAddr::new(args.host, args.http_port);
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let grpc_addr = SocketAddr::new(args.host, args.grpc_port);
    let grpc_listener = TcpListener::bind(grpc_addr)
        .await
        .with_context(|| format!("cannot listen on {grpc_addr}"))?;
    tracing::info!("REST API listening on http://{}", listener.local_addr()?);
    tracing::info!("gRPC API listening on {}", grpc_listener.local_addr()?);
    let metrics_listener = if args.metrics_enabled() {
        let metrics_addr = SocketAddr::new(args.host, args.metrics_port);
        let listener = TcpListener::bind(metrics_addr)
            .await
            .with_context(|| format!("cannot listen on {metrics_addr} (metrics)"))?;
        tracing::info!(
            "metrics on http://{}{}",
            listener.local_addr()?,
            args.metrics_endpoint
        );
        Some(listener)
    } else {
        tracing::info!(
            "metrics_endpoint is empty: no metrics server (/metrics on the HTTP port stays)"
        );
        None
    };
    if let Some(startup) = startup.take() {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = startup.run(state).await {
                tracing::error!("{e:#}");
            }
        });
    }

    // SIGTERM: readiness false, serve on for the delay, then every server stops accepting.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let lifecycle = state.clone();
    let delay = args.shutdown_delay();
    tokio::spawn(async move {
        shutdown::sequence(shutdown::signal(), lifecycle.readiness(), delay, stop).await;
    });
    let until_stopped = || shutdown::stopped(stopping.clone());
    // The REST and gRPC listeners accept what the kernel queued before they close (no reset
    // connection carrying a request), see `shutdown.rs`.
    let rest = shutdown::Draining::new(listener, stopping.clone());
    let rest_drained = rest.drained();
    let grpc_incoming = shutdown::Draining::new(grpc_listener, stopping.clone()).into_stream();
    let servers = async {
        tokio::try_join!(
            async {
                use axum::serve::ListenerExt;
                let rest = rest.tap_io(|stream| tcp::configure(stream));
                axum::serve(rest, rest::service(state.clone()))
                    .with_graceful_shutdown(rest_drained)
                    .await
                    .context("HTTP server failed")
            },
            grpc::serve_grpc_incoming(
                grpc_incoming,
                state.clone(),
                args.grpc_max_message_bytes,
                // The incoming stream ends once drained, which starts the graceful shutdown.
                std::future::pending(),
            ),
            async {
                match metrics_listener {
                    Some(listener) => {
                        metrics::serve_on(listener, &args.metrics_endpoint, until_stopped())
                            .await
                            .context("metrics server failed")
                    }
                    None => Ok(()),
                }
            },
        )
    };
    // In-flight requests get the grace period, counted from when the servers stop accepting.
    let grace = args.shutdown_grace();
    let grace_over = async {
        shutdown::stopped(stopping.clone()).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = servers => {
            result?;
            tracing::info!("every in-flight request finished; exiting");
        }
        () = grace_over => {
            tracing::warn!(
                "the shutdown grace period ({:.1}s) ran out with requests still in flight; they were cut",
                grace.as_secs_f64()
            );
        }
    }
    Ok(())
}

/// Resolves the model URI, reads the settings and finds the models, without loading any:
/// the state (every model registered, none loaded, not ready) and what to load.
pub async fn prepare_state(args: &ServeArgs) -> anyhow::Result<(AppState, Startup)> {
    if let Some(cap) = args.max_load_bytes {
        ironflow_loader::budget::set_cap(cap);
    }
    let uri = args.model_dir.to_string_lossy();
    if std::env::var("MODEL_INIT_MODE").is_ok_and(|m| m.eq_ignore_ascii_case("async")) {
        wait_for_model_path(&uri).await;
    }
    let sources = ironflow_loader::SourceOptions::from_env(args.model_cache_dir.clone());
    let dir = ironflow_loader::resolve(&uri, &sources)
        .await
        .with_context(|| format!("cannot fetch model {:?}", args.model_name()))?;
    let env = |name: &str| std::env::var(name).ok();
    let settings_dir = dir.is_dir().then_some(dir.as_path());
    let mut settings = ServerSettings::load(settings_dir, &env)?;
    if let Some(enabled) = args.repository_api_enabled {
        settings.repository_api.enabled = enabled;
    }
    if let Some(token) = args.repository_api_token.clone().filter(|t| !t.is_empty()) {
        settings.repository_api.token = Some(token);
    }
    let layout = {
        let (args, dir) = (args.clone(), dir.clone());
        let load_at_startup = settings.load_models_at_startup;
        tokio::task::spawn_blocking(move || startup::choose(&args, &dir, load_at_startup))
            .await
            .context("model discovery failed")??
    };
    let single = layout.is_single();
    let (source, specs) = layout.into_source(&dir);
    let options = LoadOptions {
        sources,
        defaults: args.serving_defaults(),
    };
    let registry = Registry::with_specs(source, options, specs);
    let models = registry.specs();
    if models.is_empty() && settings.load_models_at_startup {
        anyhow::bail!(
            "{}: no MLmodel file or bare model file (model.joblib, model.pkl, model.bst, model.json, model.ubj, model.onnx...), and no model (a folder with model-settings.json or MLmodel) under it",
            dir.display()
        );
    }
    if !single {
        tracing::info!(
            root = %dir.display(),
            models = ?models.iter().map(|m| match &m.version {
                Some(v) => format!("{}:{v}", m.name),
                None => m.name.clone(),
            }).collect::<Vec<_>>(),
            "model repository"
        );
    }
    let models = if settings.load_models_at_startup {
        models
    } else {
        tracing::info!("load_models_at_startup is false: models are registered, not loaded");
        Vec::new()
    };
    let threads = args.inference_threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    let network = settings.network.clone();
    let required = startup::RequiredModel::from_args(args, settings.load_models_at_startup);
    let state = AppState::with_registry(
        registry,
        Readiness::starting(),
        threads,
        args.max_body_bytes,
    )
    .with_server_settings(settings)
    .with_required_model(required)
    .with_single_model(single);
    Ok((
        state,
        Startup {
            models,
            single,
            network,
        },
    ))
}

/// KServe's `MODEL_INIT_MODE=async` (OCI modelcar): `/mnt/models` may appear after the
/// container starts (a symbolic link into the model container's filesystem). Waits for a local
/// model path to exist, logging every 10 s; the ports open only once the model has loaded, so
/// the readiness probe fails until then. Remote URIs are not waited for.
async fn wait_for_model_path(uri: &str) {
    if !ironflow_loader::source::is_local(uri) {
        return;
    }
    let path = std::path::PathBuf::from(uri.strip_prefix("file://").unwrap_or(uri));
    let started = std::time::Instant::now();
    let mut logged = 0;
    while !path.exists() {
        let waited = started.elapsed().as_secs();
        if waited >= logged {
            tracing::info!(
                path = %path.display(),
                waited_s = waited,
                "MODEL_INIT_MODE=async: waiting for the model to appear"
            );
            logged = waited + 10;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Prepares the state and loads every startup model before returning (the in-process form of
/// `ironflow serve`, used by tests and tools). One MLflow model that fails is an error; in a
/// repository, failed models are UNAVAILABLE and the state is returned ready.
pub async fn load_state(args: &ServeArgs) -> anyhow::Result<AppState> {
    let (state, startup) = prepare_state(args).await?;
    startup.run(state.clone()).await?;
    Ok(state)
}

/// Serves the REST API on a bound listener until `shutdown` resolves, then drains in-flight requests.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|stream| tcp::configure(stream));
    axum::serve(listener, rest::service(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("HTTP server failed")
}
