//! `ironflow predict MODEL_URI --input FILE [--output FILE]`: batch scoring without a server,
//! through the same load (`load_state`), the same pipeline (`pipeline::run`: MLflow schema
//! enforcement, content types, params) and the same encoders as `serve`.
//!
//! Inputs by extension (or `--format` for `-`, standard input): `.csv` (MLflow's CSV scoring
//! format, read in chunks of `--batch-rows` rows), `.json` (MLflow's `dataframe_split`,
//! `dataframe_records`, `instances`, `inputs`, or a v2 inference request: read whole),
//! `.parquet`, `.arrow` / `.ipc` (Arrow IPC file or stream), both read in record batches of at
//! most `--batch-rows` rows. Outputs by extension: `.json` (default, to standard output) is the
//! v2 inference response body the server answers for the same rows (it holds every row in
//! memory: use a columnar output for big files); `.csv`, `.parquet`, `.arrow` get one column per
//! output as the server names it (`name_0..name_k` for `[n, k]` outputs) and are written batch
//! by batch. Up to one batch per inference thread is scored at once, in order. A progress line
//! (rows, rows/s) goes to standard error when it is a terminal.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use ironflow_loader::mlmodel::Schema as MlSchema;
use ironflow_loader::NamedTensor;

use crate::arrow_io::read::{self, Batches};
use crate::arrow_io::write::{BatchWriter, Columnar};
use crate::arrow_io::{batch_to_inputs, outputs_to_batch};
use crate::codec::binary::BinaryOutputs;
use crate::codec::mlflow_input::{parse_csv, parse_json_with_params};

use crate::error::ServeError;
use crate::pipeline::{self, Inference, Inputs, Request, RequestParameters, Target};
use crate::state::AppState;

pub use crate::config::{Format, PredictArgs};

impl Format {
    /// The format a file name's extension says.
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" => Self::Csv,
            "json" => Self::Json,
            "parquet" | "pq" => Self::Parquet,
            "arrow" | "ipc" | "arrows" | "feather" => Self::Arrow,
            _ => return None,
        })
    }
}

/// Runs `predict`.
pub fn main(args: &PredictArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(predict(args))
}

/// Loads the model as `serve` does and scores the input into the output.
pub async fn predict(args: &PredictArgs) -> anyhow::Result<()> {
    let stdin = args.input.as_os_str() == "-";
    let format = match (args.format, Format::of(&args.input)) {
        (Some(f), _) | (None, Some(f)) => f,
        (None, None) if stdin => {
            bail!("reading standard input needs --format (csv, json, parquet or arrow)")
        }
        (None, None) => bail!(
            "{}: unknown input extension; use .csv, .json, .parquet, .arrow/.ipc or --format",
            args.input.display()
        ),
    };
    let output = match &args.output {
        None => None,
        Some(path) => Some(match Format::of(path) {
            Some(Format::Json) => Format::Json,
            Some(Format::Csv) => Format::Csv,
            Some(Format::Parquet) => Format::Parquet,
            Some(Format::Arrow) => Format::Arrow,
            None => bail!(
                "{}: unknown output extension; use .json, .csv, .parquet or .arrow",
                path.display()
            ),
        }),
    };
    let state = crate::load_state(&args.serve).await?;
    if state.models().count() != 1 {
        bail!(
            "predict scores one model; {} holds {}",
            args.serve.model_dir.display(),
            state.models().count()
        );
    }
    let batch_rows = args.batch_rows as usize;
    let source: Source = match format {
        Format::Json => Source::Json(read_all(&args.input, stdin)?),
        Format::Csv => Source::Csv(CsvChunks::new(open(&args.input, stdin)?, batch_rows)),
        Format::Parquet if stdin => Source::Arrow(read::parquet_bytes(
            read_all(&args.input, true)?,
            batch_rows,
        )?),
        Format::Parquet => Source::Arrow(read::parquet_file(&args.input, batch_rows)?),
        Format::Arrow if stdin => Source::Arrow(read::ipc_stream(std::io::stdin())?),
        Format::Arrow => Source::Arrow(read::ipc_file(&args.input)?),
    };
    let mut sink = Sink::open(output, args.output.as_deref())?;
    let mut progress = Progress::new();
    score(&state, source, &mut sink, &mut progress).await?;
    sink.finish()?;
    progress.done();
    Ok(())
}

/// Where input requests come from.
enum Source {
    /// One JSON body (MLflow scoring formats or a v2 request).
    Json(Vec<u8>),
    /// CSV text in chunks of rows.
    Csv(CsvChunks),
    /// Record batches.
    Arrow(Batches),
}

