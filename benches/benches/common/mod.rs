//! The criterion set-up the predict benches share: the row counts, the group settings, loading a
//! model (reported and skipped when this build cannot load it) and timing `predict` on a request
//! tiled to each row count.

use std::path::Path;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use ironflow_benches::Request;
use ironflow_loader::LoadedModel;

/// The batch sizes every bench times.
pub const ROWS: [usize; 3] = [1, 100, 10_000];

/// A benchmark group with the suite's settings: 20 flat samples, 0.5 s warm-up, 2 s measurement.
pub fn group<'a>(c: &'a mut Criterion, name: String) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group
}

/// Loads the MLflow model at `dir`; a model this build cannot load is reported and skipped, not
/// fatal to the suite.
pub fn load_or_skip(dir: &Path, label: &str) -> Option<LoadedModel> {
    match ironflow_loader::load(dir) {
        Ok(model) => Some(model),
        Err(e) => {
            eprintln!("skipping {label}: {e}");
            None
        }
    }
}

/// Times `model.predict` on `request` tiled to each of [`ROWS`] in the group `name`. The copy
/// `predict` consumes is made outside the timing, like a decoded request.
pub fn bench_predict(c: &mut Criterion, name: String, model: &LoadedModel, request: &Request) {
    let mut group = group(c, name);
    for rows in ROWS {
        let inputs = request.tile(rows);
        group.throughput(Throughput::Elements(rows as u64));
        let size = if rows > 100 {
            BatchSize::LargeInput
        } else {
            BatchSize::SmallInput
        };
        group.bench_with_input(BenchmarkId::from_parameter(rows), &inputs, |b, inputs| {
            b.iter_batched(
                || inputs.clone(),
                |inputs| model.predict(inputs).expect("predict"),
                size,
            )
        });
    }
    group.finish();
}
