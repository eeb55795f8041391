//! Readiness and graceful shutdown (issue 6).
//!
//! The server is ready once every model to load at startup has settled (loaded, or failed in
//! repository mode) and until it is asked to stop. SIGTERM (what Kubernetes sends) or Ctrl-C
//! then: (1) flips readiness false (`/v2/health/ready` 400, gRPC `ServerReady` false,
//! `grpc.health.v1` NOT_SERVING) while every request, new ones included, is still served for
//! `--shutdown-delay`, so endpoint controllers can take the pod out of rotation; (2) stops
//! accepting connections; (3) lets in-flight requests finish within `--shutdown-grace`; then the
//! process exits 0.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

/// Whether the server should get traffic: startup settled and not stopping.
#[derive(Debug, Default)]
pub struct Readiness {
    started: AtomicBool,
    stopping: AtomicBool,
}

impl Readiness {
    /// Not ready yet: models are still to load.
    pub fn starting() -> Self {
        Self::default()
    }

    /// Ready already (every model loaded before the state was built).
    pub fn started() -> Self {
        let readiness = Self::default();
        readiness.set_started();
        readiness
    }

    /// Every model to load at startup has settled.
    pub fn set_started(&self) {
        self.started.store(true, Ordering::SeqCst);
    }

    /// Shutdown has begun: readiness is false from now on.
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether startup has settled.
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    /// Whether shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Whether the server should get traffic.
    pub fn is_ready(&self) -> bool {
        self.is_started() && !self.is_stopping()
    }
}

/// Resolves when the process is asked to stop (SIGTERM or Ctrl-C).
pub async fn signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Runs the first two shutdown steps once `signal` resolves: readiness false, serve on for
/// `delay`, then tell the servers to stop accepting (`stop` becomes true).
pub async fn sequence(
    signal: impl std::future::Future<Output = ()>,
    readiness: &Readiness,
    delay: Duration,
    stop: watch::Sender<bool>,
) {
    signal.await;
    readiness.set_stopping();
    if delay.is_zero() {
        tracing::info!("shutting down: readiness is false; finishing in-flight requests");
    } else {
        tracing::info!(
            "shutting down: readiness is false; still serving for {:.1}s so load balancers can drop this server",
            delay.as_secs_f64()
        );
        tokio::time::sleep(delay).await;
        tracing::info!("no longer accepting connections; finishing in-flight requests");
    }
    let _ = stop.send(true);
}

/// Resolves once `stop` turns true (or its sender is gone): the servers' shutdown trigger.
pub async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readiness_turns_false_and_the_servers_keep_going_during_the_delay() {
        let readiness = std::sync::Arc::new(Readiness::starting());
        assert!(!readiness.is_ready());
        readiness.set_started();
        assert!(readiness.is_ready());

        let (tx, rx) = watch::channel(false);
        let r = readiness.clone();
        // A delay no test run reaches: the servers must not be told to stop during it.
        let task = tokio::spawn(async move {
            sequence(async {}, &r, Duration::from_secs(3600), tx).await;
        });
        while readiness.is_ready() {
            tokio::task::yield_now().await;
        }
        assert!(readiness.is_stopping());
        assert!(!*rx.borrow());
        task.abort();
    }

    #[tokio::test]
    async fn without_a_delay_the_servers_are_told_to_stop() {
        let readiness = Readiness::started();
        let (tx, rx) = watch::channel(false);
        sequence(async {}, &readiness, Duration::ZERO, tx).await;
        assert!(!readiness.is_ready());
        stopped(rx.clone()).await;
        assert!(*rx.borrow());
    }
}
