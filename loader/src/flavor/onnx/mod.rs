//! The ONNX flavor: `flavors.onnx.data` names a `.onnx` file (plus, from mlflow 3, an
//! external-data side file beside it), loaded with tract-onnx extended with ironflow's
//! `ai.onnx.ml` operators, given a symbolic batch dimension, optimised once, and shared as one
//! runnable plan by every request.

mod dense;
#[cfg(test)]
mod dense_tests;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use tract_onnx::data_resolver::FopenDataResolver;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::{GenericFactoid, InferenceFact};
use tract_onnx::tract_hir::internal::{bail, format_err, Factoid};

use crate::binder::onnx::{Binder, ModelInput};
use crate::datatype::DataType;
use crate::error::{LoadError, PredictError};
use crate::mlmodel::{MlModel, Schema, Signature, TypedSpec};
use crate::model::{LoadedModel, NamedTensor, Predictor, TensorInfo};
use dense::{DenseChain, Isa};
use tract_onnx::tensor::load_tensor;

/// The `onnx` flavor block of `MLmodel`.
#[derive(Debug, Clone, Deserialize)]
pub struct OnnxFlavor {
    /// The ONNX file, relative to the model directory.
    pub data: String,
    /// The onnx package version that saved it.
    #[serde(default)]
    pub onnx_version: Option<serde_yaml_ng::Value>,
    /// Everything else (providers, session options, ...), which ironflow does not need.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml_ng::Value>,
}

/// The name tract gives the symbolic batch dimension.
const BATCH: &str = "N";

/// Loads the ONNX model of an MLflow model directory.
pub fn load(
    dir: &Path,
    flavor: &OnnxFlavor,
    mlmodel: MlModel,
    signature: Option<Signature>,
) -> Result<LoadedModel, LoadError> {
    load_engine(dir, flavor, mlmodel, signature, true).map(|(model, _)| model)
}

/// [`load`], running a dense chain natively when `native` and the graph is one; the flag says
/// whether it does.
fn load_engine(
    dir: &Path,
    flavor: &OnnxFlavor,
    mlmodel: MlModel,
    signature: Option<Signature>,
    native: bool,
) -> Result<(LoadedModel, bool), LoadError> {
    let path = crate::contain::inside(dir, Path::new(&flavor.data))?;
    let onnx_error = |message: String| LoadError::Onnx {
        path: path.clone(),
        message,
    };
    let bytes = crate::flavor::read_data(&path)?;
    let mut onnx = tract_onnx::onnx();
    onnx.provider = Arc::new(FopenDataResolver);
    crate::onnx_ml::register(&mut onnx.op_register);
    let proto = onnx
        .proto_model_for_read(&mut bytes.as_slice())
        .map_err(|e| onnx_error(format!("not a valid ONNX protobuf: {e}")))?;
    let model_dir = path.parent().and_then(Path::to_str);
    let parsed = onnx
        .parse(&proto, model_dir)
        .map_err(|e| onnx_error(format!("{e:#}")))?;
    if !parsed.unresolved_inputs.is_empty() {
        return Err(onnx_error(format!(
            "graph uses undefined values {:?}",
            parsed.unresolved_inputs
        )));
    }
    let mut model = parsed.model;
    let sig_inputs = signature.as_ref().and_then(|s| s.inputs.as_ref());
    set_batch_dimension(&mut model, sig_inputs).map_err(|e| onnx_error(format!("{e:#}")))?;
    let typed = model
        .into_optimized()
        .map_err(|e| onnx_error(format!("{e:#}")))?;

    let inputs = describe(
        &typed,
        typed
            .input_outlets()
            .map_err(|e| onnx_error(e.to_string()))?,
    )
    .map_err(|e| onnx_error(format!("{e:#}")))?;
    let outputs = describe(
        &typed,
        typed
            .output_outlets()
            .map_err(|e| onnx_error(e.to_string()))?,
    )
    .map_err(|e| onnx_error(format!("{e:#}")))?;
    let plan = typed
        .into_runnable()
        .map_err(|e| onnx_error(format!("{e:#}")))?;

    let binder = Binder::new(
        inputs.iter().map(ModelInput::from_info).collect(),
        sig_inputs,
    );
    let matched = if native {
        dense_chain(&proto, model_dir, &inputs, &outputs)
    } else {
        Err("native evaluation is off".into())
    };
    let engine = match matched {
        Ok(chain) => {
            tracing::debug!(path = %path.display(), "ONNX graph runs as a native dense chain");
            Engine::Dense(chain, Isa::detect(), inputs[0].name.clone())
        }
        Err(why) => {
            tracing::debug!(path = %path.display(), %why, "ONNX graph runs on tract");
            Engine::Tract(plan)
        }
    };
    let predictor = OnnxPredictor {
        engine,
        binder,
        output_names: outputs.iter().map(|o| o.name.clone()).collect(),
    };
    let native = matches!(predictor.engine, Engine::Dense(..));
    let model = LoadedModel::new(
        mlmodel,
        signature,
        "onnx",
        inputs,
        outputs,
        Box::new(predictor),
    );
    Ok((model, native))
}

