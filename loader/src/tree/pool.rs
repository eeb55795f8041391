//! The worker threads large evaluations share: one pool of `max_threads() - 1` parked workers
//! (rayon-core's), started on first use, so a large batch wakes workers instead of spawning
//! threads per call.
//!
//! The parts of one call form a queue that the calling thread and the helpers it asks for all
//! take from, the caller first. A caller whose helpers are busy with another request's parts
//! therefore works through its own queue itself instead of waiting for them (issue 18 item 4:
//! two large requests at once each progress on their own thread and share the cores the OS
//! gives them); a helper that starts once the queue is empty returns at once, so the caller
//! waits at most for the parts already started.
//!
//! rayon-core rather than a hand-written pool: the parts borrow the request's rows and output
//! slices, and handing borrowed work to a persistent thread safely needs a scope that waits for
//! it, which rayon-core provides (`in_place_scope`) without any `unsafe` here.

use std::sync::{Mutex, OnceLock, PoisonError};

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

/// Runs `work` on every part and returns when all are done (a panic in a part is resumed
/// here). The calling thread takes parts from the front of the queue until it is empty; up to
/// `max_threads() - 1` pool workers take from the same queue when they are free.
pub(crate) fn run_parts<P: Send>(parts: Vec<P>, work: impl Fn(P) + Sync) {
    let helpers = match pool() {
        Some(pool) if parts.len() > 1 => {
            Some((pool, (parts.len() - 1).min(pool.current_num_threads())))
        }
        _ => None,
    };
    let Some((pool, helpers)) = helpers else {
        parts.into_iter().for_each(work);
        return;
    };
    let queue = Mutex::new(parts.into_iter());
    let drain = || {
        while let Some(part) = take(&queue) {
            work(part);
        }
    };
    pool.in_place_scope(|scope| {
        let drain = &drain;
        for _ in 0..helpers {
            scope.spawn(move |_| drain());
        }
        drain();
    });
}

/// The next part of the queue (the lock is released before the part runs, so a part that
/// panics leaves the queue usable; a poisoned lock still hands out the remaining parts).
fn take<I: Iterator>(queue: &Mutex<I>) -> Option<I::Item> {
    queue.lock().unwrap_or_else(PoisonError::into_inner).next()
}
