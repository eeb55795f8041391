//! MultiOutputRegressor (one member per target, columns side by side), ClassifierChain and
//! RegressorChain (`sklearn/multioutput.py` `_BaseChain._get_predictions`): member `c` sees `X`
//! plus the chain's earlier `chain_method_` answers (positive-class column for
//! `predict_proba`); the outputs, in chain order, are put back in target order by `order_`,
//! always as float64. MultiOutputClassifier stacks its members' labels as `[N, targets]`
//! (`np.asarray(y).T`: one dtype, so members must agree on it).

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::super::output::{Labels, Output};
use super::super::table::{Data, Matrix};
use super::super::{obj, CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};
use super::{all_members, require, run_matrix, Member};

/// Registers the multi-output estimators.
pub fn register(reg: &mut Registry) {
    reg.insert("sklearn.multioutput.MultiOutputRegressor", multi_output);
    reg.insert("sklearn.multioutput.MultiOutputClassifier", multi_output);
    reg.insert("sklearn.multioutput.ClassifierChain", chain);
    reg.insert("sklearn.multioutput.RegressorChain", chain);
}

struct MultiOutput {
    members: Vec<Member>,
    /// The members' shared label datatype (classifier), else float64 values.
    labels: Option<DataType>,
}

fn multi_output(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let members = all_members(inst, "estimators_", ctx)?;
    let mut types = Vec::with_capacity(members.len());
    for m in &members {
        require(m.as_ref(), Method::Predict, "a member", ctx)?;
        types.extend(m.output_info(Method::Predict).map(|i| i.datatype));
    }
    let labels = if inst.class.name == "MultiOutputClassifier" {
        let first = types.first().copied().unwrap_or(DataType::Fp64);
        if types.iter().any(|t| *t != first) {
            return Err(ctx.invalid("members predict labels of different dtypes"));
        }
        Some(first)
    } else {
        None
    };
    Ok(Compiled::Estimator(Box::new(MultiOutput {
        members,
        labels,
    })))
}

impl Estimator for MultiOutput {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        (method == Method::Predict).then(|| OutputInfo {
            datatype: self.labels.unwrap_or(DataType::Fp64),
            shape: vec![-1, self.members.len() as i64],
        })
    }

    fn run(&self, _method: Method, x: Data) -> Result<Output, PredictError> {
        if self.labels.is_some() {
            let cols: Vec<Labels> = self
                .members
                .iter()
                .map(|m| match m.run(Method::Predict, x.clone())? {
                    Output::Labels(l) => Ok(l),
                    _ => Err(PredictError::Runtime(
                        "a member did not predict labels".into(),
                    )),
                })
                .collect::<Result<_, _>>()?;
            return interleave(&cols, x.rows());
        }
        let cols: Vec<Matrix> = self
            .members
            .iter()
            .map(|m| run_matrix(m.as_ref(), Method::Predict, &x))
            .collect::<Result<_, _>>()?;
        Ok(Output::Matrix(Matrix::hstack(x.rows(), &cols)?))
    }
}

/// Row-major `[N, members]` labels from one label column per member.
fn interleave(cols: &[Labels], n: usize) -> Result<Output, PredictError> {
    let k = cols.len();
    let order: Vec<usize> = (0..n * k).map(|i| (i % k) * n + i / k).collect();
    let flat = match cols.first() {
        Some(Labels::Int64(_)) => Labels::Int64(
            cols.iter()
                .flat_map(|c| match c {
                    Labels::Int64(v) => v.clone(),
                    _ => Vec::new(),
                })
                .collect(),
        ),
        Some(Labels::Int32(_)) => Labels::Int32(
            cols.iter()
                .flat_map(|c| match c {
                    Labels::Int32(v) => v.clone(),
                    _ => Vec::new(),
                })
                .collect(),
        ),
        Some(Labels::Float(_)) => Labels::Float(
            cols.iter()
                .flat_map(|c| match c {
                    Labels::Float(v) => v.clone(),
                    _ => Vec::new(),
                })
                .collect(),
        ),
        Some(Labels::Bool(_)) => Labels::Bool(
            cols.iter()
                .flat_map(|c| match c {
                    Labels::Bool(v) => v.clone(),
                    _ => Vec::new(),
                })
                .collect(),
        ),
        _ => Labels::Str(
            cols.iter()
                .flat_map(|c| match c {
                    Labels::Str(v) => v.clone(),
                    _ => Vec::new(),
                })
                .collect(),
        ),
    };
    if flat.len() != n * k {
        return Err(PredictError::Runtime(
            "members predicted different label types".into(),
        ));
    }
    Ok(Output::LabelColumns {
        labels: flat.take(&order)?,
        cols: k,
    })
}

