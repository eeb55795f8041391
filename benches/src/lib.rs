//! Helpers shared by ironflow's benches: locating fixture models and building request tensors.
//!
//! The corpus benches feed models the tensors a KServe v2 request decodes into: one input per
//! `request.json` input (one per column for column signatures), its datatype kept, `BYTES` as
//! strings, and its rows tiled to the batch size being measured.

use std::path::{Path, PathBuf};

use ironflow_loader::tensor::{
    ndarray::{Array2, ArrayD, IxDyn},
    Datum, Tensor,
};
use ironflow_loader::NamedTensor;
use serde_json::Value;

/// The repository's model corpus (`examples/corpus`, written by `examples/corpus/generate.py`:
/// the shared corpus's case names, estimators and parameters).
pub const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/corpus");

/// The repository's example model `case` (`examples/models/<case>/model`).
pub fn example_model(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/models")
        .join(case)
        .join("model")
}

/// The corpus case directory `case` (holding `model/`, `request.json`, `case.json`).
pub fn corpus_case(case: &str) -> PathBuf {
    Path::new(CORPUS).join(case)
}

/// A bench case directory: the corpus case `case`, else the repository's `examples/bench/<case>`
/// (bench-only models made by `examples/bench/generate.py`).
pub fn bench_case(case: &str) -> PathBuf {
    let corpus = corpus_case(case);
    if corpus.is_dir() {
        return corpus;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/bench")
        .join(case)
}

/// An `[rows, features]` FP32 input named `name`, filled with a deterministic ramp that cycles
/// through the values `sample` holds (real feature values, so trees take realistic paths).
pub fn f32_batch(name: &str, sample: &[f32], features: usize, rows: usize) -> NamedTensor {
    let data = Array2::from_shape_fn((rows, features), |(r, c)| {
        sample[(r * features + c) % sample.len().max(1)]
    });
    NamedTensor::new(name, Tensor::from(data))
}

/// Why a `request.json` cannot be turned into bench inputs.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// An input lacks a field or holds a value its datatype does not allow.
    #[error("input {input:?}: {message}")]
    Input {
        /// The input name (or its index when unnamed).
        input: String,
        /// What is wrong.
        message: String,
    },
}

/// One input's flat, row-major elements in their v2 datatype.
#[derive(Debug, Clone)]
pub enum Elements {
    /// `FP64`.
    F64(Vec<f64>),
    /// `FP32`.
    F32(Vec<f32>),
    /// `INT64`.
    I64(Vec<i64>),
    /// `INT32`.
    I32(Vec<i32>),
    /// `BOOL`.
    Bool(Vec<bool>),
    /// `BYTES`, as UTF-8 strings.
    Bytes(Vec<String>),
}

/// One decoded request input: its name, the shape of one row and its elements.
#[derive(Debug, Clone)]
pub struct RequestInput {
    /// The input name.
    pub name: String,
    /// The shape after the batch dimension (`[1]` for a `[N, 1]` column).
    pub row_shape: Vec<usize>,
    /// The elements of every row, row-major.
    pub elements: Elements,
}

/// A decoded v2 request: its inputs and its row count (the first dimension).
#[derive(Debug, Clone)]
pub struct Request {
    /// The inputs, in request order.
    pub inputs: Vec<RequestInput>,
    /// The request's rows.
    pub rows: usize,
}

