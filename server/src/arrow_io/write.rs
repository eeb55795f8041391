//! Writing output batches as they come: CSV, Parquet or Arrow IPC (file).

use std::io::Write;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_ipc::writer::FileWriter;
use arrow_schema::DataType as ArrowType;
use parquet::arrow::ArrowWriter;

use super::ArrowError;

/// The columnar output forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columnar {
    /// Comma-separated values with a header line.
    Csv,
    /// Apache Parquet (snappy-compressed).
    Parquet,
    /// Arrow IPC file format.
    Arrow,
}

/// A writer opened at the first batch (its schema is the outputs').
pub struct BatchWriter<W: Write + Send> {
    form: Columnar,
    sink: Option<W>,
    state: State<W>,
}

enum State<W: Write + Send> {
    NotStarted,
    Csv(W),
    Parquet(ArrowWriter<W>),
    Arrow(FileWriter<W>),
    Done,
}

impl<W: Write + Send> BatchWriter<W> {
    /// A writer of `form` into `sink`.
    pub fn new(form: Columnar, sink: W) -> Self {
        Self {
            form,
            sink: Some(sink),
            state: State::NotStarted,
        }
    }

    /// Writes one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        if let State::NotStarted = self.state {
            let sink = self
                .sink
                .take()
                .ok_or_else(|| ArrowError::Library("the writer is closed".into()))?;
            let schema = batch.schema();
            self.state = match self.form {
                Columnar::Csv => {
                    let mut sink = sink;
                    let names: Vec<String> =
                        schema.fields().iter().map(|f| csv_text(f.name())).collect();
                    writeln!(sink, "{}", names.join(",")).map_err(io)?;
                    State::Csv(sink)
                }
                Columnar::Parquet => State::Parquet(ArrowWriter::try_new(sink, schema, None)?),
                Columnar::Arrow => State::Arrow(FileWriter::try_new(sink, &schema)?),
            };
        }
        match &mut self.state {
            State::Csv(sink) => write_csv(sink, batch),
            State::Parquet(w) => Ok(w.write(batch)?),
            State::Arrow(w) => Ok(w.write(batch)?),
            State::NotStarted | State::Done => {
                Err(ArrowError::Library("the writer is closed".into()))
            }
        }
    }

    /// Finishes the file (Parquet footer, IPC footer) and flushes.
    pub fn finish(mut self) -> Result<(), ArrowError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::NotStarted => {
                // No rows: an empty file of the form (CSV: nothing at all).
                if let Some(mut sink) = self.sink.take() {
                    sink.flush().map_err(io)?;
                }
                Ok(())
            }
            State::Csv(mut sink) => sink.flush().map_err(io),
            State::Parquet(w) => w.close().map(drop).map_err(ArrowError::from),
            State::Arrow(mut w) => {
                w.finish()?;
                w.into_inner()?.flush().map_err(io)
            }
            State::Done => Ok(()),
        }
    }
}

fn io(e: std::io::Error) -> ArrowError {
    ArrowError::Library(format!("cannot write the output: {e}"))
}

/// One batch as CSV lines: floats in their shortest round-trip form, NaN as an empty cell.
fn write_csv<W: Write>(sink: &mut W, batch: &RecordBatch) -> Result<(), ArrowError> {
    let mut line = String::new();
    for row in 0..batch.num_rows() {
        line.clear();
        for (j, column) in batch.columns().iter().enumerate() {
            if j > 0 {
                line.push(',');
            }
            line.push_str(&cell(column.as_ref(), row));
        }
        line.push('\n');
        sink.write_all(line.as_bytes()).map_err(io)?;
    }
    Ok(())
}

fn cell(column: &dyn Array, row: usize) -> String {
    if column.is_null(row) {
        return String::new();
    }
    let float = |v: f64| {
        if v.is_nan() {
            String::new()
        } else {
            format!("{v}")
        }
    };
    match column.data_type() {
        ArrowType::Float64 => float(column.as_primitive::<Float64Type>().value(row)),
        ArrowType::Float32 => {
            let v = column.as_primitive::<Float32Type>().value(row);
            if v.is_nan() {
                String::new()
            } else {
                format!("{v}")
            }
        }
        ArrowType::Int64 => column.as_primitive::<Int64Type>().value(row).to_string(),
        ArrowType::Int32 => column.as_primitive::<Int32Type>().value(row).to_string(),
        ArrowType::Boolean => if column.as_boolean().value(row) {
            "True"
        } else {
            "False"
        }
        .to_owned(),
        ArrowType::Utf8 => csv_text(column.as_string::<i32>().value(row)),
        _ => String::new(),
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_text(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
