//! Multi-layer perceptrons (docs/formats.md §2g): `_forward_pass_fast` over `coefs_` /
//! `intercepts_` with the hidden `activation` and `out_activation_`; MLPClassifier decodes
//! with its label binarizer's rule (binary: `p > 0.5`, multiclass: argmax).

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::linear::{expit, softmax};
use super::obj;
use super::output::{argmax, Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers MLPClassifier and MLPRegressor.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
        mlp_classifier,
    );
    reg.insert(
        "sklearn.neural_network._multilayer_perceptron.MLPRegressor",
        mlp_regressor,
    );
}

/// An element-wise activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activation {
    Identity,
    Logistic,
    Tanh,
    Relu,
    Softmax,
}

impl Activation {
    fn parse(name: &str, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        Ok(match name {
            "identity" => Self::Identity,
            "logistic" => Self::Logistic,
            "tanh" => Self::Tanh,
            "relu" => Self::Relu,
            "softmax" => Self::Softmax,
            other => return Err(ctx.invalid(format!("unknown activation {other:?}"))),
        })
    }

    fn apply(self, row: &mut [f64]) {
        match self {
            Self::Identity => {}
            Self::Logistic => row.iter_mut().for_each(|v| *v = expit(*v)),
            Self::Tanh => row.iter_mut().for_each(|v| *v = v.tanh()),
            Self::Relu => row.iter_mut().for_each(|v| *v = v.max(0.0)),
            Self::Softmax => {
                let s = softmax(row);
                row.copy_from_slice(&s);
            }
        }
    }
}

/// The network.
struct Network {
    /// `(weights (in, out), bias (out))` per layer.
    layers: Vec<(Matrix, Vec<f64>)>,
    hidden: Activation,
    out: Activation,
}

impl Network {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let coefs = obj::items(obj::attr(inst, "coefs_", ctx)?)
            .ok_or_else(|| ctx.invalid("coefs_ is not a list"))?;
        let intercepts = obj::items(obj::attr(inst, "intercepts_", ctx)?)
            .ok_or_else(|| ctx.invalid("intercepts_ is not a list"))?;
        if coefs.len() != intercepts.len() || coefs.is_empty() {
            return Err(ctx.invalid("coefs_ and intercepts_ disagree in length"));
        }
        let mut layers = Vec::with_capacity(coefs.len());
        let mut width = None;
        for (i, (w, b)) in coefs.iter().zip(intercepts).enumerate() {
            let shape = obj::shape(w);
            let values = obj::numbers(w).ok_or_else(|| ctx.invalid("coefs_ is not numeric"))?;
            let bias = obj::numbers(b).ok_or_else(|| ctx.invalid("intercepts_ is not numeric"))?;
            let [rows, cols] = shape.as_slice() else {
                return Err(ctx.invalid(format!("coefs_[{i}] is not 2-D")));
            };
            if bias.len() != *cols || width.is_some_and(|w| w != *rows) {
                return Err(ctx.invalid(format!("layer {i} has inconsistent shapes")));
            }
            width = Some(*cols);
            let w = Matrix::new(*rows, *cols, values).map_err(|e| ctx.invalid(e.to_string()))?;
            layers.push((w, bias));
        }
        Ok(Self {
            layers,
            hidden: Activation::parse(obj::opt_str(inst, "activation").unwrap_or("relu"), ctx)?,
            out: Activation::parse(
                obj::opt_str(inst, "out_activation_").unwrap_or("identity"),
                ctx,
            )?,
        })
    }

    fn n_outputs(&self) -> usize {
        self.layers.last().map_or(0, |(w, _)| w.cols())
    }

    /// `_forward_pass_fast`.
    fn forward(&self, x: Data) -> Result<Matrix, PredictError> {
        let mut a = x.into_matrix()?;
        if let Some((w, _)) = self.layers.first() {
            a.expect_cols(w.rows())?;
        }
        let last = self.layers.len().saturating_sub(1);
        for (i, (w, b)) in self.layers.iter().enumerate() {
            let mut out = Vec::with_capacity(a.rows() * w.cols());
            for row in a.row_iter() {
                let start = out.len();
                out.extend_from_slice(b);
                let dst = out.get_mut(start..).unwrap_or_default();
                for (x, wrow) in row.iter().zip(w.row_iter()) {
                    for (d, wv) in dst.iter_mut().zip(wrow) {
                        *d += x * wv;
                    }
                }
                let act = if i == last { self.out } else { self.hidden };
                act.apply(dst);
            }
            a = Matrix::new(a.rows(), w.cols(), out)?;
        }
        Ok(a)
    }
}

