//! ironflow's server: loads an MLflow model with `ironflow-loader` and serves it over the
//! KServe v2 / Open Inference Protocol REST API, following MLServer's wire conventions.

pub mod codec;
pub mod config;
pub mod error;
pub mod infer;
pub mod metadata;
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
    tracing::info!("REST API listening on http://{}", listener.local_addr()?);
    serve_on(listener, state, shutdown::signal()).await
}

/// Loads the model named by the arguments into a fresh [`AppState`].
pub async fn load_state(args: &ServeArgs) -> anyhow::Result<AppState> {
    let name = args.model_name();
    let dir = args.model_dir.clone();
    let started = Instant::now();
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