/// How a graph runs: on tract (any graph), or natively when it is a dense chain (an MLP).
enum Engine {
    Tract(Arc<TypedRunnableModel>),
    Dense(DenseChain, Isa, String),
}

/// The compiled graph plus what is needed to map request tensors onto its inputs.
struct OnnxPredictor {
    engine: Engine,
    binder: Binder,
    output_names: Vec<String>,
}

impl Predictor for OnnxPredictor {
    fn plan(&self) -> crate::plan::Plan {
        match &self.engine {
            Engine::Tract(plan) => crate::plan::Plan::single(
                format!("ONNX graph ({} nodes)", plan.model().nodes().len()),
                "tract",
            ),
            Engine::Dense(_, isa, _) => {
                crate::plan::Plan::single("ONNX dense chain", format!("dense ({isa:?})"))
            }
        }
    }

    fn predict(&self, inputs: Vec<NamedTensor>) -> Result<Vec<NamedTensor>, PredictError> {
        let bound = self.binder.bind(inputs)?;
        let outputs = match &self.engine {
            Engine::Tract(plan) => plan
                .run(bound.into_iter().map(TValue::from).collect())
                .map_err(|e| PredictError::Runtime(format!("{e:#}")))?
                .into_iter()
                .map(|v| v.into_tensor())
                .collect(),
            Engine::Dense(chain, isa, name) => run_dense(chain, *isa, name, &bound)?,
        };
        self.output_names
            .iter()
            .zip(outputs)
            .map(|(name, value)| Ok(NamedTensor::new(name.clone(), as_wire_type(value)?)))
            .collect()
    }
}

/// Matches the graph against the dense-chain evaluator, and checks that what it would return
/// is what tract describes (the same outputs, in the same order, all `FP32 [N, w]`).
fn dense_chain(
    proto: &tract_onnx::pb::ModelProto,
    model_dir: Option<&str>,
    inputs: &[TensorInfo],
    outputs: &[TensorInfo],
) -> Result<DenseChain, String> {
    let graph = proto.graph.as_ref().ok_or("no graph")?;
    let opset = proto
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(1, |o| o.version);
    let load = |t: &tract_onnx::pb::TensorProto| load_tensor(&FopenDataResolver, t, model_dir);
    let chain = dense::matcher::match_graph(graph, opset, &load).map_err(|r| r.0)?;
    let [input] = inputs else {
        return Err("not one input".into());
    };
    let k = chain.input_width();
    let input_fits = input.datatype == DataType::Fp32
        && matches!(input.shape.as_slice(), [_, w] if *w < 0 || *w as usize == k);
    if !input_fits {
        return Err(format!("input {:?} is not FP32 [N, {k}]", input.name));
    }
    let names: Vec<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    let described: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
    if names != described {
        return Err(format!(
            "outputs {described:?} are not the graph's {names:?}"
        ));
    }
    for (info, &w) in outputs.iter().zip(chain.output_widths()) {
        let fits = info.datatype == DataType::Fp32
            && matches!(info.shape.as_slice(), [_, d] if *d < 0 || *d as usize == w);
        if !fits {
            return Err(format!("output {:?} is not FP32 [N, {w}]", info.name));
        }
    }
    Ok(chain)
}

/// Runs a dense chain on the bound `[N, k]` input.
fn run_dense(
    chain: &DenseChain,
    isa: Isa,
    name: &str,
    bound: &[Tensor],
) -> Result<Vec<Tensor>, PredictError> {
    let [x] = bound else {
        return Err(PredictError::Runtime("expected one input".into()));
    };
    let k = chain.input_width();
    let rows = match x.shape() {
        [rows, w] if *w == k => *rows,
        shape => {
            return Err(PredictError::Shape {
                name: name.to_owned(),
                got: shape.to_vec(),
                expected: vec![-1, k as i64],
            })
        }
    };
    let data = x
        .try_as_plain_ram()
        .and_then(|p| p.as_slice::<f32>())
        .map_err(|e| PredictError::Runtime(format!("{e:#}")))?;
    chain
        .run(data, rows, isa)
        .into_iter()
        .zip(chain.output_widths())
        .map(|(values, &w)| {
            tract_ndarray::Array2::from_shape_vec((rows, w), values)
                .map(Tensor::from)
                .map_err(|e| PredictError::Runtime(e.to_string()))
        })
        .collect()
}