/// Scores every request of `source` in order, up to one per inference thread at once.
async fn score(
    state: &AppState,
    source: Source,
    sink: &mut Sink,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let window = state.inference_slots.available_permits().max(1);
    let mut in_flight: VecDeque<tokio::task::JoinHandle<Result<Inference, ServeError>>> =
        VecDeque::new();
    let schema = state
        .models()
        .next()
        .and_then(|m| m.model.input_schema().cloned());
    let mut next = requests(source, schema);
    loop {
        while in_flight.len() < window {
            match next() {
                Some(request) => {
                    let request = request?;
                    let state = state.clone();
                    in_flight.push_back(tokio::spawn(async move {
                        pipeline::run(&state, Target::Only, move |_| Ok((request, ())))
                            .await
                            .map(|(i, ())| i)
                    }));
                }
                None => break,
            }
        }
        let Some(oldest) = in_flight.pop_front() else {
            return Ok(());
        };
        let inference = oldest.await.context("an inference task failed")??;
        let rows = inference
            .outputs
            .first()
            .and_then(|o| o.tensor.shape().first().copied())
            .unwrap_or(0);
        sink.write(inference)?;
        progress.add(rows);
    }
}

/// The source as a sequence of pipeline requests.
fn requests(
    source: Source,
    schema: Option<MlSchema>,
) -> Box<dyn FnMut() -> Option<anyhow::Result<Request>> + Send> {
    match source {
        Source::Json(body) => {
            let mut body = Some(body);
            Box::new(move || body.take().map(|b| json_request(b, schema.as_ref())))
        }
        Source::Csv(mut chunks) => Box::new(move || {
            chunks.next().map(|chunk| {
                let chunk = chunk?;
                Ok(tensors_request(
                    parse_csv(&chunk, schema.as_ref()).map_err(ServeError::from)?,
                ))
            })
        }),
        Source::Arrow(mut batches) => Box::new(move || {
            batches.next().map(|batch| {
                let batch = batch?;
                Ok(tensors_request(batch_to_inputs(&batch, schema.as_ref())?))
            })
        }),
    }
}

fn tensors_request(inputs: Vec<NamedTensor>) -> Request {
    Request {
        id: None,
        parameters: RequestParameters::default(),
        inputs: Inputs::Tensors(inputs),
        outputs: None,
    }
}

/// A JSON body: a v2 request when its `inputs` are v2 tensors (objects with `datatype`), else
/// MLflow's scoring formats.
fn json_request(body: Vec<u8>, schema: Option<&MlSchema>) -> anyhow::Result<Request> {
    let value: serde_json::Value =
        serde_json::from_slice(&body).context("the JSON input is not valid JSON")?;
    let is_v2 = value
        .get("inputs")
        .and_then(|i| i.as_array())
        .and_then(|i| i.first())
        .is_some_and(|first| first.get("datatype").is_some());
    if is_v2 {
        let request: crate::codec::InferRequest =
            serde_json::from_value(value).context("the v2 inference request is not valid")?;
        let (request, _) = crate::rest::infer::decode(request, &[])?;
        return Ok(request);
    }
    let (inputs, params) = parse_json_with_params(&body, schema).map_err(ServeError::from)?;
    Ok(Request {
        id: None,
        parameters: RequestParameters::mlflow(params),
        inputs: Inputs::Tensors(inputs),
        outputs: None,
    })
}

fn open(path: &Path, stdin: bool) -> anyhow::Result<Box<dyn Read + Send>> {
    if stdin {
        return Ok(Box::new(std::io::stdin()));
    }
    Ok(Box::new(File::open(path).with_context(|| {
        format!("cannot open {}", path.display())
    })?))
}

fn read_all(path: &Path, stdin: bool) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open(path, stdin)?
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(bytes)
}

/// CSV text cut into chunks of at most `rows` records, each starting with the header line.
/// Records end at line breaks outside double quotes.
pub struct CsvChunks {
    reader: std::io::BufReader<Box<dyn Read + Send>>,
    header: Option<Vec<u8>>,
    rows: usize,
    done: bool,
}

impl CsvChunks {
    /// Chunks of `reader`'s CSV.
    pub fn new(reader: Box<dyn Read + Send>, rows: usize) -> Self {
        Self {
            reader: std::io::BufReader::with_capacity(1 << 20, reader),
            header: None,
            rows: rows.max(1),
            done: false,
        }
    }

    /// One record (with its line break), or `None` at the end.
    fn record(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        use std::io::BufRead;
        let mut record = Vec::new();
        let mut quotes = 0usize;
        loop {
            let start = record.len();
            if self.reader.read_until(b'\n', &mut record)? == 0 {
                return Ok((!record.is_empty()).then_some(record));
            }
            quotes += record[start..].iter().filter(|&&b| b == b'"').count();
            if quotes.is_multiple_of(2) {
                return Ok(Some(record));
            }
        }
    }
}

impl Iterator for CsvChunks {
    type Item = anyhow::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let header = match &self.header {
            Some(h) => h.clone(),
            None => match self.record() {
                Ok(Some(h)) => {
                    self.header = Some(h.clone());
                    h
                }
                Ok(None) => {
                    self.done = true;
                    return Some(Err(anyhow::anyhow!("the CSV input is empty")));
                }
                Err(e) => return Some(Err(e.into())),
            },
        };
        let mut chunk = header;
        if !chunk.ends_with(b"\n") {
            chunk.push(b'\n');
        }
        let mut n = 0;
        while n < self.rows {
            match self.record() {
                Ok(Some(record)) if record.iter().all(|b| b.is_ascii_whitespace()) => {}
                Ok(Some(record)) => {
                    chunk.extend_from_slice(&record);
                    n += 1;
                }
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Err(e) => return Some(Err(e.into())),
            }
        }
        (n > 0).then_some(Ok(chunk))
    }
}