fn mlp_regressor(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Estimator(Box::new(MlpRegressor {
        net: Network::read(inst, ctx)?,
    })))
}

struct MlpRegressor {
    net: Network,
}

impl Estimator for MlpRegressor {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        let n = self.net.n_outputs();
        (method == Method::Predict).then(|| OutputInfo {
            datatype: DataType::Fp64,
            shape: if n == 1 { vec![-1] } else { vec![-1, n as i64] },
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        let y = self.net.forward(x)?;
        Ok(if y.cols() == 1 {
            Output::Vector(y.into_data())
        } else {
            Output::Matrix(y)
        })
    }
}

fn mlp_classifier(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let net = Network::read(inst, ctx)?;
    let classes = if inst.attr("classes_").is_some() {
        obj::labels(inst, "classes_", ctx)?
    } else {
        let lb = obj::attr(inst, "_label_binarizer", ctx)?;
        let lb =
            obj::instance(lb).ok_or_else(|| ctx.invalid("_label_binarizer is not an object"))?;
        obj::labels(lb, "classes_", ctx)?
    };
    let binary = net.n_outputs() == 1;
    let fits = if binary {
        classes.len() == 2 && net.out == Activation::Logistic
    } else {
        classes.len() == net.n_outputs() && net.out == Activation::Softmax
    };
    if !fits {
        return Err(
            ctx.invalid("only binary and multiclass (not multilabel) MLPClassifier is supported")
        );
    }
    Ok(Compiled::Estimator(Box::new(MlpClassifier {
        net,
        classes,
    })))
}

struct MlpClassifier {
    net: Network,
    classes: Labels,
}

impl MlpClassifier {
    fn proba(&self, x: Data) -> Result<Matrix, PredictError> {
        let y = self.net.forward(x)?;
        if y.cols() != 1 {
            return Ok(y);
        }
        let rows = y.rows();
        let data = y
            .into_data()
            .into_iter()
            .flat_map(|p| [1.0 - p, p])
            .collect();
        Matrix::new(rows, 2, data)
    }
}

impl Estimator for MlpClassifier {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match method {
            Method::Predict => Some(OutputInfo {
                datatype: self.classes.datatype(),
                shape: vec![-1],
            }),
            Method::PredictProba | Method::PredictLogProba => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1, self.classes.len() as i64],
            }),
            Method::PredictJointLogProba | Method::DecisionFunction => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        match method {
            Method::Predict => {
                let y = self.net.forward(x)?;
                let idx: Vec<usize> = y
                    .row_iter()
                    .map(|row| match row {
                        [p] => usize::from(*p > 0.5),
                        _ => argmax(row),
                    })
                    .collect();
                Ok(Output::Labels(self.classes.take(&idx)?))
            }
            Method::PredictProba => Ok(Output::Matrix(self.proba(x)?)),
            Method::PredictLogProba => {
                let p = self.proba(x)?;
                let (r, c) = (p.rows(), p.cols());
                let logs = p.into_data().into_iter().map(f64::ln).collect();
                Ok(Output::Matrix(Matrix::new(r, c, logs)?))
            }
            Method::PredictJointLogProba | Method::DecisionFunction => Err(PredictError::Runtime(
                "MLPClassifier has no predict_joint_log_proba".to_owned(),
            )),
        }
    }
}
