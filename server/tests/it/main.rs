//! Integration tests: the real server on an ephemeral loopback port, driven over HTTP.

mod cli;
mod conformance;
mod errors;
mod grpc;
mod harness;
mod invocations;
mod manifests;
mod metrics;
mod protocol;
mod sources;
