//! The KServe v2 / Open Inference Protocol gRPC definitions.
//!
//! The `.proto` file and its tonic/prost code generation (through a pure-Rust protobuf
//! compiler, so no system `protoc` is needed) arrive with the gRPC work; until then this crate
//! only names the package the generated code will live in.

/// The protobuf package of the v2 inference service.
pub const PACKAGE: &str = "inference";

/// The gRPC service name clients call.
pub const SERVICE: &str = "inference.GRPCInferenceService";
