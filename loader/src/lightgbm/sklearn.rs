//! The scikit-learn wrappers `LGBMClassifier` / `LGBMRegressor` (`lightgbm.sklearn`), read from
//! the object tree of a pickle or skops file (docs/formats.md 2f): the fitted `_Booster`'s state
//! `_handle` is the full LightGBM text model; a classifier's labels are its `_le.classes_`
//! (or `_classes`), which `predict` returns for the most probable class.

use super::error::LgbError;
use super::predict::{Labels, Output};
use crate::pyobj::{NdArray, PyObj};

/// What a wrapper holds: the Booster's text model and what `predict` returns.
#[derive(Debug)]
pub(crate) struct Wrapper {
    /// The LightGBM text model.
    pub(crate) text: String,
    /// Labels for classifiers, values otherwise.
    pub(crate) output: Output,
}

/// Reads a wrapper (or a bare `lightgbm.basic.Booster`) from an object tree.
pub(crate) fn read(root: &PyObj) -> Result<Wrapper, LgbError> {
    let PyObj::Instance(estimator) = root else {
        return Err(LgbError::Wrapper("the file does not hold an object".into()));
    };
    let class = estimator.class.path();
    let booster = if estimator.class.module == "lightgbm.basic" && estimator.class.name == "Booster"
    {
        estimator
    } else {
        match estimator.attr("_Booster").map(AsRef::as_ref) {
            Some(PyObj::Instance(b)) => b,
            _ => {
                return Err(LgbError::Wrapper(format!(
                    "{class} has no fitted _Booster (is it fitted?)"
                )))
            }
        }
    };
    let text = match booster
        .attr("_handle")
        .or_else(|| booster.attr("handle"))
        .map(AsRef::as_ref)
    {
        Some(PyObj::Str(s)) => s.clone(),
        Some(PyObj::Bytes(b)) => String::from_utf8(b.clone())
            .map_err(|_| LgbError::Wrapper("the Booster's model string is not UTF-8".into()))?,
        _ => {
            return Err(LgbError::Wrapper(
                "the Booster holds no model string (_handle)".into(),
            ))
        }
    };
    let output = if estimator.class.name == "LGBMClassifier" {
        let classes = estimator
            .attr("_le")
            .and_then(|le| match le.as_ref() {
                PyObj::Instance(le) => le.attr("classes_"),
                _ => None,
            })
            .or_else(|| estimator.attr("_classes"))
            .or_else(|| estimator.attr("classes_"));
        match classes.map(AsRef::as_ref) {
            Some(PyObj::Array(a)) => Output::Labels(labels(a)?),
            _ => return Err(LgbError::Wrapper(format!("{class} has no classes_"))),
        }
    } else {
        Output::Values
    };
    Ok(Wrapper { text, output })
}

fn labels(array: &NdArray) -> Result<Labels, LgbError> {
    let bad = |e: crate::pyobj::ArrayError| LgbError::Wrapper(format!("classes_: {e}"));
    Ok(match array.dtype.kind {
        'i' | 'u' | 'b' => Labels::Int(array.to_i64_vec().map_err(bad)?),
        'f' => Labels::Float(array.to_f64_vec().map_err(bad)?),
        'O' => match array.to_i64_vec() {
            Ok(ints) => Labels::Int(ints),
            Err(_) => Labels::Str(array.to_strings().map_err(bad)?),
        },
        _ => Labels::Str(array.to_strings().map_err(bad)?),
    })
}
