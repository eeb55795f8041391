//! The gRPC API: `inference.GRPCInferenceService` (MLServer's proto superset, COMPAT §1.2/§3.4)
//! MLServer's `inference.model_repository.ModelRepositoryService`, and `grpc.health.v1.Health`,
//! served by tonic over the same [`AppState`] as REST.

pub mod convert;
pub mod metrics;
pub mod repository;
pub mod service;

use std::future::Future;

use anyhow::Context;
use ironflow_proto::health::health_server::HealthServer;
use ironflow_proto::inference::grpc_inference_service_server::GrpcInferenceServiceServer;
use ironflow_proto::inference::model_repository::model_repository_service_server::ModelRepositoryServiceServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt;

pub use service::{HealthService, InferenceService};

use crate::state::AppState;

/// Serves the gRPC API on a bound listener until `shutdown` resolves, then lets in-flight calls
/// finish. Messages up to `max_message_bytes` are accepted and sent (tonic's default is 4 MiB).
pub async fn serve_grpc_on(
    listener: TcpListener,
    state: AppState,
    max_message_bytes: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_grpc_incoming(
        TcpListenerStream::new(listener),
        state,
        max_message_bytes,
        shutdown,
    )
    .await
}

/// [`serve_grpc_on`] over a stream of accepted connections: serves until `shutdown` resolves or
/// `incoming` ends, then lets in-flight calls finish (a graceful GOAWAY on each connection).
pub async fn serve_grpc_incoming(
    incoming: impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> + Send + 'static,
    state: AppState,
    max_message_bytes: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let health = HealthServer::new(HealthService::new(state.clone()));
    let repository =
        ModelRepositoryServiceServer::new(repository::RepositoryService::new(state.clone()));
    let inference = GrpcInferenceServiceServer::new(InferenceService::new(state))
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes);
    tonic::transport::Server::builder()
        .layer(metrics::GrpcMetricsLayer)
        .add_service(inference)
        .add_service(repository)
        .add_service(health)
        .serve_with_incoming_shutdown(
            incoming.map(|accepted| {
                if let Ok(stream) = &accepted {
                    crate::tcp::configure(stream);
                }
                accepted
            }),
            shutdown,
        )
        .await
        .context("gRPC server failed")
}
