//! The KServe v2 / Open Inference Protocol gRPC definitions and `grpc.health.v1`, generated at
//! build time from `proto/*.proto` with protox (pure Rust, no system `protoc`) and tonic.
//!
//! `inference.proto` is MLServer's `dataplane.proto` made a superset: MLServer's
//! `TensorMetadata.parameters` (4) and `ModelMetadataResponse.parameters` (6), plus the OIP
//! `InferParameter` `double_param` (4) and `uint64_param` (5). Field 6 of
//! `ModelMetadataResponse` is OIP's `properties` map in the OIP proto: MLServer's meaning wins.

pub mod codec;

/// The `inference` package: `GRPCInferenceService` and its messages.
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used)]
pub mod inference {
    tonic::include_proto!("inference");

    /// MLServer's `inference.model_repository.ModelRepositoryService`: the repository rpcs under
    /// their own service, over the `inference` package's messages (nested so the generated
    /// code's `super::` paths reach them).
    pub mod model_repository {
        tonic::include_proto!("inference.model_repository");
    }
}

/// The standard gRPC health checking protocol (`grpc.health.v1.Health`).
#[allow(missing_docs, clippy::all, clippy::pedantic, clippy::unwrap_used)]
pub mod health {
    tonic::include_proto!("grpc.health.v1");
}

/// The protobuf package of the v2 inference service.
pub const PACKAGE: &str = "inference";

/// The gRPC service name clients call.
pub const SERVICE: &str = "inference.GRPCInferenceService";
