//! Logging: `tracing` to stderr, filtered by `RUST_LOG`, else `info` (`debug` when
//! `settings.json` / `MLSERVER_DEBUG` sets `debug`); JSON lines when MLServer's
//! `use_structured_logging` (`settings.json`, `MLSERVER_USE_STRUCTURED_LOGGING`) is set.
//! Colour only when stderr is a terminal and `NO_COLOR` is unset, so logs written to a file or
//! read with `kubectl logs` hold no escape codes.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

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
    let Command::Serve(args) = &cli.command else {
        // `inspect` and `predict` write their answer to stdout: only warnings and errors go to
        // stderr (RUST_LOG still wins).
        install_with(false, "warn");
        return;
    };
    let dir: &Path = &args.model_dir;
    let env = |name: &str| std::env::var(name).ok();
    let (debug, structured) = settings::logging_settings(dir.is_dir().then_some(dir), &env);
    install(debug, structured);
}

/// Whether log lines get ANSI colour: stderr is a terminal and `NO_COLOR` is unset or empty
/// (<https://no-color.org>).
pub fn colour_wanted(stderr_is_terminal: bool, no_color: Option<&str>) -> bool {
    stderr_is_terminal && no_color.is_none_or(str::is_empty)
}

fn install(debug: bool, structured: bool) {
    install_with(structured, if debug { "debug" } else { "info" });
}

fn install_with(structured: bool, default: &str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // The trace spans (tracing_otel.rs) are for the OpenTelemetry layer only.
    let filter = match format!("{}=off", crate::tracing_otel::TARGET).parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let no_color = std::env::var("NO_COLOR").ok();
    let colour = !structured && colour_wanted(std::io::stderr().is_terminal(), no_color.as_deref());
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let fmt = if structured {
        fmt.json().with_filter(filter).boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(crate::tracing_otel::layer())
        .try_init();
}

/// A duration as milliseconds with two decimals, for log fields (`load_ms=1.55`, not
/// `1.5512340000000001`).
pub fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1e5).round() / 100.0
}

/// An error whose cause was already logged where it happened: whoever ends the process
/// exits non-zero without logging it again (each error appears once in the log).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AlreadyLogged(pub String);

/// Whether `error` was already logged (see [`AlreadyLogged`]).
pub fn already_logged(error: &anyhow::Error) -> bool {
    error.downcast_ref::<AlreadyLogged>().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some("")));
        assert!(!colour_wanted(true, Some("1")));
        assert!(!colour_wanted(false, None));
    }

    #[test]
    fn millis_are_plain_two_decimal_numbers() {
        let ms = millis(Duration::from_nanos(1_551_234));
        assert_eq!(ms.to_string(), "1.55");
        assert_eq!(millis(Duration::from_secs(2)).to_string(), "2000");
    }
}
