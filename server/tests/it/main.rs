//! Integration tests: the real server on an ephemeral loopback port, driven over HTTP.

mod batching;
mod binary;
mod cli;
mod codecs;
mod conformance;
mod docs_page;
mod errors;
mod grpc;
mod harness;
mod imports;
mod invocations;
mod kserve;
mod manifests;
mod metrics;
mod openapi;
mod otel;
mod process;
mod protocol;
mod repository;
mod settings;
mod shutdown;
mod sources;
mod startup;
mod stream;
mod tools;
