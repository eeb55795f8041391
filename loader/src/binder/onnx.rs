//! Maps a request's named tensors onto the ONNX graph's inputs.
//!
//! Inputs bind by name. When the graph has a single input and the request sends one input per
//! column (MLServer's pandas style), the columns are stacked into `[N, k]`, in the order of the
//! signature's columns when it has named columns, else in request order. Datatypes convert only
//! where no information is lost, plus FP64 -> FP32 as mlflow's ONNX wrapper casts.

use tract_onnx::prelude::*;

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::mlmodel::{Schema, TypedSpec};
use crate::model::{NamedTensor, TensorInfo};

/// One graph input: its name, element type and shape (`None`: any size).
#[derive(Debug, Clone)]
pub struct ModelInput {
    name: String,
    datatype: DataType,
    shape: Vec<Option<usize>>,
}

impl ModelInput {
    /// Builds the binding view of an input description.
    pub fn from_info(info: &TensorInfo) -> Self {
        Self {
            name: info.name.clone(),
            datatype: info.datatype,
            shape: info
                .shape
                .iter()
                .map(|&d| usize::try_from(d).ok())
                .collect(),
        }
    }

    fn shape_for_error(&self) -> Vec<i64> {
        self.shape
            .iter()
            .map(|d| d.map_or(-1, |d| d as i64))
            .collect()
    }
}

/// Binds request tensors to graph inputs.
#[derive(Debug, Clone)]
pub struct Binder {
    inputs: Vec<ModelInput>,
    /// Other names each graph input answers to (a signature's `input-0` for an unnamed tensor).
    aliases: Vec<Vec<String>>,
    /// The signature's named columns, in order, with whether each is required.
    columns: Option<Vec<(String, bool)>>,
    /// Per graph input, the datatype its tensor spec declares: MLflow's `_enforce_tensor_spec`
    /// takes only that exact dtype (docs/compat.md §4.4), before the ONNX wrapper casts anything.
    exact: Vec<Option<DataType>>,
}

