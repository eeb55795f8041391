//! Readiness and graceful shutdown (issue 6).
//!
//! The server is ready once every model to load at startup has settled (loaded, or failed in
//! repository mode) and until it is asked to stop. SIGTERM (what Kubernetes sends) or Ctrl-C
//! then: (1) flips readiness false (`/v2/health/ready` 400, gRPC `ServerReady` false,
//! `grpc.health.v1` NOT_SERVING) while every request, new ones included, is still served for
//! `--shutdown-delay`, so endpoint controllers can take the pod out of rotation; (2) stops
//! accepting connections; (3) lets in-flight requests finish within `--shutdown-grace`; then the
//! process exits 0.
//!
//! No request a client sent is lost (issue 17): during the delay every HTTP/1.x response carries
//! `Connection: close` (`rest/fast.rs`), so clients open a new connection for their next request
//! instead of reusing one that will be closed under them; when the delay ends the listeners
//! ([`Draining`]) first accept every connection the kernel has already queued (closing the socket
//! would reset them, losing the requests they carry) and only then close, and HTTP/2 and gRPC
//! connections get a graceful GOAWAY (hyper's and tonic's graceful shutdown), so their in-flight
//! streams finish and clients know which were not taken.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
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

/// How long connections accepted last get to be read before the graceful shutdown of every
/// connection: hyper closes a connection whose first bytes it has not read yet (its protocol is
/// still unknown), which would reset a request the client already sent.
pub const SETTLE: Duration = Duration::from_millis(250);

/// A listener that accepts until `stop` turns true, then accepts what the kernel already queued
/// (connections whose handshake completed: closing the socket would reset them) and ends.
#[derive(Debug)]
pub struct Draining {
    /// `None` once drained: the socket is closed.
    listener: Option<TcpListener>,
    addr: std::io::Result<SocketAddr>,
    stop: watch::Receiver<bool>,
    stopping: bool,
    /// Connections taken from the kernel's queue while draining, to hand out.
    queued: std::collections::VecDeque<(TcpStream, SocketAddr)>,
    drained: watch::Sender<bool>,
}

impl Draining {
    /// Wraps `listener`, told to stop by `stop`.
    pub fn new(listener: TcpListener, stop: watch::Receiver<bool>) -> Self {
        Self {
            addr: listener.local_addr(),
            listener: Some(listener),
            stop,
            stopping: false,
            queued: std::collections::VecDeque::new(),
            drained: watch::channel(false).0,
        }
    }

    /// Resolves [`SETTLE`] after the listener handed out its last connection: the server's
    /// signal to shut its connections down gracefully.
    pub fn drained(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut drained = self.drained.subscribe();
        async move {
            let _ = drained.wait_for(|d| *d).await;
            tokio::time::sleep(SETTLE).await;
        }
    }

    /// The next connection, or `None` once stopped and the kernel's queue is empty.
    pub async fn next(&mut self) -> Option<(TcpStream, SocketAddr)> {
        loop {
            if let Some(connection) = self.queued.pop_front() {
                return Some(connection);
            }
            let Some(listener) = self.listener.as_ref() else {
                // Every queued connection is handed out: the server may stop accepting.
                self.drained.send_replace(true);
                return None;
            };
            if self.stopping {
                self.drain();
                continue;
            }
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(connection) => return Some(connection),
                    Err(e) if is_connection_error(&e) => {}
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::error!("accept error: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
                () = stopped(self.stop.clone()) => self.stopping = true,
            }
        }
    }

    /// Takes every connection the kernel queued, with real `accept` calls (the reactor may not
    /// have seen the last ones yet), then closes the socket in the same step: a handshake
    /// completing later is refused, not queued and then reset.
    fn drain(&mut self) {
        let Some(listener) = self.listener.take() else {
            return;
        };
        match listener.into_std() {
            Ok(listener) => loop {
                match listener.accept() {
                    Ok((connection, addr)) => {
                        let connection = connection
                            .set_nonblocking(true)
                            .and_then(|()| TcpStream::from_std(connection));
                        match connection {
                            Ok(connection) => self.queued.push_back((connection, addr)),
                            Err(e) => tracing::debug!("queued connection unusable: {e}"),
                        }
                    }
                    Err(e) if is_connection_error(&e) => {}
                    Err(e) => {
                        if e.kind() != std::io::ErrorKind::WouldBlock {
                            tracing::debug!("accept while draining: {e}");
                        }
                        break;
                    }
                }
            },
            Err(e) => tracing::debug!("cannot drain the listener: {e}"),
        }
    }

    /// The connections as a stream (for tonic), ending once drained.
    pub fn into_stream(
        mut self,
    ) -> tokio_stream::wrappers::ReceiverStream<std::io::Result<TcpStream>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            while let Some((connection, _)) = self.next().await {
                if tx.send(Ok(connection)).await.is_err() {
                    return;
                }
            }
            // The stream's end starts the graceful shutdown (see `SETTLE`).
            tokio::time::sleep(SETTLE).await;
            drop(tx);
        });
        tokio_stream::wrappers::ReceiverStream::new(rx)
    }
}

/// Errors of one connection (not of the listener): accepting goes on.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

impl axum::serve::Listener for Draining {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        match self.next().await {
            Some(connection) => connection,
            // The server stops calling once `drained` resolves.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match &self.addr {
            Ok(addr) => Ok(*addr),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        }
    }
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

    /// Connections queued by the kernel when the stop comes are still accepted; then the
    /// listener ends and new connections are refused.
    #[tokio::test]
    async fn draining_accepts_the_queued_connections_then_ends() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = watch::channel(false);
        let mut draining = Draining::new(listener, rx);
        let drained = draining.drained();
        let first = TcpStream::connect(addr).await.expect("connect");
        assert!(draining.next().await.is_some());
        // Three handshakes complete in the kernel's queue; nobody has accepted them yet.
        let mut queued = Vec::new();
        for _ in 0..3 {
            queued.push(TcpStream::connect(addr).await.expect("connect"));
        }
        tx.send(true).expect("stop");
        for _ in 0..3 {
            assert!(
                draining.next().await.is_some(),
                "a queued connection is accepted"
            );
        }
        assert!(draining.next().await.is_none());
        drained.await;
        drop((first, queued));
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "closed after the drain"
        );
    }
}
