//! Logging: `tracing` to stderr, filtered by `RUST_LOG`, else `info` (`debug` when
//! `settings.json` / `MLSERVER_DEBUG` sets `debug`); JSON lines when `use_structured_logging`
//! is set.

use std::path::Path;

use tracing_subscriber::EnvFilter;

use crate::config::{Cli, Command};
use crate::repository::settings;

/// Installs the global subscriber with the defaults. Safe to call once per process.
pub fn init() {
    install(false, false);
}

/// Installs the global subscriber per the logging settings of the model directory's
/// `settings.json` (when it is a local folder) and the `MLSERVER_*` environment.
pub fn init_for(cli: &Cli) {
    let Command::Serve(args) = &cli.command;
    let dir: &Path = &args.model_dir;
    let env = |name: &str| std::env::var(name).ok();
    let (debug, structured) = settings::logging_settings(dir.is_dir().then_some(dir), &env);
    install(debug, structured);
}

fn install(debug: bool, structured: bool) {
    let default = if debug { "debug" } else { "info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if structured {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
