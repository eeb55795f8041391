//! Per-model admission and adaptive batching (docs/compat.md §1.8, issue 5).
//!
//! Every request for a model is first admitted by its [`ModelRunner`]: at most
//! `max_queue` requests may be waiting or running at once, and one past that is refused at once
//! with [`ServeError::Overloaded`] (HTTP 503 / gRPC `UNAVAILABLE`) instead of piling up memory and
//! timeouts.
//!
//! With batching on (`max_batch_size > 1` and `max_batch_time > 0`, as in MLServer), admitted
//! requests go to one batcher task per model. A batch opens with the first request and closes when
//! it holds `max_batch_size` **requests** (MLServer counts requests, not rows) or when
//! `max_batch_time` has passed. Requests whose inputs agree on names, datatypes and every
//! dimension after the first are concatenated on dimension 0, run once on the blocking pool, and
//! the outputs are split back by each request's row count. A request that cannot merge (a scalar
//! input, inputs of different row counts, a layout no other request shares) runs alone; so does
//! every request of a merged batch that failed, or whose outputs are not one row per input row, so
//! that one bad request never fails the others and every answer is the one the request alone gets.
//! Since float graphs may pick kernels by batch size, the first merged batches are checked bit
//! for bit against the requests run alone, and a model that differs is served unbatched
//! ([`BatchStats::merging_disabled`]).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant as StdInstant};

use ironflow_loader::tensor::DatumType;
use ironflow_loader::{LoadedModel, NamedTensor, Tensor};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::error::ServeError;
use crate::metrics;

/// Per-model serving knobs, from `model-settings.json`, the `MLSERVER_MODEL_*` environment and
/// the CLI. Batching is on only when `max_batch_size > 1` and `max_batch_time > 0`, as in MLServer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelServingSettings {
    /// The most requests' rows merged into one batch (`max_batch_size`; 0 or 1: no batching).
    pub max_batch_size: usize,
    /// How long a batch waits for more requests (`max_batch_time`; zero: no batching).
    pub max_batch_time: Duration,
    /// The most requests admitted for this model (waiting or running); past it, new requests are
    /// refused at once (HTTP 503 / gRPC UNAVAILABLE). 0: no limit.
    pub max_queue: usize,
}

impl Default for ModelServingSettings {
    fn default() -> Self {
        Self {
            max_batch_size: 0,
            max_batch_time: Duration::ZERO,
            max_queue: 1024,
        }
    }
}

impl ModelServingSettings {
    /// Whether adaptive batching is on.
    pub fn batching(&self) -> bool {
        self.max_batch_size > 1 && !self.max_batch_time.is_zero()
    }
}

/// Admission and batching for one served model.
pub struct ModelRunner {
    model_name: String,
    /// `None`: no limit (`max_queue` of 0).
    admitted: Option<(Arc<Semaphore>, usize)>,
    batch: Option<BatchLimits>,
    batcher: OnceLock<mpsc::UnboundedSender<Pending>>,
    stats: Arc<BatchStats>,
    depth: Arc<AtomicI64>,
    cost: Arc<Cost>,
}

/// Inference expected to take less than this runs on the async thread that decoded the request
/// instead of the blocking pool: for a model answering in a few microseconds, the hop to the pool
/// and back (two thread wake-ups, measured as ~40% of the CPU time of 1-row requests) costs more
/// than the model, while blocking an I/O thread this long is harmless. `IRONFLOW_INLINE_BUDGET_US`
/// overrides it (0 sends every inference to the pool; profiling under valgrind, where everything is
/// ~50x slower, needs a larger one to see the path real requests take).
static INLINE_BUDGET: std::sync::LazyLock<Duration> = std::sync::LazyLock::new(|| {
    std::env::var("IRONFLOW_INLINE_BUDGET_US")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_INLINE_BUDGET, Duration::from_micros)
});

/// [`INLINE_BUDGET`] unless the environment says otherwise.
const DEFAULT_INLINE_BUDGET: Duration = Duration::from_micros(20);

/// A model's measured cost per row (an exponential moving average; 0 until measured), which
/// decides whether a request runs inline (see [`INLINE_BUDGET`]).
#[derive(Debug, Default)]
struct Cost {
    ns_per_row: AtomicU64,
}

