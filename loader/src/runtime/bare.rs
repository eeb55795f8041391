//! Loading one bare model file per runtime, answered as MLServer's runtime answers:
//! - `mlserver_sklearn`: `joblib.load(file)` (joblib or plain pickle, read by the restricted
//!   reader), outputs `predict` and, when the estimator (a Pipeline's last step) has it,
//!   `predict_proba`.
//! - `mlserver_xgboost`: `XGBRegressor().load_model(file)`, or `XGBClassifier` when the file's
//!   scikit-learn metadata says it is a classifier; a classifier answers labels for `predict` and
//!   probabilities for `predict_proba`, everything else the booster's transformed output (f32).
//! - `mlserver_lightgbm`: `lightgbm.Booster(model_file=...).predict`: the transformed output (f64).
//! - a bare `model.onnx`: the ONNX flavor's engine, outputs named as the graph names them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::binder::table::Binder;
use crate::error::{LoadError, PredictError};
use crate::mlmodel::MlModel;
use crate::model::{LoadedModel, NamedTensor, Predictor, TensorInfo};
use crate::runtime::outputs::{Method, OutputChoice, RuntimePredictor};
use crate::runtime::Runtime;
use crate::sklearn::Estimator;

/// An `MLmodel` with nothing in it: bare files have no MLflow description.
fn no_mlmodel() -> MlModel {
    MlModel {
        flavors: BTreeMap::new(),
        mlflow_version: None,
        model_uuid: None,
        run_id: None,
        utc_time_created: None,
        signature: None,
        extra: BTreeMap::new(),
    }
}

fn read(file: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(file).map_err(|source| LoadError::Io {
        path: file.to_owned(),
        source,
    })
}

/// The `[-1, 1]` shape a 1-D output is reported with.
fn column_shape(mut info: TensorInfo, name: &str) -> TensorInfo {
    if info.shape.len() == 1 {
        info.shape.push(1);
    }
    info.name = name.to_owned();
    info
}

/// `mlserver_sklearn.SKLearnModel`.
pub(super) fn load_sklearn(file: &Path) -> Result<LoadedModel, LoadError> {
    let bytes = read(file)?;
    let root = crate::joblib::read_joblib(&bytes).map_err(|source| LoadError::Joblib {
        path: file.to_owned(),
        source,
    })?;
    let fail = |message: String| LoadError::Sklearn {
        path: file.to_owned(),
        message,
    };
    let estimator: Arc<dyn Estimator> = Arc::from(crate::flavor::sklearn::compile(&root, &fail)?);
    let mut methods = Vec::new();
    let mut outputs = Vec::new();
    for method in [
        crate::sklearn::Method::Predict,
        crate::sklearn::Method::PredictProba,
    ] {
        let Some(info) = estimator.output_info(method) else {
            continue;
        };
        let name = method.name();
        outputs.push(column_shape(
            TensorInfo {
                name: String::new(),
                datatype: info.datatype,
                shape: info.shape,
            },
            name,
        ));
        methods.push(Method {
            name,
            predictor: Box::new(SklearnMethod {
                binder: Binder::new(None).map_err(&fail)?,
                estimator: Arc::clone(&estimator),
                method,
                plan: crate::plan::sklearn_plan(&root),
            }),
            two_columns: false,
        });
    }
    if methods.is_empty() {
        return Err(fail("the model has no predict method".into()));
    }
    let model_type = {
        let last = root
            .attr("steps")
            .and_then(|s| s.as_list())
            .and_then(|steps| steps.last())
            .and_then(|step| step.as_list())
            .and_then(|pair| pair.get(1));
        let class = last.unwrap_or(&root).class_path().unwrap_or_default();
        format!("<class '{class}'>")
    };
    let choice = OutputChoice {
        runtime: "SKLearnModel",
        valid: vec!["predict", "predict_proba"],
        available: methods.iter().map(|m| m.name).collect(),
        model_type,
    };
    let inputs = crate::flavor::sklearn::describe_inputs(&root, None);
    Ok(LoadedModel::new(
        no_mlmodel(),
        None,
        "sklearn",
        inputs,
        outputs,
        Box::new(RuntimePredictor { methods }),
    )
    .as_runtime(Runtime::Sklearn.implementation(), Some(choice)))
}

/// One method of a compiled scikit-learn model.
struct SklearnMethod {
    binder: Binder,
    estimator: Arc<dyn Estimator>,
    method: crate::sklearn::Method,
    plan: crate::plan::Plan,
}

impl Predictor for SklearnMethod {
    fn predict(&self, inputs: Vec<NamedTensor>) -> Result<Vec<NamedTensor>, PredictError> {
        let data = self.binder.bind(inputs)?;
        let out = self.estimator.run(self.method, data)?;
        Ok(vec![NamedTensor::new(
            self.method.name(),
            out.into_tensor()?,
        )])
    }

    fn plan(&self) -> crate::plan::Plan {
        self.plan.clone()
    }
}

