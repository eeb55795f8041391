//! The `ironflow` binary: parse the command line, start logging, run the server.

use clap::Parser;
use ironflow_server::config::Cli;

/// mimalloc instead of glibc malloc: a request allocates and frees dozens of small buffers
/// (names, shapes, tensors, headers), and glibc's free path was ~30% of a 1-row request's
/// instructions.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    ironflow_server::telemetry::init_for(&cli);
    match ironflow_server::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Once: an error already logged where it happened is not repeated.
            if !ironflow_server::telemetry::already_logged(&e) {
                tracing::error!("{e:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
