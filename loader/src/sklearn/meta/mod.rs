//! Meta-estimators over any served estimator: their members are compiled with
//! [`Ctx::compile_child`] and run through the [`Estimator`] trait, so every family the registry
//! knows can sit inside them. Shared here: compiling members, reading a member's answer as a
//! matrix, sklearn's `_predict_binary` response, and mapping predicted labels to class indices.

mod bagging;
mod boosting;
mod calibration;
mod delegate;
mod ensemble;
mod members;
mod multiclass;
mod multioutput;

use super::Registry;

pub(crate) use members::{
    all_members, binary_score, check_binary_score, member, member_attr, members, positions,
    predicted_codes, require, run_matrix, Member,
};

/// Registers every meta-estimator.
pub fn register(reg: &mut Registry) {
    bagging::register(reg);
    boosting::register(reg);
    calibration::register(reg);
    delegate::register(reg);
    ensemble::register(reg);
    multiclass::register(reg);
    multioutput::register(reg);
}