/// `mlserver_xgboost.XGBoostModel`.
pub(super) fn load_xgboost(file: &Path) -> Result<LoadedModel, LoadError> {
    let bytes = read(file)?;
    let fail = |source| LoadError::Xgboost {
        path: file.to_owned(),
        source,
    };
    let classifier =
        crate::xgboost::sklearn_estimator_type(&bytes).as_deref() == Some("classifier");
    let mut methods = Vec::new();
    let mut outputs = Vec::new();
    let values = crate::xgboost::compile(&bytes, None, None).map_err(fail)?;
    let inputs = values.inputs();
    let value_info = values.outputs().into_iter().next();
    if classifier {
        let labels = crate::xgboost::compile(&bytes, Some("XGBClassifier"), None).map_err(fail)?;
        if let Some(info) = labels.outputs().into_iter().next() {
            outputs.push(column_shape(info, "predict"));
        }
        methods.push(Method {
            name: "predict",
            predictor: Box::new(labels),
            two_columns: false,
        });
        let binary = value_info.as_ref().is_some_and(|i| i.shape.len() == 1);
        if let Some(mut info) = value_info {
            if binary {
                info.shape = vec![-1, 2];
            }
            outputs.push(column_shape(info, "predict_proba"));
        }
        methods.push(Method {
            name: "predict_proba",
            predictor: Box::new(values),
            two_columns: binary,
        });
    } else {
        if let Some(info) = value_info {
            outputs.push(column_shape(info, "predict"));
        }
        methods.push(Method {
            name: "predict",
            predictor: Box::new(values),
            two_columns: false,
        });
    }
    let choice = OutputChoice {
        runtime: "XGBoostModel",
        valid: vec!["predict", "predict_proba"],
        available: methods.iter().map(|m| m.name).collect(),
        model_type: if classifier {
            "XGBClassifier"
        } else {
            "XGBRegressor"
        }
        .to_owned(),
    };
    Ok(LoadedModel::new(
        no_mlmodel(),
        None,
        "xgboost",
        inputs,
        outputs,
        Box::new(RuntimePredictor { methods }),
    )
    .as_runtime(Runtime::Xgboost.implementation(), Some(choice)))
}

/// `mlserver_lightgbm.LightGBMModel`: always (and only) `predict`.
pub(super) fn load_lightgbm(file: &Path) -> Result<LoadedModel, LoadError> {
    let bytes = read(file)?;
    if !bytes.starts_with(b"tree") {
        return Err(LoadError::Lightgbm {
            path: file.to_owned(),
            source: crate::lightgbm::LgbError::Syntax {
                line: 0,
                message: "not a LightGBM text model (mlserver_lightgbm reads Booster.save_model files, which start with 'tree')".into(),
            },
        });
    }
    let predictor =
        crate::lightgbm::compile_file(&bytes, None).map_err(|source| LoadError::Lightgbm {
            path: file.to_owned(),
            source,
        })?;
    let (inputs, outputs) = (predictor.inputs(), predictor.outputs());
    Ok(predict_only(
        Runtime::Lightgbm,
        "lightgbm",
        "Booster",
        inputs,
        outputs,
        Box::new(predictor),
    ))
}

/// `mlserver_catboost.CatboostModel`: `CatBoostClassifier().load_model(file)`, then `predict`
/// (class labels) as its one output, named `predict` (MLServer's `NumpyCodec.encode(name=
/// "predict", ...)`), read natively by [`crate::catboost::load_mlserver_cbm`].
pub(super) fn load_catboost(file: &Path) -> Result<LoadedModel, LoadError> {
    let predictor = crate::catboost::load_mlserver_cbm(file)?;
    let (inputs, outputs) = (predictor.inputs(), predictor.outputs());
    Ok(predict_only(
        Runtime::Catboost,
        "catboost",
        "CatBoostClassifier",
        inputs,
        outputs,
        Box::new(predictor),
    ))
}

/// A runtime model answering one output, `predict` (mlserver_lightgbm, mlserver_catboost): the
/// predictor's first output reported as `[-1, 1]` when 1-D, as MLServer's NumpyCodec does.
fn predict_only(
    runtime: Runtime,
    flavor: &'static str,
    model_type: &str,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    predictor: Box<dyn Predictor>,
) -> LoadedModel {
    let outputs = outputs
        .into_iter()
        .map(|info| column_shape(info, "predict"))
        .collect();
    let choice = OutputChoice {
        runtime: runtime
            .implementation()
            .rsplit('.')
            .next()
            .unwrap_or_default(),
        valid: vec!["predict"],
        available: vec!["predict"],
        model_type: model_type.to_owned(),
    };
    LoadedModel::new(
        no_mlmodel(),
        None,
        flavor,
        inputs,
        outputs,
        Box::new(RuntimePredictor {
            methods: vec![Method {
                name: "predict",
                predictor,
                two_columns: false,
            }],
        }),
    )
    .as_runtime(runtime.implementation(), Some(choice))
}

/// A bare `model.onnx` (KServe's onnx format), through the ONNX flavor's engine.
pub(super) fn load_onnx(file: &Path) -> Result<LoadedModel, LoadError> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let flavor = crate::flavor::onnx::OnnxFlavor {
        data: name,
        onnx_version: None,
        extra: BTreeMap::new(),
    };
    let model = crate::flavor::onnx::load(dir, &flavor, no_mlmodel(), None)?;
    Ok(model.as_runtime(Runtime::Onnx.implementation(), None))
}
