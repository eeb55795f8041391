//! The `ironflow` binary: parse the command line, start logging, run the server.

use clap::Parser;
use ironflow_server::config::Cli;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    ironflow_server::telemetry::init_for(&cli);
    match ironflow_server::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("ironflow: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