impl Cost {
    fn observe(&self, elapsed: Duration, rows: u64) {
        let sample = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX) / rows.max(1);
        let old = self.ns_per_row.load(Ordering::Relaxed);
        let new = if old == 0 {
            sample.max(1)
        } else {
            // One run slowed by preemption must not send the next dozens of requests through
            // the pool, so a sample counts for at most twice the budget: a model that is really
            // slower than the budget still crosses it within a few requests.
            let cap = u64::try_from(2 * INLINE_BUDGET.as_nanos()).unwrap_or(u64::MAX);
            (old.saturating_mul(7).saturating_add(sample.min(cap)) / 8).max(1)
        };
        self.ns_per_row.store(new, Ordering::Relaxed);
    }

    fn cheap(&self, rows: u64) -> bool {
        let per_row = self.ns_per_row.load(Ordering::Relaxed);
        per_row != 0 && u128::from(per_row.saturating_mul(rows.max(1))) <= INLINE_BUDGET.as_nanos()
    }
}

/// The rows of a request: its first input's first dimension (1 for a scalar or no input).
fn rows_of(inputs: &[NamedTensor]) -> u64 {
    inputs
        .first()
        .and_then(|i| i.tensor.shape().first())
        .map_or(1, |&n| n as u64)
}

/// How many merged batches are checked against the requests run alone before merged answers
/// are trusted (see [`BatchStats::merging_disabled`]).
pub const VERIFIED_BATCHES: u64 = 2;

/// How the batcher answered requests, for tests and diagnostics.
#[derive(Debug, Default)]
pub struct BatchStats {
    merged: AtomicU64,
    rerun: AtomicU64,
    verified: AtomicU64,
    disabled: AtomicBool,
}

impl BatchStats {
    /// Requests answered from a merged run of several requests.
    pub fn merged(&self) -> u64 {
        self.merged.load(Ordering::Relaxed)
    }

    /// Requests of a merged batch that were run again alone (the merged run failed or its
    /// outputs were not one row per input row).
    pub fn rerun(&self) -> u64 {
        self.rerun.load(Ordering::Relaxed)
    }

    /// Whether merging is off for this model because a merged run's rows differed from the
    /// requests run alone. Some float graphs pick kernels (and so summation orders) by batch
    /// size, which changes the last bits; the first [`VERIFIED_BATCHES`] merged batches are
    /// therefore also run request by request and compared bit for bit, their answers are the
    /// requests' own, and a model that differs is served unbatched from then on.
    pub fn merging_disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone, Copy)]
struct BatchLimits {
    max_requests: usize,
    max_time: Duration,
}

impl fmt::Debug for ModelRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelRunner")
            .field("model", &self.model_name)
            .field("max_queue", &self.admitted.as_ref().map(|(_, n)| *n))
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

/// A request's place in its model's queue, held until its answer is ready.
pub struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
    depth: Arc<AtomicI64>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.depth.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One request waiting in the batcher.
struct Pending {
    key: BatchKey,
    rows: usize,
    inputs: Vec<NamedTensor>,
    /// The outputs to compute (`None`: all); requests merge only with the same selection.
    outputs: Option<Vec<String>>,
    reply: oneshot::Sender<Result<Vec<NamedTensor>, ServeError>>,
    span: tracing::Span,
    _admission: Admission,
}

/// What requests must share to be concatenated: input names, datatypes and trailing dimensions,
/// in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BatchKey(Vec<(String, DatumType, Vec<usize>)>);

impl ModelRunner {
    /// The runner for `model_name` under `settings`. A `max_queue` of 0 means no limit.
    pub fn new(model_name: &str, settings: &ModelServingSettings) -> Self {
        let admitted = (settings.max_queue > 0).then(|| {
            (
                Arc::new(Semaphore::new(settings.max_queue)),
                settings.max_queue,
            )
        });
        let batch = settings.batching().then_some(BatchLimits {
            max_requests: settings.max_batch_size,
            max_time: settings.max_batch_time,
        });
        Self {
            model_name: model_name.to_owned(),
            admitted,
            batch,
            batcher: OnceLock::new(),
            stats: Arc::default(),
            depth: metrics::queue_depth_gauge(model_name),
            cost: Arc::default(),
        }
    }

    /// How the batcher has answered requests so far.
    pub fn stats(&self) -> &BatchStats {
        &self.stats
    }

    /// Admits one request, or refuses it at once when `max_queue` requests are already waiting
    /// or running.
    pub fn admit(&self) -> Result<Admission, ServeError> {
        let permit = match &self.admitted {
            Some((queue, limit)) => {
                Some(
                    queue
                        .clone()
                        .try_acquire_owned()
                        .map_err(|_| ServeError::Overloaded {
                            model: self.model_name.clone(),
                            limit: *limit,
                        })?,
                )
            }
            None => None,
        };
        self.depth.fetch_add(1, Ordering::Relaxed);
        Ok(Admission {
            _permit: permit,
            depth: self.depth.clone(),
        })
    }