impl Binder {
    /// Prepares binding for a graph's inputs and the model signature's input schema.
    pub fn new(inputs: Vec<ModelInput>, signature: Option<&Schema>) -> Self {
        let mut aliases = vec![Vec::new(); inputs.len()];
        let mut columns = None;
        let mut exact = vec![None; inputs.len()];
        if let Some(schema) = signature {
            if schema.is_tensor_based() {
                if inputs.len() == 1 && schema.specs.len() == 1 {
                    aliases[0] = schema.names("input");
                    exact[0] = tensor_dtype(&schema.specs[0]);
                } else {
                    for spec in &schema.specs {
                        let at = inputs
                            .iter()
                            .position(|i| Some(i.name.as_str()) == spec.name());
                        if let Some(slot) = at.and_then(|i| exact.get_mut(i)) {
                            *slot = tensor_dtype(spec);
                        }
                    }
                }
            } else if schema.has_names() {
                columns = Some(
                    schema
                        .specs
                        .iter()
                        .filter_map(|s| match s {
                            TypedSpec::Column(c) => c.name.clone().map(|n| (n, c.required)),
                            TypedSpec::Tensor(_) => None,
                        })
                        .collect(),
                );
            }
        }
        Self {
            inputs,
            aliases,
            columns,
            exact,
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.inputs.iter().position(|i| i.name == name).or_else(|| {
            self.aliases
                .iter()
                .position(|a| a.iter().any(|n| n == name))
        })
    }

    /// Produces the graph's input tensors, in graph order.
    pub fn bind(&self, request: Vec<NamedTensor>) -> Result<Vec<Tensor>, PredictError> {
        request.iter().try_for_each(super::enforce::no_nulls)?;
        let by_name = request.iter().all(|t| self.position(&t.name).is_some());
        if self.inputs.len() == 1 && (!by_name || request.len() > 1) {
            // A lone tensor under an unknown name that is no column (`[n]` or `[n, 1]`) cannot
            // be a column to stack: name it, rather than answer about shapes.
            if let [only] = request.as_slice() {
                if self.position(&only.name).is_none()
                    && !matches!(only.tensor.shape(), [_] | [_, 1])
                {
                    return Err(self.unknown(&only.name));
                }
            }
            return self.bind_columns(request).map(|t| vec![t]);
        }
        let mut slots: Vec<Option<Tensor>> = vec![None; self.inputs.len()];
        for named in request {
            let ix = self
                .position(&named.name)
                .ok_or_else(|| self.unknown(&named.name))?;
            if slots[ix].is_some() {
                return Err(PredictError::DuplicateInput { name: named.name });
            }
            if let Some(expected) = self.exact[ix] {
                let got = DataType::from_datum_type(named.tensor.datum_type());
                if got != Some(expected) {
                    return Err(PredictError::Datatype {
                        name: named.name,
                        got: got.unwrap_or(DataType::Bytes),
                        expected,
                    });
                }
            }
            slots[ix] = Some(conform(&self.inputs[ix], &named.name, named.tensor)?);
        }
        let mut bound = Vec::with_capacity(slots.len());
        let mut rows: Option<(usize, &str)> = None;
        for (slot, input) in slots.into_iter().zip(&self.inputs) {
            let tensor = slot.ok_or_else(|| PredictError::MissingInput {
                name: input.name.clone(),
            })?;
            check_rows(&mut rows, &input.name, &tensor)?;
            bound.push(tensor);
        }
        Ok(bound)
    }

    /// Stacks one-column inputs into the single graph input's `[N, k]` matrix.
    fn bind_columns(&self, mut request: Vec<NamedTensor>) -> Result<Tensor, PredictError> {
        let input = &self.inputs[0];
        let ordered: Vec<NamedTensor> = match &self.columns {
            Some(columns) => {
                let mut ordered = Vec::with_capacity(columns.len());
                for (name, required) in columns {
                    match request.iter().position(|t| &t.name == name) {
                        Some(pos) => ordered.push(request.swap_remove(pos)),
                        None if *required => {
                            return Err(PredictError::MissingInput { name: name.clone() })
                        }
                        None => {}
                    }
                }
                // Columns the signature does not list are dropped, as MLflow's schema enforcement does.
                ordered
            }
            None => request,
        };
        if input.shape.len() != 2 {
            let name = ordered.first().map(|t| t.name.clone()).unwrap_or_default();
            return Err(self.unknown(&name));
        }
        if let Some(k) = input.shape[1] {
            if ordered.len() != k {
                return Err(PredictError::Shape {
                    name: input.name.clone(),
                    got: vec![
                        ordered.first().map_or(0, |t| t.tensor.shape()[0]),
                        ordered.len(),
                    ],
                    expected: input.shape_for_error(),
                });
            }
        }
        let mut columns = Vec::with_capacity(ordered.len());
        let mut rows: Option<(usize, &str)> = None;
        for named in &ordered {
            let shape = named.tensor.shape();
            let n = match shape {
                [n] | [n, 1] => *n,
                _ => {
                    return Err(PredictError::Shape {
                        name: named.name.clone(),
                        got: shape.to_vec(),
                        expected: vec![-1, 1],
                    })
                }
            };
            check_rows(&mut rows, &named.name, &named.tensor)?;
            let column = convert(&named.name, named.tensor.clone(), input.datatype)?
                .into_shape(&[n, 1])
                .map_err(|e| PredictError::Runtime(e.to_string()))?;
            columns.push(column);
        }
        if columns.is_empty() {
            return Err(PredictError::MissingInput {
                name: input.name.clone(),
            });
        }
        Tensor::stack_tensors(1, &columns).map_err(|e| PredictError::Runtime(e.to_string()))
    }

    fn unknown(&self, name: &str) -> PredictError {
        PredictError::UnknownInput {
            name: name.to_owned(),
            expected: match &self.columns {
                Some(columns) => columns.iter().map(|(n, _)| n.clone()).collect(),
                None => self.inputs.iter().map(|i| i.name.clone()).collect(),
            },
        }
    }
}

/// The datatype a tensor spec declares (none for dtypes the protocol lacks, or a column).
fn tensor_dtype(spec: &TypedSpec) -> Option<DataType> {
    match spec {
        TypedSpec::Tensor(t) => DataType::from_numpy(&t.dtype),
        TypedSpec::Column(_) => None,
    }
}

/// Checks a tensor against a graph input and converts its datatype.
fn conform(input: &ModelInput, name: &str, tensor: Tensor) -> Result<Tensor, PredictError> {
    let shape = tensor.shape();
    let fits = shape.len() == input.shape.len()
        && shape
            .iter()
            .zip(&input.shape)
            .all(|(&got, want)| want.is_none_or(|w| w == got));
    if !fits {
        return Err(PredictError::Shape {
            name: name.to_owned(),
            got: shape.to_vec(),
            expected: input.shape_for_error(),
        });
    }
    convert(name, tensor, input.datatype)
}

fn check_rows<'a>(
    first: &mut Option<(usize, &'a str)>,
    name: &'a str,
    tensor: &Tensor,
) -> Result<(), PredictError> {
    let rows = tensor.shape().first().copied().unwrap_or(1);
    match *first {
        None => *first = Some((rows, name)),
        Some((expected, first_name)) if expected != rows => {
            return Err(PredictError::RowCount {
                name: name.to_owned(),
                got: rows,
                first: first_name.to_owned(),
                expected,
            })
        }
        Some(_) => {}
    }
    Ok(())
}

/// Converts a tensor to the datatype a graph input takes, when that loses nothing (or is
/// FP64 -> FP32, which mlflow's ONNX wrapper does for `tensor(float)` inputs).
fn convert(name: &str, tensor: Tensor, to: DataType) -> Result<Tensor, PredictError> {
    let from = DataType::from_datum_type(tensor.datum_type()).ok_or_else(|| {
        PredictError::Runtime(format!("input {name:?} has an unsupported element type"))
    })?;
    if from == to {
        return Ok(tensor);
    }
    if !converts_losslessly(from, to) {
        return Err(PredictError::Datatype {
            name: name.to_owned(),
            got: from,
            expected: to,
        });
    }
    tensor
        .cast_to_dt(to.datum_type())
        .map(|t| t.into_owned())
        .map_err(|e| PredictError::Runtime(e.to_string()))
}

/// Whether `from` data may feed a `to` input.
pub fn converts_losslessly(from: DataType, to: DataType) -> bool {
    use DataType::*;
    matches!(
        (from, to),
        (Fp64, Fp32)
            | (Fp16, Fp32 | Fp64)
            | (Fp32, Fp64)
            | (Int8, Int16 | Int32 | Int64)
            | (Int16, Int32 | Int64)
            | (Int32, Int64)
            | (Uint8, Uint16 | Uint32 | Uint64 | Int16 | Int32 | Int64)
            | (Uint16, Uint32 | Uint64 | Int32 | Int64)
            | (Uint32, Uint64 | Int64)
            | (Int8 | Int16 | Uint8 | Uint16, Fp32 | Fp64)
            | (Int32 | Uint32, Fp64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, dt: DataType, shape: &[i64]) -> ModelInput {
        ModelInput::from_info(&TensorInfo {
            name: name.into(),
            datatype: dt,
            shape: shape.to_vec(),
        })
    }

    #[test]
    fn binds_by_name_and_casts_fp64() {
        let b = Binder::new(vec![input("x", DataType::Fp32, &[-1, 2])], None);
        let t = tract_ndarray::arr2(&[[1.0f64, 2.0]]).into_tensor();
        let out = b.bind(vec![NamedTensor::new("x", t)]).unwrap();
        assert_eq!(out[0].datum_type(), f32::datum_type());
    }

    #[test]
    fn stacks_columns_in_order() {
        let b = Binder::new(vec![input("x", DataType::Fp32, &[-1, 2])], None);
        let a = tensor1(&[1.0f32, 2.0]);
        let c = tensor1(&[3.0f32, 4.0]);
        let out = b
            .bind(vec![NamedTensor::new("a", a), NamedTensor::new("c", c)])
            .unwrap();
        assert_eq!(out[0], tensor2(&[[1.0f32, 3.0], [2.0, 4.0]]));
    }

    #[test]
    fn rejects_wrong_shape_type_and_name() {
        let b = Binder::new(
            vec![
                input("x", DataType::Fp32, &[-1, 2]),
                input("y", DataType::Int64, &[-1]),
            ],
            None,
        );
        let x = tensor2(&[[1.0f32, 2.0]]);
        let bad_shape = b.bind(vec![NamedTensor::new("x", tensor2(&[[1.0f32, 2.0, 3.0]]))]);
        assert!(matches!(bad_shape, Err(PredictError::Shape { .. })));
        let bad_type = b.bind(vec![
            NamedTensor::new("x", x.clone()),
            NamedTensor::new("y", tensor1(&[1.5f32])),
        ]);
        assert!(matches!(bad_type, Err(PredictError::Datatype { .. })));
        let unknown = b.bind(vec![NamedTensor::new("z", x.clone())]);
        assert!(matches!(unknown, Err(PredictError::UnknownInput { .. })));
        let missing = b.bind(vec![NamedTensor::new("x", x)]);
        assert_eq!(
            missing,
            Err(PredictError::MissingInput { name: "y".into() })
        );
    }

    /// A single-input graph given one tensor under an unknown name names the input (issue 16),
    /// while one column under any name still stacks.
    #[test]
    fn single_input_names_an_unknown_input() {
        let b = Binder::new(vec![input("x", DataType::Fp32, &[-1, 4])], None);
        let unknown = b.bind(vec![NamedTensor::new(
            "nope",
            tensor2(&[[1.0f32, 2.0, 3.0, 4.0]]),
        )]);
        assert_eq!(
            unknown,
            Err(PredictError::UnknownInput {
                name: "nope".into(),
                expected: vec!["x".into()],
            })
        );
        let message = unknown.unwrap_err().to_string();
        assert!(message.contains("unknown input \"nope\""), "{message}");
        let one = Binder::new(vec![input("x", DataType::Fp32, &[-1, 1])], None);
        assert!(one
            .bind(vec![NamedTensor::new("col", tensor1(&[1.0f32]))])
            .is_ok());
    }
}
