//! The worker threads large evaluations share: one pool of `max_threads() - 1` parked workers
//! (rayon-core's), started on first use, so a large batch wakes workers instead of spawning
//! threads per call. The calling thread always takes the first part itself.
//!
//! rayon-core rather than a hand-written pool: the parts borrow the request's rows and output
//! slices, and handing borrowed work to a persistent thread safely needs a scope that waits for
//! it, which rayon-core provides (`in_place_scope`) without any `unsafe` here.

use std::sync::OnceLock;

use rayon_core::ThreadPool;

use super::eval::max_threads;

/// The shared workers (`None` with one thread, or when the pool could not be started: then
/// every part runs on the caller).
fn pool() -> Option<&'static ThreadPool> {
    static POOL: OnceLock<Option<ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let workers = max_threads().saturating_sub(1);
        if workers == 0 {
            return None;
        }
        rayon_core::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("ironflow-tree-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Runs `work` on every part, the first on the calling thread and the others on the pool's
/// workers, and returns when all are done (a panic in a part is resumed here).
pub(crate) fn run_parts<P: Send>(parts: Vec<P>, work: impl Fn(P) + Sync) {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        return;
    };
    match pool() {
        Some(pool) if parts.len() > 0 => pool.in_place_scope(|scope| {
            let work = &work;
            for part in parts {
                scope.spawn(move |_| work(part));
            }
            work(first);
        }),
        _ => {
            work(first);
            parts.for_each(work);
        }
    }
}