    /// Whether adaptive batching is on for this model.
    pub fn batching(&self) -> bool {
        self.batch.is_some()
    }

    /// Runs an admitted request: through the batcher when batching is on and the request can
    /// merge, else alone. `slots` bounds the inferences running at once. `outputs` names the
    /// outputs to compute (`None`: all; [`LoadedModel::predict_outputs`]).
    pub async fn run(
        &self,
        model: &Arc<LoadedModel>,
        slots: &Arc<Semaphore>,
        inputs: Vec<NamedTensor>,
        outputs: Option<Vec<String>>,
        admission: Admission,
    ) -> Result<Vec<NamedTensor>, ServeError> {
        let span = tracing::debug_span!("predict", model = %self.model_name);
        let Some(limits) = self.batch.filter(|_| !self.stats.merging_disabled()) else {
            return run_alone(model, slots, &self.cost, (inputs, outputs), admission, span).await;
        };
        let Some((key, rows)) = batch_key(&inputs) else {
            return run_alone(model, slots, &self.cost, (inputs, outputs), admission, span).await;
        };
        let batcher = self.batcher.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(batch_loop(
                rx,
                model.clone(),
                slots.clone(),
                limits,
                self.stats.clone(),
            ));
            tx
        });
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            key,
            rows,
            inputs,
            outputs,
            reply,
            span,
            _admission: admission,
        };
        batcher
            .send(pending)
            .map_err(|_| ServeError::Internal("the batcher has stopped".into()))?;
        answer
            .await
            .map_err(|_| ServeError::Internal("the batch was dropped before answering".into()))?
    }
}

/// Runs one request: inline when the model is known to answer within [`INLINE_BUDGET`] and a
/// slot is free at once, else on the blocking pool once an inference slot is free. The admission
/// is released only when the inference is done, even if the caller stops waiting.
async fn run_alone(
    model: &Arc<LoadedModel>,
    slots: &Arc<Semaphore>,
    cost: &Arc<Cost>,
    (inputs, outputs): (Vec<NamedTensor>, Option<Vec<String>>),
    admission: Admission,
    span: tracing::Span,
) -> Result<Vec<NamedTensor>, ServeError> {
    let rows = rows_of(&inputs);
    if cost.cheap(rows) {
        if let Ok(_slot) = slots.try_acquire() {
            let started = StdInstant::now();
            // A model that panics must not take the connection down with it: the blocking pool
            // turns a panic into an error, so the inline path does too.
            let outputs = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                span.in_scope(|| model.predict_outputs(inputs, outputs.as_deref()))
            }))
            .map_err(|_| ServeError::Internal("inference panicked".into()))?;
            cost.observe(started.elapsed(), rows);
            drop(admission);
            return outputs.map_err(ServeError::from);
        }
    }
    let queue = tracing::info_span!(target: crate::tracing_otel::TARGET, "queue");
    let slot = tracing::Instrument::instrument(acquire(slots), queue).await?;
    let (model, cost) = (model.clone(), cost.clone());
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let _admission = admission;
        let started = StdInstant::now();
        let outputs = span.in_scope(|| model.predict_outputs(inputs, outputs.as_deref()));
        cost.observe(started.elapsed(), rows);
        outputs
    })
    .await
    .map_err(|e| ServeError::Internal(format!("inference task failed: {e}")))?
    .map_err(ServeError::from)
}

async fn acquire(slots: &Arc<Semaphore>) -> Result<OwnedSemaphorePermit, ServeError> {
    slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ServeError::Internal(e.to_string()))
}

/// The request's batch key and row count, or `None` when it cannot be concatenated with
/// others: no inputs, a scalar input, inputs that disagree on rows, or zero rows.
fn batch_key(inputs: &[NamedTensor]) -> Option<(BatchKey, usize)> {
    let rows = *inputs.first()?.tensor.shape().first()?;
    if rows == 0 {
        return None;
    }
    let mut key = Vec::with_capacity(inputs.len());
    for input in inputs {
        let (&n, rest) = input.tensor.shape().split_first()?;
        // Missing-cell marks do not survive concatenation: such a request runs alone.
        if n != rows || input.nulls.is_some() {
            return None;
        }
        key.push((input.name.clone(), input.tensor.datum_type(), rest.to_vec()));
    }
    Some((BatchKey(key), rows))
}