/// tract types integers that flow through `Cast(to=INT64)` as shape integers (`TDim`); the wire
/// and the model's declared output type are INT64.
fn as_wire_type(tensor: Tensor) -> Result<Tensor, PredictError> {
    if tensor.datum_type() != DatumType::TDim {
        return Ok(tensor);
    }
    tensor
        .cast_to::<i64>()
        .map(|t| t.into_owned())
        .map_err(|e| PredictError::Runtime(format!("{e:#}")))
}

/// The element type an outlet's values travel as.
fn wire_datum_type(dt: DatumType) -> DatumType {
    if dt == DatumType::TDim {
        DatumType::I64
    } else {
        dt
    }
}

/// Gives every input a symbolic batch dimension where the file leaves it dynamic (a `dim_param`,
/// `-1`, or nothing at all, as skl2onnx writes), and fills other unknown dimensions and datum
/// types from the MLflow signature's tensor specs when it has them.
fn set_batch_dimension(model: &mut InferenceModel, signature: Option<&Schema>) -> TractResult<()> {
    let batch = model.symbols.sym(BATCH);
    let n_inputs = model.inputs.len();
    for ix in 0..n_inputs {
        let name = model.node(model.inputs[ix].node).name.clone();
        let spec = signature_tensor(signature, &name, ix, n_inputs);
        let fact = model.input_fact(ix)?.clone();
        let file_dims: Option<Vec<Option<TDim>>> = if fact.shape.is_open() {
            None
        } else {
            Some(
                fact.shape
                    .dims()
                    .map(|d| match d {
                        GenericFactoid::Only(d) => Some(d.clone()),
                        GenericFactoid::Any => None,
                    })
                    .collect(),
            )
        };
        let dims: Vec<Option<TDim>> = match (file_dims, spec) {
            (Some(dims), _) => dims,
            (None, Some(spec)) => spec
                .shape
                .iter()
                .map(|&d| (d >= 0).then(|| TDim::from(d)))
                .collect(),
            (None, None) => {
                bail!("input {name:?} has no shape in the file and none in the signature")
            }
        };
        let mut resolved: TVec<TDim> = tvec![];
        for (axis, dim) in dims.into_iter().enumerate() {
            let spec_dim = spec
                .and_then(|s| s.shape.get(axis).copied())
                .filter(|&d| d >= 0);
            let dim = match dim {
                Some(d) if d.to_i64().is_ok() => d,
                _ if axis == 0 => TDim::Sym(batch.clone()),
                _ => match spec_dim {
                    Some(d) => TDim::from(d),
                    None => bail!("input {name:?} has an unknown size on axis {axis}"),
                },
            };
            resolved.push(dim);
        }
        let datum_type = match fact.datum_type.concretize() {
            Some(dt) => dt,
            None => match spec {
                Some(spec) => spec.datatype().datum_type(),
                None => bail!("input {name:?} has no element type"),
            },
        };
        let fact = InferenceFact::dt_shape(datum_type, resolved);
        model.set_input_fact(ix, fact)?;
    }
    Ok(())
}

/// The signature's tensor spec for ONNX input `ix` named `name`: by name, or by position when
/// both the graph and the signature have a single input.
fn signature_tensor<'a>(
    signature: Option<&'a Schema>,
    name: &str,
    ix: usize,
    n_inputs: usize,
) -> Option<&'a crate::mlmodel::TensorSpec> {
    let specs = &signature?.specs;
    let tensors: Vec<&crate::mlmodel::TensorSpec> = specs
        .iter()
        .filter_map(|s| match s {
            TypedSpec::Tensor(t) => Some(t),
            TypedSpec::Column(_) => None,
        })
        .collect();
    tensors
        .iter()
        .find(|t| t.name.as_deref() == Some(name))
        .copied()
        .or_else(|| (n_inputs == 1 && tensors.len() == 1 && ix == 0).then(|| tensors[0]))
}

/// Names, datatypes and shapes of a typed model's inputs or outputs.
fn describe(model: &TypedModel, outlets: &[OutletId]) -> TractResult<Vec<TensorInfo>> {
    outlets
        .iter()
        .map(|&outlet| {
            let fact = model.outlet_fact(outlet)?;
            let name = model
                .outlet_label(outlet)
                .map(str::to_owned)
                .unwrap_or_else(|| model.node(outlet.node).name.clone());
            let datatype =
                DataType::from_datum_type(wire_datum_type(fact.datum_type)).ok_or_else(|| {
                    format_err!(
                        "{name:?} has element type {:?}, which the v2 protocol cannot carry",
                        fact.datum_type
                    )
                })?;
            let shape = fact
                .shape
                .iter()
                .map(|d| d.to_i64().unwrap_or(-1))
                .collect();
            Ok(TensorInfo {
                name,
                datatype,
                shape,
            })
        })
        .collect()
}
