//! EllipticEnvelope (`covariance/_elliptic_envelope.py`): `decision = −(X − location_)ᵀ
//! precision_ (X − location_) − offset_`; `predict` is `1` where `decision >= 0`, else `-1`
//! (int64).

use crate::datatype::DataType;
use crate::error::PredictError;
use crate::pyobj::Instance;

use super::obj;
use super::output::{Labels, Output};
use super::table::{Data, Matrix};
use super::{CompileError, Compiled, Ctx, Estimator, Method, OutputInfo, Registry};

/// Registers EllipticEnvelope.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.covariance._elliptic_envelope.EllipticEnvelope",
        compile,
    );
}

struct Envelope {
    location: Vec<f64>,
    precision: Matrix,
    offset: f64,
}

fn compile(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let location = obj::f64_vec(inst, "location_", ctx)?;
    let precision = obj::f64_matrix(inst, "precision_", ctx)?;
    let offset = obj::opt_f64(inst, "offset_").ok_or_else(|| ctx.invalid("missing offset_"))?;
    let p = location.len();
    if precision.rows() != p || precision.cols() != p {
        return Err(ctx.invalid("precision_ does not fit location_"));
    }
    Ok(Compiled::Estimator(Box::new(Envelope {
        location,
        precision,
        offset,
    })))
}

impl Estimator for Envelope {
    fn output_info(&self, method: Method) -> Option<OutputInfo> {
        match method {
            Method::Predict => Some(OutputInfo {
                datatype: DataType::Int64,
                shape: vec![-1],
            }),
            Method::DecisionFunction => Some(OutputInfo {
                datatype: DataType::Fp64,
                shape: vec![-1],
            }),
            _ => None,
        }
    }

    fn run(&self, method: Method, x: Data) -> Result<Output, PredictError> {
        let x = x.into_matrix()?;
        let p = self.location.len();
        x.expect_cols(p)?;
        let mut d = Vec::with_capacity(x.rows());
        let mut c = vec![0.0; p];
        for row in x.row_iter() {
            c.iter_mut()
                .zip(row.iter().zip(&self.location))
                .for_each(|(v, (a, b))| *v = a - b);
            // sum((c @ precision) * c)
            let maha: f64 = (0..p)
                .map(|j| {
                    let t: f64 = (0..p)
                        .map(|i| c[i] * self.precision.data()[i * p + j])
                        .sum();
                    t * c[j]
                })
                .sum();
            d.push(-maha - self.offset);
        }
        Ok(if method == Method::DecisionFunction {
            Output::Vector(d)
        } else {
            Output::Labels(Labels::Int64(
                d.iter().map(|v| if *v >= 0.0 { 1 } else { -1 }).collect(),
            ))
        })
    }
}