/// Collects batches and hands each to the blocking pool; ends when the model's runner is dropped.
async fn batch_loop(
    mut queue: mpsc::UnboundedReceiver<Pending>,
    model: Arc<LoadedModel>,
    slots: Arc<Semaphore>,
    limits: BatchLimits,
    stats: Arc<BatchStats>,
) {
    while let Some(first) = queue.recv().await {
        let deadline = Instant::now() + limits.max_time;
        let mut batch = vec![first];
        while batch.len() < limits.max_requests {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(pending)) => batch.push(pending),
                Ok(None) | Err(_) => break,
            }
        }
        for group in group_by_key(batch) {
            let model = model.clone();
            let slots = slots.clone();
            let stats = stats.clone();
            tokio::spawn(async move {
                match acquire(&slots).await {
                    Ok(slot) => {
                        // A panic in the model drops the group's reply senders: each waiting
                        // request then answers with an internal error.
                        let _ = tokio::task::spawn_blocking(move || {
                            let _slot = slot;
                            run_group(&model, group, &stats);
                        })
                        .await;
                    }
                    Err(e) => {
                        for pending in group {
                            pending.answer(Err(ServeError::Internal(e.to_string())));
                        }
                    }
                }
            });
        }
    }
}

/// Splits a closed batch into groups of requests that can be concatenated, in arrival order.
fn group_by_key(batch: Vec<Pending>) -> Vec<Vec<Pending>> {
    let mut groups: Vec<Vec<Pending>> = Vec::new();
    for pending in batch {
        match groups
            .iter_mut()
            .find(|g| g[0].key == pending.key && g[0].outputs == pending.outputs)
        {
            Some(group) => group.push(pending),
            None => groups.push(vec![pending]),
        }
    }
    groups
}

/// Runs a group (blocking): merged when it has several requests, and each request alone when
/// the merged run fails or its outputs cannot be split by rows.
fn run_group(model: &LoadedModel, group: Vec<Pending>, stats: &BatchStats) {
    if group.len() > 1 {
        let rows: Vec<usize> = group.iter().map(|p| p.rows).collect();
        let total: usize = rows.iter().sum();
        let span = tracing::debug_span!(parent: &group[0].span, "batch", requests = group.len(), rows = total);
        let answers = span.in_scope(|| {
            let merged = merge(&group).ok()?;
            let outputs = model
                .predict_outputs(merged, group[0].outputs.as_deref())
                .ok()?;
            split(outputs, &rows)
        });
        if let Some(answers) = answers {
            if stats.verified.load(Ordering::Relaxed) < VERIFIED_BATCHES {
                verify(model, group, answers, stats);
                return;
            }
            stats
                .merged
                .fetch_add(group.len() as u64, Ordering::Relaxed);
            for (pending, outputs) in group.into_iter().zip(answers) {
                pending.answer(Ok(outputs));
            }
            return;
        }
        tracing::debug!("merged batch failed or could not be split; running its requests alone");
        stats.rerun.fetch_add(group.len() as u64, Ordering::Relaxed);
    }
    for mut pending in group {
        let inputs = std::mem::take(&mut pending.inputs);
        let answer = pending
            .span
            .in_scope(|| model.predict_outputs(inputs, pending.outputs.as_deref()))
            .map_err(ServeError::from);
        pending.answer(answer);
    }
}

/// Runs each request of a merged batch alone, answers with those results, and turns merging
/// off for the model if any differs from its rows of the merged run.
fn verify(
    model: &LoadedModel,
    group: Vec<Pending>,
    merged: Vec<Vec<NamedTensor>>,
    stats: &BatchStats,
) {
    let mut same = true;
    for (pending, merged) in group.into_iter().zip(merged) {
        let alone = pending
            .span
            .in_scope(|| model.predict_outputs(pending.inputs.clone(), pending.outputs.as_deref()));
        same &= alone.as_ref().is_ok_and(|alone| {
            alone.len() == merged.len()
                && alone
                    .iter()
                    .zip(&merged)
                    .all(|(a, m)| a.name == m.name && a.tensor == m.tensor)
        });
        pending.answer(alone.map_err(ServeError::from));
    }
    if same {
        stats.verified.fetch_add(1, Ordering::Relaxed);
    } else if !stats.disabled.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "a merged batch answered differently from its requests run alone (batch-size \
             dependent float kernels); adaptive batching is off for this model"
        );
    }
}

