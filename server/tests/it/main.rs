//! Integration tests: the real server on an ephemeral loopback port, driven over HTTP.

mod cli;
mod conformance;
mod errors;
mod harness;
mod protocol;
