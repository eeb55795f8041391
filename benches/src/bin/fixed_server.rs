//! `fixed_server`: the machine's HTTP ceiling. A bare axum server (no middleware) whose
//! `POST /v2/models/{name}/infer` reads the body and answers a fixed v2 response, and whose
//! `GET /v2/models/{name}/ready` answers 200. `loadtest` against it measures what the HTTP stack
//! and the load tool alone cost; issue 5 asks ironflow to reach 70% of it on a 1-row model.
//!
//! ```sh
//! cargo run --release -p ironflow-benches --bin fixed_server -- --port 18090
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::routing::{get, post};
use axum::Router;
use clap::Parser;

/// What a 1-row logistic regression answers through ironflow (its size and shape).
const DEFAULT_BODY: &str = r#"{"model_name":"iris_lr","id":"00000000-0000-4000-8000-000000000000","parameters":{"content_type":"np"},"outputs":[{"name":"output-1","shape":[1,1],"datatype":"INT64","parameters":{"content_type":"np"},"data":[0]}]}"#;

/// Serves a fixed inference answer.
#[derive(Debug, Parser)]
#[command(name = "fixed_server", about)]
struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// The port.
    #[arg(long, default_value_t = 18090)]
    port: u16,
    /// A file whose content is the answer (default: a 1-row v2 response).
    #[arg(long)]
    body: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let body: Bytes = match &args.body {
        Some(path) => std::fs::read(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .into(),
        None => Bytes::from_static(DEFAULT_BODY.as_bytes()),
    };
    let app = Router::new()
        .route(
            "/v2/models/{name}/infer",
            post(move |request: Bytes| {
                let body = body.clone();
                async move {
                    // The request is read in full, as a real server must.
                    drop(request);
                    ([(CONTENT_TYPE, "application/json")], body)
                }
            }),
        )
        .route("/v2/models/{name}/ready", get(|| async { "" }));
    let addr = SocketAddr::new(args.host, args.port);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            eprintln!("fixed_server listening on http://{addr}");
            // The same socket options as ironflow's listener, so the ceiling compares like
            // with like.
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|stream| ironflow_server::tcp::configure(stream));
            axum::serve(listener, app).await.context("server failed")
        })
}