impl Pending {
    /// Leaves the queue, then sends the answer, so that a client holding its answer is no
    /// longer counted in the queue-depth gauge.
    fn answer(self, answer: Result<Vec<NamedTensor>, ServeError>) {
        let Pending {
            reply, _admission, ..
        } = self;
        drop(_admission);
        let _ = reply.send(answer);
    }
}

/// Concatenates the group's inputs on dimension 0 (the originals are kept for a rerun).
fn merge(group: &[Pending]) -> Result<Vec<NamedTensor>, String> {
    let first = &group[0].inputs;
    (0..first.len())
        .map(|i| {
            let parts: Vec<&Tensor> = group.iter().map(|p| &p.inputs[i].tensor).collect();
            Tensor::stack_tensors(0, &parts)
                .map(|t| NamedTensor::new(first[i].name.clone(), t))
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Splits a merged batch's outputs back into each request's rows, or `None` when an output is
/// not one row per input row.
fn split(outputs: Vec<NamedTensor>, rows: &[usize]) -> Option<Vec<Vec<NamedTensor>>> {
    let total: usize = rows.iter().sum();
    if outputs
        .iter()
        .any(|o| o.tensor.shape().first() != Some(&total))
    {
        return None;
    }
    let mut answers: Vec<Vec<NamedTensor>> = (0..rows.len())
        .map(|_| Vec::with_capacity(outputs.len()))
        .collect();
    for output in outputs {
        let mut start = 0;
        for (answer, &n) in answers.iter_mut().zip(rows) {
            let part = output.tensor.slice(0, start, start + n).ok()?;
            answer.push(NamedTensor::new(output.name.clone(), part));
            start += n;
        }
    }
    Some(answers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironflow_loader::tensor::{tensor1, tensor2};

    #[test]
    fn keys_need_matching_rows_and_a_batch_dimension() {
        let a = vec![
            NamedTensor::new("x", tensor2(&[[1f32, 2.0], [3.0, 4.0]])),
            NamedTensor::new("s", tensor1(&["a".to_string(), "b".to_string()])),
        ];
        let (key, rows) = batch_key(&a).expect("mergeable");
        assert_eq!(rows, 2);
        assert_eq!(key.0[0].2, vec![2]);
        let b = vec![NamedTensor::new("x", tensor2(&[[5f32, 6.0]]))];
        assert_ne!(batch_key(&b).expect("mergeable").0, key);
        let uneven = vec![
            NamedTensor::new("x", tensor2(&[[1f32, 2.0]])),
            NamedTensor::new("y", tensor1(&[1f32, 2.0])),
        ];
        assert!(batch_key(&uneven).is_none());
        let scalar = vec![NamedTensor::new("x", Tensor::from(1f32))];
        assert!(batch_key(&scalar).is_none());
    }

    #[test]
    fn cheap_models_run_inline_and_one_slow_run_does_not_flip_them() {
        let cost = Cost::default();
        assert!(!cost.cheap(1), "unknown cost: the pool");
        cost.observe(Duration::from_micros(2), 1);
        assert!(cost.cheap(1));
        assert!(!cost.cheap(100), "100 rows at 2 us: past the budget");
        cost.observe(Duration::from_millis(5), 1);
        assert!(
            cost.cheap(1),
            "a preempted run counts for at most twice the budget"
        );
        let slow = Cost::default();
        slow.observe(Duration::from_millis(3), 1);
        for _ in 0..20 {
            slow.observe(Duration::from_millis(3), 1);
        }
        assert!(!slow.cheap(1));
    }

    #[test]
    fn split_undoes_concatenation() {
        let parts = [tensor2(&[[1f32, 2.0]]), tensor2(&[[3f32, 4.0], [5.0, 6.0]])];
        let merged = Tensor::stack_tensors(0, &parts).expect("stack");
        let answers = split(vec![NamedTensor::new("y", merged)], &[1, 2]).expect("split");
        assert_eq!(answers[0][0].tensor, parts[0]);
        assert_eq!(answers[1][0].tensor, parts[1]);
        let strings = Tensor::stack_tensors(
            0,
            &[
                tensor1(&["a".to_string()]),
                tensor1(&["b".to_string(), "c".to_string()]),
            ],
        )
        .expect("stack strings");
        let answers = split(vec![NamedTensor::new("s", strings)], &[1, 2]).expect("split");
        assert_eq!(
            answers[1][0].tensor,
            tensor1(&["b".to_string(), "c".to_string()])
        );
        assert!(split(vec![NamedTensor::new("y", tensor1(&[1f32]))], &[1, 2]).is_none());
    }
}
