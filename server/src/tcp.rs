//! Socket options of accepted connections: `TCP_NODELAY` on every REST and gRPC connection.
//!
//! With Nagle's algorithm on (the kernel's default), Linux holds a segment smaller than the MSS
//! while an earlier small segment is unacknowledged (Minshall's variant), and clients delay ACKs
//! by up to 40 ms: a pipelined HTTP/1.1 client's second answer, or an HTTP/2 stream whose frames
//! are flushed in more than one write, waits for the delayed ACK. Answers are written whole, so
//! Nagle has nothing to coalesce. A 1-row HTTP/1.1 answer is one `writev` (headers and body, seen
//! with strace) and the next request acknowledges it, so keep-alive request/answer traffic is not
//! held either way (`benches/tail.sh --nagle` measures both). `IRONFLOW_TCP_NODELAY=0` leaves
//! Nagle on, for that before/after measurement only.

use std::sync::OnceLock;

use tokio::net::TcpStream;

/// Whether accepted connections get `TCP_NODELAY` (on unless `IRONFLOW_TCP_NODELAY` is `0`,
/// `false` or `off`).
pub fn nodelay_enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        !matches!(
            std::env::var("IRONFLOW_TCP_NODELAY")
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
                .as_str(),
            "0" | "false" | "off"
        )
    })
}

/// Sets the options on one accepted connection (a failure is logged: the connection still works).
pub fn configure(stream: &TcpStream) {
    if nodelay_enabled() {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY on an accepted connection: {e}");
        }
    }
}
