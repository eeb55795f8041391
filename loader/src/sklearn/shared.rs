//! Objects compiled once however often the model references them (issue 17).
//!
//! The readers keep a pickle's or skops file's shared references shared (`Arc`), so a 3 KB file
//! can describe a Pipeline DAG whose steps reuse one estimator at every level, or a forest whose
//! members are one tree: expanded, that is 2^30 compiled estimators. [`Memo`] remembers each
//! object's compiled form by the address of its node, and every later reference gets the same
//! compiled object behind an `Arc`, so compile time and memory follow the file, not its expansion.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use super::{Compiled, Data, Estimator, Matrix, Method, Output, OutputInfo, Transformer};
use crate::error::PredictError;
use crate::pyobj::Obj;

/// How an object was compiled: as itself, or as its class's transform view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// `Registry` entry.
    Itself,
    /// `Registry::insert_transform_view` entry.
    TransformView,
}

enum Entry {
    Estimator(Arc<dyn Estimator>),
    Transformer(Arc<dyn Transformer>),
}

/// Most compiled objects a prediction may pass through once shared references are expanded: a
/// DAG compiled once still runs every path at predict time (a 30-level DAG is 2^30 steps per
/// request), so such a model is refused at load. Real models stay far below (a bagging ensemble
/// of 1,000 pipelines of 10 steps is 10,000).
pub(crate) const MAX_EXPANDED: u64 = 1_000_000;

/// Compiled objects of one model, by node address. Lives as long as one `Registry::compile`
/// call, while the object tree (and so every address) is alive.
#[derive(Default)]
pub(crate) struct Memo {
    done: RefCell<HashMap<(usize, Kind), (Entry, u64)>>,
    /// Expanded objects counted so far under the object being compiled.
    expanded: Cell<u64>,
}

impl Memo {
    /// The compiled form of `obj` if it was compiled before (a fresh handle to the same object).
    pub(crate) fn get(&self, obj: &Obj, kind: Kind) -> Option<(Compiled, u64)> {
        let done = self.done.borrow();
        let (entry, expanded) = done.get(&(key(obj), kind))?;
        Some((handle(entry), *expanded))
    }

    /// Starts counting the expanded size of one object's compile; returns the outer count.
    pub(crate) fn enter(&self) -> u64 {
        self.expanded.replace(1)
    }

    /// Ends one object's compile: its expanded size (itself plus its children, each shared
    /// child counted at every reference), added to the outer count it returns to.
    pub(crate) fn leave(&self, outer: u64) -> u64 {
        let mine = self.expanded.get();
        self.expanded.set(outer.saturating_add(mine));
        mine
    }

    /// Adds an already compiled object's expanded size to the current count.
    pub(crate) fn add(&self, expanded: u64) -> u64 {
        let now = self.expanded.get().saturating_add(expanded);
        self.expanded.set(now);
        now
    }

    /// Remembers `compiled` as `obj`'s compiled form and returns a handle to it.
    pub(crate) fn put(&self, obj: &Obj, kind: Kind, compiled: Compiled, expanded: u64) -> Compiled {
        // Only a node referenced more than once can be met again.
        if Arc::strong_count(obj) < 2 {
            return compiled;
        }
        let entry = match compiled {
            Compiled::Estimator(e) => Entry::Estimator(Arc::from(e)),
            Compiled::Transformer(t) => Entry::Transformer(Arc::from(t)),
        };
        let out = handle(&entry);
        self.done
            .borrow_mut()
            .insert((key(obj), kind), (entry, expanded));
        out
    }
}

/// A fresh handle to a shared compiled object.
fn handle(entry: &Entry) -> Compiled {
    match entry {
        Entry::Estimator(e) => Compiled::Estimator(Box::new(SharedEstimator(e.clone()))),
        Entry::Transformer(t) => Compiled::Transformer(Box::new(SharedTransformer(t.clone()))),
    }
}

fn key(obj: &Obj) -> usize {
    Arc::as_ptr(obj) as usize
}

/// One reference to a shared compiled estimator.
struct SharedEstimator(Arc<dyn Estimator>);

impl Estimator for SharedEstimator {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        self.0.output_info(method)
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        self.0.run(method, x)
    }
}

/// One reference to a shared compiled transformer.
struct SharedTransformer(Arc<dyn Transformer>);

impl Transformer for SharedTransformer {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        self.0.transform(x)
    }

    fn transform_data(&self, x: Data) -> Result<Data, PredictError> {
        self.0.transform_data(x)
    }
}
