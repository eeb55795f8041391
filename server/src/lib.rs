//! ironflow's server: loads an MLflow model with `ironflow-loader` and serves it over the
//! KServe v2 / Open Inference Protocol REST and gRPC APIs, following MLServer's wire conventions.

pub mod codec;
pub mod config;
pub mod error;
pub mod grpc;
pub mod infer;
pub mod metadata;
pub mod metrics;
pub mod rest;
pub mod shutdown;
pub mod state;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use tokio::net::TcpListener;

use config::{Cli, Command, ServeArgs};
use state::{AppState, ServedModel};

/// Runs the command the CLI asked for.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(serve(args))
        }
    }
}

/// Loads the model, then serves it until SIGTERM. Ports open only once the model has loaded,
/// so a readiness probe (or KServe's default TCP probe) never sees a half-ready server.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let state = load_state(&args).await?;
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
    let metrics_addr = SocketAddr::new(args.host, args.metrics_port);
    let metrics_listener = TcpListener::bind(metrics_addr)
        .await
        .with_context(|| format!("cannot listen on {metrics_addr} (metrics)"))?;
    tracing::info!(
        "metrics on http://{}{}",
        metrics_listener.local_addr()?,
        args.metrics_endpoint
    );
    // One signal stops every server; each then drains its in-flight requests.
    let (stop, stopped) = tokio::sync::watch::channel(());
    tokio::spawn(async move {
        shutdown::signal().await;
        drop(stop);
    });
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            // Resolves (with an error) once the sender is dropped.
            let _ = stopped.changed().await;
        }
    };
    tokio::try_join!(
        serve_on(listener, state.clone(), until_stopped()),
        grpc::serve_grpc_on(
            grpc_listener,
            state,
            args.grpc_max_message_bytes,
            until_stopped()
        ),
        async {
            metrics::serve_on(metrics_listener, &args.metrics_endpoint, until_stopped())
                .await
                .context("metrics server failed")
        },
    )?;
    Ok(())
}

/// Loads the model named by the arguments into a fresh [`AppState`].
pub async fn load_state(args: &ServeArgs) -> anyhow::Result<AppState> {
    let name = args.model_name();
    let started = Instant::now();
    let uri = args.model_dir.to_string_lossy();
    let sources = ironflow_loader::SourceOptions::from_env(args.model_cache_dir.clone());
    let dir = ironflow_loader::resolve(&uri, &sources)
        .await
        .with_context(|| format!("cannot fetch model {name:?}"))?;
    let model = tokio::task::spawn_blocking(move || ironflow_loader::load(&dir))
        .await
        .context("model loading task failed")?
        .with_context(|| {
            format!(
                "cannot load model {name:?} from {}",
                args.model_dir.display()
            )
        })?;
    tracing::info!(
        model = %name,
        flavor = model.flavor,
        inputs = ?model.inputs.iter().map(|i| format!("{}:{}{:?}", i.name, i.datatype, i.shape)).collect::<Vec<_>>(),
        outputs = ?model.outputs.iter().map(|o| format!("{}:{}{:?}", o.name, o.datatype, o.shape)).collect::<Vec<_>>(),
        load_ms = started.elapsed().as_secs_f64() * 1e3,
        "model loaded"
    );
    let threads = args.inference_threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    Ok(AppState::new(
        vec![ServedModel::new(name, args.model_version.clone(), model)],
        threads,
        args.max_body_bytes,
    ))
}

/// Serves the REST API on a bound listener until `shutdown` resolves, then drains in-flight requests.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, rest::router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("HTTP server failed")
}