struct Chain {
    members: Vec<Member>,
    /// `chain_method_` (what feeds the next member).
    feed: Method,
    /// Target position of each chain column.
    order: Vec<usize>,
    classifier: bool,
}

fn chain(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let members = all_members(inst, "estimators_", ctx)?;
    let feed = match obj::opt_str(inst, "chain_method_").unwrap_or("predict") {
        "predict" => Method::Predict,
        "predict_proba" => Method::PredictProba,
        "decision_function" => Method::DecisionFunction,
        other => return Err(ctx.invalid(format!("chain_method_ {other:?} is not supported"))),
    };
    let order: Vec<usize> = obj::numbers(obj::attr(inst, "order_", ctx)?)
        .ok_or_else(|| ctx.invalid("order_ is not numeric"))?
        .into_iter()
        .map(|v| v as usize)
        .collect();
    let n = members.len();
    let mut seen = vec![false; n];
    for &o in &order {
        match seen.get_mut(o) {
            Some(s) if !*s => *s = true,
            _ => return Err(ctx.invalid("order_ is not a permutation of the targets")),
        }
    }
    if order.len() != n {
        return Err(ctx.invalid("order_ and estimators_ differ in length"));
    }
    for m in &members {
        require(m.as_ref(), feed, "a member", ctx)?;
    }
    Ok(Compiled::Estimator(Box::new(Chain {
        members,
        feed,
        order,
        classifier: inst.class.name == "ClassifierChain",
    })))
}

/// `_get_response_values`: a two-column probability gives its positive column.
fn response(m: &dyn Estimator, method: Method, x: &Data) -> Result<Vec<f64>, PredictError> {
    let p = run_matrix(m, method, x)?;
    Ok(if method == Method::PredictProba {
        p.column(p.cols().saturating_sub(1))
    } else {
        p.into_data()
    })
}

impl Estimator for Chain {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        let ok = match method {
            Method::Predict => true,
            Method::PredictProba | Method::DecisionFunction => {
                self.classifier && self.members.iter().all(|m| m.output_info(method).is_some())
            }
            _ => false,
        };
        ok.then(|| OutputInfo {
            datatype: DataType::Fp64,
            shape: vec![-1, self.members.len() as i64],
        })
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let base = x.into_matrix()?;
        let (n, k) = (base.rows(), self.members.len());
        let mut fed: Vec<Matrix> = vec![base];
        let mut out = vec![0.0; n * k];
        for (c, m) in self.members.iter().enumerate() {
            let x_aug = Data::Matrix(Matrix::hstack(n, &fed)?);
            let feature = response(m.as_ref(), self.feed, &x_aug)?;
            let answer = if method == self.feed {
                feature.clone()
            } else {
                response(m.as_ref(), method, &x_aug)?
            };
            let target = self.order.get(c).copied().unwrap_or(c);
            for (r, v) in answer.into_iter().enumerate() {
                if let Some(slot) = out.get_mut(r * k + target) {
                    *slot = v;
                }
            }
            fed.push(Matrix::new(n, 1, feature)?);
        }
        Ok(Output::Matrix(Matrix::new(n, k, out)?))
    }
}
