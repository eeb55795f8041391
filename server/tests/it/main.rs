//! Integration tests: the real server on an ephemeral loopback port, driven over HTTP.

mod batching;
mod cli;
mod conformance;
mod errors;
mod grpc;
mod harness;
mod invocations;
mod manifests;
mod metrics;
mod protocol;
mod repository;
mod shutdown;
mod sources;
mod binary;
mod codecs;
mod openapi;