/// Reads a v2 `request.json` (flat `data`; FP64, FP32, INT64, INT32, BOOL and BYTES inputs).
pub fn read_request(path: &Path) -> Result<Request, RequestError> {
    let text = std::fs::read_to_string(path).map_err(|source| RequestError::Read {
        path: path.to_owned(),
        source,
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|source| RequestError::Json {
        path: path.to_owned(),
        source,
    })?;
    let inputs = json["inputs"]
        .as_array()
        .ok_or_else(|| RequestError::Input {
            input: String::new(),
            message: "no \"inputs\" array".into(),
        })?
        .iter()
        .enumerate()
        .map(|(i, input)| decode_input(i, input))
        .collect::<Result<Vec<_>, _>>()?;
    let rows = inputs
        .first()
        .map(|input| input.elements.len() / input.row_len().max(1))
        .unwrap_or(0);
    Ok(Request { inputs, rows })
}

impl Request {
    /// The request's inputs with their rows repeated (cycling) to `rows` rows, as tensors of
    /// shape `[rows, row_shape...]`.
    pub fn tile(&self, rows: usize) -> Vec<NamedTensor> {
        self.inputs.iter().map(|input| input.tile(rows)).collect()
    }
}

impl RequestInput {
    fn row_len(&self) -> usize {
        self.row_shape.iter().product()
    }

    /// This input with its rows repeated (cycling) to `rows` rows.
    pub fn tile(&self, rows: usize) -> NamedTensor {
        let mut shape = vec![rows];
        shape.extend_from_slice(&self.row_shape);
        let n = rows * self.row_len();
        let tensor = match &self.elements {
            Elements::F64(v) => tiled(v, &shape, n),
            Elements::F32(v) => tiled(v, &shape, n),
            Elements::I64(v) => tiled(v, &shape, n),
            Elements::I32(v) => tiled(v, &shape, n),
            Elements::Bool(v) => tiled(v, &shape, n),
            Elements::Bytes(v) => tiled(v, &shape, n),
        };
        NamedTensor::new(self.name.clone(), tensor)
    }
}

impl Elements {
    fn len(&self) -> usize {
        match self {
            Self::F64(v) => v.len(),
            Self::F32(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::I32(v) => v.len(),
            Self::Bool(v) => v.len(),
            Self::Bytes(v) => v.len(),
        }
    }
}

fn tiled<T: Datum + Clone>(source: &[T], shape: &[usize], n: usize) -> Tensor {
    let data: Vec<T> = source.iter().cycle().take(n).cloned().collect();
    let array = ArrayD::from_shape_vec(IxDyn(shape), data)
        .expect("`n` is the shape's product by construction");
    Tensor::from(array)
}

fn decode_input(index: usize, input: &Value) -> Result<RequestInput, RequestError> {
    let name = input["name"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| index.to_string());
    let fail = |message: String| RequestError::Input {
        input: name.clone(),
        message,
    };
    let shape: Vec<usize> = input["shape"]
        .as_array()
        .ok_or_else(|| fail("no shape".into()))?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| fail("shape is not a list of sizes".into()))?;
    let data = input["data"]
        .as_array()
        .ok_or_else(|| fail("data is not a flat list".into()))?;
    let datatype = input["datatype"].as_str().unwrap_or_default();
    let elements = match datatype {
        // `null` is a missing value (NaN), as the v2 JSON codecs read it.
        "FP64" => Elements::F64(collect(data, float).ok_or_else(|| fail(bad(datatype)))?),
        "FP32" => Elements::F32(
            collect(data, |v| float(v).map(|x| x as f32)).ok_or_else(|| fail(bad(datatype)))?,
        ),
        "INT64" => Elements::I64(collect(data, Value::as_i64).ok_or_else(|| fail(bad(datatype)))?),
        "INT32" => Elements::I32(
            collect(data, |v| v.as_i64().and_then(|x| i32::try_from(x).ok()))
                .ok_or_else(|| fail(bad(datatype)))?,
        ),
        "BOOL" => Elements::Bool(collect(data, Value::as_bool).ok_or_else(|| fail(bad(datatype)))?),
        "BYTES" => Elements::Bytes(
            collect(data, |v| v.as_str().map(str::to_owned)).ok_or_else(|| fail(bad(datatype)))?,
        ),
        other => return Err(fail(format!("datatype {other:?} is not supported here"))),
    };
    let row_shape = shape.get(1..).unwrap_or_default().to_vec();
    if elements.len() != shape.iter().product::<usize>() {
        return Err(fail(format!(
            "shape {shape:?} does not match {} elements",
            elements.len()
        )));
    }
    Ok(RequestInput {
        name,
        row_shape,
        elements,
    })
}

fn float(value: &Value) -> Option<f64> {
    if value.is_null() {
        Some(f64::NAN)
    } else {
        value.as_f64()
    }
}

fn collect<T>(data: &[Value], element: impl Fn(&Value) -> Option<T>) -> Option<Vec<T>> {
    data.iter().map(element).collect()
}

fn bad(datatype: &str) -> String {
    format!("data holds a value that is not {datatype}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_columns_and_keeps_datatypes() {
        let request =
            read_request(&corpus_case("sk-columntransformer-rf-mixed-new").join("request.json"))
                .expect("request");
        assert_eq!(request.rows, 12);
        let inputs = request.tile(30);
        assert_eq!(inputs[0].tensor.shape(), &[30, 1]);
        assert_eq!(inputs[0].tensor.datum_type(), String::datum_type());
        assert_eq!(inputs[1].tensor.datum_type(), i64::datum_type());
    }
}
