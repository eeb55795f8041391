//! The sklearn flavor (docs/formats.md §3): `flavors.sklearn.pickled_model` names the file and
//! `serialization_format` how to read it (`pickle` / `cloudpickle` with the restricted pickle
//! VM, `skops` with the skops reader; absent means pickle; never guessed from the extension).
//! The object tree is compiled once by [`crate::sklearn::Registry`]; `python_function.predict_fn`
//! picks the method pyfunc calls, and the result is served as the single output `output-1`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::binder::table::Binder;
use crate::datatype::DataType;
use crate::error::{LoadError, PredictError};
use crate::mlmodel::{MlModel, Signature, TypedSpec};
use crate::model::{LoadedModel, NamedTensor, Predictor, TensorInfo};
use crate::pyobj::Obj;
use crate::sklearn::{CompileError, Compiled, Estimator, Method, Registry};

/// The `sklearn` flavor block of `MLmodel`.
#[derive(Debug, Clone, Deserialize)]
pub struct SklearnFlavor {
    /// The model file, relative to the model directory.
    pub pickled_model: String,
    /// `pickle`, `cloudpickle` or `skops`; absent means `pickle`.
    #[serde(default)]
    pub serialization_format: Option<String>,
    /// The scikit-learn version that saved the model.
    #[serde(default)]
    pub sklearn_version: Option<serde_yaml_ng::Value>,
    /// Everything else (`code`, `skops_trusted_types`, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml_ng::Value>,
}

/// The name of the single output, as MLServer names a numpy result.
const OUTPUT: &str = "output-1";

/// Loads and compiles the scikit-learn model of an MLflow model directory.
pub fn load(
    dir: &Path,
    flavor: &SklearnFlavor,
    mlmodel: MlModel,
    signature: Option<Signature>,
) -> Result<LoadedModel, LoadError> {
    let path = crate::contain::inside(dir, Path::new(&flavor.pickled_model))?;
    let fail = |message: String| LoadError::Sklearn {
        path: path.clone(),
        message,
    };
    let method_name = mlmodel
        .pyfunc()?
        .and_then(|p| p.predict_fn)
        .unwrap_or_else(|| "predict".to_owned());
    let method = Method::parse(&method_name)
        .ok_or_else(|| fail(format!("predict_fn {method_name:?} is not supported")))?;
    let bytes = super::read_data(&path)?;
    let root = read_model(&bytes, flavor.serialization_format.as_deref()).map_err(&fail)?;
    let estimator = compile(&root, &fail)?;
    let output = estimator.output_info(method).ok_or_else(|| {
        fail(format!(
            "the model has no {} method (python_function.predict_fn)",
            method.name()
        ))
    })?;

    let sig_inputs = signature.as_ref().and_then(|s| s.inputs.as_ref());
    let binder = Binder::new(sig_inputs).map_err(&fail)?;
    let inputs = describe_inputs(&root, sig_inputs);
    let outputs = vec![TensorInfo {
        name: OUTPUT.to_owned(),
        datatype: output.datatype,
        shape: output.shape,
    }];
    Ok(LoadedModel::new(
        mlmodel,
        signature,
        "sklearn",
        inputs,
        outputs,
        Box::new(SklearnPredictor {
            binder,
            estimator,
            method,
            plan: crate::plan::sklearn_plan(&root),
        }),
    ))
}

/// Reads the model file with the reader its serialization format names.
fn read_model(bytes: &[u8], format: Option<&str>) -> Result<Obj, String> {
    match format.unwrap_or("pickle") {
        "pickle" | "cloudpickle" => crate::pickle::read_pickle(bytes).map_err(|e| e.to_string()),
        "skops" => crate::skops::read_skops(bytes).map_err(|e| e.to_string()),
        other => Err(format!("unknown serialization_format {other:?}")),
    }
}

pub(crate) fn compile(
    root: &Obj,
    fail: &impl Fn(String) -> LoadError,
) -> Result<Box<dyn Estimator>, LoadError> {
    match Registry::with_builtins().compile(root) {
        Ok(Compiled::Estimator(e)) => Ok(e),
        Ok(Compiled::Transformer(_)) => Err(fail(
            "the model is a transformer without predict".to_owned(),
        )),
        Err(CompileError::Unsupported { class, at }) => Err(LoadError::Unsupported { class, at }),
        Err(e) => Err(fail(e.to_string())),
    }
}

/// The signature's columns (or tensor), else `n_features_in_` unnamed FP64 columns.
pub(crate) fn describe_inputs(
    root: &Obj,
    schema: Option<&crate::mlmodel::Schema>,
) -> Vec<TensorInfo> {
    if let Some(schema) = schema {
        let names = schema.names("input");
        return schema
            .specs
            .iter()
            .zip(names)
            .map(|(spec, name)| TensorInfo {
                name,
                datatype: spec.datatype(),
                shape: match spec {
                    TypedSpec::Column(_) => vec![-1],
                    TypedSpec::Tensor(t) => t.shape.clone(),
                },
            })
            .collect();
    }
    let n = root
        .attr("n_features_in_")
        .and_then(|o| o.as_i64())
        .or_else(|| last_step_features(root))
        .unwrap_or(0);
    (0..n)
        .map(|i| TensorInfo {
            name: format!("input-{i}"),
            datatype: DataType::Fp64,
            shape: vec![-1],
        })
        .collect()
}

/// A Pipeline has no `n_features_in_` of its own: use its first step's.
fn last_step_features(root: &Obj) -> Option<i64> {
    let steps = root.attr("steps")?.as_list()?;
    let first = steps.first()?.as_list()?.get(1)?;
    first.attr("n_features_in_")?.as_i64()
}

/// A compiled sklearn model plus its input binding.
struct SklearnPredictor {
    binder: Binder,
    estimator: Box<dyn Estimator>,
    method: Method,
    plan: crate::plan::Plan,
}

impl Predictor for SklearnPredictor {
    fn predict(&self, inputs: Vec<NamedTensor>) -> Result<Vec<NamedTensor>, PredictError> {
        let data = self.binder.bind(inputs)?;
        let out = self.estimator.run(self.method, data)?;
        Ok(vec![NamedTensor::new(OUTPUT, out.into_tensor()?)])
    }

    fn plan(&self) -> crate::plan::Plan {
        self.plan.clone()
    }
}