/// Where predictions go.
enum Sink {
    /// The v2 JSON response: outputs gathered, written at the end.
    Json {
        out: Box<dyn Write + Send>,
        gathered: Option<Inference>,
        parts: Vec<Vec<NamedTensor>>,
    },
    /// Columnar output, written batch by batch.
    Columnar(Box<BatchWriter<BufWriter<File>>>),
}

impl Sink {
    fn open(format: Option<Format>, path: Option<&Path>) -> anyhow::Result<Self> {
        let create = |path: &Path| {
            File::create(path).with_context(|| format!("cannot create {}", path.display()))
        };
        Ok(match (format, path) {
            (Some(Format::Csv), Some(p)) => Self::Columnar(Box::new(BatchWriter::new(
                Columnar::Csv,
                BufWriter::new(create(p)?),
            ))),
            (Some(Format::Parquet), Some(p)) => Self::Columnar(Box::new(BatchWriter::new(
                Columnar::Parquet,
                BufWriter::new(create(p)?),
            ))),
            (Some(Format::Arrow), Some(p)) => Self::Columnar(Box::new(BatchWriter::new(
                Columnar::Arrow,
                BufWriter::new(create(p)?),
            ))),
            (_, Some(p)) => Self::Json {
                out: Box::new(BufWriter::new(create(p)?)),
                gathered: None,
                parts: Vec::new(),
            },
            (_, None) => Self::Json {
                out: Box::new(BufWriter::new(std::io::stdout())),
                gathered: None,
                parts: Vec::new(),
            },
        })
    }

    fn write(&mut self, mut inference: Inference) -> anyhow::Result<()> {
        match self {
            Self::Json {
                gathered, parts, ..
            } => {
                parts.push(std::mem::take(&mut inference.outputs));
                gathered.get_or_insert(inference);
                Ok(())
            }
            Self::Columnar(writer) => Ok(writer.write(&outputs_to_batch(&inference.outputs)?)?),
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Self::Json {
                mut out,
                gathered,
                parts,
            } => {
                let Some(mut inference) = gathered else {
                    bail!("the input holds no rows");
                };
                inference.outputs = concat(parts)?;
                let response = crate::rest::infer::encode(inference, &BinaryOutputs::default())?;
                let mut body = Vec::new();
                crate::codec::write_response(&mut body, &response)?;
                body.push(b'\n');
                out.write_all(&body)?;
                out.flush()?;
                Ok(())
            }
            Self::Columnar(writer) => Ok(writer.finish()?),
        }
    }
}

/// The outputs of every batch, stacked along the rows.
fn concat(parts: Vec<Vec<NamedTensor>>) -> anyhow::Result<Vec<NamedTensor>> {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else {
        return Ok(Vec::new());
    };
    let rest: Vec<Vec<NamedTensor>> = parts.collect();
    if rest.is_empty() {
        return Ok(first);
    }
    first
        .into_iter()
        .enumerate()
        .map(|(i, output)| {
            let mut tensors = vec![output.tensor];
            for part in &rest {
                let t = part.get(i).context("batches returned different outputs")?;
                tensors.push(t.tensor.clone());
            }
            let stacked = ironflow_loader::Tensor::stack_tensors(0, &tensors)
                .map_err(|e| anyhow::anyhow!("cannot join the batches' outputs: {e}"))?;
            Ok(NamedTensor::new(output.name, stacked))
        })
        .collect()
}

/// Rows done and rows/s on standard error, when it is a terminal.
struct Progress {
    started: Instant,
    rows: usize,
    shown: Instant,
    tty: bool,
}

impl Progress {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            rows: 0,
            shown: Instant::now(),
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn add(&mut self, rows: usize) {
        self.rows += rows;
        if self.tty && self.shown.elapsed().as_millis() >= 200 {
            self.shown = Instant::now();
            self.show("");
        }
    }

    fn show(&self, end: &str) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        eprint!(
            "\r{} rows scored, {:.0} rows/s{end}",
            self.rows,
            self.rows as f64 / secs
        );
    }

    fn done(&self) {
        if self.tty {
            self.show("\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_chunks_repeat_the_header_and_keep_quoted_line_breaks() {
        let text = "a,b\n1,\"x\ny\"\n2,z\n3,w\n";
        let chunks: Vec<String> =
            CsvChunks::new(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())), 2)
                .map(|c| String::from_utf8(c.expect("chunk")).expect("utf8"))
                .collect();
        assert_eq!(chunks, ["a,b\n1,\"x\ny\"\n2,z\n", "a,b\n3,w\n"]);
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::of(Path::new("x.PARQUET")), Some(Format::Parquet));
        assert_eq!(Format::of(Path::new("x.ipc")), Some(Format::Arrow));
        assert_eq!(Format::of(Path::new("x.txt")), None);
    }
}
